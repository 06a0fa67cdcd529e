//! What `ordo status` tells an operator, through the real binary: task
//! outputs in the text view, when a task waiting for a retry tries again,
//! and an `updated` time that follows every event.

mod durable_support;

use std::path::{Path, PathBuf};
use std::time::Instant;

use durable_support::{fixtures, Lab, DEVICE, PATIENCE};

/// Waits (at most `PATIENCE`) until `cond` holds for the order's status JSON.
fn wait_status(lab: &Lab, id: &str, what: &str, cond: impl Fn(&serde_json::Value) -> bool) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let out = lab.ordo("status", &["status", id, "--format", "json"]);
        if out.code == Some(0) {
            let status: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
            if cond(&status) {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "waited for {what}: {}",
            out.show()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn task<'a>(status: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    status["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("no task {id}"))
}

#[test]
fn text_status_shows_each_tasks_outputs() {
    let lab = Lab::new();
    let args = lab.run_args(&fixtures().join("device.yaml"));
    let out = lab.ordo("run", &args);
    assert_eq!(out.code, Some(1), "held: {}", out.show());
    let text = lab.ordo("status", &["status", DEVICE]);
    assert_eq!(text.code, Some(0), "{}", text.show());
    let line = text
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("1/reserve "))
        .unwrap_or_else(|| panic!("no reserve line: {}", text.stdout));
    assert!(line.contains("out=1/reserve:out"), "{}", text.stdout);
    assert!(text.stdout.contains("OUTPUTS"), "{}", text.stdout);
}

#[test]
fn updated_follows_every_event_not_only_the_orders_state() {
    let lab = Lab::new();
    lab.hold("1/d");
    let mut run = lab.spawn_run("run", &fixtures().join("line.yaml"));
    lab.wait_for("1/d to start", |calls| {
        calls.iter().any(|c| c.is_start() && c.task == "1/d")
    });
    let status = lab.status(durable_support::LINE);
    assert_eq!(
        status["updated_at"], status["last_event_at"],
        "updated is the last event's time: {status:#}"
    );
    run.kill9();
    lab.settle();
}

fn project_catalog() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog")
}

#[test]
fn a_task_waiting_for_a_retry_says_when_it_tries_again() {
    let lab = Lab::new();
    // The credit check fails its first attempt; the catalog retries it
    // every 10s, long enough to look at it waiting.
    let bindings = lab.root.join("b.yaml");
    std::fs::write(
        &bindings,
        "actions:\n  \"*\": { simulate: {} }\n  credit.check: { simulate: { fail: 1 } }\n",
    )
    .unwrap();
    let order = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/voip-on-broadband.yaml");
    let mut args: Vec<std::ffi::OsString> = vec!["run".into(), "--catalog".into()];
    args.push(project_catalog().into());
    args.push(order.into());
    args.extend(["--bindings".into(), bindings.into(), "--quiet".into()]);
    let mut run = lab.start(lab.command("run", &args));
    wait_status(&lab, "ORD-1004", "the credit check to wait", |s| {
        task(s, "credit")["next_attempt_at"].is_string()
    });
    let status = lab.status("ORD-1004");
    let credit = task(&status, "credit");
    assert_eq!(credit["state"], "running", "{credit:#}");
    assert!(
        credit["next_attempt_at"].as_str() > status["last_event_at"].as_str(),
        "the next attempt is after the failure: {credit:#}"
    );
    let text = lab.ordo("status", &["status", "ORD-1004"]);
    assert!(
        text.stdout.contains("running, next attempt "),
        "{}",
        text.stdout
    );
    run.kill9();
}

#[test]
fn failures_lists_only_the_tasks_that_need_a_look() {
    let lab = Lab::new();
    let mut args = lab.run_args(&fixtures().join("device.yaml"));
    args.push("--failures".into());
    let out = lab.ordo("run", &args);
    assert_eq!(out.code, Some(1), "held: {}", out.show());
    let tasks: Vec<&str> = out
        .stdout
        .lines()
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(tasks, ["1/activate"], "{}", out.stdout);
    assert!(
        out.stdout.contains("(2 of 3 tasks not shown"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("order ORD-DEVICE: held"),
        "{}",
        out.stdout
    );
}

/// `cmd` run on a terminal (`script` gives it one), its output as the
/// terminal showed it.
fn on_a_terminal(lab: &Lab, cmd: &str, no_color: bool) -> String {
    let mut script = std::process::Command::new("script");
    script
        .args(["-qec", cmd, "/dev/null"])
        .current_dir(&lab.root)
        .env_remove("NO_COLOR")
        .env_remove("ORDO_STATE")
        .env_remove("ORDO_CATALOG")
        .env("DURABLE_LOG", &lab.log)
        .env("DURABLE_TAG", "terminal")
        .env("DURABLE_GATE", &lab.gate)
        .stdin(std::process::Stdio::null());
    if no_color {
        script.env("NO_COLOR", "1");
    }
    let out = script.output().expect("script runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn states_are_coloured_on_a_terminal_and_readable_without_colour() {
    let lab = Lab::new();
    let ordo = env!("CARGO_BIN_EXE_ordo");
    let state = lab.state.display();
    let run = format!(
        "{ordo} run --catalog {} {} --bindings {} --quiet --state {state}",
        lab.catalog.display(),
        fixtures().join("device.yaml").display(),
        lab.bindings.display()
    );
    let summary = on_a_terminal(&lab, &run, false);
    assert!(summary.contains("\x1b[31mfailed\x1b[0m"), "{summary:?}");
    assert!(summary.contains("\x1b[32mdone\x1b[0m"), "{summary:?}");
    assert!(summary.contains("ORD-DEVICE: \x1b[33mheld"), "{summary:?}");

    let status = format!("{ordo} status {DEVICE} --state {state}");
    let coloured = on_a_terminal(&lab, &status, false);
    assert!(coloured.contains("\x1b[31mfailed\x1b[0m"), "{coloured:?}");
    assert!(coloured.contains("\x1b[33mheld\x1b[0m"), "{coloured:?}");
    let list = on_a_terminal(&lab, &format!("{ordo} status --state {state}"), false);
    assert!(list.contains("\x1b[33mheld\x1b[0m"), "{list:?}");

    // NO_COLOR, and a pipe, get the same words without colour.
    let plain = on_a_terminal(&lab, &status, true);
    assert!(!plain.contains('\x1b'), "{plain:?}");
    assert!(
        plain.contains("failed") && plain.contains("held"),
        "{plain}"
    );
    let piped = lab.ordo("status", &["status", DEVICE]);
    assert!(!piped.stdout.contains('\x1b'), "{}", piped.stdout);
}
