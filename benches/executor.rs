//! Executor overhead: running plans of 10,000+ tasks whose actions are
//! `noop`, with an in-memory journal, so what is measured is the executor
//! itself — scheduling, stage barriers, input evaluation, output checks,
//! journaling and the worker hand-off.

use std::collections::BTreeMap;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use ordo::compile::compile;
use ordo::exec::{
    Bindings, ExecOptions, Executor, Implementation, MemoryJournal, OrderState, Pattern,
};
use ordo::model::expr::{Expr, ExprKind, Ref};
use ordo::model::Type;
use ordo::order::read_order;
use ordo::plan::{decompose, Plan, PlanTask, Price};
use ordo::source::{SourceFile, Sources};
use ordo::span::Span;
use ordo::store::{SqliteStore, Store};
use ordo::synth::{catalog, order, CatalogShape};
use ordo::value::Money;

/// `layers` × `width` tasks in four stages; each task reads an output of two
/// tasks of the layer before.
fn layered(layers: usize, width: usize) -> Plan {
    let mut tasks = Vec::new();
    for l in 0..layers {
        for w in 0..width {
            let i = l * width + w;
            let deps: Vec<usize> = if l == 0 {
                Vec::new()
            } else {
                let base = (l - 1) * width;
                let mut d = vec![base + w, base + (w * 7 + 3) % width];
                d.dedup();
                d
            };
            let inputs = deps
                .iter()
                .enumerate()
                .map(|(k, &d)| {
                    let e = Expr {
                        kind: ExprKind::Ref(Ref::TaskOutput {
                            task: format!("t{d}"),
                            output: "ref".into(),
                        }),
                        ty: Type::String,
                        span: Span::default(),
                    };
                    (format!("in{k}"), e)
                })
                .collect();
            tasks.push(PlanTask {
                id: format!("t{i}"),
                item: None,
                product: None,
                name: format!("t{i}"),
                action: format!("sys{}.work", w % 8),
                stage: l * 4 / layers,
                after: deps,
                inputs,
                optional_inputs: Vec::new(),
                when: None,
                requires: Vec::new(),
                retry: None,
                timeout_ms: None,
                undo: None,
                point_of_no_return: false,
                outputs: vec![("ref".into(), Type::String), ("score".into(), Type::Int)].into(),
                manual: None,
                wait: None,
            });
        }
    }
    let zero = Money {
        amount: Default::default(),
        currency: "EUR".into(),
    };
    Plan {
        order: "BENCH".into(),
        catalog_hash: String::new(),
        stages: ["feasibility", "commit", "fulfil", "close"]
            .map(String::from)
            .to_vec(),
        items: Vec::new(),
        tasks,
        critical_path: Vec::new(),
        price: Price {
            once: zero.clone(),
            monthly: zero,
        },
        enums: BTreeMap::new(),
        requested_start: None,
        requested_completion: None,
    }
}

/// A synthetic catalog's order of `items` items, decomposed.
fn synthetic(items: usize) -> Plan {
    let shape = CatalogShape {
        products: 200,
        tasks_per_product: 10,
        seed: 7,
        ..CatalogShape::default()
    };
    let mut sources = Sources::new();
    sources.add(SourceFile::new("synthetic.ordo", catalog(&shape)));
    let (cat, diags) = compile(&sources);
    let cat = cat.unwrap_or_else(|| panic!("{diags:?}"));
    let f = sources.add(SourceFile::new("order.yaml", order(&shape, items, 3)));
    let doc = read_order(f, sources.get(f)).expect("order reads");
    decompose(&cat, &doc).expect("order plans").0
}

fn bench(c: &mut Criterion) {
    let mut noop = Bindings::empty();
    noop.bind(Pattern::Any, Implementation::Noop, None);
    let mut group = c.benchmark_group("executor");
    group.sample_size(10);
    let plans = [
        ("layered 100x100", layered(100, 100)),
        ("synthetic order", synthetic(1_000)),
    ];
    for (name, plan) in &plans {
        for jobs in [1usize, 8] {
            let options = ExecOptions {
                jobs,
                ..ExecOptions::default()
            };
            let executor = Executor::new(plan, &noop, options).expect("plan binds");
            group.throughput(Throughput::Elements(plan.tasks.len() as u64));
            let id = BenchmarkId::new(
                format!("{name} ({} tasks)", plan.tasks.len()),
                format!("jobs={jobs}"),
            );
            group.bench_function(id, |b| {
                b.iter(|| {
                    let mut journal = MemoryJournal::new();
                    let outcome = executor
                        .run(Vec::new(), &mut journal, &mut |_| {})
                        .expect("runs");
                    assert_eq!(outcome.state, OrderState::Completed);
                    journal.events.len()
                })
            });
        }
    }
    group.finish();

    // The same runs through the durable store: every transition committed to
    // SQLite (WAL) before it is acted on. A fresh store per run, set up
    // outside the measurement.
    let mut group = c.benchmark_group("executor durable");
    group.sample_size(10);
    for (name, plan) in &plans {
        for jobs in [1usize, 8] {
            let options = ExecOptions {
                jobs,
                ..ExecOptions::default()
            };
            let executor = Executor::new(plan, &noop, options).expect("plan binds");
            group.throughput(Throughput::Elements(plan.tasks.len() as u64));
            let id = BenchmarkId::new(
                format!("{name} ({} tasks)", plan.tasks.len()),
                format!("jobs={jobs}"),
            );
            group.bench_function(id, |b| {
                b.iter_batched(
                    || {
                        let dir = tempfile::tempdir().expect("temp dir");
                        let store = SqliteStore::open(dir.path()).expect("store opens");
                        store
                            .create_order(plan, &serde_json::Value::Null)
                            .expect("order stored");
                        (dir, store)
                    },
                    |(dir, store)| {
                        let lock = store.acquire_runner(&plan.order).expect("lock");
                        let mut journal = store.journal(&lock).expect("journal");
                        let outcome = executor
                            .run(Vec::new(), &mut journal, &mut |_| {})
                            .expect("runs");
                        assert_eq!(outcome.state, OrderState::Completed);
                        drop(journal);
                        drop(lock);
                        (dir, store)
                    },
                    BatchSize::PerIteration,
                )
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
