use serde_json::json;

use super::*;

fn task(id: &str, item: &str, state: &str, undoing: bool) -> J {
    json!({"id": id, "item": item, "action": "a.b", "stage": "fulfil", "state": state,
        "attempts": 1, "undo_attempts": 0, "undoing": undoing, "point_of_no_return": false,
        "started_at": null, "finished_at": null, "duration_ms": null, "error": null,
        "outputs": {}, "process": null})
}

fn status(state: &str, cancel: bool, tasks: Vec<J>) -> OrderStatus {
    serde_json::from_value(json!({"order": "PO-1", "version": 1, "state": state,
        "reason": null, "catalog_hash": "h", "created_at": "2026-12-01T00:00:00Z",
        "updated_at": "2026-12-01T00:01:00Z", "last_event_at": null,
        "cancel_requested": cancel, "runner": null, "counts": {}, "items": [], "tasks": tasks, "revisions": []}))
    .unwrap()
}

#[test]
fn order_states_follow_ordo_s_and_a_cancel_is_assessed_then_pending() {
    let running = || {
        vec![
            task("1/a", "1", "done", false),
            task("1/b", "1", "running", false),
        ]
    };
    assert_eq!(
        order_state(&status("in_progress", false, running())),
        "inProgress"
    );
    assert_eq!(
        order_state(&status("in_progress", true, running())),
        "assessingCancellation"
    );
    let undoing = vec![task("1/a", "1", "done", true)];
    assert_eq!(
        order_state(&status("in_progress", true, undoing)),
        "pendingCancellation"
    );
    for (ordo, tmf) in [
        ("acknowledged", "acknowledged"),
        ("completed", "completed"),
        ("failed", "failed"),
        ("cancelled", "cancelled"),
        ("held", "held"),
    ] {
        assert_eq!(order_state(&status(ordo, false, Vec::new())), tmf);
    }
}

#[test]
fn item_states_come_from_their_own_and_their_children_s_tasks() {
    let s = status(
        "in_progress",
        false,
        vec![
            task("1/Line/a", "1/Line", "done", false),
            task("2/a", "2", "pending", false),
            task("3/a", "3", "done", false),
            task("3/b", "3", "pending", false),
            task("4/a", "4", "failed", false),
        ],
    );
    assert_eq!(item_state(&s, Some("1")), "completed");
    assert_eq!(item_state(&s, Some("2")), "acknowledged");
    assert_eq!(item_state(&s, Some("3")), "inProgress");
    assert_eq!(item_state(&s, Some("4")), "failed");
    // No tasks (noChange, or an item whose rules add none): its order's.
    assert_eq!(item_state(&s, None), "inProgress");
    assert_eq!(item_state(&s, Some("9")), "inProgress");
    assert_eq!(
        item_state(&status("completed", false, Vec::new()), None),
        "completed"
    );
}

#[test]
fn a_cancel_request_ends_done_only_when_the_order_is_cancelled() {
    assert_eq!(cancel_state(OrderState::InProgress), "inProgress");
    assert_eq!(cancel_state(OrderState::Cancelled), "done");
    assert_eq!(cancel_state(OrderState::Completed), "terminatedWithError");
    assert_eq!(cancel_state(OrderState::Held), "terminatedWithError");
}

#[test]
fn a_product_order_echoes_its_external_ids_in_each_version_s_shape() {
    let tmf = TmfOrder {
        external_ids: vec!["PO-456".into()],
        requested_start_date: Some("2019-05-03T08:13:59.506Z".into()),
        requested_completion_date: None,
        items: vec![TmfItem {
            id: "100".into(),
            action: "add".into(),
            ordo_item: Some("100".into()),
        }],
    };
    let s = status(
        "completed",
        false,
        vec![task("100/a", "100", "done", false)],
    );
    let v4 = product_order(&s, &tmf, "/x/PO-1", false);
    assert_eq!(v4["externalId"], "PO-456");
    assert_eq!(v4["state"], "completed");
    assert_eq!(v4["productOrderItem"][0]["state"], "completed");
    assert_eq!(v4["@type"], "ProductOrder");
    assert!(v4.get("requestedCompletionDate").is_none());
    let v5 = product_order(&s, &tmf, "/x/PO-1", true);
    assert_eq!(
        v5["externalId"],
        json!([{"id": "PO-456", "@type": "ExternalIdentifier"}])
    );
}

#[test]
fn an_instance_is_a_tmf637_product_with_its_party_and_order_items() {
    let instance = Instance {
        id: "PO-1/100/TariffPlan".into(),
        product: "TariffPlan".into(),
        customer: "ff55-hjy4".into(),
        status: InstanceStatus::Active,
        parent: Some("PO-1/100".into()),
        attributes: [("plan".to_string(), crate::value::Value::String("S".into()))].into(),
        outputs: Default::default(),
        relies_on: Vec::new(),
        created_by: "PO-1".into(),
        updated_by: "PO-7".into(),
        created_at: "t0".into(),
        updated_at: "t1".into(),
    };
    let p = product_from_instance(&instance, "/tmf-api/productInventory/v4/product/x");
    assert_eq!(p["status"], "active");
    assert_eq!(
        p["productCharacteristic"],
        json!([{"name": "plan", "value": "S"}])
    );
    assert_eq!(p["relatedParty"][0]["id"], "ff55-hjy4");
    assert_eq!(p["productOrderItem"][0]["productOrderId"], "PO-1");
    assert_eq!(p["productOrderItem"][0]["orderItemId"], "100/TariffPlan");
    assert_eq!(p["productOrderItem"][1]["role"], "updated");
    assert_eq!(p["productRelationship"][0]["id"], "PO-1/100");
}
