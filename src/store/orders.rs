//! Orders in the SQLite store: creating one from its plan, loading it to
//! resume, and the `ordo status` queries.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

use super::sqlite::{now, Db};
use super::{instances, runner, OrderStatus, OrderSummary, StoreError, StoredOrder};
use super::{JournalEntry, RunnerStatus};
use crate::exec::{BindingsRecord, Event, OrderState, TaskRecord, TaskState};
use crate::plan::Plan;

/// The version a new order gets; revisions will add more.
pub(crate) const FIRST_VERSION: u32 = 1;

/// Stores a new order, with the TMF622 record of an order that came as a
/// ProductOrder written in the same transaction; the order's status as
/// created.
pub(crate) fn create_with(
    db: &Db,
    plan: &Plan,
    document: &serde_json::Value,
    bindings: Option<&BindingsRecord>,
    tmf: Option<&super::TmfRecord>,
) -> Result<OrderStatus, StoreError> {
    let err = |e| db.err(e);
    let plan_json = serde_json::to_string(plan).map_err(|e| db_json(db, "plan", e))?;
    let bindings = bindings
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| db_json(db, "bindings", e))?;
    // Everything that needs no database is made before the write
    // connection is taken: every other writer of the process waits for it.
    let hashes: Vec<String> = plan
        .tasks
        .iter()
        .map(crate::plan::revision::task_hash)
        .collect();
    let document = document.to_string();
    let created = Event::Order {
        state: OrderState::Acknowledged,
        reason: None,
    };
    let event = event_json(db, &created)?;
    let at = now();
    let due = due_at(plan, &at);
    let mut conn = db.writer();
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err)?;
    if latest_version(&tx, &plan.order).map_err(err)?.is_some() {
        return Err(StoreError::OrderExists {
            order: plan.order.clone(),
        });
    }
    instances::check_available(db, &tx, plan)?;
    tx.prepare_cached(
        "INSERT INTO orders (id, version, state, created_at, updated_at, catalog_hash, bindings, due_at) \
         VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut insert| {
        insert.execute(params![
            plan.order,
            FIRST_VERSION,
            OrderState::Acknowledged.as_str(),
            at,
            plan.catalog_hash,
            bindings,
            due
        ])
    })
    .map_err(err)?;
    insert_plan(db, &tx, &plan.order, FIRST_VERSION, &plan_json, &document)?;
    insert_items(db, &tx, plan, FIRST_VERSION)?;
    {
        let mut task = tx
            .prepare_cached(
                "INSERT INTO tasks (order_id, version, task_id, idx, item_id, point_of_no_return, state, inputs_hash) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .map_err(err)?;
        for (idx, (t, hash)) in plan.tasks.iter().zip(&hashes).enumerate() {
            task.execute(params![
                plan.order,
                FIRST_VERSION,
                t.id,
                idx,
                t.item,
                t.point_of_no_return,
                TaskState::Pending.as_str(),
                hash
            ])
            .map_err(err)?;
        }
    }
    tx.prepare_cached(
        "INSERT INTO events (order_id, seq, version, at, event) VALUES (?1, 1, ?2, ?3, ?4)",
    )
    .and_then(|mut insert| insert.execute(params![plan.order, FIRST_VERSION, at, event]))
    .map_err(err)?;
    if let Some(tmf) = tmf {
        super::tmf::insert(db, &tx, &plan.order, tmf, &at)?;
    }
    tx.commit().map_err(err)?;
    Ok(super::status::created_status(plan, at))
}

/// When an order created at `at` is due, if its plan says.
pub(crate) fn due_at(plan: &Plan, at: &str) -> Option<String> {
    crate::value::parse_instant(at)
        .and_then(|created| plan.due_at(created))
        .map(crate::value::format_instant)
}

/// The plan and document of an order version (`order_plans`, apart from
/// the `orders` row, whose state changes would otherwise rewrite them).
pub(crate) fn insert_plan(
    db: &Db,
    tx: &rusqlite::Transaction<'_>,
    order: &str,
    version: u32,
    plan_json: &str,
    document: &str,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO order_plans (order_id, version, plan, document) VALUES (?1, ?2, ?3, ?4)",
    )
    .and_then(|mut insert| insert.execute(params![order, version, plan_json, document]))
    .map_err(|e| db.err(e))?;
    Ok(())
}

/// The item rows of an order version.
pub(crate) fn insert_items(
    db: &Db,
    tx: &rusqlite::Transaction<'_>,
    plan: &Plan,
    version: u32,
) -> Result<(), StoreError> {
    let err = |e| db.err(e);
    let mut item = tx
        .prepare_cached(
            "INSERT INTO items (order_id, version, item_id, idx, product, action, parent, attributes, instance) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .map_err(err)?;
    for (idx, it) in plan.items.iter().enumerate() {
        let attributes =
            serde_json::to_string(&it.attributes).map_err(|e| db_json(db, "attributes", e))?;
        item.execute(params![
            plan.order,
            version,
            it.id,
            idx,
            it.product,
            it.action.as_str(),
            it.parent,
            attributes,
            it.instance
        ])
        .map_err(err)?;
    }
    Ok(())
}

pub(crate) fn load(db: &Db, order: &str) -> Result<StoredOrder, StoreError> {
    let conn = db.reader();
    let head = head(db, &conn, order)?;
    let rows = task_rows(db, &conn, order, head.row.version)?;
    let keys = super::revisions::key_versions(db, &conn, order, head.row.version)?;
    stored_order(&db.path, order, head, rows, keys)
}

/// An order as stored, from its latest version's row and its task rows (any
/// store's): the JSON columns parsed, the rows checked against the plan;
/// `keys` are the tasks' key versions in plan order (`None`: the first key).
pub(crate) fn stored_order(
    path: &Path,
    order: &str,
    head: Head,
    rows: Vec<TaskRow>,
    keys: Vec<Option<u32>>,
) -> Result<StoredOrder, StoreError> {
    let plan: Plan =
        serde_json::from_str(&head.plan).map_err(|e| StoreError::json(path, "plan", e))?;
    let document = serde_json::from_str(&head.document)
        .map_err(|e| StoreError::json(path, "order document", e))?;
    let bindings = head
        .bindings
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| StoreError::json(path, "bindings", e))?;
    let redone_at = plan
        .tasks
        .iter()
        .zip(keys)
        .filter_map(|(t, v)| Some((t.id.clone(), v?)))
        .collect();
    if rows.len() != plan.tasks.len() {
        return Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: format!(
                "order {order} has {} task rows for {} plan tasks",
                rows.len(),
                plan.tasks.len()
            ),
        });
    }
    let row = head.row;
    Ok(StoredOrder {
        id: order.to_string(),
        version: row.version,
        state: row.state,
        reason: row.reason,
        plan,
        document,
        records: rows.into_iter().map(|r| r.record).collect(),
        bindings,
        redone_at,
        cancel_requested: row.cancel_requested,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// Replaces the bindings of an order's latest version.
pub(crate) fn set_bindings(
    db: &Db,
    order: &str,
    bindings: &BindingsRecord,
) -> Result<(), StoreError> {
    let err = |e| db.err(e);
    let json = serde_json::to_string(bindings).map_err(|e| db_json(db, "bindings", e))?;
    let mut conn = db.writer();
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err)?;
    let version = existing_version(db, &tx, order)?;
    tx.execute(
        "UPDATE orders SET bindings = ?1 WHERE id = ?2 AND version = ?3",
        params![json, order, version],
    )
    .map_err(err)?;
    tx.commit().map_err(err)
}

pub(crate) fn list(db: &Db) -> Result<Vec<OrderSummary>, StoreError> {
    let conn = db.reader();
    let mut stmt = conn
        .prepare(
            "SELECT o.id, o.version, o.state, o.reason, o.created_at, \
                    max(o.updated_at, coalesce((SELECT e.at FROM events e WHERE e.order_id = o.id \
                        ORDER BY e.seq DESC LIMIT 1), '')), \
                    o.cancel_requested_at IS NOT NULL, \
                    (SELECT count(*) FROM tasks t WHERE t.order_id = o.id AND t.version = o.version), \
                    (SELECT count(*) FROM tasks t WHERE t.order_id = o.id AND t.version = o.version \
                        AND t.state IN ('done', 'skipped')), \
                    o.due_at \
             FROM orders o \
             WHERE o.version = (SELECT max(version) FROM orders p WHERE p.id = o.id) \
             ORDER BY o.created_at DESC, o.rowid DESC",
        )
        .map_err(|e| db.err(e))?;
    let rows = stmt
        .query_map([], |r| {
            let state: OrderState = parse_state(r, 2)?;
            let due_at: Option<String> = r.get(9)?;
            Ok(OrderSummary {
                id: r.get(0)?,
                version: r.get(1)?,
                state,
                overdue: crate::plan::overdue(
                    due_at.as_deref(),
                    state.is_final(),
                    chrono::Utc::now(),
                ),
                due_at,
                reason: r.get(3)?,
                created_at: r.get(4)?,
                updated_at: r.get(5)?,
                cancel_requested: r.get(6)?,
                tasks: r.get(7)?,
                tasks_finished: r.get(8)?,
            })
        })
        .map_err(|e| db.err(e))?;
    rows.collect::<Result<_, _>>().map_err(|e| db.err(e))
}

/// [`super::Store::order_counts`]: one pass over the orders' latest
/// versions, counted by the database.
pub(crate) fn counts(db: &Db) -> Result<Vec<(OrderState, usize)>, StoreError> {
    let conn = db.reader();
    let mut stmt = conn
        .prepare_cached(
            "SELECT o.state, count(*) FROM orders o \
             WHERE o.version = (SELECT max(version) FROM orders p WHERE p.id = o.id) \
             GROUP BY o.state",
        )
        .map_err(|e| db.err(e))?;
    let found = stmt
        .query_map([], |r| {
            Ok((parse_state::<OrderState>(r, 0)?, r.get::<_, i64>(1)?))
        })
        .map_err(|e| db.err(e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| db.err(e))?;
    Ok(super::status::by_state(found.into_iter().map(
        |(state, n)| (state, usize::try_from(n).unwrap_or(0)),
    )))
}

pub(crate) fn status(db: &Db, order: &str) -> Result<OrderStatus, StoreError> {
    let conn = db.reader();
    let head = head(db, &conn, order)?;
    let rows = task_rows(db, &conn, order, head.row.version)?;
    let last_event_at = conn
        .query_row(
            "SELECT at FROM events WHERE order_id = ?1 ORDER BY seq DESC LIMIT 1",
            [order],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| db.err(e))?;
    let runner = runner::holder(db, &conn, order)?.map(|holder| RunnerStatus {
        live: runner::is_live(db, &holder),
        holder,
    });
    let revisions = super::revisions::history(db, &conn, order)?;
    drop(conn);
    order_status(
        &db.path,
        order,
        head,
        rows,
        last_event_at,
        runner,
        revisions,
    )
}

pub(crate) use super::status::order_status;

pub(crate) fn events(db: &Db, order: &str) -> Result<Vec<JournalEntry>, StoreError> {
    let conn = db.reader();
    if latest_version(&conn, order)
        .map_err(|e| db.err(e))?
        .is_none()
    {
        return Err(StoreError::NoSuchOrder {
            order: order.to_string(),
        });
    }
    let mut stmt = conn
        .prepare("SELECT seq, at, event FROM events WHERE order_id = ?1 ORDER BY seq")
        .map_err(|e| db.err(e))?;
    let rows = stmt
        .query_map([order], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get::<_, String>(2)?))
        })
        .map_err(|e| db.err(e))?;
    let mut entries = Vec::new();
    for row in rows {
        let (seq, at, json) = row.map_err(|e| db.err(e))?;
        let event = serde_json::from_str(&json).map_err(|e| db_json(db, "event", e))?;
        entries.push(JournalEntry { seq, at, event });
    }
    Ok(entries)
}

/// A task's row: its record and its timings.
pub(crate) struct TaskRow {
    pub record: TaskRecord,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// When the next attempt of a task waiting for a retry starts.
    pub next_attempt_at: Option<String>,
}

/// The columns [`task_row`] reads, in its order (a macro, for `concat!`).
macro_rules! task_columns {
    () => {
        "state, attempts, undo_attempts, undoing, outputs, last_error, started_at, finished_at, process, \
         next_attempt_at, not_before"
    };
}
pub(crate) use task_columns;

pub(crate) fn task_row(r: &Row<'_>) -> rusqlite::Result<TaskRow> {
    task_row_at(r, 0)
}

/// [`task_row`] of the columns from `at` on.
pub(crate) fn task_row_at(r: &Row<'_>, at: usize) -> rusqlite::Result<TaskRow> {
    let outputs: String = r.get(at + 4)?;
    Ok(TaskRow {
        record: TaskRecord {
            state: parse_state(r, at)?,
            attempts: r.get(at + 1)?,
            undo_attempts: r.get(at + 2)?,
            undoing: r.get(at + 3)?,
            outputs: serde_json::from_str(&outputs).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    at + 4,
                    rusqlite::types::Type::Text,
                    e.into(),
                )
            })?,
            error: r.get(at + 5)?,
            process: r
                .get::<_, Option<String>>(at + 8)?
                .map(|p| serde_json::from_str(&p))
                .transpose()
                .map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        at + 8,
                        rusqlite::types::Type::Text,
                        e.into(),
                    )
                })?,
            not_before: r.get(at + 10)?,
        },
        started_at: r.get(at + 6)?,
        finished_at: r.get(at + 7)?,
        next_attempt_at: r.get(at + 9)?,
    })
}

fn task_rows(
    db: &Db,
    conn: &Connection,
    order: &str,
    version: u32,
) -> Result<Vec<TaskRow>, StoreError> {
    let mut stmt = conn
        .prepare_cached(concat!(
            "SELECT ",
            task_columns!(),
            " FROM tasks WHERE order_id = ?1 AND version = ?2 ORDER BY idx"
        ))
        .map_err(|e| db.err(e))?;
    let rows = stmt
        .query_map(params![order, version], task_row)
        .map_err(|e| db.err(e))?;
    rows.collect::<Result<_, _>>()
        .map_err(|e| corrupt_or(db, e))
}

/// The order row of the latest version: what its status shows of it.
pub(crate) struct OrderRow {
    pub version: u32,
    pub state: OrderState,
    pub reason: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub cancel_requested: bool,
    pub due_at: Option<String>,
}

/// [`OrderRow`], with the JSON columns of its version as stored.
pub(crate) struct Head {
    pub row: OrderRow,
    pub plan: String,
    pub document: String,
    pub bindings: Option<String>,
}

fn head(db: &Db, conn: &Connection, order: &str) -> Result<Head, StoreError> {
    conn.prepare_cached(
        "SELECT o.version, o.state, o.reason, o.created_at, \
                max(o.updated_at, coalesce((SELECT e.at FROM events e WHERE e.order_id = ?1 \
                    ORDER BY e.seq DESC LIMIT 1), '')), \
                p.plan, p.document, o.cancel_requested_at IS NOT NULL, o.bindings, o.due_at \
         FROM orders o LEFT JOIN order_plans p ON p.order_id = o.id AND p.version = o.version \
         WHERE o.id = ?1 ORDER BY o.version DESC LIMIT 1",
    )
    .and_then(|mut select| {
        select
            .query_row([order], |r| {
                Ok(Head {
                    row: OrderRow {
                        version: r.get(0)?,
                        state: parse_state(r, 1)?,
                        reason: r.get(2)?,
                        created_at: r.get(3)?,
                        updated_at: r.get(4)?,
                        cancel_requested: r.get(7)?,
                        due_at: r.get(9)?,
                    },
                    plan: r.get(5)?,
                    document: r.get(6)?,
                    bindings: r.get(8)?,
                })
            })
            .optional()
    })
    .map_err(|e| corrupt_or(db, e))?
    .ok_or_else(|| StoreError::NoSuchOrder {
        order: order.to_string(),
    })
}

/// The latest version of an order that must exist.
pub(crate) fn existing_version(db: &Db, conn: &Connection, order: &str) -> Result<u32, StoreError> {
    latest_version(conn, order)
        .map_err(|e| db.err(e))?
        .ok_or_else(|| StoreError::NoSuchOrder {
            order: order.to_string(),
        })
}

pub(crate) fn latest_version(conn: &Connection, order: &str) -> rusqlite::Result<Option<u32>> {
    conn.prepare_cached("SELECT max(version) FROM orders WHERE id = ?1")?
        .query_row([order], |r| r.get(0))
}

/// Reads an order or task state stored as its snake_case name.
pub(crate) fn parse_state<T: serde::de::DeserializeOwned>(
    r: &Row<'_>,
    idx: usize,
) -> rusqlite::Result<T> {
    let text: String = r.get(idx)?;
    serde_json::from_value(serde_json::Value::String(text)).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, e.into())
    })
}

pub(crate) fn event_json(db: &Db, event: &Event) -> Result<String, StoreError> {
    serde_json::to_string(event).map_err(|e| db_json(db, "event", e))
}

fn db_json(db: &Db, what: &str, e: serde_json::Error) -> StoreError {
    StoreError::json(&db.path, what, e)
}

/// A value that does not convert is a damaged row; anything else, SQLite's.
pub(crate) fn corrupt_or(db: &Db, e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::FromSqlConversionFailure(..) | rusqlite::Error::InvalidColumnType(..) => {
            StoreError::Corrupt {
                path: db.path.clone(),
                detail: e.to_string(),
            }
        }
        e => db.err(e),
    }
}

pub(crate) fn duration_ms(started: Option<&str>, finished: Option<&str>) -> Option<u64> {
    let parse = |t| chrono::DateTime::parse_from_rfc3339(t).ok();
    let (s, f) = (parse(started?)?, parse(finished?)?);
    u64::try_from((f - s).num_milliseconds()).ok()
}
