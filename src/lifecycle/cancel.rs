//! Cancelling an order: the request is recorded in the store, where the
//! process that runs the order (a CLI run, or a server's engine) sees it;
//! when nobody runs the order, the caller compensates it itself by
//! advancing it (the executor compensates a cancel-requested order).

use super::LifecycleError;
use crate::store::{CancelOutcome, Store};

/// What a cancel request found.
#[derive(Debug, Clone, PartialEq)]
pub enum CancelRequest {
    /// A live process runs the order: it starts no new task, lets running
    /// ones finish and compensates.
    Runner(CancelOutcome),
    /// Nobody runs the order: the caller takes its lock and advances it.
    Unowned(CancelOutcome),
}

/// Records the cancel request of `order`.
pub fn request_cancel(store: &dyn Store, order: &str) -> Result<CancelRequest, LifecycleError> {
    let outcome = store.request_cancel(order)?;
    Ok(if outcome.runner.is_some() {
        CancelRequest::Runner(outcome)
    } else {
        CancelRequest::Unowned(outcome)
    })
}
