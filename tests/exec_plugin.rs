//! The executor driving a real exec plugin (`tests/plugins/recorder.py`),
//! asserted from the plugin's own log of calls: ordering and overlap come
//! from its timestamps, never from how long anything took.

mod exec_support;

use exec_support::*;
use ordo::exec::{OrderState, TaskRecord, TaskState};
use ordo::model::Type;
use ordo::syntax::ast::BinOp;
use ordo::value::Value;

#[test]
fn tasks_start_after_their_dependencies_and_independent_ones_overlap() {
    let lab = Lab::new();
    let p = plan(
        &["feasibility", "fulfil"],
        vec![
            // Stage barrier: `late` has no edge to `check`, but a later stage.
            task("check", "net.check").input("sleep_ms", int(200)),
            task("a", "net.a")
                .stage(1)
                .input("wait_for", s("b"))
                .output("out", Type::String),
            task("b", "net.b").stage(1).input("wait_for", s("a")),
            task("c", "net.c")
                .stage(1)
                .after(&["b"])
                .input("value", out("a", "out", Type::String)),
            task("d", "net.d").stage(1).after(&["c"]),
        ],
    );
    let ran = run_with(&p, &lab.bindings(""), 4, Vec::new());
    assert_eq!(
        ran.outcome.state,
        OrderState::Completed,
        "{:?}",
        ran.outcome.reason
    );
    let calls = lab.calls();
    let iv = intervals(&calls);
    let (check, a, b, c, d) = (
        span_of(&iv, "check", false),
        span_of(&iv, "a", false),
        span_of(&iv, "b", false),
        span_of(&iv, "c", false),
        span_of(&iv, "d", false),
    );
    assert!(a.start > check.end && b.start > check.end, "stage barrier");
    assert!(a.start < b.end && b.start < a.end, "a and b overlap");
    assert!(c.start > a.end && c.start > b.end, "c waits for a and b");
    assert!(d.start > c.end, "d waits for c");
    // c's input carries a's output.
    let c_call = calls.iter().find(|x| x.task == "c").unwrap();
    assert_eq!(c_call.inputs["value"], "a:out");
    assert_eq!(c_call.key, "ORD-1/c");
}

#[test]
fn one_job_never_overlaps() {
    let lab = Lab::new();
    let tasks = (0..4)
        .map(|i| task(&format!("t{i}"), "net.t").input("sleep_ms", int(50)))
        .collect();
    let ran = run_with(&plan(&["fulfil"], tasks), &lab.bindings(""), 1, Vec::new());
    assert_eq!(ran.outcome.state, OrderState::Completed);
    let iv = intervals(&lab.calls());
    assert_eq!(iv.len(), 4);
    assert_eq!(max_overlap(&iv), 1);
}

#[test]
fn max_concurrent_caps_a_binding() {
    let lab = Lab::new();
    let extra = format!(
        "  \"slow.*\": {{ exec: {}, max_concurrent: 2 }}\n",
        lab.exec()
    );
    let tasks = (0..6)
        .map(|i| task(&format!("t{i}"), "slow.op").input("sleep_ms", int(150)))
        .collect();
    let ran = run_with(
        &plan(&["fulfil"], tasks),
        &lab.bindings(&extra),
        8,
        Vec::new(),
    );
    assert_eq!(ran.outcome.state, OrderState::Completed);
    let iv = intervals(&lab.calls());
    assert_eq!(iv.len(), 6);
    assert!(max_overlap(&iv) <= 2, "{iv:#?}");
}

#[test]
fn a_retryable_failure_is_retried_until_it_succeeds() {
    let lab = Lab::new();
    let p = plan(
        &["fulfil"],
        vec![task("t", "net.t").input("fail_until", int(2)).retry(3, 10)],
    );
    let ran = run_with(&p, &lab.bindings(""), 2, Vec::new());
    assert_eq!(ran.outcome.state, OrderState::Completed);
    assert_eq!(ran.state_of("t"), TaskState::Done);
    assert_eq!(ran.record("t").attempts, 3);
    let calls: Vec<_> = lab
        .calls()
        .into_iter()
        .filter(|c| c.phase == "start")
        .collect();
    assert_eq!(
        calls.iter().map(|c| c.attempt).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(
        calls.iter().all(|c| c.key == "ORD-1/t"),
        "one idempotency key for every attempt"
    );
}

#[test]
fn retries_run_out() {
    let lab = Lab::new();
    let p = plan(
        &["fulfil"],
        vec![task("t", "net.t").input("fail_until", int(10)).retry(2, 10)],
    );
    let ran = run_with(&p, &lab.bindings(""), 2, Vec::new());
    assert_eq!(ran.outcome.state, OrderState::Failed);
    assert_eq!(ran.state_of("t"), TaskState::Failed);
    assert_eq!(ran.record("t").attempts, 3);
    assert!(ran
        .outcome
        .reason
        .as_deref()
        .unwrap()
        .contains("task t failed"));
}

#[test]
fn a_permanent_failure_is_compensated_in_reverse_dependency_order() {
    let lab = Lab::new();
    let undo = |t: &str| vec![("port", out(t, "out", Type::String))];
    let p = plan(
        &["commit", "fulfil"],
        vec![
            task("s", "inv.s")
                .output("out", Type::String)
                .undo("inv.undo_s", undo("s")),
            task("a", "inv.a")
                .stage(1)
                .output("out", Type::String)
                .undo("inv.undo_a", undo("a")),
            task("b", "inv.b")
                .stage(1)
                .after(&["a"])
                .output("out", Type::String)
                .undo("inv.undo_b", undo("b")),
            task("c", "inv.c")
                .stage(1)
                .after(&["a"])
                .output("out", Type::String)
                .undo("inv.undo_c", undo("c")),
            task("x", "inv.x").stage(1).after(&["a"]),
            task("d", "inv.d")
                .stage(1)
                .after(&["b", "c"])
                .input("fail", s("permanent"))
                .retry(3, 10),
            task("e", "inv.e")
                .stage(1)
                .after(&["d"])
                .undo("inv.undo_e", vec![]),
        ],
    );
    let ran = run_with(&p, &lab.bindings(""), 4, Vec::new());
    assert_eq!(ran.outcome.state, OrderState::Failed);
    assert!(ran
        .outcome
        .reason
        .as_deref()
        .unwrap()
        .starts_with("task d failed: "));
    assert_eq!(
        ran.record("d").attempts,
        1,
        "a permanent failure is not retried"
    );
    for t in ["s", "a", "b", "c"] {
        assert_eq!(ran.state_of(t), TaskState::Compensated, "{t}");
    }
    assert_eq!(ran.state_of("x"), TaskState::Done, "nothing to undo");
    assert_eq!(ran.state_of("e"), TaskState::Cancelled, "never started");
    let calls = lab.calls();
    let iv = intervals(&calls);
    let (ua, ub, uc, us) = (
        span_of(&iv, "a", true),
        span_of(&iv, "b", true),
        span_of(&iv, "c", true),
        span_of(&iv, "s", true),
    );
    assert!(
        ua.start > ub.end && ua.start > uc.end,
        "a is undone after its dependents"
    );
    assert!(
        us.start > ua.end,
        "an earlier stage is undone after a later one"
    );
    assert!(!iv.iter().any(|i| i.task == "e"), "e never ran");
    let undo_b = calls.iter().find(|c| c.task == "b" && c.undo).unwrap();
    assert_eq!(undo_b.key, "ORD-1/b/undo");
    assert_eq!(
        undo_b.inputs["port"], "b:out",
        "an undo reads its task's outputs"
    );
}

#[test]
fn a_false_runtime_condition_skips_and_dependents_still_run() {
    let lab = Lab::new();
    let p = plan(
        &["fulfil"],
        vec![
            task("score", "credit.check").output("n", Type::Int),
            task("deposit", "pay.deposit")
                .when(bin(BinOp::Gt, out("score", "n", Type::Int), int(100)))
                .output("out", Type::String),
            task("welcome", "notify.email")
                .optional_input("value", out("deposit", "out", Type::String)),
        ],
    );
    let ran = run_with(&p, &lab.bindings(""), 2, Vec::new());
    assert_eq!(ran.outcome.state, OrderState::Completed);
    assert_eq!(ran.state_of("deposit"), TaskState::Skipped);
    assert_eq!(ran.state_of("welcome"), TaskState::Done);
    let calls = lab.calls();
    assert!(!calls.iter().any(|c| c.task == "deposit"));
    let welcome = calls.iter().find(|c| c.task == "welcome").unwrap();
    assert_eq!(
        welcome.inputs["value"],
        serde_json::Value::Null,
        "a skipped task's outputs are null"
    );
}

#[test]
fn a_broken_require_fails_at_once_without_retry() {
    let lab = Lab::new();
    let n = || out("cov", "n", Type::Int);
    let p = plan(
        &["fulfil"],
        vec![
            task("cov", "net.coverage")
                .output("n", Type::Int)
                .retry(3, 10)
                .require(
                    bin(BinOp::Gt, n(), int(10)),
                    "coverage score too low: ",
                    n(),
                ),
            task("next", "net.next").after(&["cov"]),
        ],
    );
    let ran = run_with(&p, &lab.bindings(""), 2, Vec::new());
    assert_eq!(ran.outcome.state, OrderState::Failed);
    assert_eq!(ran.state_of("cov"), TaskState::Failed);
    assert_eq!(ran.record("cov").attempts, 1);
    assert_eq!(
        ran.record("cov").error.as_deref(),
        Some("coverage score too low: 7")
    );
    assert_eq!(ran.state_of("next"), TaskState::Cancelled);
}

fn process_gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // A zombie is dead; only its parent (now init) has yet to reap it.
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

#[test]
fn a_timeout_kills_the_plugin_and_its_children() {
    let lab = Lab::new();
    let pid_file = lab.path("child.pid");
    let p = plan(
        &["fulfil"],
        vec![task("t", "net.t")
            .input("hang", yes())
            .input("pid_file", s(&pid_file.display().to_string()))
            .timeout(5000)],
    );
    let ran = run_with(&p, &lab.bindings(""), 1, Vec::new());
    // It may have taken effect and has no retry to settle it: held, never
    // claimed undone (docs/execution.md, "Unknown outcomes").
    assert_eq!(ran.outcome.state, OrderState::Held);
    assert_eq!(ran.state_of("t"), TaskState::Running);
    assert_eq!(ran.record("t").error.as_deref(), Some("timed out after 5s"));
    let pid = std::fs::read_to_string(&pid_file).expect("the plugin started its child");
    let mut gone = false;
    for _ in 0..100 {
        gone = process_gone(pid.trim());
        if gone {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        gone,
        "the plugin's `sleep` child {pid} outlived the timeout"
    );
}

#[test]
fn past_a_point_of_no_return_a_failure_holds_without_compensating() {
    let lab = Lab::new();
    let p = plan(
        &["fulfil"],
        vec![
            task("reserve", "inv.reserve").undo("inv.release", vec![]),
            task("ship", "log.ship")
                .after(&["reserve"])
                .point_of_no_return(),
            task("activate", "net.activate")
                .after(&["ship"])
                .input("fail", s("permanent")),
            task("bill", "bill.start").after(&["activate"]),
        ],
    );
    let ran = run_with(&p, &lab.bindings(""), 2, Vec::new());
    assert_eq!(ran.outcome.state, OrderState::Held);
    let reason = ran.outcome.reason.clone().unwrap();
    assert!(
        reason.contains("task activate failed") && reason.contains("point of no return ship"),
        "{reason}"
    );
    assert!(!lab.calls().iter().any(|c| c.undo), "no undo ran");
    assert_eq!(ran.state_of("reserve"), TaskState::Done);
    assert_eq!(
        ran.state_of("bill"),
        TaskState::Pending,
        "left for a resume"
    );
}

#[test]
fn a_failing_undo_holds_the_order_and_the_other_undos_still_run() {
    let lab = Lab::new();
    let p = plan(
        &["fulfil"],
        vec![
            task("a", "inv.a").undo("inv.undo_a", vec![]),
            task("b", "inv.b")
                .after(&["a"])
                .retry(1, 10)
                .undo("inv.undo_b", vec![("fail", s("permanent"))]),
            task("c", "inv.c")
                .after(&["b"])
                .input("fail", s("permanent")),
        ],
    );
    let ran = run_with(&p, &lab.bindings(""), 2, Vec::new());
    assert_eq!(ran.outcome.state, OrderState::Held);
    let reason = ran.outcome.reason.clone().unwrap();
    assert!(reason.starts_with("the undo of b failed"), "{reason}");
    assert!(reason.contains("task c failed"), "{reason}");
    assert_eq!(
        ran.state_of("a"),
        TaskState::Compensated,
        "the remaining undo ran"
    );
    assert_eq!(ran.state_of("b"), TaskState::Done);
    assert!(ran
        .record("b")
        .error
        .as_deref()
        .unwrap()
        .starts_with("undo failed"));
    let iv = intervals(&lab.calls());
    assert!(span_of(&iv, "a", true).start > span_of(&iv, "b", true).end);
}

#[test]
fn a_resumed_run_reinvokes_the_interrupted_task_with_the_same_key() {
    let lab = Lab::new();
    let p = plan(
        &["fulfil"],
        vec![
            task("a", "inv.a").output("out", Type::String),
            task("b", "inv.b").input("value", out("a", "out", Type::String)),
            task("c", "inv.c").after(&["b"]),
        ],
    );
    let mut done = TaskRecord {
        state: TaskState::Done,
        attempts: 1,
        ..TaskRecord::default()
    };
    done.outputs
        .insert("out".into(), Value::String("from the store".into()));
    let running = TaskRecord {
        state: TaskState::Running,
        attempts: 1,
        ..TaskRecord::default()
    };
    let ran = run_with(
        &p,
        &lab.bindings(""),
        2,
        vec![done, running, TaskRecord::default()],
    );
    assert_eq!(ran.outcome.state, OrderState::Completed);
    let calls: Vec<_> = lab
        .calls()
        .into_iter()
        .filter(|c| c.phase == "start")
        .collect();
    assert!(
        !calls.iter().any(|c| c.task == "a"),
        "a done task is not invoked again"
    );
    let b = calls.iter().find(|c| c.task == "b").unwrap();
    assert_eq!((b.attempt, b.key.as_str()), (2, "ORD-1/b"));
    assert_eq!(b.inputs["value"], "from the store");
    assert!(calls.iter().any(|c| c.task == "c"));
}

#[test]
fn a_resumed_compensation_carries_on_where_it_stopped() {
    let lab = Lab::new();
    let p = plan(
        &["fulfil"],
        vec![
            task("a", "inv.a").undo("inv.undo_a", vec![]),
            task("b", "inv.b").after(&["a"]).undo("inv.undo_b", vec![]),
            task("c", "inv.c").after(&["b"]),
        ],
    );
    let rec = |state, undo_attempts| TaskRecord {
        state,
        attempts: 1,
        undo_attempts,
        ..TaskRecord::default()
    };
    let initial = vec![
        rec(TaskState::Done, 0),
        rec(TaskState::Compensated, 1),
        rec(TaskState::Failed, 0),
    ];
    let ran = run_with(&p, &lab.bindings(""), 2, initial);
    assert_eq!(ran.outcome.state, OrderState::Failed);
    let calls: Vec<_> = lab
        .calls()
        .into_iter()
        .filter(|c| c.phase == "start")
        .collect();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert!(calls[0].task == "a" && calls[0].undo);
    assert_eq!(ran.state_of("a"), TaskState::Compensated);
}

#[test]
fn a_cancel_lets_running_tasks_finish_then_compensates() {
    let lab = Lab::new();
    let p = plan(
        &["fulfil"],
        vec![
            task("a", "inv.a").undo("inv.undo_a", vec![]),
            task("b", "inv.b")
                .after(&["a"])
                .input("sleep_ms", int(300))
                .undo("inv.undo_b", vec![]),
            task("c", "inv.c").after(&["b"]),
        ],
    );
    let executor = ordo::exec::Executor::new(&p, &lab.bindings(""), Default::default()).unwrap();
    let mut journal = ordo::exec::MemoryJournal::new();
    let cancel = journal.cancel_handle();
    let mut observer = |e: &ordo::exec::Event| {
        if matches!(
            e,
            ordo::exec::Event::Started {
                task: 1,
                undo: false,
                ..
            }
        ) {
            cancel.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    };
    let outcome = executor
        .run(Vec::new(), &mut journal, &mut observer)
        .unwrap();
    assert_eq!(outcome.state, OrderState::Cancelled);
    let states: Vec<_> = outcome.tasks.iter().map(|t| t.record.state).collect();
    assert_eq!(
        states,
        [
            TaskState::Compensated,
            TaskState::Compensated,
            TaskState::Cancelled
        ]
    );
    let iv = intervals(&lab.calls());
    assert!(!iv.iter().any(|i| i.task == "c"));
    assert!(span_of(&iv, "b", true).start > span_of(&iv, "b", false).end);
    assert!(span_of(&iv, "a", true).start > span_of(&iv, "b", true).end);
}

#[test]
fn input_values_reach_the_plugin_verbatim_and_never_a_shell() {
    let lab = Lab::new();
    let victim = lab.path("victim");
    std::fs::create_dir(&victim).unwrap();
    let pwned = lab.path("pwned");
    let nasty = format!(
        "$(touch {}); rm -rf {} `touch {}` ' \" \\",
        pwned.display(),
        victim.display(),
        pwned.display()
    );
    let p = plan(
        &["fulfil"],
        vec![task("t", "net.t")
            .input("value", s(&nasty))
            .output("echo", Type::String)],
    );
    let ran = run_with(&p, &lab.bindings(""), 1, Vec::new());
    assert_eq!(ran.outcome.state, OrderState::Completed);
    let calls = lab.calls();
    assert_eq!(calls[0].inputs["value"], nasty.as_str());
    assert_eq!(
        ran.record("t").outputs["echo"],
        Value::String(nasty.clone())
    );
    assert!(!pwned.exists(), "something ran the input");
    assert!(victim.exists(), "something ran the input");
}

#[test]
fn plugin_stderr_goes_to_the_orders_log() {
    let lab = Lab::new();
    let log_path = lab.path("order.log");
    let file = std::fs::File::create(&log_path).unwrap();
    let options = ordo::exec::ExecOptions {
        jobs: 1,
        log: Some(std::sync::Arc::new(std::sync::Mutex::new(file))),
        ..Default::default()
    };
    let p = plan(&["fulfil"], vec![task("1/Broadband/up", "net.up")]);
    let executor = ordo::exec::Executor::new(&p, &lab.bindings(""), options).unwrap();
    let outcome = executor
        .run(
            Vec::new(),
            &mut ordo::exec::MemoryJournal::new(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(outcome.state, OrderState::Completed);
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert_eq!(
        log,
        "1/Broadband/up [attempt 1] called for 1/Broadband/up attempt 1\n"
    );
}
