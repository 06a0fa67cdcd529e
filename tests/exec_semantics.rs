//! Executor rules that need no outside program: simulated and Rust actions,
//! bindings, the journal, and the law that no task starts before its
//! dependencies (and every earlier stage) have finished.

mod exec_support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use exec_support::*;
use ordo::exec::{
    replay, summary, ActionError, Bindings, Event, ExecError, ExecOptions, Executor,
    Implementation, JsonLinesJournal, MemoryJournal, OrderState, Outputs, Pattern, Request,
    SimulateOptions, TaskState, Tee,
};
use ordo::model::Type;
use ordo::value::Value;
use proptest::prelude::*;

fn simulate(options: SimulateOptions) -> Bindings {
    let mut b = Bindings::empty();
    b.bind(Pattern::Any, Implementation::Simulate(options), None);
    b
}

#[test]
fn without_bindings_every_action_is_simulated_from_its_declared_outputs() {
    let p = plan(
        &["fulfil"],
        vec![
            task("1/port", "inv.reserve")
                .output("port", Type::String)
                .output("fee", Type::Money),
            task("1/up", "net.up")
                .input("port", out("1/port", "port", Type::String))
                .output("ok", Type::Bool),
        ],
    );
    let ran = run_with(&p, &Bindings::default(), 4, Vec::new());
    assert_eq!(ran.outcome.state, OrderState::Completed);
    let port = &ran.record("1/port").outputs;
    assert_eq!(port["port"], Value::String("1/port.port".into()));
    assert_eq!(port["fee"].to_string(), "0.00 EUR");
    assert_eq!(ran.record("1/up").outputs["ok"], Value::Bool(true));
}

#[test]
fn simulated_failures_are_retried_and_the_journal_replays_to_the_same_records() {
    let options = SimulateOptions {
        fail: 2,
        ..SimulateOptions::default()
    };
    let p = plan(
        &["fulfil"],
        vec![
            task("t", "x.y").retry(2, 1),
            task("u", "x.z").after(&["t"]).retry(1, 1),
        ],
    );
    let ran = run_with(&p, &simulate(options), 2, Vec::new());
    // t gets 1 + 2 attempts and succeeds on the third; u only 1 + 1.
    assert_eq!(ran.state_of("t"), TaskState::Done);
    assert_eq!(ran.record("t").attempts, 3);
    assert_eq!(ran.state_of("u"), TaskState::Failed);
    assert_eq!(ran.outcome.state, OrderState::Failed);
    let retries: Vec<_> = ran
        .journal
        .events
        .iter()
        .filter_map(|e| match e {
            Event::AttemptFailed { retry_in_ms, .. } => Some(*retry_in_ms),
            _ => None,
        })
        .collect();
    assert_eq!(retries, [Some(1), Some(1), Some(1), None]);
    let replayed = replay(p.tasks.len(), &ran.journal.events);
    let records: Vec<_> = ran.outcome.tasks.iter().map(|t| t.record.clone()).collect();
    assert_eq!(replayed, records);
}

#[test]
fn an_action_without_a_binding_is_refused_before_anything_runs() {
    let mut b = Bindings::empty();
    b.register("net.*", |_: &Request| -> Result<Outputs, ActionError> {
        Ok(Outputs::new())
    })
    .unwrap();
    let p = plan(
        &["fulfil"],
        vec![
            task("a", "net.up"),
            task("b", "billing.start"),
            task("c", "crm.note"),
        ],
    );
    match Executor::new(&p, &b, ExecOptions::default()) {
        Err(ExecError::Unbound(actions)) => assert_eq!(actions, ["billing.start", "crm.note"]),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("bound"),
    }
}

#[test]
fn a_rust_action_gets_the_request_and_an_ill_typed_reply_fails_the_task() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let mut b = Bindings::empty();
    b.register("*", move |r: &Request| -> Result<Outputs, ActionError> {
        log.lock()
            .unwrap()
            .push((r.task.clone(), r.idempotency_key.clone(), r.inputs.clone()));
        let mut out = Outputs::new();
        out.insert("n".into(), serde_json::json!("seven"));
        Ok(out)
    })
    .unwrap();
    let p = plan(
        &["fulfil"],
        vec![task("t", "x.y")
            .input("speed", s("1G"))
            .output("n", Type::Int)
            .retry(3, 1)],
    );
    let ran = run_with(&p, &b, 1, Vec::new());
    assert_eq!(ran.state_of("t"), TaskState::Failed);
    assert_eq!(
        ran.record("t").attempts,
        1,
        "an ill-typed reply is permanent"
    );
    assert_eq!(
        ran.record("t").error.as_deref(),
        Some("output `n`: expected an int, found \"seven\"")
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].1, "ORD-1/t");
    assert_eq!(seen[0].2["speed"], "1G");
}

#[test]
fn a_rust_action_that_fails_permanently_and_one_that_panics() {
    let mut b = Bindings::empty();
    b.register("bad.*", |_: &Request| -> Result<Outputs, ActionError> {
        Err(ActionError::permanent("no"))
    })
    .unwrap();
    b.register("boom.*", |_: &Request| -> Result<Outputs, ActionError> {
        panic!("boom")
    })
    .unwrap();
    let p = plan(&["fulfil"], vec![task("a", "bad.x")]);
    assert_eq!(
        run_with(&p, &b, 1, Vec::new()).record("a").error.as_deref(),
        Some("no")
    );
    let p = plan(&["fulfil"], vec![task("a", "boom.x")]);
    let ran = run_with(&p, &b, 1, Vec::new());
    assert_eq!(ran.outcome.state, OrderState::Failed);
    assert_eq!(
        ran.record("a").error.as_deref(),
        Some("the action's implementation panicked")
    );
}

#[test]
fn the_summary_lists_every_task_and_the_outcome() {
    let p = plan(
        &["fulfil"],
        vec![
            task("a", "x.a").undo("x.undo", vec![]),
            task("b", "x.b")
                .after(&["a"])
                .when(bin(ordo::syntax::ast::BinOp::Eq, int(1), int(2))),
            task("c", "fail.c").after(&["a"]),
        ],
    );
    let mut b = Bindings::default();
    b.bind(
        Pattern::parse("fail.*").unwrap(),
        Implementation::Simulate(SimulateOptions {
            fail_permanently: true,
            ..SimulateOptions::default()
        }),
        None,
    );
    let ran = run_with(&p, &b, 1, Vec::new());
    let text = summary(&p, &ran.outcome);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("TASK  STATE        ATTEMPTS  DURATION"),
        "{text}"
    );
    assert!(lines[1].starts_with("a     compensated  1+1"), "{text}");
    assert!(
        lines[2].starts_with("b     skipped      0         -"),
        "{text}"
    );
    assert!(
        lines[3].starts_with("c     failed       1")
            && lines[3].ends_with("simulated permanent failure"),
        "{text}"
    );
    assert_eq!(
        lines[5],
        "order ORD-1: failed — task c failed: simulated permanent failure"
    );
}

#[test]
fn events_go_to_every_journal_of_a_tee_as_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let p = plan(
        &["fulfil"],
        vec![task("a", "x.a"), task("b", "x.b").after(&["a"])],
    );
    let executor = Executor::new(&p, &Bindings::default(), ExecOptions::default()).unwrap();
    let mut journal = Tee(
        MemoryJournal::new(),
        JsonLinesJournal::append(&path, &p).unwrap(),
    );
    let mut seen = 0;
    let outcome = executor
        .run(Vec::new(), &mut journal, &mut |_| seen += 1)
        .unwrap();
    assert_eq!(outcome.state, OrderState::Completed);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), journal.0.events.len());
    assert_eq!(lines.len(), seen, "the observer sees every recorded event");
    // in_progress, (started, succeeded) × 2, completed
    assert_eq!(lines.len(), 6);
    assert_eq!(lines[1]["event"], "started");
    assert_eq!(lines[1]["task_id"], "a");
    assert_eq!(lines[5]["state"], "completed");
    assert!(lines
        .iter()
        .all(|l| l["order"] == "ORD-1" && l["ts"].is_string()));
}

/// A Rust action that stamps each call's start and end from one counter.
#[derive(Default)]
struct Stamps {
    clock: AtomicU64,
    log: Mutex<BTreeMap<String, (u64, u64)>>,
}

impl Stamps {
    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::SeqCst)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// No task starts before all its dependencies and every task of every
    /// earlier stage have ended.
    #[test]
    fn no_task_starts_before_what_it_waits_for(
        shape in prop::collection::vec((0usize..3, prop::collection::vec(0usize..1000, 0..3)), 1..30),
        jobs in 1usize..5,
    ) {
        let mut tasks = Vec::new();
        let mut stage = 0;
        for (i, (bump, deps)) in shape.iter().enumerate() {
            if *bump == 0 { stage = (stage + 1).min(2); }
            let mut t = task(&format!("t{i}"), "x.y").stage(stage);
            if i > 0 {
                let mut ds: Vec<String> = deps.iter().map(|d| format!("t{}", d % i)).collect();
                ds.sort();
                ds.dedup();
                let refs: Vec<&str> = ds.iter().map(String::as_str).collect();
                t = t.after(&refs);
            }
            tasks.push(t);
        }
        let p = plan(&["a", "b", "c"], tasks);
        let stamps = Arc::new(Stamps::default());
        let s2 = Arc::clone(&stamps);
        let mut b = Bindings::empty();
        b.register("*", move |r: &Request| -> Result<Outputs, ActionError> {
            let start = s2.tick();
            std::thread::yield_now();
            let end = s2.tick();
            s2.log.lock().unwrap().insert(r.task.clone(), (start, end));
            Ok(Outputs::new())
        }).unwrap();
        let ran = run_with(&p, &b, jobs, Vec::new());
        prop_assert_eq!(ran.outcome.state, OrderState::Completed);
        let log = stamps.log.lock().unwrap();
        for (i, t) in p.tasks.iter().enumerate() {
            let (start, _) = log[&t.id];
            for &d in &t.after {
                prop_assert!(start > log[&p.tasks[d].id].1, "{} started before {} ended", t.id, p.tasks[d].id);
            }
            for earlier in p.tasks[..i].iter().filter(|e| e.stage < t.stage) {
                prop_assert!(start > log[&earlier.id].1, "{} started before stage of {} ended", t.id, earlier.id);
            }
        }
    }
}

#[test]
fn simulated_latency_waits_on_a_timer_and_respects_timeouts() {
    let options = SimulateOptions {
        latency_ms: 40,
        ..SimulateOptions::default()
    };
    // Many attempts in flight at once with one job slot's worth of workers:
    // latencies are served by the timer, so they overlap.
    let mut tasks: Vec<T> = (0..50).map(|i| task(&format!("w{i}"), "x.y")).collect();
    tasks.push(task("slow", "x.z").timeout(5));
    let p = plan(&["fulfil"], tasks);
    let started = std::time::Instant::now();
    let ran = run_with(&p, &simulate(options), 64, Vec::new());
    // Every attempt waited out its latency before answering.
    assert!(started.elapsed() >= std::time::Duration::from_millis(40));
    for i in 0..50 {
        assert_eq!(ran.state_of(&format!("w{i}")), TaskState::Done);
    }
    // A latency longer than the timeout is a timed-out attempt, not a
    // success; with no retry to settle it, its outcome stays unknown.
    assert_eq!(ran.state_of("slow"), TaskState::Running);
    assert!(
        ran.record("slow")
            .error
            .as_deref()
            .unwrap_or("")
            .contains("timed out"),
        "{:?}",
        ran.record("slow").error
    );
    assert_eq!(ran.outcome.state, OrderState::Held);
}

/// docs/execution.md, "Unknown outcomes": after a stop, a task whose
/// attempt timed out is asked again to settle it (and, having succeeded,
/// undone), while one that merely answered "retry later" is cancelled — its
/// answer says it did nothing.
#[test]
fn after_a_stop_a_timed_out_task_is_settled_and_a_busy_one_cancelled() {
    let undone = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut b = Bindings::empty();
    b.register("bad.*", |_: &Request| -> Result<Outputs, ActionError> {
        Err(ActionError::permanent("no"))
    })
    .unwrap();
    b.register("busy.*", |_: &Request| -> Result<Outputs, ActionError> {
        std::thread::sleep(std::time::Duration::from_millis(30));
        Err(ActionError::retryable("busy, try later"))
    })
    .unwrap();
    b.register("slow.*", |r: &Request| -> Result<Outputs, ActionError> {
        if r.attempt == 1 {
            // Does its work, and answers past its deadline.
            std::thread::sleep(std::time::Duration::from_millis(80));
        }
        Ok(Outputs::new())
    })
    .unwrap();
    let seen = Arc::clone(&undone);
    b.register(
        "undo.*",
        move |r: &Request| -> Result<Outputs, ActionError> {
            seen.lock().unwrap().push(r.task.clone());
            Ok(Outputs::new())
        },
    )
    .unwrap();
    let p = plan(
        &["fulfil"],
        vec![
            task("bad", "bad.x"),
            task("busy", "busy.x")
                .retry(3, 10)
                .undo("undo.busy", vec![]),
            task("slow", "slow.x")
                .timeout(20)
                .retry(2, 1)
                .undo("undo.slow", vec![]),
        ],
    );
    let ran = run_with(&p, &b, 4, Vec::new());
    assert_eq!(ran.outcome.state, OrderState::Failed, "{:?}", ran.outcome);
    assert_eq!(ran.state_of("slow"), TaskState::Compensated);
    assert!(ran.record("slow").attempts >= 2);
    assert_eq!(ran.state_of("busy"), TaskState::Cancelled);
    assert_eq!(*undone.lock().unwrap(), ["slow"]);
}

/// A Rust action that notes the thread it is invoked on and says whether it
/// answers at once.
struct Noted {
    immediate: bool,
    threads: Mutex<Vec<std::thread::ThreadId>>,
}

impl ordo::exec::Action for Noted {
    fn invoke(&self, _request: &Request) -> Result<Outputs, ActionError> {
        self.threads
            .lock()
            .unwrap()
            .push(std::thread::current().id());
        Ok(Outputs::new())
    }

    fn immediate(&self) -> bool {
        self.immediate
    }
}

fn three_in_a_row() -> ordo::plan::Plan {
    plan(
        &["fulfil"],
        vec![
            task("a", "x.a"),
            task("b", "x.b").after(&["a"]),
            task("c", "x.c").after(&["b"]),
        ],
    )
}

#[test]
fn an_action_that_answers_at_once_is_called_by_the_run_itself_and_others_on_workers() {
    for immediate in [true, false] {
        let action = Arc::new(Noted {
            immediate,
            threads: Mutex::new(Vec::new()),
        });
        let mut bindings = Bindings::empty();
        bindings.bind(Pattern::Any, Implementation::Custom(action.clone()), None);
        let p = three_in_a_row();
        let ran = run_with(&p, &bindings, 4, Vec::new());
        assert_eq!(ran.outcome.state, OrderState::Completed);
        let threads = action.threads.lock().unwrap();
        assert_eq!(threads.len(), 3);
        let here = std::thread::current().id();
        if immediate {
            assert!(threads.iter().all(|t| *t == here), "called on a worker");
        } else {
            assert!(threads.iter().all(|t| *t != here), "called by the run");
        }
    }
}

#[test]
fn simulated_attempts_take_no_place_of_the_shared_limit() {
    // The limit's only place is held elsewhere (another order's attempt):
    // a simulated order still runs to its end.
    let limiter = Arc::new(ordo::exec::AttemptLimiter::new(1));
    assert!(limiter.try_acquire());
    let finished = std::sync::atomic::AtomicBool::new(false);
    let netted = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            // A safety net, so that a failure is a failed assertion rather
            // than a test that never ends: the place is freed after a while.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while !finished.load(Ordering::SeqCst) {
                if std::time::Instant::now() > deadline {
                    netted.store(true, Ordering::SeqCst);
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            limiter.release(1);
        });
        let p = three_in_a_row();
        let options = ExecOptions {
            limiter: Some(Arc::clone(&limiter)),
            ..ExecOptions::default()
        };
        let executor = Executor::new(&p, &Bindings::default(), options).unwrap();
        let outcome = executor
            .run(Vec::new(), &mut MemoryJournal::new(), &mut |_| {})
            .unwrap();
        finished.store(true, Ordering::SeqCst);
        assert_eq!(outcome.state, OrderState::Completed);
    });
    assert!(
        !netted.load(Ordering::SeqCst),
        "the run waited for the place held elsewhere"
    );
    // Simulated with a latency, an attempt stands for a slow system: it
    // holds a place, and gives it back.
    let options = ExecOptions {
        limiter: Some(Arc::clone(&limiter)),
        ..ExecOptions::default()
    };
    let slow = simulate(SimulateOptions {
        latency_ms: 1,
        ..SimulateOptions::default()
    });
    let p = three_in_a_row();
    let outcome = Executor::new(&p, &slow, options)
        .unwrap()
        .run(Vec::new(), &mut MemoryJournal::new(), &mut |_| {})
        .unwrap();
    assert_eq!(outcome.state, OrderState::Completed);
    assert!(limiter.try_acquire(), "the place is back");
}

#[test]
fn a_task_whose_inputs_cannot_be_computed_gives_its_place_back() {
    // The task `welcome` takes the one place, then finds its input absent
    // (the task that makes it was skipped) and fails without an attempt;
    // the undo of `score` then needs the place: kept, the run would wait
    // for it for ever.
    let limiter = Arc::new(ordo::exec::AttemptLimiter::new(1));
    let action = |_: &Request| -> Result<Outputs, ActionError> {
        Ok(BTreeMap::from([("n".to_string(), serde_json::json!(1))]))
    };
    let mut bindings = Bindings::empty();
    bindings.bind(Pattern::Any, Implementation::Custom(Arc::new(action)), None);
    let p = plan(
        &["fulfil"],
        vec![
            task("score", "credit.check")
                .output("n", Type::Int)
                .undo("credit.forget", vec![]),
            task("deposit", "pay.deposit")
                .when(bin(
                    ordo::syntax::ast::BinOp::Gt,
                    out("score", "n", Type::Int),
                    int(100),
                ))
                .output("out", Type::String),
            task("welcome", "notify.email").input("value", out("deposit", "out", Type::String)),
        ],
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let run_limiter = Arc::clone(&limiter);
    // A thread of its own, so that a run that waits for ever fails the test
    // rather than hang it.
    std::thread::spawn(move || {
        let options = ExecOptions {
            limiter: Some(run_limiter),
            ..ExecOptions::default()
        };
        let outcome = Executor::new(&p, &bindings, options)
            .unwrap()
            .run(Vec::new(), &mut MemoryJournal::new(), &mut |_| {})
            .unwrap();
        let _ = tx.send(outcome);
    });
    let outcome = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the run ended: the place came back for the undo");
    assert_eq!(outcome.state, OrderState::Failed);
    assert!(outcome
        .tasks
        .iter()
        .any(|t| t.id == "score" && t.record.state == TaskState::Compensated));
    assert!(limiter.try_acquire(), "the failed task kept its place");
}
