//! `ordo plan` and `ordo quote`: snapshots of every format for example
//! orders, one broken order per order-level diagnostic code, exact prices.

use std::process::Command;

use ordo::compile::compile;
use ordo::inventory::InstalledBase;
use ordo::order::read_order;
use ordo::plan::{decompose, decompose_on};
use ordo::render::{render, Format, RenderOptions};
use ordo::source::{SourceFile, Sources};
use ordo::store::SqliteStore;
use ordo::value::Value;

fn ordo(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ordo"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("ORDO_CATALOG")
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

#[test]
fn plan_formats() {
    for order in ["triple-play", "voip-on-broadband"] {
        let path = format!("examples/{order}.yaml");
        for format in ["text", "json", "dot", "mermaid"] {
            let name = format!("plan_{order}_{format}");
            insta::assert_snapshot!(name, stdout(&["plan", &path, "--format", format]));
        }
    }
}

#[test]
fn quotes() {
    for order in ["triple-play", "broadband"] {
        let path = format!("examples/{order}.yaml");
        for format in ["text", "json"] {
            let name = format!("quote_{order}_{format}");
            insta::assert_snapshot!(name, stdout(&["quote", &path, "--format", format]));
        }
    }
}

#[test]
fn plan_json_has_the_spec_shape_and_is_deterministic() {
    let a = stdout(&["plan", "examples/triple-play.yaml", "--format", "json"]);
    let b = stdout(&["plan", "examples/triple-play.yaml", "--format", "json"]);
    assert_eq!(a, b);
    let json: serde_json::Value = serde_json::from_str(&a).unwrap();
    let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "order",
            "stages",
            "tasks",
            "critical_path",
            "price",
            "requested_start",
            "requested_completion"
        ]
    );
    let task = json["tasks"][0].as_object().unwrap();
    let keys: Vec<&String> = task.keys().collect();
    assert_eq!(
        keys,
        [
            "id",
            "item",
            "product",
            "name",
            "action",
            "stage",
            "after",
            "when",
            "inputs",
            "require",
            "retry",
            "timeout_ms",
            "undo",
            "point_of_no_return",
            "manual",
            "wait"
        ]
    );
    // Inputs known at plan time are values; another task's output is the
    // expression evaluated at run time.
    let tasks = json["tasks"].as_array().unwrap();
    let port = tasks
        .iter()
        .find(|t| t["id"] == "1/Broadband/reserve_port")
        .unwrap();
    assert_eq!(
        port["inputs"]["exchange"]["expr"],
        "1/Broadband/coverage.exchange"
    );
    assert_eq!(port["inputs"]["hold"]["value"], "14d");
    let credit = tasks.iter().find(|t| t["id"] == "credit").unwrap();
    assert_eq!(credit["retry"]["count"], 3);
    assert_eq!(credit["timeout_ms"], 30000);
    assert_eq!(
        credit["require"][0]["condition"],
        "credit.decision != \"refer\""
    );
    assert_eq!(json["price"]["once"], "49.00 EUR");
    assert_eq!(json["price"]["monthly"], "79.99 EUR");
    // The JSON plan may be a JSON order's input too: the JSON example plans.
    stdout(&["plan", "examples/broadband.json", "--format", "json"]);
}

/// Order file, catalog, expected code, line, column.
const BROKEN: &[(&str, &str, &str, usize, usize)] = &[
    (
        "examples/broken/syntax.yaml",
        "catalog",
        "ordo::order::syntax",
        5,
        5,
    ),
    (
        "examples/broken/unknown-product.yaml",
        "catalog",
        "ordo::order::unknown_product",
        7,
        14,
    ),
    (
        "examples/broken/attribute.yaml",
        "catalog",
        "ordo::order::attribute",
        11,
        14,
    ),
    (
        "examples/broken/require.yaml",
        "catalog",
        "ordo::order::require",
        11,
        14,
    ),
    (
        "examples/broken/relies-on.yaml",
        "catalog",
        "ordo::order::relies_on",
        6,
        9,
    ),
    (
        "examples/broken/duplicate-item.yaml",
        "catalog",
        "ordo::order::duplicate_item",
        9,
        9,
    ),
    (
        "tests/fixtures/order/cycle/order.yaml",
        "tests/fixtures/order/cycle/catalog.ordo",
        "ordo::order::cycle",
        4,
        9,
    ),
];

/// The state folder a broken order is planned on: empty, or holding what
/// the `installed.yaml` beside it leaves when it completes (the instances the
/// order modifies).
fn state_for(order: &str, catalog: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let installed = std::path::Path::new(order).with_file_name("installed.yaml");
    if installed.exists() {
        let state = dir.path().to_str().unwrap();
        let setup = installed.to_str().unwrap();
        let run = ordo(&[
            "run",
            "--catalog",
            catalog,
            setup,
            "--state",
            state,
            "--quiet",
        ]);
        assert_eq!(run.status.code(), Some(0), "{run:?}");
    }
    dir
}

#[test]
fn every_order_code_has_a_broken_order_at_its_place() {
    for (order, catalog, code, line, column) in BROKEN {
        let dir = state_for(order, catalog);
        let state = dir.path().to_str().unwrap();
        let out = ordo(&[
            "plan",
            "--catalog",
            catalog,
            order,
            "--state",
            state,
            "--format",
            "json",
        ]);
        assert_eq!(out.status.code(), Some(1), "{order}");
        let json: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("diagnostics JSON");
        let found = json["diagnostics"].as_array().unwrap().iter().any(|d| {
            d["code"] == *code
                && d["file"] == *order
                && d["line"].as_u64() == Some(*line as u64)
                && d["column"].as_u64() == Some(*column as u64)
        });
        assert!(found, "{order}: no {code} at {line}:{column} in {json:#}");
    }
}

#[test]
fn rendered_order_diagnostics() {
    for (order, catalog, ..) in BROKEN {
        let dir = state_for(order, catalog);
        let mut sources = Sources::load_catalog(std::path::Path::new(catalog)).unwrap();
        let (cat, _) = compile(&sources);
        let cat = cat.unwrap();
        let text = std::fs::read_to_string(order).unwrap();
        let f = sources.add(SourceFile::new(*order, text));
        let store = SqliteStore::open(dir.path()).unwrap();
        let diags = read_order(f, sources.get(f))
            .and_then(|d| {
                let base = InstalledBase::for_order(&store, &d).unwrap();
                decompose_on(&cat, &d, &base)
            })
            .unwrap_err();
        let opts = RenderOptions {
            color: false,
            width: 80,
        };
        let name = std::path::Path::new(order)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        insta::assert_snapshot!(
            format!("order_error_{name}"),
            render(&diags, &sources, Format::Human, &opts)
        );
    }
}

#[test]
fn all_attribute_errors_of_an_order_are_reported() {
    let out = ordo(&["plan", "examples/broken/attribute.yaml", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["errors"], 3, "{json:#}");
    let messages: Vec<&str> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("items[0].attributes.speed:")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("items[0].attributes.adress:")),
        "{messages:?}"
    );
}

#[test]
fn prices_are_exact_decimals() {
    let out = stdout(&[
        "quote",
        "--catalog",
        "tests/fixtures/order/exact/catalog.ordo",
        "tests/fixtures/order/exact/order.yaml",
        "--format",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    // Three times 0.1 + 0.2 is 0.9000000000000001 in binary floating point.
    assert_eq!(json["price"]["once"], "0.90 EUR");
    assert_eq!(json["price"]["monthly"], "10.20 EUR");
    // An input computed from a price is exact too.
    let mut sources = Sources::load_catalog(std::path::Path::new(
        "tests/fixtures/order/exact/catalog.ordo",
    ))
    .unwrap();
    let (cat, _) = compile(&sources);
    let text = std::fs::read_to_string("tests/fixtures/order/exact/order.yaml").unwrap();
    let f = sources.add(SourceFile::new("order.yaml", text));
    let (plan, _) = decompose(&cat.unwrap(), &read_order(f, sources.get(f)).unwrap()).unwrap();
    let enable = &plan.tasks[plan.task("d/enable").unwrap()];
    let monthly = enable
        .inputs
        .iter()
        .find(|(n, _)| n == "monthly")
        .unwrap()
        .1
        .as_lit()
        .cloned();
    assert_eq!(monthly.map(|v| v.to_string()), Some("0.90 EUR".to_string()));
    assert!(matches!(enable.inputs[0].1.as_lit(), Some(Value::String(s)) if s == "d"));
}

#[test]
fn a_bundle_price_is_allocated_to_its_children_exactly() {
    let out = stdout(&["quote", "examples/triple-play.yaml", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let items = json["items"].as_array().unwrap();
    let sum: rust_decimal::Decimal = items
        .iter()
        .filter(|i| i["parent"] == "1")
        .map(|i| {
            i["price"]["monthly"]
                .as_str()
                .unwrap()
                .trim_end_matches(" EUR")
                .parse::<rust_decimal::Decimal>()
                .unwrap()
        })
        .sum();
    assert_eq!(sum.to_string(), "79.99");
    assert!(items
        .iter()
        .filter(|i| i["parent"] == "1")
        .all(|i| i["counted"] == false));
}
