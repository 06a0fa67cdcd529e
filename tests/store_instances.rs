//! The installed base in the SQLite store: written with the completion of an
//! order, and taken by one order in flight at a time.

mod support;

use std::collections::BTreeMap;

use ordo::exec::{Event, OrderState};
use ordo::inventory::{InstanceFilter, InstanceStatus};
use ordo::store::{SqliteStore, Store, StoreError};
use ordo::syntax::ast::OrderAction;
use ordo::value::Value;

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join(".ordo")).unwrap();
    (dir, store)
}

/// Runs `plan`'s tasks to success and records the order's `end` state.
fn finish(store: &SqliteStore, plan: &ordo::plan::Plan, end: OrderState) {
    store
        .create_order(plan, &support::document(&plan.order))
        .unwrap();
    let lock = store.acquire_runner(&plan.order).unwrap();
    let mut journal = store.journal(&lock).unwrap();
    let mut events = Vec::new();
    for task in 0..plan.tasks.len() {
        events.push(Event::Started {
            task,
            attempt: 1,
            undo: false,
        });
        events.push(Event::Succeeded {
            task,
            attempt: 1,
            undo: false,
            outputs: BTreeMap::from([(
                "ref".to_string(),
                Value::String(format!("{}:{task}", plan.order)),
            )]),
        });
    }
    events.push(Event::Order {
        state: end,
        reason: None,
    });
    journal.record_all(&plan.order, &events).unwrap();
}

fn change(order: &str, action: OrderAction, instance: &str) -> ordo::plan::Plan {
    let mut plan = support::broadband(order);
    plan.items[0].action = action;
    plan.items[0].instance = Some(instance.to_string());
    plan
}

#[test]
fn the_completion_event_writes_the_instance_and_nothing_else_does() {
    let (_dir, store) = store();
    finish(&store, &support::broadband("ORD-F"), OrderState::Failed);
    assert_eq!(store.instances(&InstanceFilter::default()).unwrap(), []);

    finish(&store, &support::broadband("ORD-1"), OrderState::Completed);
    let i = store.instance("ORD-1/1").unwrap().unwrap();
    assert_eq!(i.status, InstanceStatus::Active);
    assert_eq!(i.customer, "C-42");
    // Every task of the item that ran, by task name; order-level tasks are
    // no item's.
    let tasks: Vec<&str> = i.outputs.keys().map(String::as_str).collect();
    assert_eq!(tasks, ["activate", "reserve_port", "ship_cpe"]);
    assert_eq!(
        i.outputs["activate"]["ref"],
        Value::String("ORD-1:3".into())
    );

    finish(
        &store,
        &change("ORD-2", OrderAction::Delete, "ORD-1/1"),
        OrderState::Completed,
    );
    let i = store.instance("ORD-1/1").unwrap().unwrap();
    assert_eq!(i.status, InstanceStatus::Terminated);
    assert_eq!(
        (i.created_by.as_str(), i.updated_by.as_str()),
        ("ORD-1", "ORD-2")
    );
    assert_eq!(
        i.outputs["activate"]["ref"],
        Value::String("ORD-2:3".into())
    );
}

#[test]
fn a_second_order_on_an_instance_in_flight_is_refused_when_stored() {
    let (_dir, store) = store();
    finish(&store, &support::broadband("ORD-1"), OrderState::Completed);
    store
        .create_order(
            &change("ORD-2", OrderAction::Modify, "ORD-1/1"),
            &support::document("ORD-2"),
        )
        .unwrap();
    assert_eq!(store.changing("ORD-1/1").unwrap().as_deref(), Some("ORD-2"));
    let err = store
        .create_order(
            &change("ORD-3", OrderAction::Delete, "ORD-1/1"),
            &support::document("ORD-3"),
        )
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::InstanceUnavailable { instance, .. } if instance == "ORD-1/1"),
        "{err}"
    );
    assert!(err.to_string().contains("order ORD-2"), "{err}");
    assert!(matches!(
        store.load("ORD-3"),
        Err(StoreError::NoSuchOrder { .. })
    ));
}

#[test]
fn a_completion_whose_instances_cannot_be_written_is_not_recorded_either() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join(".ordo");
    let store = SqliteStore::open(&state).unwrap();
    // Every write of an instance fails, as a crash in the middle would stop it.
    let db = rusqlite::Connection::open(store.path()).unwrap();
    db.execute_batch(
        "CREATE TRIGGER no_instances BEFORE INSERT ON instances \
         BEGIN SELECT RAISE(ABORT, 'no room for instances'); END;",
    )
    .unwrap();
    drop(db);
    let plan = support::broadband("ORD-1");
    store
        .create_order(&plan, &support::document("ORD-1"))
        .unwrap();
    let lock = store.acquire_runner("ORD-1").unwrap();
    let mut journal = store.journal(&lock).unwrap();
    let completed = Event::Order {
        state: OrderState::Completed,
        reason: None,
    };
    assert!(journal.record("ORD-1", &completed).is_err());
    // Neither half: the order is not completed, and no instance exists.
    assert_eq!(store.load("ORD-1").unwrap().state, OrderState::Acknowledged);
    assert_eq!(store.instances(&InstanceFilter::default()).unwrap(), []);
    let events = store.events("ORD-1").unwrap();
    assert_eq!(events.len(), 1, "only the creation: {events:?}");
}
