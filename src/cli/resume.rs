//! `ordo resume`: continue an order with the plan stored with it, after a
//! crash, a hold or an interruption. Needs no catalog.

use std::path::Path;

use super::execute::{checked_bindings, execute_durable, Durable};
use super::state::{bindings_for, open_for, store_error, take_order};
use super::{Exit, ResumeArgs};
use crate::exec::OrderState;
use crate::source::Sources;

pub(crate) fn resume(args: &ResumeArgs) -> Exit {
    let store = match open_for(&args.state, &args.order_id) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    let (lock, stored) = match take_order(&*store, &args.order_id) {
        Ok(taken) => taken,
        Err(exit) => return exit,
    };
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
    let (record, fresh) = match bindings_for(&args.state.path, &stored, args.bindings.as_deref()) {
        Ok(found) => found,
        Err(exit) => return exit,
    };
    let bindings = match checked_bindings(&record, &stored.plan, args.format) {
        Ok(b) => b,
        Err(exit) => return exit,
    };
    // Kept once checked: the next resume continues with these.
    if fresh {
        if let Err(e) = store.set_bindings(&stored.id, &record) {
            return store_error(e);
        }
    }
    execute_durable(Durable {
        store: &*store,
        lock: &lock,
        state: &args.state.path,
        plan: &stored.plan,
        initial: stored.records,
        bindings: &bindings,
        jobs: args.jobs.n,
        quiet: args.quiet,
        failures: args.failures,
    })
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
