//! Advancing an order: one executor run of an order whose runner lock is
//! held, from its stored task records, recording every transition in the
//! store first (it is durable before the events log shows it) and then, as
//! the CLI does and a server only when asked, in
//! `STATE/events/ORDER.jsonl`. Exec plugins' stderr goes to
//! `STATE/logs/ORDER.log`, made for an order whose bindings have one.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::revise::{apply_waiting, options_for, Applied};
use super::store::{order_journal, order_log, EventsLog};
use super::LifecycleError;
use crate::exec::{
    Bindings, Event, ExecOptions, Executor, Implementation, OrderState, RunOutcome, TaskRecord,
    WaitingOn,
};
use crate::plan::Plan;
use crate::store::{RunnerLock, Store, StoredOrder};

/// One order to advance.
pub struct Advance<'a> {
    pub store: &'a dyn Store,
    pub lock: &'a RunnerLock,
    /// The state folder (for the events log and the plugin log).
    pub state: &'a Path,
    /// Whether the events log is written (it is by default).
    pub events_log: EventsLog,
    pub plan: &'a Plan,
    /// The stored task records (empty for a new order), borrowed: the run
    /// starts from the store's (or `loaded`'s) copy.
    pub initial: &'a [TaskRecord],
    pub bindings: &'a Bindings,
    /// How to run; the plugin log is set here.
    pub options: ExecOptions,
    /// The order as loaded after its lock was taken, if the caller has it:
    /// the run starts from it unless a revision is applied first (the
    /// store is read again otherwise).
    pub loaded: Option<&'a StoredOrder>,
}

impl<'a> Advance<'a> {
    /// An advance with the default options.
    pub fn new(
        store: &'a dyn Store,
        lock: &'a RunnerLock,
        state: &'a Path,
        plan: &'a Plan,
        initial: &'a [TaskRecord],
        bindings: &'a Bindings,
    ) -> Advance<'a> {
        Advance {
            store,
            lock,
            state,
            events_log: EventsLog::PerOrder,
            plan,
            initial,
            bindings,
            options: ExecOptions::default(),
            loaded: None,
        }
    }

    /// An advance of a stored order from its task records; `stored` was
    /// loaded with `lock` held.
    pub fn stored(
        store: &'a dyn Store,
        lock: &'a RunnerLock,
        state: &'a Path,
        stored: &'a StoredOrder,
        bindings: &'a Bindings,
    ) -> Advance<'a> {
        Advance {
            loaded: Some(stored),
            ..Advance::new(store, lock, state, &stored.plan, &stored.records, bindings)
        }
    }

    /// At most `jobs` attempts of this order at once.
    pub fn jobs(mut self, jobs: usize) -> Advance<'a> {
        self.options.jobs = jobs;
        self
    }

    /// Whether to return once only waits are left (`true`, the default), or
    /// to stay until the order ends (`--wait`).
    pub fn park(mut self, park: bool) -> Advance<'a> {
        self.options.park = park;
        self
    }
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
/// once it is recorded. A revision that waits, or that the run stops for at
/// a safe point, is applied ([`super::revise::apply_pending`]) and the order
/// goes on in its version; the outcome is then the latest version's (its
/// plan is the store's latest).
pub fn advance(
    a: Advance<'_>,
    observer: &mut dyn FnMut(&Event),
) -> Result<Advanced, LifecycleError> {
    // Only exec plugins write to the order's log: without one, no file.
    let plugins = a
        .bindings
        .entries()
        .iter()
        .any(|b| matches!(b.implementation, Implementation::Exec { .. }));
    let log = if plugins {
        Some(order_log(a.state, &a.plan.order)?)
    } else {
        None
    };
    let base = ExecOptions { log, ..a.options };
    let apply = super::revise::Apply {
        store: a.store,
        lock: a.lock,
        bindings: a.bindings,
        options: base.clone(),
    };
    let mut loaded = a.loaded;
    loop {
        let applied = apply_waiting(&apply, a.state, a.events_log, observer)?;
        if let Applied::Held(outcome) = applied {
            return Ok(Advanced::Ended(outcome));
        }
        // The latest version as the store has it (a revision may have
        // switched it): its plan, records, and the keys of redone tasks;
        // the first time, with no revision applied, the order as the
        // caller loaded it under the lock (nothing else writes it since).
        let read;
        let stored = match (loaded.take(), applied) {
            (Some(stored), Applied::Nothing) => stored,
            _ => {
                read = a.store.load(a.lock.order())?;
                &read
            }
        };
        let options = options_for(stored, base.clone());
        let mut journal = order_journal(a.store, a.lock, a.state, a.events_log, &stored.plan)?;
        let executor =
            Executor::new(&stored.plan, a.bindings, options).map_err(LifecycleError::Unrunnable)?;
        let outcome = executor
            .run(stored.records.clone(), &mut *journal, observer)
            .map_err(LifecycleError::Exec)?;
        if outcome.revising {
            continue;
        }
        if outcome.state != OrderState::InProgress {
            // A revision the order ended before taking is refused (status
            // says why).
            apply_waiting(&apply, a.state, a.events_log, observer)?;
            return Ok(Advanced::Ended(outcome));
        }
        // Parked: woken by a work item's end, or at the first timer.
        let next_due = next_due(&outcome.waiting);
        return Ok(Advanced::Parked { outcome, next_due });
    }
}

/// The first timer of a parked order: the earliest of the times it waits
/// for (`None` when it waits on work items only).
pub fn next_due(waiting: &[WaitingOn]) -> Option<DateTime<Utc>> {
    waiting
        .iter()
        .filter_map(|w| match w {
            WaitingOn::At { at, .. } => DateTime::parse_from_rfc3339(at).ok(),
            WaitingOn::WorkItem { .. } => None,
        })
        .map(|t| t.with_timezone(&Utc))
        .min()
}
