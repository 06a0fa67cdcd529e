//! Runner locks and cancel requests in the SQLite store. Both are decided
//! inside one `BEGIN IMMEDIATE` transaction, so that the check and the write
//! cannot interleave with another process doing the same.

use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::lock::{self, Lease};
use super::orders::{existing_version, latest_version, parse_state};
use super::sqlite::{now, Db};
use super::{CancelOutcome, Holder, RunnerInfo, RunnerLock, StoreError};
use crate::exec::{OrderState, TaskState};

pub(crate) fn acquire(db: &Arc<Db>, order: &str) -> Result<RunnerLock, StoreError> {
    let err = |e| db.err(e);
    let pid = std::process::id();
    let token = lock::new_token(pid, &db.host);
    let at = now();
    {
        let mut conn = db.writer();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        if latest_version(&tx, order).map_err(err)?.is_none() {
            return Err(StoreError::NoSuchOrder {
                order: order.to_string(),
            });
        }
        if let Some(current) = holder(db, &tx, order)? {
            if is_live(db, &current) {
                return Err(StoreError::Locked {
                    order: order.to_string(),
                    holder: Holder {
                        heartbeat_age_s: lock::heartbeat_age(&current, chrono::Utc::now())
                            .as_secs(),
                        pid: current.pid,
                        host: current.host,
                    },
                });
            }
        }
        tx.prepare_cached(
            "INSERT INTO runners (order_id, token, pid, host, acquired_at, heartbeat_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?5) \
             ON CONFLICT (order_id) DO UPDATE SET token = excluded.token, pid = excluded.pid, \
                 host = excluded.host, acquired_at = excluded.acquired_at, \
                 heartbeat_at = excluded.heartbeat_at",
        )
        .and_then(|mut take| take.execute(params![order, token, pid, db.host, at]))
        .map_err(err)?;
        tx.commit().map_err(err)?;
    }
    let beat = {
        let (db, order, token) = (Arc::clone(db), order.to_string(), token.clone());
        // A failed write is retried at the next beat; only a lost lock ends it.
        move || refresh(&db.writer(), &order, &token).unwrap_or(true)
    };
    let release = {
        let (db, order, token) = (Arc::clone(db), order.to_string(), token.clone());
        move || {
            // Best effort: a row left behind is recovered as a dead process's lock.
            let _ = db.writer().execute(
                "DELETE FROM runners WHERE order_id = ?1 AND token = ?2",
                params![order, token],
            );
        }
    };
    RunnerLock::new(Lease {
        order: order.to_string(),
        token,
        epoch: None,
        holder: RunnerInfo {
            pid,
            host: db.host.clone(),
            acquired_at: at.clone(),
            heartbeat_at: at,
        },
        beat: Box::new(beat),
        every: db.options.heartbeat_every,
        release: Box::new(release),
    })
    .map_err(|source| StoreError::Io {
        path: db.path.clone(),
        source,
    })
}

/// Refreshes a lock's heartbeat; `Ok(false)` when the lock is no longer ours.
pub(crate) fn refresh(conn: &Connection, order: &str, token: &str) -> rusqlite::Result<bool> {
    let changed = conn
        .prepare_cached("UPDATE runners SET heartbeat_at = ?1 WHERE order_id = ?2 AND token = ?3")?
        .execute(params![now(), order, token])?;
    Ok(changed == 1)
}

/// Whether the lock still carries this token. Inside a write transaction the
/// answer holds until it commits: taking a lock over needs the write lock too.
pub(crate) fn holds(conn: &Connection, order: &str, token: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM runners WHERE order_id = ?1 AND token = ?2)")?
        .query_row(params![order, token], |r| r.get(0))
}

/// The lock row of an order, if any.
pub(crate) fn holder(
    db: &Db,
    conn: &Connection,
    order: &str,
) -> Result<Option<RunnerInfo>, StoreError> {
    conn.prepare_cached(
        "SELECT pid, host, acquired_at, heartbeat_at FROM runners WHERE order_id = ?1",
    )
    .and_then(|mut select| {
        select
            .query_row([order], |r| {
                Ok(RunnerInfo {
                    pid: r.get(0)?,
                    host: r.get(1)?,
                    acquired_at: r.get(2)?,
                    heartbeat_at: r.get(3)?,
                })
            })
            .optional()
    })
    .map_err(|e| db.err(e))
}

pub(crate) fn is_live(db: &Db, holder: &RunnerInfo) -> bool {
    lock::is_live(holder, &db.host, chrono::Utc::now(), db.options.stale_after)
}

pub(crate) fn request_cancel(db: &Db, order: &str) -> Result<CancelOutcome, StoreError> {
    let err = |e| db.err(e);
    let mut conn = db.writer();
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err)?;
    let version = existing_version(db, &tx, order)?;
    let (state, already_requested): (OrderState, bool) = tx
        .query_row(
            "SELECT state, cancel_requested_at IS NOT NULL FROM orders WHERE id = ?1 AND version = ?2",
            params![order, version],
            |r| Ok((parse_state(r, 0)?, r.get(1)?)),
        )
        .map_err(err)?;
    if state.is_final() {
        return Err(StoreError::AlreadyFinal {
            order: order.to_string(),
            state,
        });
    }
    let runner = holder(db, &tx, order)?.filter(|h| is_live(db, h));
    let started = point_of_no_return_started(&tx, order, version).map_err(err)?;
    cancellable(order, started, runner.is_some())?;
    if !already_requested {
        tx.execute(
            "UPDATE orders SET cancel_requested_at = ?1 WHERE id = ?2 AND version = ?3",
            params![now(), order, version],
        )
        .map_err(err)?;
    }
    tx.commit().map_err(err)?;
    Ok(CancelOutcome {
        order: order.to_string(),
        already_requested,
        runner,
    })
}

/// Refuses a cancel once a point-of-no-return task has `started` (the first
/// that is done, else the first running, with its state): done, or
/// interrupted with no live runner to settle it (any store's rule).
pub(crate) fn cancellable(
    order: &str,
    started: Option<(String, TaskState)>,
    live_runner: bool,
) -> Result<(), StoreError> {
    let Some((task, task_state)) = started else {
        return Ok(());
    };
    let order = order.to_string();
    match task_state {
        TaskState::Done => Err(StoreError::PastPointOfNoReturn { order, task }),
        // Interrupted: it may have taken effect, and no runner will tell.
        _ if !live_runner => Err(StoreError::OutcomeUnknown { order, task }),
        // Running now: the runner settles it, and the request is ignored
        // once the task is done (see `cancel_requested`).
        _ => Ok(()),
    }
}

/// The first point-of-no-return task that is done, else the first that is
/// running, with its state.
fn point_of_no_return_started(
    conn: &Connection,
    order: &str,
    version: u32,
) -> rusqlite::Result<Option<(String, TaskState)>> {
    conn.query_row(
        "SELECT task_id, state FROM tasks \
         WHERE order_id = ?1 AND version = ?2 AND point_of_no_return = 1 AND state IN ('done', 'running') \
         ORDER BY state = 'done' DESC, idx LIMIT 1",
        params![order, version],
        |r| Ok((r.get(0)?, parse_state(r, 1)?)),
    )
    .optional()
}

/// Whether a runner should stop and compensate: a cancel was requested and
/// no point-of-no-return task is done (one may have finished after the
/// request was accepted, while it was running).
pub(crate) fn cancel_requested(
    conn: &Connection,
    order: &str,
    version: u32,
) -> rusqlite::Result<bool> {
    let requested: bool = conn
        .prepare_cached(
            "SELECT cancel_requested_at IS NOT NULL FROM orders INDEXED BY orders_cancel_requested \
             WHERE id = ?1 AND version = ?2",
        )?
        .query_row(params![order, version], |r| r.get(0))?;
    if !requested {
        return Ok(false);
    }
    let passed: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM tasks \
             WHERE order_id = ?1 AND version = ?2 AND point_of_no_return = 1 AND state = 'done')",
        )?
        .query_row(params![order, version], |r| r.get(0))?;
    Ok(!passed)
}
