//! Revisions: amending an order in flight (SPEC §8.2).
//!
//! A revision is the whole order as it should now be. [`preview`] computes
//! its delta against the running version; [`request`] stores it (refused,
//! writing nothing, when the order takes none); [`apply_pending`] applies it
//! for the holder of the order's runner lock: the delta is recorded, the
//! undos of the `redo` and `undo` tasks run in reverse dependency order of
//! the running version, and the order switches to the new version, in which
//! `keep` tasks count as done. Each step is committed before the next
//! begins, so a run killed at any point resumes the revision where it was.
//!
//! A live runner polls for a requested revision as it polls for a cancel:
//! it stops at a safe point (nothing new starts, running attempts finish)
//! and then applies it; without one, the caller takes the lock and applies
//! it itself.

use super::LifecycleError;
use crate::exec::{
    Bindings, Event, ExecError, ExecOptions, Executor, Journal, OrderState, RunOutcome, TaskState,
};
use crate::plan::revision::{delta, Revision};
use crate::plan::Plan;
use crate::store::{RevisionState, RunnerLock, Store, StoreError, StoredOrder};

/// Why a revision cannot be applied.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ReviseError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error(
        "the revised order is {revised}, not {order}: a revision is the whole order as it \
         should now be, under the same id"
    )]
    #[diagnostic(code(ordo::revise::other_order))]
    OtherOrder { order: String, revised: String },
}

impl From<ReviseError> for LifecycleError {
    fn from(e: ReviseError) -> LifecycleError {
        match e {
            ReviseError::Store(e) => LifecycleError::Store(e),
            ReviseError::Exec(e) => LifecycleError::Exec(e),
            ReviseError::OtherOrder { order, revised } => {
                LifecycleError::OtherOrder { order, revised }
            }
        }
    }
}

/// The delta from the stored order's latest version to `revised`. Done and
/// skipped tasks count as done before (a skipped task had no effect, but
/// its decision was taken).
pub fn preview(stored: &StoredOrder, revised: &Plan) -> Revision {
    let done: Vec<bool> = stored
        .records
        .iter()
        .map(|r| matches!(r.state, TaskState::Done | TaskState::Skipped))
        .collect();
    delta(&stored.plan, &done, revised, stored.version)
}

/// Checks that `revised` revises `stored`, then stores the request
/// ([`Store::request_revision`]; `settled` when no runner lives and the
/// caller applies it at once). Returns the version it will make.
pub fn request(
    store: &dyn Store,
    stored: &StoredOrder,
    revised: &Plan,
    document: &serde_json::Value,
    settled: bool,
) -> Result<u32, ReviseError> {
    if revised.order != stored.id {
        return Err(ReviseError::OtherOrder {
            order: stored.id.clone(),
            revised: revised.order.clone(),
        });
    }
    Ok(store.request_revision(revised, document, settled)?)
}

/// A revision an API accepted: stored, to be applied by the order's runner
/// at a safe point, or by whoever advances it next.
#[derive(Debug)]
pub struct Requested {
    /// The version it will make.
    pub version: u32,
    /// Its delta against the order as it stood when it was requested.
    pub delta: Revision,
    /// Whether a live process runs the order (it stops at a safe point).
    pub runner: bool,
}

/// Requests the revision `planned` of the stored order `order` for an
/// adapter that does not apply it itself (the server: its engine does):
/// the bindings the order runs with are checked against the revised plan,
/// then the request is stored, `settled` when no live process runs the
/// order. Refusals are the store's conflicts; nothing is written then.
pub fn request_planned(
    store: &dyn Store,
    state: &std::path::Path,
    order: &str,
    planned: &super::Planned,
) -> Result<Requested, LifecycleError> {
    let stored = store.load(order)?;
    let (record, _) = super::bindings_for(state, &stored, None)?;
    super::checked_bindings(&record, &planned.plan)?;
    let runner = super::live_runner(store, order)?.is_some();
    let version = request(store, &stored, &planned.plan, &planned.document(), !runner)?;
    Ok(Requested {
        version,
        delta: preview(&stored, &planned.plan),
        runner,
    })
}

/// What [`apply_pending`] did.
#[derive(Debug)]
pub enum Applied {
    /// No revision waits.
    Nothing,
    /// The order runs the revision's version now.
    Switched(Revision),
    /// An undo failed: the order is held, the revision still under way (a
    /// resume tries its undos again).
    Held(RunOutcome),
    /// The order no longer took the revision (recorded as refused, why
    /// given); it goes on in its version.
    Refused(StoreError),
}

/// What applying a revision runs its undos with.
pub struct Apply<'a> {
    pub store: &'a dyn Store,
    pub lock: &'a RunnerLock,
    pub bindings: &'a Bindings,
    /// Jobs, log and the like; version and keys come from the store.
    pub options: ExecOptions,
}

/// Applies the order's pending revision, if any, for the holder of its
/// lock: `journal` records the running version's events (the undos),
/// `observer` sees them. The order must be at a safe point (nothing
/// running), as a runner stopped for the revision leaves it.
pub fn apply_pending(
    a: &Apply<'_>,
    journal: &mut dyn Journal,
    observer: &mut dyn FnMut(&Event),
) -> Result<Applied, ReviseError> {
    let order = a.lock.order();
    let Some(mut pending) = a.store.pending_revision(order)? else {
        return Ok(Applied::Nothing);
    };
    let stored = a.store.load(order)?;
    let delta = match (pending.state, pending.delta.clone()) {
        (RevisionState::Undoing, Some(delta)) => delta,
        // Not at a safe point yet (a task was interrupted while running):
        // the run settles it first, and stops for the revision.
        _ if !stored.state.is_final() && !at_safe_point(&stored) => return Ok(Applied::Nothing),
        _ => {
            let delta = preview(&stored, &pending.plan);
            if let Err(refused) = a.store.begin_revision(a.lock, &delta) {
                return match refused {
                    e @ (StoreError::ReviseEnded { .. }
                    | StoreError::RevisePastPointOfNoReturn { .. }
                    | StoreError::ReviseCancelling { .. }
                    | StoreError::ReviseUnsettled { .. }) => Ok(Applied::Refused(e)),
                    e => Err(e.into()),
                };
            }
            pending.state = RevisionState::Undoing;
            pending.delta = Some(delta.clone());
            delta
        }
    };
    let outcome = take_back(a, &stored, &delta, journal, observer)?;
    if outcome.state == OrderState::Held {
        return Ok(Applied::Held(outcome));
    }
    a.store.switch_revision(a.lock, &pending)?;
    Ok(Applied::Switched(delta))
}

/// Whether every task is pending, done or skipped (none running, none
/// interrupted, failed or compensated).
fn at_safe_point(stored: &StoredOrder) -> bool {
    stored.records.iter().all(|r| {
        !r.undoing
            && matches!(
                r.state,
                TaskState::Pending | TaskState::Done | TaskState::Skipped
            )
    })
}

/// [`apply_pending`] with the order's journal (the store, then the events
/// log in `state` if `log` keeps it), for [`super::advance`]: what a run
/// starts with, and what it does when it stopped for a revision.
pub fn apply_waiting(
    a: &Apply<'_>,
    state: &std::path::Path,
    log: super::EventsLog,
    observer: &mut dyn FnMut(&Event),
) -> Result<Applied, LifecycleError> {
    if a.store.pending_revision(a.lock.order())?.is_none() {
        return Ok(Applied::Nothing);
    }
    let stored = a.store.load(a.lock.order())?;
    let mut journal = super::order_journal(a.store, a.lock, state, log, &stored.plan)?;
    apply_pending(a, &mut *journal, observer).map_err(LifecycleError::from)
}

/// Runs the undos of the revision's `redo` and `undo` tasks on the running
/// version, each with the key of the effect it takes back.
fn take_back(
    a: &Apply<'_>,
    stored: &StoredOrder,
    delta: &Revision,
    journal: &mut dyn Journal,
    observer: &mut dyn FnMut(&Event),
) -> Result<RunOutcome, ReviseError> {
    let options = options_for(stored, a.options.clone());
    let executor = Executor::new(&stored.plan, a.bindings, options)?;
    let undo = delta.to_undo(&stored.plan);
    Ok(executor.take_back(stored.records.clone(), &undo, journal, observer)?)
}

/// The executor options an order's stored version runs with.
pub fn options_for(stored: &StoredOrder, base: ExecOptions) -> ExecOptions {
    ExecOptions {
        version: stored.version,
        redone_at: stored.redone_at.clone(),
        ..base
    }
}
