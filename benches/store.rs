//! The throughput cost of durability: recording Started/Succeeded pairs for
//! a plan's tasks through the SQLite journal (every event committed before
//! `record` returns) against an in-memory `Vec` journal.
//!
//! `cargo bench --bench store`. Each measured run records every event of a
//! fresh order (the store and the order are made outside the timing); the
//! throughput is in events, two per task. Results: `docs/benchmarks.md`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use ordo::exec::{Event, Journal, JournalError};
use ordo::store::{CommitStats, SqliteStore, Store, StoreOptions, Synchronous};
use ordo::value::Value;

const ORDER: &str = "BENCH";

fn events(task: usize) -> [Event; 2] {
    [
        Event::Started {
            task,
            attempt: 1,
            undo: false,
        },
        Event::Succeeded {
            task,
            attempt: 1,
            undo: false,
            outputs: BTreeMap::from([("ref".to_string(), Value::String(format!("1/t{task}.ref")))]),
        },
    ]
}

struct VecJournal(Vec<Event>);

impl Journal for VecJournal {
    fn record(&mut self, _order: &str, event: &Event) -> Result<(), JournalError> {
        self.0.push(event.clone());
        Ok(())
    }
}

/// Records every task's events, `workers` threads each taking every
/// `workers`-th task, each with its own journal handle; returns the time.
fn record_all(journals: Vec<Box<dyn Journal>>, tasks: usize) -> Duration {
    let workers = journals.len();
    let start = Instant::now();
    std::thread::scope(|s| {
        for (w, mut journal) in journals.into_iter().enumerate() {
            s.spawn(move || {
                for task in (w..tasks).step_by(workers) {
                    for event in events(task) {
                        journal.record(ORDER, &event).unwrap();
                    }
                }
            });
        }
    });
    start.elapsed()
}

/// One measured run against a fresh store; with the store's commit counts.
fn sqlite_run(options: &StoreOptions, tasks: usize, workers: usize) -> (Duration, CommitStats) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let store = SqliteStore::open_with(dir.path(), options.clone()).unwrap();
    store
        .create_order(&support::synthetic(ORDER, tasks), &support::document(ORDER))
        .unwrap();
    let lock = store.acquire_runner(ORDER).unwrap();
    let journals = (0..workers)
        .map(|_| store.journal(&lock).unwrap())
        .collect();
    let took = record_all(journals, tasks);
    (took, store.commit_stats())
}

fn durable_store(c: &mut Criterion) {
    let mut group = c.benchmark_group("durable_store");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));

    let tasks = 10_000;
    group.throughput(Throughput::Elements(2 * tasks as u64));
    group.bench_function(BenchmarkId::new("memory_vec", "1_thread"), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| record_all(vec![Box::new(VecJournal(Vec::new()))], tasks))
                .sum()
        })
    });

    // (synchronous, threads, max_batch, tasks): FULL fsyncs every commit, so
    // its runs are shorter to keep the bench within minutes.
    let cases = [
        (Synchronous::Normal, 1, 256, 10_000),
        (Synchronous::Normal, 8, 1, 10_000),
        (Synchronous::Normal, 8, 256, 10_000),
        (Synchronous::Full, 1, 256, 1_000),
        (Synchronous::Full, 8, 1, 1_000),
        (Synchronous::Full, 8, 256, 2_000),
    ];
    for (synchronous, workers, max_batch, tasks) in cases {
        let options = StoreOptions {
            synchronous,
            max_batch,
            ..StoreOptions::default()
        };
        let name = format!("sqlite_{synchronous:?}").to_lowercase();
        let param = format!("{workers}_threads/batch_{max_batch}");
        let (_, stats) = sqlite_run(&options, tasks, workers);
        eprintln!(
            "{name}/{param}: {:.1} events per transaction",
            stats.events as f64 / stats.transactions as f64
        );
        group.throughput(Throughput::Elements(2 * tasks as u64));
        group.bench_function(BenchmarkId::new(name, param), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| sqlite_run(&options, tasks, workers).0)
                    .sum()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, durable_store);
criterion_main!(benches);
