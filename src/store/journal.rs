//! The SQLite journal: every event updates its task's (or order's) row and
//! is appended to the `events` table in one transaction, committed before
//! [`Journal::record`] returns.
//!
//! Journal handles of one store share one write connection and commit
//! concurrent events together ([`super::group`]): each `record` still returns
//! only once the transaction holding its event has committed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rusqlite::{params, Transaction, TransactionBehavior};

use super::group::Outcome;
use super::orders::{event_json, latest_version, task_columns, task_row_at, TaskRow};
use super::rows::RowCache;
use super::sqlite::{now, Db};
use super::{instances, runner, work};
use super::{RunnerLock, StoreError};
use crate::exec::{Event, Journal, JournalError, OrderState, TaskState, WorkResult};

/// The journal of one order for the holder of its runner lock; one handle
/// per recording thread.
pub(crate) struct SqliteJournal {
    db: Arc<Db>,
    target: Arc<Target>,
    /// Tells this handle's caller apart for group commit.
    handle: u64,
}

fn next_handle() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// What a journal writes to: an order version, under a lock token.
struct Target {
    order: String,
    version: u32,
    token: String,
    tasks: usize,
    /// The rows this lock's journals last wrote.
    rows: Arc<RowCache>,
}

impl SqliteJournal {
    pub fn new(db: &Arc<Db>, lock: &RunnerLock) -> Result<SqliteJournal, StoreError> {
        let order = lock.order();
        let conn = db.reader();
        let version = latest_version(&conn, order)
            .map_err(|e| db.err(e))?
            .ok_or_else(|| StoreError::NoSuchOrder {
                order: order.to_string(),
            })?;
        let tasks = conn
            .query_row(
                "SELECT count(*) FROM tasks WHERE order_id = ?1 AND version = ?2",
                params![order, version],
                |r| r.get(0),
            )
            .map_err(|e| db.err(e))?;
        Ok(SqliteJournal {
            db: Arc::clone(db),
            target: Arc::new(Target {
                order: order.to_string(),
                version,
                token: lock.token().to_string(),
                tasks,
                rows: db.row_caches.get(lock.token(), version),
            }),
            handle: next_handle(),
        })
    }

    /// An event made ready to write: its JSON, and for the order's
    /// completion what the installed base's changes are made from, read
    /// and parsed here rather than in the transaction, which other orders'
    /// batches wait for (the version's plan does not change).
    fn pending(&self, event: &Event) -> Result<Pending, StoreError> {
        let completed = match event {
            Event::Order {
                state: OrderState::Completed,
                ..
            } => {
                let conn = self.db.reader();
                let t = &self.target;
                let made = instances::Completed::read(&conn, &t.order, t.version);
                Some(Box::new(made.map_err(|e| self.db.err(e))?))
            }
            _ => None,
        };
        Ok(Pending {
            target: Arc::clone(&self.target),
            event: event.clone(),
            json: event_json(&self.db, event)?,
            completed,
        })
    }
}

impl Journal for SqliteJournal {
    fn record(&mut self, order: &str, event: &Event) -> Result<(), JournalError> {
        if order != self.target.order {
            return Err(StoreError::WrongOrder {
                expected: self.target.order.clone(),
                got: order.to_string(),
            }
            .into());
        }
        let pending = self.pending(event)?;
        let db = &self.db;
        Ok(db
            .commits
            .submit(self.handle, pending, |batch| write_batch(db, batch))?)
    }

    /// One transaction for the whole batch, committed before returning;
    /// other orders' batches handed in meanwhile share it (one write
    /// connection: a transaction each would queue for it one by one).
    fn record_all(&mut self, order: &str, events: &[Event]) -> Result<(), JournalError> {
        if order != self.target.order {
            return Err(StoreError::WrongOrder {
                expected: self.target.order.clone(),
                got: order.to_string(),
            }
            .into());
        }
        let batch = events
            .iter()
            .map(|event| self.pending(event))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let db = &self.db;
        for outcome in db
            .commits
            .submit_all(self.handle, batch, |batch| write_batch(db, batch))
        {
            outcome?;
        }
        Ok(())
    }

    fn cancel_requested(&mut self, _order: &str) -> Result<bool, JournalError> {
        let conn = self.db.reader();
        runner::cancel_requested(&conn, &self.target.order, self.target.version)
            .map_err(|e| self.db.err(e).into())
    }

    fn revision_requested(&mut self, _order: &str) -> Result<bool, JournalError> {
        let conn = self.db.reader();
        super::revisions::requested(&conn, &self.target.order).map_err(|e| self.db.err(e).into())
    }

    fn work_results(&mut self, _order: &str) -> Result<Vec<WorkResult>, JournalError> {
        let conn = self.db.reader();
        work::results(&conn, &self.target.order, self.target.version)
            .map_err(|e| self.db.err(e).into())
    }

    /// Another handle on the same order and lock: its polls read through
    /// the store's read connection, beside this handle's commits.
    fn poller(&self) -> Option<Box<dyn Journal>> {
        Some(Box::new(SqliteJournal {
            db: Arc::clone(&self.db),
            target: Arc::clone(&self.target),
            handle: next_handle(),
        }))
    }
}

/// An event on its way to the database.
pub(crate) struct Pending {
    target: Arc<Target>,
    event: Event,
    json: String,
    /// For the order's completion (and only for it): its plan and
    /// document, parsed.
    completed: Option<Box<instances::Completed>>,
}

/// Writes a batch in one transaction. An event refused on its own (a lost
/// lock, an unknown task) is refused before it writes anything and does not
/// affect the others; an SQLite error fails the whole batch.
fn write_batch(db: &Db, batch: &[Pending]) -> Vec<Outcome> {
    let mut conn = db.writer();
    let at = now();
    let written = (|| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut fenced: Option<(&Arc<Target>, bool)> = None;
        let data_version: i64 = tx.query_row("PRAGMA data_version", [], |r| r.get(0))?;
        let mut written = Written {
            seqs: Seqs::default(),
            data_version,
            rows: HashMap::new(),
            scanned: Vec::new(),
        };
        for p in batch {
            let holds = match fenced {
                Some((target, holds)) if Arc::ptr_eq(target, &p.target) => holds,
                _ => {
                    let holds = runner::holds(&tx, &p.target.order, &p.target.token)?;
                    fenced = Some((&p.target, holds));
                    holds
                }
            };
            let outcome = if holds {
                write_event(&tx, p, &at, &mut written)?
            } else {
                Err(StoreError::LostLock {
                    order: p.target.order.clone(),
                })
            };
            outcomes.push(outcome);
        }
        tx.commit()?;
        for ((_, task), (cache, row)) in written.rows {
            cache.put(data_version, task, row);
        }
        Ok(outcomes)
    })();
    written.unwrap_or_else(|e: rusqlite::Error| {
        // Rows taken out for the failed transaction are not put back.
        for p in batch {
            p.target.rows.clear();
        }
        let detail = db.err(e).to_string();
        batch
            .iter()
            .map(|_| {
                let detail = detail.clone();
                Err(StoreError::Commit { detail })
            })
            .collect()
    })
}

/// Applies one event to its row and appends it to the journal. The outer
/// error is SQLite's (it fails the batch); the inner one refuses this event
/// alone, before anything is written.
fn write_event(
    tx: &Transaction<'_>,
    p: &Pending,
    at: &str,
    written: &mut Written,
) -> rusqlite::Result<Outcome> {
    let t = &p.target;
    match (&p.event, p.event.task()) {
        (Event::Order { state, reason }, _) => {
            tx.prepare_cached(
                "UPDATE orders SET state = ?1, reason = ?2, updated_at = ?3 \
                 WHERE id = ?4 AND version = ?5",
            )?
            .execute(params![state.as_str(), reason, at, t.order, t.version])?;
            if let Some(made) = &p.completed {
                instances::apply_completed(tx, &t.order, t.version, at, made)?;
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
            // The row as this transaction left it, else as the last one
            // wrote it, else read: with every other row of the order version
            // the cache lacks, in one scan (a run touches them all, and one
            // scan costs less than a lookup per task).
            let key = (Arc::as_ptr(&t.rows) as usize, idx);
            let mut row = match written.rows.remove(&key) {
                Some((_, row)) => Some(row),
                None => t.rows.take(written.data_version, idx),
            };
            if row.is_none() && !written.scanned.contains(&key.0) {
                written.scanned.push(key.0);
                let mut stmt = tx.prepare_cached(concat!(
                    "SELECT idx, ",
                    task_columns!(),
                    " FROM tasks WHERE order_id = ?1 AND version = ?2"
                ))?;
                let mut rows = stmt.query(params![t.order, t.version])?;
                while let Some(r) = rows.next()? {
                    let task: usize = r.get(0)?;
                    let read = task_row_at(r, 1)?;
                    written
                        .rows
                        .entry((key.0, task))
                        .or_insert_with(|| (Arc::clone(&t.rows), read));
                }
                row = written.rows.remove(&key).map(|(_, row)| row);
            }
            let Some(mut row) = row else {
                return bad();
            };
            let after = advance(&mut row, event, at);
            let json = |text: serde_json::Result<String>| {
                text.map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))
            };
            let r = &row.record;
            let outputs = json(serde_json::to_string(&r.outputs))?;
            let process = r
                .process
                .as_ref()
                .map(|p| json(serde_json::to_string(p)))
                .transpose()?;
            tx.prepare_cached(
                "UPDATE tasks SET state = ?1, attempts = ?2, undo_attempts = ?3, undoing = ?4, outputs = ?5, \
                 last_error = ?6, started_at = ?7, finished_at = ?8, process = ?12, next_attempt_at = ?13, \
                 not_before = ?14 \
                 WHERE order_id = ?9 AND version = ?10 AND idx = ?11",
            )?
            .execute(params![
                after.as_str(),
                r.attempts,
                r.undo_attempts,
                r.undoing,
                outputs,
                r.error,
                row.started_at,
                row.finished_at,
                t.order,
                t.version,
                idx,
                process,
                row.next_attempt_at,
                r.not_before
            ])?;
            written.rows.insert(key, (Arc::clone(&t.rows), row));
            match event {
                Event::WorkOpened { .. } => work::opened(tx, &t.order, t.version, event, at)?,
                Event::Task { .. } if !matches!(after, TaskState::Pending | TaskState::Running) => {
                    work::task_ended(tx, &t.order, t.version, idx, at)?
                }
                _ => {}
            }
        }
        (_, None) => {}
    }
    let seq = written.seqs.next(tx, &t.order)?;
    tx.prepare_cached(
        "INSERT INTO events (order_id, seq, version, at, event) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![t.order, seq, t.version, at, p.json])?;
    Ok(Ok(()))
}

/// What a transaction has written so far.
struct Written {
    seqs: Seqs,
    /// The writer connection's, read in the transaction.
    data_version: i64,
    /// The task rows it wrote (or read), by cache and task, for the cache
    /// once it commits.
    rows: HashMap<(usize, usize), (Arc<RowCache>, TaskRow)>,
    /// The caches whose order version it read whole.
    scanned: Vec<usize>,
}

/// The next journal sequence number of each order a transaction appends
/// to: read once per order and transaction (the transaction holds SQLite's
/// write lock, so no other writer appends meanwhile), then counted here
/// rather than looked up again for every event.
#[derive(Default)]
struct Seqs(Vec<(String, i64)>);

impl Seqs {
    fn next(&mut self, tx: &Transaction<'_>, order: &str) -> rusqlite::Result<i64> {
        if let Some((_, seq)) = self.0.iter_mut().find(|(o, _)| o == order) {
            *seq += 1;
            return Ok(*seq);
        }
        let seq: i64 = tx
            .prepare_cached("SELECT coalesce(max(seq), 0) + 1 FROM events WHERE order_id = ?1")?
            .query_row([order], |r| r.get(0))?;
        self.0.push((order.to_string(), seq));
        Ok(seq)
    }
}

/// Folds one event into a task's row, as every store does: the record
/// follows the executor's own fold; the timings are the store's. Returns the
/// task's new state.
pub(crate) fn advance(row: &mut TaskRow, event: &Event, at: &str) -> TaskState {
    let before = row.record.state;
    row.record.apply(event);
    if matches!(event, Event::Started { undo: false, .. }) && row.started_at.is_none() {
        row.started_at = Some(at.to_string());
    }
    row.next_attempt_at = match event {
        Event::AttemptFailed {
            retry_in_ms: Some(ms),
            ..
        } => Some(later(at, *ms)),
        _ => None,
    };
    let after = row.record.state;
    if matches!(after, TaskState::Pending | TaskState::Running) {
        row.finished_at = None;
    } else if after != before {
        row.finished_at = Some(at.to_string());
    }
    after
}

/// `at` (RFC 3339, as [`now`] writes it) plus `ms` milliseconds, written the
/// same way; `at` itself if that is past what a timestamp can hold.
fn later(at: &str, ms: u64) -> String {
    let next = chrono::DateTime::parse_from_rfc3339(at).ok().and_then(|t| {
        let delay = chrono::Duration::try_milliseconds(i64::try_from(ms).ok()?)?;
        t.with_timezone(&chrono::Utc).checked_add_signed(delay)
    });
    next.map_or_else(
        || at.to_string(),
        |t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    )
}
