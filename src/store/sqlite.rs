//! The SQLite implementation of [`Store`]: one database file in the state
//! folder, opened in WAL mode, with a write connection shared by every
//! writer of this process (journals, locks, cancels) and a few read
//! connections for status queries, order lists and cancel polls.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};

use super::group::{CommitStats, GroupCommit};
use super::journal::{Pending, SqliteJournal};
use super::lock::{self, FolderLock, FolderLockError};
use super::rows::RowCaches;
use super::schema::{self, Found, MIGRATIONS, SCHEMA_VERSION};
use super::{instances, orders, revisions, runner, tmf, waiting, work};
use super::{
    CancelOutcome, Delivery, JournalEntry, OrderStatus, OrderSummary, PendingRevision, RunnerLock,
    Store, StoreError, StoredOrder, TmfCancel, TmfHub, TmfRecord, WaitingOrder, WorkFilter,
    WorkItem, WorkRequest,
};
use crate::exec::{BindingsRecord, Journal, OrderState};
use crate::inventory::{Instance, InstanceFilter};
use crate::plan::Plan;

/// The database file inside the state folder.
pub const DB_FILE: &str = "ordo.db";

/// How hard SQLite works to keep a commit through a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    /// `synchronous=NORMAL`: a commit survives the process being killed at
    /// any point; after a power loss or OS crash the last commits may be
    /// lost, all together (the database stays consistent, the order resumes
    /// from an earlier transition and re-invokes actions with the same
    /// idempotency key). No fsync per commit.
    Normal,
    /// `synchronous=FULL`: a commit also survives a power loss; one fsync of
    /// the WAL per transaction (per group of events with group commit).
    Full,
}

/// Settings of [`SqliteStore::open_with`]; [`Default`] is what the CLI uses.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub synchronous: Synchronous,
    /// Most events one transaction commits together (group commit); 1 means
    /// one transaction per event.
    pub max_batch: usize,
    /// How often the holder of a runner lock refreshes its heartbeat (a
    /// thread per lock).
    pub heartbeat_every: Duration,
    /// A lock whose heartbeat is older than this is taken over, even if its
    /// process seems alive (a reused pid, a hung or stopped process).
    pub stale_after: Duration,
    /// How long to wait for another process's write transaction.
    pub busy_timeout: Duration,
    /// Read connections (at least one). In WAL mode SQLite lets them read
    /// at once, so a long read (the list of every order, the engine's poll)
    /// does not hold up the short ones (a run's cancel poll, the load of the
    /// next order to advance).
    pub readers: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            synchronous: Synchronous::Normal,
            max_batch: 256,
            heartbeat_every: Duration::from_secs(5),
            stale_after: Duration::from_secs(30),
            busy_timeout: Duration::from_secs(10),
            readers: 4,
        }
    }
}

/// The embedded store: `DIR/ordo.db`.
#[derive(Clone)]
pub struct SqliteStore {
    pub(crate) db: Arc<Db>,
}

/// What every part of the SQLite store shares.
pub(crate) struct Db {
    pub path: PathBuf,
    pub options: StoreOptions,
    pub host: String,
    writer: Mutex<Connection>,
    readers: Readers,
    pub commits: GroupCommit<Pending>,
    /// The task rows the live journals last wrote.
    pub row_caches: RowCaches,
    /// A read-only store that reads the database file as immutable holds the
    /// folder's lock shared while it lives, so no process opens it to write.
    _hold: Option<FolderLock>,
}

impl Db {
    pub fn writer(&self) -> MutexGuard<'_, Connection> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A read connection no other thread holds, if there is one; else the
    /// next in turn, once it is free.
    pub fn reader(&self) -> MutexGuard<'_, Connection> {
        self.readers.get()
    }

    pub fn err(&self, e: rusqlite::Error) -> StoreError {
        StoreError::sqlite(&self.path, e)
    }
}

/// The read connections, each behind its own mutex. A fixed set opened
/// with the store, rather than a pool that opens and closes connections: a
/// read-only store's connections read the file as immutable while the
/// folder's lock is held, and every connection is opened the store's way
/// (busy timeout, statement cache, no checkpoint on close).
struct Readers {
    conns: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

impl Readers {
    /// `n` connections (at least one), each made by `open`.
    fn open(
        n: usize,
        open: impl Fn() -> Result<Connection, StoreError>,
    ) -> Result<Readers, StoreError> {
        Ok(Readers {
            conns: (0..n.max(1))
                .map(|_| open().map(Mutex::new))
                .collect::<Result<_, _>>()?,
            next: AtomicUsize::new(0),
        })
    }

    fn get(&self) -> MutexGuard<'_, Connection> {
        let n = self.conns.len();
        let first = self.next.fetch_add(1, Ordering::Relaxed) % n;
        for i in 0..n {
            match self.conns[(first + i) % n].try_lock() {
                Ok(conn) => return conn,
                Err(TryLockError::Poisoned(p)) => return p.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        self.conns[first]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl SqliteStore {
    /// Opens the store in `dir` with the default options, creating the
    /// folder and the database if absent.
    pub fn open(dir: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(dir, StoreOptions::default())
    }

    /// Opens the store in `dir` to write. The lock on the folder is held
    /// exclusively until the store is ready, so processes opening one folder
    /// at once examine, create and migrate it one after the other. An
    /// existing database is first examined without writing: a file that is
    /// not SQLite, an SQLite database that is not ordo's, one with a newer
    /// schema, or one that fails SQLite's integrity check is refused and left
    /// untouched; so is a folder whose database is missing or empty beside a
    /// write-ahead log or rollback journal. An older ordo schema is migrated.
    pub fn open_with(dir: &Path, options: StoreOptions) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(DB_FILE);
        let _init = FolderLock::exclusive(dir, options.busy_timeout)
            .map_err(|e| folder_lock_error(dir, &path, e))?;
        if examine(&path)? == Found::Sqlite {
            let (probe, _) = probe(&path, &options)?;
            schema::check(&probe, &path, SCHEMA_VERSION)?;
            integrity(&probe, &path)?;
        }
        let err = |e| StoreError::sqlite(&path, e);
        let mut writer = connect(
            &path,
            &options,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )?;
        let mode: String = writer
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::NoWal { path, mode });
        }
        let sync = match options.synchronous {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        };
        writer
            .pragma_update(None, "synchronous", sync)
            .map_err(err)?;
        writer
            .pragma_update(None, "foreign_keys", true)
            .map_err(err)?;
        schema::migrate(&mut writer, &path, MIGRATIONS)?;
        let readers = Readers::open(options.readers, || {
            let reader = connect(&path, &options, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
            reader
                .pragma_update(None, "query_only", true)
                .map_err(err)?;
            Ok(reader)
        })?;
        Ok(SqliteStore::from_parts(
            path, options, writer, readers, None,
        ))
    }

    /// Opens the store in `dir` to read only, for `ordo status` and the like:
    /// it creates, migrates and checkpoints nothing, writes no byte to the
    /// folder (which may be read-only), and leaves a write-ahead log as it
    /// found it. `None` when there is nothing to read: no folder, or no
    /// database in it. The database is refused as [`SqliteStore::open_with`]
    /// refuses it, and also when its schema is older than this ordo's (only
    /// a writer upgrades it). Every write through the store fails.
    ///
    /// With no `-wal` file beside the database, no process has it open, and
    /// the store reads the file as immutable: it then holds the folder's
    /// lock shared for as long as it lives, and a store opened to write on
    /// the same folder (in this process too) waits until it is dropped.
    pub fn open_read_only(dir: &Path) -> Result<Option<SqliteStore>, StoreError> {
        SqliteStore::open_read_only_with(dir, StoreOptions::default())
    }

    /// [`SqliteStore::open_read_only`] with options (only the busy timeout
    /// matters).
    pub fn open_read_only_with(
        dir: &Path,
        options: StoreOptions,
    ) -> Result<Option<SqliteStore>, StoreError> {
        let path = dir.join(DB_FILE);
        if !dir.exists() {
            return Ok(None);
        }
        // Shared: waits out a writer's first open, so as not to read a
        // database being created.
        let hold = FolderLock::shared(dir, options.busy_timeout)
            .map_err(|e| folder_lock_error(dir, &path, e))?;
        if examine(&path)? == Found::Nothing {
            return Ok(None);
        }
        let (writer, immutable) = probe(&path, &options)?;
        let found = schema::check(&writer, &path, SCHEMA_VERSION)?;
        if found == 0 {
            // An empty database, left by an interrupted first open.
            return Ok(None);
        }
        if found < SCHEMA_VERSION {
            return Err(StoreError::NeedsUpgrade {
                path,
                found,
                current: SCHEMA_VERSION,
            });
        }
        let query_only = |conn: &Connection| {
            conn.pragma_update(None, "query_only", true)
                .map_err(|e| StoreError::sqlite(&path, e))
        };
        query_only(&writer)?;
        let readers = Readers::open(options.readers, || {
            let reader = read_only(&path, &options, immutable)?;
            query_only(&reader)?;
            Ok(reader)
        })?;
        let hold = immutable.then_some(hold);
        Ok(Some(SqliteStore::from_parts(
            path, options, writer, readers, hold,
        )))
    }

    fn from_parts(
        path: PathBuf,
        options: StoreOptions,
        writer: Connection,
        readers: Readers,
        hold: Option<FolderLock>,
    ) -> SqliteStore {
        SqliteStore {
            db: Arc::new(Db {
                path,
                host: lock::hostname(),
                commits: GroupCommit::new(options.max_batch),
                row_caches: RowCaches::default(),
                options,
                writer: Mutex::new(writer),
                readers,
                _hold: hold,
            }),
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.db.path
    }

    /// The journal transactions this store has written so far, and the
    /// events they held: their ratio is the group commit's batch size.
    pub fn commit_stats(&self) -> CommitStats {
        self.db.commits.stats()
    }
}

fn folder_lock_error(dir: &Path, path: &Path, e: FolderLockError) -> StoreError {
    match e {
        FolderLockError::Io(source) => StoreError::Io {
            path: dir.to_path_buf(),
            source,
        },
        FolderLockError::TimedOut => StoreError::Busy {
            path: path.to_path_buf(),
        },
    }
}

/// A side file of the database: `ordo.db-wal`, `ordo.db-journal`.
fn side_file(path: &Path, suffix: &str) -> PathBuf {
    let mut side = path.as_os_str().to_owned();
    side.push(suffix);
    PathBuf::from(side)
}

/// What is at the database path ([`schema::inspect`]), refusing a missing or
/// empty database beside a write-ahead log or rollback journal that holds
/// anything: SQLite would take the database for new and delete the log, and
/// with it every change not yet copied into the database.
fn examine(path: &Path) -> Result<Found, StoreError> {
    let found = schema::inspect(path)?;
    if found == Found::Nothing {
        for suffix in ["-wal", "-journal"] {
            let journal = side_file(path, suffix);
            if holds_changes(&journal, suffix == "-wal") {
                return Err(StoreError::JournalWithoutDatabase {
                    path: path.to_path_buf(),
                    journal,
                });
            }
        }
    }
    Ok(found)
}

/// A write-ahead log's header, before its first frame.
const WAL_HEADER: u64 = 32;
/// A rollback journal's first bytes, and where its header keeps the size
/// (in pages) the database had when the transaction began.
const JOURNAL_MAGIC: [u8; 8] = [0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7];
const JOURNAL_ORIGINAL_SIZE: std::ops::Range<usize> = 16..20;

/// Whether a log or journal beside a missing or empty database holds
/// anything of it. Nothing: no file, a log without frames, or the journal of
/// a transaction that began on an empty database (as a first open killed
/// while switching to WAL mode leaves it), whose rollback empties it again.
fn holds_changes(journal: &Path, wal: bool) -> bool {
    let Ok(meta) = std::fs::metadata(journal) else {
        return false;
    };
    if wal {
        return meta.len() > WAL_HEADER;
    }
    if meta.len() == 0 {
        return false;
    }
    let mut header = [0u8; 20];
    let read = std::fs::File::open(journal)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut header));
    let began_empty = header[..8] == JOURNAL_MAGIC && header[JOURNAL_ORIGINAL_SIZE] == [0, 0, 0, 0];
    read.is_err() || !began_empty
}

/// SQLite's own check of the file's structure (`PRAGMA quick_check`), read
/// only: a damaged database is refused before anything is written to it.
fn integrity(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let sqlite = |e| StoreError::sqlite(path, e);
    let mut stmt = conn.prepare("PRAGMA quick_check(5)").map_err(sqlite)?;
    let found: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .map_err(sqlite)?
        .collect::<Result<_, _>>()
        .map_err(sqlite)?;
    if found.len() == 1 && found[0] == "ok" {
        return Ok(());
    }
    Err(StoreError::Corrupt {
        path: path.to_path_buf(),
        detail: format!("SQLite's integrity check found: {}", found.join("; ")),
    })
}

/// A read-only connection that creates nothing beside the file, and whether
/// it reads the file as immutable. With no `-wal` file no process has the
/// database open (the last connection to close deletes it) and none can
/// open it while the caller holds the folder's lock, so the file is opened
/// as immutable, which needs no `-wal` or `-shm` either; with one, the side
/// files already exist and are read as SQLite reads them.
fn probe(path: &Path, options: &StoreOptions) -> Result<(Connection, bool), StoreError> {
    let immutable = !side_file(path, "-wal").exists();
    Ok((read_only(path, options, immutable)?, immutable))
}

fn read_only(
    path: &Path,
    options: &StoreOptions,
    immutable: bool,
) -> Result<Connection, StoreError> {
    if !immutable {
        return connect(path, options, OpenFlags::SQLITE_OPEN_READ_ONLY);
    }
    let mut uri = String::from("file:");
    for c in path.to_string_lossy().chars() {
        match c {
            '%' | '?' | '#' => uri.push_str(&format!("%{:02X}", c as u32)),
            c => uri.push(c),
        }
    }
    uri.push_str("?immutable=1");
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&uri, flags).map_err(|e| StoreError::sqlite(path, e))?;
    conn.busy_timeout(options.busy_timeout)
        .map_err(|e| StoreError::sqlite(path, e))?;
    Ok(conn)
}

/// Prepared statements kept per connection: more than the store has.
const STATEMENT_CACHE: usize = 128;

/// A connection with the busy timeout. A read-only one never checkpoints
/// the log when it closes (it could not, but says so to SQLite too).
fn connect(
    path: &Path,
    options: &StoreOptions,
    flags: OpenFlags,
) -> Result<Connection, StoreError> {
    let sqlite = |e| StoreError::sqlite(path, e);
    let read_only = flags.contains(OpenFlags::SQLITE_OPEN_READ_ONLY);
    let flags = flags | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(sqlite)?;
    conn.busy_timeout(options.busy_timeout).map_err(sqlite)?;
    // Every statement the store runs often is prepared once per
    // connection; rusqlite's default of 16 would evict some of them.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    if read_only {
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
            .map_err(sqlite)?;
    }
    Ok(conn)
}

impl Store for SqliteStore {
    fn create_bound_order(
        &self,
        plan: &Plan,
        document: &serde_json::Value,
        bindings: Option<&BindingsRecord>,
    ) -> Result<OrderStatus, StoreError> {
        orders::create_with(&self.db, plan, document, bindings, None)
    }

    fn set_bindings(&self, order: &str, bindings: &BindingsRecord) -> Result<(), StoreError> {
        orders::set_bindings(&self.db, order, bindings)
    }

    fn load(&self, order: &str) -> Result<StoredOrder, StoreError> {
        orders::load(&self.db, order)
    }

    fn list_orders(&self) -> Result<Vec<OrderSummary>, StoreError> {
        orders::list(&self.db)
    }

    fn order_counts(&self) -> Result<Vec<(OrderState, usize)>, StoreError> {
        orders::counts(&self.db)
    }

    fn waiting_orders(&self) -> Result<Vec<WaitingOrder>, StoreError> {
        waiting::waiting(&self.db)
    }

    fn order_status(&self, order: &str) -> Result<OrderStatus, StoreError> {
        orders::status(&self.db, order)
    }

    fn events(&self, order: &str) -> Result<Vec<JournalEntry>, StoreError> {
        orders::events(&self.db, order)
    }

    fn acquire_runner(&self, order: &str) -> Result<RunnerLock, StoreError> {
        runner::acquire(&self.db, order)
    }

    fn journal(&self, lock: &RunnerLock) -> Result<Box<dyn Journal>, StoreError> {
        Ok(Box::new(SqliteJournal::new(&self.db, lock)?))
    }

    fn request_cancel(&self, order: &str) -> Result<CancelOutcome, StoreError> {
        runner::request_cancel(&self.db, order)
    }

    fn instance(&self, id: &str) -> Result<Option<Instance>, StoreError> {
        instances::instance(&self.db, id)
    }

    fn instances(&self, filter: &InstanceFilter) -> Result<Vec<Instance>, StoreError> {
        instances::list(&self.db, filter)
    }

    fn changing(&self, instance: &str) -> Result<Option<String>, StoreError> {
        let conn = self.db.reader();
        instances::changing(&conn, instance).map_err(|e| self.db.err(e))
    }

    fn request_revision(
        &self,
        plan: &Plan,
        document: &serde_json::Value,
        settled: bool,
    ) -> Result<u32, StoreError> {
        revisions::request(&self.db, plan, document, settled)
    }

    fn pending_revision(&self, order: &str) -> Result<Option<PendingRevision>, StoreError> {
        revisions::pending(&self.db, order)
    }

    fn begin_revision(
        &self,
        lock: &RunnerLock,
        delta: &crate::plan::revision::Revision,
    ) -> Result<(), StoreError> {
        revisions::begin(&self.db, lock, delta)
    }

    fn switch_revision(
        &self,
        lock: &RunnerLock,
        revision: &PendingRevision,
    ) -> Result<(), StoreError> {
        revisions::switch(&self.db, lock, revision)
    }

    fn create_tmf_order(
        &self,
        plan: &Plan,
        document: &serde_json::Value,
        bindings: Option<&BindingsRecord>,
        tmf: &TmfRecord,
    ) -> Result<OrderStatus, StoreError> {
        orders::create_with(&self.db, plan, document, bindings, Some(tmf))
    }

    fn tmf_order(&self, order: &str) -> Result<Option<TmfRecord>, StoreError> {
        tmf::get(&self.db, order)
    }

    fn set_tmf_order(&self, order: &str, record: &TmfRecord) -> Result<(), StoreError> {
        tmf::update(&self.db, order, record)
    }

    fn tmf_orders(&self, external_id: Option<&str>) -> Result<Vec<String>, StoreError> {
        tmf::list(&self.db, external_id)
    }

    fn create_tmf_cancel(
        &self,
        order: &str,
        api_version: &str,
        reason: Option<&str>,
        refused: Option<&str>,
    ) -> Result<TmfCancel, StoreError> {
        tmf::create_cancel(&self.db, order, api_version, reason, refused)
    }

    fn tmf_cancel(&self, id: &str) -> Result<Option<TmfCancel>, StoreError> {
        tmf::cancel(&self.db, id)
    }

    fn create_hub(&self, callback: &str, query: Option<&str>) -> Result<TmfHub, StoreError> {
        tmf::create_hub(&self.db, callback, query)
    }

    fn delete_hub(&self, id: &str) -> Result<bool, StoreError> {
        tmf::delete_hub(&self.db, id)
    }

    fn hubs(&self) -> Result<Vec<TmfHub>, StoreError> {
        tmf::hubs(&self.db)
    }

    fn tmf_notified(&self, order: &str) -> Result<Option<String>, StoreError> {
        tmf::notified(&self.db, order)
    }

    fn tmf_notify(
        &self,
        order: &str,
        before: Option<&str>,
        state: &str,
        events: &[(String, serde_json::Value)],
    ) -> Result<bool, StoreError> {
        tmf::notify(&self.db, order, before, state, events)
    }

    fn tmf_due(&self, now: &str) -> Result<Vec<Delivery>, StoreError> {
        tmf::due(&self.db, now)
    }

    fn tmf_delivered(
        &self,
        seq: i64,
        error: Option<&str>,
        next_at: &str,
    ) -> Result<(), StoreError> {
        tmf::delivered(&self.db, seq, error, next_at)
    }

    fn work_items(&self, filter: &WorkFilter) -> Result<Vec<WorkItem>, StoreError> {
        work::list(&self.db, filter)
    }

    fn work_item(&self, order: &str, task: &str) -> Result<WorkItem, StoreError> {
        work::get(&self.db, order, task)
    }

    fn change_work(
        &self,
        order: &str,
        task: &str,
        by: &str,
        request: &WorkRequest,
    ) -> Result<WorkItem, StoreError> {
        work::change(&self.db, order, task, by, request)
    }
}

/// Now, as every timestamp in the store is written: RFC 3339, UTC,
/// milliseconds, so that text order is time order.
pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_readers(readers: usize) -> StoreOptions {
        StoreOptions {
            readers,
            ..StoreOptions::default()
        }
    }

    /// A read goes on while another thread holds a read connection for a
    /// long read (the order list, the engine's poll): it takes another.
    #[test]
    fn a_held_read_connection_does_not_hold_up_other_reads() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_with(dir.path(), with_readers(2)).unwrap();
        let held = store.db.reader();
        let (tx, rx) = std::sync::mpsc::channel();
        let other = store.clone();
        std::thread::spawn(move || {
            let _ = tx.send(other.list_orders().map(|l| l.len()));
        });
        let listed = rx.recv_timeout(Duration::from_secs(60));
        assert!(
            matches!(listed, Ok(Ok(0))),
            "the list waited for the held connection: {listed:?}"
        );
        // The two are different connections.
        let second = store.db.reader();
        assert!(!std::ptr::eq(&*held, &*second));
        drop((held, second));
    }

    #[test]
    fn a_store_asked_for_no_readers_has_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_with(dir.path(), with_readers(0)).unwrap();
        assert_eq!(store.list_orders().unwrap().len(), 0);
        drop(store);
        let read = SqliteStore::open_read_only_with(dir.path(), with_readers(0))
            .unwrap()
            .unwrap();
        assert_eq!(read.list_orders().unwrap().len(), 0);
    }
}
