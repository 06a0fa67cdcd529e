//! Revisions through the real binary (`docs/revisions.md`): the exec plugin
//! of `tests/fixtures/durable/` logs every call and holds the calls the test
//! gates, so the state at the moment of revision is exact.

#[path = "durable_support/mod.rs"]
mod durable_support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use durable_support::{task_states, Call, Lab, Out, PATIENCE};

const ORDER: &str = "ORD-REV";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/revise")
}

fn lab() -> Lab {
    let mut lab = Lab::new();
    lab.catalog = fixtures().join("catalog");
    lab.bindings = fixtures().join("bindings.yaml");
    lab
}

/// An order file: Access (with `speed`) as item 1, and the Phone items given.
fn order(lab: &Lab, name: &str, speed: &str, phones: &[&str], device: bool) -> PathBuf {
    let mut text = format!(
        "id: {ORDER}\ncustomer: {{ id: C-7, email: c7@example.com }}\nitems:\n  - id: \"1\"\n    action: add\n    product: Access\n    attributes: {{ speed: \"{speed}\" }}\n"
    );
    for p in phones {
        text.push_str(&format!(
            "  - id: \"{p}\"\n    action: add\n    product: Phone\n"
        ));
    }
    if device {
        text.push_str("  - id: \"9\"\n    action: add\n    product: Device\n");
    }
    let path = lab.root.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn revise(lab: &Lab, tag: &str, file: &Path) -> Out {
    let args: Vec<std::ffi::OsString> = vec![
        "revise".into(),
        "--catalog".into(),
        lab.catalog.clone().into(),
        ORDER.into(),
        file.into(),
        "--quiet".into(),
    ];
    lab.ordo(tag, &args)
}

fn ended(call: &Call) -> bool {
    call.is_ok_end()
}

/// Index of the first call matching `f` in the log, which must have one.
fn first(calls: &[Call], what: &str, f: impl Fn(&Call) -> bool) -> usize {
    calls
        .iter()
        .position(f)
        .unwrap_or_else(|| panic!("no call {what} in {calls:#?}"))
}

fn count(calls: &[Call], f: impl Fn(&Call) -> bool) -> usize {
    calls.iter().filter(|c| f(c)).count()
}

fn wait_status(lab: &Lab, what: &str, cond: impl Fn(&serde_json::Value) -> bool) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if cond(&lab.status(ORDER)) {
            return;
        }
        assert!(Instant::now() < deadline, "waited for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every file under the state folder, with its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Copies what a killed process left in the write-ahead log into the
/// database, so that the folder's bytes are those of a quiet store.
fn checkpoint(lab: &Lab) {
    let conn = rusqlite::Connection::open(lab.state.join("ordo.db")).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    drop(conn);
    let _ = std::fs::remove_file(lab.state.join("ordo.db-wal"));
}

/// Runs the first version with item 1's activation held, and waits until
/// every other task is done and the activation is under way.
fn started_with_activation_held(lab: &Lab) -> durable_support::Running {
    lab.hold("1/activate");
    let v1 = order(lab, "v1.yaml", "100M", &["2"], false);
    let run = lab.spawn_run("run", &v1);
    lab.wait_for("the first version up to activate", |calls| {
        calls.iter().any(|c| c.task == "1/activate" && c.is_start())
            && ["1/reserve", "1/ship", "1/configure", "2/number", "2/port"]
                .iter()
                .all(|t| calls.iter().any(|c| c.task == *t && ended(c)))
    });
    run
}

#[test]
fn a_live_runner_applies_a_revision_at_a_safe_point() {
    let lab = lab();
    let run = started_with_activation_held(&lab);
    // Speed changed, the phone of item 2 removed, another one added.
    let v2 = order(&lab, "v2.yaml", "1G", &["3"], false);
    let out = revise(&lab, "revise", &v2);
    assert_eq!(out.code, Some(0), "{}", out.show());
    assert!(out.stdout.contains("starts no new task"), "{}", out.show());
    // The running attempt finishes; then the runner switches.
    lab.release("1/activate");
    let out = run.finish();
    assert_eq!(out.code, Some(0), "{}", out.show());

    let calls = lab.calls();
    let forward = |task: &'static str| move |c: &Call| c.task == task && !c.undo && c.is_start();
    let undo = |task: &'static str| move |c: &Call| c.task == task && c.undo && c.is_start();
    // keep: invoked once, in version 1.
    for kept in ["1/reserve", "1/ship"] {
        assert_eq!(count(&calls, forward(kept)), 1, "{kept}: {calls:#?}");
        assert_eq!(count(&calls, undo(kept)), 0, "{kept}");
    }
    // redo: undone with the first effect's key, then invoked with the new
    // inputs and the @v2 key.
    let redo_configure = first(&calls, "configure@v2", |c| {
        forward("1/configure")(c) && c.key == format!("{ORDER}/1/configure@v2")
    });
    assert_eq!(calls[redo_configure].inputs["label"], "1G");
    let undo_configure = first(&calls, "undo configure", undo("1/configure"));
    assert_eq!(
        calls[undo_configure].key,
        format!("{ORDER}/1/configure/undo")
    );
    let undo_activate = first(&calls, "undo activate", undo("1/activate"));
    assert!(undo_activate < undo_configure, "reverse dependency order");
    assert!(undo_configure < redo_configure, "undos first");
    first(&calls, "activate@v2", |c| {
        forward("1/activate")(c) && c.key == format!("{ORDER}/1/activate@v2")
    });
    // undo: the removed item's tasks, port (which reads number) first.
    let undo_port = first(&calls, "undo 2/port", undo("2/port"));
    let undo_number = first(&calls, "undo 2/number", undo("2/number"));
    assert!(undo_port < undo_number, "reverse dependency order");
    // add: the new item runs with its first key.
    let added = first(&calls, "3/number", forward("3/number"));
    assert_eq!(calls[added].key, format!("{ORDER}/3/number"));
    assert!(undo_number < added);
    // Requests carry the version.
    let version = |i: usize| {
        let line = std::fs::read_to_string(&lab.log).unwrap();
        let v: serde_json::Value = serde_json::from_str(line.lines().nth(i).unwrap()).unwrap();
        v["version"].as_u64()
    };
    assert_eq!(version(redo_configure), Some(2));
    assert_eq!(version(undo_configure), Some(1));

    let status = lab.status(ORDER);
    assert_eq!(status["version"], 2);
    assert_eq!(status["state"], "completed");
    let rev = &status["revisions"][0];
    assert_eq!(rev["state"], "applied");
    assert_eq!(rev["from"], 1);
    assert_eq!(
        rev["counts"],
        serde_json::json!({"kept": 2, "redone": 2, "undone": 2, "added": 2})
    );
    let states = task_states(&status);
    assert!(states.values().all(|s| s == "done"), "{states:?}");
    let text = lab.ordo("status", &["status", ORDER]);
    assert!(
        text.stdout.contains("version: 2") && text.stdout.contains("2 kept, 2 redone"),
        "{}",
        text.show()
    );
}

#[test]
fn plan_revise_shows_the_delta_and_changes_nothing() {
    let lab = lab();
    let run = started_with_activation_held(&lab);
    let v2 = order(&lab, "v2.yaml", "1G", &["3"], false);
    let args: Vec<std::ffi::OsString> = vec![
        "plan".into(),
        "--catalog".into(),
        lab.catalog.clone().into(),
        "--revise".into(),
        ORDER.into(),
        v2.clone().into(),
        "--format".into(),
        "json".into(),
    ];
    let out = lab.ordo("plan", &args);
    assert_eq!(out.code, Some(0), "{}", out.show());
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let changes: Vec<(String, String)> = json["revision"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["change"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        ("1/reserve", "keep"),
        ("1/ship", "keep"),
        ("1/configure", "redo"),
        // Running, not done: it runs in the new version as usual.
        ("1/activate", "add"),
        ("3/number", "add"),
        ("3/port", "add"),
        ("2/number", "undo"),
        ("2/port", "undo"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(changes, expected);
    assert_eq!(json["revision"]["from"], 1);
    assert_eq!(json["revision"]["to"], 2);
    lab.release("1/activate");
    assert_eq!(run.finish().code, Some(0));
    // Nothing was revised.
    let status = lab.status(ORDER);
    assert_eq!(status["version"], 1);
    assert_eq!(status["revisions"], serde_json::json!([]));
}

#[test]
fn without_a_runner_ordo_revise_applies_it_and_continues() {
    let lab = lab();
    let mut run = started_with_activation_held(&lab);
    run.kill9();
    lab.settle();
    lab.release("1/activate");
    let v2 = order(&lab, "v2.yaml", "1G", &["2"], false);
    let out = revise(&lab, "revise", &v2);
    assert_eq!(out.code, Some(0), "{}", out.show());
    let calls = lab.calls();
    let revised: Vec<&Call> = calls.iter().filter(|c| c.tag == "revise").collect();
    // The interrupted activation is asked again (same key) to settle it,
    // then undone and redone with the new key; the phone is kept.
    let keys: Vec<(&str, bool)> = revised
        .iter()
        .filter(|c| c.is_start() && c.task == "1/activate")
        .map(|c| (c.key.as_str(), c.undo))
        .collect();
    let plain = format!("{ORDER}/1/activate");
    let undo = format!("{ORDER}/1/activate/undo");
    let redo = format!("{ORDER}/1/activate@v2");
    assert_eq!(
        keys,
        vec![
            (plain.as_str(), false),
            (undo.as_str(), true),
            (redo.as_str(), false)
        ]
    );
    assert!(!revised.iter().any(|c| c.task.starts_with("2/")));
    let status = lab.status(ORDER);
    assert_eq!(status["state"], "completed");
    assert_eq!(status["version"], 2);
}

#[test]
fn sigkill_during_the_undos_resumes_them_once() {
    let lab = lab();
    let run = started_with_activation_held(&lab);
    lab.hold("1/activate.undo");
    let v2 = order(&lab, "v2.yaml", "1G", &["2"], false);
    assert_eq!(revise(&lab, "revise", &v2).code, Some(0));
    lab.release("1/activate");
    lab.wait_for("the undo of activate", |calls| {
        calls
            .iter()
            .any(|c| c.task == "1/activate" && c.undo && c.is_start())
    });
    let mut run = run;
    run.kill9();
    lab.settle();
    lab.release("1/activate.undo");
    let status = lab.status(ORDER);
    assert_eq!(status["revisions"][0]["state"], "undoing");
    let out = lab.ordo("resume", &["resume", ORDER, "--quiet"]);
    assert_eq!(out.code, Some(0), "{}", out.show());
    let calls = lab.calls();
    let undo_ends = |task: &str| {
        calls
            .iter()
            .filter(|c| c.task == task && c.undo && ended(c))
            .count()
    };
    assert_eq!(undo_ends("1/activate"), 1, "{calls:#?}");
    assert_eq!(undo_ends("1/configure"), 1);
    let undo_keys: Vec<&str> = calls
        .iter()
        .filter(|c| c.task == "1/activate" && c.undo && c.is_start())
        .map(|c| c.key.as_str())
        .collect();
    let key = format!("{ORDER}/1/activate/undo");
    assert!(undo_keys.iter().all(|k| *k == key), "{undo_keys:?}");
    let redone = calls
        .iter()
        .filter(|c| c.task == "1/configure" && !c.undo && c.is_start())
        .filter(|c| c.key.ends_with("@v2"))
        .count();
    assert_eq!(redone, 1);
    let status = lab.status(ORDER);
    assert_eq!(status["state"], "completed");
    assert_eq!(status["version"], 2);
    assert_eq!(status["revisions"][0]["state"], "applied");
}

#[test]
fn refusals_leave_the_store_byte_identical() {
    // Ended.
    let lab = lab();
    let v1 = order(&lab, "v1.yaml", "100M", &[], false);
    let out = lab.ordo("run", &lab.run_args(&v1));
    assert_eq!(out.code, Some(0), "{}", out.show());
    let before = snapshot(&lab.state);
    let v2 = order(&lab, "v2.yaml", "1G", &[], false);
    let out = revise(&lab, "revise", &v2);
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert!(out.stderr.contains("ordo::revise::ended"), "{}", out.show());
    assert!(out.stderr.contains("new order"), "{}", out.show());
    assert!(snapshot(&lab.state) == before, "the store changed");

    // Past a point of no return.
    let lab = self::lab();
    lab.hold("9/activate");
    let v1 = order(&lab, "v1.yaml", "100M", &[], true);
    let mut run = lab.spawn_run("run", &v1);
    lab.wait_for("the device's activation", |calls| {
        calls.iter().any(|c| c.task == "9/activate" && c.is_start())
    });
    run.kill9();
    lab.settle();
    checkpoint(&lab);
    let before = snapshot(&lab.state);
    let v2 = order(&lab, "v2.yaml", "1G", &[], true);
    let out = revise(&lab, "revise", &v2);
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert!(
        out.stderr.contains("ordo::revise::past_point_of_no_return")
            && out.stderr.contains("9/ship"),
        "{}",
        out.show()
    );
    assert!(snapshot(&lab.state) == before, "the store changed");
    // And `ordo plan --revise` changes nothing either.
    let args: Vec<std::ffi::OsString> = vec![
        "plan".into(),
        "--catalog".into(),
        lab.catalog.clone().into(),
        "--revise".into(),
        ORDER.into(),
        v2.into(),
    ];
    assert_eq!(lab.ordo("plan", &args).code, Some(0));
    assert!(snapshot(&lab.state) == before, "the store changed");
    lab.release("9/activate");
}

#[test]
fn a_revision_of_another_order_is_refused() {
    let lab = lab();
    let v1 = order(&lab, "v1.yaml", "100M", &[], false);
    assert_eq!(lab.ordo("run", &lab.run_args(&v1)).code, Some(0));
    let other = lab.root.join("other.yaml");
    std::fs::write(
        &other,
        std::fs::read_to_string(&v1)
            .unwrap()
            .replace(ORDER, "ORD-OTHER"),
    )
    .unwrap();
    let out = revise(&lab, "revise", &other);
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert!(
        out.stderr.contains("ordo::revise::other_order"),
        "{}",
        out.show()
    );
    wait_status(&lab, "no revision", |s| {
        s["revisions"] == serde_json::json!([])
    });
}
