//! Work items in the SQLite store: the manual tasks people do. The run opens
//! one (in the transaction that records its `work_opened` event) and takes
//! up its end; people claim, release, complete and fail it here, each change
//! a compare-and-set in one transaction that also appends the change, with
//! who made it, to the order's journal.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use serde::{Deserialize, Serialize};

use super::orders::{corrupt_or, event_json, parse_state};
use super::sqlite::{now, Db};
use super::StoreError;
use crate::exec::{Event, OrderState, WorkChange, WorkOutcome, WorkResult};
use crate::plan::Plan;
use crate::value::Value;

/// The schema step that adds work items and durable waits: self-contained,
/// so it can take whichever version number follows the steps before it.
pub(crate) const MIGRATION: &str = r#"
CREATE TABLE work_items (
    order_id    TEXT    NOT NULL,
    task_id     TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    idx         INTEGER NOT NULL,
    team        TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    attempt     INTEGER NOT NULL,
    assignee    TEXT,
    inputs      TEXT    NOT NULL,
    outputs     TEXT,
    reason      TEXT,
    retryable   INTEGER NOT NULL DEFAULT 0,
    ready_at    TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    finished_at TEXT,
    PRIMARY KEY (order_id, task_id)
);
CREATE INDEX work_items_by_state ON work_items (state, team);
ALTER TABLE tasks ADD COLUMN not_before TEXT;
ALTER TABLE orders ADD COLUMN due_at TEXT;
"#;

/// A work item's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkState {
    Open,
    Claimed,
    Done,
    Failed,
    /// The order stopped (failed, was cancelled) while the item was open.
    Cancelled,
}

impl WorkState {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkState::Open => "open",
            WorkState::Claimed => "claimed",
            WorkState::Done => "done",
            WorkState::Failed => "failed",
            WorkState::Cancelled => "cancelled",
        }
    }

    /// Whether people can still act on it.
    pub fn is_active(self) -> bool {
        matches!(self, WorkState::Open | WorkState::Claimed)
    }
}

/// A declared output of a work item: what the person must give back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
}

/// One work item, as `ordo tasks --format json` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkItem {
    pub order: String,
    pub task: String,
    pub action: String,
    pub team: String,
    pub state: WorkState,
    pub assignee: Option<String>,
    pub ready_at: String,
    /// The order's due date.
    pub due_at: Option<String>,
    /// Past the order's due date and not ended.
    pub overdue: bool,
    pub inputs: serde_json::Map<String, serde_json::Value>,
    pub outputs: Vec<OutputSpec>,
    /// Why it failed (`ordo task fail --reason`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Its number among the task's work items (a retryable failure opens another).
    #[serde(skip)]
    pub attempt: u32,
}

/// Which work items `ordo tasks` lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkFilter {
    pub team: Option<String>,
    pub assignee: Option<String>,
    /// Also done, failed and cancelled ones.
    pub all: bool,
}

/// What a person does to a work item.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkRequest {
    Claim,
    Release,
    /// Outputs already checked against the action's declared types.
    Complete(BTreeMap<String, Value>),
    Fail {
        reason: String,
        retryable: bool,
    },
}

/// The columns of a work item as read, the plan's last: `$plan` names it
/// (SQLite keeps plans in `order_plans`, PostgreSQL in `orders`).
macro_rules! item_columns {
    ($plan:literal) => {
        concat!(
            "w.order_id, w.task_id, w.team, w.state, w.assignee, w.ready_at, \
             o.due_at, o.state, w.inputs, w.reason, w.attempt, w.idx, ",
            $plan
        )
    };
}

/// SQLite's work item columns, read [`FROM`].
pub(crate) const COLUMNS: &str = item_columns!("p.plan");
/// PostgreSQL's, read [`PG_FROM`].
pub(crate) const PG_COLUMNS: &str = item_columns!("o.plan");

/// A work item as read, before its plan fills in the action and outputs.
pub(crate) struct Row_ {
    pub item: WorkItem,
    pub idx: usize,
    pub plan: String,
}

fn row(r: &Row<'_>) -> rusqlite::Result<Row_> {
    let inputs: String = r.get(8)?;
    let order_state: OrderState = parse_state(r, 7)?;
    let due_at: Option<String> = r.get(6)?;
    Ok(Row_ {
        item: WorkItem {
            order: r.get(0)?,
            task: r.get(1)?,
            action: String::new(),
            team: r.get(2)?,
            state: parse_state(r, 3)?,
            assignee: r.get(4)?,
            ready_at: r.get(5)?,
            overdue: crate::plan::overdue(
                due_at.as_deref(),
                order_state.is_final(),
                chrono::Utc::now(),
            ),
            due_at,
            inputs: serde_json::from_str(&inputs).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(8, rusqlite::types::Type::Text, e.into())
            })?,
            outputs: Vec::new(),
            reason: r.get(9)?,
            attempt: r.get(10)?,
        },
        idx: r.get(11)?,
        plan: r.get(12)?,
    })
}

/// Fills in what the plan says: the action and its declared outputs.
pub(crate) fn complete_from_plans(
    path: &Path,
    rows: Vec<Row_>,
    plans: &mut BTreeMap<String, Plan>,
) -> Result<Vec<WorkItem>, StoreError> {
    let mut items = Vec::with_capacity(rows.len());
    for mut r in rows {
        if !plans.contains_key(&r.item.order) {
            let plan: Plan =
                serde_json::from_str(&r.plan).map_err(|e| StoreError::json(path, "plan", e))?;
            plans.insert(r.item.order.clone(), plan);
        }
        let plan = &plans[&r.item.order];
        if let Some(task) = plan.tasks.get(r.idx) {
            r.item.action = task.action.clone();
            r.item.outputs = task
                .outputs
                .iter()
                .map(|(name, ty)| OutputSpec {
                    name: name.clone(),
                    ty: ty.to_string(),
                })
                .collect();
        }
        items.push(r.item);
    }
    Ok(items)
}

pub(crate) const PG_FROM: &str =
    " FROM work_items w JOIN orders o ON o.id = w.order_id AND o.version = w.version";
pub(crate) const FROM: &str =
    " FROM work_items w JOIN orders o ON o.id = w.order_id AND o.version = w.version \
      JOIN order_plans p ON p.order_id = w.order_id AND p.version = w.version";

pub(crate) fn list(db: &Db, filter: &WorkFilter) -> Result<Vec<WorkItem>, StoreError> {
    let conn = db.reader();
    let sql = format!(
        "SELECT {COLUMNS}{FROM} \
         WHERE (?1 IS NULL OR w.team = ?1) AND (?2 IS NULL OR w.assignee = ?2) \
           AND (?3 OR w.state IN ('open', 'claimed')) \
         ORDER BY w.ready_at, w.order_id, w.idx"
    );
    let mut stmt = conn.prepare(&sql).map_err(|e| db.err(e))?;
    let rows = stmt
        .query_map(params![filter.team, filter.assignee, filter.all], row)
        .map_err(|e| db.err(e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| corrupt_or(db, e))?;
    drop(stmt);
    drop(conn);
    complete_from_plans(&db.path, rows, &mut BTreeMap::new())
}

fn one(db: &Db, conn: &Connection, order: &str, task: &str) -> Result<WorkItem, StoreError> {
    let sql = format!("SELECT {COLUMNS}{FROM} WHERE w.order_id = ?1 AND w.task_id = ?2");
    let found = conn
        .query_row(&sql, params![order, task], row)
        .optional()
        .map_err(|e| corrupt_or(db, e))?;
    let Some(found) = found else {
        return Err(StoreError::NoSuchWorkItem {
            order: order.to_string(),
            task: task.to_string(),
        });
    };
    let mut items = complete_from_plans(&db.path, vec![found], &mut BTreeMap::new())?;
    Ok(items.remove(0))
}

pub(crate) fn get(db: &Db, order: &str, task: &str) -> Result<WorkItem, StoreError> {
    let conn = db.reader();
    one(db, &conn, order, task)
}

/// Applies a person's change as a compare-and-set: the item is read and
/// written in one immediate transaction, so of two claimants exactly one
/// finds it open.
pub(crate) fn change(
    db: &Db,
    order: &str,
    task: &str,
    by: &str,
    request: &WorkRequest,
) -> Result<WorkItem, StoreError> {
    let err = |e| db.err(e);
    let mut conn = db.writer();
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err)?;
    let item = one(db, &tx, order, task)?;
    let Some(d) = decide(&db.path, &item, by, request)? else {
        return Ok(item);
    };
    let at = now();
    let finished = d.finished().then_some(&at);
    let (version, idx): (u32, usize) = tx
        .query_row(
            "UPDATE work_items SET state = ?1, assignee = ?2, outputs = ?3, reason = ?4, \
                    retryable = ?5, updated_at = ?6, finished_at = ?7 \
             WHERE order_id = ?8 AND task_id = ?9 AND state = ?10 \
             RETURNING version, idx",
            params![
                d.state.as_str(),
                d.assignee,
                d.outputs,
                d.reason,
                d.retryable,
                at,
                finished,
                order,
                task,
                item.state.as_str()
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(err)?;
    append_event(db, &tx, order, version, &at, &d.event(idx, by))?;
    // The order's row changes too: that is what wakes an engine holding
    // the order parked, in this process or another (`docs/server.md`).
    tx.execute(
        "UPDATE orders SET updated_at = ?1 WHERE id = ?2 AND version = ?3",
        params![at, order, version],
    )
    .map_err(err)?;
    tx.commit().map_err(err)?;
    drop(conn);
    get(db, order, task)
}

/// What a person's change makes of a work item, decided alike by every
/// store before its compare-and-set.
pub(crate) struct Decision {
    pub state: WorkState,
    pub change: WorkChange,
    pub reason: Option<String>,
    /// The completion's outputs, as JSON.
    pub outputs: Option<String>,
    pub retryable: bool,
    pub assignee: Option<String>,
}

impl Decision {
    /// Whether the item ends.
    pub fn finished(&self) -> bool {
        matches!(self.state, WorkState::Done | WorkState::Failed)
    }

    /// The journal's record of the change to task `idx`.
    pub fn event(&self, idx: usize, by: &str) -> Event {
        Event::Work {
            task: idx,
            change: self.change,
            by: by.to_string(),
            reason: self.reason.clone(),
        }
    }
}

/// Decides `request` on `item` as read in the transaction: refused when the
/// item ended or someone else holds it; `None` when nothing changes (a
/// claim by its holder).
pub(crate) fn decide(
    path: &Path,
    item: &WorkItem,
    by: &str,
    request: &WorkRequest,
) -> Result<Option<Decision>, StoreError> {
    let (order, task) = (item.order.as_str(), item.task.as_str());
    if !item.state.is_active() {
        return Err(StoreError::WorkItemClosed {
            order: order.to_string(),
            task: task.to_string(),
            state: item.state.as_str().to_string(),
        });
    }
    let holder = item
        .assignee
        .as_deref()
        .filter(|_| item.state == WorkState::Claimed);
    if let Some(h) = holder.filter(|&h| h != by) {
        return Err(StoreError::WorkItemTaken {
            order: order.to_string(),
            task: task.to_string(),
            assignee: h.to_string(),
        });
    }
    let (state, change, reason) = match request {
        WorkRequest::Claim if holder.is_some() => return Ok(None),
        WorkRequest::Claim => (WorkState::Claimed, WorkChange::Claimed, None),
        WorkRequest::Release if holder.is_none() => {
            return Err(StoreError::WorkItemNotClaimed {
                order: order.to_string(),
                task: task.to_string(),
            })
        }
        WorkRequest::Release => (WorkState::Open, WorkChange::Released, None),
        WorkRequest::Complete(_) => (WorkState::Done, WorkChange::Completed, None),
        WorkRequest::Fail { reason, .. } => {
            (WorkState::Failed, WorkChange::Failed, Some(reason.clone()))
        }
    };
    let outputs = match request {
        WorkRequest::Complete(outputs) => {
            Some(serde_json::to_string(outputs).map_err(|e| StoreError::json(path, "outputs", e))?)
        }
        _ => None,
    };
    let retryable = matches!(
        request,
        WorkRequest::Fail {
            retryable: true,
            ..
        }
    );
    Ok(Some(Decision {
        state,
        change,
        reason,
        outputs,
        retryable,
        assignee: (state != WorkState::Open).then(|| by.to_string()),
    }))
}

fn append_event(
    db: &Db,
    tx: &Transaction<'_>,
    order: &str,
    version: u32,
    at: &str,
    event: &Event,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO events (order_id, seq, version, at, event) \
         VALUES (?1, (SELECT coalesce(max(seq), 0) + 1 FROM events WHERE order_id = ?1), ?2, ?3, ?4)",
        params![order, version, at, event_json(db, event)?],
    )
    .map_err(|e| db.err(e))?;
    Ok(())
}

/// In the transaction of a `work_opened` event: the item, open (a new one,
/// or the task's item opened again after a retryable failure).
pub(crate) fn opened(
    tx: &Transaction<'_>,
    order: &str,
    version: u32,
    event: &Event,
    at: &str,
) -> rusqlite::Result<()> {
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
    tx.prepare_cached(
        "INSERT INTO work_items (order_id, task_id, version, idx, team, state, attempt, inputs, ready_at, updated_at) \
         SELECT order_id, task_id, version, idx, ?4, 'open', ?5, ?6, ?7, ?7 \
         FROM tasks WHERE order_id = ?1 AND version = ?2 AND idx = ?3 \
         ON CONFLICT (order_id, task_id) DO UPDATE SET \
             version = excluded.version, team = excluded.team, state = 'open', \
             attempt = excluded.attempt, assignee = NULL, inputs = excluded.inputs, \
             outputs = NULL, reason = NULL, retryable = 0, ready_at = excluded.ready_at, \
             updated_at = excluded.updated_at, finished_at = NULL",
    )?
    .execute(params![order, version, task, team, attempt, inputs, at])?;
    Ok(())
}

/// In the transaction of a task's end without an attempt (cancelled,
/// failed): its open item, if any, ends cancelled.
pub(crate) fn task_ended(
    tx: &Transaction<'_>,
    order: &str,
    version: u32,
    task: usize,
    at: &str,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE work_items SET state = 'cancelled', updated_at = ?4, finished_at = ?4 \
         WHERE order_id = ?1 AND version = ?2 AND idx = ?3 AND state IN ('open', 'claimed')",
    )?
    .execute(params![order, version, task, at])?;
    Ok(())
}

/// The ended work items of an order version whose task still waits for
/// them: what the run takes up next.
pub(crate) fn results(
    conn: &Connection,
    order: &str,
    version: u32,
) -> rusqlite::Result<Vec<WorkResult>> {
    let mut stmt = conn.prepare_cached(
        "SELECT w.idx, w.attempt, w.state, w.outputs, w.reason, w.retryable \
         FROM work_items w JOIN tasks t \
           ON t.order_id = w.order_id AND t.version = w.version AND t.idx = w.idx \
         WHERE w.order_id = ?1 AND w.version = ?2 AND w.state IN ('done', 'failed') \
           AND t.state = 'running' AND t.attempts = w.attempt \
         ORDER BY w.idx",
    )?;
    let rows = stmt.query_map(params![order, version], |r| {
        let state: WorkState = parse_state(r, 2)?;
        let outcome = match state {
            WorkState::Done => {
                let text: String = r.get::<_, Option<String>>(3)?.unwrap_or_default();
                WorkOutcome::Done(serde_json::from_str(&text).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        3,
                        rusqlite::types::Type::Text,
                        e.into(),
                    )
                })?)
            }
            _ => WorkOutcome::Failed {
                reason: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                retryable: r.get(5)?,
            },
        };
        Ok(WorkResult {
            task: r.get(0)?,
            attempt: r.get(1)?,
            outcome,
        })
    })?;
    rows.collect()
}
