//! Work items in the PostgreSQL store, as in SQLite's (`store::work`): the
//! run opens one in the transaction of its `work_opened` event; a person's
//! change is a compare-and-set (`UPDATE … WHERE state = what was read`,
//! under the row lock `FOR UPDATE` takes), so of two claimants on any
//! number of machines exactly one finds the item open. What a change makes
//! of an item is decided by the same function as SQLite's.

use std::collections::BTreeMap;

use r2d2_postgres::postgres::{GenericClient, Row, Transaction};

use super::orders::{narrow, notify, parse};
use super::Pg;
use crate::exec::{Event, OrderState, WorkOutcome, WorkResult};
use crate::store::sqlite::now;
use crate::store::work::{complete_from_plans, decide, Row_, PG_COLUMNS, PG_FROM};
use crate::store::{StoreError, WorkFilter, WorkItem, WorkRequest, WorkState};

fn row(pg: &Pg, r: &Row) -> Result<Row_, StoreError> {
    let order_state: OrderState = parse(pg, r.get::<_, &str>(7))?;
    let due_at: Option<String> = r.get(6);
    Ok(Row_ {
        item: WorkItem {
            order: r.get(0),
            task: r.get(1),
            action: String::new(),
            team: r.get(2),
            state: parse(pg, r.get::<_, &str>(3))?,
            assignee: r.get(4),
            ready_at: r.get(5),
            overdue: crate::plan::overdue(
                due_at.as_deref(),
                order_state.is_final(),
                chrono::Utc::now(),
            ),
            due_at,
            inputs: serde_json::from_str(r.get::<_, &str>(8))
                .map_err(|e| pg.json("work item inputs", e))?,
            outputs: Vec::new(),
            reason: r.get(9),
            attempt: narrow(pg, r.get::<_, i64>(10))?,
        },
        idx: narrow(pg, r.get::<_, i64>(11))?,
        plan: r.get(12),
    })
}

fn complete(pg: &Pg, found: &[Row]) -> Result<Vec<WorkItem>, StoreError> {
    let rows = found
        .iter()
        .map(|r| row(pg, r))
        .collect::<Result<Vec<_>, _>>()?;
    complete_from_plans(&pg.path(), rows, &mut BTreeMap::new()).map_err(|e| pg.own(e))
}

pub(crate) fn list(pg: &Pg, filter: &WorkFilter) -> Result<Vec<WorkItem>, StoreError> {
    let mut conn = pg.conn()?;
    let found = conn
        .query(
            &format!(
                "SELECT {PG_COLUMNS}{PG_FROM} \
                 WHERE ($1::TEXT IS NULL OR w.team = $1) AND ($2::TEXT IS NULL OR w.assignee = $2) \
                   AND ($3 OR w.state IN ('open', 'claimed')) \
                 ORDER BY w.ready_at, w.order_id, w.idx"
            ),
            &[&filter.team, &filter.assignee, &filter.all],
        )
        .map_err(|e| pg.failed(e))?;
    complete(pg, &found)
}

fn one(
    pg: &Pg,
    conn: &mut impl GenericClient,
    order: &str,
    task: &str,
    lock: &str,
) -> Result<WorkItem, StoreError> {
    let found = conn
        .query(
            &format!("SELECT {PG_COLUMNS}{PG_FROM} WHERE w.order_id = $1 AND w.task_id = $2{lock}"),
            &[&order, &task],
        )
        .map_err(|e| pg.failed(e))?;
    complete(pg, &found)?
        .pop()
        .ok_or_else(|| StoreError::NoSuchWorkItem {
            order: order.to_string(),
            task: task.to_string(),
        })
}

pub(crate) fn get(pg: &Pg, order: &str, task: &str) -> Result<WorkItem, StoreError> {
    let mut conn = pg.conn()?;
    one(pg, &mut *conn, order, task, "")
}

/// A person's change, as a compare-and-set in one transaction that also
/// appends it to the order's journal and touches the order's row (which
/// wakes the engine holding the order parked, here or on another machine).
pub(crate) fn change(
    pg: &Pg,
    order: &str,
    task: &str,
    by: &str,
    request: &WorkRequest,
) -> Result<WorkItem, StoreError> {
    let failed = |e| pg.failed(e);
    let mut conn = pg.conn()?;
    let mut tx = conn.transaction().map_err(failed)?;
    let item = one(pg, &mut tx, order, task, " FOR UPDATE OF w")?;
    let Some(d) = decide(&pg.path(), &item, by, request).map_err(|e| pg.own(e))? else {
        return Ok(item);
    };
    let at = now();
    let finished = d.finished().then_some(&at);
    let updated = tx
        .query_opt(
            "UPDATE work_items SET state = $1, assignee = $2, outputs = $3, reason = $4, \
                    retryable = $5, updated_at = $6, finished_at = $7 \
             WHERE order_id = $8 AND task_id = $9 AND state = $10 \
             RETURNING version, idx",
            &[
                &d.state.as_str(),
                &d.assignee,
                &d.outputs,
                &d.reason,
                &d.retryable,
                &at,
                &finished,
                &order,
                &task,
                &item.state.as_str(),
            ],
        )
        .map_err(failed)?;
    let Some(updated) = updated else {
        // Another change won between the read and the write (the row lock
        // makes this all but impossible): decide again on the item as it is.
        drop(tx);
        drop(conn);
        return change(pg, order, task, by, request);
    };
    let version: i64 = updated.get(0);
    let idx: usize = narrow(pg, updated.get::<_, i64>(1))?;
    let event = serde_json::to_string(&d.event(idx, by)).map_err(|e| pg.json("event", e))?;
    append_event(&mut tx, order, version, &at, &event).map_err(failed)?;
    tx.execute(
        "UPDATE orders SET updated_at = $1 WHERE id = $2 AND version = $3",
        &[&at, &order, &version],
    )
    .map_err(failed)?;
    notify(&mut tx, order).map_err(failed)?;
    tx.commit().map_err(failed)?;
    drop(conn);
    get(pg, order, task)
}

fn append_event(
    tx: &mut Transaction<'_>,
    order: &str,
    version: i64,
    at: &str,
    event: &str,
) -> Result<(), r2d2_postgres::postgres::Error> {
    tx.execute(
        "INSERT INTO events (order_id, seq, version, at, event) \
         VALUES ($1, (SELECT coalesce(max(seq), 0) + 1 FROM events WHERE order_id = $1), $2, $3, $4)",
        &[&order, &version, &at, &event],
    )?;
    Ok(())
}

/// In the transaction of a `work_opened` event: the item, open (a new one,
/// or the task's item opened again after a retryable failure).
pub(crate) fn opened(
    tx: &mut Transaction<'_>,
    order: &str,
    version: i64,
    event: &Event,
    at: &str,
) -> Result<(), r2d2_postgres::postgres::Error> {
    let Event::WorkOpened {
        task,
        attempt,
        team,
        inputs,
    } = event
    else {
        return Ok(());
    };
    let inputs = serde_json::Value::Object(inputs.clone()).to_string();
    tx.execute(
        "INSERT INTO work_items (order_id, task_id, version, idx, team, state, attempt, inputs, ready_at, updated_at) \
         SELECT order_id, task_id, version, idx, $4, 'open', $5, $6, $7, $7 \
         FROM tasks WHERE order_id = $1 AND version = $2 AND idx = $3 \
         ON CONFLICT (order_id, task_id) DO UPDATE SET \
             version = excluded.version, team = excluded.team, state = 'open', \
             attempt = excluded.attempt, assignee = NULL, inputs = excluded.inputs, \
             outputs = NULL, reason = NULL, retryable = FALSE, ready_at = excluded.ready_at, \
             updated_at = excluded.updated_at, finished_at = NULL",
        &[
            &order,
            &version,
            &i64::try_from(*task).unwrap_or(i64::MAX),
            team,
            &i64::from(*attempt),
            &inputs,
            &at,
        ],
    )?;
    Ok(())
}

/// In the transaction of a task's end without an attempt (cancelled,
/// failed): its open item, if any, ends cancelled.
pub(crate) fn task_ended(
    tx: &mut Transaction<'_>,
    order: &str,
    version: i64,
    task: i64,
    at: &str,
) -> Result<(), r2d2_postgres::postgres::Error> {
    tx.execute(
        "UPDATE work_items SET state = 'cancelled', updated_at = $4, finished_at = $4 \
         WHERE order_id = $1 AND version = $2 AND idx = $3 AND state IN ('open', 'claimed')",
        &[&order, &version, &task, &at],
    )?;
    Ok(())
}

/// The ended work items of an order version whose task still waits for
/// them: what the run takes up next.
pub(crate) fn results(
    pg: &Pg,
    conn: &mut impl GenericClient,
    order: &str,
    version: u32,
) -> Result<Vec<WorkResult>, StoreError> {
    let found = conn
        .query(
            "SELECT w.idx, w.attempt, w.state, w.outputs, w.reason, w.retryable \
             FROM work_items w JOIN tasks t \
               ON t.order_id = w.order_id AND t.version = w.version AND t.idx = w.idx \
             WHERE w.order_id = $1 AND w.version = $2 AND w.state IN ('done', 'failed') \
               AND t.state = 'running' AND t.attempts = w.attempt \
             ORDER BY w.idx",
            &[&order, &i64::from(version)],
        )
        .map_err(|e| pg.failed(e))?;
    found
        .iter()
        .map(|r| {
            let state: WorkState = parse(pg, r.get::<_, &str>(2))?;
            let outcome = match state {
                WorkState::Done => WorkOutcome::Done(
                    serde_json::from_str(r.get::<_, Option<&str>>(3).unwrap_or_default())
                        .map_err(|e| pg.json("work item outputs", e))?,
                ),
                _ => WorkOutcome::Failed {
                    reason: r.get::<_, Option<String>>(4).unwrap_or_default(),
                    retryable: r.get(5),
                },
            };
            Ok(WorkResult {
                task: narrow(pg, r.get::<_, i64>(0))?,
                attempt: narrow(pg, r.get::<_, i64>(1))?,
                outcome,
            })
        })
        .collect()
}
