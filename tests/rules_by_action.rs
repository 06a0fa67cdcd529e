//! Rules that depend on an item's action (SPEC §8.8), through the real
//! binary: one-off prices by action, monthly prices of a state, discount
//! lines, conditional SLAs, `require` and `relies on` by action, and a bundle
//! that holds one product twice. The catalog is
//! `tests/fixtures/rules/catalog`; its orders are beside it, and the
//! instances its modify and delete orders change are installed first by
//! running `installed.yaml` into a temporary state folder.

use std::process::{Command, Output};

use serde_json::Value;

const CATALOG: &str = "tests/fixtures/rules/catalog";

fn ordo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ordo"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("ORDO_CATALOG")
        .output()
        .expect("the ordo binary runs")
}

fn order(name: &str) -> String {
    format!("tests/fixtures/rules/orders/{name}.yaml")
}

/// `ordo CMD --catalog CATALOG ORDER ARGS --state S`, where S holds the
/// fixture's installed base: the instances ORD-I1/1 … ORD-I1/6 that
/// `installed.yaml` leaves when it completes.
fn on_installed(cmd: &str, order: &str, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let state = dir.path().to_str().unwrap_or_default();
    let installed = self::order("installed");
    let run = ordo(&[
        "run",
        "--catalog",
        CATALOG,
        &installed,
        "--state",
        state,
        "--quiet",
    ]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let mut all = vec![cmd, "--catalog", CATALOG, order, "--state", state];
    all.extend(args);
    ordo(&all)
}

/// `ordo CMD ORDER --format json` on the installed base, which must succeed.
fn json(cmd: &str, order: &str) -> Value {
    let out = on_installed(cmd, order, &["--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{cmd} {order}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// `ordo plan` of an order the fixture catalog must refuse with this code.
fn refused(order: &str, code: &str, message: &str) {
    let out = on_installed("plan", order, &[]);
    assert_eq!(out.status.code(), Some(1), "{order}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(code), "{stderr}");
    assert!(stderr.contains(message), "{stderr}");
}

fn task_ids(plan: &Value) -> Vec<&str> {
    plan["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["id"].as_str())
        .collect()
}

fn quote(order: &str) -> Value {
    json("quote", order)
}

fn total(q: &Value) -> (String, String) {
    let s = |k: &str| q["price"][k].as_str().unwrap_or_default().to_string();
    (s("once"), s("monthly"))
}

fn pair(once: &str, monthly: &str) -> (String, String) {
    (once.to_string(), monthly.to_string())
}

/// The defect of issue 18: a speed change was quoted with the 49.00 EUR
/// activation fee again.
#[test]
fn a_modify_is_not_charged_the_activation_fee() {
    // The line the modify changes is installed first.
    let state = tempfile::tempdir().expect("a temporary folder");
    let state = state.path().to_str().unwrap();
    let run = ordo(&[
        "run",
        "--catalog",
        "catalog",
        "examples/broadband.yaml",
        "--state",
        state,
        "--quiet",
    ]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let out = ordo(&[
        "quote",
        "--catalog",
        "catalog",
        "examples/modify-speed.yaml",
        "--state",
        state,
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let q: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(total(&q), pair("0.00 EUR", "54.99 EUR"));
}

#[test]
fn a_modify_pays_its_change_fee_and_the_monthly_price_of_its_new_state() {
    // 5.00 change fee only: neither the connection fee nor the SIM card;
    // 50 GB is 20.00 + 10.00 a month.
    assert_eq!(
        total(&quote(&order("modify"))),
        pair("5.00 EUR", "30.00 EUR")
    );
}

/// Issue 18: the quote of a modify showed only the new monthly price, not
/// the change against what the instance pays today (SPEC §8.8).
#[test]
fn the_quote_of_a_modify_shows_the_change_against_the_instances_price() {
    // ORD-I1/1 pays 20.00 a month for its 10 GB; 50 GB is 30.00.
    let q = quote(&order("modify"));
    assert_eq!(q["items"][0]["was"]["monthly"], "20.00 EUR", "{q:#}");
    assert_eq!(q["items"][0]["change"]["monthly"], "+10.00 EUR", "{q:#}");
    let out = on_installed("quote", &order("modify"), &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let header = text
        .lines()
        .find(|l| l.starts_with("item"))
        .unwrap_or_default();
    assert!(header.ends_with("monthly        was      change"), "{text}");
    assert!(text.contains("30.00 EUR  20.00 EUR  +10.00 EUR"), "{text}");
    // An add has nothing installed to compare with: no such members.
    let add = quote(&order("add"));
    assert!(add["items"][0].get("was").is_none(), "{add:#}");
    assert!(add["items"][0].get("change").is_none(), "{add:#}");
    let out = on_installed("quote", &order("add"), &[]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("change"));
}

#[test]
fn an_add_pays_one_off_add_lines_and_a_negative_line_is_a_discount() {
    // 25.00 connection + 10.00 SIM card; 20.00 less the 2.00 loyalty discount.
    assert_eq!(total(&quote(&order("add"))), pair("35.00 EUR", "18.00 EUR"));
}

#[test]
fn a_delete_pays_its_termination_fee_and_has_no_recurring_price() {
    assert_eq!(
        total(&quote(&order("delete"))),
        pair("60.00 EUR", "0.00 EUR")
    );
}

#[test]
fn an_sla_line_applies_when_its_condition_holds() {
    let sla = |q: &Value, i: usize| q["items"][i]["sla"]["activation"].clone();
    // A physical SIM: the unconditional 1d; an eSIM: the 4h that overrides it.
    assert_eq!(sla(&quote(&order("add")), 0), "1d");
    let family = quote(&order("family"));
    assert_eq!(sla(&family, 1), "4h");
}

/// Add-time `require`s fired on delete items: deleting a line whose stored
/// attributes no plan sold today has was refused.
#[test]
fn a_delete_item_is_not_held_to_the_rules_of_the_state_it_leaves() {
    // In the shipped catalog: a 100M line with a static IP (which the
    // add-time rules refuse) can still be disconnected
    // (`catalog/tests/disconnect-legacy-line.yaml`, run by
    // `the_shipped_catalog_tests_pass`). In the fixture: 99 GB is no plan
    // sold today.
    json("plan", &order("delete"));
}

#[test]
fn a_require_on_delete_checks_delete_items() {
    refused(
        &order("delete-loyal"),
        "ordo::order::require",
        "passed to retention",
    );
}

/// `relies on` bound delete items: deleting FixedWireless alone demanded a
/// SiteSurvey item.
#[test]
fn relies_on_does_not_bind_a_delete_item() {
    // In the shipped catalog: the home phone ceases without a line in the
    // order (its tasks read the installed phone: `catalog/tests/cease-phone.yaml`,
    // run by `the_shipped_catalog_tests_pass`).
    let plan = json("plan", &order("delete-wireless"));
    assert_eq!(task_ids(&plan), ["1/remove"]);
}

/// A bundle could not hold a product twice: each include is now a child
/// named by its alias.
#[test]
fn a_bundle_holds_a_product_twice_under_two_names() {
    let plan = json("plan", &order("family"));
    assert_eq!(task_ids(&plan), ["1/parent/activate", "1/child/activate"]);
    let q = quote(&order("family"));
    let items: Vec<(&str, &str)> = q["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            (
                i["id"].as_str().unwrap_or_default(),
                i["product"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        items,
        [
            ("1", "FamilyPlan"),
            ("1/parent", "MobilePlan"),
            ("1/child", "MobilePlan")
        ]
    );
    // Each child is priced by its own attributes: 50 GB and 10 GB.
    assert_eq!(q["items"][1]["price"]["monthly"], "30.00 EUR");
    assert_eq!(q["items"][2]["price"]["monthly"], "20.00 EUR");
    assert_eq!(total(&q), pair("50.00 EUR", "50.00 EUR"));
}

/// Two children of one product are told apart by their ids.
#[test]
fn relies_on_names_one_child_of_a_bundle_by_its_id() {
    let plan = json("plan", &order("family-watch"));
    let pair = plan["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["id"] == "2/pair")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        pair["after"],
        serde_json::json!(["1/child/activate"]),
        "{pair:#}"
    );
}

/// A delete item needs no relied-on item, but when the order deletes that
/// too, its `on delete` rules wait for the relied-on item's.
#[test]
fn a_delete_item_is_linked_to_a_relied_on_item_the_order_deletes() {
    let plan = json("plan", &order("delete-watch"));
    assert_eq!(task_ids(&plan), ["1/deactivate", "2/unpair"]);
    assert_eq!(
        plan["tasks"][1]["after"],
        serde_json::json!(["1/deactivate"])
    );
    let plan = json("plan", &order("delete-watch-alone"));
    assert_eq!(task_ids(&plan), ["2/unpair"]);
    assert_eq!(plan["tasks"][0]["after"], serde_json::json!([]));
}

#[test]
fn a_delete_item_satisfies_no_relies_on() {
    refused(
        &order("add-on-deleted"),
        "ordo::order::relies_on",
        "deletes its SiteSurvey",
    );
}

/// `relies on` and `P.task` find an aliased sibling by its product.
#[test]
fn an_aliased_child_is_relied_on_by_its_product() {
    let plan = json("plan", &order("wireless-home"));
    assert_eq!(task_ids(&plan), ["1/site/survey", "1/radio/install"]);
    assert_eq!(
        plan["tasks"][1]["after"],
        serde_json::json!(["1/site/survey"])
    );
}

#[test]
fn the_rules_catalog_checks_clean_under_deny_warnings() {
    let out = ordo(&["check", "--catalog", CATALOG, "--deny", "warnings"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The shipped catalog's own tests, among them the deletes above
/// (`disconnect-legacy-line.yaml`, `cease-phone.yaml`), each on its inline
/// `installed:` base.
#[test]
fn the_shipped_catalog_tests_pass() {
    let out = ordo(&["test", "--catalog", "catalog"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
