//! `ordo cancel`: ask the runner of an order to stop and compensate, or,
//! when no process runs it, compensate it here and now.

use super::outcome::{execute, fail, store_error, Shown};
use super::{CancelArgs, Exit};
use crate::exec::OrderState;
use crate::lifecycle::{self, Advance, CancelRequest};
use crate::render::Format;

pub(crate) fn cancel(args: &CancelArgs) -> Exit {
    let at = args.state.location();
    let requested = at
        .and_then(|at| lifecycle::open_for(&at, &args.order_id))
        .and_then(|store| {
            let request = lifecycle::request_cancel(&*store, &args.order_id)?;
            Ok((store, request))
        });
    let store = match requested {
        Ok((_, CancelRequest::Runner(outcome))) => {
            if let Some(runner) = &outcome.runner {
                println!(
                    "cancel requested: the runner of order {} (pid {} on {}) starts no new task, lets running ones finish and compensates",
                    outcome.order, runner.pid, runner.host
                );
            }
            return Exit::Success;
        }
        Ok((store, CancelRequest::Unowned(_))) => store,
        Err(e) => return fail(e, Format::Human),
    };
    // Nobody runs the order: compensate it here.
    let (lock, stored) = match lifecycle::take_order(&*store, &args.order_id) {
        Ok(taken) => taken,
        Err(e) => return fail(e, Format::Human),
    };
    let (record, _) = match lifecycle::bindings_for(
        &args.state.path,
        &stored,
        args.bindings.as_deref(),
    ) {
        Ok(found) => found,
        Err(e) => {
            let exit = fail(e, Format::Human);
            eprintln!(
                    "the cancel request stands: `ordo cancel {0} --bindings FILE` or `ordo resume {0} --bindings FILE` compensates the order",
                    stored.id
                );
            return exit;
        }
    };
    let bindings = match lifecycle::checked_bindings(&record, &stored.plan) {
        Ok(b) => b,
        Err(e) => return fail(e, Format::Human),
    };
    execute(
        Advance::stored(&*store, &lock, &args.state.path, &stored, &bindings),
        &Shown {
            quiet: args.quiet,
            failures: args.failures,
        },
    );
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
