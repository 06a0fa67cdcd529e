//! TMF622 ProductOrders (docs/tmf.md): TM Forum's own sample payloads
//! (tests/fixtures/tmf/README.md says where each comes from) mapped and
//! planned through the library and the real binary, every mapping error
//! with its JSON path, and the `offering`/`characteristic` catalog clauses.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ordo::compile::compile;
use ordo::diagnostic::Diagnostics;
use ordo::inventory::InstalledBase;
use ordo::model::Catalog;
use ordo::plan::{decompose_on, Plan};
use ordo::source::{SourceFile, Sources};
use ordo::tmf::{read_product_order, tmf_diagnostics, ProductOrderRequest};
use serde_json::{json, Value};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn catalog() -> (Catalog, Sources) {
    let sources = Sources::load_catalog(&root().join("examples/tmf/catalog")).unwrap();
    let (catalog, diags) = compile(&sources);
    assert!(!diags.has_errors(), "{diags:?}");
    (catalog.unwrap(), sources)
}

fn sample(name: &str) -> Value {
    let text = std::fs::read_to_string(root().join("tests/fixtures/tmf").join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Maps and plans a body as the server does: the request, its plan, or
/// the API's diagnostics (each with a path).
fn submit(body: &str) -> Result<(ProductOrderRequest, Plan), Vec<Value>> {
    let (catalog, mut sources) = catalog();
    let file = sources.add(SourceFile::new("request.json", body.to_string()));
    let source = sources.get(file);
    let fail = |d: &Diagnostics| tmf_diagnostics(d, file, source);
    let request = read_product_order(&catalog, file, source, "PO-1").map_err(|d| fail(&d))?;
    let (plan, _) =
        decompose_on(&catalog, &request.order, &InstalledBase::default()).map_err(|d| fail(&d))?;
    Ok((request, plan))
}

fn task_ids(plan: &Plan) -> Vec<String> {
    let mut ids: Vec<String> = plan.tasks.iter().map(|t| t.id.clone()).collect();
    ids.sort();
    ids
}

const BUNDLE_TASKS: [&str; 3] = [
    "100/CoverageOption/set",
    "100/MobileTelephony/provision",
    "100/TariffPlan/start",
];

#[test]
fn the_v4_user_guide_sample_is_planned_as_a_bundle() {
    let (req, plan) = submit(&sample("v4-create.json").to_string()).unwrap();
    // A string externalId (v4), the Customer party found by @referredType.
    assert_eq!(req.external_ids, ["PO-456"]);
    assert_eq!(req.order.customer_id(), "ff55-hjy4");
    assert_eq!(
        req.requested_completion_date.as_deref(),
        Some("2019-05-02T08:13:59.506Z")
    );
    let items: Vec<(&str, Option<&str>)> = req
        .items
        .iter()
        .map(|i| (i.id.as_str(), i.ordo_item.as_deref()))
        .collect();
    assert_eq!(
        items,
        [
            ("100", Some("100")),
            ("110", Some("100/MobileTelephony")),
            ("120", Some("100/TariffPlan")),
            ("130", Some("100/CoverageOption")),
        ]
    );
    assert_eq!(task_ids(&plan), BUNDLE_TASKS);
    // The bundled item's characteristic reached the bundle's attribute, and
    // the child's own characteristic its open attribute.
    let attr = |item: &str, name: &str| {
        plan.items
            .iter()
            .find(|i| i.id == item)
            .and_then(|i| i.attributes.get(name))
            .map(|v| v.to_json())
    };
    assert_eq!(attr("100", "msisdn"), Some(json!("415 279 7439")));
    assert_eq!(
        attr("100/CoverageOption", "coverage"),
        Some(json!("National"))
    );
    // reliesOn between siblings: the tariff plan waits for the line.
    let start = plan
        .tasks
        .iter()
        .find(|t| t.id == "100/TariffPlan/start")
        .unwrap();
    let after: Vec<&str> = start
        .after
        .iter()
        .map(|&i| plan.tasks[i].id.as_str())
        .collect();
    assert_eq!(after, ["100/MobileTelephony/provision"]);
}

#[test]
fn the_v5_samples_are_read_with_both_relationship_type_spellings() {
    let (req, plan) = submit(&sample("v5-create-1.json").to_string()).unwrap();
    assert_eq!(req.external_ids, ["456"]);
    assert_eq!(req.order.customer_id(), "ff55-hjy4");
    assert_eq!(task_ids(&plan), BUNDLE_TASKS);
    // Sample 2 orders a specification this catalog does not sell.
    let errors = submit(&sample("v5-create-2.json").to_string()).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0]["code"], "ordo::order::unknown_product");
    assert_eq!(
        errors[0]["path"],
        "productOrderItem[0].product.productSpecification.id"
    );
}

#[test]
fn a_v5_customer_party_is_found_by_role_and_an_extension_adds_fields() {
    let mut body = sample("v5-create-1.json");
    body["relatedParty"] = json!([
        {"role": "Seller", "partyOrPartyRole": {"id": "S-1", "@referredType": "Individual"}},
        {"role": "customer", "partyOrPartyRole": {"id": "C-42", "name": "Ada"}}
    ]);
    body["notificationContact"] = json!("ada@example.com");
    let (req, _) = submit(&body.to_string()).unwrap();
    let customer: Vec<(String, Option<String>)> = req
        .order
        .customer
        .iter()
        .map(|(k, _, v)| (k.clone(), v.scalar_text()))
        .collect();
    assert_eq!(
        customer,
        [
            ("id".to_string(), Some("C-42".to_string())),
            ("name".to_string(), Some("Ada".to_string())),
            ("email".to_string(), Some("ada@example.com".to_string())),
        ]
    );
}

#[test]
fn no_change_items_add_no_tasks() {
    let body = json!({
        "productOrderItem": [
            {"id": "1", "action": "noChange", "productOffering": {"id": "14305"}, "product": {"id": "PO-0/1"}},
            {"id": "2", "action": "add", "productOffering": {"name": "TMF Mobile Telephony"},
             "product": {"productCharacteristic": [{"name": "msisdn", "value": "0170 1"}]}}
        ],
        "relatedParty": [{"id": "C-1", "role": "Customer"}]
    });
    let (req, plan) = submit(&body.to_string()).unwrap();
    assert_eq!(req.items[0].ordo_item, None);
    assert_eq!(task_ids(&plan), ["2/provision"]);
}

/// What a case does to the sample, the code and path it must cause.
type Case = (
    &'static str,
    Box<dyn Fn(&mut Value)>,
    &'static str,
    &'static str,
);

/// Each mutation of TM Forum's v5 sample and the one error it must cause:
/// code and path.
#[test]
fn every_mapping_error_names_its_path() {
    let cases: Vec<Case> = vec![
        (
            "no items",
            Box::new(|b| drop(b.as_object_mut().unwrap().remove("productOrderItem"))),
            "ordo::order::syntax",
            "",
        ),
        (
            "empty items",
            Box::new(|b| b["productOrderItem"] = json!([])),
            "ordo::order::syntax",
            "productOrderItem",
        ),
        (
            "items not a list",
            Box::new(|b| b["productOrderItem"] = json!({})),
            "ordo::order::syntax",
            "productOrderItem",
        ),
        (
            "an item not an object",
            Box::new(|b| b["productOrderItem"][3] = json!("x")),
            "ordo::order::syntax",
            "productOrderItem[3]",
        ),
        (
            "no action",
            Box::new(|b| {
                drop(
                    b["productOrderItem"][3]
                        .as_object_mut()
                        .unwrap()
                        .remove("action"),
                )
            }),
            "ordo::order::syntax",
            "productOrderItem[3]",
        ),
        (
            "unknown action",
            Box::new(|b| b["productOrderItem"][3]["action"] = json!("upgrade")),
            "ordo::order::syntax",
            "productOrderItem[3].action",
        ),
        (
            "id with a slash",
            Box::new(|b| b["productOrderItem"][3]["id"] = json!("1/3")),
            "ordo::order::syntax",
            "productOrderItem[3].id",
        ),
        (
            "unknown offering",
            Box::new(|b| {
                b["productOrderItem"][3]["productOffering"] = json!({"id": "999", "name": "Nope"});
                b["productOrderItem"][3]["product"]["productSpecification"] = json!({"id": "998"});
            }),
            "ordo::order::unknown_product",
            "productOrderItem[3].productOffering.id",
        ),
        (
            "no offering at all",
            Box::new(|b| {
                let item = b["productOrderItem"][3].as_object_mut().unwrap();
                item.remove("productOffering");
                item["product"]
                    .as_object_mut()
                    .unwrap()
                    .remove("productSpecification");
            }),
            "ordo::order::unknown_product",
            "productOrderItem[3]",
        ),
        (
            "ill-typed characteristic",
            Box::new(|b| {
                b["productOrderItem"][3]["product"]["productCharacteristic"][0]["value"] =
                    json!("Galactic")
            }),
            "ordo::order::attribute",
            "productOrderItem[3].product.productCharacteristic[0].value",
        ),
        (
            "unknown characteristic",
            Box::new(|b| {
                b["productOrderItem"][3]["product"]["productCharacteristic"][0]["name"] =
                    json!("Colour")
            }),
            "ordo::order::attribute",
            "productOrderItem[3].product.productCharacteristic[0].name",
        ),
        (
            "characteristic without value",
            Box::new(|b| {
                drop(
                    b["productOrderItem"][3]["product"]["productCharacteristic"][0]
                        .as_object_mut()
                        .unwrap()
                        .remove("value"),
                )
            }),
            "ordo::order::attribute",
            "productOrderItem[3].product.productCharacteristic[0]",
        ),
        (
            "characteristic without name",
            Box::new(|b| {
                drop(
                    b["productOrderItem"][3]["product"]["productCharacteristic"][0]
                        .as_object_mut()
                        .unwrap()
                        .remove("name"),
                )
            }),
            "ordo::order::attribute",
            "productOrderItem[3].product.productCharacteristic[0]",
        ),
        (
            "characteristics not a list",
            Box::new(|b| b["productOrderItem"][3]["product"]["productCharacteristic"] = json!(7)),
            "ordo::order::syntax",
            "productOrderItem[3].product.productCharacteristic",
        ),
        (
            "reliesOn an unknown item",
            Box::new(|b| {
                b["productOrderItem"][3]["productOrderItemRelationship"][0]["id"] = json!("404")
            }),
            "ordo::order::relies_on",
            "productOrderItem[3].productOrderItemRelationship[0].id",
        ),
        (
            "relationship without id",
            Box::new(|b| {
                drop(
                    b["productOrderItem"][3]["productOrderItemRelationship"][0]
                        .as_object_mut()
                        .unwrap()
                        .remove("id"),
                )
            }),
            "ordo::order::syntax",
            "productOrderItem[3].productOrderItemRelationship[0]",
        ),
        (
            "bundles on a product",
            Box::new(|b| {
                b["productOrderItem"][1]["productOrderItemRelationship"] =
                    json!([{"id": "130", "relationshipType": "bundles"}])
            }),
            "ordo::order::syntax",
            "productOrderItem[1].productOrderItemRelationship[0].id",
        ),
        (
            "bundles an item twice",
            Box::new(|b| {
                b["productOrderItem"][0]["productOrderItemRelationship"][2]["id"] = json!("120")
            }),
            "ordo::order::syntax",
            "productOrderItem[2].productOffering.id",
        ),
        (
            "bundled with another action",
            Box::new(|b| b["productOrderItem"][3]["action"] = json!("delete")),
            "ordo::order::syntax",
            "productOrderItem[3].action",
        ),
        (
            "bad externalId",
            Box::new(|b| b["externalId"] = json!({"id": "1"})),
            "ordo::order::syntax",
            "externalId",
        ),
        (
            "externalId without id",
            Box::new(|b| b["externalId"] = json!([{"owner": "TMF"}])),
            "ordo::order::syntax",
            "externalId[0]",
        ),
        (
            "bad requested date",
            Box::new(|b| b["requestedStartDate"] = json!("tomorrow")),
            "ordo::order::syntax",
            "requestedStartDate",
        ),
        (
            "customer extension not an object",
            Box::new(|b| b["customer"] = json!("C-1")),
            "ordo::order::syntax",
            "customer",
        ),
        (
            "unknown customer field",
            Box::new(|b| b["customer"] = json!({"segment": "b2b"})),
            "ordo::order::attribute",
            "customer.segment",
        ),
        (
            "only noChange",
            Box::new(|b| {
                for item in b["productOrderItem"].as_array_mut().unwrap() {
                    item["action"] = json!("noChange");
                }
            }),
            "ordo::order::syntax",
            "productOrderItem",
        ),
        (
            "the bundle item sets a passed-through attribute",
            Box::new(|b| {
                b["productOrderItem"][0]["product"] =
                    json!({"productCharacteristic": [{"name": "TEL_MSISDN", "value": "1"}]});
            }),
            "",
            "",
        ),
    ];
    let mut failures = Vec::new();
    for (what, mutate, code, path) in cases {
        let mut body = sample("v5-create-1.json");
        mutate(&mut body);
        let result = submit(&body.to_string());
        if code.is_empty() {
            // The bundle item sets its own attribute: accepted.
            if let Err(e) = result {
                failures.push(format!("{what}: rejected: {e:#?}"));
            }
            continue;
        }
        match result {
            Ok(_) => failures.push(format!("{what}: accepted")),
            Err(errors) => {
                let found = errors
                    .iter()
                    .any(|e| e["code"] == code && e["path"] == path);
                let complete = errors.iter().all(|e| {
                    e["message"].as_str().is_some_and(|m| !m.is_empty())
                        && e["help"].is_string() | e["help"].is_null()
                });
                if !found || !complete {
                    failures.push(format!("{what}: want {code} at {path:?}, got {errors:#?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_body_that_is_not_json_is_a_syntax_error() {
    let errors = submit("{\"productOrderItem\": [").unwrap_err();
    assert_eq!(errors[0]["code"], "ordo::order::syntax");
}

fn ordo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ordo"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn state() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    (dir, path)
}

#[test]
fn ordo_plans_and_runs_a_product_order_file() {
    let out = ordo(&[
        "plan",
        "--catalog",
        "examples/tmf/catalog",
        "examples/tmf/product-order.json",
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["order"], "product-order");
    let mut ids: Vec<&str> = plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, BUNDLE_TASKS);

    let (_dir, state) = state();
    let state = state.to_str().unwrap();
    let out = ordo(&[
        "run",
        "--catalog",
        "examples/tmf/catalog",
        "tests/fixtures/tmf/v4-create.json",
        "--state",
        state,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = ordo(&["inventory", "--state", state, "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<(&str, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["id"].as_str().unwrap(), i["customer"].as_str().unwrap()))
        .collect();
    assert_eq!(
        ids,
        [
            ("v4-create/100", "ff55-hjy4"),
            ("v4-create/100/CoverageOption", "ff55-hjy4"),
            ("v4-create/100/MobileTelephony", "ff55-hjy4"),
            ("v4-create/100/TariffPlan", "ff55-hjy4"),
        ]
    );
}

#[test]
fn ordo_plan_points_at_the_member_of_a_rejected_product_order() {
    let out = ordo(&[
        "plan",
        "--catalog",
        "examples/tmf/catalog",
        "tests/fixtures/tmf/v5-create-2.json",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = &report["diagnostics"][0];
    assert_eq!(d["code"], "ordo::order::unknown_product");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(24), Some(17))
    );
}

fn check(text: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.ordo"), text).unwrap();
    let out = ordo(&[
        "check",
        "--catalog",
        dir.path().to_str().unwrap(),
        "--format",
        "json",
    ]);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn codes(report: &Value) -> Vec<(String, String)> {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn offering_and_characteristic_names_lead_to_one_product_and_attribute() {
    let report = check(
        r#"
customer { attr id: string characteristic "CustomerId" }
product A {
  offering "1", "Fibre"
  attr speed: string characteristic "Speed"
  attr rate: string = "x" characteristic "Speed"
  attr tier: string characteristic "rate"
  attr empty: string characteristic ""
}
product B { offering "Fibre", "A", "" }
"#,
    );
    let found = codes(&report);
    let want = [
        (
            "ordo::duplicate",
            "characteristic \"Speed\" is declared twice",
        ),
        (
            "ordo::duplicate",
            "characteristic \"rate\" is declared twice",
        ),
        ("ordo::invalid", "a characteristic name cannot be empty"),
        ("ordo::duplicate", "offering \"Fibre\" is declared twice"),
        (
            "ordo::duplicate",
            "offering \"A\" of `B` is the name of another product",
        ),
        ("ordo::invalid", "an offering name cannot be empty"),
        (
            "ordo::invalid",
            "a customer field cannot have a `characteristic`",
        ),
    ];
    for (code, message) in want {
        assert!(
            found.iter().any(|(c, m)| c == code && m == message),
            "missing {code} {message}: {found:#?}"
        );
    }
    assert_eq!(found.len(), want.len(), "{found:#?}");
}

#[test]
fn ordo_fmt_keeps_the_tmf_clauses() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.ordo");
    std::fs::write(
        &file,
        "product A {\n    offering   \"1\" ,\"Fibre 1G\"\n  attr speed : string =  \"1G\"   characteristic \"Speed\"\n}\n",
    )
    .unwrap();
    let out = ordo(&["fmt", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let formatted = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        formatted,
        "product A {\n  offering \"1\", \"Fibre 1G\"\n  attr speed: string = \"1G\" characteristic \"Speed\"\n}\n"
    );
    let out = ordo(&["fmt", "--check", file.to_str().unwrap()]);
    assert!(out.status.success());
    let out = ordo(&["fmt", "--check", "examples/tmf/catalog"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
