//! `ordo run`: plan an order and execute it (SPEC §6).

use super::execute::{execute_durable, load_bindings, Durable};
use super::order::plan_order_file;
use super::state::{open_store, remember_bindings, store_error};
use super::{Exit, RunArgs};
use crate::store::Store;

pub(crate) fn run(args: &RunArgs) -> Exit {
    let (plan, sources, file) =
        match plan_order_file(&args.catalog.path, &args.order, &args.state.path, false) {
            Ok(p) => p,
            Err(exit) => return exit,
        };
    let bindings = match load_bindings(args.bindings.as_deref()) {
        Ok(b) => b,
        Err(exit) => return exit,
    };
    let store = match open_store(&args.state.path) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    // The order as given, kept with its plan. It parsed a moment ago.
    let document = crate::yaml::parse(file, sources.get(file))
        .map(|n| n.to_json())
        .unwrap_or_default();
    if let Err(e) = store.create_order(&plan, &document) {
        return store_error(e);
    }
    if let Err(exit) = remember_bindings(&args.state.path, &plan.order, args.bindings.as_deref()) {
        return exit;
    }
    let lock = match store.acquire_runner(&plan.order) {
        Ok(l) => l,
        Err(e) => return store_error(e),
    };
    execute_durable(Durable {
        store: &store,
        lock: &lock,
        state: &args.state.path,
        plan: &plan,
        initial: Vec::new(),
        bindings: &bindings,
        jobs: args.jobs.n,
        quiet: args.quiet,
    })
}
