//! Orders in the SQLite store: creating, loading, recording events, status.

mod support;

use std::collections::BTreeMap;

use ordo::exec::{replay, Event, OrderState, Process, TaskRecord, TaskState};
use ordo::store::{SqliteStore, Store, StoreError};
use ordo::value::Value;

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join(".ordo")).unwrap();
    (dir, store)
}

fn started(task: usize, attempt: u32) -> Event {
    Event::Started {
        task,
        attempt,
        undo: false,
    }
}

fn succeeded(task: usize, attempt: u32, port: &str) -> Event {
    Event::Succeeded {
        task,
        attempt,
        undo: false,
        outputs: BTreeMap::from([("ref".to_string(), Value::String(port.into()))]),
    }
}

#[test]
fn a_created_order_loads_back_with_its_plan_and_document() {
    let (_dir, store) = store();
    let plan = support::broadband("ORD-1");
    store
        .create_order(&plan, &support::document("ORD-1"))
        .unwrap();
    let stored = store.load("ORD-1").unwrap();
    assert_eq!(stored.plan, plan);
    assert_eq!(stored.document, support::document("ORD-1"));
    assert_eq!(
        (stored.version, stored.state, stored.reason),
        (1, OrderState::Acknowledged, None)
    );
    assert_eq!(stored.records, vec![TaskRecord::default(); 4]);
    assert!(!stored.cancel_requested);
}

#[test]
fn an_existing_order_id_is_refused_with_a_pointer_to_resume() {
    let (_dir, store) = store();
    let plan = support::broadband("ORD-1");
    store
        .create_order(&plan, &support::document("ORD-1"))
        .unwrap();
    let err = store
        .create_order(&plan, &support::document("ORD-1"))
        .unwrap_err();
    assert!(matches!(err, StoreError::OrderExists { .. }), "{err:?}");
    assert!(err.to_string().contains("ordo resume ORD-1"), "{err}");
}

#[test]
fn an_unknown_order_is_reported() {
    let (_dir, store) = store();
    assert!(matches!(
        store.load("nope"),
        Err(StoreError::NoSuchOrder { .. })
    ));
    assert!(matches!(
        store.order_status("nope"),
        Err(StoreError::NoSuchOrder { .. })
    ));
    assert!(matches!(
        store.acquire_runner("nope"),
        Err(StoreError::NoSuchOrder { .. })
    ));
}

#[test]
fn an_event_updates_the_task_row_and_the_journal() {
    let (_dir, store) = store();
    store
        .create_order(&support::broadband("ORD-1"), &support::document("ORD-1"))
        .unwrap();
    let lock = store.acquire_runner("ORD-1").unwrap();
    let mut journal = store.journal(&lock).unwrap();
    journal
        .record(
            "ORD-1",
            &Event::Order {
                state: OrderState::InProgress,
                reason: None,
            },
        )
        .unwrap();
    journal.record("ORD-1", &started(1, 1)).unwrap();

    let status = store.order_status("ORD-1").unwrap();
    assert_eq!(status.state, OrderState::InProgress);
    let task = &status.tasks[1];
    assert_eq!(
        (task.id.as_str(), task.state, task.attempts),
        ("1/reserve_port", TaskState::Running, 1)
    );
    assert!(task.started_at.is_some() && task.finished_at.is_none());

    journal
        .record(
            "ORD-1",
            &Event::AttemptFailed {
                task: 1,
                attempt: 1,
                undo: false,
                error: "port busy".into(),
                retry_in_ms: Some(100),
            },
        )
        .unwrap();
    assert_eq!(
        store.order_status("ORD-1").unwrap().tasks[1]
            .error
            .as_deref(),
        Some("port busy")
    );
    journal.record("ORD-1", &started(1, 2)).unwrap();
    journal.record("ORD-1", &succeeded(1, 2, "p-7")).unwrap();

    let status = store.order_status("ORD-1").unwrap();
    let task = &status.tasks[1];
    assert_eq!(
        (task.state, task.attempts, task.error.clone()),
        (TaskState::Done, 2, None)
    );
    assert_eq!(task.outputs["ref"], serde_json::json!("p-7"));
    assert!(task.finished_at.is_some() && task.duration_ms.is_some());
    assert_eq!(
        status.counts,
        BTreeMap::from([("done".into(), 1), ("pending".into(), 3)])
    );
    assert_eq!(
        status.items[0].counts,
        BTreeMap::from([("done".into(), 1), ("pending".into(), 2)])
    );
    assert_eq!(status.runner.as_ref().map(|r| r.live), Some(true));
    assert_eq!(status.runner.unwrap().holder.pid, std::process::id());

    // The journal holds every event, the creation first, in order.
    let events = store.events("ORD-1").unwrap();
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6]
    );
    assert_eq!(status.last_event_at.as_deref(), Some(events[5].at.as_str()));
    assert_eq!(events[5].event, succeeded(1, 2, "p-7"));
}

#[test]
fn records_survive_reopening_and_match_a_replay_of_the_journal() {
    let (dir, store) = store();
    store
        .create_order(&support::broadband("ORD-1"), &support::document("ORD-1"))
        .unwrap();
    let lock = store.acquire_runner("ORD-1").unwrap();
    let mut journal = store.journal(&lock).unwrap();
    let events = [
        started(0, 1),
        succeeded(0, 1, "score"),
        started(1, 1),
        succeeded(1, 1, "p-1"),
        Event::Task {
            task: 3,
            state: TaskState::Skipped,
            error: None,
        },
        // Interrupted here: task 2 stays running, its plugin on record.
        started(2, 1),
        Event::Spawned {
            task: 2,
            attempt: 1,
            undo: false,
            process: Process {
                pgid: 4242,
                start: Some(99),
                boot: Some("boot".into()),
            },
        },
    ];
    for event in &events {
        journal.record("ORD-1", event).unwrap();
    }
    drop((journal, lock, store));

    let store = SqliteStore::open(&dir.path().join(".ordo")).unwrap();
    let stored = store.load("ORD-1").unwrap();
    let expected = replay(4, &events);
    assert_eq!(stored.records, expected);
    assert_eq!(stored.records[2].state, TaskState::Running);
    assert_eq!(
        stored.records[2].process.as_ref().map(|p| p.pgid),
        Some(4242)
    );
    assert_eq!(stored.records[1].process, None);
    assert_eq!(
        stored.records[1].outputs["ref"],
        Value::String("p-1".into())
    );
    // The lock was released with the store closed: a resume can take it.
    assert!(store.order_status("ORD-1").unwrap().runner.is_none());
    drop(store.acquire_runner("ORD-1").unwrap());
}

#[test]
fn a_bad_event_is_refused_alone() {
    let (_dir, store) = store();
    store
        .create_order(&support::broadband("ORD-1"), &support::document("ORD-1"))
        .unwrap();
    let lock = store.acquire_runner("ORD-1").unwrap();
    let mut journal = store.journal(&lock).unwrap();
    let err = journal.record("ORD-1", &started(9, 1)).unwrap_err();
    assert!(err.to_string().contains("task #9"), "{err}");
    let err = journal.record("ORD-2", &started(0, 1)).unwrap_err();
    assert!(err.to_string().contains("ORD-2"), "{err}");
    journal.record("ORD-1", &started(0, 1)).unwrap();
    assert_eq!(store.events("ORD-1").unwrap().len(), 2);
}

#[test]
fn orders_are_listed_newest_first() {
    let (_dir, store) = store();
    for id in ["A", "B", "C"] {
        store
            .create_order(&support::broadband(id), &support::document(id))
            .unwrap();
    }
    let lock = store.acquire_runner("B").unwrap();
    let mut journal = store.journal(&lock).unwrap();
    journal.record("B", &started(0, 1)).unwrap();
    journal.record("B", &succeeded(0, 1, "x")).unwrap();
    let list = store.list_orders().unwrap();
    assert_eq!(
        list.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
        ["C", "B", "A"]
    );
    assert_eq!((list[1].tasks, list[1].tasks_finished), (4, 1));
}

#[test]
fn workers_recording_at_once_each_get_their_event_committed() {
    let (_dir, store) = store();
    let tasks = 400;
    store
        .create_order(&support::synthetic("BIG", tasks), &support::document("BIG"))
        .unwrap();
    let lock = store.acquire_runner("BIG").unwrap();
    let workers = 8;
    std::thread::scope(|s| {
        for w in 0..workers {
            let mut journal = store.journal(&lock).unwrap();
            s.spawn(move || {
                for task in (w..tasks).step_by(workers) {
                    journal.record("BIG", &started(task, 1)).unwrap();
                    journal.record("BIG", &succeeded(task, 1, "r")).unwrap();
                }
            });
        }
    });
    let stats = store.commit_stats();
    assert_eq!(stats.events, 2 * tasks as u64);
    assert!(stats.transactions <= stats.events);
    let stored = store.load("BIG").unwrap();
    assert!(stored.records.iter().all(|r| r.state == TaskState::Done));
    let events = store.events("BIG").unwrap();
    assert_eq!(events.len(), 1 + 2 * tasks);
    assert!(events
        .iter()
        .enumerate()
        .all(|(i, e)| e.seq == i as u64 + 1));
    let replayed = replay(tasks, events.iter().map(|e| &e.event));
    assert_eq!(stored.records, replayed);
}

#[test]
fn the_status_json_has_the_documented_shape() {
    let (_dir, store) = store();
    store
        .create_order(&support::broadband("ORD-1"), &support::document("ORD-1"))
        .unwrap();
    let json = serde_json::to_value(store.order_status("ORD-1").unwrap()).unwrap();
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        keys(&json),
        [
            "order",
            "version",
            "state",
            "reason",
            "catalog_hash",
            "created_at",
            "updated_at",
            "last_event_at",
            "cancel_requested",
            "due_at",
            "overdue",
            "runner",
            "counts",
            "items",
            "tasks",
            "revisions"
        ]
    );
    assert_eq!(json["revisions"], serde_json::json!([]));
    assert_eq!(json["state"], "acknowledged");
    assert_eq!(json["counts"], serde_json::json!({ "pending": 4 }));
    assert_eq!(
        keys(&json["tasks"][2]),
        [
            "id",
            "item",
            "action",
            "stage",
            "state",
            "attempts",
            "undo_attempts",
            "undoing",
            "point_of_no_return",
            "started_at",
            "finished_at",
            "duration_ms",
            "error",
            "next_attempt_at",
            "not_before",
            "outputs",
            "process"
        ]
    );
    assert_eq!(json["tasks"][2]["point_of_no_return"], true);
    assert_eq!(
        json["items"][0]["counts"],
        serde_json::json!({ "pending": 3 })
    );
}

#[test]
fn the_store_journal_tees_with_the_events_log() {
    let (_dir, store) = store();
    let plan = support::broadband("ORD-1");
    store
        .create_order(&plan, &support::document("ORD-1"))
        .unwrap();
    let lock = store.acquire_runner("ORD-1").unwrap();
    let log = ordo::exec::MemoryJournal::new();
    let mut tee = ordo::exec::Tee(store.journal(&lock).unwrap(), log);
    ordo::exec::Journal::record(&mut tee, "ORD-1", &started(0, 1)).unwrap();
    assert_eq!(tee.1.events, [started(0, 1)]);
    assert_eq!(
        store.load("ORD-1").unwrap().records[0].state,
        TaskState::Running
    );
}
