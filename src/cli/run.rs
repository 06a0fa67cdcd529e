//! `ordo run`: plan an order and execute it (SPEC §6).

use super::execute::{checked_bindings, execute_durable, read_bindings, Durable};
use super::order::plan_order_file;
use super::state::{open_store, store_error};
use super::{Exit, RunArgs};
use crate::render::Format;

pub(crate) fn run(args: &RunArgs) -> Exit {
    let json = args.format == Format::Json;
    let (plan, sources, file) =
        match plan_order_file(&args.catalog.path, &args.order, &args.state, json) {
            Ok(p) => p,
            Err(exit) => return exit,
        };
    // Checked against the plan before the order is stored: a mistake found
    // once tasks run would come after their side effects.
    let record = match read_bindings(args.bindings.as_deref()) {
        Ok(r) => r,
        Err(exit) => return exit,
    };
    let bindings = match checked_bindings(&record, &plan, args.format) {
        Ok(b) => b,
        Err(exit) => return exit,
    };
    let store = match open_store(&args.state) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    // The order as given, kept with its plan. It parsed a moment ago.
    let document = crate::yaml::parse(file, sources.get(file))
        .map(|n| n.to_json())
        .unwrap_or_default();
    if let Err(e) = store.create_bound_order(&plan, &document, Some(&record)) {
        return store_error(e);
    }
    let lock = match store.acquire_runner(&plan.order) {
        Ok(l) => l,
        Err(e) => return store_error(e),
    };
    execute_durable(Durable {
        store: &*store,
        lock: &lock,
        state: &args.state.path,
        plan: &plan,
        initial: Vec::new(),
        bindings: &bindings,
        jobs: args.jobs.n,
        quiet: args.quiet,
        failures: args.failures,
    })
}
