//! Advancing an order: one executor run of an order whose runner lock is
//! held, from its stored task records, recording every transition in the
//! store first (it is durable before the events log shows it) and then in
//! `STATE/events/ORDER.jsonl`.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::store::{events_log, order_log};
use super::LifecycleError;
use crate::exec::{Bindings, Event, ExecOptions, Executor, RunOutcome, TaskRecord, Tee};
use crate::plan::Plan;
use crate::store::{RunnerLock, Store};

/// One order to advance.
pub struct Advance<'a> {
    pub store: &'a dyn Store,
    pub lock: &'a RunnerLock,
    /// The state folder (for the events log and the plugin log).
    pub state: &'a Path,
    pub plan: &'a Plan,
    /// The stored task records (empty for a new order).
    pub initial: Vec<TaskRecord>,
    pub bindings: &'a Bindings,
    /// How to run; the plugin log is set here.
    pub options: ExecOptions,
}

/// Where an advance left the order.
#[derive(Debug, Clone, PartialEq)]
pub enum Advanced {
    /// The run returned with the order in its final state, or held for an
    /// operator: nothing moves it without an outside call.
    Ended(RunOutcome),
    /// The run returned because the order waits (on a work item, or on a
    /// timer due at `next_due`); the caller advances it again when woken.
    Parked {
        outcome: RunOutcome,
        next_due: Option<DateTime<Utc>>,
    },
}

impl Advanced {
    pub fn outcome(&self) -> &RunOutcome {
        match self {
            Advanced::Ended(o) | Advanced::Parked { outcome: o, .. } => o,
        }
    }
}

/// Runs the order until the executor returns; `observer` sees every event
/// once it is recorded.
pub fn advance(
    a: Advance<'_>,
    observer: &mut dyn FnMut(&Event),
) -> Result<Advanced, LifecycleError> {
    let log = order_log(a.state, &a.plan.order)?;
    let events = events_log(a.state, a.plan)?;
    let durable = a.store.journal(a.lock)?;
    let options = ExecOptions {
        log: Some(log),
        ..a.options
    };
    let executor =
        Executor::new(a.plan, a.bindings, options).map_err(LifecycleError::Unrunnable)?;
    let outcome = executor
        .run(a.initial, &mut Tee(durable, events), observer)
        .map_err(LifecycleError::Exec)?;
    Ok(Advanced::Ended(outcome))
}
