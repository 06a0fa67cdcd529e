//! The order lifecycle: what the command line and the server both call to
//! submit, advance and cancel orders. Each step opens what it needs (the
//! catalog, the store, the bindings), does one thing, and returns a typed
//! [`LifecycleError`]; nothing here prints or picks an exit status, so that
//! each adapter renders the same outcome its own way (`docs/server.md`).
//!
//! The arrows point one way: adapters (`cli`, `server`) → `lifecycle` →
//! (`plan`, `exec`, `store`).

pub mod advance;
pub mod cancel;
pub mod engine;
pub mod mark;
pub mod revise;
pub mod store;
pub mod submit;
pub mod work;

pub use advance::{advance, Advance, Advanced};
pub use cancel::{request_cancel, CancelRequest};
pub use store::{
    bindings_for, check_order_id, events_log, events_path, live_runner, open_for, open_store,
    order_journal, order_log, take_order, EventsLog,
};
pub use submit::{
    checked_bindings, compile_catalog, load_catalog, plan_order_file, plan_order_text,
    plan_product_order, read_bindings, submit, CompiledCatalog, Planned,
};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::exec::{BindingsError, ExecError};
use crate::order::ORDER_ID_RULE;
use crate::source::Sources;
use crate::store::StoreError;

/// Why a lifecycle step did not happen.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// The store refused (the order is not in a state for this) or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The catalog cannot be read at all (missing folder, no `.ordo` files).
    #[error("{}", .0.message)]
    Catalog(Box<Diagnostic>),
    /// The catalog, the order or the bindings have errors: every diagnostic,
    /// with the sources their positions point into.
    #[error("{} error(s) in the catalog, the order or the bindings", .diags.errors())]
    Invalid {
        diags: Diagnostics,
        sources: Sources,
    },
    /// The bindings file cannot be read.
    #[error(transparent)]
    Bindings(BindingsError),
    /// Nothing says which bindings a stored order ran with.
    #[error(
        "{why}, so the bindings order {order} ran with are unknown; pass them with --bindings FILE"
    )]
    UnknownBindings { order: String, why: String },
    /// A string that could not have been stored as an order id.
    #[error("`{}` is not an order id: {ORDER_ID_RULE}", .0.escape_debug())]
    OrderId(String),
    /// A file of the order or the state folder cannot be read or written.
    #[error("{0}")]
    Io(String),
    /// A revision names another order than the one it revises.
    #[error(
        "the revised order is {revised}, not {order}: a revision is the whole order as it \
         should now be, under the same id"
    )]
    OtherOrder { order: String, revised: String },
    /// The executor refuses the plan with these bindings (nothing ran).
    #[error(transparent)]
    Unrunnable(ExecError),
    /// The run stopped: a transition could not be recorded, or the records
    /// do not fit the plan.
    #[error(transparent)]
    Exec(ExecError),
}

/// What kind of failure a [`LifecycleError`] is, for an adapter to map to
/// its own statuses (an exit code, an HTTP status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// What the caller gave is invalid (catalog, order, bindings).
    Invalid,
    /// The order is not in a state to do this.
    Conflict,
    /// No such order.
    NotFound,
    /// A usage, I/O or store problem.
    Other,
}

impl LifecycleError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            LifecycleError::Store(
                StoreError::NoSuchOrder { .. } | StoreError::NoSuchWorkItem { .. },
            ) => ErrorKind::NotFound,
            LifecycleError::Store(StoreError::OrderExists { .. } | StoreError::Locked { .. }) => {
                ErrorKind::Conflict
            }
            LifecycleError::Store(e) if store_conflict(e) => ErrorKind::Conflict,
            LifecycleError::Invalid { .. }
            | LifecycleError::Unrunnable(_)
            | LifecycleError::OrderId(_)
            | LifecycleError::OtherOrder { .. } => ErrorKind::Invalid,
            _ => ErrorKind::Other,
        }
    }
}

/// The store errors that say the order is not in a state to do this (as
/// opposed to usage and I/O).
pub fn store_conflict(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::PastPointOfNoReturn { .. }
            | StoreError::OutcomeUnknown { .. }
            | StoreError::AlreadyFinal { .. }
            | StoreError::LostLock { .. }
            | StoreError::InstanceUnavailable { .. }
            | StoreError::ReviseEnded { .. }
            | StoreError::RevisePastPointOfNoReturn { .. }
            | StoreError::ReviseCancelling { .. }
            | StoreError::RevisionPending { .. }
            | StoreError::ReviseUnsettled { .. }
            | StoreError::NoSuchWorkItem { .. }
            | StoreError::WorkItemTaken { .. }
            | StoreError::WorkItemClosed { .. }
            | StoreError::WorkItemNotClaimed { .. }
    )
}
