//! Executor overhead: running plans of 10,000+ tasks whose actions are
//! `noop`, with an in-memory journal, so what is measured is the executor
//! itself — scheduling, stage barriers, input evaluation, output checks,
//! journaling and the worker hand-off.
//!
//! The same runs through the durable store, beside their floor: the rows the
//! store writes for such a run (per task and event, its task row updated and
//! the event appended) written by plain rusqlite in one transaction, into a
//! database the store created (same schema, same order rows). Each case also
//! prints its CPU time per run (user + system, of the whole process: the
//! coordinator, the writer and the workers), as the machine may be shared.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

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
                    || durable_setup(plan),
                    |(dir, store)| {
                        durable_run(&executor, plan, &store);
                        (dir, store)
                    },
                    BatchSize::PerIteration,
                )
            });
        }
    }
    for (name, plan) in &plans {
        let id = BenchmarkId::new(
            format!("{name} ({} tasks)", plan.tasks.len()),
            "sqlite floor (one transaction)",
        );
        group.throughput(Throughput::Elements(plan.tasks.len() as u64));
        group.bench_function(id, |b| {
            b.iter_batched(
                || floor_setup(plan),
                |(dir, conn, rows)| {
                    floor_write(&conn, &plan.order, &rows);
                    (dir, conn)
                },
                BatchSize::PerIteration,
            )
        });
        let cpu = cpu_per_run(|| {
            let (dir, conn, rows) = floor_setup(plan);
            let took = measure(|| floor_write(&conn, &plan.order, &rows));
            drop((dir, conn));
            took
        });
        eprintln!("{name} sqlite floor: {cpu}");
    }
    for (name, plan) in &plans {
        let options = ExecOptions {
            jobs: 8,
            ..ExecOptions::default()
        };
        let executor = Executor::new(plan, &noop, options).expect("plan binds");
        let cpu = cpu_per_run(|| {
            let (dir, store) = durable_setup(plan);
            let took = measure(|| durable_run(&executor, plan, &store));
            drop((dir, store));
            took
        });
        eprintln!("{name} durable jobs=8: {cpu}");
    }
    group.finish();
}

fn durable_setup(plan: &Plan) -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).expect("store opens");
    store
        .create_order(plan, &serde_json::Value::Null)
        .expect("order stored");
    (dir, store)
}

fn durable_run(executor: &Executor<'_>, plan: &Plan, store: &SqliteStore) {
    let lock = store.acquire_runner(&plan.order).expect("lock");
    let mut journal = store.journal(&lock).expect("journal");
    let outcome = executor
        .run(Vec::new(), &mut journal, &mut |_| {})
        .expect("runs");
    assert_eq!(outcome.state, OrderState::Completed);
}

/// One task's rows: its two events' JSON and its outputs, as the store
/// would write them (made outside the timing: the floor is the writing).
struct FloorRow {
    started: String,
    succeeded: String,
    outputs: String,
}

/// A store-made database holding the plan's order, opened by plain
/// rusqlite as the store opens it (WAL, `synchronous=NORMAL`).
fn floor_setup(plan: &Plan) -> (tempfile::TempDir, rusqlite::Connection, Vec<FloorRow>) {
    let (dir, store) = durable_setup(plan);
    let path = store.path().to_path_buf();
    drop(store);
    let conn = rusqlite::Connection::open(&path).expect("database opens");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("WAL");
    conn.pragma_update(None, "synchronous", "NORMAL")
        .expect("synchronous");
    let rows = (0..plan.tasks.len())
        .map(|task| {
            let outputs = BTreeMap::from([
                (
                    "ref".to_string(),
                    ordo::value::Value::String(format!("t{task}.ref")),
                ),
                ("score".to_string(), ordo::value::Value::Int(1)),
            ]);
            let json = |e: &ordo::exec::Event| serde_json::to_string(e).expect("event serializes");
            FloorRow {
                started: json(&ordo::exec::Event::Started {
                    task,
                    attempt: 1,
                    undo: false,
                }),
                outputs: serde_json::to_string(&outputs).expect("outputs serialize"),
                succeeded: json(&ordo::exec::Event::Succeeded {
                    task,
                    attempt: 1,
                    undo: false,
                    outputs,
                }),
            }
        })
        .collect();
    (dir, conn, rows)
}

/// Per task and event, the task's row updated (every column the store
/// writes) and the event appended; one transaction for the whole order.
fn floor_write(conn: &rusqlite::Connection, order: &str, rows: &[FloorRow]) {
    let tx = conn.unchecked_transaction().expect("begins");
    {
        let mut update = tx
            .prepare(
                "UPDATE tasks SET state = ?1, attempts = 1, undo_attempts = 0, undoing = 0, outputs = ?2, \
                 last_error = NULL, started_at = ?3, finished_at = ?4, process = NULL, \
                 next_attempt_at = NULL, not_before = NULL \
                 WHERE order_id = ?5 AND version = 1 AND idx = ?6",
            )
            .expect("prepares");
        let mut insert = tx
            .prepare(
                "INSERT INTO events (order_id, seq, version, at, event) VALUES (?1, ?2, 1, ?3, ?4)",
            )
            .expect("prepares");
        let at = "2026-12-01T09:00:00.000Z";
        let mut seq = 1i64;
        for (task, row) in rows.iter().enumerate() {
            let none: Option<&str> = None;
            update
                .execute(rusqlite::params!["running", "{}", at, none, order, task])
                .expect("updates");
            seq += 1;
            insert
                .execute(rusqlite::params![order, seq, at, row.started])
                .expect("inserts");
            update
                .execute(rusqlite::params!["done", row.outputs, at, at, order, task])
                .expect("updates");
            seq += 1;
            insert
                .execute(rusqlite::params![order, seq, at, row.succeeded])
                .expect("inserts");
        }
    }
    tx.commit().expect("commits");
}

fn measure(f: impl FnOnce()) -> (Duration, Duration) {
    let (cpu, wall) = (process_cpu(), Instant::now());
    f();
    (process_cpu() - cpu, wall.elapsed())
}

/// This process's CPU time so far, user and system.
fn process_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// The median CPU and wall time of 5 runs of `run` (which times itself).
fn cpu_per_run(mut run: impl FnMut() -> (Duration, Duration)) -> String {
    let mut runs: Vec<(Duration, Duration)> = (0..5).map(|_| run()).collect();
    runs.sort();
    let cpu = runs[2].0;
    runs.sort_by_key(|r| r.1);
    let wall = runs[2].1;
    format!(
        "CPU {:.0} ms per run, wall {:.0} ms (medians of 5)",
        cpu.as_secs_f64() * 1e3,
        wall.as_secs_f64() * 1e3
    )
}

criterion_group!(benches, bench);
criterion_main!(benches);
