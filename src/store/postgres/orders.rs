//! Orders and the installed base in the PostgreSQL store: creating an order
//! from its plan, loading it, the `ordo status` and `ordo inventory`
//! queries. The shapes (a stored order, a status, instance changes) are
//! built by the same functions as SQLite's.

use r2d2_postgres::postgres::{GenericClient, Row, Transaction};

use super::{runner, Pg, CHANNEL};
use crate::exec::{BindingsRecord, Event, OrderState, TaskRecord, TaskState};
use crate::inventory::{Instance, InstanceFilter, InstanceStatus};
use crate::plan::Plan;
use crate::store::instances::{self as shared, Change};
use crate::store::orders::{self as rows, Head, OrderRow, TaskRow};
use crate::store::sqlite::now;
use crate::store::{
    JournalEntry, OrderStatus, OrderSummary, RunnerStatus, StoreError, StoredOrder, TmfRecord,
};

/// The version a new order gets.
const FIRST_VERSION: i64 = 1;

/// PostgreSQL's error for a duplicate key.
const UNIQUE_VIOLATION: &str = "23505";

/// Serialises the creation of orders in one schema: the check that an
/// instance is free and the insert that takes it must not interleave.
const CREATE_LOCK: &str =
    "SELECT pg_advisory_xact_lock(hashtext('ordo-create:' || current_schema()))";

/// Creates an order (with the TMF622 record of one that came as a
/// ProductOrder, in the same transaction); its status as created.
pub(crate) fn create(
    pg: &Pg,
    plan: &Plan,
    document: &serde_json::Value,
    bindings: Option<&BindingsRecord>,
    tmf: Option<&TmfRecord>,
) -> Result<OrderStatus, StoreError> {
    let failed = |e| pg.failed(e);
    let json = |what, e| pg.json(what, e);
    let plan_json = serde_json::to_string(plan).map_err(|e| json("plan", e))?;
    let bindings = bindings
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| json("bindings", e))?;
    let at = now();
    let mut conn = pg.conn()?;
    let mut tx = conn.transaction().map_err(failed)?;
    tx.execute(CREATE_LOCK, &[]).map_err(failed)?;
    if latest_version(pg, &mut tx, &plan.order)?.is_some() {
        return Err(StoreError::OrderExists {
            order: plan.order.clone(),
        });
    }
    {
        let shared_tx = std::cell::RefCell::new(&mut tx);
        shared::check_instances(
            plan,
            |id| changing(*shared_tx.borrow_mut(), id).map_err(failed),
            |id| get_instance(pg, *shared_tx.borrow_mut(), id),
        )?;
    }
    tx.execute(
        "INSERT INTO orders (id, version, state, created_at, updated_at, catalog_hash, plan, document, bindings, due_at) \
         VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9)",
        &[
            &plan.order,
            &FIRST_VERSION,
            &OrderState::Acknowledged.as_str(),
            &at,
            &plan.catalog_hash,
            &plan_json,
            &document.to_string(),
            &bindings,
            &rows::due_at(plan, &at),
        ],
    )
    .map_err(|e| {
        if e.code().map(|c| c.code()) == Some(UNIQUE_VIOLATION) {
            StoreError::OrderExists {
                order: plan.order.clone(),
            }
        } else {
            pg.failed(e)
        }
    })?;
    insert_items(pg, &mut tx, plan, FIRST_VERSION)?;
    let task = tx
        .prepare(
            "INSERT INTO tasks (order_id, version, task_id, idx, item_id, point_of_no_return, state, inputs_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .map_err(failed)?;
    for (idx, t) in plan.tasks.iter().enumerate() {
        tx.execute(
            &task,
            &[
                &plan.order,
                &FIRST_VERSION,
                &t.id,
                &(idx as i64),
                &t.item,
                &t.point_of_no_return,
                &TaskState::Pending.as_str(),
                &crate::plan::revision::task_hash(t),
            ],
        )
        .map_err(failed)?;
    }
    let created = Event::Order {
        state: OrderState::Acknowledged,
        reason: None,
    };
    let event = serde_json::to_string(&created).map_err(|e| json("event", e))?;
    tx.execute(
        "INSERT INTO events (order_id, seq, version, at, event) VALUES ($1, 1, $2, $3, $4)",
        &[&plan.order, &FIRST_VERSION, &at, &event],
    )
    .map_err(failed)?;
    // The lock row exists from the start, so that taking the lock always
    // has a row to lock.
    tx.execute(
        "INSERT INTO runners (order_id) VALUES ($1) ON CONFLICT (order_id) DO NOTHING",
        &[&plan.order],
    )
    .map_err(failed)?;
    if let Some(tmf) = tmf {
        super::tmf::insert(pg, &mut tx, &plan.order, tmf, &at)?;
    }
    notify(&mut tx, &plan.order).map_err(failed)?;
    tx.commit().map_err(failed)?;
    Ok(crate::store::status::created_status(plan, at))
}

/// The item rows of an order version.
pub(crate) fn insert_items(
    pg: &Pg,
    tx: &mut Transaction<'_>,
    plan: &Plan,
    version: i64,
) -> Result<(), StoreError> {
    let failed = |e| pg.failed(e);
    let json = |what, e| pg.json(what, e);
    let item = tx
        .prepare(
            "INSERT INTO items (order_id, version, item_id, idx, product, action, parent, attributes, instance) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .map_err(failed)?;
    for (idx, it) in plan.items.iter().enumerate() {
        let attributes =
            serde_json::to_string(&it.attributes).map_err(|e| json("attributes", e))?;
        tx.execute(
            &item,
            &[
                &plan.order,
                &version,
                &it.id,
                &(idx as i64),
                &it.product,
                &it.action.as_str(),
                &it.parent,
                &attributes,
                &it.instance,
            ],
        )
        .map_err(failed)?;
    }
    Ok(())
}

/// Announces a change of `order` to the processes listening, when the
/// transaction commits.
pub(crate) fn notify(
    conn: &mut impl GenericClient,
    order: &str,
) -> Result<(), r2d2_postgres::postgres::Error> {
    conn.execute(&format!("SELECT pg_notify({CHANNEL}, $1)"), &[&order])?;
    Ok(())
}

pub(crate) fn load(pg: &Pg, order: &str) -> Result<StoredOrder, StoreError> {
    let mut conn = pg.conn()?;
    let head = head(pg, &mut *conn, order)?;
    let rows = task_rows(pg, &mut *conn, order, head.row.version)?;
    let keys = super::revisions::key_versions(pg, &mut *conn, order, head.row.version)?;
    rows::stored_order(&pg.path(), order, head, rows, keys).map_err(|e| pg.own(e))
}

pub(crate) fn set_bindings(
    pg: &Pg,
    order: &str,
    bindings: &BindingsRecord,
) -> Result<(), StoreError> {
    let failed = |e| pg.failed(e);
    let json = serde_json::to_string(bindings).map_err(|e| pg.json("bindings", e))?;
    let mut conn = pg.conn()?;
    let mut tx = conn.transaction().map_err(failed)?;
    let version = existing_version(pg, &mut tx, order)?;
    tx.execute(
        "UPDATE orders SET bindings = $1 WHERE id = $2 AND version = $3",
        &[&json, &order, &version],
    )
    .map_err(failed)?;
    tx.commit().map_err(failed)
}

pub(crate) fn list(pg: &Pg) -> Result<Vec<OrderSummary>, StoreError> {
    let mut conn = pg.conn()?;
    let found = conn
        .query(
            "SELECT o.id, o.version, o.state, o.reason, o.created_at, o.updated_at, \
                    o.cancel_requested_at IS NOT NULL, \
                    (SELECT count(*) FROM tasks t WHERE t.order_id = o.id AND t.version = o.version), \
                    (SELECT count(*) FROM tasks t WHERE t.order_id = o.id AND t.version = o.version \
                        AND t.state IN ('done', 'skipped')), \
                    o.due_at \
             FROM orders o \
             WHERE o.version = (SELECT max(version) FROM orders p WHERE p.id = o.id) \
             ORDER BY o.created_at DESC, o.ordinal DESC",
            &[],
        )
        .map_err(|e| pg.failed(e))?;
    found
        .iter()
        .map(|r| {
            let state: OrderState = parse(pg, &r.get::<_, String>(2))?;
            let due_at: Option<String> = r.get(9);
            Ok(OrderSummary {
                id: r.get(0),
                version: narrow(pg, r.get::<_, i64>(1))?,
                state,
                overdue: crate::plan::overdue(
                    due_at.as_deref(),
                    state.is_final(),
                    chrono::Utc::now(),
                ),
                due_at,
                reason: r.get(3),
                created_at: r.get(4),
                updated_at: r.get(5),
                cancel_requested: r.get(6),
                tasks: narrow(pg, r.get::<_, i64>(7))?,
                tasks_finished: narrow(pg, r.get::<_, i64>(8))?,
            })
        })
        .collect()
}

pub(crate) fn status(pg: &Pg, order: &str) -> Result<OrderStatus, StoreError> {
    let mut conn = pg.conn()?;
    let head = head(pg, &mut *conn, order)?;
    let rows = task_rows(pg, &mut *conn, order, head.row.version)?;
    let last_event_at = conn
        .query_opt(
            "SELECT at FROM events WHERE order_id = $1 ORDER BY seq DESC LIMIT 1",
            &[&order],
        )
        .map_err(|e| pg.failed(e))?
        .map(|r| r.get(0));
    let runner = runner::holder(pg, &mut *conn, order)?.map(|(holder, live)| RunnerStatus {
        live: live && runner::pid_ok(pg, &holder),
        holder,
    });
    let revisions = super::revisions::history(pg, &mut *conn, order)?;
    drop(conn);
    rows::order_status(
        &pg.path(),
        order,
        head,
        rows,
        last_event_at,
        runner,
        revisions,
    )
    .map_err(|e| pg.own(e))
}

pub(crate) fn events(pg: &Pg, order: &str) -> Result<Vec<JournalEntry>, StoreError> {
    let mut conn = pg.conn()?;
    existing_version(pg, &mut *conn, order)?;
    let found = conn
        .query(
            "SELECT seq, at, event FROM events WHERE order_id = $1 ORDER BY seq",
            &[&order],
        )
        .map_err(|e| pg.failed(e))?;
    found
        .iter()
        .map(|r| {
            let event =
                serde_json::from_str(r.get::<_, &str>(2)).map_err(|e| pg.json("event", e))?;
            Ok(JournalEntry {
                seq: narrow(pg, r.get::<_, i64>(0))?,
                at: r.get(1),
                event,
            })
        })
        .collect()
}

/// The columns [`task_row`] reads, in its order: the same as SQLite's.
pub(crate) const TASK_COLUMNS: &str = crate::store::orders::task_columns!();

/// A task row in PostgreSQL's types.
pub(crate) fn task_row(pg: &Pg, r: &Row) -> Result<TaskRow, StoreError> {
    let outputs =
        serde_json::from_str(r.get::<_, &str>(4)).map_err(|e| pg.json("task outputs", e))?;
    let process = r
        .get::<_, Option<&str>>(8)
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| pg.json("task process", e))?;
    Ok(TaskRow {
        record: TaskRecord {
            state: parse(pg, r.get::<_, &str>(0))?,
            attempts: narrow(pg, r.get::<_, i64>(1))?,
            undo_attempts: narrow(pg, r.get::<_, i64>(2))?,
            undoing: r.get(3),
            outputs,
            error: r.get(5),
            process,
            not_before: r.get(10),
        },
        started_at: r.get(6),
        finished_at: r.get(7),
        next_attempt_at: r.get(9),
    })
}

pub(crate) fn task_rows(
    pg: &Pg,
    conn: &mut impl GenericClient,
    order: &str,
    version: u32,
) -> Result<Vec<TaskRow>, StoreError> {
    let found = conn
        .query(
            &format!(
                "SELECT {TASK_COLUMNS} FROM tasks WHERE order_id = $1 AND version = $2 ORDER BY idx"
            ),
            &[&order, &i64::from(version)],
        )
        .map_err(|e| pg.failed(e))?;
    found.iter().map(|r| task_row(pg, r)).collect()
}

fn head(pg: &Pg, conn: &mut impl GenericClient, order: &str) -> Result<Head, StoreError> {
    let row = conn
        .query_opt(
            "SELECT version, state, reason, created_at, updated_at, plan, document, \
                    cancel_requested_at IS NOT NULL, bindings, due_at \
             FROM orders WHERE id = $1 ORDER BY version DESC LIMIT 1",
            &[&order],
        )
        .map_err(|e| pg.failed(e))?
        .ok_or_else(|| StoreError::NoSuchOrder {
            order: order.to_string(),
        })?;
    Ok(Head {
        row: OrderRow {
            version: narrow(pg, row.get::<_, i64>(0))?,
            state: parse(pg, row.get::<_, &str>(1))?,
            reason: row.get(2),
            created_at: row.get(3),
            updated_at: row.get(4),
            cancel_requested: row.get(7),
            due_at: row.get(9),
        },
        plan: row.get(5),
        document: row.get(6),
        bindings: row.get(8),
    })
}

pub(crate) fn latest_version(
    pg: &Pg,
    conn: &mut impl GenericClient,
    order: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .query_one("SELECT max(version) FROM orders WHERE id = $1", &[&order])
        .map_err(|e| pg.failed(e))?
        .get(0))
}

/// The latest version of an order that must exist.
pub(crate) fn existing_version(
    pg: &Pg,
    conn: &mut impl GenericClient,
    order: &str,
) -> Result<i64, StoreError> {
    latest_version(pg, conn, order)?.ok_or_else(|| StoreError::NoSuchOrder {
        order: order.to_string(),
    })
}

/// A stored integer in the range its field holds.
pub(crate) fn narrow<T: TryFrom<i64>>(pg: &Pg, n: i64) -> Result<T, StoreError> {
    T::try_from(n).map_err(|_| pg.corrupt(format!("the stored number {n} is out of range")))
}

/// An order, task or instance state stored as its snake_case name.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(pg: &Pg, text: &str) -> Result<T, StoreError> {
    serde_json::from_value(serde_json::Value::String(text.to_string()))
        .map_err(|e| pg.corrupt(format!("the stored state `{text}` is unknown: {e}")))
}

const INSTANCE_COLUMNS: &str = "id, product, customer, status, parent, attributes, outputs, \
                                created_by, updated_by, created_at, updated_at, relies_on";

fn instance_row(pg: &Pg, r: &Row) -> Result<Instance, StoreError> {
    fn json<T: serde::de::DeserializeOwned>(
        pg: &Pg,
        r: &Row,
        idx: usize,
        what: &str,
    ) -> Result<T, StoreError> {
        serde_json::from_str(r.get::<_, &str>(idx)).map_err(|e| pg.json(what, e))
    }
    Ok(Instance {
        id: r.get(0),
        product: r.get(1),
        customer: r.get(2),
        status: parse(pg, r.get::<_, &str>(3))?,
        parent: r.get(4),
        attributes: json(pg, r, 5, "instance attributes")?,
        outputs: json(pg, r, 6, "instance outputs")?,
        created_by: r.get(7),
        updated_by: r.get(8),
        created_at: r.get(9),
        updated_at: r.get(10),
        relies_on: json(pg, r, 11, "instance relations")?,
    })
}

fn get_instance(
    pg: &Pg,
    conn: &mut impl GenericClient,
    id: &str,
) -> Result<Option<Instance>, StoreError> {
    conn.query_opt(
        &format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = $1"),
        &[&id],
    )
    .map_err(|e| pg.failed(e))?
    .map(|r| instance_row(pg, &r))
    .transpose()
}

pub(crate) fn instance(pg: &Pg, id: &str) -> Result<Option<Instance>, StoreError> {
    let mut conn = pg.conn()?;
    get_instance(pg, &mut *conn, id)
}

pub(crate) fn instances(pg: &Pg, filter: &InstanceFilter) -> Result<Vec<Instance>, StoreError> {
    let mut conn = pg.conn()?;
    let found = conn
        .query(
            &format!(
                "SELECT {INSTANCE_COLUMNS} FROM instances \
                 WHERE ($1::text IS NULL OR customer = $1) AND ($2::text IS NULL OR product = $2) \
                   AND ($3::text IS NULL OR status = $3) \
                 ORDER BY id"
            ),
            &[
                &filter.customer,
                &filter.product,
                &filter.status.map(InstanceStatus::as_str),
            ],
        )
        .map_err(|e| pg.failed(e))?;
    found.iter().map(|r| instance_row(pg, r)).collect()
}

/// The order in flight with an item that changes `instance`.
pub(crate) fn changing(
    conn: &mut impl GenericClient,
    instance: &str,
) -> Result<Option<String>, r2d2_postgres::postgres::Error> {
    Ok(conn
        .query_opt(
            "SELECT o.id FROM items i JOIN orders o ON o.id = i.order_id AND o.version = i.version \
             WHERE i.instance = $1 AND o.state NOT IN ('completed', 'failed', 'cancelled') \
               AND o.version = (SELECT max(version) FROM orders p WHERE p.id = o.id) \
             ORDER BY o.created_at, o.ordinal LIMIT 1",
            &[&instance],
        )?
        .map(|r| r.get(0)))
}

/// Applies a completed order to the installed base, in the transaction that
/// records its completion.
pub(crate) fn apply_completed(
    pg: &Pg,
    tx: &mut impl GenericClient,
    order: &str,
    version: u32,
    at: &str,
) -> Result<(), StoreError> {
    let failed = |e| pg.failed(e);
    let row = tx
        .query_one(
            "SELECT plan, document FROM orders WHERE id = $1 AND version = $2",
            &[&order, &i64::from(version)],
        )
        .map_err(failed)?;
    let plan: Plan = serde_json::from_str(row.get::<_, &str>(0)).map_err(|e| pg.json("plan", e))?;
    let document: serde_json::Value =
        serde_json::from_str(row.get::<_, &str>(1)).map_err(|e| pg.json("order document", e))?;
    let records: Vec<TaskRecord> = task_rows(pg, tx, order, version)?
        .into_iter()
        .map(|r| r.record)
        .collect();
    let changes = shared::completed_changes(order, &plan, &document, &records, at, |id| {
        get_instance(pg, tx, id)
    })?;
    let json = |v: &dyn erased::Json, what| v.text().map_err(|e| pg.json(what, e));
    for change in changes {
        match change {
            Change::Insert(i) => {
                tx.execute(
                    &format!(
                        "INSERT INTO instances ({INSTANCE_COLUMNS}) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
                    ),
                    &[
                        &i.id,
                        &i.product,
                        &i.customer,
                        &i.status.as_str(),
                        &i.parent,
                        &json(&i.attributes, "instance attributes")?,
                        &json(&i.outputs, "instance outputs")?,
                        &i.created_by,
                        &i.updated_by,
                        &i.created_at,
                        &i.updated_at,
                        &json(&i.relies_on, "instance relations")?,
                    ],
                )
                .map_err(failed)?;
            }
            Change::Update(i) => {
                tx.execute(
                    "UPDATE instances SET status = $2, attributes = $3, outputs = $4, updated_by = $5, \
                     updated_at = $6 WHERE id = $1",
                    &[
                        &i.id,
                        &i.status.as_str(),
                        &json(&i.attributes, "instance attributes")?,
                        &json(&i.outputs, "instance outputs")?,
                        &i.updated_by,
                        &i.updated_at,
                    ],
                )
                .map_err(failed)?;
            }
        }
    }
    Ok(())
}

/// Serialising values of several types through one closure.
mod erased {
    pub trait Json {
        fn text(&self) -> serde_json::Result<String>;
    }

    impl<T: serde::Serialize> Json for T {
        fn text(&self) -> serde_json::Result<String> {
            serde_json::to_string(self)
        }
    }
}
