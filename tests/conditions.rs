//! Conditions and null safety through the real binary (SPEC §8.8): what plan
//! time decides of a condition is what run time would, and absent values
//! behave as documented.

mod exec_support;

use std::process::Command;

use exec_support::{bin, int, out, plan, run_with, task};
use ordo::exec::{Bindings, TaskState};
use ordo::model::Type;
use ordo::syntax::ast::BinOp;

fn ordo(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ordo"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("ORDO_CATALOG")
        .env_remove("ORDO_STATE")
        .output()
        .expect("the ordo binary runs")
}

fn stdout(args: &[&str]) -> String {
    let out = ordo(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The ids of the plan's tasks, with their run-time `when` (if any).
fn planned(catalog: &str, order: &str) -> Vec<(String, Option<String>)> {
    let json = stdout(&["plan", "--catalog", catalog, order, "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json).expect("plan JSON");
    json["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["when"].as_str().map(str::to_string),
            )
        })
        .collect()
}

/// Runs the order with every action simulated; the final state of each task.
fn run(catalog: &str, order: &str) -> Vec<(String, String)> {
    let state = tempfile::tempdir().expect("a temporary state folder");
    let state = state.path().to_str().unwrap().to_string();
    let out = stdout(&[
        "run",
        "--quiet",
        "--catalog",
        catalog,
        "--state",
        &state,
        order,
    ]);
    out.lines()
        .skip(1)
        .filter_map(|l| {
            let mut cols = l.split_whitespace();
            Some((cols.next()?.to_string(), cols.next()?.to_string()))
        })
        .filter(|(_, state)| ["done", "skipped", "failed"].contains(&state.as_str()))
        .collect()
}

const ABSENT: &str = "tests/fixtures/conditions/absent.ordo";

#[test]
fn a_condition_on_a_task_left_out_of_the_plan_is_false_not_dropped() {
    let order = "tests/fixtures/conditions/trusted.yaml";
    let tasks = planned(ABSENT, order);
    let ids: Vec<&str> = tasks.iter().map(|(id, _)| id.as_str()).collect();
    // `credit.score < 600` and `credit.score >= 600` without `credit`: both
    // false, as for a credit check skipped at run time; `not` of one is true.
    assert_eq!(ids, ["audit", "1/activate"], "{tasks:?}");
    assert!(tasks.iter().all(|(_, when)| when.is_none()), "{tasks:?}");
    let ran = run(ABSENT, order);
    assert_eq!(
        ran,
        [
            ("audit".to_string(), "done".to_string()),
            ("1/activate".to_string(), "done".to_string())
        ]
    );
}

#[test]
fn left_out_at_plan_time_or_skipped_at_run_time_the_same_tasks_run() {
    let order = "tests/fixtures/conditions/trusted.yaml";
    let done = |catalog: &str| -> Vec<String> {
        run(catalog, order)
            .into_iter()
            .filter(|(id, state)| state == "done" && id != "gate")
            .map(|(id, _)| id)
            .collect()
    };
    let skipped = run("tests/fixtures/conditions/skipped.ordo", order);
    assert!(
        skipped.contains(&("credit".to_string(), "skipped".to_string())),
        "{skipped:?}"
    );
    assert_eq!(done(ABSENT), done("tests/fixtures/conditions/skipped.ordo"));
    assert_eq!(done(ABSENT), ["audit", "1/activate"]);
}

/// The plan of `order` against `catalog`, through the library (for inputs,
/// which the JSON plan does not show).
fn plan_of(catalog: &str, order: &str) -> ordo::plan::Plan {
    use ordo::source::{SourceFile, Sources};
    let mut sources = Sources::load_catalog(std::path::Path::new(catalog)).unwrap();
    let (cat, diags) = ordo::compile::compile(&sources);
    let cat = cat.unwrap_or_else(|| panic!("{catalog}: {diags:?}"));
    let text = std::fs::read_to_string(order).unwrap();
    let f = sources.add(SourceFile::new(order, text));
    let doc = ordo::order::read_order(f, sources.get(f)).unwrap();
    ordo::plan::decompose(&cat, &doc).unwrap().0
}

fn input(plan: &ordo::plan::Plan, task: &str, name: &str) -> String {
    let t = &plan.tasks[plan.task(task).unwrap_or_else(|| panic!("no {task}"))];
    let (_, e) = t.inputs.iter().find(|(n, _)| n == name).unwrap();
    e.as_lit().expect("known at plan time").to_string()
}

#[test]
fn comparisons_with_null_are_false_and_presence_is_tested_with_null() {
    let (catalog, order) = (
        "tests/fixtures/conditions/nulls.ordo",
        "tests/fixtures/conditions/no-note.yaml",
    );
    let tasks = planned(catalog, order);
    let ids: Vec<&str> = tasks.iter().map(|(id, _)| id.as_str()).collect();
    // `note != ""` and `note == other` with both absent were true.
    assert_eq!(
        ids,
        ["1/absent", "1/not_equal", "1/fallback", "1/label"],
        "{tasks:?}"
    );
    let plan = plan_of(catalog, order);
    assert_eq!(input(&plan, "1/fallback", "text"), "none");
    assert_eq!(input(&plan, "1/label", "text"), "line slow 1");
}

#[test]
fn an_absent_value_is_never_passed_for_a_required_parameter() {
    // Caught by `ordo check` where the catalog says a value may be absent…
    let out = ordo(&[
        "check",
        "--catalog",
        "tests/fixtures/check/may_be_absent.ordo",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`address` may be absent"), "{stderr}");
    // …and by the executor where only the order can tell (a free-form
    // customer record): the task fails, the null is not passed.
    let state = tempfile::tempdir().unwrap();
    let out = ordo(&[
        "run",
        "--quiet",
        "--catalog",
        "tests/fixtures/conditions/free-customer.ordo",
        "--state",
        state.path().to_str().unwrap(),
        "tests/fixtures/conditions/no-note.yaml",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("1/welcome  failed")
            && stdout.contains("input `to` is required, but its value is absent"),
        "{stdout}"
    );
}

#[test]
fn a_guard_a_fallback_or_a_require_lets_a_value_that_may_be_absent_through() {
    let catalog = "tests/fixtures/conditions/guarded.ordo";
    let out = ordo(&["check", "--catalog", catalog]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The fallback in a message: `{name ?? \"nothing\"}`.
    let out = ordo(&[
        "plan",
        "--catalog",
        catalog,
        "tests/fixtures/conditions/unnamed.yaml",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("a line needs a name, not nothing"),
        "{stderr}"
    );
}

/// `ordo check` of a one-file catalog with this text.
fn check_text(text: &str, format: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("c.ordo");
    std::fs::write(&catalog, text).unwrap();
    let catalog = catalog.to_str().unwrap();
    ordo(&["check", "--catalog", catalog, "--format", format])
}

#[test]
fn null_written_for_a_required_parameter_is_refused() {
    let out = check_text(
        "action logistics.ship_sim(address: string)\n\
         product Mobile { on add { task ship: logistics.ship_sim(address: null) } }\n",
        "human",
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ordo::type_mismatch") && stderr.contains("`null` may be absent"),
        "{stderr}"
    );
}

#[test]
fn a_skipped_tasks_output_fails_the_task_that_needs_it_rather_than_reach_the_action() {
    // (For an optional parameter it is null: tests/exec_plugin.rs.)
    let deposit = out("deposit", "out", Type::String);
    let p = plan(
        &["fulfil"],
        vec![
            task("score", "credit.check").output("n", Type::Int),
            task("deposit", "pay.deposit")
                .when(bin(BinOp::Gt, out("score", "n", Type::Int), int(100)))
                .output("out", Type::String),
            task("welcome", "notify.email").input("value", deposit),
        ],
    );
    let ran = run_with(&p, &Bindings::default(), 2, Vec::new());
    assert_eq!(ran.state_of("deposit"), TaskState::Skipped);
    assert_eq!(ran.state_of("welcome"), TaskState::Failed);
    assert!(ran
        .record("welcome")
        .error
        .as_deref()
        .is_some_and(|e| e.contains("input `value` is required, but `deposit.out` is absent")));
}

#[test]
fn presence_is_established_only_where_the_condition_implies_it() {
    let out = check_text(
        r#"action ops.send(to: string)
product Line {
  attr a?: string
  attr b?: string
  on add {
    task either: ops.send(to: a) { when a != null or b != null }
    task negated: ops.send(to: a) { when not (a == null) }
    task both: ops.send(to: a) { when a != null or a == "x" }
    task fallback_of_absent: ops.send(to: a ?? b)
  }
}
"#,
        "json",
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let lines: Vec<u64> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["code"], "ordo::type_mismatch", "{d:#}");
            d["line"].as_u64().unwrap()
        })
        .collect();
    // `or` implies only what both sides do; `not` implies nothing; a
    // fallback that may be absent itself is no fallback.
    assert_eq!(lines, [6, 7, 9], "{json:#}");
}
