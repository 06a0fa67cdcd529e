//! `ordo resume`: continue an order with the plan stored with it, after a
//! crash, a hold or an interruption. Needs no catalog.

use std::path::Path;

use super::outcome::{execute, fail, Shown};
use super::{Exit, ResumeArgs};
use crate::exec::OrderState;
use crate::lifecycle::{self, Advance};
use crate::render::Format;
use crate::source::Sources;
use crate::store::{RunnerLock, Store, StoredOrder};

pub(crate) fn resume(args: &ResumeArgs) -> Exit {
    let at = args.state.location();
    let taken = at
        .and_then(|at| lifecycle::open_for(&at, &args.order_id))
        .and_then(|store| {
            let (lock, stored) = lifecycle::take_order(&*store, &args.order_id)?;
            Ok((store, lock, stored))
        });
    let (store, lock, stored) = match taken {
        Ok(t) => t,
        Err(e) => return fail(e, Format::Human),
    };
    resume_taken(&*store, &lock, stored, args)
}

/// Continues an order whose runner lock is held (`ordo resume`, and `ordo
/// task complete|fail` when no runner holds the order).
pub(crate) fn resume_taken(
    store: &dyn Store,
    lock: &RunnerLock,
    stored: StoredOrder,
    args: &ResumeArgs,
) -> Exit {
    if stored.state.is_final() {
        eprintln!(
            "order {} is already {}: nothing to resume",
            stored.id,
            stored.state.as_str()
        );
        return if stored.state == OrderState::Completed {
            Exit::Success
        } else {
            Exit::Failure
        };
    }
    note_catalog_change(&stored.plan.catalog_hash, &stored.id);
    let (record, fresh) =
        match lifecycle::bindings_for(&args.state.path, &stored, args.bindings.as_deref()) {
            Ok(found) => found,
            Err(e) => return fail(e, Format::Human),
        };
    let bindings = match lifecycle::checked_bindings(&record, &stored.plan) {
        Ok(b) => b,
        Err(e) => return fail(e, args.format),
    };
    // Kept once checked: the next resume continues with these.
    if fresh {
        if let Err(e) = store.set_bindings(&stored.id, &record) {
            return fail(e.into(), Format::Human);
        }
    }
    execute(
        Advance::stored(store, lock, &args.state.path, &stored, &bindings)
            .jobs(args.jobs.n)
            .park(!args.wait),
        &Shown {
            quiet: args.quiet,
            failures: args.failures,
        },
    )
}

/// Says so when the catalog in reach (`ORDO_CATALOG`, else `catalog`) is not
/// the one the order was planned with: the stored plan is what continues.
fn note_catalog_change(planned_with: &str, order: &str) {
    let path = std::env::var_os("ORDO_CATALOG").unwrap_or_else(|| "catalog".into());
    let Ok(sources) = Sources::load_catalog(Path::new(&path)) else {
        return;
    };
    if sources.files().next().is_some() && sources.content_hash() != planned_with {
        eprintln!(
            "note: the catalog in {} changed since order {order} was planned; resuming the plan stored with the order",
            Path::new(&path).display()
        );
    }
}
