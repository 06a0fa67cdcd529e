//! The shipped example: the example catalog, an example order, and
//! `examples/bindings.yaml` with its plugin doing real (local) work.

use std::path::Path;

use ordo::compile::compile;
use ordo::exec::{summary, Bindings, ExecOptions, Executor, MemoryJournal, OrderState, TaskState};
use ordo::inventory::InstalledBase;
use ordo::order::read_order;
use ordo::plan::{decompose_on, Plan};
use ordo::source::{SourceFile, Sources};
use ordo::store::{SqliteStore, Store};

fn plan_of(order: &str) -> Plan {
    plan_on(order, None)
}

/// The order's plan against the installed base of `store`, if given.
fn plan_on(order: &str, store: Option<&SqliteStore>) -> Plan {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = Sources::load_catalog(&root.join("catalog")).unwrap();
    let (catalog, diags) = compile(&sources);
    let catalog = catalog.unwrap_or_else(|| panic!("{diags:?}"));
    let text = std::fs::read_to_string(root.join(order)).unwrap();
    let f = sources.add(SourceFile::new(order, text));
    let doc = read_order(f, sources.get(f)).unwrap_or_else(|d| panic!("{d:?}"));
    let base = store.map_or_else(InstalledBase::default, |s| {
        InstalledBase::for_order(s, &doc).unwrap()
    });
    decompose_on(&catalog, &doc, &base)
        .unwrap_or_else(|d| panic!("{order}: {d:?}"))
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
    // alone would fail the credit check: a simulated score is 0), in the
    // order that the modify and delete examples find what they change.
    let store = SqliteStore::open(&state.path().join(".ordo")).unwrap();
    for order in [
        "examples/triple-play.yaml",
        "examples/triple-play-upgrade.yaml",
        "examples/triple-play-cease.yaml",
        "examples/voip-on-broadband.yaml",
        "examples/broadband.yaml",
        "examples/modify-speed.yaml",
        "examples/disconnect.yaml",
    ] {
        let plan = plan_on(order, Some(&store));
        store.create_order(&plan, &document(order)).unwrap();
        let lock = store.acquire_runner(&plan.order).unwrap();
        let mut journal = store.journal(&lock).unwrap();
        let executor = Executor::new(&plan, &bindings, ExecOptions::default()).unwrap();
        let mut outcome = executor.run(Vec::new(), &mut journal, &mut |_| {}).unwrap();
        // The technician's visit is a work item: the order parks until a
        // person of field-ops completes it, then goes on.
        while outcome.state == OrderState::InProgress && !outcome.waiting.is_empty() {
            for item in store.work_items(&Default::default()).unwrap() {
                let given = [
                    ("ont_serial", "\"ONT-1\""),
                    ("closed_at", "\"2026-12-05T11:20:00Z\""),
                ]
                .map(|(name, json)| ordo::lifecycle::work::GivenOutput {
                    name: name.into(),
                    value: ordo::lifecycle::work::GivenValue::Json(
                        serde_json::from_str(json).unwrap(),
                    ),
                    at: name.into(),
                });
                ordo::lifecycle::work::complete(&store, &item.order, &item.task, "tester", &given)
                    .unwrap();
            }
            let records = store.load(&plan.order).unwrap().records;
            outcome = executor.run(records, &mut journal, &mut |_| {}).unwrap();
        }
        assert_eq!(
            outcome.state,
            OrderState::Completed,
            "{order}: {}",
            summary(&plan, &outcome)
        );
    }
}

/// An example order's document as JSON, as `ordo run` stores it.
fn document(order: &str) -> serde_json::Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = Sources::new();
    let text = std::fs::read_to_string(root.join(order)).unwrap();
    let f = sources.add(SourceFile::new(order, text));
    ordo::yaml::parse(f, sources.get(f)).unwrap().to_json()
}
