//! The PostgreSQL implementation of [`Store`] (`--store postgres://…`): the
//! same orders, tasks, events, bindings, instances, cancel requests and
//! runner locks as [`super::SqliteStore`], in a database that several
//! processes on several machines share. `docs/scale-out.md` describes the
//! schema and the claim protocol.
//!
//! The runner lock is a lease: a row per order with a holder, a lease end
//! renewed by heartbeats, and a fencing epoch that grows by one at every
//! acquisition. Every journal transaction starts by renewing the lease
//! `WHERE epoch = mine AND token = mine`; zero rows mean the lock was taken
//! over, and the transaction writes nothing ([`StoreError::LostLock`]).
//! The TMF622 records ([`tmf`]) claim their outbox events the same way.

mod journal;
mod notify;
mod orders;
mod revisions;
mod runner;
mod schema;
mod tmf;
mod work;

use std::path::PathBuf;
use std::sync::Arc;

use r2d2_postgres::postgres::{self, NoTls};
use r2d2_postgres::PostgresConnectionManager;

pub use notify::{Listener, Wake};
pub use schema::PG_SCHEMA_VERSION;

use super::group::{CommitStats, GroupCommit};
use super::{
    CancelOutcome, Delivery, JournalEntry, OrderStatus, OrderSummary, PendingRevision, RunnerLock,
    Store, StoreError, StoreOptions, StoredOrder, TmfCancel, TmfHub, TmfRecord, WorkFilter,
    WorkItem, WorkRequest,
};
use crate::exec::{BindingsRecord, Journal};
use crate::inventory::{Instance, InstanceFilter};
use crate::plan::Plan;

/// The channel order changes are announced on (`NOTIFY`, the order id as
/// payload), one per schema: notifications are database-wide, and engines
/// of another schema in the same database must not wake for these orders.
pub(crate) const CHANNEL: &str = "'ordo_' || md5(current_schema())";

/// The store in a PostgreSQL database (or schema of one).
#[derive(Clone)]
pub struct PgStore {
    pub(crate) pg: Arc<Pg>,
}

type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;
pub(crate) type Conn = r2d2::PooledConnection<PostgresConnectionManager<NoTls>>;

/// What every part of the PostgreSQL store shares.
pub(crate) struct Pg {
    pool: Pool,
    config: postgres::Config,
    /// The URL without its password, as messages name the store.
    pub location: String,
    pub options: StoreOptions,
    pub host: String,
    /// This handle's claim on the outbox events it is sending (`tmf_due`).
    pub token: String,
    pub commits: GroupCommit<journal::Pending>,
}

impl Pg {
    pub fn conn(&self) -> Result<Conn, StoreError> {
        self.pool.get().map_err(|e| self.failed(e))
    }

    /// A PostgreSQL (or pool) error, as the store reports it, with its
    /// causes (a statement's error says only "db error"; the server's words
    /// are its source).
    pub fn failed(&self, e: impl std::error::Error) -> StoreError {
        let mut detail = e.to_string();
        let mut cause = e.source();
        while let Some(c) = cause {
            detail = format!("{detail}: {c}");
            cause = c.source();
        }
        self.refused(detail)
    }

    /// The store cannot do what was asked, for the reason `detail` says.
    pub fn refused(&self, detail: String) -> StoreError {
        StoreError::Postgres {
            location: self.location.clone(),
            detail,
        }
    }

    /// Where the store is, as the errors shared with SQLite name it.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(&self.location)
    }

    /// A stored value that does not convert: a damaged row.
    pub fn corrupt(&self, detail: impl std::fmt::Display) -> StoreError {
        StoreError::PgCorrupt {
            location: self.location.clone(),
            detail: detail.to_string(),
        }
    }

    /// A stored JSON column that does not parse (or a value that does not
    /// serialise).
    pub fn json(&self, what: &str, e: serde_json::Error) -> StoreError {
        self.corrupt(format!("the stored {what} does not parse: {e}"))
    }

    /// An error of the code shared with SQLite, worded for this store: a
    /// damaged row names the database and `--store`, not a folder.
    pub fn own(&self, e: StoreError) -> StoreError {
        match e {
            StoreError::Corrupt { detail, .. } => self.corrupt(detail),
            other => other,
        }
    }
}

impl PgStore {
    /// Connects to the database `url` names, creates the schema its
    /// `search_path` names if absent (`?options=-csearch_path%3DNAME`), and
    /// creates or migrates ordo's tables there. A schema that holds other
    /// tables but not ordo's, or ordo's at a newer version, is refused and
    /// left untouched.
    pub fn open(url: &str) -> Result<PgStore, StoreError> {
        PgStore::open_with(url, StoreOptions::default())
    }

    /// [`PgStore::open`] with options: the heartbeat period, the lease
    /// (`stale_after`), the connection timeout (`busy_timeout`) and the
    /// group commit's batch size.
    pub fn open_with(url: &str, options: StoreOptions) -> Result<PgStore, StoreError> {
        let store = PgStore::connect(url, options)?;
        let mut conn = store.pg.conn()?;
        schema::create_schema(&store.pg, &mut conn)?;
        schema::migrate(&store.pg, &mut conn, schema::MIGRATIONS)?;
        Ok(store)
    }

    /// Connects for reading commands (`ordo status`, `ordo inventory`):
    /// creates and migrates nothing. `None` when ordo never stored anything
    /// there; refused as [`PgStore::open`] refuses, and when the schema is
    /// older than this ordo's.
    pub fn open_read_only(url: &str) -> Result<Option<PgStore>, StoreError> {
        let store = PgStore::connect(url, StoreOptions::default())?;
        let mut conn = store.pg.conn()?;
        let found = schema::check(&store.pg, &mut *conn, PG_SCHEMA_VERSION)?;
        if found == 0 {
            return Ok(None);
        }
        if found < PG_SCHEMA_VERSION {
            return Err(StoreError::PgNeedsUpgrade {
                location: store.pg.location.clone(),
                found,
                current: PG_SCHEMA_VERSION,
            });
        }
        Ok(Some(store))
    }

    fn connect(url: &str, options: StoreOptions) -> Result<PgStore, StoreError> {
        let bad = |detail: String| StoreError::StoreUrl {
            url: redact(url),
            detail,
        };
        let mut config: postgres::Config = url.parse().map_err(|e| bad(format!("{e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.busy_timeout);
        }
        let location = redact(url);
        // One connection first, for the server's own words when it fails
        // (the pool's error only says it timed out).
        config.connect(NoTls).map_err(|e| StoreError::Postgres {
            location: location.clone(),
            detail: connect_error(&e),
        })?;
        let manager = PostgresConnectionManager::new(config.clone(), NoTls);
        let pool = r2d2::Pool::builder()
            .max_size(8)
            .min_idle(Some(0))
            .connection_timeout(options.busy_timeout)
            .connection_customizer(Box::new(Timeouts {
                // At least a second: a live transaction's pauses between its
                // statements are far shorter.
                lease_ms: options.stale_after.as_millis().max(1000),
            }))
            .build(manager)
            .map_err(|e| StoreError::Postgres {
                location: location.clone(),
                detail: e.to_string(),
            })?;
        let host = super::lock::hostname();
        Ok(PgStore {
            pg: Arc::new(Pg {
                pool,
                config,
                location,
                token: super::lock::new_token(std::process::id(), &host),
                host,
                commits: GroupCommit::new(options.max_batch),
                options,
            }),
        })
    }

    /// The store's URL without its password.
    pub fn location(&self) -> &str {
        &self.pg.location
    }

    /// The journal transactions this store has written, and their events.
    pub fn commit_stats(&self) -> CommitStats {
        self.pg.commits.stats()
    }

    /// Claims up to `limit` orders to advance for this process (`ordo
    /// serve`): orders acknowledged or in progress whose lock is free or
    /// whose lease has expired, oldest change first. Rows another process is
    /// claiming at the same moment are skipped (`FOR UPDATE SKIP LOCKED`), so
    /// claimers never wait on each other and never claim one order twice.
    /// Each claim takes the lock with a new fencing epoch.
    pub fn claim(&self, limit: usize) -> Result<Vec<RunnerLock>, StoreError> {
        runner::claim(&self.pg, limit)
    }

    /// A connection that listens for order changes, to wait on between
    /// claims ([`Listener::wait`]).
    pub fn listen(&self) -> Result<Listener, StoreError> {
        Listener::new(&self.pg)
    }
}

/// Every pooled connection gives up a transaction that outlives the lease:
/// one left open by a process paused mid-transaction (a stopped or swapped
/// out runner) is ended by the server, releasing its row locks, and a wait
/// for a row lock held that long fails instead of hanging. Either way the
/// paused process's write is not committed, and the waiter retries.
#[derive(Debug)]
struct Timeouts {
    lease_ms: u128,
}

impl r2d2::CustomizeConnection<postgres::Client, postgres::Error> for Timeouts {
    fn on_acquire(&self, conn: &mut postgres::Client) -> Result<(), postgres::Error> {
        let ms = self.lease_ms;
        conn.batch_execute(&format!(
            "SET idle_in_transaction_session_timeout = {ms}; SET lock_timeout = {ms}"
        ))
    }
}

/// A connection error with its cause (the crate's own message stops at
/// "error connecting to server").
fn connect_error(e: &postgres::Error) -> String {
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

/// The URL with any password replaced, for messages.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let user = &authority[..at];
    let user = user.split(':').next().unwrap_or_default();
    format!("{}{user}@{}", &url[..scheme_end + 3], &rest[at + 1..])
}

impl Store for PgStore {
    fn create_tmf_order(
        &self,
        plan: &Plan,
        document: &serde_json::Value,
        bindings: Option<&BindingsRecord>,
        record: &TmfRecord,
    ) -> Result<OrderStatus, StoreError> {
        orders::create(&self.pg, plan, document, bindings, Some(record))
    }

    fn tmf_order(&self, order: &str) -> Result<Option<TmfRecord>, StoreError> {
        tmf::get(&self.pg, order)
    }

    fn set_tmf_order(&self, order: &str, record: &TmfRecord) -> Result<(), StoreError> {
        tmf::update(&self.pg, order, record)
    }

    fn tmf_orders(&self, external_id: Option<&str>) -> Result<Vec<String>, StoreError> {
        tmf::list(&self.pg, external_id)
    }

    fn create_tmf_cancel(
        &self,
        order: &str,
        api_version: &str,
        reason: Option<&str>,
        refused: Option<&str>,
    ) -> Result<TmfCancel, StoreError> {
        tmf::create_cancel(&self.pg, order, api_version, reason, refused)
    }

    fn tmf_cancel(&self, id: &str) -> Result<Option<TmfCancel>, StoreError> {
        tmf::cancel(&self.pg, id)
    }

    fn create_hub(&self, callback: &str, query: Option<&str>) -> Result<TmfHub, StoreError> {
        tmf::create_hub(&self.pg, callback, query)
    }

    fn delete_hub(&self, id: &str) -> Result<bool, StoreError> {
        tmf::delete_hub(&self.pg, id)
    }

    fn hubs(&self) -> Result<Vec<TmfHub>, StoreError> {
        tmf::hubs(&self.pg)
    }

    fn tmf_notified(&self, order: &str) -> Result<Option<String>, StoreError> {
        tmf::notified(&self.pg, order)
    }

    fn tmf_notify(
        &self,
        order: &str,
        before: Option<&str>,
        state: &str,
        events: &[(String, serde_json::Value)],
    ) -> Result<bool, StoreError> {
        tmf::notify(&self.pg, order, before, state, events)
    }

    fn tmf_due(&self, now: &str) -> Result<Vec<Delivery>, StoreError> {
        tmf::due(&self.pg, now)
    }

    fn tmf_delivered(
        &self,
        seq: i64,
        error: Option<&str>,
        next_at: &str,
    ) -> Result<(), StoreError> {
        tmf::delivered(&self.pg, seq, error, next_at)
    }

    fn create_bound_order(
        &self,
        plan: &Plan,
        document: &serde_json::Value,
        bindings: Option<&BindingsRecord>,
    ) -> Result<OrderStatus, StoreError> {
        orders::create(&self.pg, plan, document, bindings, None)
    }

    fn set_bindings(&self, order: &str, bindings: &BindingsRecord) -> Result<(), StoreError> {
        orders::set_bindings(&self.pg, order, bindings)
    }

    fn load(&self, order: &str) -> Result<StoredOrder, StoreError> {
        orders::load(&self.pg, order)
    }

    fn list_orders(&self) -> Result<Vec<OrderSummary>, StoreError> {
        orders::list(&self.pg)
    }

    fn order_status(&self, order: &str) -> Result<OrderStatus, StoreError> {
        orders::status(&self.pg, order)
    }

    fn events(&self, order: &str) -> Result<Vec<JournalEntry>, StoreError> {
        orders::events(&self.pg, order)
    }

    fn acquire_runner(&self, order: &str) -> Result<RunnerLock, StoreError> {
        runner::acquire(&self.pg, order)
    }

    fn journal(&self, lock: &RunnerLock) -> Result<Box<dyn Journal>, StoreError> {
        Ok(Box::new(journal::PgJournal::new(&self.pg, lock)?))
    }

    fn request_cancel(&self, order: &str) -> Result<CancelOutcome, StoreError> {
        runner::request_cancel(&self.pg, order)
    }

    fn instance(&self, id: &str) -> Result<Option<Instance>, StoreError> {
        orders::instance(&self.pg, id)
    }

    fn instances(&self, filter: &InstanceFilter) -> Result<Vec<Instance>, StoreError> {
        orders::instances(&self.pg, filter)
    }

    fn changing(&self, instance: &str) -> Result<Option<String>, StoreError> {
        let mut conn = self.pg.conn()?;
        orders::changing(&mut *conn, instance).map_err(|e| self.pg.failed(e))
    }

    fn request_revision(
        &self,
        plan: &Plan,
        document: &serde_json::Value,
        settled: bool,
    ) -> Result<u32, StoreError> {
        revisions::request(&self.pg, plan, document, settled)
    }

    fn pending_revision(&self, order: &str) -> Result<Option<PendingRevision>, StoreError> {
        revisions::pending(&self.pg, order)
    }

    fn begin_revision(
        &self,
        lock: &RunnerLock,
        delta: &crate::plan::revision::Revision,
    ) -> Result<(), StoreError> {
        revisions::begin(&self.pg, lock, delta)
    }

    fn switch_revision(
        &self,
        lock: &RunnerLock,
        revision: &PendingRevision,
    ) -> Result<(), StoreError> {
        revisions::switch(&self.pg, lock, revision)
    }

    fn work_items(&self, filter: &WorkFilter) -> Result<Vec<WorkItem>, StoreError> {
        work::list(&self.pg, filter)
    }

    fn work_item(&self, order: &str, task: &str) -> Result<WorkItem, StoreError> {
        work::get(&self.pg, order, task)
    }

    fn change_work(
        &self,
        order: &str,
        task: &str,
        by: &str,
        request: &WorkRequest,
    ) -> Result<WorkItem, StoreError> {
        work::change(&self.pg, order, task, by, request)
    }

    fn listen(&self) -> Result<Option<Listener>, StoreError> {
        Listener::new(&self.pg).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_left_out_of_messages() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db?options=x"),
            "postgres://u@h:5432/db?options=x"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
        assert_eq!(redact("host=h user=u"), "host=h user=u");
    }
}
