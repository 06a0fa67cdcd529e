//! `ordo cancel`: ask the runner of an order to stop and compensate, or,
//! when no process runs it, compensate it here and now.

use super::execute::{checked_bindings, execute_durable, Durable};
use super::state::{bindings_for, open_for, store_error, take_order};
use super::{CancelArgs, Exit};
use crate::exec::OrderState;
use crate::render::Format;

pub(crate) fn cancel(args: &CancelArgs) -> Exit {
    let store = match open_for(&args.state, &args.order_id) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    let outcome = match store.request_cancel(&args.order_id) {
        Ok(o) => o,
        Err(e) => return store_error(e),
    };
    if let Some(runner) = &outcome.runner {
        println!(
            "cancel requested: the runner of order {} (pid {} on {}) starts no new task, lets running ones finish and compensates",
            outcome.order, runner.pid, runner.host
        );
        return Exit::Success;
    }
    // Nobody runs the order: compensate it here.
    let (lock, stored) = match take_order(&*store, &args.order_id) {
        Ok(taken) => taken,
        Err(exit) => return exit,
    };
    let (record, _) = match bindings_for(&args.state.path, &stored, args.bindings.as_deref()) {
        Ok(found) => found,
        Err(exit) => {
            eprintln!(
                "the cancel request stands: `ordo cancel {0} --bindings FILE` or `ordo resume {0} --bindings FILE` compensates the order",
                stored.id
            );
            return exit;
        }
    };
    let bindings = match checked_bindings(&record, &stored.plan, Format::Human) {
        Ok(b) => b,
        Err(exit) => return exit,
    };
    execute_durable(Durable {
        store: &*store,
        lock: &lock,
        state: &args.state.path,
        plan: &stored.plan,
        initial: stored.records,
        bindings: &bindings,
        jobs: crate::exec::ExecOptions::default().jobs,
        quiet: args.quiet,
        failures: args.failures,
    });
    // The cancel succeeded if the order ended cancelled.
    match store.load(&args.order_id) {
        Ok(s) if s.state == OrderState::Cancelled => Exit::Success,
        Ok(s) => {
            eprintln!(
                "order {} ended {}, not cancelled{}",
                s.id,
                s.state.as_str(),
                s.reason.map(|r| format!(": {r}")).unwrap_or_default()
            );
            Exit::Failure
        }
        Err(e) => store_error(e),
    }
}
