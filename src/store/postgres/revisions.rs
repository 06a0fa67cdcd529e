//! Revisions in the PostgreSQL store, as in SQLite's (`store::revisions`):
//! requested, begun with its delta, switched to. A request takes the
//! order's version row `FOR UPDATE`, so two requests on two machines do not
//! both find no revision waiting; begin and switch pass the fence (the
//! lease renewed `WHERE epoch = mine AND token = mine`) first, so a runner
//! whose lock was taken over writes nothing. Refusals are decided by the
//! same function as SQLite's.

use r2d2_postgres::postgres::{GenericClient, Transaction};

use super::orders::{existing_version, narrow, notify, parse};
use super::{runner, Pg};
use crate::exec::{OrderState, TaskState};
use crate::plan::revision::{task_hash, Change, Revision};
use crate::plan::Plan;
use crate::store::revisions::{parse_delta, refused, Facts, Stored};
use crate::store::sqlite::now;
use crate::store::{PendingRevision, RevisionState, RevisionStatus, RunnerLock, StoreError};

fn refusal(
    pg: &Pg,
    conn: &mut impl GenericClient,
    order: &str,
    version: i64,
    settled: bool,
    delta: Option<&Revision>,
) -> Result<Option<StoreError>, StoreError> {
    let failed = |e| pg.failed(e);
    let head = conn
        .query_one(
            "SELECT state, cancel_requested_at IS NOT NULL FROM orders \
             WHERE id = $1 AND version = $2 FOR UPDATE",
            &[&order, &version],
        )
        .map_err(failed)?;
    let state: OrderState = parse(pg, head.get::<_, &str>(0))?;
    let busy = if settled {
        conn.query_opt(
            "SELECT task_id, state FROM tasks WHERE order_id = $1 AND version = $2 \
             AND (state NOT IN ('pending', 'done', 'skipped') OR undoing) ORDER BY idx LIMIT 1",
            &[&order, &version],
        )
        .map_err(failed)?
        .map(|r| (r.get(0), r.get(1)))
    } else {
        None
    };
    let passed = conn
        .query(
            "SELECT task_id FROM tasks WHERE order_id = $1 AND version = $2 \
             AND point_of_no_return AND state = 'done' ORDER BY idx",
            &[&order, &version],
        )
        .map_err(failed)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let facts = Facts {
        state,
        cancel: head.get(1),
        passed,
        busy,
    };
    Ok(refused(order, &facts, delta))
}

pub(crate) fn request(
    pg: &Pg,
    plan: &Plan,
    document: &serde_json::Value,
    settled: bool,
) -> Result<u32, StoreError> {
    let failed = |e| pg.failed(e);
    let plan_json = serde_json::to_string(plan).map_err(|e| pg.json("plan", e))?;
    let mut conn = pg.conn()?;
    let mut tx = conn.transaction().map_err(failed)?;
    let order = &plan.order;
    let version = existing_version(pg, &mut tx, order)?;
    if let Some(refused) = refusal(pg, &mut tx, order, version, settled, None)? {
        return Err(refused);
    }
    if let Some(waiting) = tx
        .query_opt(
            "SELECT version FROM revisions WHERE order_id = $1 AND state IN ('requested', 'undoing')",
            &[order],
        )
        .map_err(failed)?
    {
        return Err(StoreError::RevisionPending {
            order: order.clone(),
            version: narrow(pg, waiting.get::<_, i64>(0))?,
        });
    }
    tx.execute(
        "INSERT INTO revisions (order_id, version, from_version, state, requested_at, plan, document) \
         VALUES ($1, $2, $3, 'requested', $4, $5, $6)",
        &[
            order,
            &(version + 1),
            &version,
            &now(),
            &plan_json,
            &document.to_string(),
        ],
    )
    .map_err(failed)?;
    // The runner of the order, wherever it is, polls for the request; the
    // notification wakes an engine that holds the order parked.
    notify(&mut tx, order).map_err(failed)?;
    tx.commit().map_err(failed)?;
    narrow(pg, version + 1)
}

/// Whether a revision waits to be begun: what the runner polls.
pub(crate) fn requested(
    pg: &Pg,
    conn: &mut impl GenericClient,
    order: &str,
) -> Result<bool, StoreError> {
    Ok(conn
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM revisions WHERE order_id = $1 AND state = 'requested')",
            &[&order],
        )
        .map_err(|e| pg.failed(e))?
        .get(0))
}

pub(crate) fn pending(pg: &Pg, order: &str) -> Result<Option<PendingRevision>, StoreError> {
    let mut conn = pg.conn()?;
    let Some(r) = conn
        .query_opt(
            "SELECT version, from_version, state, plan, document, delta FROM revisions \
             WHERE order_id = $1 AND state IN ('requested', 'undoing')",
            &[&order],
        )
        .map_err(|e| pg.failed(e))?
    else {
        return Ok(None);
    };
    let stored = Stored {
        version: narrow(pg, r.get::<_, i64>(0))?,
        from: narrow(pg, r.get::<_, i64>(1))?,
        state: parse::<RevisionState>(pg, r.get::<_, &str>(2))?,
        plan: r.get(3),
        document: r.get(4),
        delta: r.get(5),
    };
    stored
        .parse(&pg.path(), order)
        .map(Some)
        .map_err(|e| pg.own(e))
}

/// A transaction for the holder of the order's lock, past the fence.
fn fenced<'c>(
    pg: &Pg,
    conn: &'c mut super::Conn,
    lock: &RunnerLock,
) -> Result<Transaction<'c>, StoreError> {
    let failed = |e| pg.failed(e);
    let lost = || StoreError::LostLock {
        order: lock.order().to_string(),
    };
    let epoch = lock.epoch().ok_or_else(lost)?;
    let mut tx = conn.transaction().map_err(failed)?;
    if !runner::fence(pg, &mut tx, lock.order(), lock.token(), epoch).map_err(failed)? {
        return Err(lost());
    }
    Ok(tx)
}

pub(crate) fn begin(pg: &Pg, lock: &RunnerLock, delta: &Revision) -> Result<(), StoreError> {
    let failed = |e| pg.failed(e);
    let order = lock.order();
    let (from, to) = (i64::from(delta.from), i64::from(delta.to));
    let mut conn = pg.conn()?;
    let mut tx = fenced(pg, &mut conn, lock)?;
    if let Some(refused) = refusal(pg, &mut tx, order, from, true, Some(delta))? {
        tx.execute(
            "UPDATE revisions SET state = 'refused', reason = $1 WHERE order_id = $2 AND version = $3",
            &[&refused.to_string(), &order, &to],
        )
        .map_err(failed)?;
        tx.commit().map_err(failed)?;
        return Err(refused);
    }
    let json = serde_json::to_string(delta).map_err(|e| pg.json("delta", e))?;
    tx.execute(
        "UPDATE revisions SET state = 'undoing', delta = $1 \
         WHERE order_id = $2 AND version = $3 AND state = 'requested'",
        &[&json, &order, &to],
    )
    .map_err(failed)?;
    tx.commit().map_err(failed)
}

pub(crate) fn switch(pg: &Pg, lock: &RunnerLock, rev: &PendingRevision) -> Result<(), StoreError> {
    let failed = |e| pg.failed(e);
    let order = lock.order();
    let Some(delta) = &rev.delta else {
        return Err(pg.corrupt(format!(
            "revision {} of order {order} has no delta",
            rev.version
        )));
    };
    let plan = &rev.plan;
    let (version, from) = (i64::from(rev.version), i64::from(rev.from));
    let at = now();
    let mut conn = pg.conn()?;
    let mut tx = fenced(pg, &mut conn, lock)?;
    let head = tx
        .query_one(
            "SELECT created_at, bindings FROM orders WHERE id = $1 AND version = $2",
            &[&order, &from],
        )
        .map_err(failed)?;
    let (created_at, bindings): (String, Option<String>) = (head.get(0), head.get(1));
    let plan_json = serde_json::to_string(plan).map_err(|e| pg.json("plan", e))?;
    tx.execute(
        "INSERT INTO orders (id, version, state, created_at, updated_at, catalog_hash, plan, document, bindings) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &order,
            &version,
            &OrderState::InProgress.as_str(),
            &created_at,
            &at,
            &plan.catalog_hash,
            &plan_json,
            &rev.document.to_string(),
            &bindings,
        ],
    )
    .map_err(failed)?;
    super::orders::insert_items(pg, &mut tx, plan, version)?;
    let copy = tx
        .prepare(
            "INSERT INTO tasks (order_id, version, task_id, idx, item_id, point_of_no_return, state, \
                 attempts, undo_attempts, undoing, outputs, last_error, started_at, finished_at, \
                 inputs_hash, key_version) \
             SELECT order_id, $2, task_id, $3, $4, $5, state, attempts, undo_attempts, undoing, outputs, \
                 last_error, started_at, finished_at, $6, key_version \
             FROM tasks WHERE order_id = $1 AND version = $7 AND task_id = $8",
        )
        .map_err(failed)?;
    let fresh = tx
        .prepare(
            "INSERT INTO tasks (order_id, version, task_id, idx, item_id, point_of_no_return, state, \
                 inputs_hash, key_version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
                 (SELECT $2::BIGINT WHERE EXISTS (SELECT 1 FROM tasks WHERE order_id = $1 AND task_id = $3 \
                     AND (attempts > 0 OR key_version IS NOT NULL))))",
        )
        .map_err(failed)?;
    for (idx, t) in plan.tasks.iter().enumerate() {
        let hash = task_hash(t);
        let idx = i64::try_from(idx).unwrap_or(i64::MAX);
        let copied = if delta.change(&t.id) == Some(Change::Keep) {
            tx.execute(
                &copy,
                &[
                    &order,
                    &version,
                    &idx,
                    &t.item,
                    &t.point_of_no_return,
                    &hash,
                    &from,
                    &t.id,
                ],
            )
            .map_err(failed)?
        } else {
            0
        };
        if copied == 0 {
            tx.execute(
                &fresh,
                &[
                    &order,
                    &version,
                    &t.id,
                    &idx,
                    &t.item,
                    &t.point_of_no_return,
                    &TaskState::Pending.as_str(),
                    &hash,
                ],
            )
            .map_err(failed)?;
        }
    }
    tx.execute(
        "UPDATE revisions SET state = 'applied', applied_at = $1 WHERE order_id = $2 AND version = $3",
        &[&at, &order, &version],
    )
    .map_err(failed)?;
    notify(&mut tx, order).map_err(failed)?;
    tx.commit().map_err(failed)
}

/// Every revision of the order, oldest first.
pub(crate) fn history(
    pg: &Pg,
    conn: &mut impl GenericClient,
    order: &str,
) -> Result<Vec<RevisionStatus>, StoreError> {
    let found = conn
        .query(
            "SELECT version, from_version, state, requested_at, applied_at, reason, delta \
             FROM revisions WHERE order_id = $1 ORDER BY version",
            &[&order],
        )
        .map_err(|e| pg.failed(e))?;
    found
        .iter()
        .map(|r| {
            Ok(RevisionStatus {
                version: narrow(pg, r.get::<_, i64>(0))?,
                from: narrow(pg, r.get::<_, i64>(1))?,
                state: parse(pg, r.get::<_, &str>(2))?,
                requested_at: r.get(3),
                applied_at: r.get(4),
                reason: r.get(5),
                counts: r
                    .get::<_, Option<&str>>(6)
                    .map(|d| parse_delta(&pg.path(), d).map_err(|e| pg.own(e)))
                    .transpose()?
                    .map(|d| d.counts()),
            })
        })
        .collect()
}

/// The key versions of an order version's tasks (`None`: the first key).
pub(crate) fn key_versions(
    pg: &Pg,
    conn: &mut impl GenericClient,
    order: &str,
    version: u32,
) -> Result<Vec<Option<u32>>, StoreError> {
    conn.query(
        "SELECT key_version FROM tasks WHERE order_id = $1 AND version = $2 ORDER BY idx",
        &[&order, &i64::from(version)],
    )
    .map_err(|e| pg.failed(e))?
    .iter()
    .map(|r| {
        r.get::<_, Option<i64>>(0)
            .map(|v| narrow(pg, v))
            .transpose()
    })
    .collect()
}
