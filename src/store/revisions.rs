//! Revisions in the SQLite store (SPEC §8.2): a revision is requested (its
//! plan and document kept in `revisions`), begun (its delta recorded, its
//! undos under way on the running version) and switched to (its version's
//! rows written, `keep` tasks carrying their records over). Each step is one
//! `BEGIN IMMEDIATE` transaction, so a crash leaves the revision at one step
//! or the next and a resume carries on from there.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::orders::{existing_version, parse_state};
use super::sqlite::{now, Db};
use super::{RevisionState, RevisionStatus, RunnerLock, StoreError};
use crate::exec::{OrderState, TaskState};
use crate::plan::revision::{task_hash, Change, Revision};
use crate::plan::Plan;

/// Version 6: revisions, and per task the version whose idempotency key its
/// effect carries (null: the first key, `ORDER/TASK`).
pub(crate) const MIGRATION: &str = "
ALTER TABLE tasks ADD COLUMN key_version INTEGER;
CREATE TABLE revisions (
    order_id     TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    from_version INTEGER NOT NULL,
    state        TEXT    NOT NULL,
    requested_at TEXT    NOT NULL,
    applied_at   TEXT,
    reason       TEXT,
    plan         TEXT    NOT NULL,
    document     TEXT    NOT NULL,
    delta        TEXT,
    PRIMARY KEY (order_id, version)
);
";

/// A revision not yet applied: what the runner or `ordo revise` applies.
#[derive(Debug, Clone)]
pub struct PendingRevision {
    pub order: String,
    /// The version it makes.
    pub version: u32,
    pub from: u32,
    pub state: RevisionState,
    pub plan: Plan,
    pub document: serde_json::Value,
    /// Recorded when its undos began.
    pub delta: Option<Revision>,
}

/// Why an order takes no revision now, if it does not: it ended, a point of
/// no return succeeded, a cancel is under way. With `settled`, also when a
/// task runs, was interrupted, failed or was compensated (the caller applies
/// the revision at once). Applying a begun revision (`delta`), a point of no
/// return that succeeded while the runner made its way to the safe point
/// refuses it only if the revision would take that task back.
fn refusal(
    db: &Db,
    conn: &Connection,
    order: &str,
    version: u32,
    settled: bool,
    delta: Option<&Revision>,
) -> Result<Option<StoreError>, StoreError> {
    let err = |e| db.err(e);
    let (state, cancel): (OrderState, bool) = conn
        .query_row(
            "SELECT state, cancel_requested_at IS NOT NULL FROM orders WHERE id = ?1 AND version = ?2",
            params![order, version],
            |r| Ok((parse_state(r, 0)?, r.get(1)?)),
        )
        .map_err(err)?;
    let busy = if settled {
        conn.query_row(
            "SELECT task_id, state FROM tasks WHERE order_id = ?1 AND version = ?2 \
             AND (state NOT IN ('pending', 'done', 'skipped') OR undoing = 1) ORDER BY idx LIMIT 1",
            params![order, version],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(err)?
    } else {
        None
    };
    let mut stmt = conn
        .prepare(
            "SELECT task_id FROM tasks WHERE order_id = ?1 AND version = ?2 \
             AND point_of_no_return = 1 AND state = 'done' ORDER BY idx",
        )
        .map_err(err)?;
    let passed: Vec<String> = stmt
        .query_map(params![order, version], |r| r.get(0))
        .map_err(err)?
        .collect::<Result<_, _>>()
        .map_err(err)?;
    Ok(refused(
        order,
        &Facts {
            state,
            cancel,
            passed,
            busy,
        },
        delta,
    ))
}

/// What decides whether an order takes a revision, as a store reads it.
pub(crate) struct Facts {
    pub state: OrderState,
    pub cancel: bool,
    /// The points of no return that succeeded, in plan order.
    pub passed: Vec<String>,
    /// With `settled`, the first task not pending, done or skipped (or
    /// undoing), and its state.
    pub busy: Option<(String, String)>,
}

/// The refusal [`Facts`] make, if any, checked in this order: the order
/// ended, a point of no return (that `delta` would take back) succeeded, a
/// cancel is under way, a task is unsettled.
pub(crate) fn refused(order: &str, facts: &Facts, delta: Option<&Revision>) -> Option<StoreError> {
    let order = order.to_string();
    if facts.state.is_final() {
        return Some(StoreError::ReviseEnded {
            order,
            state: facts.state,
        });
    }
    let taken_back = |task: &&String| {
        delta.is_none_or(|d| matches!(d.change(task), Some(Change::Redo | Change::Undo)))
    };
    if let Some(task) = facts.passed.iter().find(taken_back) {
        return Some(StoreError::RevisePastPointOfNoReturn {
            order,
            task: task.clone(),
        });
    }
    if facts.cancel {
        return Some(StoreError::ReviseCancelling { order });
    }
    if let Some((task, state)) = &facts.busy {
        return Some(StoreError::ReviseUnsettled {
            order,
            task: task.clone(),
            state: state.clone(),
        });
    }
    None
}

/// Stores a revision request: refused (and nothing written) when the order
/// takes none. Returns the version it will make.
pub(crate) fn request(
    db: &Db,
    plan: &Plan,
    document: &serde_json::Value,
    settled: bool,
) -> Result<u32, StoreError> {
    let err = |e| db.err(e);
    let plan_json =
        serde_json::to_string(plan).map_err(|e| StoreError::json(&db.path, "plan", e))?;
    let mut conn = db.writer();
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err)?;
    let order = &plan.order;
    let version = existing_version(db, &tx, order)?;
    if let Some(refused) = refusal(db, &tx, order, version, settled, None)? {
        return Err(refused);
    }
    if let Some(waiting) = open(db, &tx, order)? {
        return Err(StoreError::RevisionPending {
            order: order.clone(),
            version: waiting,
        });
    }
    tx.execute(
        "INSERT INTO revisions (order_id, version, from_version, state, requested_at, plan, document) \
         VALUES (?1, ?2, ?3, 'requested', ?4, ?5, ?6)",
        params![order, version + 1, version, now(), plan_json, document.to_string()],
    )
    .map_err(err)?;
    tx.commit().map_err(err)?;
    Ok(version + 1)
}

/// The version of the order's revision not yet applied or refused, if any.
fn open(db: &Db, conn: &Connection, order: &str) -> Result<Option<u32>, StoreError> {
    conn.query_row(
        "SELECT version FROM revisions WHERE order_id = ?1 AND state IN ('requested', 'undoing')",
        [order],
        |r| r.get(0),
    )
    .optional()
    .map_err(|e| db.err(e))
}

/// Whether a revision waits to be begun: what the runner polls.
pub(crate) fn requested(conn: &Connection, order: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM revisions WHERE order_id = ?1 AND state = 'requested')",
    )?
    .query_row([order], |r| r.get(0))
}

/// The order's revision not yet applied, if any.
pub(crate) fn pending(db: &Db, order: &str) -> Result<Option<PendingRevision>, StoreError> {
    let conn = db.reader();
    let row = conn
        .query_row(
            "SELECT version, from_version, state, plan, document, delta FROM revisions \
             WHERE order_id = ?1 AND state IN ('requested', 'undoing')",
            [order],
            |r| {
                Ok((
                    r.get::<_, u32>(0)?,
                    r.get::<_, u32>(1)?,
                    parse_state::<RevisionState>(r, 2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            },
        )
        .optional()
        .map_err(|e| db.err(e))?;
    let Some((version, from, state, plan, document, delta)) = row else {
        return Ok(None);
    };
    let stored = Stored {
        version,
        from,
        state,
        plan: &plan,
        document: &document,
        delta: delta.as_deref(),
    };
    stored.parse(&db.path, order).map(Some)
}

/// A revision row as a store reads it, its JSON still text.
pub(crate) struct Stored<'a> {
    pub version: u32,
    pub from: u32,
    pub state: RevisionState,
    pub plan: &'a str,
    pub document: &'a str,
    pub delta: Option<&'a str>,
}

impl Stored<'_> {
    pub(crate) fn parse(&self, path: &Path, order: &str) -> Result<PendingRevision, StoreError> {
        let json = |what: &str, e| StoreError::json(path, what, e);
        Ok(PendingRevision {
            order: order.to_string(),
            version: self.version,
            from: self.from,
            state: self.state,
            plan: serde_json::from_str(self.plan).map_err(|e| json("revision's plan", e))?,
            document: serde_json::from_str(self.document)
                .map_err(|e| json("revision's document", e))?,
            delta: self.delta.map(|d| parse_delta(path, d)).transpose()?,
        })
    }
}

/// A revision's stored delta.
pub(crate) fn parse_delta(path: &Path, delta: &str) -> Result<Revision, StoreError> {
    serde_json::from_str(delta).map_err(|e| StoreError::json(path, "revision's delta", e))
}

/// Opens a write transaction for the holder of the order's lock.
fn locked<'c>(
    db: &Db,
    conn: &'c mut Connection,
    lock: &RunnerLock,
) -> Result<Transaction<'c>, StoreError> {
    let err = |e| db.err(e);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err)?;
    if !super::runner::holds(&tx, lock.order(), lock.token()).map_err(err)? {
        return Err(StoreError::LostLock {
            order: lock.order().to_string(),
        });
    }
    Ok(tx)
}

/// Begins the requested revision with its delta: its undos may now run. A
/// revision the order no longer takes (a point of no return succeeded since
/// it was requested, say) is refused instead: recorded as such, with why.
pub(crate) fn begin(db: &Db, lock: &RunnerLock, delta: &Revision) -> Result<(), StoreError> {
    let err = |e| db.err(e);
    let order = lock.order();
    let mut conn = db.writer();
    let tx = locked(db, &mut conn, lock)?;
    if let Some(refused) = refusal(db, &tx, order, delta.from, true, Some(delta))? {
        tx.execute(
            "UPDATE revisions SET state = 'refused', reason = ?1 WHERE order_id = ?2 AND version = ?3",
            params![refused.to_string(), order, delta.to],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        return Err(refused);
    }
    let json = serde_json::to_string(delta).map_err(|e| StoreError::json(&db.path, "delta", e))?;
    tx.execute(
        "UPDATE revisions SET state = 'undoing', delta = ?1 \
         WHERE order_id = ?2 AND version = ?3 AND state = 'requested'",
        params![json, order, delta.to],
    )
    .map_err(err)?;
    tx.commit().map_err(err)
}

/// Switches the order to the begun revision's version, once its undos are
/// done: the version's order, item and task rows, `keep` tasks with their
/// records, every other task pending. A task invoked in any earlier version
/// carries the key of this one (`ORDER/TASK@vN`) when it runs again.
pub(crate) fn switch(db: &Db, lock: &RunnerLock, rev: &PendingRevision) -> Result<(), StoreError> {
    let err = |e| db.err(e);
    let order = lock.order();
    let Some(delta) = &rev.delta else {
        return Err(StoreError::Corrupt {
            path: db.path.clone(),
            detail: format!("revision {} of order {order} has no delta", rev.version),
        });
    };
    let plan = &rev.plan;
    let at = now();
    let mut conn = db.writer();
    let tx = locked(db, &mut conn, lock)?;
    let (created_at, bindings): (String, Option<String>) = tx
        .query_row(
            "SELECT created_at, bindings FROM orders WHERE id = ?1 AND version = ?2",
            params![order, rev.from],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(err)?;
    let plan_json =
        serde_json::to_string(plan).map_err(|e| StoreError::json(&db.path, "plan", e))?;
    tx.execute(
        "INSERT INTO orders (id, version, state, created_at, updated_at, catalog_hash, bindings) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            order,
            rev.version,
            OrderState::InProgress.as_str(),
            created_at,
            at,
            plan.catalog_hash,
            bindings
        ],
    )
    .map_err(err)?;
    let document = rev.document.to_string();
    super::orders::insert_plan(db, &tx, order, rev.version, &plan_json, &document)?;
    super::orders::insert_items(db, &tx, plan, rev.version)?;
    let mut copy = tx
        .prepare(
            "INSERT INTO tasks (order_id, version, task_id, idx, item_id, point_of_no_return, state, \
                 attempts, undo_attempts, undoing, outputs, last_error, started_at, finished_at, \
                 inputs_hash, key_version) \
             SELECT order_id, ?2, task_id, ?3, ?4, ?5, state, attempts, undo_attempts, undoing, outputs, \
                 last_error, started_at, finished_at, ?6, key_version \
             FROM tasks WHERE order_id = ?1 AND version = ?7 AND task_id = ?8",
        )
        .map_err(err)?;
    let mut fresh = tx
        .prepare(
            "INSERT INTO tasks (order_id, version, task_id, idx, item_id, point_of_no_return, state, \
                 inputs_hash, key_version) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, \
                 (SELECT ?2 WHERE EXISTS (SELECT 1 FROM tasks WHERE order_id = ?1 AND task_id = ?3 \
                     AND (attempts > 0 OR key_version IS NOT NULL))))",
        )
        .map_err(err)?;
    for (idx, t) in plan.tasks.iter().enumerate() {
        let hash = task_hash(t);
        let copied = if delta.change(&t.id) == Some(Change::Keep) {
            copy.execute(params![
                order,
                rev.version,
                idx,
                t.item,
                t.point_of_no_return,
                hash,
                rev.from,
                t.id
            ])
            .map_err(err)?
        } else {
            0
        };
        if copied == 0 {
            fresh
                .execute(params![
                    order,
                    rev.version,
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
    drop((copy, fresh));
    tx.execute(
        "UPDATE revisions SET state = 'applied', applied_at = ?1 WHERE order_id = ?2 AND version = ?3",
        params![at, order, rev.version],
    )
    .map_err(err)?;
    tx.commit().map_err(err)
}

/// Every revision of the order, oldest first.
pub(crate) fn history(
    db: &Db,
    conn: &Connection,
    order: &str,
) -> Result<Vec<RevisionStatus>, StoreError> {
    let mut stmt = conn
        .prepare(
            "SELECT version, from_version, state, requested_at, applied_at, reason, delta \
             FROM revisions WHERE order_id = ?1 ORDER BY version",
        )
        .map_err(|e| db.err(e))?;
    let rows = stmt
        .query_map([order], |r| {
            Ok((
                RevisionStatus {
                    version: r.get(0)?,
                    from: r.get(1)?,
                    state: parse_state(r, 2)?,
                    requested_at: r.get(3)?,
                    applied_at: r.get(4)?,
                    reason: r.get(5)?,
                    counts: None,
                },
                r.get::<_, Option<String>>(6)?,
            ))
        })
        .map_err(|e| db.err(e))?;
    let mut out = Vec::new();
    for row in rows {
        let (mut status, delta) = row.map_err(|e| db.err(e))?;
        if let Some(delta) = delta {
            status.counts = Some(parse_delta(&db.path, &delta)?.counts());
        }
        out.push(status);
    }
    Ok(out)
}

/// The key versions of an order version's tasks (`None`: the first key).
pub(crate) fn key_versions(
    db: &Db,
    conn: &Connection,
    order: &str,
    version: u32,
) -> Result<Vec<Option<u32>>, StoreError> {
    let mut stmt = conn
        .prepare("SELECT key_version FROM tasks WHERE order_id = ?1 AND version = ?2 ORDER BY idx")
        .map_err(|e| db.err(e))?;
    let rows = stmt
        .query_map(params![order, version], |r| r.get(0))
        .map_err(|e| db.err(e))?;
    rows.collect::<Result<_, _>>().map_err(|e| db.err(e))
}
