//! Execution reliability through the real binary (issue 20): a task whose
//! outcome is unknown is never silently cancelled; plugins die with a killed
//! ordo and a resume makes sure the old attempt is gone; a symlinked
//! bindings file resolves its plugins in one place; an exec binding chooses
//! the environment its plugin sees.
//!
//! The actions are answered by this test binary started as a plugin (see
//! `tests/crash_support`), which keeps one effect file per task whose action
//! took effect: an order that ends `failed` or `cancelled` must leave none.

mod crash_support;

use crash_support::*;

/// This test binary as the fixtures' exec plugin.
#[test]
fn plugin_entry() {
    serve_if_plugin();
}

/// The order ended `failed` and left no effect applied.
fn assert_failed_and_undone(lab: &Lab, id: &str) {
    let status = lab.status(id);
    assert_eq!(status["state"], "failed", "{status:#}");
    assert!(
        lab.effects().is_empty(),
        "left applied: {:?}",
        lab.effects()
    );
}

fn starts<'a>(calls: &'a [Call], task: &str, undo: bool) -> Vec<&'a Call> {
    calls
        .iter()
        .filter(|c| c.is_start() && c.task == task && c.undo == undo)
        .collect()
}

/// Issue 20 item 1, in one run: `slow` does its work but answers after its
/// timeout while `bad` fails for good. Its retry asks again with the same
/// key, learns it succeeded, and the compensation undoes it.
#[test]
fn a_task_that_answers_after_its_timeout_is_settled_then_undone() {
    let lab = Lab::new();
    let order = lab.order("O-RETRY", "RaceRetry", "slow: 1");
    let out = lab.start(lab.run_command("run", &order)).finish();
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert_failed_and_undone(&lab, "O-RETRY");
    let status = lab.status("O-RETRY");
    assert_eq!(task_states(&status)["1/slow"], "compensated", "{status:#}");
    let calls = lab.calls();
    let again = starts(&calls, "1/slow", false);
    assert!(again.len() >= 2, "slow was asked again: {calls:#?}");
    assert!(
        again.iter().all(|c| c.key == "O-RETRY/1/slow"),
        "{calls:#?}"
    );
    assert_eq!(starts(&calls, "1/slow", true).len(), 1, "{calls:#?}");
}

/// Without retries to settle it, the order is held naming the task, and
/// nothing is claimed undone; a resume asks it again and compensates.
#[test]
fn a_task_whose_outcome_stays_unknown_holds_the_order_naming_it() {
    let lab = Lab::new();
    let order = lab.order("O-HOLD", "Race", "slow: 1");
    let out = lab.start(lab.run_command("run", &order)).finish();
    assert_eq!(out.code, Some(1), "{}", out.show());
    let status = lab.status("O-HOLD");
    assert_eq!(status["state"], "held", "{status:#}");
    let reason = status["reason"].as_str().unwrap();
    assert!(
        reason.contains("task 1/slow may have taken effect, but its outcome is unknown"),
        "{reason}"
    );
    assert_eq!(task_states(&status)["1/slow"], "running", "{status:#}");
    assert!(lab.effects().contains("1/slow"), "{:?}", lab.effects());

    let resume = lab.ordo("resume", &["resume", "O-HOLD"]);
    assert_eq!(resume.code, Some(1), "{}", resume.show());
    assert_failed_and_undone(&lab, "O-HOLD");
    assert_eq!(task_states(&lab.status("O-HOLD"))["1/slow"], "compensated");
}

/// Runs `Interrupted` and kills ordo once `bad` has failed and `slow` (which
/// takes a minute) has done its work: the order was stopping, `slow` was
/// interrupted. `child` makes the plugin of `slow` start a helper process.
fn interrupted(lab: &Lab, id: &str, child: bool) -> (Running, Vec<Call>) {
    let order = lab.order(id, "Interrupted", "");
    let mut cmd = lab.run_command("run", &order);
    cmd.env("CRASH_SLOW_MS", "60000");
    if child {
        cmd.env("CRASH_CHILD", "1/slow");
    }
    let mut run = lab.start(cmd);
    let calls = lab.wait_for("bad to fail and slow to work", |calls| {
        calls.iter().any(|c| c.task == "1/bad" && c.phase == "end")
            && calls
                .iter()
                .any(|c| c.task == "1/slow" && c.phase == "effect")
            && (!child || calls.iter().any(|c| c.phase == "child"))
    });
    run.kill9();
    (run, calls)
}

/// Issue 20 item 1, across a crash: the interrupted task, asked again on
/// resume, answers "retry later" — which says nothing of the interrupted
/// attempt. The order is held naming it, not cancelled; once it answers,
/// it is undone.
#[test]
fn an_interrupted_task_that_answers_retry_later_on_resume_is_not_cancelled() {
    let lab = Lab::new();
    interrupted(&lab, "O-INT", false);
    let mut cmd = lab.command("resume", &["resume", "O-INT"]);
    cmd.env("CRASH_SEED", "1").env("CRASH_P_RETRY", "1");
    let resume = lab.start(cmd).finish();
    assert_eq!(resume.code, Some(1), "{}", resume.show());
    let status = lab.status("O-INT");
    assert_eq!(status["state"], "held", "{status:#}");
    assert!(
        status["reason"]
            .as_str()
            .unwrap()
            .contains("task 1/slow may have taken effect"),
        "{status:#}"
    );
    assert!(lab.effects().contains("1/slow"));

    let resume = lab.ordo("resume2", &["resume", "O-INT"]);
    assert_eq!(resume.code, Some(1), "{}", resume.show());
    assert_failed_and_undone(&lab, "O-INT");
}

/// Issue 20 item 2: a plugin dies with the ordo that ran it; the helper it
/// started in its process group is killed by the resume (which recorded the
/// group when the attempt started) before the task is invoked again; no two
/// calls of one idempotency key are ever live at once.
#[test]
fn plugins_die_with_a_killed_ordo_and_resume_kills_what_they_left() {
    let lab = Lab::new();
    let (_run, calls) = interrupted(&lab, "O-KILL", true);
    let plugin = starts(&calls, "1/slow", false)[0].pid;
    let helper = calls.iter().find_map(|c| c.child).unwrap();
    // The parent-death signal: the plugin goes with its runner.
    let deadline = std::time::Instant::now() + PATIENCE;
    while alive(plugin) {
        assert!(
            std::time::Instant::now() < deadline,
            "the plugin {plugin} outlived the ordo that ran it"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let status = lab.status("O-KILL");
    let recorded = status["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "1/slow")
        .unwrap()["process"]
        .clone();
    assert_eq!(recorded["pgid"].as_u64(), Some(plugin), "{status:#}");

    let resume = lab.ordo("resume", &["resume", "O-KILL"]);
    assert_eq!(resume.code, Some(1), "{}", resume.show());
    assert!(
        !alive(helper),
        "the helper {helper} of the killed attempt lives on"
    );
    let calls = lab.calls();
    assert!(
        !calls.iter().any(|c| c.phase == "overlap"),
        "two live calls of one key: {calls:#?}"
    );
    assert_failed_and_undone(&lab, "O-KILL");
}

/// Issue 20 item 7: a bindings file reached through a symbolic link
/// resolves `./plugin` beside the link, on `run` and on `resume` alike.
#[test]
fn a_symlinked_bindings_file_resolves_plugins_beside_the_link_on_resume_too() {
    let lab = Lab::new();
    let (real, link) = (lab.root.join("real"), lab.root.join("link"));
    std::fs::create_dir(&real).unwrap();
    std::fs::create_dir(&link).unwrap();
    let mut argv = plugin_argv();
    std::os::unix::fs::symlink(&argv[0], link.join("plugin")).unwrap();
    argv[0] = "./plugin".into();
    lab.write_bindings(&real.join("bindings.yaml"), &argv, "");
    std::os::unix::fs::symlink(real.join("bindings.yaml"), link.join("bindings.yaml")).unwrap();
    let order = lab.order("O-LINK", "Race", "slow: 1");
    let catalog = fixtures().join("catalog");
    let run = lab.ordo(
        "run",
        &[
            "run".as_ref(),
            "--catalog".as_ref(),
            catalog.as_os_str(),
            order.as_os_str(),
            "--bindings".as_ref(),
            link.join("bindings.yaml").as_os_str(),
            "--quiet".as_ref(),
        ],
    );
    assert_eq!(run.code, Some(1), "{}", run.show());
    assert_eq!(lab.status("O-LINK")["state"], "held");
    let resume = lab.ordo("resume", &["resume", "O-LINK"]);
    assert!(!resume.stdout.contains("cannot run"), "{}", resume.show());
    let calls = lab.calls();
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.tag == "resume" && c.is_start() && !c.undo && c.task == "1/slow")
            .count(),
        1,
        "{calls:#?}"
    );
    assert_failed_and_undone(&lab, "O-LINK");
}

/// Issue 20, plugin environment: by default a plugin inherits ordo's whole
/// environment; an exec binding's `env` can clear it, pass chosen variables
/// and set others.
#[test]
fn an_exec_binding_chooses_what_its_plugin_inherits() {
    let lab = Lab::new();
    let order = lab.order("O-ENV", "RaceRetry", "slow: 0");
    let mut cmd = lab.run_command("inherit", &order);
    cmd.env("CRASH_SECRET", "s3cr3t");
    lab.start(cmd).finish();
    let inherited = lab.calls();
    assert!(
        inherited
            .iter()
            .all(|c| c.env_secret.as_deref() == Some("s3cr3t")),
        "{inherited:#?}"
    );

    let lab = Lab::new();
    lab.write_bindings(
        &lab.bindings,
        &plugin_argv(),
        ", env: { clear: true, pass: [CRASH_DIR, CRASH_TAG, CRASH_PLUGIN], set: { CRASH_PROBE: from-bindings } }",
    );
    let mut cmd = lab.run_command("cleared", &order);
    cmd.env("CRASH_SECRET", "s3cr3t");
    let out = lab.start(cmd).finish();
    assert_eq!(out.code, Some(1), "{}", out.show());
    let calls = lab.calls();
    assert!(!calls.is_empty(), "{}", out.show());
    assert!(
        calls
            .iter()
            .all(|c| c.env_secret.is_none() && c.env_probe.as_deref() == Some("from-bindings")),
        "{calls:#?}"
    );
}

/// A mistake in `env` is a diagnostic at its line, with a "did you mean".
#[test]
fn a_misspelt_env_member_is_an_error_at_its_line() {
    let lab = Lab::new();
    lab.write_bindings(&lab.bindings, &plugin_argv(), ", env: { clera: true }");
    let order = lab.order("O-BADENV", "RaceRetry", "");
    let out = lab.start(lab.run_command("run", &order)).finish();
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert!(out.stderr.contains("ordo::bindings"), "{}", out.show());
    assert!(
        out.stderr.contains("unknown key `clera` in `env`"),
        "{}",
        out.show()
    );
    assert!(
        out.stderr.contains("did you mean `clear`?"),
        "{}",
        out.show()
    );
    assert!(out.stderr.contains("bindings.yaml:2:"), "{}", out.show());
}
