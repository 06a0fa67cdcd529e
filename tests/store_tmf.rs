//! TMF622 records in the SQLite store: written with the order in one
//! transaction, read back, searched by external id, replaced by a revision;
//! cancellation requests.

mod support;

use ordo::store::{SqliteStore, Store, StoreError, TmfRecord};
use serde_json::json;

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join(".ordo")).unwrap();
    (dir, store)
}

fn record(external: &[&str]) -> TmfRecord {
    TmfRecord {
        api_version: "v4".into(),
        external_ids: external.iter().map(|s| s.to_string()).collect(),
        meta: json!({"order": {"items": []}, "body": {"productOrderItem": []}}),
    }
}

#[test]
fn a_tmf_order_is_stored_with_its_record_and_found_by_external_id() {
    let (_dir, store) = store();
    for (id, external) in [
        ("PO-1", vec!["E-1", "E-2"]),
        ("PO-2", vec!["E-2"]),
        ("PO-3", vec![]),
    ] {
        let plan = support::broadband(id);
        store
            .create_tmf_order(&plan, &support::document(id), None, &record(&external))
            .unwrap();
    }
    store
        .create_order(&support::broadband("ORD-9"), &support::document("ORD-9"))
        .unwrap();
    assert_eq!(
        store.tmf_order("PO-1").unwrap(),
        Some(record(&["E-1", "E-2"]))
    );
    assert_eq!(store.tmf_order("ORD-9").unwrap(), None);
    assert_eq!(store.tmf_order("nope").unwrap(), None);
    let all = store.tmf_orders(None).unwrap();
    assert_eq!(all.len(), 3);
    assert!(!all.contains(&"ORD-9".to_string()));
    let mut by_e2 = store.tmf_orders(Some("E-2")).unwrap();
    by_e2.sort();
    assert_eq!(by_e2, ["PO-1", "PO-2"]);
    assert!(store.tmf_orders(Some("E-3")).unwrap().is_empty());
    // A revision replaces the record, external ids included.
    let mut revised = record(&["E-3"]);
    revised.meta["body"] = json!({"productOrderItem": [{"id": "1"}]});
    store.set_tmf_order("PO-1", &revised).unwrap();
    assert_eq!(store.tmf_order("PO-1").unwrap(), Some(revised));
    assert_eq!(store.tmf_orders(Some("E-3")).unwrap(), ["PO-1"]);
    assert_eq!(store.tmf_orders(Some("E-1")).unwrap(), Vec::<String>::new());
    assert!(matches!(
        store.set_tmf_order("nope", &record(&[])),
        Err(StoreError::NoSuchOrder { .. })
    ));
}

#[test]
fn an_order_refused_by_the_store_leaves_no_tmf_record() {
    let (_dir, store) = store();
    let plan = support::broadband("PO-1");
    store
        .create_tmf_order(&plan, &support::document("PO-1"), None, &record(&["A"]))
        .unwrap();
    // The same id again: refused, and the first record is untouched.
    let again = store.create_tmf_order(&plan, &support::document("PO-1"), None, &record(&["B"]));
    assert!(matches!(again, Err(StoreError::OrderExists { .. })));
    assert_eq!(store.tmf_order("PO-1").unwrap(), Some(record(&["A"])));
    assert!(store.tmf_orders(Some("B")).unwrap().is_empty());
}

#[test]
fn cancellation_requests_get_ids_and_read_back() {
    let (_dir, store) = store();
    let a = store
        .create_tmf_cancel("PO-1", "v5", Some("duplicate"), None)
        .unwrap();
    let b = store
        .create_tmf_cancel("PO-1", "v4", None, Some("too late"))
        .unwrap();
    assert_ne!(a.id, b.id);
    assert_eq!(store.tmf_cancel(&a.id).unwrap(), Some(a.clone()));
    assert_eq!(
        store.tmf_cancel(&b.id).unwrap().unwrap().refused.as_deref(),
        Some("too late")
    );
    assert_eq!(a.reason.as_deref(), Some("duplicate"));
    assert_eq!(store.tmf_cancel("999").unwrap(), None);
    assert_eq!(store.tmf_cancel("not-a-number").unwrap(), None);
}

#[test]
fn the_outbox_sends_each_orders_events_in_order_and_retries_a_failed_one() {
    let (_dir, store) = store();
    let hub = store.create_hub("http://127.0.0.1:9/e", None).unwrap();
    let other = store
        .create_hub("http://127.0.0.1:9/f", Some("eventType=X"))
        .unwrap();
    assert_eq!(store.hubs().unwrap(), [hub.clone(), other.clone()]);
    let event = |n: u32| (hub.id.clone(), json!({"n": n}));
    assert!(store
        .tmf_notify("PO-1", "acknowledged", &[event(1)])
        .unwrap());
    // The same state again: nothing queued.
    assert!(!store
        .tmf_notify("PO-1", "acknowledged", &[event(9)])
        .unwrap());
    assert!(store.tmf_notify("PO-1", "inProgress", &[event(2)]).unwrap());
    assert!(store.tmf_notify("PO-2", "inProgress", &[event(3)]).unwrap());
    assert_eq!(
        store.tmf_notified("PO-1").unwrap().as_deref(),
        Some("inProgress")
    );
    let far = "9999-01-01T00:00:00.000Z";
    let due = store.tmf_due(far).unwrap();
    // One per order, the oldest first.
    let ns: Vec<&serde_json::Value> = due.iter().map(|d| &d.event["n"]).collect();
    assert_eq!(ns, [&json!(1), &json!(3)]);
    // A failure holds the order's next event back until it is due again.
    store
        .tmf_delivered(due[0].seq, Some("refused"), far)
        .unwrap();
    let due = store.tmf_due("2000-01-01T00:00:00.000Z").unwrap();
    assert!(due.is_empty(), "{due:?}");
    let due = store.tmf_due(far).unwrap();
    assert_eq!((due[0].event["n"].clone(), due[0].attempts), (json!(1), 1));
    store.tmf_delivered(due[0].seq, None, "").unwrap();
    let due = store.tmf_due(far).unwrap();
    let ns: Vec<&serde_json::Value> = due.iter().map(|d| &d.event["n"]).collect();
    assert_eq!(ns, [&json!(2), &json!(3)]);
    // Unsubscribed: nothing more to send.
    assert!(store.delete_hub(&hub.id).unwrap());
    assert!(!store.delete_hub(&hub.id).unwrap());
    assert!(store.tmf_due(far).unwrap().is_empty());
    assert_eq!(store.hubs().unwrap(), [other]);
}
