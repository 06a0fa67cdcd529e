//! Work that waits, through the real binary: manual tasks become work items,
//! the order parks with no process left, people claim and complete them
//! (`ordo tasks`, `ordo task …`), and the order continues. See docs/work.md.

mod work_support;

use work_support::{fixtures, Lab, SITE};

/// Runs the site order until it parks on its survey.
fn parked(lab: &Lab) {
    let out = lab.run("site.yaml", "bindings.yaml", &[]);
    assert_eq!(out.code, Some(0), "{}", out.show());
    assert_eq!(
        out.last_line(),
        "waiting on 1/survey (work item, field-ops)",
        "{}",
        out.show()
    );
}

fn survey_outputs(ready: &str) -> Vec<&str> {
    vec![
        "--output",
        ready,
        "--output",
        "floor=3",
        "--output",
        "notes=all clear",
    ]
}

fn complete(lab: &Lab, by: &str, outputs: &[&str]) -> work_support::Out {
    let mut args = vec!["task", "complete", SITE, "1/survey", "--as", by, "--quiet"];
    args.extend_from_slice(outputs);
    lab.ordo(&args)
}

#[test]
fn a_manual_task_parks_the_order_with_no_process_left() {
    let lab = Lab::new();
    parked(&lab);
    let status = lab.status(SITE);
    assert_eq!(status["state"], "in_progress");
    // No process holds the order: the parked order costs nothing.
    assert!(
        status["runner"].is_null() || status["runner"]["live"] == false,
        "{status}"
    );
    assert_eq!(lab.task_state(SITE, "1/survey"), "running");
    assert_eq!(lab.task_state(SITE, "1/activate"), "pending");
    let items = lab.tasks(&[]);
    assert_eq!(items.len(), 1, "{items:?}");
    let item = &items[0];
    assert_eq!(item["order"], SITE);
    assert_eq!(item["task"], "1/survey");
    assert_eq!(item["action"], "field.survey");
    assert_eq!(item["team"], "field-ops");
    assert_eq!(item["state"], "open");
    assert!(item["assignee"].is_null());
    assert_eq!(item["inputs"]["address"], "14 Elm Road");
    assert_eq!(
        item["outputs"],
        serde_json::json!([
            {"name": "ready", "type": "bool"},
            {"name": "floor", "type": "int"},
            {"name": "notes", "type": "string"}
        ])
    );
    // The order's due date (creation + the 5-day install SLA) is the item's.
    assert_eq!(item["due_at"], status["due_at"]);
    assert!(status["due_at"].is_string());
    assert_eq!(status["overdue"], false);
    assert_eq!(lab.tasks(&["--team", "other"]).len(), 0);
    // What it waits for is recorded in its journal.
    let parks: Vec<_> = lab
        .journal(SITE)
        .into_iter()
        .filter(|e| e["event"] == "parked")
        .collect();
    assert_eq!(parks.len(), 1);
    assert_eq!(parks[0]["waiting"][0]["task"], "1/survey");
    // Resuming a parked order continues what came due (nothing) and parks again.
    let again = lab.ordo(&["resume", SITE, "--quiet"]);
    assert_eq!(again.code, Some(0), "{}", again.show());
    assert_eq!(
        again.last_line(),
        "waiting on 1/survey (work item, field-ops)"
    );
    assert_eq!(
        lab.count(SITE, "work_opened", 1),
        1,
        "one work item, not two"
    );
}

#[test]
fn completion_continues_the_order_and_records_who() {
    let lab = Lab::new();
    parked(&lab);
    let claim = lab.ordo(&["task", "claim", SITE, "1/survey", "--as", "alice"]);
    assert_eq!(claim.code, Some(0), "{}", claim.show());
    let mine = lab.tasks(&["--assignee", "alice"]);
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["state"], "claimed");
    // Someone else can neither complete nor release it.
    let theirs = complete(&lab, "bob", &survey_outputs("ready=true"));
    assert_eq!(theirs.code, Some(1), "{}", theirs.show());
    assert!(
        theirs.stderr.contains("claimed by alice"),
        "{}",
        theirs.show()
    );
    let release = lab.ordo(&["task", "release", SITE, "1/survey", "--as", "bob"]);
    assert_eq!(release.code, Some(1), "{}", release.show());

    let done = complete(&lab, "alice", &survey_outputs("ready=true"));
    assert_eq!(done.code, Some(0), "{}", done.show());
    assert!(
        done.stdout.contains("order ORD-SITE: completed"),
        "{}",
        done.show()
    );
    let status = lab.status(SITE);
    assert_eq!(status["state"], "completed");
    let survey = &status["tasks"][1];
    assert_eq!(survey["outputs"]["floor"], 3);
    assert_eq!(survey["outputs"]["notes"], "all clear");
    assert_eq!(lab.tasks(&[]).len(), 0, "no open work left");
    let all = lab.tasks(&["--all"]);
    assert_eq!(all[0]["state"], "done");
    assert_eq!(all[0]["assignee"], "alice");
    // Each change is in the journal with who made it, before the order went on.
    let journal = lab.journal(SITE);
    let changes: Vec<(String, String)> = journal
        .iter()
        .filter(|e| e["event"] == "work")
        .map(|e| {
            (
                e["change"].as_str().unwrap().to_string(),
                e["by"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("claimed".into(), "alice".into()),
            ("completed".into(), "alice".into())
        ]
    );
    let completed = journal
        .iter()
        .position(|e| e["event"] == "work" && e["change"] == "completed")
        .unwrap();
    let activated = journal
        .iter()
        .position(|e| e["event"] == "started" && e["task"] == 2)
        .unwrap();
    assert!(completed < activated);
    // A completed item is closed.
    let again = complete(&lab, "alice", &survey_outputs("ready=true"));
    assert_eq!(again.code, Some(1), "{}", again.show());
    assert!(
        again.stderr.contains("ordo::store::work_item_closed"),
        "{}",
        again.show()
    );
}

#[test]
fn every_output_error_is_named_and_nothing_is_recorded() {
    let lab = Lab::new();
    parked(&lab);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        // Missing.
        (
            vec!["--output", "ready=true", "--output", "floor=3"],
            "output `notes` (string) is missing",
        ),
        // Unknown, with a suggestion.
        (
            [survey_outputs("ready=true"), vec!["--output", "flor=2"]].concat(),
            "`flor` is not an output of field.survey",
        ),
        // Ill-typed.
        (survey_outputs("ready=maybe"), "output `ready` must be bool"),
        (
            vec![
                "--output",
                "ready=true",
                "--output",
                "floor=three",
                "--output",
                "notes=x",
            ],
            "output `floor` must be int",
        ),
        // Given twice.
        (
            [survey_outputs("ready=true"), vec!["--output", "floor=4"]].concat(),
            "output `floor` is given twice",
        ),
        // Not NAME=VALUE.
        (vec!["--output", "ready"], "`ready` is not NAME=VALUE"),
    ];
    for (args, message) in cases {
        let out = complete(&lab, "alice", &args);
        assert_eq!(out.code, Some(1), "{args:?}: {}", out.show());
        assert!(out.stderr.contains(message), "{args:?}: {}", out.show());
        assert!(
            out.stderr.contains("error[ordo::work::output]"),
            "{}",
            out.show()
        );
        assert!(out.stderr.contains("help: "), "{}", out.show());
    }
    let unknown = complete(
        &lab,
        "alice",
        &[survey_outputs("ready=true"), vec!["--output", "flor=2"]].concat(),
    );
    assert!(
        unknown.stderr.contains("did you mean `floor`?"),
        "{}",
        unknown.show()
    );
    assert!(
        unknown.stderr.contains("--> --output flor=2"),
        "{}",
        unknown.show()
    );
    // A JSON file: errors name the JSON path.
    let file = lab.write(
        "survey.json",
        r#"{"ready": "yes", "floor": 2, "notes": "n"}"#,
    );
    let out = complete(&lab, "alice", &["--outputs", file.to_str().unwrap()]);
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert!(
        out.stderr.contains("survey.json: $.ready"),
        "{}",
        out.show()
    );
    let broken = lab.write("broken.json", "{\"ready\": ");
    let out = complete(&lab, "alice", &["--outputs", broken.to_str().unwrap()]);
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert!(out.stderr.contains("is not JSON"), "{}", out.show());
    // Nothing of it was recorded: the item is open, unclaimed, and the order waits.
    let items = lab.tasks(&[]);
    assert_eq!(items[0]["state"], "open");
    assert!(items[0]["assignee"].is_null());
    assert_eq!(lab.count(SITE, "work", 1), 0);
    assert_eq!(lab.task_state(SITE, "1/survey"), "running");
    // A good file completes it.
    let good = lab.write("good.json", r#"{"ready": true, "floor": 2, "notes": "n"}"#);
    let out = complete(&lab, "alice", &["--outputs", good.to_str().unwrap()]);
    assert_eq!(out.code, Some(0), "{}", out.show());
    assert_eq!(lab.status(SITE)["state"], "completed");
}

#[test]
fn a_broken_require_fails_the_order_and_compensates() {
    let lab = Lab::new();
    parked(&lab);
    let out = complete(&lab, "alice", &survey_outputs("ready=false"));
    assert_eq!(out.code, Some(1), "{}", out.show());
    let status = lab.status(SITE);
    assert_eq!(status["state"], "failed");
    assert!(
        status["reason"]
            .as_str()
            .unwrap()
            .contains("the site is not ready: all clear"),
        "{status}"
    );
    assert_eq!(lab.task_state(SITE, "1/prepare"), "compensated");
    assert_eq!(lab.task_state(SITE, "1/activate"), "cancelled");
}

#[test]
fn fail_compensates_like_any_failure() {
    let lab = Lab::new();
    parked(&lab);
    let out = lab.ordo(&[
        "task",
        "fail",
        SITE,
        "1/survey",
        "--as",
        "bob",
        "--reason",
        "no access to the building",
        "--quiet",
    ]);
    assert_eq!(out.code, Some(1), "{}", out.show());
    let status = lab.status(SITE);
    assert_eq!(status["state"], "failed");
    assert!(status["reason"]
        .as_str()
        .unwrap()
        .contains("no access to the building"));
    assert_eq!(lab.task_state(SITE, "1/survey"), "failed");
    assert_eq!(lab.task_state(SITE, "1/prepare"), "compensated");
    let all = lab.tasks(&["--all"]);
    assert_eq!(all[0]["state"], "failed");
    assert_eq!(all[0]["reason"], "no access to the building");
}

#[test]
fn cancel_of_a_parked_order_compensates_and_closes_its_work() {
    let lab = Lab::new();
    parked(&lab);
    let out = lab.ordo(&["cancel", SITE, "--quiet"]);
    assert_eq!(out.code, Some(0), "{}", out.show());
    assert_eq!(lab.status(SITE)["state"], "cancelled");
    assert_eq!(lab.task_state(SITE, "1/prepare"), "compensated");
    assert_eq!(lab.tasks(&[]).len(), 0);
    assert_eq!(lab.tasks(&["--all"])[0]["state"], "cancelled");
    let late = complete(&lab, "alice", &survey_outputs("ready=true"));
    assert_eq!(late.code, Some(1), "{}", late.show());
}

/// Two real processes claim the same item at once: exactly one wins, 50 times.
#[test]
fn of_two_claimants_exactly_one_wins() {
    let lab = Lab::new();
    parked(&lab);
    for trial in 0..50 {
        let mut a = lab.spawn(&["task", "claim", SITE, "1/survey", "--as", "alice"]);
        let mut b = lab.spawn(&["task", "claim", SITE, "1/survey", "--as", "bob"]);
        let (a, b) = (a.finish(), b.finish());
        let winners: Vec<&str> = [("alice", &a), ("bob", &b)]
            .iter()
            .filter(|(_, o)| o.code == Some(0))
            .map(|(who, _)| *who)
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "trial {trial}:\n{}\n{}",
            a.show(),
            b.show()
        );
        let loser = if winners[0] == "alice" { &b } else { &a };
        assert_eq!(loser.code, Some(1), "{}", loser.show());
        assert!(
            loser.stderr.contains("ordo::store::work_item_taken"),
            "{}",
            loser.show()
        );
        let items = lab.tasks(&[]);
        assert_eq!(items[0]["assignee"], winners[0]);
        let release = lab.ordo(&["task", "release", SITE, "1/survey", "--as", winners[0]]);
        assert_eq!(release.code, Some(0), "{}", release.show());
    }
    assert_eq!(lab.count(SITE, "work", 1), 100, "50 claims and 50 releases");
}

/// `--wait` stays while the order waits, takes up a completion made by
/// another process, and ends with the order.
#[test]
fn a_waiting_runner_takes_up_a_completion_from_another_process() {
    let lab = Lab::new();
    let order = fixtures().join("site.yaml");
    let bindings = fixtures().join("bindings.yaml");
    let mut runner = lab.spawn(&[
        "run",
        order.to_str().unwrap(),
        "--bindings",
        bindings.to_str().unwrap(),
        "--quiet",
        "--wait",
    ]);
    lab.until("the work item", || {
        lab.state().join("ordo.db").exists() && !lab.tasks(&[]).is_empty()
    });
    let status = lab.status(SITE);
    assert_eq!(status["runner"]["live"], true, "{status}");
    let done = complete(&lab, "alice", &survey_outputs("ready=true"));
    assert_eq!(done.code, Some(0), "{}", done.show());
    // It leaves the order to the runner (which may have ended it already).
    assert!(
        done.stdout.contains("the runner of order ORD-SITE")
            || done.stdout.contains("its runner took the work item up"),
        "{}",
        done.show()
    );
    let out = runner.finish();
    assert_eq!(out.code, Some(0), "{}", out.show());
    assert!(
        out.stdout.contains("order ORD-SITE: completed"),
        "{}",
        out.show()
    );
    assert!(!out.stdout.contains("waiting on"), "{}", out.show());
    assert_eq!(lab.count(SITE, "succeeded", 1), 1);
}

#[test]
fn a_manual_binding_needs_a_team() {
    let lab = Lab::new();
    let bindings = lab.write(
        "b.yaml",
        "actions:\n  \"field.*\": { manual: {} }\n  \"*\": { simulate: {} }\n",
    );
    let order = fixtures().join("site.yaml");
    let out = lab.ordo(&[
        "run",
        order.to_str().unwrap(),
        "--bindings",
        bindings.to_str().unwrap(),
    ]);
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert!(
        out.stderr.contains("`manual` needs the `team`"),
        "{}",
        out.show()
    );
    assert!(out.stderr.contains("ordo::bindings"), "{}", out.show());
}

fn instant(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .with_timezone(&chrono::Utc)
}

/// `wait D` parks the order with its time; resumes before the time start
/// nothing; the task starts no earlier than the recorded time.
#[test]
fn a_wait_parks_and_resumes_after_its_time_not_before() {
    let lab = Lab::new();
    let order = fixtures().join("timed.yaml");
    let out = lab.ordo(&["run", order.to_str().unwrap(), "--quiet"]);
    assert_eq!(out.code, Some(0), "{}", out.show());
    let last = out.last_line().to_string();
    let at = last
        .strip_prefix("waiting on 1/later (at ")
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{}", out.show()));
    let until = instant(at);
    assert_eq!(lab.task_state("ORD-TIMED", "1/later"), "pending");
    assert_eq!(lab.status("ORD-TIMED")["tasks"][1]["not_before"], at);
    // Resume until it completes: a resume that parks again started nothing.
    let mut parked_again = 0;
    lab.until("the order to complete", || {
        let out = lab.ordo(&["resume", "ORD-TIMED", "--quiet"]);
        assert_eq!(out.code, Some(0), "{}", out.show());
        if out.last_line().starts_with("waiting on") {
            assert_eq!(out.last_line(), last, "the recorded time stands");
            assert_eq!(lab.task_state("ORD-TIMED", "1/later"), "pending");
            parked_again += 1;
            return false;
        }
        true
    });
    assert_eq!(lab.status("ORD-TIMED")["state"], "completed");
    let journal = lab.journal_at("ORD-TIMED");
    let waiting = journal
        .iter()
        .position(|(_, e)| e["event"] == "waiting" && e["task"] == 1)
        .expect("a waiting event");
    let (started_at, _) = journal
        .iter()
        .find(|(_, e)| e["event"] == "started" && e["task"] == 1)
        .expect("the task started");
    let started = journal
        .iter()
        .position(|(_, e)| e["event"] == "started" && e["task"] == 1)
        .unwrap();
    let first_done = journal
        .iter()
        .position(|(_, e)| e["event"] == "succeeded" && e["task"] == 0)
        .unwrap();
    assert!(first_done < waiting && waiting < started, "{journal:?}");
    assert!(
        instant(started_at) >= until,
        "started {started_at}, not before {at}"
    );
    let parks = journal
        .iter()
        .filter(|(_, e)| e["event"] == "parked")
        .count();
    assert_eq!(parks, 1 + parked_again);
}

#[test]
fn a_past_date_runs_at_once() {
    let lab = Lab::new();
    let order = fixtures().join("past.yaml");
    let out = lab.ordo(&["run", order.to_str().unwrap(), "--quiet"]);
    assert_eq!(out.code, Some(0), "{}", out.show());
    assert_eq!(
        out.last_line(),
        "order ORD-PAST: completed",
        "{}",
        out.show()
    );
    let journal = lab.journal("ORD-PAST");
    assert!(journal
        .iter()
        .any(|e| e["event"] == "waiting" && e["until"] == "2020-01-01T09:00:00Z"));
    assert!(!journal.iter().any(|e| e["event"] == "parked"));
}

#[test]
fn a_future_date_parks_and_a_cancel_compensates() {
    let lab = Lab::new();
    let order = fixtures().join("future.yaml");
    let out = lab.ordo(&["run", order.to_str().unwrap(), "--quiet"]);
    assert_eq!(out.code, Some(0), "{}", out.show());
    assert_eq!(
        out.last_line(),
        "waiting on 1/start (at 2099-12-05T09:00:00Z)"
    );
    let text = lab.ordo(&["status", "ORD-FUTURE"]);
    assert!(
        text.stdout
            .contains("pending, not before 2099-12-05T09:00:00Z"),
        "{}",
        text.show()
    );
    let cancel = lab.ordo(&["cancel", "ORD-FUTURE", "--quiet"]);
    assert_eq!(cancel.code, Some(0), "{}", cancel.show());
    assert_eq!(lab.status("ORD-FUTURE")["state"], "cancelled");
    assert_eq!(lab.task_state("ORD-FUTURE", "1/start"), "cancelled");
}

/// `--wait` sleeps to the timer and ends with the order.
#[test]
fn wait_stays_until_a_timer_is_due() {
    let lab = Lab::new();
    let order = fixtures().join("timed.yaml");
    let out = lab.ordo(&["run", order.to_str().unwrap(), "--quiet", "--wait"]);
    assert_eq!(out.code, Some(0), "{}", out.show());
    assert_eq!(
        out.last_line(),
        "order ORD-TIMED: completed",
        "{}",
        out.show()
    );
    let journal = lab.journal_at("ORD-TIMED");
    let until = journal
        .iter()
        .find_map(|(_, e)| {
            (e["event"] == "waiting").then(|| e["until"].as_str().unwrap().to_string())
        })
        .expect("a waiting event");
    let (started_at, _) = journal
        .iter()
        .find(|(_, e)| e["event"] == "started" && e["task"] == 1)
        .unwrap();
    assert!(instant(started_at) >= instant(&until));
    assert!(!journal.iter().any(|(_, e)| e["event"] == "parked"));
}

/// The README's flow, with the shipped catalog: the TriplePlay order parks on
/// the technician's visit (the catalog's `manual "field-ops"`), and
/// completing the visit finishes it.
#[test]
fn the_readme_flow_parks_on_the_visit_and_completes() {
    let lab = Lab::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let catalog = root.join("catalog");
    let order = root.join("examples/triple-play.yaml");
    let out = lab.ordo(&[
        "run",
        "--catalog",
        catalog.to_str().unwrap(),
        order.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(out.code, Some(0), "{}", out.show());
    assert_eq!(
        out.last_line(),
        "waiting on 1/Broadband/visit (work item, field-ops)"
    );
    let items = lab.tasks(&["--team", "field-ops"]);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["action"], "field.await_visit");
    let done = lab.ordo(&[
        "task",
        "complete",
        "ORD-1001",
        "1/Broadband/visit",
        "--as",
        "alice",
        "--output",
        "ont_serial=ONT-4471",
        "--output",
        "closed_at=2026-12-05T11:20:00Z",
        "--quiet",
    ]);
    assert_eq!(done.code, Some(0), "{}", done.show());
    assert_eq!(
        done.last_line(),
        "order ORD-1001: completed",
        "{}",
        done.show()
    );
}

/// A retryable failure gives the team a new work item; the order waits on it.
#[test]
fn a_retryable_failure_opens_a_new_work_item() {
    let lab = Lab::new();
    parked(&lab);
    let out = lab.ordo(&[
        "task",
        "fail",
        SITE,
        "1/survey",
        "--as",
        "bob",
        "--reason",
        "no key",
        "--retryable",
        "--quiet",
    ]);
    assert_eq!(out.code, Some(0), "{}", out.show());
    assert_eq!(
        out.last_line(),
        "waiting on 1/survey (work item, field-ops)"
    );
    let items = lab.tasks(&[]);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["state"], "open");
    assert!(items[0]["assignee"].is_null());
    assert_eq!(lab.count(SITE, "work_opened", 1), 2);
    let done = complete(&lab, "alice", &survey_outputs("ready=true"));
    assert_eq!(done.code, Some(0), "{}", done.show());
    assert_eq!(lab.status(SITE)["state"], "completed");
    assert_eq!(lab.status(SITE)["tasks"][1]["attempts"], 2);
}
