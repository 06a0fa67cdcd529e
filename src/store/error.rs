//! The store's errors. Each message says what happened and what to do, so the
//! CLI can print it as is; the variants let callers and tests match on kinds.

use std::path::PathBuf;

use crate::exec::{JournalError, OrderState};

/// Who holds an order's runner lock, as an error names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    /// Seconds since its last heartbeat.
    pub heartbeat_age_s: u64,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum StoreError {
    #[error("cannot use the state folder {path}: {source}; pass another folder with --state")]
    #[diagnostic(code(ordo::store::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{path} is not an SQLite database (corrupt, or another program's file); ordo leaves it \
         untouched: move it away or pass another folder with --state"
    )]
    #[diagnostic(code(ordo::store::not_a_database))]
    NotADatabase { path: PathBuf },

    #[error(
        "{path} is an SQLite database but not ordo's (it has no ordo `meta` table); ordo leaves \
         it untouched: pass another folder with --state"
    )]
    #[diagnostic(code(ordo::store::foreign))]
    Foreign { path: PathBuf },

    #[error(
        "{path} has state schema version {found}, newer than this ordo understands (up to \
         {supported}); ordo leaves it untouched: upgrade ordo, or pass another folder with --state"
    )]
    #[diagnostic(code(ordo::store::schema_too_new))]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    #[error(
        "{path} is missing or empty, but {journal} beside it holds changes to it (the orders may \
         be in there); ordo creates no database beside it and leaves both untouched: restore \
         {path} from a backup (with its -wal and -shm files), or, if the folder holds nothing you \
         need, move {journal} away or pass another folder with --state"
    )]
    #[diagnostic(code(ordo::store::journal_without_database))]
    JournalWithoutDatabase { path: PathBuf, journal: PathBuf },

    #[error(
        "{path} has state schema version {found}, older than this ordo's ({current}); reading \
         commands open the folder read-only and do not upgrade it: run `ordo resume` or \
         `ordo run` with a writable folder once to upgrade it"
    )]
    #[diagnostic(code(ordo::store::needs_upgrade))]
    NeedsUpgrade {
        path: PathBuf,
        found: i64,
        current: i64,
    },

    #[error(
        "{path} is damaged ({detail}); ordo leaves it untouched: restore it from a backup, or \
         move it away and pass another folder with --state"
    )]
    #[diagnostic(code(ordo::store::corrupt))]
    Corrupt { path: PathBuf, detail: String },

    #[error(
        "{path} cannot be put in WAL mode (it stays in {mode} mode), which ordo needs to share \
         it between processes; the state folder must be on a local file system: pass another \
         folder with --state"
    )]
    #[diagnostic(code(ordo::store::no_wal))]
    NoWal { path: PathBuf, mode: String },

    #[error(
        "the state database {path} stayed locked by another process for too long; try again \
         once that process has finished writing"
    )]
    #[diagnostic(code(ordo::store::busy))]
    Busy { path: PathBuf },

    #[error("the state database {path} failed: {source}")]
    #[diagnostic(code(ordo::store::sqlite))]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error("order {order} already exists in the state folder; to continue it, run `ordo resume {order}`")]
    #[diagnostic(code(ordo::store::order_exists))]
    OrderExists { order: String },

    #[error(
        "there is no order {order} in the state folder; `ordo status` lists the orders it holds"
    )]
    #[diagnostic(code(ordo::store::no_such_order))]
    NoSuchOrder { order: String },

    #[error(
        "order {order} is being run by process {} on {} (last heartbeat {}s ago); wait for it \
         to finish, or stop that process and run `ordo resume {order}`",
        holder.pid, holder.host, holder.heartbeat_age_s
    )]
    #[diagnostic(code(ordo::store::locked))]
    Locked { order: String, holder: Holder },

    #[error(
        "this run no longer holds order {order}: its runner lock was taken over (its heartbeat \
         went stale); this process stops so that two runners never act on one order"
    )]
    #[diagnostic(code(ordo::store::lost_lock))]
    LostLock { order: String },

    #[error(
        "order {order} can no longer be cancelled: task {task} is a point of no return and is \
         done; a later failure puts the order on hold for an operator instead"
    )]
    #[diagnostic(code(ordo::store::past_point_of_no_return))]
    PastPointOfNoReturn { order: String, task: String },

    #[error(
        "order {order} has no work item for task {task}: the task is not manual, or it is not \
         ready yet; `ordo tasks --all` lists the work items"
    )]
    #[diagnostic(code(ordo::store::no_such_work_item))]
    NoSuchWorkItem { order: String, task: String },

    #[error(
        "the work item {order} {task} is claimed by {assignee}: they can release it (`ordo task \
         release {order} {task} --as {assignee}`)"
    )]
    #[diagnostic(code(ordo::store::work_item_taken))]
    WorkItemTaken {
        order: String,
        task: String,
        assignee: String,
    },

    #[error("the work item {order} {task} is {state}: nobody can change it any more")]
    #[diagnostic(code(ordo::store::work_item_closed))]
    WorkItemClosed {
        order: String,
        task: String,
        state: String,
    },

    #[error("the work item {order} {task} is not claimed: there is nothing to release")]
    #[diagnostic(code(ordo::store::work_item_not_claimed))]
    WorkItemNotClaimed { order: String, task: String },

    #[error(
        "order {order} cannot be cancelled yet: task {task}, a point of no return, was \
         interrupted while running and may have taken effect; run `ordo resume {order}` to \
         settle it, then cancel again if the order is still cancellable"
    )]
    #[diagnostic(code(ordo::store::outcome_unknown))]
    OutcomeUnknown { order: String, task: String },

    #[error("order {order} is already {}; there is nothing to cancel", state.as_str())]
    #[diagnostic(code(ordo::store::already_final))]
    AlreadyFinal { order: String, state: OrderState },

    #[error("an event for order {order} names task #{task}, but its plan has {tasks} tasks")]
    #[diagnostic(code(ordo::store::bad_event))]
    BadEvent {
        order: String,
        task: usize,
        tasks: usize,
    },

    #[error("a journal for order {expected} was given an event for order {got}")]
    #[diagnostic(code(ordo::store::wrong_order))]
    WrongOrder { expected: String, got: String },

    #[error(
        "order {order} cannot be stored: instance {instance} {why}; `ordo inventory {instance}` \
         shows it"
    )]
    #[diagnostic(code(ordo::order::instance))]
    InstanceUnavailable {
        order: String,
        instance: String,
        why: String,
    },

    #[error(
        "`{url}` is not a store: {detail}; pass --store postgres://USER@HOST:PORT/DATABASE, \
         --store sqlite:DIR, or a folder with --state"
    )]
    #[diagnostic(code(ordo::store::url))]
    StoreUrl { url: String, detail: String },

    #[error(
        "ORDO_LEASE_MS is `{value}`, not a lease in milliseconds; set it to a whole number of \
         at least 30 (the default lease is 30000), or unset it"
    )]
    #[diagnostic(code(ordo::store::lease))]
    Lease { value: String },

    #[error(
        "the PostgreSQL store {location} holds a damaged row ({detail}); ordo leaves it \
         untouched: restore the database from a backup, or name another database or schema with \
         --store"
    )]
    #[diagnostic(code(ordo::store::corrupt))]
    PgCorrupt { location: String, detail: String },

    #[error(
        "{location} has schema version {found}, older than this ordo's ({current}); reading \
         commands do not upgrade it: run a writing command (`ordo resume`, `ordo run`, `ordo \
         serve`) with this --store once to upgrade it"
    )]
    #[diagnostic(code(ordo::store::needs_upgrade))]
    PgNeedsUpgrade {
        location: String,
        found: i64,
        current: i64,
    },

    #[error(
        "the PostgreSQL store {location} failed: {detail}; check that the server is up and that \
         the URL given with --store (or ORDO_STORE) is right"
    )]
    #[diagnostic(code(ordo::store::postgres))]
    Postgres { location: String, detail: String },

    #[error(
        "the PostgreSQL schema of {location} holds tables but is not ordo's (it has no ordo \
         `meta` table); ordo leaves it untouched: name another database or schema with --store"
    )]
    #[diagnostic(code(ordo::store::foreign))]
    PgForeign { location: String },

    #[error(
        "{location} has schema version {found}, newer than this ordo understands (up to \
         {supported}); ordo leaves it untouched: upgrade ordo, or name another database or \
         schema with --store"
    )]
    #[diagnostic(code(ordo::store::schema_too_new))]
    PgSchemaTooNew {
        location: String,
        found: i64,
        supported: i64,
    },

    #[error(
        "order {order} is already {} and cannot be revised; to change what it installed, submit \
         a new order with modify or delete items against its instances (`ordo inventory \
         --customer ID` lists them)",
        state.as_str()
    )]
    #[diagnostic(code(ordo::revise::ended))]
    ReviseEnded { order: String, state: OrderState },

    #[error(
        "order {order} can no longer be revised: task {task} is a point of no return and is \
         done; let the order finish, then submit a new order with modify or delete items \
         against the instances it installs"
    )]
    #[diagnostic(code(ordo::revise::past_point_of_no_return))]
    RevisePastPointOfNoReturn { order: String, task: String },

    #[error(
        "order {order} cannot be revised: a cancel was requested and it is being compensated; \
         once it is cancelled, submit the order again as a new order"
    )]
    #[diagnostic(code(ordo::revise::cancelling))]
    ReviseCancelling { order: String },

    #[error(
        "order {order} already has a revision waiting (to version {version}); `ordo status \
         {order}` shows when it is applied, then revise again"
    )]
    #[diagnostic(code(ordo::revise::pending))]
    RevisionPending { order: String, version: u32 },

    #[error(
        "order {order} cannot be revised now: task {task} is {state}; `ordo resume {order}` \
         settles it, then revise again if the order is still revisable"
    )]
    #[diagnostic(code(ordo::revise::unsettled))]
    ReviseUnsettled {
        order: String,
        task: String,
        state: String,
    },

    #[error("the transaction holding this event failed to commit: {detail}")]
    #[diagnostic(code(ordo::store::commit))]
    Commit { detail: String },
}

impl StoreError {
    /// Wraps an SQLite error, recognising a busy database and a damaged file.
    pub(crate) fn sqlite(path: &std::path::Path, source: rusqlite::Error) -> StoreError {
        use rusqlite::ErrorCode;
        let path = path.to_path_buf();
        match source.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy { path },
            Some(ErrorCode::NotADatabase) => StoreError::NotADatabase { path },
            Some(ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
                path,
                detail: source.to_string(),
            },
            _ => StoreError::Sqlite { path, source },
        }
    }

    /// A stored JSON column that no longer parses.
    pub(crate) fn json(
        path: &std::path::Path,
        what: &str,
        source: serde_json::Error,
    ) -> StoreError {
        StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: format!("the stored {what} does not parse: {source}"),
        }
    }
}

impl From<StoreError> for JournalError {
    fn from(err: StoreError) -> JournalError {
        JournalError(err.to_string())
    }
}
