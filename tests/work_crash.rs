//! SIGKILL at any point of `ordo task complete` (recording the completion,
//! then continuing the order through a real exec plugin), then resume:
//! nothing is lost (the completion and its outputs) and nothing is done
//! twice (each task succeeds once; an action is invoked again only after an
//! interrupted attempt, with the same idempotency key).

mod work_support;

use std::time::Duration;

use work_support::{fixtures, Lab, SITE};

const COMPLETE: [&str; 13] = [
    "task",
    "complete",
    SITE,
    "1/survey",
    "--as",
    "alice",
    "--output",
    "ready=true",
    "--output",
    "floor=3",
    "--output",
    "notes=ok",
    "--quiet",
];

fn trial(delay: Duration) {
    let lab = Lab::new();
    let out = lab.run("site.yaml", "crash.yaml", &[]);
    assert_eq!(out.code, Some(0), "{}", out.show());
    assert!(
        out.last_line().starts_with("waiting on 1/survey"),
        "{}",
        out.show()
    );

    let mut victim = lab.command(&COMPLETE);
    victim
        .env("WORK_MS", "120")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut guard = work_support::Guard(Some(victim.spawn().expect("ordo starts")));
    std::thread::sleep(delay);
    if let Some(child) = guard.0.as_mut() {
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }

    // Finish the order: complete again if the completion was not recorded,
    // else resume.
    lab.until("the order to complete", || {
        if lab.status(SITE)["state"] == "completed" {
            return true;
        }
        let open = lab.tasks(&[]).iter().any(|i| i["task"] == "1/survey");
        let out = if open {
            lab.ordo(&COMPLETE)
        } else {
            lab.ordo(&["resume", SITE, "--quiet"])
        };
        assert!(
            out.code == Some(0),
            "after a kill at {delay:?}: {}",
            out.show()
        );
        false
    });

    // Nothing lost: the completion, by alice, with its outputs.
    let status = lab.status(SITE);
    assert_eq!(status["tasks"][1]["outputs"]["floor"], 3, "{status}");
    let completions = lab
        .journal(SITE)
        .into_iter()
        .filter(|e| e["event"] == "work" && e["change"] == "completed")
        .count();
    assert_eq!(completions, 1, "delay {delay:?}");
    // Nothing done twice.
    for task in 0..3 {
        assert_eq!(
            lab.count(SITE, "succeeded", task),
            1,
            "task {task}, delay {delay:?}"
        );
    }
    let calls = lab.calls();
    let of = |t: &str| {
        calls
            .iter()
            .filter(|(task, undo)| task == t && !undo)
            .count()
    };
    assert_eq!(of("1/prepare"), 1, "delay {delay:?}: {calls:?}");
    // Every invocation was recorded before it was made (write-ahead), so an
    // activation runs again only after a kill interrupted a recorded one.
    let activations = of("1/activate");
    assert!(activations >= 1, "delay {delay:?}: {calls:?}");
    assert!(
        activations <= lab.count(SITE, "started", 2),
        "delay {delay:?}: {calls:?}"
    );
    assert!(
        calls.iter().all(|(_, undo)| !undo),
        "no compensation: {calls:?}"
    );
}

#[test]
fn a_killed_completion_resumes_without_loss_or_repetition() {
    let _ = fixtures();
    for step in 0..10 {
        trial(Duration::from_millis(step * 35));
    }
}
