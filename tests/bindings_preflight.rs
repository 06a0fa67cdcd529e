//! Bindings checked before anything runs, and kept in the store, through the
//! real binary (`docs/execution.md`, "Checked before anything runs";
//! `docs/state.md`). Each refused run must leave no trace: no plugin call,
//! no order stored.

mod durable_support;

use std::path::PathBuf;

use durable_support::{fixtures, Lab, Out, DEVICE};

fn plugin() -> String {
    fixtures().join("plugin.py").display().to_string()
}

/// Writes a bindings file in the lab: every action goes to the logging
/// plugin (by its absolute path), then `extra` lines under `actions:`.
fn bindings(lab: &Lab, name: &str, extra: &str) -> PathBuf {
    let path = lab.root.join(name);
    let text = format!("actions:\n  \"*\": {{ exec: [\"{}\"] }}\n{extra}", plugin());
    std::fs::write(&path, text).unwrap();
    path
}

fn run(lab: &Lab, bindings: &PathBuf, extra: &[&str]) -> Out {
    let mut args: Vec<std::ffi::OsString> = vec![
        "run".into(),
        "--catalog".into(),
        lab.catalog.clone().into(),
        fixtures().join("device.yaml").into(),
        "--bindings".into(),
        bindings.into(),
        "--quiet".into(),
    ];
    args.extend(extra.iter().map(Into::into));
    lab.ordo("run", &args)
}

/// Nothing ran and nothing was stored.
fn assert_nothing_ran(lab: &Lab, out: &Out) {
    assert!(
        lab.calls().is_empty(),
        "a plugin was called: {}",
        out.show()
    );
    let status = lab.ordo("status", &["status", DEVICE]);
    assert_eq!(
        status.code,
        Some(2),
        "the order was stored: {}",
        status.show()
    );
}

/// A refused run: exit 1, the message, its line and column in the file.
fn assert_refused(lab: &Lab, out: &Out, message: &str, at: &str) {
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert!(out.stderr.contains("ordo::bindings"), "{}", out.show());
    assert!(out.stderr.contains(message), "{message}: {}", out.show());
    assert!(out.stderr.contains(at), "{at}: {}", out.show());
    assert_nothing_ran(lab, out);
}

#[test]
fn a_simulated_output_the_action_does_not_declare_is_refused_with_did_you_mean() {
    let lab = Lab::new();
    let b = bindings(
        &lab,
        "b.yaml",
        "  slow.fail: { simulate: { outputs: { outt: done } } }\n",
    );
    let out = run(&lab, &b, &[]);
    assert_refused(
        &lab,
        &out,
        "`outt` is not an output of `slow.fail`",
        "b.yaml:3:",
    );
    assert!(out.stderr.contains("did you mean `out`?"), "{}", out.show());
}

#[test]
fn a_simulated_output_of_the_wrong_type_is_refused() {
    let lab = Lab::new();
    let b = bindings(
        &lab,
        "b.yaml",
        "  slow.fail: { simulate: { outputs: { out: [1, 2] } } }\n",
    );
    let out = run(&lab, &b, &[]);
    assert_refused(
        &lab,
        &out,
        "the output `out` of `slow.fail` is declared `string`",
        "b.yaml:3:",
    );
}

#[test]
fn an_exec_program_that_does_not_exist_is_refused() {
    let lab = Lab::new();
    let b = bindings(
        &lab,
        "b.yaml",
        "  slow.fail: { exec: [\"./plugins/gone.sh\"] }\n",
    );
    let out = run(&lab, &b, &[]);
    assert_refused(&lab, &out, "gone.sh` does not exist", "b.yaml:3:");

    let b = bindings(
        &lab,
        "c.yaml",
        "  slow.fail: { exec: [no-such-plugin-anywhere] }\n",
    );
    let out = run(&lab, &b, &[]);
    assert_refused(&lab, &out, "is not found on PATH", "c.yaml:3:");
}

#[test]
fn an_exec_program_that_is_not_executable_is_refused() {
    let lab = Lab::new();
    std::fs::write(lab.root.join("plain.sh"), "#!/bin/sh\n").unwrap();
    let b = bindings(&lab, "b.yaml", "  slow.fail: { exec: [\"./plain.sh\"] }\n");
    let out = run(&lab, &b, &[]);
    assert_refused(&lab, &out, "plain.sh` is not executable", "b.yaml:3:");
    assert!(out.stderr.contains("chmod +x"), "{}", out.show());
}

#[test]
fn an_action_without_a_binding_is_refused_before_the_order_is_stored() {
    let lab = Lab::new();
    let path = lab.root.join("b.yaml");
    std::fs::write(
        &path,
        format!(
            "actions:\n  \"slow.step\": {{ exec: [\"{}\"] }}\n  slow.undo: {{ noop: {{}} }}\n",
            plugin()
        ),
    )
    .unwrap();
    let out = run(&lab, &path, &[]);
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert!(
        out.stderr
            .contains("no binding runs the action `slow.fail`"),
        "{}",
        out.show()
    );
    assert_nothing_ran(&lab, &out);
}

#[test]
fn preflight_errors_honour_format_json() {
    let lab = Lab::new();
    let b = bindings(
        &lab,
        "b.yaml",
        "  slow.fail: { simulate: { outputs: { outt: done } } }\n",
    );
    let out = run(&lab, &b, &["--format", "json"]);
    assert_eq!(out.code, Some(1), "{}", out.show());
    let json: serde_json::Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.show()));
    let text = json.to_string();
    assert!(text.contains("ordo::bindings"), "{text}");
    assert!(text.contains("`outt` is not an output"), "{text}");
    assert_nothing_ran(&lab, &out);
}

fn stored_bindings(lab: &Lab) -> Option<String> {
    let conn = rusqlite::Connection::open(lab.state.join("ordo.db")).unwrap();
    conn.query_row("SELECT bindings FROM orders WHERE id = ?1", [DEVICE], |r| {
        r.get(0)
    })
    .unwrap()
}

/// The device order stops `held` (its activation fails for good past its
/// point of no return), to be resumed.
fn held_device(lab: &Lab, b: &PathBuf) {
    let out = run(lab, b, &[]);
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert_eq!(lab.status(DEVICE)["state"], "held");
}

#[test]
fn the_bindings_are_kept_in_the_store_and_resume_needs_no_file() {
    let lab = Lab::new();
    let b = bindings(&lab, "b.yaml", "");
    held_device(&lab, &b);
    assert!(!lab.state.join("runs").exists(), "no runs file any more");
    let kept = stored_bindings(&lab).expect("the bindings are kept with the order");
    assert!(kept.contains("plugin.py"), "{kept}");

    // The file goes; the resume runs with the bindings kept in the store.
    std::fs::remove_file(&b).unwrap();
    let out = lab.ordo("resume", &["resume", DEVICE, "--quiet"]);
    assert_eq!(out.code, Some(1), "held again: {}", out.show());
    assert!(
        lab.calls()
            .iter()
            .any(|c| c.tag == "resume" && c.action == "slow.fail"),
        "the plugin ran the activation again: {}",
        out.show()
    );
}

#[test]
fn resume_with_bindings_checks_them_before_anything_runs_then_keeps_them() {
    let lab = Lab::new();
    let b = bindings(&lab, "b.yaml", "");
    held_device(&lab, &b);
    let before = stored_bindings(&lab);

    let bad = bindings(
        &lab,
        "bad.yaml",
        "  slow.fail: { simulate: { outputs: { outt: done } } }\n",
    );
    let bad = bad.display().to_string();
    let out = lab.ordo("resume", &["resume", DEVICE, "--bindings", &bad, "--quiet"]);
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert!(out.stderr.contains("bad.yaml:3:"), "{}", out.show());
    assert!(lab.calls().iter().all(|c| c.tag != "resume"), "nothing ran");
    assert_eq!(
        stored_bindings(&lab),
        before,
        "refused bindings are not kept"
    );

    let good = bindings(&lab, "good.yaml", "  slow.fail: { simulate: {} }\n");
    let good = good.display().to_string();
    let out = lab.ordo(
        "resume",
        &["resume", DEVICE, "--bindings", &good, "--quiet"],
    );
    assert_eq!(out.code, Some(0), "{}", out.show());
    assert!(
        stored_bindings(&lab).is_some_and(|k| k.contains("good.yaml")),
        "the new bindings replace the old"
    );
}

/// An order stored before the store kept bindings (schema version 2) has
/// them in `runs/ORDER.json`: read once, then kept in the store.
#[test]
fn an_order_with_only_a_runs_file_resumes_with_it_once_then_from_the_store() {
    let lab = Lab::new();
    let b = bindings(&lab, "b.yaml", "  slow.fail: { simulate: {} }\n");
    held_device(&lab, &bindings(&lab, "first.yaml", ""));
    let conn = rusqlite::Connection::open(lab.state.join("ordo.db")).unwrap();
    conn.execute("UPDATE orders SET bindings = NULL", [])
        .unwrap();
    drop(conn);

    let out = lab.ordo("resume", &["resume", DEVICE, "--quiet"]);
    assert_eq!(out.code, Some(2), "no record at all: {}", out.show());
    assert!(out.stderr.contains("--bindings"), "{}", out.show());

    std::fs::create_dir(lab.state.join("runs")).unwrap();
    let record = serde_json::json!({ "bindings": b });
    std::fs::write(
        lab.state.join("runs").join(format!("{DEVICE}.json")),
        record.to_string(),
    )
    .unwrap();
    let out = lab.ordo("resume", &["resume", DEVICE, "--quiet"]);
    assert_eq!(out.code, Some(0), "{}", out.show());
    assert!(stored_bindings(&lab).is_some_and(|k| k.contains("b.yaml")));
}
