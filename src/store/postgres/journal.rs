//! The PostgreSQL journal: each transaction first passes the fence (renews
//! the lease `WHERE epoch = mine AND token = mine`, which also row-locks the
//! lock row, so a takeover waits for it or it sees the takeover), then
//! applies its events to their rows and appends them to `events`, then
//! announces the order's change. Concurrent events of one store commit
//! together ([`crate::store::group`]), as in SQLite.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use r2d2_postgres::postgres::Transaction;

use super::orders::{apply_completed, existing_version, narrow, notify, task_row, TASK_COLUMNS};
use super::{revisions, runner, work, Pg};
use crate::exec::{Event, Journal, JournalError, OrderState, TaskState, WorkResult};
use crate::store::group::Outcome;
use crate::store::journal::advance;
use crate::store::sqlite::now;
use crate::store::{RunnerLock, StoreError};

pub(crate) struct PgJournal {
    pg: Arc<Pg>,
    target: Arc<Target>,
    handle: u64,
}

fn next_handle() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// What a journal writes to: an order version, under a lock's token and
/// epoch.
struct Target {
    order: String,
    version: u32,
    token: String,
    epoch: i64,
    tasks: usize,
}

impl PgJournal {
    pub fn new(pg: &Arc<Pg>, lock: &RunnerLock) -> Result<PgJournal, StoreError> {
        let order = lock.order();
        let epoch = lock.epoch().ok_or_else(|| StoreError::LostLock {
            order: order.to_string(),
        })?;
        let mut conn = pg.conn()?;
        let version = existing_version(pg, &mut *conn, order)?;
        let tasks: i64 = conn
            .query_one(
                "SELECT count(*) FROM tasks WHERE order_id = $1 AND version = $2",
                &[&order, &version],
            )
            .map_err(|e| pg.failed(e))?
            .get(0);
        Ok(PgJournal {
            pg: Arc::clone(pg),
            target: Arc::new(Target {
                order: order.to_string(),
                version: narrow(pg, version)?,
                token: lock.token().to_string(),
                epoch,
                tasks: narrow(pg, tasks)?,
            }),
            handle: next_handle(),
        })
    }

    fn pending(&self, order: &str, event: &Event) -> Result<Pending, StoreError> {
        if order != self.target.order {
            return Err(StoreError::WrongOrder {
                expected: self.target.order.clone(),
                got: order.to_string(),
            });
        }
        Ok(Pending {
            target: Arc::clone(&self.target),
            event: event.clone(),
            json: serde_json::to_string(event).map_err(|e| self.pg.json("event", e))?,
        })
    }
}

impl Journal for PgJournal {
    fn record(&mut self, order: &str, event: &Event) -> Result<(), JournalError> {
        let pending = self.pending(order, event)?;
        let pg = &self.pg;
        Ok(pg
            .commits
            .submit(self.handle, pending, |batch| write_batch(pg, batch))?)
    }

    fn record_all(&mut self, order: &str, events: &[Event]) -> Result<(), JournalError> {
        let batch = events
            .iter()
            .map(|event| self.pending(order, event))
            .collect::<Result<Vec<_>, StoreError>>()?;
        for outcome in write_batch(&self.pg, &batch) {
            outcome?;
        }
        Ok(())
    }

    fn cancel_requested(&mut self, _order: &str) -> Result<bool, JournalError> {
        let mut conn = self.pg.conn()?;
        Ok(runner::cancel_requested(
            &self.pg,
            &mut *conn,
            &self.target.order,
            self.target.version,
        )?)
    }

    fn revision_requested(&mut self, _order: &str) -> Result<bool, JournalError> {
        let mut conn = self.pg.conn()?;
        Ok(revisions::requested(
            &self.pg,
            &mut *conn,
            &self.target.order,
        )?)
    }

    fn work_results(&mut self, _order: &str) -> Result<Vec<WorkResult>, JournalError> {
        let mut conn = self.pg.conn()?;
        Ok(work::results(
            &self.pg,
            &mut *conn,
            &self.target.order,
            self.target.version,
        )?)
    }
}

/// An event on its way to the database.
pub(crate) struct Pending {
    target: Arc<Target>,
    event: Event,
    json: String,
}

/// Writes a batch in one transaction. Events whose lock was taken over are
/// refused without writing; a database error fails the whole batch (nothing
/// of it is committed).
fn write_batch(pg: &Pg, batch: &[Pending]) -> Vec<Outcome> {
    let written = (|| -> Result<Vec<Outcome>, StoreError> {
        let failed = |e| pg.failed(e);
        let mut conn = pg.conn()?;
        let mut tx = conn.transaction().map_err(failed)?;
        let at = now();
        let mut fenced: Vec<(&Arc<Target>, bool)> = Vec::new();
        let mut outcomes = Vec::with_capacity(batch.len());
        for p in batch {
            let holds = match fenced.iter().find(|(t, _)| Arc::ptr_eq(t, &p.target)) {
                Some(&(_, holds)) => holds,
                None => {
                    let t = &p.target;
                    let holds =
                        runner::fence(pg, &mut tx, &t.order, &t.token, t.epoch).map_err(failed)?;
                    fenced.push((&p.target, holds));
                    holds
                }
            };
            outcomes.push(if holds {
                write_event(pg, &mut tx, p, &at)?
            } else {
                Err(StoreError::LostLock {
                    order: p.target.order.clone(),
                })
            });
        }
        for (t, holds) in fenced {
            if holds {
                tx.execute(
                    "UPDATE orders SET updated_at = $1 WHERE id = $2 AND version = $3",
                    &[&at, &t.order, &i64::from(t.version)],
                )
                .map_err(failed)?;
                notify(&mut tx, &t.order).map_err(failed)?;
            }
        }
        tx.commit().map_err(failed)?;
        Ok(outcomes)
    })();
    written.unwrap_or_else(|e| {
        let detail = e.to_string();
        batch
            .iter()
            .map(|_| {
                Err(StoreError::Commit {
                    detail: detail.clone(),
                })
            })
            .collect()
    })
}

/// Applies one event to its row and appends it to the journal. The outer
/// error fails the batch; the inner one refuses this event alone, before it
/// writes anything.
fn write_event(
    pg: &Pg,
    tx: &mut Transaction<'_>,
    p: &Pending,
    at: &str,
) -> Result<Outcome, StoreError> {
    let failed = |e| pg.failed(e);
    let t = &p.target;
    let version = i64::from(t.version);
    match (&p.event, p.event.task()) {
        (Event::Order { state, reason }, _) => {
            tx.execute(
                "UPDATE orders SET state = $1, reason = $2, updated_at = $3 \
                 WHERE id = $4 AND version = $5",
                &[&state.as_str(), reason, &at, &t.order, &version],
            )
            .map_err(failed)?;
            if *state == OrderState::Completed {
                apply_completed(pg, tx, &t.order, t.version, at)?;
            }
        }
        (event, Some(idx)) => {
            let bad = || {
                Ok(Err(StoreError::BadEvent {
                    order: t.order.clone(),
                    task: idx,
                    tasks: t.tasks,
                }))
            };
            if idx >= t.tasks {
                return bad();
            }
            let idx64 = i64::try_from(idx).unwrap_or(i64::MAX);
            let Some(found) = tx
                .query_opt(
                    &format!(
                        "SELECT {TASK_COLUMNS} FROM tasks WHERE order_id = $1 AND version = $2 AND idx = $3"
                    ),
                    &[&t.order, &version, &idx64],
                )
                .map_err(failed)?
            else {
                return bad();
            };
            let mut row = task_row(pg, &found)?;
            let after = advance(&mut row, event, at);
            let r = &row.record;
            let json = |v: serde_json::Result<String>| v.map_err(|e| pg.json("task record", e));
            let outputs = json(serde_json::to_string(&r.outputs))?;
            let process = r
                .process
                .as_ref()
                .map(|p| json(serde_json::to_string(p)))
                .transpose()?;
            tx.execute(
                "UPDATE tasks SET state = $1, attempts = $2, undo_attempts = $3, undoing = $4, outputs = $5, \
                 last_error = $6, started_at = $7, finished_at = $8, process = $12, next_attempt_at = $13, \
                 not_before = $14 \
                 WHERE order_id = $9 AND version = $10 AND idx = $11",
                &[
                    &after.as_str(),
                    &i64::from(r.attempts),
                    &i64::from(r.undo_attempts),
                    &r.undoing,
                    &outputs,
                    &r.error,
                    &row.started_at,
                    &row.finished_at,
                    &t.order,
                    &version,
                    &idx64,
                    &process,
                    &row.next_attempt_at,
                    &r.not_before,
                ],
            )
            .map_err(failed)?;
            match event {
                Event::WorkOpened { .. } => {
                    work::opened(tx, &t.order, version, event, at).map_err(failed)?
                }
                Event::Task { .. } if !matches!(after, TaskState::Pending | TaskState::Running) => {
                    work::task_ended(tx, &t.order, version, idx64, at).map_err(failed)?
                }
                _ => {}
            }
        }
        (_, None) => {}
    }
    tx.execute(
        "INSERT INTO events (order_id, seq, version, at, event) \
         VALUES ($1, (SELECT coalesce(max(seq), 0) + 1 FROM events WHERE order_id = $1), $2, $3, $4)",
        &[&t.order, &version, &at, &p.json],
    )
    .map_err(failed)?;
    Ok(Ok(()))
}
