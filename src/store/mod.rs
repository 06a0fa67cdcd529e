//! Durable orders (SPEC §6): the state folder that holds every order, its
//! plan, its tasks' states and its event journal, so that a killed run
//! resumes, `ordo status` reports from any process, and `ordo cancel` reaches
//! a run in another process.
//!
//! [`Store`] is the interface; [`SqliteStore`] the embedded implementation
//! (`.ordo/ordo.db`). Everything a run needs to continue lives in the store,
//! none of it only in a runner's memory, so that another implementation (a
//! PostgreSQL store shared by several workers, SPEC §8) can stand behind the
//! same trait. `docs/state.md` describes the folder, the schema and the rules.
//!
//! Opening to write ([`SqliteStore::open`]) examines the folder before
//! writing to it, and serialises processes that open it at once; reading
//! commands open it read-only ([`SqliteStore::open_read_only`]), which writes
//! nothing at all.
//!
//! A run, in calls:
//! ```no_run
//! # use ordo::store::{SqliteStore, Store};
//! # fn run(plan: &ordo::plan::Plan, doc: &serde_json::Value) -> Result<(), ordo::store::StoreError> {
//! let store = SqliteStore::open(".ordo".as_ref())?;
//! store.create_order(plan, doc)?;                  // `ordo run`; `ordo resume` skips this
//! let lock = store.acquire_runner(&plan.order)?;   // one runner per order
//! let stored = store.load(&plan.order)?;           // plan + task records to start from
//! let mut journal = store.journal(&lock)?;         // hand to the executor
//! # let _ = (stored, &mut journal);
//! # Ok(()) }
//! ```

mod error;
mod group;
mod instances;
mod journal;
mod location;
mod lock;
mod orders;
pub mod postgres;
mod revisions;
mod rows;
mod runner;
mod schema;
mod sqlite;
mod status;
mod tmf;
mod waiting;
mod work;

pub use self::postgres::PgStore;
pub use error::{Holder, StoreError};
pub use group::CommitStats;
pub use location::{open_read_only, open_store, Location};
pub use lock::RunnerLock;
pub use revisions::PendingRevision;
pub use schema::SCHEMA_VERSION;
pub use sqlite::{SqliteStore, StoreOptions, Synchronous, DB_FILE};
pub use status::{
    CancelOutcome, ItemStatus, JournalEntry, OrderStatus, OrderSummary, RevisionState,
    RevisionStatus, RunnerInfo, RunnerStatus, StoredOrder, TaskStatus, WaitingOrder,
};
pub use work::{OutputSpec, WorkFilter, WorkItem, WorkRequest, WorkState};

use crate::exec::{BindingsRecord, Journal, OrderState};
use crate::inventory::{Instance, InstanceFilter};
use crate::plan::Plan;

/// What TMF622 keeps with an order that came as a ProductOrder: the API
/// version it came by (`v4`, `v5`), its external ids (searchable), and the
/// rest of its TMF metadata (requested dates, item ids, the body as given).
#[derive(Debug, Clone, PartialEq)]
pub struct TmfRecord {
    pub api_version: String,
    pub external_ids: Vec<String>,
    pub meta: serde_json::Value,
}

/// A TMF622 `cancelProductOrder` request. `refused` says why the order did
/// not take it (past a point of no return, already ended).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TmfCancel {
    pub id: String,
    pub order: String,
    pub api_version: String,
    pub reason: Option<String>,
    pub refused: Option<String>,
    pub requested_at: String,
}

/// A TMF hub subscription: events are POSTed to `callback`; `query`
/// (`eventType=A,B`) filters them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TmfHub {
    pub id: String,
    pub callback: String,
    pub query: Option<String>,
}

/// An event of the outbox due for delivery to a hub.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub seq: i64,
    pub hub: String,
    pub callback: String,
    pub order: String,
    pub event: serde_json::Value,
    /// Attempts made so far.
    pub attempts: u32,
}

/// The state folder's default location (`--state`, env `ORDO_STATE`).
pub const DEFAULT_STATE_DIR: &str = ".ordo";

/// Where orders live between and during runs.
pub trait Store: Send + Sync {
    /// Stores a new order (version 1, `acknowledged`, every task `pending`)
    /// with its plan and the order document. Refuses an order id the store
    /// already holds, pointing to `ordo resume`.
    fn create_order(&self, plan: &Plan, document: &serde_json::Value) -> Result<(), StoreError> {
        self.create_bound_order(plan, document, None).map(drop)
    }

    /// [`Store::create_order`], keeping with the order the bindings it runs
    /// with (in the same transaction), so that resuming needs no file.
    /// Answers the order's status as created, as
    /// [`Store::create_tmf_order`] does.
    fn create_bound_order(
        &self,
        plan: &Plan,
        document: &serde_json::Value,
        bindings: Option<&BindingsRecord>,
    ) -> Result<OrderStatus, StoreError>;

    /// Replaces the bindings kept with an order (`ordo resume --bindings`).
    fn set_bindings(&self, order: &str, bindings: &BindingsRecord) -> Result<(), StoreError>;

    /// The latest version of an order: its plan, states and task records.
    fn load(&self, order: &str) -> Result<StoredOrder, StoreError>;

    /// Every order, newest first.
    fn list_orders(&self) -> Result<Vec<OrderSummary>, StoreError>;

    /// How many orders are in each state (their latest version), every
    /// state listed, zeros too, in [`OrderState::ALL`] order: what
    /// `/metrics` shows, without reading each order's summary.
    fn order_counts(&self) -> Result<Vec<(OrderState, usize)>, StoreError> {
        Ok(status::by_state(
            self.list_orders()?.into_iter().map(|o| (o.state, 1)),
        ))
    }

    /// The orders that may have work to do (`acknowledged` or
    /// `in_progress`, in their latest version), newest first, with what a
    /// resident engine compares to tell whether a parked one changed: what
    /// the engine's poll reads, without the task counts of
    /// [`Store::list_orders`] nor the orders that ended.
    fn waiting_orders(&self) -> Result<Vec<WaitingOrder>, StoreError> {
        Ok(self
            .list_orders()?
            .into_iter()
            .filter(|o| WaitingOrder::may_have_work(o.state))
            .map(|o| WaitingOrder {
                id: o.id,
                state: o.state,
                updated_at: o.updated_at,
                cancel_requested: o.cancel_requested,
            })
            .collect())
    }

    /// One order in detail: the `ordo status ID --format json` shape.
    fn order_status(&self, order: &str) -> Result<OrderStatus, StoreError>;

    /// The order's journal, oldest first: every event recorded for it.
    fn events(&self, order: &str) -> Result<Vec<JournalEntry>, StoreError>;

    /// Takes the order's runner lock, or says which live process holds it. A
    /// lock left by a dead process (or with a stale heartbeat) is taken over.
    /// The lock is released when dropped.
    fn acquire_runner(&self, order: &str) -> Result<RunnerLock, StoreError>;

    /// The journal the executor records the order's events through, for the
    /// holder of its lock. Each call gives another handle (one per worker
    /// thread, say); handles of one store commit concurrent events together.
    /// Once the lock is lost, every record fails.
    fn journal(&self, lock: &RunnerLock) -> Result<Box<dyn Journal>, StoreError>;

    /// Asks for the order to be cancelled: sets the flag that the journal's
    /// `cancel_requested` reports to the runner. Refused once a
    /// point-of-no-return task is done, or when the order is already
    /// completed, failed or cancelled. The outcome names the live runner, if
    /// any; without one, the caller takes the lock and compensates itself.
    fn request_cancel(&self, order: &str) -> Result<CancelOutcome, StoreError>;

    /// One product instance of the installed base (SPEC §8.1).
    fn instance(&self, id: &str) -> Result<Option<Instance>, StoreError>;

    /// The instances that match `filter`, by id.
    fn instances(&self, filter: &InstanceFilter) -> Result<Vec<Instance>, StoreError>;

    /// The order in flight (not yet ended) with an item that changes the
    /// instance, if any.
    fn changing(&self, instance: &str) -> Result<Option<String>, StoreError>;

    /// Stores a revision of an order in flight (SPEC §8.2): `plan`, planned
    /// from the revised `document`, becomes its next version once applied.
    /// Refused, writing nothing, once the order ended, a point of no return
    /// succeeded, a cancel was requested, or while another revision waits;
    /// with `settled` (no runner will stop at a safe point: the caller
    /// applies it at once) also while a task is not pending, done or
    /// skipped. Returns the version it will make. The journal's
    /// `revision_requested` tells a live runner to stop at a safe point.
    fn request_revision(
        &self,
        plan: &Plan,
        document: &serde_json::Value,
        settled: bool,
    ) -> Result<u32, StoreError>;

    /// The order's revision requested or under way, if any.
    fn pending_revision(&self, order: &str) -> Result<Option<PendingRevision>, StoreError>;

    /// For the holder of the lock: records the requested revision's delta,
    /// after which its undos may run; refuses it (recording why) if the
    /// order no longer takes it.
    fn begin_revision(
        &self,
        lock: &RunnerLock,
        delta: &crate::plan::revision::Revision,
    ) -> Result<(), StoreError>;

    /// For the holder of the lock, once the begun revision's undos are
    /// done: writes its version (keep tasks carried over, every other one
    /// pending) and makes it the order's latest.
    fn switch_revision(
        &self,
        lock: &RunnerLock,
        revision: &PendingRevision,
    ) -> Result<(), StoreError>;

    /// [`Store::create_bound_order`] for an order that came as a TMF622
    /// ProductOrder: its TMF record is written in the same transaction.
    /// Answers the order's status as created (what [`Store::order_status`]
    /// reads until the order is advanced), so that the ProductOrder is
    /// answered without reading it back.
    fn create_tmf_order(
        &self,
        plan: &Plan,
        document: &serde_json::Value,
        bindings: Option<&BindingsRecord>,
        tmf: &TmfRecord,
    ) -> Result<OrderStatus, StoreError>;

    /// The TMF record of an order, if it came as a ProductOrder.
    fn tmf_order(&self, order: &str) -> Result<Option<TmfRecord>, StoreError>;

    /// Replaces the TMF record of an order (a revision changed its items).
    fn set_tmf_order(&self, order: &str, tmf: &TmfRecord) -> Result<(), StoreError>;

    /// The orders that came as ProductOrders, newest first; with
    /// `external_id`, only those with that external id.
    fn tmf_orders(&self, external_id: Option<&str>) -> Result<Vec<String>, StoreError>;

    /// Records a `cancelProductOrder` request of `order` and assigns its id.
    fn create_tmf_cancel(
        &self,
        order: &str,
        api_version: &str,
        reason: Option<&str>,
        refused: Option<&str>,
    ) -> Result<TmfCancel, StoreError>;

    /// One `cancelProductOrder` request.
    fn tmf_cancel(&self, id: &str) -> Result<Option<TmfCancel>, StoreError>;

    /// Subscribes a hub listener.
    fn create_hub(&self, callback: &str, query: Option<&str>) -> Result<TmfHub, StoreError>;

    /// Ends a subscription; false when there is none.
    fn delete_hub(&self, id: &str) -> Result<bool, StoreError>;

    /// The live subscriptions, oldest first.
    fn hubs(&self) -> Result<Vec<TmfHub>, StoreError>;

    /// The TMF state last notified for an order.
    fn tmf_notified(&self, order: &str) -> Result<Option<String>, StoreError>;

    /// Records `state` as notified for `order` in place of `before` (the
    /// state the caller read as notified) and queues `events` (hub id,
    /// event) in the durable outbox, in one transaction; false (nothing
    /// queued) when the notified state is no longer `before` (another
    /// server notified since) or is `state` already.
    fn tmf_notify(
        &self,
        order: &str,
        before: Option<&str>,
        state: &str,
        events: &[(String, serde_json::Value)],
    ) -> Result<bool, StoreError>;

    /// The outbox events due at `now`: per hub and order only the oldest
    /// undelivered one, so that each order's events go out in order.
    fn tmf_due(&self, now: &str) -> Result<Vec<Delivery>, StoreError>;

    /// Records a delivery: done (`error` none), or failed and due again at
    /// `next_at`.
    fn tmf_delivered(&self, seq: i64, error: Option<&str>, next_at: &str)
        -> Result<(), StoreError>;

    /// The work items that match `filter`, oldest ready first.
    fn work_items(&self, filter: &WorkFilter) -> Result<Vec<WorkItem>, StoreError>;

    /// The work item of an order's task.
    fn work_item(&self, order: &str, task: &str) -> Result<WorkItem, StoreError>;

    /// A person's change to a work item, as a compare-and-set recorded (with
    /// `by`) in the order's journal: refused when someone else holds the
    /// item or it has ended. Completing or failing it does not move the
    /// order: the next run of the order takes it up.
    fn change_work(
        &self,
        order: &str,
        task: &str,
        by: &str,
        request: &WorkRequest,
    ) -> Result<WorkItem, StoreError>;

    /// A connection that waits for order changes announced by any process
    /// (PostgreSQL's `LISTEN`), for a resident engine to wake on; `None`
    /// when the store announces none (SQLite: the engine polls).
    fn listen(&self) -> Result<Option<postgres::Listener>, StoreError> {
        Ok(None)
    }
}
