//! Durable orders through the real binary: `ordo run` killed with SIGKILL
//! and resumed, `ordo cancel` with and without a runner, runner locks,
//! a catalog changed under a stored plan, and `ordo status`.
//!
//! The actions are answered by `tests/fixtures/durable/plugin.py`, which
//! logs every call (start and end, with the idempotency key and a tag naming
//! the ordo process that made it) to a file; the assertions read that log
//! and `ordo status --format json`, never how long anything took. Where a
//! test must act at a given point of a run it waits for that point in the
//! log, or holds a task at the plugin's gate.

mod durable_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use durable_support::*;
use serde_json::Value;

fn contains(haystack: &str, needle: &str) -> bool {
    haystack.contains(needle)
}

/// Tasks of `tag` whose action (not undo) answered with success.
fn finished_by(calls: &[Call], tag: &str) -> BTreeSet<String> {
    calls
        .iter()
        .filter(|c| !c.undo && c.tag == tag && c.is_ok_end())
        .map(|c| c.task.clone())
        .collect()
}

/// Tasks whose undo answered with success, asserting each was undone once.
fn undone(calls: &[Call]) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for c in calls.iter().filter(|c| c.undo && c.is_ok_end()) {
        assert!(seen.insert(c.task.clone()), "{} undone twice", c.task);
        assert_eq!(c.key, format!("{}/{}/undo", key_order(c), c.task));
    }
    seen
}

fn key_order(c: &Call) -> &str {
    c.key.split('/').next().unwrap()
}

fn attempts(status: &Value) -> BTreeMap<String, u64> {
    status["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["attempts"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

/// What one kill point saw, for the checks across kill points.
struct Crash {
    done_before: usize,
    in_flight: usize,
}

/// Runs `line.yaml`, kills ordo with SIGKILL once the plugin's log has
/// `k` lines, resumes, and checks the plugin's log and the store.
fn crash_and_resume(k: usize) -> Crash {
    let lab = Lab::new();
    let line = fixtures().join("line.yaml");
    let tasks = plan_tasks(&lab.plan(&line));
    let mut run = lab.spawn_run("run", &line);
    let deadline = Instant::now() + PATIENCE;
    while lab.calls().len() < k && !run.exited() {
        assert!(Instant::now() < deadline, "the log never reached {k} lines");
        std::thread::sleep(Duration::from_millis(2));
    }
    run.kill9();
    let at_kill = lab.calls();
    // The plugins die with ordo (a parent-death signal); wait for that.
    lab.settle();
    let before = lab.status(LINE);
    let ctx = format!("killed after {k} log lines; status then: {before:#}");
    let order_state = before["state"].as_str().unwrap();
    match (order_state, &before["runner"]) {
        // The killed runner's lock is left behind, and seen to be dead.
        (_, Value::Object(r)) => {
            assert_eq!(r["pid"].as_u64(), Some(u64::from(run.pid())), "{ctx}");
            assert_eq!(r["live"], false, "{ctx}");
        }
        ("completed", Value::Null) => {}
        _ => panic!("an interrupted order without its runner's lock: {ctx}"),
    }
    assert!(matches!(order_state, "in_progress" | "completed"), "{ctx}");

    let resume = lab.ordo("resume", &["resume", LINE]);
    assert_eq!(resume.code, Some(0), "{ctx}\n{}", resume.show());
    if order_state == "completed" {
        assert!(
            contains(&resume.stderr, "already completed"),
            "{}",
            resume.show()
        );
    } else {
        assert!(
            contains(&resume.stdout, "order ORD-LINE: completed"),
            "{}",
            resume.show()
        );
    }

    let calls = lab.calls();
    let states = task_states(&before);
    let tried = attempts(&before);
    let mut in_flight = 0;
    let mut answered_unrecorded = 0;
    for t in &tasks {
        let ctx = format!("task {t}, {ctx}\nplugin log: {calls:#?}");
        let of = |tag: &str, pick: fn(&Call) -> bool| -> Vec<&Call> {
            calls
                .iter()
                .filter(|c| !c.undo && &c.task == t && c.tag == tag && pick(c))
                .collect()
        };
        let key = format!("{LINE}/{t}");
        assert!(
            calls.iter().filter(|c| &c.task == t).all(|c| c.key == key),
            "one idempotency key per task: {ctx}"
        );
        let (ran, ran_ok) = (of("run", Call::is_start), of("run", Call::is_ok_end));
        let (again, again_ok) = (of("resume", Call::is_start), of("resume", Call::is_ok_end));
        // Begun and not ended when ordo died: in flight.
        let was_in_flight = at_kill
            .iter()
            .any(|c| &c.task == t && c.is_start() && !c.undo)
            && !at_kill.iter().any(|c| &c.task == t && c.phase == "end");
        match states[t].as_str() {
            "done" => {
                // Write-ahead: recorded done only after the plugin answered.
                assert_eq!(ran_ok.len(), 1, "done before the kill: {ctx}");
                assert!(!was_in_flight, "{ctx}");
                assert!(again.is_empty(), "a finished task ran again: {ctx}");
            }
            "running" => {
                // Re-invoked once, with the same key and the next attempt.
                assert_eq!((again.len(), again_ok.len()), (1, 1), "{ctx}");
                assert_eq!(again[0].attempt, tried[t] + 1, "{ctx}");
                assert!(ran.iter().all(|c| c.attempt < again[0].attempt), "{ctx}");
                if !ran.is_empty() {
                    in_flight += 1;
                }
                // The plugin had answered, but ordo died before storing it.
                if at_kill.iter().any(|c| &c.task == t && c.is_ok_end()) {
                    answered_unrecorded += 1;
                }
            }
            "pending" => {
                // Write-ahead: a call is made only after `started` is stored.
                assert!(ran.is_empty(), "called but not recorded: {ctx}");
                assert!(!was_in_flight, "{ctx}");
                assert_eq!((again.len(), again_ok.len()), (1, 1), "{ctx}");
                assert_eq!(again[0].attempt, 1, "{ctx}");
            }
            other => panic!("unexpected state {other}: {ctx}"),
        }
        // Every task's action succeeded exactly once, plus once more for
        // each call that was in flight when ordo died and was repeated.
        let ok = calls
            .iter()
            .filter(|c| !c.undo && &c.task == t && c.is_ok_end())
            .count();
        let repeated = if states[t] == "done" { 0 } else { ran_ok.len() };
        assert_eq!(ok, 1 + repeated, "{ctx}");
    }
    assert!(
        calls.iter().all(|c| !c.undo),
        "nothing is undone: {calls:#?}"
    );

    let after = lab.status(LINE);
    assert_eq!(after["state"], "completed", "{after:#}");
    assert_eq!(after["runner"], Value::Null, "{after:#}");
    assert!(
        task_states(&after)
            .values()
            .all(|s| s == "done" || s == "skipped"),
        "{after:#}"
    );
    let count = |state: &str| states.values().filter(|s| *s == state).count();
    eprintln!(
        "kill after {k:2} lines: order {order_state}, {} done, {} running, {} pending; \
         {in_flight} re-invoked after being called ({answered_unrecorded} of them had answered)",
        count("done"),
        count("running"),
        count("pending"),
    );
    Crash {
        done_before: count("done"),
        in_flight,
    }
}

/// SPEC §6: "a killed run resumes without re-running finished tasks; a task
/// interrupted while running is re-invoked with the same idempotency key."
#[test]
fn a_run_killed_at_any_moment_resumes_without_repeating_finished_tasks() {
    // A whole run logs 20 lines (a start and an end for each of 10 tasks);
    // each kill point is the moment the log reaches that many lines, right
    // after a call began or answered, from the first start to the last end.
    let kill_points = [1, 2, 3, 5, 6, 8, 10, 11, 13, 15, 17, 19, 20];
    let crashes: Vec<Crash> = kill_points.iter().map(|&k| crash_and_resume(k)).collect();
    // The kill points are spread over the run, and some caught calls in flight.
    let progress: BTreeSet<usize> = crashes.iter().map(|c| c.done_before).collect();
    assert!(
        progress.len() >= 4,
        "kills landed at {progress:?} tasks done"
    );
    assert!(crashes.iter().map(|c| c.in_flight).sum::<usize>() >= 1);
}

#[test]
fn cancel_while_running_compensates_in_reverse_dependency_order() {
    let lab = Lab::new();
    let line = fixtures().join("line.yaml");
    let plan = lab.plan(&line);
    // d waits for a and b; the plugin holds it until the cancel is in.
    lab.hold("1/d");
    let run = lab.spawn_run("run", &line);
    lab.wait_for("1/d to start", |calls| {
        calls.iter().any(|c| c.task == "1/d" && c.is_start())
    });

    let cancel = lab.ordo("cancel", &["cancel", LINE]);
    assert_eq!(cancel.code, Some(0), "{}", cancel.show());
    assert!(
        contains(&cancel.stdout, &format!("pid {}", run.pid()))
            && contains(&cancel.stdout, "compensates"),
        "{}",
        cancel.show()
    );
    assert_eq!(lab.status(LINE)["cancel_requested"], true);
    // The runner polls for a cancel every 100 ms while d runs.
    std::thread::sleep(Duration::from_secs(1));
    lab.release("1/d");
    let out = run.finish();
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert!(
        contains(&out.stdout, "order ORD-LINE: cancelled"),
        "{}",
        out.show()
    );

    let calls = lab.calls();
    // Nothing started after the cancel: what waits for d never ran.
    for t in ["1/f", "1/g", "1/h", "1/bill"] {
        assert!(calls.iter().all(|c| c.task != t), "{t} ran: {calls:#?}");
    }
    // Every finished task with an undo was undone, once; d finished first.
    let finished = finished_by(&calls, "run");
    let expected: BTreeSet<String> = finished.intersection(&with_undo(&plan)).cloned().collect();
    assert!(["1/a", "1/b", "1/d"].iter().all(|t| expected.contains(*t)));
    assert_eq!(undone(&calls), expected, "{calls:#?}");
    let d_end = calls
        .iter()
        .position(|c| c.task == "1/d" && c.is_ok_end())
        .unwrap();
    let first_undo = calls.iter().position(|c| c.undo).unwrap();
    assert!(
        d_end < first_undo,
        "running tasks finish before compensation"
    );
    assert_reverse_dependency_order(&calls, &plan);

    let status = lab.status(LINE);
    assert_eq!(status["state"], "cancelled", "{status:#}");
    let states = task_states(&status);
    for t in &expected {
        assert_eq!(states[t], "compensated", "{status:#}");
    }
    for t in ["1/f", "1/g", "1/h", "1/bill"] {
        assert_eq!(states[t], "cancelled", "{status:#}");
    }

    // The order is final: another cancel is refused, a resume has nothing to do.
    let again = lab.ordo("cancel", &["cancel", LINE]);
    assert_eq!(again.code, Some(1), "{}", again.show());
    let resume = lab.ordo("resume", &["resume", LINE]);
    assert_eq!(resume.code, Some(1), "{}", resume.show());
    assert!(
        contains(&resume.stderr, "already cancelled"),
        "{}",
        resume.show()
    );
    assert_eq!(lab.calls().len(), calls.len(), "nothing ran");
}

#[test]
fn cancel_is_refused_past_a_point_of_no_return() {
    let lab = Lab::new();
    let out = lab
        .spawn_run("run", &fixtures().join("device.yaml"))
        .finish();
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert!(
        contains(&out.stdout, "order ORD-DEVICE: held"),
        "{}",
        out.show()
    );

    let cancel = lab.ordo("cancel", &["cancel", DEVICE]);
    assert_eq!(cancel.code, Some(1), "{}", cancel.show());
    assert!(
        contains(&cancel.stderr, "point of no return") && contains(&cancel.stderr, "1/ship"),
        "{}",
        cancel.show()
    );
    let status = lab.status(DEVICE);
    assert_eq!(status["state"], "held", "{status:#}");
    assert_eq!(status["cancel_requested"], false, "{status:#}");
    assert!(lab.calls().iter().all(|c| !c.undo), "nothing was undone");
}

#[test]
fn cancel_without_a_runner_compensates_at_once() {
    let lab = Lab::new();
    let line = fixtures().join("line.yaml");
    let plan = lab.plan(&line);
    let mut run = lab.spawn_run("run", &line);
    lab.wait_for("four tasks to finish", |calls| {
        calls.iter().filter(|c| c.is_ok_end()).count() >= 4
    });
    run.kill9();
    lab.settle();
    let before = lab.status(LINE);
    assert_eq!(before["state"], "in_progress", "{before:#}");
    assert_eq!(before["runner"]["live"], false, "{before:#}");
    let states = task_states(&before);

    let cancel = lab.ordo("cancel", &["cancel", LINE]);
    assert_eq!(cancel.code, Some(0), "{}", cancel.show());
    assert!(
        contains(&cancel.stdout, "order ORD-LINE: cancelled"),
        "{}",
        cancel.show()
    );

    let calls = lab.calls();
    // Only tasks interrupted while running are invoked again (their outcome
    // decides whether they need undoing), with their own key.
    for c in calls.iter().filter(|c| c.tag == "cancel" && !c.undo) {
        assert_eq!(states[&c.task], "running", "{c:?} {before:#}");
        assert_eq!(c.key, format!("{LINE}/{}", c.task));
    }
    // The undos ran in this process, for every task with an undo that had
    // run, in reverse dependency order.
    assert!(calls.iter().filter(|c| c.undo).all(|c| c.tag == "cancel"));
    let had_run: BTreeSet<String> = states
        .iter()
        .filter(|(_, s)| *s == "done" || *s == "running")
        .map(|(t, _)| t.clone())
        .collect();
    let expected: BTreeSet<String> = had_run.intersection(&with_undo(&plan)).cloned().collect();
    assert!(!expected.is_empty());
    assert_eq!(undone(&calls), expected, "{calls:#?}");
    assert_reverse_dependency_order(&calls, &plan);

    let status = lab.status(LINE);
    assert_eq!(status["state"], "cancelled", "{status:#}");
    assert_eq!(status["runner"], Value::Null, "{status:#}");
    let after = task_states(&status);
    for (t, s) in &states {
        let want = if expected.contains(t) {
            "compensated"
        } else if s == "pending" {
            "cancelled"
        } else {
            "done"
        };
        assert_eq!(after[t], want, "{t}: {status:#}");
    }
}

#[test]
fn a_second_runner_is_refused_naming_the_holder() {
    let lab = Lab::new();
    let line = fixtures().join("line.yaml");
    lab.hold("1/d");
    let run = lab.spawn_run("run", &line);
    lab.wait_for("1/d to start", |calls| {
        calls.iter().any(|c| c.task == "1/d" && c.is_start())
    });

    let second = lab.ordo("second", &["resume", LINE]);
    assert_ne!(second.code, Some(0), "{}", second.show());
    assert!(
        contains(
            &second.stderr,
            &format!("being run by process {}", run.pid())
        ),
        "{}",
        second.show()
    );
    let status = lab.status(LINE);
    assert_eq!(status["runner"]["pid"].as_u64(), Some(u64::from(run.pid())));
    assert_eq!(status["runner"]["live"], true, "{status:#}");

    lab.release("1/d");
    let out = run.finish();
    assert_eq!(out.code, Some(0), "{}", out.show());
    assert!(contains(&out.stdout, "order ORD-LINE: completed"));
    assert!(
        lab.calls().iter().all(|c| c.tag == "run"),
        "the refused process ran nothing"
    );
    assert_eq!(lab.status(LINE)["state"], "completed");
}

#[test]
fn a_stale_lock_is_taken_over_by_resume() {
    let lab = Lab::new();
    let line = fixtures().join("line.yaml");
    let mut run = lab.spawn_run("run", &line);
    lab.wait_for("three tasks to finish", |calls| {
        calls.iter().filter(|c| c.is_ok_end()).count() >= 3
    });
    run.kill9();
    lab.settle();

    let status = lab.status(LINE);
    assert_eq!(status["state"], "in_progress", "{status:#}");
    assert_eq!(status["runner"]["pid"].as_u64(), Some(u64::from(run.pid())));
    assert_eq!(status["runner"]["live"], false, "{status:#}");
    let text = lab.ordo("status", &["status", LINE]);
    assert!(
        contains(&text.stdout, "lock left by a process that is gone"),
        "{}",
        text.show()
    );

    // With the catalog the order was planned from in reach: no note.
    let mut cmd = lab.command("resume", &["resume", LINE]);
    cmd.env("ORDO_CATALOG", &lab.catalog);
    let resume = lab.start(cmd).finish();
    assert_eq!(resume.code, Some(0), "{}", resume.show());
    assert!(contains(&resume.stdout, "order ORD-LINE: completed"));
    assert!(!contains(&resume.stderr, "changed"), "{}", resume.show());
    let status = lab.status(LINE);
    assert_eq!(status["state"], "completed", "{status:#}");
    assert_eq!(status["runner"], Value::Null, "{status:#}");
}

#[test]
fn resume_after_the_catalog_changed_continues_the_stored_plan() {
    let lab = Lab::with_catalog_copy();
    let line = fixtures().join("line.yaml");
    let mut run = lab.spawn_run("run", &line);
    lab.wait_for("three tasks to finish", |calls| {
        calls.iter().filter(|c| c.is_ok_end()).count() >= 3
    });
    run.kill9();
    lab.settle();
    let hash = lab.status(LINE)["catalog_hash"].clone();

    // New arguments for every task, and a new task.
    let file = lab.catalog.join("durable.ordo");
    let text = std::fs::read_to_string(&file).unwrap();
    let changed = text.replace("label: \"v1\"", "label: \"v2\"").replace(
        "    task bill:",
        "    task extra: slow.step(ms: 0, label: \"v2\") { after h }\n    task bill:",
    );
    assert_ne!(changed, text);
    std::fs::write(&file, changed).unwrap();
    assert!(plan_tasks(&lab.plan(&line)).contains(&"1/extra".to_string()));

    let mut cmd = lab.command("resume", &["resume", LINE]);
    cmd.env("ORDO_CATALOG", &lab.catalog);
    let resume = lab.start(cmd).finish();
    assert_eq!(resume.code, Some(0), "{}", resume.show());
    assert!(
        contains(
            &resume.stderr,
            "changed since order ORD-LINE was planned; resuming the plan stored with the order"
        ),
        "{}",
        resume.show()
    );
    let calls = lab.calls();
    assert!(calls.iter().any(|c| c.tag == "resume"));
    for c in &calls {
        assert_ne!(c.task, "1/extra", "a task of the new catalog ran");
        assert_eq!(c.inputs["label"], "v1", "{c:?}");
    }
    let status = lab.status(LINE);
    assert_eq!(status["state"], "completed", "{status:#}");
    assert_eq!(status["catalog_hash"], hash);
    assert_eq!(status["tasks"].as_array().unwrap().len(), 10);
}

/// The arguments of `ordo run` of `order`, every action simulated.
fn simulated_run(lab: &Lab, order: &std::path::Path) -> Vec<String> {
    vec![
        "run".into(),
        "--catalog".into(),
        lab.catalog.display().to_string(),
        order.display().to_string(),
        "--quiet".into(),
    ]
}

#[test]
fn running_an_existing_order_is_refused_with_a_pointer_to_resume() {
    let lab = Lab::new();
    let order = lab.line_order("ORD-Q1", 0);
    let first = lab.ordo("run", &simulated_run(&lab, &order));
    assert_eq!(first.code, Some(0), "{}", first.show());
    let before = lab.status("ORD-Q1");

    let second = lab.ordo("run", &simulated_run(&lab, &order));
    assert_eq!(second.code, Some(2), "{}", second.show());
    assert!(
        contains(&second.stderr, "ORD-Q1") && contains(&second.stderr, "ordo resume"),
        "{}",
        second.show()
    );
    assert_eq!(
        lab.status("ORD-Q1"),
        before,
        "the stored order is untouched"
    );

    // Resuming a completed order has nothing to do, and succeeds.
    let resume = lab.ordo("resume", &["resume", "ORD-Q1"]);
    assert_eq!(resume.code, Some(0), "{}", resume.show());
    assert!(contains(&resume.stderr, "already completed"));
}

#[test]
fn a_corrupt_or_foreign_state_folder_is_refused_and_left_untouched() {
    let lab = Lab::new();
    std::fs::create_dir(&lab.state).unwrap();
    let db = lab.state.join("ordo.db");
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(&db, &garbage).unwrap();
    let order = lab.line_order("ORD-Q1", 0);
    let run = simulated_run(&lab, &order);
    let commands: [&[&str]; 4] = [
        &["status"],
        &["status", "ORD-Q1", "--format", "json"],
        &["resume", "ORD-Q1"],
        &["cancel", "ORD-Q1"],
    ];
    let mut outs: Vec<Out> = commands.iter().map(|a| lab.ordo("x", a)).collect();
    outs.push(lab.ordo("x", &run));
    for out in &outs {
        assert_eq!(out.code, Some(2), "{}", out.show());
        assert!(
            contains(&out.stderr, "is not an SQLite database") && contains(&out.stderr, "--state"),
            "{}",
            out.show()
        );
    }
    assert_eq!(std::fs::read(&db).unwrap(), garbage, "byte for byte");
    let names: Vec<_> = std::fs::read_dir(&lab.state)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["ordo.db"], "no side files");

    // Another program's SQLite database.
    std::fs::remove_file(&db).unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');")
        .unwrap();
    drop(conn);
    let bytes = std::fs::read(&db).unwrap();
    let out = lab.ordo("x", &["status"]);
    assert_eq!(out.code, Some(2), "{}", out.show());
    assert!(contains(&out.stderr, "not ordo's"), "{}", out.show());
    assert_eq!(std::fs::read(&db).unwrap(), bytes, "byte for byte");
}

#[test]
fn status_lists_orders_newest_first_and_shows_one_in_text_and_json() {
    let lab = Lab::new();
    // Nothing run yet: an empty list, and no state folder made.
    let empty = lab.ordo("status", &["status"]);
    assert_eq!(
        (empty.code, empty.stdout.as_str()),
        (Some(0), "no orders\n")
    );
    let empty = lab.ordo("status", &["status", "--format", "json"]);
    assert_eq!(empty.stdout.trim(), "[]");
    assert!(!lab.state.exists());

    for id in ["ORD-Q1", "ORD-Q2"] {
        let order = lab.line_order(id, 0);
        let out = lab.ordo("run", &simulated_run(&lab, &order));
        assert_eq!(out.code, Some(0), "{}", out.show());
    }
    let device = lab
        .spawn_run("run", &fixtures().join("device.yaml"))
        .finish();
    assert_eq!(device.code, Some(1), "{}", device.show());

    // The list, newest first.
    let list = lab.ordo("status", &["status", "--format", "json"]);
    assert_eq!(list.code, Some(0), "{}", list.show());
    let list: Value = serde_json::from_str(&list.stdout).unwrap();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ORD-DEVICE", "ORD-Q2", "ORD-Q1"]);
    for o in list.as_array().unwrap() {
        assert_eq!(
            keys(o),
            [
                "id",
                "version",
                "state",
                "reason",
                "created_at",
                "updated_at",
                "tasks",
                "tasks_finished",
                "cancel_requested",
                "due_at",
                "overdue"
            ]
        );
    }
    assert_eq!(list[1]["state"], "completed");
    assert_eq!(
        (
            list[1]["tasks"].as_u64(),
            list[1]["tasks_finished"].as_u64()
        ),
        (Some(10), Some(10))
    );
    assert_eq!(list[0]["state"], "held");
    assert!(list[0]["reason"].as_str().unwrap().contains("1/activate"));

    let text = lab.ordo("status", &["status"]);
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert!(
        lines[0].starts_with("ORDER") && lines[0].contains("STATE"),
        "{}",
        text.stdout
    );
    assert!(lines[1].starts_with("ORD-DEVICE") && lines[1].contains("held"));
    assert!(lines[2].starts_with("ORD-Q2") && lines[2].contains("completed  10/10"));
    assert!(lines[3].starts_with("ORD-Q1"));

    // One order.
    let one = lab.status("ORD-Q1");
    assert_eq!(
        keys(&one),
        [
            "order",
            "version",
            "state",
            "reason",
            "catalog_hash",
            "created_at",
            "updated_at",
            "last_event_at",
            "cancel_requested",
            "due_at",
            "overdue",
            "runner",
            "counts",
            "items",
            "tasks",
            "revisions"
        ]
    );
    assert_eq!(one["revisions"], serde_json::json!([]));
    assert_eq!(one["order"], "ORD-Q1");
    assert_eq!(one["state"], "completed");
    assert_eq!(one["runner"], Value::Null);
    assert_eq!(one["counts"], serde_json::json!({ "done": 10 }));
    assert_eq!(one["catalog_hash"].as_str().unwrap().len(), 64);
    assert_eq!(
        keys(&one["items"][0]),
        ["id", "product", "action", "parent", "counts"]
    );
    assert_eq!(one["items"][0]["product"], "Line");
    let task = &one["tasks"][0];
    assert_eq!(
        keys(task),
        [
            "id",
            "item",
            "action",
            "stage",
            "state",
            "attempts",
            "undo_attempts",
            "undoing",
            "point_of_no_return",
            "started_at",
            "finished_at",
            "duration_ms",
            "error",
            "next_attempt_at",
            "not_before",
            "outputs",
            "process"
        ]
    );
    assert_eq!(
        (&task["id"], &task["stage"], &task["state"]),
        (&"1/probe".into(), &"check".into(), &"done".into())
    );
    assert_eq!(task["outputs"], serde_json::json!({ "out": "1/probe.out" }));

    let held = lab.status(DEVICE);
    let ship = held["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "1/ship")
        .unwrap();
    assert_eq!(ship["point_of_no_return"], true);
    assert_eq!(
        held["counts"],
        serde_json::json!({ "done": 2, "failed": 1 })
    );

    let text = lab.ordo("status", &["status", "ORD-Q1"]);
    assert_eq!(text.code, Some(0), "{}", text.show());
    let out = &text.stdout;
    assert!(
        out.starts_with("order ORD-Q1: completed\ntasks: 10 done\n"),
        "{out}"
    );
    for part in [
        "\nitems\n",
        "ITEM",
        "PRODUCT",
        "\ntasks\n",
        "TASK",
        "ATTEMPTS",
        "1/bill",
    ] {
        assert!(out.contains(part), "{part}: {out}");
    }

    // Unknown and impossible order ids.
    let missing = lab.ordo("status", &["status", "ORD-NONE"]);
    assert_eq!(missing.code, Some(2), "{}", missing.show());
    assert!(contains(&missing.stderr, "no order ORD-NONE"));
    for bad in ["../escape", ".hidden"] {
        for cmd in ["status", "resume", "cancel"] {
            let out = lab.ordo("x", &[cmd, bad]);
            assert_eq!(out.code, Some(2), "{cmd} {bad}: {}", out.show());
            assert!(
                contains(&out.stderr, "is not an order id"),
                "{}",
                out.show()
            );
        }
    }
}

/// docs/state.md: a consistent copy of the database is a backup. Restored
/// alone into an empty folder, an interrupted order resumes there with the
/// bindings it ran with, which the database keeps.
#[test]
fn an_order_restored_from_a_database_backup_resumes_with_the_bindings_it_ran_with() {
    let lab = Lab::new();
    let line = fixtures().join("line.yaml");
    let mut run = lab.spawn_run("run", &line);
    lab.wait_for("three tasks to finish", |calls| {
        calls.iter().filter(|c| c.is_ok_end()).count() >= 3
    });
    run.kill9();
    lab.settle();
    let restored = lab.root.join("restored");
    std::fs::create_dir(&restored).unwrap();
    let conn = rusqlite::Connection::open(lab.state.join("ordo.db")).unwrap();
    conn.execute(
        "VACUUM INTO ?1",
        [restored.join("ordo.db").to_str().unwrap()],
    )
    .unwrap();
    drop(conn);
    let resume = |args: &[&str]| {
        lab.start(lab.command_in(&restored, "resume", args))
            .finish()
    };

    let resume = resume(&["resume", LINE]);
    assert_eq!(resume.code, Some(0), "{}", resume.show());
    assert!(
        lab.calls().iter().any(|c| c.tag == "resume"),
        "the plugin ran the rest"
    );
    assert!(contains(&resume.stdout, "order ORD-LINE: completed"));
    assert!(restored.join("events").join("ORD-LINE.jsonl").is_file());
    assert!(restored.join("logs").join("ORD-LINE.log").is_file());
}
