//! `ordo run`: plan an order and execute it (SPEC §6).

use super::execute::{execute, load_bindings, order_log, Run};
use super::order::plan_order;
use super::{Exit, RunArgs};
use crate::exec::JsonLinesJournal;

pub(crate) fn run(args: &RunArgs) -> Exit {
    let (plan, _) = match plan_order(&args.catalog.path, &args.order, false) {
        Ok(p) => p,
        Err(exit) => return exit,
    };
    let bindings = match load_bindings(args.bindings.as_deref()) {
        Ok(b) => b,
        Err(exit) => return exit,
    };
    let log = match order_log(&args.state.path, &plan.order) {
        Ok(l) => l,
        Err(exit) => return exit,
    };
    let events = args
        .state
        .path
        .join("events")
        .join(format!("{}.jsonl", plan.order));
    let journal = std::fs::create_dir_all(events.parent().unwrap_or(&args.state.path))
        .and_then(|()| JsonLinesJournal::append(&events, &plan));
    let mut journal = match journal {
        Ok(j) => j,
        Err(e) => {
            eprintln!(
                "error: cannot write the events log {}: {e}",
                events.display()
            );
            return Exit::Error;
        }
    };
    let run = Run {
        plan: &plan,
        bindings: &bindings,
        jobs: args.jobs,
        quiet: args.quiet,
        log,
        initial: Vec::new(),
    };
    execute(run, &mut journal)
}
