//! TMF622 (v4, v5) and TMF637 on the real `ordo serve` (docs/tmf.md), with
//! TM Forum's own sample ProductOrders (tests/fixtures/tmf/README.md) and
//! the catalog of examples/tmf. Every action goes to
//! tests/fixtures/tmf-serve/gate.sh, which logs its calls and waits while
//! the test keeps its gate closed, so that the state at the moment of a
//! revision or a cancel is exact.

mod serve_support;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use serve_support::listener::Listener;
use serve_support::{client, get, wait_for, Lab, Server};

const V4: &str = "/tmf-api/productOrderingManagement/v4";
const V5: &str = "/tmf-api/productOrderingManagement/v5";
const INVENTORY: &str = "/tmf-api/productInventory/v4";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn sample(name: &str) -> Value {
    let text = std::fs::read_to_string(root().join("tests/fixtures/tmf").join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn serve(lab: &Lab, extra: &[&str]) -> Server {
    lab.serve_with(
        "tmf",
        &root().join("examples/tmf/catalog"),
        &root().join("tests/fixtures/tmf-serve/bindings.yaml"),
        extra,
    )
}

fn gate(lab: &Lab, name: &str) -> PathBuf {
    PathBuf::from(format!("{}-{name}", lab.gate().display()))
}

fn close(lab: &Lab, name: &str) {
    std::fs::write(gate(lab, name), "").unwrap();
}

fn open(lab: &Lab, name: &str) {
    let _ = std::fs::remove_file(gate(lab, name));
}

/// A request with a JSON body: status, headers and JSON answer.
fn send(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    body: String,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = client()
        .request(method, server.url(path))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .expect("the server answers");
    let code = response.status().as_u16();
    let headers = response.headers().clone();
    (code, headers, response.json().unwrap_or(Value::Null))
}

fn post(server: &Server, path: &str, body: &Value) -> (u16, Value) {
    let (code, _, v) = send(server, reqwest::Method::POST, path, body.to_string());
    (code, v)
}

fn patch(server: &Server, path: &str, body: &Value) -> (u16, Value) {
    let (code, _, v) = send(server, reqwest::Method::PATCH, path, body.to_string());
    (code, v)
}

fn list(server: &Server, path: &str) -> (Vec<Value>, usize, usize) {
    let response = client().get(server.url(path)).send().unwrap();
    assert_eq!(response.status().as_u16(), 200, "{path}");
    let count = |h: &str| {
        response.headers()[h]
            .to_str()
            .unwrap()
            .parse::<usize>()
            .unwrap()
    };
    let (total, result) = (count("x-total-count"), count("x-result-count"));
    let items: Vec<Value> = response.json().unwrap();
    (items, total, result)
}

/// Polls the order through `base` until its state is `state`.
fn wait_state(server: &Server, base: &str, id: &str, state: &str) -> Value {
    wait_for(&format!("order {id} to be {state}"), || {
        let (code, order) = get(server, &format!("{base}/productOrder/{id}"));
        (code == 200 && order["state"] == state).then_some(order)
    })
}

/// Waits until the plugin logged `phase` (`start`, `end`) of the order's task.
fn wait_call(lab: &Lab, order: &str, task: &str, start: bool) {
    let key = format!("{order}/{task}");
    wait_for(
        &format!("{key} to {}", if start { "start" } else { "end" }),
        || {
            lab.calls()
                .iter()
                .any(|c| c.key == key && c.start == start && !c.undo)
                .then_some(())
        },
    );
}

/// Where in the plugin's log the call is (first such line).
fn position(lab: &Lab, key: &str, start: bool, undo: bool) -> usize {
    lab.calls()
        .iter()
        .position(|c| c.key == key && c.start == start && c.undo == undo)
        .unwrap_or_else(|| panic!("no call {key} start={start} undo={undo}"))
}

fn item_states(order: &Value) -> Vec<(String, String)> {
    order["productOrderItem"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_string(),
                i["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

const BUNDLE_TASKS: [&str; 3] = [
    "100/CoverageOption/set",
    "100/MobileTelephony/provision",
    "100/TariffPlan/start",
];

#[test]
fn v4_and_v5_samples_are_created_run_to_completion_and_honour_relies_on() {
    let lab = Lab::new();
    let server = serve(&lab, &[]);
    for (base, name, external) in [
        (V4, "v4-create.json", json!("PO-456")),
        (
            V5,
            "v5-create-1.json",
            json!([{"id": "456", "@type": "ExternalIdentifier"}]),
        ),
    ] {
        let (code, created) = post(&server, &format!("{base}/productOrder"), &sample(name));
        assert_eq!(code, 201, "{name}: {created:#}");
        let id = created["id"].as_str().unwrap().to_string();
        assert!(id.starts_with("PO-"), "{id}");
        assert_eq!(created["href"], format!("{base}/productOrder/{id}"));
        assert_eq!(created["state"], "acknowledged");
        assert_eq!(created["@type"], "ProductOrder");
        assert_eq!(created["externalId"], external, "{name}");
        assert_eq!(
            created["requestedCompletionDate"], "2019-05-02T08:13:59.506Z",
            "{name}"
        );
        let ids: Vec<String> = item_states(&created).into_iter().map(|(i, _)| i).collect();
        assert_eq!(ids, ["100", "110", "120", "130"]);
        // The order runs in the engine like any other.
        let done = wait_state(&server, base, &id, "completed");
        assert!(
            item_states(&done).iter().all(|(_, s)| s == "completed"),
            "{done:#}"
        );
        assert!(done["completionDate"].is_string());
        // The bundle's children were planned as items of their own.
        let (_, plan) = get(&server, &format!("/api/v1/orders/{id}/plan"));
        let mut tasks: Vec<String> = plan["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect();
        tasks.sort();
        assert_eq!(tasks, BUNDLE_TASKS);
        // reliesOn: the tariff plan and the coverage start once the line is there.
        let line_done = position(
            &lab,
            &format!("{id}/100/MobileTelephony/provision"),
            false,
            false,
        );
        for after in ["100/TariffPlan/start", "100/CoverageOption/set"] {
            let started = position(&lab, &format!("{id}/{after}"), true, false);
            assert!(
                line_done < started,
                "{after} started before the line was provisioned"
            );
        }
        // And the installed base holds its products, as TMF637 Products.
        let (products, total, _) = list(
            &server,
            &format!("{INVENTORY}/product?relatedParty.id=ff55-hjy4"),
        );
        assert!(total >= 3, "{products:#?}");
    }
}

#[test]
fn lists_filter_select_fields_and_page_with_the_count_headers() {
    let lab = Lab::new();
    let server = serve(&lab, &[]);
    let mut ids = Vec::new();
    for external in ["A-1", "A-2", "A-3"] {
        let mut body = sample("v4-create.json");
        body["externalId"] = json!(external);
        let (code, created) = post(&server, &format!("{V4}/productOrder"), &body);
        assert_eq!(code, 201, "{created:#}");
        ids.push(created["id"].as_str().unwrap().to_string());
    }
    for id in &ids {
        wait_state(&server, V4, id, "completed");
    }
    let (all, total, result) = list(&server, &format!("{V4}/productOrder"));
    assert_eq!((total, result, all.len()), (3, 3, 3));
    // Newest first.
    let listed: Vec<&str> = all.iter().map(|o| o["id"].as_str().unwrap()).collect();
    let mut newest_first = ids.iter().map(String::as_str).collect::<Vec<_>>();
    newest_first.reverse();
    assert_eq!(listed, newest_first);
    let (one, total, result) = list(&server, &format!("{V4}/productOrder?externalId=A-2"));
    assert_eq!((total, result), (1, 1));
    assert_eq!(one[0]["id"], ids[1].as_str());
    assert_eq!(one[0]["externalId"], "A-2");
    let (_, total, _) = list(&server, &format!("{V4}/productOrder?externalId=nope"));
    assert_eq!(total, 0);
    let (_, total, _) = list(&server, &format!("{V4}/productOrder?state=completed"));
    assert_eq!(total, 3);
    let (_, total, _) = list(&server, &format!("{V4}/productOrder?state=inProgress"));
    assert_eq!(total, 0);
    let (page, total, result) = list(
        &server,
        &format!("{V4}/productOrder?offset=1&limit=1&fields=state"),
    );
    assert_eq!((total, result), (3, 1));
    assert_eq!(
        page[0],
        json!({"id": ids[1], "href": format!("{V4}/productOrder/{}", ids[1]), "state": "completed", "@type": "ProductOrder"})
    );
    // The same order through v5 renders v5's externalId.
    let (code, v5) = get(&server, &format!("{V5}/productOrder/{}", ids[0]));
    assert_eq!(code, 200);
    assert_eq!(
        v5["externalId"],
        json!([{"id": "A-1", "@type": "ExternalIdentifier"}])
    );
    // 404s: an unknown id, an id that could not be one, an unknown version.
    for path in [
        format!("{V4}/productOrder/PO-nope"),
        format!("{V4}/productOrder/..%2Fx"),
        "/tmf-api/productOrderingManagement/v3/productOrder".to_string(),
    ] {
        let (code, body) = get(&server, &path);
        assert_eq!(code, 404, "{path}: {body:#}");
        assert_eq!(body["@type"], "Error");
    }
    let (code, body) = get(&server, &format!("{V4}/productOrder?limit=many"));
    assert_eq!(code, 400, "{body:#}");
}

#[test]
fn every_mapping_error_is_a_400_with_its_path_and_nothing_is_stored() {
    let lab = Lab::new();
    let server = serve(&lab, &[]);
    type Mutate = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutate, &str, &str)> = vec![
        (
            "no items",
            Box::new(|b| drop(b.as_object_mut().unwrap().remove("productOrderItem"))),
            "ordo::order::syntax",
            "",
        ),
        (
            "items not a list",
            Box::new(|b| b["productOrderItem"] = json!({})),
            "ordo::order::syntax",
            "productOrderItem",
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
                b["productOrderItem"][3]["productOffering"] = json!({"id": "999"});
                b["productOrderItem"][3]["product"]["productSpecification"] = json!({"id": "998"});
            }),
            "ordo::order::unknown_product",
            "productOrderItem[3].productOffering.id",
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
    ];
    let mut failures = Vec::new();
    for (what, mutate, code, path) in &cases {
        let mut body = sample("v5-create-1.json");
        mutate(&mut body);
        let (status, error) = post(&server, &format!("{V5}/productOrder"), &body);
        let found = error["diagnostics"]
            .as_array()
            .is_some_and(|d| d.iter().any(|e| e["code"] == *code && e["path"] == *path));
        if status != 400 || error["@type"] != "Error" || !found {
            failures.push(format!(
                "{what}: want 400 {code} at {path:?}, got {status} {error:#}"
            ));
        }
    }
    // Sample 2 orders a specification the catalog does not sell.
    let (status, error) = post(
        &server,
        &format!("{V5}/productOrder"),
        &sample("v5-create-2.json"),
    );
    assert_eq!(status, 400);
    assert_eq!(
        error["diagnostics"][0]["path"],
        "productOrderItem[0].product.productSpecification.id"
    );
    // Not JSON at all.
    let (status, _, error) = send(
        &server,
        reqwest::Method::POST,
        &format!("{V4}/productOrder"),
        "{\"productOrderItem\": [".to_string(),
    );
    assert_eq!(status, 400);
    assert_eq!(error["diagnostics"][0]["code"], "ordo::order::syntax");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let (_, total, _) = list(&server, &format!("{V4}/productOrder"));
    assert_eq!(total, 0, "a rejected order was stored");
    let (_, orders) = get(&server, "/api/v1/orders");
    assert_eq!(orders, json!([]));
}

/// The v4 sample with the coverage option `coverage`.
fn with_coverage(coverage: &str) -> Value {
    let mut body = sample("v4-create.json");
    let items = body["productOrderItem"].as_array_mut().unwrap();
    let option = items.iter_mut().find(|i| i["id"] == "130").unwrap();
    option["product"]["productCharacteristic"][0]["value"] = json!(coverage);
    body
}

#[test]
fn patch_revises_an_order_in_flight_and_is_refused_past_a_point_of_no_return() {
    let lab = Lab::new();
    let server = serve(&lab, &[]);
    // Accepted: the line is being provisioned, nothing past a point of no return.
    close(&lab, "provision");
    let (_, created) = post(
        &server,
        &format!("{V4}/productOrder"),
        &with_coverage("National"),
    );
    let id = created["id"].as_str().unwrap().to_string();
    wait_call(&lab, &id, "100/MobileTelephony/provision", true);
    let items = with_coverage("International")["productOrderItem"].clone();
    let (code, revised) = patch(
        &server,
        &format!("{V4}/productOrder/{id}"),
        &json!({"productOrderItem": items}),
    );
    assert_eq!(code, 200, "{revised:#}");
    assert_eq!(revised["id"], id.as_str());
    open(&lab, "provision");
    let done = wait_state(&server, V4, &id, "completed");
    assert_eq!(
        done["productOrderItem"][3]["product"]["productCharacteristic"][0]["value"],
        "International"
    );
    let (_, status) = get(&server, &format!("/api/v1/orders/{id}"));
    assert_eq!(status["version"], 2, "{status:#}");
    let (_, products) = get(
        &server,
        &format!(
            "{INVENTORY}/product/{}",
            format!("{id}/100/CoverageOption").replace('/', "%2F")
        ),
    );
    let coverage = products["productCharacteristic"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "coverage")
        .cloned();
    assert_eq!(
        coverage.map(|c| c["value"].clone()),
        Some(json!("International"))
    );
    // Refused: the order ended.
    let (code, refused) = patch(
        &server,
        &format!("{V4}/productOrder/{id}"),
        &json!({"productOrderItem": items}),
    );
    assert_eq!(code, 409, "{refused:#}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("ordo::revise::ended"),
        "{refused:#}"
    );

    // Refused: the tariff plan (a point of no return) is done, the coverage runs.
    close(&lab, "coverage");
    let (_, created) = post(
        &server,
        &format!("{V4}/productOrder"),
        &with_coverage("National"),
    );
    let id = created["id"].as_str().unwrap().to_string();
    wait_call(&lab, &id, "100/TariffPlan/start", false);
    wait_call(&lab, &id, "100/CoverageOption/set", true);
    wait_for("the point of no return to be recorded", || {
        let (_, s) = get(&server, &format!("/api/v1/orders/{id}"));
        s["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == "100/TariffPlan/start" && t["state"] == "done")
            .then_some(())
    });
    let (code, refused) = patch(
        &server,
        &format!("{V4}/productOrder/{id}"),
        &json!({"productOrderItem": items}),
    );
    assert_eq!(code, 409, "{refused:#}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("ordo::revise::past_point_of_no_return"),
        "{refused:#}"
    );
    // A cancel now is refused too: the request ends terminatedWithError.
    let (code, cancel) = post(
        &server,
        &format!("{V4}/cancelProductOrder"),
        &json!({"productOrder": {"id": id}, "cancellationReason": "changed my mind"}),
    );
    assert_eq!(code, 201, "{cancel:#}");
    assert_eq!(cancel["state"], "terminatedWithError");
    assert!(
        cancel["stateChangeReason"]
            .as_str()
            .unwrap()
            .contains("point of no return"),
        "{cancel:#}"
    );
    open(&lab, "coverage");
    wait_state(&server, V4, &id, "completed");
    let (_, again) = get(
        &server,
        &format!("{V4}/cancelProductOrder/{}", cancel["id"].as_str().unwrap()),
    );
    assert_eq!(again["state"], "terminatedWithError");
}

#[test]
fn a_cancel_before_the_point_of_no_return_compensates_the_order() {
    let lab = Lab::new();
    let server = serve(&lab, &[]);
    close(&lab, "provision");
    let (_, created) = post(
        &server,
        &format!("{V5}/productOrder"),
        &sample("v5-create-1.json"),
    );
    let id = created["id"].as_str().unwrap().to_string();
    wait_call(&lab, &id, "100/MobileTelephony/provision", true);
    let (code, cancel) = post(
        &server,
        &format!("{V5}/cancelProductOrder"),
        &json!({"productOrder": {"id": id}, "cancellationReason": "duplicate"}),
    );
    assert_eq!(code, 201, "{cancel:#}");
    assert_eq!(cancel["state"], "acknowledged");
    assert_eq!(cancel["cancellationReason"], "duplicate");
    assert_eq!(cancel["productOrder"]["id"], id.as_str());
    let cid = cancel["id"].as_str().unwrap().to_string();
    assert_eq!(cancel["href"], format!("{V5}/cancelProductOrder/{cid}"));
    let (_, now) = get(&server, &format!("{V5}/cancelProductOrder/{cid}"));
    assert_eq!(now["state"], "inProgress", "{now:#}");
    open(&lab, "provision");
    let done = wait_for("the cancel to be done", || {
        let (_, c) = get(&server, &format!("{V5}/cancelProductOrder/{cid}"));
        (c["state"] == "done").then_some(c)
    });
    assert!(done["effectiveCancellationDate"].is_string());
    let order = wait_state(&server, V5, &id, "cancelled");
    // Nothing started after the cancel: not the tariff plan (a point of no
    // return), not the coverage.
    let started: Vec<String> = lab
        .calls()
        .iter()
        .filter(|c| c.start)
        .map(|c| c.key.clone())
        .collect();
    assert_eq!(
        started,
        [format!("{id}/100/MobileTelephony/provision")],
        "{order:#}"
    );
    assert!(
        item_states(&order).iter().all(|(_, s)| s == "cancelled"),
        "{order:#}"
    );
    // Bad bodies and unknown orders.
    let (code, error) = post(
        &server,
        &format!("{V5}/cancelProductOrder"),
        &json!({"productOrder": {}}),
    );
    assert_eq!(code, 400);
    assert_eq!(error["diagnostics"][0]["path"], "productOrder.id");
    let (code, _) = post(
        &server,
        &format!("{V5}/cancelProductOrder"),
        &json!({"productOrder": {"id": "PO-nope"}}),
    );
    assert_eq!(code, 404);
    let (code, _) = get(&server, &format!("{V5}/cancelProductOrder/999"));
    assert_eq!(code, 404);
}

#[test]
fn the_revise_endpoint_of_api_v1() {
    let lab = Lab::new();
    let server = serve(&lab, &[]);
    let revise = |id: &str, body: &Value| {
        let (code, _, v) = send(
            &server,
            reqwest::Method::POST,
            &format!("/api/v1/orders/{id}/revise"),
            body.to_string(),
        );
        (code, v)
    };
    assert_eq!(revise("PO-nope", &with_coverage("International")).0, 404);
    close(&lab, "provision");
    let (_, created) = post(
        &server,
        &format!("{V4}/productOrder"),
        &with_coverage("National"),
    );
    let id = created["id"].as_str().unwrap().to_string();
    wait_call(&lab, &id, "100/MobileTelephony/provision", true);
    // A bad body: 400 with the diagnostics, nothing requested.
    let mut bad = with_coverage("International");
    bad["productOrderItem"][3]["action"] = json!("upgrade");
    let (code, error) = revise(&id, &bad);
    assert_eq!(code, 400, "{error:#}");
    assert!(error["diagnostics"]
        .as_array()
        .is_some_and(|d| !d.is_empty()));
    let (code, requested) = revise(&id, &with_coverage("International"));
    assert_eq!(code, 202, "{requested:#}");
    assert_eq!(requested["version"], 2);
    // Nothing was done yet (the line is still being provisioned): every
    // task of version 2 runs as added.
    assert_eq!(
        (
            requested["revision"]["from"].clone(),
            requested["revision"]["to"].clone()
        ),
        (json!(1), json!(2))
    );
    let mut changes: Vec<(String, String)> = requested["revision"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["change"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    changes.sort();
    let want: Vec<(String, String)> = BUNDLE_TASKS
        .iter()
        .map(|t| (t.to_string(), "add".to_string()))
        .collect();
    assert_eq!(changes, want);
    // A second one while the first waits for the runner's safe point: refused.
    let (code, pending) = revise(&id, &with_coverage("National"));
    assert_eq!(code, 409, "{pending:#}");
    assert!(
        pending["message"]
            .as_str()
            .unwrap()
            .contains("ordo::revise::pending"),
        "{pending:#}"
    );
    open(&lab, "provision");
    let done = wait_state(&server, V4, &id, "completed");
    assert_eq!(
        done["productOrderItem"][3]["product"]["productCharacteristic"][0]["value"],
        "International"
    );
    let (code, refused) = revise(&id, &with_coverage("National"));
    assert_eq!(code, 409, "{refused:#}");
    // Another order's document is not a revision of this one.
    let yaml = "id: OTHER\ncustomer: { id: C-1 }\nitems:\n  - id: \"1\"\n    action: add\n    product: MobileTelephony\n    attributes: { msisdn: \"1\" }\n";
    let response = client()
        .post(server.url(&format!("/api/v1/orders/{id}/revise")))
        .header("content-type", "application/yaml")
        .body(yaml)
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
}

#[test]
fn conformance_product_order() {
    let lab = Lab::new();
    let server = serve(&lab, &[]);
    close(&lab, "provision");
    // Minimum attributes: one item with its action and offering.
    let minimum = json!({
        "productOrderItem": [{
            "id": "1",
            "action": "add",
            "productOffering": {"id": "14305"},
            "product": {"productCharacteristic": [{"name": "TEL_MSISDN", "value": "555 0100"}]}
        }],
        "relatedParty": [{"role": "Customer", "id": "C-9"}]
    });
    let (code, created) = post(&server, &format!("{V4}/productOrder"), &minimum);
    assert_eq!(code, 201, "{created:#}");
    for member in [
        "id",
        "href",
        "state",
        "orderDate",
        "productOrderItem",
        "@type",
    ] {
        assert!(!created[member].is_null(), "{member} missing: {created:#}");
    }
    let item = &created["productOrderItem"][0];
    assert_eq!(item["id"], "1");
    assert_eq!(item["action"], "add");
    assert_eq!(
        item["productOffering"],
        minimum["productOrderItem"][0]["productOffering"]
    );
    assert_eq!(created["relatedParty"], minimum["relatedParty"]);
    let id = created["id"].as_str().unwrap();
    let (code, got) = get(&server, &format!("{V4}/productOrder/{id}"));
    assert_eq!(code, 200);
    let without_states = |v: &Value| {
        let mut v = v.clone();
        v.as_object_mut().unwrap().remove("state");
        for i in v["productOrderItem"].as_array_mut().unwrap() {
            i.as_object_mut().unwrap().remove("state");
        }
        v
    };
    assert_eq!(without_states(&got), without_states(&created));
    let (_, some) = get(&server, &format!("{V4}/productOrder/{id}?fields=orderDate"));
    let keys: Vec<&String> = some.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["id", "href", "orderDate", "@type"]);
    let (code, _) = get(&server, &format!("{V4}/productOrder/PO-unknown"));
    assert_eq!(code, 404);
    open(&lab, "provision");
    wait_state(&server, V4, id, "completed");
}

#[test]
fn conformance_cancel_product_order_and_product() {
    let lab = Lab::new();
    let server = serve(&lab, &[]);
    let (_, created) = post(
        &server,
        &format!("{V4}/productOrder"),
        &sample("v4-create.json"),
    );
    let id = created["id"].as_str().unwrap().to_string();
    wait_state(&server, V4, &id, "completed");
    // cancelProductOrder, minimum attributes (the order ended: refused).
    let (code, cancel) = post(
        &server,
        &format!("{V4}/cancelProductOrder"),
        &json!({"productOrder": {"id": id}}),
    );
    assert_eq!(code, 201, "{cancel:#}");
    for member in ["id", "href", "state", "productOrder", "@type"] {
        assert!(!cancel[member].is_null(), "{member} missing: {cancel:#}");
    }
    assert_eq!(cancel["productOrder"]["id"], id.as_str());
    let cid = cancel["id"].as_str().unwrap();
    let (code, got) = get(&server, &format!("{V4}/cancelProductOrder/{cid}"));
    assert_eq!(code, 200);
    assert_eq!(got, cancel);
    let (_, some) = get(
        &server,
        &format!("{V4}/cancelProductOrder/{cid}?fields=state"),
    );
    assert_eq!(some.as_object().unwrap().len(), 4, "{some:#}");
    assert_eq!(
        get(&server, &format!("{V4}/cancelProductOrder/nope")).0,
        404
    );
    // TMF637 Product over the installed base.
    let (products, total, result) = list(
        &server,
        &format!("{INVENTORY}/product?relatedParty.id=ff55-hjy4&status=active"),
    );
    // The bundle and its three children.
    assert_eq!((total, result), (4, 4), "{products:#?}");
    for p in &products {
        for member in [
            "id",
            "href",
            "name",
            "status",
            "productSpecification",
            "relatedParty",
            "@type",
        ] {
            assert!(!p[member].is_null(), "{member} missing: {p:#}");
        }
        let (code, got) = get(&server, p["href"].as_str().unwrap());
        assert_eq!(code, 200);
        assert_eq!(&got, p);
    }
    let (none, _, _) = list(
        &server,
        &format!("{INVENTORY}/product?relatedParty.id=someone-else"),
    );
    assert!(none.is_empty());
    let (page, total, result) = list(
        &server,
        &format!("{INVENTORY}/product?offset=2&limit=5&fields=status"),
    );
    assert_eq!((total, result), (4, 2));
    assert_eq!(page[0].as_object().unwrap().len(), 4, "{page:#?}");
    assert_eq!(get(&server, &format!("{INVENTORY}/product/nope")).0, 404);
    assert_eq!(
        get(&server, &format!("{INVENTORY}/product?status=gone")).0,
        400
    );
}

#[test]
fn the_tmf_routes_are_in_the_openapi_document_and_need_the_token() {
    let lab = Lab::new();
    let token = lab.dir.path().join("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    let server = serve(&lab, &["--token-file", token.to_str().unwrap()]);
    let (code, _) = get(&server, &format!("{V4}/productOrder"));
    assert_eq!(code, 401);
    let doc: Value = client()
        .get(server.url("/openapi.json"))
        .bearer_auth("s3cret")
        .send()
        .unwrap()
        .json()
        .unwrap();
    for path in [
        "/tmf-api/productOrderingManagement/{version}/productOrder",
        "/tmf-api/productOrderingManagement/{version}/productOrder/{id}",
        "/tmf-api/productOrderingManagement/{version}/cancelProductOrder",
        "/tmf-api/productOrderingManagement/{version}/cancelProductOrder/{id}",
        "/tmf-api/productInventory/v4/product",
        "/tmf-api/productInventory/v4/product/{id}",
        "/api/v1/orders/{id}/revise",
        "/tmf-api/productOrderingManagement/{version}/hub",
        "/tmf-api/productOrderingManagement/{version}/hub/{id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    assert!(
        doc["paths"]["/tmf-api/productOrderingManagement/{version}/productOrder/{id}"]["patch"]
            .is_object()
    );
}

#[test]
fn hub_events_are_retried_kept_in_order_survive_a_restart_and_stop_on_unsubscribe() {
    use std::sync::atomic::Ordering;
    let lab = Lab::new();
    let mut server = serve(&lab, &[]);
    let a = Listener::start(true);
    let (code, hub) = post(
        &server,
        &format!("{V4}/hub"),
        &json!({"callback": a.url, "query": "eventType=ProductOrderStateChangeEvent"}),
    );
    assert_eq!(code, 201, "{hub:#}");
    let hub_id = hub["id"].as_str().unwrap().to_string();
    let (code, bad) = post(
        &server,
        &format!("{V4}/hub"),
        &json!({"callback": "file:///etc/passwd"}),
    );
    assert_eq!(code, 400);
    assert_eq!(bad["diagnostics"][0]["path"], "callback");
    // The listener fails: the events are retried, not lost.
    close(&lab, "provision");
    let (_, created) = post(
        &server,
        &format!("{V4}/productOrder"),
        &sample("v4-create.json"),
    );
    let id = created["id"].as_str().unwrap().to_string();
    wait_call(&lab, &id, "100/MobileTelephony/provision", true);
    wait_for("the inProgress event to be tried", || {
        let sent = a.sent.lock().unwrap();
        sent.iter()
            .any(|e| e["event"]["productOrder"]["state"] == "inProgress")
            .then_some(())
    });
    open(&lab, "provision");
    wait_state(&server, V4, &id, "completed");
    wait_for("two failed deliveries", || {
        (a.attempts.load(Ordering::SeqCst) >= 2).then_some(())
    });
    // Killed with the events undelivered; the next server sends them.
    server.kill();
    a.down.store(false, Ordering::SeqCst);
    let server = serve(&lab, &[]);
    let states = wait_for("the completed event", || {
        let s = a.states(&id);
        s.iter().any(|(_, state)| state == "completed").then_some(s)
    });
    // Only the type asked for, each state once, in the order's order.
    assert!(
        states
            .iter()
            .all(|(t, _)| t == "ProductOrderStateChangeEvent"),
        "{states:?}"
    );
    let order: Vec<&str> = states.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(order, ["inProgress", "completed"], "{states:?}");
    assert!(a.attempts.load(Ordering::SeqCst) > states.len());
    // Unsubscribed: a's listener gets nothing of the next order; b's does.
    let b = Listener::start(false);
    let (code, _) = post(&server, &format!("{V5}/hub"), &json!({"callback": b.url}));
    assert_eq!(code, 201);
    let response = client()
        .delete(server.url(&format!("{V4}/hub/{hub_id}")))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    let response = client()
        .delete(server.url(&format!("{V4}/hub/{hub_id}")))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let (_, created) = post(
        &server,
        &format!("{V4}/productOrder"),
        &sample("v4-create.json"),
    );
    let second = created["id"].as_str().unwrap().to_string();
    let got = wait_for("b's completed event", || {
        let s = b.states(&second);
        s.iter().any(|(_, state)| state == "completed").then_some(s)
    });
    assert_eq!(got[0].0, "ProductOrderCreateEvent", "{got:?}");
    assert!(a.states(&second).is_empty());
}

/// Every member of TM Forum's sample, at the top and in every item,
/// replaced by every kind of JSON value: each body is a 201 or a 400 with
/// diagnostics, never a 5xx, and the server keeps serving.
#[test]
fn mutated_product_orders_never_get_a_5xx() {
    let lab = Lab::new();
    let server = serve(&lab, &[]);
    let values = [json!(null), json!(1), json!("x"), json!([]), json!({})];
    let base = sample("v5-create-1.json");
    let mut bodies = Vec::new();
    for key in base.as_object().unwrap().keys() {
        for v in &values {
            let mut b = base.clone();
            b[key] = v.clone();
            bodies.push(b);
        }
    }
    for (i, item) in base["productOrderItem"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        for key in item.as_object().unwrap().keys() {
            for v in &values {
                let mut b = base.clone();
                b["productOrderItem"][i][key] = v.clone();
                bodies.push(b);
            }
        }
    }
    let mut failures = Vec::new();
    for body in &bodies {
        let (code, answer) = post(&server, &format!("{V5}/productOrder"), body);
        let fine = code == 201
            || (code == 400
                && answer["diagnostics"]
                    .as_array()
                    .is_some_and(|d| !d.is_empty()));
        if !fine {
            failures.push(format!("{code} {answer} for {body}"));
        }
    }
    assert!(bodies.len() > 100, "{}", bodies.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(get(&server, "/healthz").0, 200);
}
