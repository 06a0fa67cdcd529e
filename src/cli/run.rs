//! `ordo run`: plan an order and execute it (SPEC §6).

use super::outcome::{execute, fail, plan_order, Shown};
use super::{Exit, RunArgs};
use crate::lifecycle::{self, Advance};
use crate::render::Format;

pub(crate) fn run(args: &RunArgs) -> Exit {
    let json = args.format == Format::Json;
    let planned = match plan_order(&args.catalog.path, &args.order, &args.state, json) {
        Ok(p) => p,
        Err(exit) => return exit,
    };
    // Checked against the plan before the order is stored: a mistake found
    // once tasks run would come after their side effects.
    let checked = lifecycle::read_bindings(args.bindings.as_deref())
        .map_err(|e| fail(e, Format::Human))
        .and_then(|record| {
            lifecycle::checked_bindings(&record, &planned.plan)
                .map(|b| (record, b))
                .map_err(|e| fail(e, args.format))
        });
    let (record, bindings) = match checked {
        Ok(c) => c,
        Err(exit) => return exit,
    };
    let at = args.state.location();
    let stored = at
        .and_then(|at| lifecycle::open_store(&at))
        .and_then(|store| {
            lifecycle::submit(&*store, &planned, &record)?;
            let lock = store.acquire_runner(&planned.plan.order)?;
            Ok((store, lock))
        });
    let (store, lock) = match stored {
        Ok(s) => s,
        Err(e) => return fail(e, Format::Human),
    };
    execute(
        Advance::new(
            &*store,
            &lock,
            &args.state.path,
            &planned.plan,
            &[],
            &bindings,
        )
        .jobs(args.jobs.n)
        .park(!args.wait),
        &Shown {
            quiet: args.quiet,
            failures: args.failures,
        },
    )
}
