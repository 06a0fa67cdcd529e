//! TMF622 records in the store, one suite on both backends: written with
//! the order in one transaction, read back, searched by external id,
//! replaced by a revision; cancellation requests; hub subscriptions and
//! their outbox. Then what only several servers on one PostgreSQL meet:
//! outbox events claimed by one server at a time, a claim's outcome fenced,
//! a state notified once.

#[macro_use]
mod backend_support;
mod support;

use std::time::Duration;

use backend_support::{postgres_or_skip, Backend};
use ordo::store::{Delivery, Store, StoreError, StoreOptions, TmfRecord};
use serde_json::json;

contract!(
    a_tmf_order_is_stored_with_its_record_and_found_by_external_id,
    an_order_refused_by_the_store_leaves_no_tmf_record,
    the_status_an_order_is_created_with_is_the_one_read_back,
    cancellation_requests_get_ids_and_read_back,
    the_outbox_sends_each_orders_events_in_order_and_retries_a_failed_one,
    a_state_is_notified_once_and_not_over_a_newer_one,
);

/// A `now` past every event's due time.
const FAR: &str = "9999-01-01T00:00:00.000Z";

fn record(external: &[&str]) -> TmfRecord {
    TmfRecord {
        api_version: "v4".into(),
        external_ids: external.iter().map(|s| s.to_string()).collect(),
        meta: json!({"order": {"items": []}, "body": {"productOrderItem": []}}),
    }
}

/// The server answers a ProductOrder with the status `create_tmf_order`
/// returns instead of reading it back: the two must be one.
fn the_status_an_order_is_created_with_is_the_one_read_back(b: &dyn Backend) {
    let store = b.store();
    let plan = support::broadband("PO-7");
    let created = store
        .create_tmf_order(&plan, &support::document("PO-7"), None, &record(&["E-7"]))
        .unwrap();
    assert_eq!(created.tasks.len(), plan.tasks.len());
    assert!(!created.items.is_empty());
    assert_eq!(created, store.order_status("PO-7").unwrap());
    // An ordo order (`POST /api/v1/orders`) is answered the same way.
    let plan = support::broadband("ORD-7");
    let created = store
        .create_bound_order(&plan, &support::document("ORD-7"), None)
        .unwrap();
    assert_eq!(created.tasks.len(), plan.tasks.len());
    assert_eq!(created, store.order_status("ORD-7").unwrap());
}

fn a_tmf_order_is_stored_with_its_record_and_found_by_external_id(b: &dyn Backend) {
    let store = b.store();
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

fn an_order_refused_by_the_store_leaves_no_tmf_record(b: &dyn Backend) {
    let store = b.store();
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

fn cancellation_requests_get_ids_and_read_back(b: &dyn Backend) {
    let store = b.store();
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

fn the_outbox_sends_each_orders_events_in_order_and_retries_a_failed_one(b: &dyn Backend) {
    let store = b.store();
    let hub = store.create_hub("http://127.0.0.1:9/e", None).unwrap();
    let other = store
        .create_hub("http://127.0.0.1:9/f", Some("eventType=X"))
        .unwrap();
    assert_eq!(store.hubs().unwrap(), [hub.clone(), other.clone()]);
    let event = |n: u32| (hub.id.clone(), json!({"n": n}));
    assert!(store
        .tmf_notify("PO-1", None, "acknowledged", &[event(1)])
        .unwrap());
    // The same state again: nothing queued.
    assert!(!store
        .tmf_notify("PO-1", Some("acknowledged"), "acknowledged", &[event(9)])
        .unwrap());
    assert!(store
        .tmf_notify("PO-1", Some("acknowledged"), "inProgress", &[event(2)])
        .unwrap());
    assert!(store
        .tmf_notify("PO-2", None, "inProgress", &[event(3)])
        .unwrap());
    assert_eq!(
        store.tmf_notified("PO-1").unwrap().as_deref(),
        Some("inProgress")
    );
    let due = store.tmf_due(FAR).unwrap();
    // One per order, the oldest first.
    let ns: Vec<&serde_json::Value> = due.iter().map(|d| &d.event["n"]).collect();
    assert_eq!(ns, [&json!(1), &json!(3)]);
    // A failure holds the order's next event back until it is due again.
    store
        .tmf_delivered(due[0].seq, Some("refused"), FAR)
        .unwrap();
    let due = store.tmf_due("2000-01-01T00:00:00.000Z").unwrap();
    assert!(due.is_empty(), "{due:?}");
    let due = store.tmf_due(FAR).unwrap();
    assert_eq!((due[0].event["n"].clone(), due[0].attempts), (json!(1), 1));
    store.tmf_delivered(due[0].seq, None, "").unwrap();
    let due = store.tmf_due(FAR).unwrap();
    let ns: Vec<&serde_json::Value> = due.iter().map(|d| &d.event["n"]).collect();
    assert_eq!(ns, [&json!(2), &json!(3)]);
    // Unsubscribed: nothing more to send.
    assert!(store.delete_hub(&hub.id).unwrap());
    assert!(!store.delete_hub(&hub.id).unwrap());
    assert!(store.tmf_due(FAR).unwrap().is_empty());
    assert_eq!(store.hubs().unwrap(), [other]);
}

fn a_state_is_notified_once_and_not_over_a_newer_one(b: &dyn Backend) {
    let store = b.store();
    let hub = store.create_hub("http://127.0.0.1:9/e", None).unwrap();
    let event = |n: u32| (hub.id.clone(), json!({"n": n}));
    assert!(store
        .tmf_notify("PO-1", None, "acknowledged", &[event(1)])
        .unwrap());
    // A server that read "nothing notified" before the first one wrote.
    assert!(!store
        .tmf_notify("PO-1", None, "acknowledged", &[event(8)])
        .unwrap());
    assert!(store
        .tmf_notify("PO-1", Some("acknowledged"), "inProgress", &[event(2)])
        .unwrap());
    // One that read "acknowledged" before "inProgress" was notified, and
    // would put the order back a state.
    assert!(!store
        .tmf_notify("PO-1", None, "acknowledged", &[event(9)])
        .unwrap());
    assert!(!store
        .tmf_notify("PO-1", Some("acknowledged"), "inProgress", &[event(9)])
        .unwrap());
    assert_eq!(
        store.tmf_notified("PO-1").unwrap().as_deref(),
        Some("inProgress")
    );
    let sent: Vec<serde_json::Value> = deliver_all(&*store)
        .into_iter()
        .map(|d| d.event["n"].clone())
        .collect();
    assert_eq!(sent, [json!(1), json!(2)]);
}

/// Sends (records as delivered) every event due to `store` until none is
/// left to it; what it sent, in order.
fn deliver_all(store: &dyn Store) -> Vec<Delivery> {
    let mut sent = Vec::new();
    loop {
        let due = store.tmf_due(FAR).unwrap();
        if due.is_empty() {
            return sent;
        }
        for d in due {
            store.tmf_delivered(d.seq, None, "").unwrap();
            sent.push(d);
        }
    }
}

/// Stores on one PostgreSQL schema, as servers have them, with a short
/// lease (outbox claims last as long).
fn servers(b: &dyn Backend, n: usize) -> Vec<Box<dyn Store>> {
    let options = StoreOptions {
        stale_after: Duration::from_millis(1000),
        ..StoreOptions::default()
    };
    (0..n).map(|_| b.open(options.clone())).collect()
}

#[test]
fn an_outbox_event_is_claimed_by_one_server_and_its_outcome_fenced() {
    let Some(b) = postgres_or_skip() else { return };
    let [one, two]: [Box<dyn Store>; 2] = servers(&b, 2).try_into().ok().unwrap();
    let hub = one.create_hub("http://127.0.0.1:9/e", None).unwrap();
    for (i, order) in ["PO-1", "PO-2"].iter().enumerate() {
        let event = (hub.id.clone(), json!({ "n": i }));
        assert!(one
            .tmf_notify(order, None, "acknowledged", &[event])
            .unwrap());
    }
    let claimed = one.tmf_due(FAR).unwrap();
    assert_eq!(claimed.len(), 2);
    // Claimed by one: not due to two, due to one again until recorded.
    assert!(two.tmf_due(FAR).unwrap().is_empty());
    assert_eq!(one.tmf_due(FAR).unwrap(), claimed);
    // Two cannot record an event it does not hold.
    two.tmf_delivered(claimed[0].seq, None, "").unwrap();
    assert_eq!(one.tmf_due(FAR).unwrap(), claimed);
    // One stalls past its claim: two takes the events over, and what one
    // records when it wakes is not written.
    std::thread::sleep(Duration::from_millis(1300));
    let taken = two.tmf_due(FAR).unwrap();
    assert_eq!(taken, claimed);
    one.tmf_delivered(claimed[0].seq, None, "").unwrap();
    one.tmf_delivered(claimed[1].seq, None, "").unwrap();
    assert!(one.tmf_due(FAR).unwrap().is_empty(), "two's claims hold");
    two.tmf_delivered(taken[0].seq, None, "").unwrap();
    two.tmf_delivered(taken[1].seq, Some("refused"), FAR)
        .unwrap();
    // The failed one is free again, with the one attempt two recorded.
    let again = one.tmf_due(FAR).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].seq, again[0].attempts), (taken[1].seq, 1));
}

#[test]
fn servers_racing_send_every_event_once_and_notify_every_state_once() {
    let Some(b) = postgres_or_skip() else { return };
    let stores = servers(&b, 4);
    let hub = stores[0].create_hub("http://127.0.0.1:9/e", None).unwrap();
    let orders: Vec<String> = (0..40).map(|i| format!("PO-{i:02}")).collect();
    let barrier = std::sync::Barrier::new(stores.len());
    let (queued, sent): (Vec<usize>, Vec<Vec<i64>>) = std::thread::scope(|s| {
        let handles: Vec<_> = stores
            .iter()
            .map(|store| {
                let (barrier, orders, hub) = (&barrier, &orders, &hub);
                s.spawn(move || {
                    barrier.wait();
                    let mut queued = 0;
                    for order in orders {
                        let event = (hub.id.clone(), json!({ "order": order }));
                        if store
                            .tmf_notify(order, None, "acknowledged", &[event])
                            .unwrap()
                        {
                            queued += 1;
                        }
                    }
                    barrier.wait();
                    let sent = deliver_all(&**store).iter().map(|d| d.seq).collect();
                    (queued, sent)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).unzip()
    });
    assert_eq!(queued.iter().sum::<usize>(), orders.len(), "{queued:?}");
    let mut all: Vec<i64> = sent.concat();
    all.sort();
    let before = all.len();
    all.dedup();
    assert_eq!(before, all.len(), "an event was sent twice: {sent:?}");
    assert_eq!(all.len(), orders.len());
}
