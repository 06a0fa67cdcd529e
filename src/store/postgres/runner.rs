//! Runner leases and cancel requests in the PostgreSQL store.
//!
//! An order's `runners` row is created with the order and never deleted: it
//! keeps the fencing epoch, which every acquisition (a run, a resume, a
//! claim by `ordo serve`, a takeover) raises by one. The holder renews
//! `lease_until` (the database's clock) with its heartbeat and with every
//! journal transaction; once it passes, any process may take the order.

use std::sync::Arc;

use r2d2_postgres::postgres::{GenericClient, Row};

use super::orders::{existing_version, notify, parse};
use super::Pg;
use crate::exec::{OrderState, TaskState};
use crate::store::lock::{self, Lease};
use crate::store::runner::cancellable;
use crate::store::sqlite::now;
use crate::store::{CancelOutcome, Holder, RunnerInfo, RunnerLock, StoreError};

/// The holder columns [`holder_row`] reads, and whether the lease runs.
const HOLDER: &str = "pid, host, acquired_at, heartbeat_at, coalesce(lease_until > now(), false)";

/// The lock's holder, and whether its lease is still running.
pub(crate) fn holder(
    pg: &Pg,
    conn: &mut impl GenericClient,
    order: &str,
) -> Result<Option<(RunnerInfo, bool)>, StoreError> {
    conn.query_opt(
        &format!("SELECT {HOLDER} FROM runners WHERE order_id = $1 AND token IS NOT NULL"),
        &[&order],
    )
    .map_err(|e| pg.failed(e))?
    .map(|r| holder_row(pg, &r))
    .transpose()
}

fn holder_row(pg: &Pg, r: &Row) -> Result<(RunnerInfo, bool), StoreError> {
    let pid: i64 = r.get::<_, Option<i64>>(0).unwrap_or_default();
    Ok((
        RunnerInfo {
            pid: super::orders::narrow(pg, pid)?,
            host: r.get::<_, Option<String>>(1).unwrap_or_default(),
            acquired_at: r.get::<_, Option<String>>(2).unwrap_or_default(),
            heartbeat_at: r.get::<_, Option<String>>(3).unwrap_or_default(),
        },
        r.get(4),
    ))
}

/// A holder on this machine must also still exist: a run killed here is
/// taken over at once, as in SQLite, without waiting for its lease.
pub(crate) fn pid_ok(pg: &Pg, holder: &RunnerInfo) -> bool {
    holder.host != pg.host || lock::pid_alive(holder.pid)
}

/// The lease length, in seconds, as `make_interval` takes it.
pub(crate) fn lease_secs(pg: &Pg) -> f64 {
    pg.options.stale_after.as_secs_f64()
}

/// Takes the lock row of `order`, already locked `FOR UPDATE` by `tx`, with
/// the next epoch.
fn take(
    pg: &Pg,
    tx: &mut impl GenericClient,
    order: &str,
    token: &str,
    at: &str,
) -> Result<i64, StoreError> {
    let pid = i64::from(std::process::id());
    let row = tx
        .query_one(
            "UPDATE runners SET epoch = epoch + 1, token = $2, pid = $3, host = $4, \
                 acquired_at = $5, heartbeat_at = $5, \
                 lease_until = now() + make_interval(secs => $6) \
             WHERE order_id = $1 RETURNING epoch",
            &[&order, &token, &pid, &pg.host, &at, &lease_secs(pg)],
        )
        .map_err(|e| pg.failed(e))?;
    Ok(row.get(0))
}

pub(crate) fn acquire(pg: &Arc<Pg>, order: &str) -> Result<RunnerLock, StoreError> {
    let failed = |e| pg.failed(e);
    let token = lock::new_token(std::process::id(), &pg.host);
    let at = now();
    let mut conn = pg.conn()?;
    let mut tx = conn.transaction().map_err(failed)?;
    existing_version(pg, &mut tx, order)?;
    tx.execute(
        "INSERT INTO runners (order_id) VALUES ($1) ON CONFLICT (order_id) DO NOTHING",
        &[&order],
    )
    .map_err(failed)?;
    // The row is locked whether or not it is held, so that two processes
    // taking a free lock take turns, and the second sees the first's hold.
    let row = tx
        .query_one(
            &format!(
                "SELECT {HOLDER}, token IS NOT NULL FROM runners WHERE order_id = $1 FOR UPDATE"
            ),
            &[&order],
        )
        .map_err(failed)?;
    if row.get::<_, bool>(5) {
        let (current, lease_runs) = holder_row(pg, &row)?;
        if lease_runs && pid_ok(pg, &current) {
            return Err(StoreError::Locked {
                order: order.to_string(),
                holder: Holder {
                    heartbeat_age_s: lock::heartbeat_age(&current, chrono::Utc::now()).as_secs(),
                    pid: current.pid,
                    host: current.host,
                },
            });
        }
    }
    let epoch = take(pg, &mut tx, order, &token, &at)?;
    tx.commit().map_err(failed)?;
    drop(conn);
    lease(pg, order.to_string(), token, epoch, at)
}

/// The [`RunnerLock`] for a lock row just taken: its heartbeat renews the
/// lease; dropping it frees the row (keeping the epoch) and announces it.
fn lease(
    pg: &Arc<Pg>,
    order: String,
    token: String,
    epoch: i64,
    at: String,
) -> Result<RunnerLock, StoreError> {
    let beat = {
        let (pg, order, token) = (Arc::clone(pg), order.clone(), token.clone());
        // A failed write is retried at the next beat; only a lost lock ends it.
        move || renew(&pg, &order, &token, epoch).unwrap_or(true)
    };
    let release = {
        let (pg, order, token) = (Arc::clone(pg), order.clone(), token.clone());
        move || {
            // Best effort: a row left held is taken over when its lease ends.
            let _ = release(&pg, &order, &token, epoch);
        }
    };
    RunnerLock::new(Lease {
        order,
        token,
        epoch: Some(epoch),
        holder: RunnerInfo {
            pid: std::process::id(),
            host: pg.host.clone(),
            acquired_at: at.clone(),
            heartbeat_at: at,
        },
        beat: Box::new(beat),
        every: pg.options.heartbeat_every,
        release: Box::new(release),
    })
    .map_err(|e| pg.failed(e))
}

/// Renews the lease if the row still carries this epoch and token: the
/// fencing check. `Ok(false)` once the lock was taken over.
pub(crate) fn fence(
    pg: &Pg,
    conn: &mut impl GenericClient,
    order: &str,
    token: &str,
    epoch: i64,
) -> Result<bool, r2d2_postgres::postgres::Error> {
    let changed = conn.execute(
        "UPDATE runners SET heartbeat_at = $1, lease_until = now() + make_interval(secs => $2) \
         WHERE order_id = $3 AND epoch = $4 AND token = $5",
        &[&now(), &lease_secs(pg), &order, &epoch, &token],
    )?;
    Ok(changed == 1)
}

fn renew(pg: &Pg, order: &str, token: &str, epoch: i64) -> Result<bool, StoreError> {
    let mut conn = pg.conn()?;
    fence(pg, &mut *conn, order, token, epoch).map_err(|e| pg.failed(e))
}

fn release(pg: &Pg, order: &str, token: &str, epoch: i64) -> Result<(), StoreError> {
    let failed = |e| pg.failed(e);
    let mut conn = pg.conn()?;
    let mut tx = conn.transaction().map_err(failed)?;
    let freed = tx
        .execute(
            "UPDATE runners SET token = NULL, lease_until = NULL \
             WHERE order_id = $1 AND epoch = $2 AND token = $3",
            &[&order, &epoch, &token],
        )
        .map_err(failed)?;
    if freed == 1 {
        notify(&mut tx, order).map_err(failed)?;
    }
    tx.commit().map_err(failed)
}

/// See [`super::PgStore::claim`].
pub(crate) fn claim(pg: &Arc<Pg>, limit: usize) -> Result<Vec<RunnerLock>, StoreError> {
    let failed = |e| pg.failed(e);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let at = now();
    let mut conn = pg.conn()?;
    let mut tx = conn.transaction().map_err(failed)?;
    let found = tx
        .query(
            "SELECT r.order_id FROM runners r JOIN orders o ON o.id = r.order_id \
             WHERE o.version = (SELECT max(version) FROM orders p WHERE p.id = o.id) \
               AND o.state IN ('acknowledged', 'in_progress') \
               AND (r.token IS NULL OR r.lease_until IS NULL OR r.lease_until < now()) \
             ORDER BY o.updated_at, r.order_id \
             LIMIT $1 \
             FOR UPDATE OF r SKIP LOCKED",
            &[&limit],
        )
        .map_err(failed)?;
    let mut taken = Vec::with_capacity(found.len());
    for row in found {
        let order: String = row.get(0);
        let token = lock::new_token(std::process::id(), &pg.host);
        let epoch = take(pg, &mut tx, &order, &token, &at)?;
        taken.push((order, token, epoch));
    }
    tx.commit().map_err(failed)?;
    drop(conn);
    taken
        .into_iter()
        .map(|(order, token, epoch)| lease(pg, order, token, epoch, at.clone()))
        .collect()
}

pub(crate) fn request_cancel(pg: &Pg, order: &str) -> Result<CancelOutcome, StoreError> {
    let failed = |e| pg.failed(e);
    let mut conn = pg.conn()?;
    let mut tx = conn.transaction().map_err(failed)?;
    let version = existing_version(pg, &mut tx, order)?;
    // Locking the order row orders this with the journal's transactions,
    // which update it too.
    let row = tx
        .query_one(
            "SELECT state, cancel_requested_at IS NOT NULL FROM orders \
             WHERE id = $1 AND version = $2 FOR UPDATE",
            &[&order, &version],
        )
        .map_err(failed)?;
    let state: OrderState = parse(pg, row.get::<_, &str>(0))?;
    let already_requested: bool = row.get(1);
    if state.is_final() {
        return Err(StoreError::AlreadyFinal {
            order: order.to_string(),
            state,
        });
    }
    let runner = holder(pg, &mut tx, order)?
        .filter(|(h, live)| *live && pid_ok(pg, h))
        .map(|(h, _)| h);
    let started = tx
        .query_opt(
            "SELECT task_id, state FROM tasks \
             WHERE order_id = $1 AND version = $2 AND point_of_no_return AND state IN ('done', 'running') \
             ORDER BY state = 'done' DESC, idx LIMIT 1",
            &[&order, &version],
        )
        .map_err(failed)?
        .map(|r| Ok::<_, StoreError>((r.get(0), parse::<TaskState>(pg, r.get::<_, &str>(1))?)))
        .transpose()?;
    cancellable(order, started, runner.is_some())?;
    if !already_requested {
        tx.execute(
            "UPDATE orders SET cancel_requested_at = $1 WHERE id = $2 AND version = $3",
            &[&now(), &order, &version],
        )
        .map_err(failed)?;
        notify(&mut tx, order).map_err(failed)?;
    }
    tx.commit().map_err(failed)?;
    Ok(CancelOutcome {
        order: order.to_string(),
        already_requested,
        runner,
    })
}

/// Whether a runner should stop and compensate (the rule of SQLite's
/// `cancel_requested`).
pub(crate) fn cancel_requested(
    pg: &Pg,
    conn: &mut impl GenericClient,
    order: &str,
    version: u32,
) -> Result<bool, StoreError> {
    let row = conn
        .query_one(
            "SELECT cancel_requested_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tasks t \
                 WHERE t.order_id = o.id AND t.version = o.version AND t.point_of_no_return \
                   AND t.state = 'done') \
             FROM orders o WHERE o.id = $1 AND o.version = $2",
            &[&order, &i64::from(version)],
        )
        .map_err(|e| pg.failed(e))?;
    Ok(row.get(0))
}
