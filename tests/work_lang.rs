//! Work that waits, the language side, through the binary: `manual "TEAM"`,
//! `wait until EXPR`, `wait D` and the order's requested dates in `ordo
//! check`, `ordo plan` (text, JSON, DOT, Mermaid) and `ordo fmt`.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const CATALOG: &str = "tests/fixtures/work_lang/catalog.ordo";

fn order(name: &str) -> String {
    format!("tests/fixtures/work_lang/{name}")
}

fn ordo(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ordo"))
        .args(args)
        .env("ORDO_STATE", dir.join("state"))
        .env("NO_COLOR", "1")
        .env_remove("ORDO_CATALOG")
        .output()
        .expect("the ordo binary runs")
}

/// `ordo ARGS`, which must succeed: its standard output.
fn succeeds(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = ordo(args, dir.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn plan(order_file: &str, format: &str) -> String {
    succeeds(&["plan", "--catalog", CATALOG, order_file, "--format", format])
}

fn plan_json(order_file: &str) -> Value {
    serde_json::from_str(&plan(order_file, "json")).expect("plan --format json is JSON")
}

fn task<'a>(plan: &'a Value, id: &str) -> &'a Value {
    plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("no task {id} in {plan:#}"))
}

#[test]
fn the_catalog_with_manual_tasks_and_waits_checks_clean() {
    let out = succeeds(&["check", "--catalog", CATALOG, "--format", "json"]);
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["errors"], 0);
    assert_eq!(json["warnings"], 0);
}

#[test]
fn the_json_plan_carries_teams_waits_and_requested_dates() {
    let json = plan_json(&order("dated.yaml"));
    assert_eq!(json["requested_start"], "2026-12-05T00:00:00Z");
    // An offset is kept as the instant it stands for, in UTC.
    assert_eq!(json["requested_completion"], "2026-12-20T16:00:00Z");

    let survey = task(&json, "1/survey");
    assert_eq!(survey["manual"], "field-ops");
    assert_eq!(survey["wait"], Value::Null);

    // A wait on another task's output is evaluated when the task is ready,
    // and makes that task a dependency.
    let visit = task(&json, "1/visit");
    assert_eq!(visit["manual"], "field-ops-2");
    assert_eq!(visit["wait"]["until"]["expr"], "1/book.day");
    assert_eq!(visit["after"], serde_json::json!(["1/book"]));

    // Known at plan time: folded to the instant (a date is 00:00 UTC).
    let activate = task(&json, "1/activate");
    assert_eq!(activate["manual"], Value::Null);
    assert_eq!(activate["wait"]["until"]["value"], "2026-12-05T00:00:00Z");
    let late = task(&json, "1/late");
    assert_eq!(late["wait"]["until"]["value"], "2026-12-03T00:00:00Z");

    let billing = task(&json, "1/billing");
    assert_eq!(billing["wait"]["after_ms"], 7_200_000);
}

#[test]
fn without_requested_dates_a_wait_until_null_does_not_wait() {
    let json = plan_json(&order("undated.yaml"));
    assert_eq!(json["requested_start"], Value::Null);
    assert_eq!(json["requested_completion"], Value::Null);
    assert_eq!(task(&json, "1/activate")["wait"], Value::Null);
    // `when order.requested_completion != null` left the task out.
    assert!(json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["id"] != "1/late"));
    // The other waits stay.
    assert_eq!(task(&json, "1/billing")["wait"]["after_ms"], 7_200_000);
}

#[test]
fn a_json_order_gives_a_datetime_requested_start() {
    let json = plan_json(&order("dated.json"));
    assert_eq!(json["requested_start"], "2026-12-05T09:30:00Z");
    assert_eq!(
        task(&json, "1/activate")["wait"]["until"]["value"],
        "2026-12-05T09:30:00Z"
    );
}

#[test]
fn the_text_plan_shows_teams_and_waits() {
    let text = plan(&order("dated.yaml"), "text");
    for line in [
        "requested start: 2026-12-05T00:00:00Z\n",
        "requested completion: 2026-12-20T16:00:00Z\n",
        "  1/survey  field.survey  [manual: field-ops]\n",
        "      wait     until 1/book.day\n",
        "      wait     until 2026-12-05T00:00:00Z\n",
        "      wait     2h after its dependencies\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    let undated = plan(&order("undated.yaml"), "text");
    assert!(!undated.contains("requested"), "{undated}");
}

#[test]
fn the_graphs_label_teams_and_waits() {
    let dot = plan(&order("dated.yaml"), "dot");
    assert!(
        dot.contains(r#"[label="1/survey\nfield.survey\nmanual field-ops"]"#),
        "{dot}"
    );
    assert!(
        dot.contains(r#"[label="1/billing\nbilling.start\nwait 2h"]"#),
        "{dot}"
    );
    let mermaid = plan(&order("dated.yaml"), "mermaid");
    assert!(
        mermaid
            .contains(r#"["1/activate<br/>network.activate<br/>wait until 2026-12-05T00:00:00Z"]"#),
        "{mermaid}"
    );
}

#[test]
fn malformed_requested_dates_are_errors_at_their_place() {
    let state = tempfile::tempdir().unwrap();
    let out = ordo(
        &[
            "plan",
            "--catalog",
            CATALOG,
            &order("bad_dates.yaml"),
            "--format",
            "json",
        ],
        state.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let diags = json["diagnostics"].as_array().unwrap();
    let at: Vec<(&str, u64, u64)> = diags
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap(),
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        at,
        [
            ("ordo::order::syntax", 4, 18),
            ("ordo::order::syntax", 5, 23)
        ]
    );
    assert!(diags[0]["message"]
        .as_str()
        .unwrap()
        .starts_with("requested_start: "));
    // 2026-02-30 looks like a date and is none.
    assert!(diags[1]["message"]
        .as_str()
        .unwrap()
        .starts_with("requested_completion: "));
    assert!(diags.iter().all(|d| d["help"].is_string()));
}

#[test]
fn wait_until_of_the_wrong_type_is_an_error_naming_both_forms() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.ordo");
    std::fs::write(
        &path,
        "action a.b(x: string) -> (n: int)\nproduct P {\n  attr x: string\n  on add {\n    task t: a.b(x: x)\n    task u: a.b(x: x) {\n      wait until t.n\n    }\n  }\n}\n",
    )
    .unwrap();
    let out = ordo(
        &[
            "check",
            "--catalog",
            path.to_str().unwrap(),
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = &json["diagnostics"][0];
    assert_eq!(d["code"], "ordo::wait");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(7), Some(18))
    );
    assert_eq!(
        d["message"],
        "`wait until` needs a date or a datetime, found an int"
    );
}

#[test]
fn fmt_keeps_the_new_clauses() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.ordo");
    let messy = std::fs::read_to_string(CATALOG)
        .unwrap()
        .replace("manual \"field-ops\"", "manual    \"field-ops\"")
        .replace("wait 2h", "wait\t2h")
        .replace("wait until book.day", "wait   until   book.day");
    std::fs::write(&path, &messy).unwrap();
    let out = ordo(&["fmt", path.to_str().unwrap()], dir.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let formatted = std::fs::read_to_string(&path).unwrap();
    assert_eq!(formatted, std::fs::read_to_string(CATALOG).unwrap());
    let check = ordo(&["fmt", "--check", path.to_str().unwrap()], dir.path());
    assert_eq!(check.status.code(), Some(0));
}
