//! The shipped example: the example catalog, an example order, and
//! `examples/bindings.yaml` with its plugin doing real (local) work.

use std::path::Path;

use ordo::compile::compile;
use ordo::exec::{summary, Bindings, ExecOptions, Executor, MemoryJournal, OrderState, TaskState};
use ordo::order::read_order;
use ordo::plan::{decompose, Plan};
use ordo::source::{SourceFile, Sources};

fn plan_of(order: &str) -> Plan {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = Sources::load_catalog(&root.join("catalog")).unwrap();
    let (catalog, diags) = compile(&sources);
    let catalog = catalog.unwrap_or_else(|| panic!("{diags:?}"));
    let text = std::fs::read_to_string(root.join(order)).unwrap();
    let f = sources.add(SourceFile::new(order, text));
    let doc = read_order(f, sources.get(f)).unwrap_or_else(|d| panic!("{d:?}"));
    decompose(&catalog, &doc)
        .unwrap_or_else(|d| panic!("{d:?}"))
        .0
}

#[test]
fn the_example_bindings_fulfil_an_order_through_the_plugin() {
    let state = tempfile::tempdir().unwrap();
    // The plugin inherits ordo's environment; this is the only test here.
    std::env::set_var("ORDO_PLUGIN_DIR", state.path());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = Sources::new();
    let bindings = Bindings::load(&root.join("examples/bindings.yaml"), &mut sources).unwrap();
    let plan = plan_of("examples/broadband.yaml");
    let executor = Executor::new(&plan, &bindings, ExecOptions::default()).unwrap();
    let outcome = executor
        .run(Vec::new(), &mut MemoryJournal::new(), &mut |_| {})
        .unwrap();
    let table = summary(&plan, &outcome);
    assert_eq!(outcome.state, OrderState::Completed, "{table}");
    assert!(outcome
        .tasks
        .iter()
        .all(|t| matches!(t.record.state, TaskState::Done | TaskState::Skipped)));
    for kind in ["ports", "shipments", "circuits", "reservations"] {
        let n = std::fs::read_dir(state.path().join(kind)).map_or(0, |d| d.count());
        assert_eq!(n, 1, "{kind}: {table}");
    }

    // Every example order completes with the example bindings (simulation
    // alone would fail the credit check: a simulated score is 0).
    for order in [
        "examples/triple-play.yaml",
        "examples/voip-on-broadband.yaml",
        "examples/modify-speed.yaml",
        "examples/disconnect.yaml",
    ] {
        let plan = plan_of(order);
        let executor = Executor::new(&plan, &bindings, ExecOptions::default()).unwrap();
        let outcome = executor
            .run(Vec::new(), &mut MemoryJournal::new(), &mut |_| {})
            .unwrap();
        assert_eq!(
            outcome.state,
            OrderState::Completed,
            "{order}: {}",
            summary(&plan, &outcome)
        );
    }
}
