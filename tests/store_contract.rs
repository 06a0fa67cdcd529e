//! The store's behaviour, written once and run against every backend: the
//! SQLite store always, the PostgreSQL store when `ORDO_TEST_DATABASE_URL`
//! names a server (each test in a fresh schema it drops afterwards; without
//! the variable those cases say they are skipped). Then what only the
//! PostgreSQL store has (claims, wake-ups, its schema refusals), and
//! `ordo run --store postgres://…` through the binary.

#[macro_use]
mod backend_support;
mod durable_support;
mod support;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use backend_support::{postgres_or_skip, Backend};
use ordo::exec::{Event, OrderState, TaskState};
use ordo::exec::{WorkChange, WorkOutcome};
use ordo::inventory::{InstanceFilter, InstanceStatus};
use ordo::store::postgres::Wake;
use ordo::store::{
    PgStore, RevisionState, Store, StoreError, StoreOptions, WorkFilter, WorkRequest, WorkState,
};
use ordo::syntax::ast::OrderAction;
use ordo::value::Value;

contract!(
    orders_load_back_and_ids_are_unique,
    order_counts_are_the_order_list_by_state,
    events_update_tasks_status_and_the_journal,
    a_second_runner_is_refused_until_the_first_lets_go,
    a_lock_taken_over_fences_the_old_holder,
    cancels_follow_the_points_of_no_return,
    completions_write_the_installed_base,
    bindings_are_kept_with_the_order,
    journal_handles_on_threads_commit_every_event,
    work_item_claims_race_and_one_claimant_wins,
    a_completed_work_item_is_taken_up_by_the_run,
    a_work_item_ends_with_its_task,
    revisions_are_requested_once_then_begun_and_switched,
    revisions_are_refused_past_a_point_of_no_return_and_once_ended,
);

fn started(task: usize) -> Event {
    Event::Started {
        task,
        attempt: 1,
        undo: false,
    }
}

fn succeeded(task: usize, value: &str) -> Event {
    Event::Succeeded {
        task,
        attempt: 1,
        undo: false,
        outputs: BTreeMap::from([("ref".to_string(), Value::String(value.into()))]),
    }
}

fn create(store: &dyn Store, order: &str) -> ordo::plan::Plan {
    let plan = support::broadband(order);
    store
        .create_order(&plan, &support::document(order))
        .unwrap();
    plan
}

/// Runs every task of `plan` to success and records the order's `end`.
fn finish(store: &dyn Store, plan: &ordo::plan::Plan, end: OrderState) {
    store
        .create_order(plan, &support::document(&plan.order))
        .unwrap();
    let lock = store.acquire_runner(&plan.order).unwrap();
    let mut journal = store.journal(&lock).unwrap();
    let mut events = Vec::new();
    for task in 0..plan.tasks.len() {
        events.push(started(task));
        events.push(succeeded(task, &format!("{}:{task}", plan.order)));
    }
    events.push(Event::Order {
        state: end,
        reason: None,
    });
    journal.record_all(&plan.order, &events).unwrap();
}

/// The journal's sequence numbers for `order`.
fn seqs(store: &dyn Store, order: &str) -> Vec<u64> {
    store.events(order).unwrap().iter().map(|e| e.seq).collect()
}

fn orders_load_back_and_ids_are_unique(b: &dyn Backend) {
    let store = b.store();
    let plan = create(&*store, "ORD-1");
    let stored = store.load("ORD-1").unwrap();
    assert_eq!(stored.plan, plan);
    assert_eq!(stored.document, support::document("ORD-1"));
    assert_eq!(
        (stored.version, stored.state, stored.reason),
        (1, OrderState::Acknowledged, None)
    );
    assert_eq!(stored.records.len(), 4);
    assert!(stored.records.iter().all(|r| r.state == TaskState::Pending));
    let err = store
        .create_order(&plan, &support::document("ORD-1"))
        .unwrap_err();
    assert!(matches!(err, StoreError::OrderExists { .. }), "{err:?}");
    for err in [
        store.load("nope").map(drop).unwrap_err(),
        store.order_status("nope").map(drop).unwrap_err(),
        store.events("nope").map(drop).unwrap_err(),
        store.acquire_runner("nope").map(drop).unwrap_err(),
        store.request_cancel("nope").map(drop).unwrap_err(),
    ] {
        assert!(matches!(err, StoreError::NoSuchOrder { .. }), "{err:?}");
    }
    // Newest first; another handle sees the same.
    create(&*store, "ORD-2");
    let other = b.store();
    let ids: Vec<String> = other
        .list_orders()
        .unwrap()
        .into_iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(ids, ["ORD-2", "ORD-1"]);
}

fn order_counts_are_the_order_list_by_state(b: &dyn Backend) {
    let store = b.store();
    let zeros: Vec<(OrderState, usize)> = OrderState::ALL.iter().map(|&s| (s, 0)).collect();
    assert_eq!(store.order_counts().unwrap(), zeros);
    create(&*store, "ORD-A1");
    create(&*store, "ORD-A2");
    finish(
        &*store,
        &support::broadband("ORD-C1"),
        OrderState::Completed,
    );
    finish(&*store, &support::broadband("ORD-F1"), OrderState::Failed);
    let counts = store.order_counts().unwrap();
    let listed = store.list_orders().unwrap();
    for (state, n) in &counts {
        let in_list = listed.iter().filter(|o| o.state == *state).count();
        assert_eq!(*n, in_list, "{state:?}: {counts:?}");
    }
    let order: Vec<OrderState> = counts.iter().map(|c| c.0).collect();
    assert_eq!(order, OrderState::ALL);
    let of = |state| counts.iter().find(|c| c.0 == state).unwrap().1;
    assert_eq!(
        (
            of(OrderState::Acknowledged),
            of(OrderState::Completed),
            of(OrderState::Failed)
        ),
        (2, 1, 1)
    );
}

fn events_update_tasks_status_and_the_journal(b: &dyn Backend) {
    let store = b.store();
    create(&*store, "ORD-1");
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
    journal.record("ORD-1", &started(0)).unwrap();
    journal.record("ORD-1", &succeeded(0, "C-1")).unwrap();
    journal
        .record(
            "ORD-1",
            &Event::AttemptFailed {
                task: 1,
                attempt: 1,
                undo: false,
                error: "busy".into(),
                retry_in_ms: Some(60_000),
            },
        )
        .unwrap();
    let bad = journal.record("ORD-1", &started(9)).unwrap_err();
    assert!(bad.to_string().contains("task #9"), "{bad}");
    let wrong = journal.record("ORD-2", &started(0)).unwrap_err();
    assert!(wrong.to_string().contains("ORD-2"), "{wrong}");

    let stored = store.load("ORD-1").unwrap();
    assert_eq!(stored.state, OrderState::InProgress);
    assert_eq!(stored.records[0].state, TaskState::Done);
    assert_eq!(
        stored.records[0].outputs["ref"],
        Value::String("C-1".into())
    );
    let status = store.order_status("ORD-1").unwrap();
    assert_eq!(status.counts.get("done"), Some(&1));
    assert!(status.tasks[0].started_at.is_some());
    assert!(status.tasks[0].finished_at.is_some());
    assert_eq!(status.tasks[1].error.as_deref(), Some("busy"));
    assert!(status.tasks[1].next_attempt_at.is_some());
    let runner = status.runner.expect("the runner is named");
    assert!(runner.live);
    assert_eq!(runner.holder.pid, std::process::id());
    let seqs = seqs(&*store, "ORD-1");
    assert_eq!(seqs, [1, 2, 3, 4, 5], "refused events are not journalled");
    drop((journal, lock));
    assert!(store.order_status("ORD-1").unwrap().runner.is_none());
}

fn a_second_runner_is_refused_until_the_first_lets_go(b: &dyn Backend) {
    let (one, two) = (b.store(), b.store());
    create(&*one, "ORD-1");
    let lock = one.acquire_runner("ORD-1").unwrap();
    let err = two.acquire_runner("ORD-1").unwrap_err();
    assert!(
        matches!(&err, StoreError::Locked { holder, .. } if holder.pid == std::process::id()),
        "{err:?}"
    );
    drop(lock);
    let again = two.acquire_runner("ORD-1").unwrap();
    two.journal(&again)
        .unwrap()
        .record("ORD-1", &started(0))
        .unwrap();
}

/// Two stores whose leases end at once, with no heartbeat to renew them:
/// the next acquisition takes a lock over, as after a pause past the lease.
fn old_and_new(b: &dyn Backend) -> (Box<dyn Store>, Box<dyn Store>) {
    let options = StoreOptions {
        stale_after: Duration::ZERO,
        heartbeat_every: Duration::from_secs(3600),
        ..StoreOptions::default()
    };
    (b.open(options.clone()), b.open(options))
}

fn a_lock_taken_over_fences_the_old_holder(b: &dyn Backend) {
    let (old, new) = old_and_new(b);
    create(&*old, "ORD-1");
    let first = old.acquire_runner("ORD-1").unwrap();
    let mut stale = old.journal(&first).unwrap();
    stale.record("ORD-1", &started(0)).unwrap();
    std::thread::sleep(Duration::from_millis(5));
    let second = new.acquire_runner("ORD-1").unwrap();
    if let (Some(a), Some(b)) = (first.epoch(), second.epoch()) {
        assert!(b > a, "each acquisition raises the epoch: {a} then {b}");
    }
    let lost = stale.record("ORD-1", &succeeded(0, "late")).unwrap_err();
    assert!(
        lost.to_string().contains("no longer holds order ORD-1"),
        "{lost}"
    );
    let lost = stale
        .record_all("ORD-1", &[succeeded(0, "late"), started(1)])
        .unwrap_err();
    assert!(lost.to_string().contains("no longer holds"), "{lost}");
    // A journal opened after the loss is fenced too.
    assert!(old
        .journal(&first)
        .unwrap()
        .record("ORD-1", &started(1))
        .is_err());
    new.journal(&second)
        .unwrap()
        .record("ORD-1", &succeeded(0, "mine"))
        .unwrap();
    // Dropping the old lock does not free the new holder's.
    drop(first);
    let stored = new.load("ORD-1").unwrap();
    assert_eq!(
        stored.records[0].outputs["ref"],
        Value::String("mine".into())
    );
    assert_eq!(stored.records[1].state, TaskState::Pending);
    assert_eq!(new.events("ORD-1").unwrap().len(), 3);
    new.journal(&second)
        .unwrap()
        .record("ORD-1", &started(1))
        .unwrap();
}

fn cancels_follow_the_points_of_no_return(b: &dyn Backend) {
    let store = b.store();
    create(&*store, "ORD-1");
    let outcome = store.request_cancel("ORD-1").unwrap();
    assert!(!outcome.already_requested && outcome.runner.is_none());
    assert!(store.request_cancel("ORD-1").unwrap().already_requested);
    let lock = store.acquire_runner("ORD-1").unwrap();
    let mut journal = store.journal(&lock).unwrap();
    assert!(journal.cancel_requested("ORD-1").unwrap());
    drop((journal, lock));

    create(&*store, "ORD-2");
    let lock = store.acquire_runner("ORD-2").unwrap();
    let mut journal = store.journal(&lock).unwrap();
    journal.record("ORD-2", &started(2)).unwrap();
    // Running, with its runner live: accepted.
    assert_eq!(
        store.request_cancel("ORD-2").unwrap().runner.map(|r| r.pid),
        Some(std::process::id())
    );
    journal.record("ORD-2", &succeeded(2, "shipped")).unwrap();
    assert!(
        !journal.cancel_requested("ORD-2").unwrap(),
        "past the point of no return"
    );
    drop((journal, lock));
    let err = store.request_cancel("ORD-2").unwrap_err();
    assert!(
        matches!(&err, StoreError::PastPointOfNoReturn { task, .. } if task == "1/ship_cpe"),
        "{err:?}"
    );

    create(&*store, "ORD-3");
    let lock = store.acquire_runner("ORD-3").unwrap();
    store
        .journal(&lock)
        .unwrap()
        .record("ORD-3", &started(2))
        .unwrap();
    drop(lock);
    let err = store.request_cancel("ORD-3").unwrap_err();
    assert!(matches!(err, StoreError::OutcomeUnknown { .. }), "{err:?}");

    finish(&*store, &support::broadband("ORD-4"), OrderState::Failed);
    let err = store.request_cancel("ORD-4").unwrap_err();
    assert!(matches!(err, StoreError::AlreadyFinal { .. }), "{err:?}");
}

fn change(order: &str, action: OrderAction, instance: &str) -> ordo::plan::Plan {
    let mut plan = support::broadband(order);
    plan.items[0].action = action;
    plan.items[0].instance = Some(instance.to_string());
    plan
}

fn completions_write_the_installed_base(b: &dyn Backend) {
    let store = b.store();
    finish(&*store, &support::broadband("ORD-F"), OrderState::Failed);
    assert_eq!(store.instances(&InstanceFilter::default()).unwrap(), []);
    finish(&*store, &support::broadband("ORD-1"), OrderState::Completed);
    let i = store.instance("ORD-1/1").unwrap().unwrap();
    assert_eq!(
        (i.status, i.customer.as_str()),
        (InstanceStatus::Active, "C-42")
    );
    let tasks: Vec<&str> = i.outputs.keys().map(String::as_str).collect();
    assert_eq!(tasks, ["activate", "reserve_port", "ship_cpe"]);

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
    let missing = store
        .create_order(
            &change("ORD-4", OrderAction::Delete, "ORD-9/1"),
            &support::document("ORD-4"),
        )
        .unwrap_err();
    assert!(
        missing.to_string().contains("not in the installed base"),
        "{missing}"
    );

    let lock = store.acquire_runner("ORD-2").unwrap();
    store
        .journal(&lock)
        .unwrap()
        .record(
            "ORD-2",
            &Event::Order {
                state: OrderState::Cancelled,
                reason: None,
            },
        )
        .unwrap();
    drop(lock);
    finish(
        &*store,
        &change("ORD-5", OrderAction::Delete, "ORD-1/1"),
        OrderState::Completed,
    );
    let i = store.instance("ORD-1/1").unwrap().unwrap();
    assert_eq!(i.status, InstanceStatus::Terminated);
    assert_eq!(i.updated_by, "ORD-5");
    let active = InstanceFilter {
        status: Some(InstanceStatus::Active),
        ..InstanceFilter::default()
    };
    assert_eq!(store.instances(&active).unwrap(), []);
    assert_eq!(
        store.instances(&InstanceFilter::default()).unwrap().len(),
        1
    );
}

fn bindings_are_kept_with_the_order(b: &dyn Backend) {
    let store = b.store();
    let plan = support::broadband("ORD-1");
    store
        .create_bound_order(
            &plan,
            &support::document("ORD-1"),
            Some(&ordo::exec::BindingsRecord::Simulated),
        )
        .unwrap();
    assert_eq!(
        store.load("ORD-1").unwrap().bindings,
        Some(ordo::exec::BindingsRecord::Simulated)
    );
    create(&*store, "ORD-2");
    assert_eq!(store.load("ORD-2").unwrap().bindings, None);
    store
        .set_bindings("ORD-2", &ordo::exec::BindingsRecord::Simulated)
        .unwrap();
    assert_eq!(
        store.load("ORD-2").unwrap().bindings,
        Some(ordo::exec::BindingsRecord::Simulated)
    );
}

fn journal_handles_on_threads_commit_every_event(b: &dyn Backend) {
    let store = b.store();
    let plan = support::synthetic("ORD-1", 16);
    store
        .create_order(&plan, &support::document("ORD-1"))
        .unwrap();
    let lock = store.acquire_runner("ORD-1").unwrap();
    std::thread::scope(|s| {
        for t in 0..16 {
            let mut journal = store.journal(&lock).unwrap();
            s.spawn(move || {
                journal.record("ORD-1", &started(t)).unwrap();
                journal.record("ORD-1", &succeeded(t, "ok")).unwrap();
            });
        }
    });
    let stored = store.load("ORD-1").unwrap();
    assert!(stored.records.iter().all(|r| r.state == TaskState::Done));
    let seqs = seqs(&*store, "ORD-1");
    assert_eq!(seqs, (1..=33).collect::<Vec<u64>>());
}

// What only the PostgreSQL store has.

#[test]
fn claims_skip_locked_orders_and_take_expired_leases() {
    let Some(b) = postgres_or_skip() else { return };
    let (one, two) = (b.pg(), b.pg());
    for i in 0..5 {
        create(&one, &format!("ORD-{i}"));
    }
    finish(&one, &support::broadband("ORD-DONE"), OrderState::Completed);
    let mine = one.claim(3).unwrap();
    let theirs = two.claim(10).unwrap();
    let mut claimed: Vec<&str> = mine.iter().chain(&theirs).map(|l| l.order()).collect();
    assert_eq!((mine.len(), theirs.len()), (3, 2));
    claimed.sort_unstable();
    assert_eq!(claimed, ["ORD-0", "ORD-1", "ORD-2", "ORD-3", "ORD-4"]);
    assert!(one.claim(10).unwrap().is_empty(), "all are leased");
    // A released order is claimable again, with a higher epoch.
    let epoch = mine[0].epoch().unwrap();
    let order = mine[0].order().to_string();
    drop(mine);
    let again = two.claim(10).unwrap();
    assert_eq!(again.len(), 3);
    let back = again.iter().find(|l| l.order() == order).unwrap();
    assert!(back.epoch().unwrap() > epoch);

    // An expired lease (a process stopped past it) is claimed.
    let short = StoreOptions {
        stale_after: Duration::ZERO,
        heartbeat_every: Duration::from_secs(3600),
        ..StoreOptions::default()
    };
    let paused = PgStore::open_with(&b.url(), short).unwrap();
    create(&paused, "ORD-P");
    let lost = paused.claim(1).unwrap();
    assert_eq!(lost[0].order(), "ORD-P");
    let mut journal = paused.journal(&lost[0]).unwrap();
    let taken = one.claim(10).unwrap();
    assert_eq!(
        taken.iter().map(|l| l.order()).collect::<Vec<_>>(),
        ["ORD-P"]
    );
    assert!(journal.record("ORD-P", &started(0)).is_err());
}

#[test]
fn listeners_wake_on_order_changes() {
    let Some(b) = postgres_or_skip() else { return };
    let store = b.pg();
    let mut listener = store.listen().unwrap();
    assert!(listener.connected());
    create(&store, "ORD-1");
    let deadline = Instant::now() + Duration::from_secs(60);
    let woke = loop {
        match listener.wait(Duration::from_secs(5)) {
            Wake::Changed(order) => break order,
            Wake::Timeout => assert!(Instant::now() < deadline, "no notification"),
        }
    };
    assert_eq!(woke, "ORD-1");
    // Nothing changes: the wait times out (the caller then polls).
    assert_eq!(listener.wait(Duration::from_millis(50)), Wake::Timeout);
}

#[test]
fn the_heartbeat_renews_the_lease() {
    let Some(b) = postgres_or_skip() else { return };
    let options = StoreOptions {
        stale_after: Duration::from_millis(300),
        heartbeat_every: Duration::from_millis(50),
        ..StoreOptions::default()
    };
    let store = PgStore::open_with(&b.url(), options).unwrap();
    create(&store, "ORD-1");
    let lock = store.acquire_runner("ORD-1").unwrap();
    let first = store.order_status("ORD-1").unwrap().runner.unwrap().holder;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = store.order_status("ORD-1").unwrap().runner.unwrap();
        if now.holder.heartbeat_at != first.heartbeat_at {
            assert!(now.live);
            break;
        }
        assert!(Instant::now() < deadline, "the heartbeat never beat");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(lock);
}

#[test]
fn a_foreign_or_newer_schema_is_refused_and_left_untouched() {
    let Some(b) = postgres_or_skip() else { return };
    b.sql(&format!(
        "CREATE SCHEMA {0}; CREATE TABLE {0}.customers (id TEXT)",
        b.schema
    ));
    let err = PgStore::open(&b.url()).map(drop).unwrap_err();
    assert!(matches!(err, StoreError::PgForeign { .. }), "{err:?}");
    assert_eq!(
        miette::Diagnostic::code(&err).unwrap().to_string(),
        "ordo::store::foreign"
    );
    let Err(err) = PgStore::open_read_only(&b.url()) else {
        panic!("a foreign schema was read")
    };
    assert!(matches!(err, StoreError::PgForeign { .. }), "{err:?}");
    b.sql("DROP TABLE customers");

    // Nothing stored: a reader finds nothing and creates nothing.
    assert!(PgStore::open_read_only(&b.url()).unwrap().is_none());
    b.pg();
    b.sql("UPDATE meta SET value = '99' WHERE key = 'schema_version'");
    let err = PgStore::open(&b.url()).map(drop).unwrap_err();
    assert!(
        matches!(err, StoreError::PgSchemaTooNew { found: 99, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("upgrade ordo"), "{err}");
}

#[test]
fn processes_opening_a_new_schema_at_once_all_open_it() {
    let Some(b) = postgres_or_skip() else { return };
    let barrier = std::sync::Barrier::new(6);
    let opened: Vec<Result<PgStore, StoreError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    PgStore::open(&b.url())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for store in opened {
        let store = store.unwrap();
        assert!(store.list_orders().unwrap().is_empty());
    }
}

/// Says the error names the PostgreSQL store and `--store`, and not a
/// state folder.
fn names_the_store(err: &StoreError, code: &str) {
    let text = err.to_string();
    assert!(text.contains("--store"), "{text}");
    assert!(
        !text.contains("--state") && !text.contains("folder"),
        "{text}"
    );
    assert_eq!(miette::Diagnostic::code(err).unwrap().to_string(), code);
}

#[test]
fn an_older_schema_is_migrated_and_refusals_name_the_store() {
    let Some(b) = postgres_or_skip() else { return };
    let store = b.pg();
    create(&store, "ORD-1");
    drop(store);
    // A schema of the version before the TMF records (3).
    b.sql(
        "DROP TABLE tmf_orders, tmf_external_ids, tmf_cancels, tmf_hubs, tmf_notified, tmf_outbox; \
         UPDATE meta SET value = '3' WHERE key = 'schema_version'",
    );
    let Err(err) = PgStore::open_read_only(&b.url()) else {
        panic!("a reader used a schema older than this ordo's")
    };
    assert!(
        matches!(err, StoreError::PgNeedsUpgrade { found: 3, .. }),
        "{err:?}"
    );
    names_the_store(&err, "ordo::store::needs_upgrade");
    // A writer migrates it, keeping the orders, and the TMF records work.
    let store = b.pg();
    assert_eq!(store.load("ORD-1").unwrap().plan.order, "ORD-1");
    let hub = store.create_hub("http://127.0.0.1:9/e", None).unwrap();
    assert_eq!(store.hubs().unwrap(), [hub]);
    assert!(PgStore::open_read_only(&b.url()).unwrap().is_some());
    // A damaged row, and a newer schema, are refused in the store's words.
    b.sql("UPDATE orders SET plan = 'not json'");
    let err = store.load("ORD-1").map(drop).unwrap_err();
    assert!(matches!(err, StoreError::PgCorrupt { .. }), "{err:?}");
    names_the_store(&err, "ordo::store::corrupt");
    b.sql("UPDATE meta SET value = '99' WHERE key = 'schema_version'");
    let err = PgStore::open(&b.url()).map(drop).unwrap_err();
    names_the_store(&err, "ordo::store::schema_too_new");
}

#[test]
fn an_unreachable_server_is_a_store_error() {
    let err = PgStore::open("postgres://nobody@127.0.0.1:1/none")
        .map(drop)
        .unwrap_err();
    assert!(matches!(err, StoreError::Postgres { .. }), "{err:?}");
    assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
    let err = PgStore::open("postgres://u:secret@127.0.0.1:1/none")
        .map(drop)
        .unwrap_err();
    assert!(!err.to_string().contains("secret"), "{err}");
}

// Through the binary.

fn ordo(dir: &std::path::Path, args: &[&str], store: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ordo"))
        .args(args)
        .current_dir(dir)
        .env_remove("ORDO_STATE")
        .env_remove("ORDO_CATALOG")
        .env("ORDO_STORE", store)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn ordo_run_and_status_use_the_postgres_store() {
    let Some(b) = postgres_or_skip() else { return };
    let dir = tempfile::tempdir().unwrap();
    let catalog =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/durable/catalog");
    let order = dir.path().join("o.yaml");
    std::fs::write(
        &order,
        "id: ORD-PG1\ncustomer: { id: C-9, email: c9@example.com }\nitems:\n  - id: \"1\"\n    action: add\n    product: Line\n    attributes: { ms: 0 }\n",
    )
    .unwrap();
    let url = b.url();
    let run = |args: &[&str]| ordo(dir.path(), args, &url);
    let out = run(&[
        "run",
        "--catalog",
        catalog.to_str().unwrap(),
        order.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["status", "ORD-PG1", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["state"], "completed");
    assert_eq!(status["tasks"].as_array().unwrap().len(), 10);
    // Nothing went to a state folder; the store holds it for any process.
    assert!(!dir.path().join(".ordo/ordo.db").exists());
    let direct = b.pg();
    assert_eq!(direct.load("ORD-PG1").unwrap().state, OrderState::Completed);
    let out = run(&["inventory", "--format", "json"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("ORD-PG1/1"));
    // Again: refused as by SQLite, pointing to resume.
    let out = run(&[
        "run",
        "--catalog",
        catalog.to_str().unwrap(),
        order.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ordo::store::order_exists"));
    let out = run(&["resume", "ORD-PG1"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already completed"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_bad_store_url_is_refused_by_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let out = ordo(dir.path(), &["status"], "mysql://x/y");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ordo::store::url"), "{err}");
    // `sqlite:DIR` names a state folder.
    let out = ordo(dir.path(), &["status"], "sqlite:elsewhere");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no orders\n");
}

#[test]
fn work_commands_use_the_postgres_store() {
    let Some(b) = postgres_or_skip() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = ordo(dir.path(), &["tasks"], &b.url());
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no work items\n");
    let store = b.pg();
    with_work_item(&store, "ORD-1");
    let out = ordo(dir.path(), &["tasks", "--format", "json"], &b.url());
    assert_eq!(out.status.code(), Some(0));
    let items: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(items[0]["task"], "credit", "{items}");
    assert_eq!(items[0]["state"], "open", "{items}");
    let claim = ["task", "claim", "ORD-1", "credit", "--as", "ana"];
    let out = ordo(dir.path(), &claim, &b.url());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = ordo(
        dir.path(),
        &["task", "claim", "ORD-1", "credit", "--as", "bob"],
        &b.url(),
    );
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ana"), "{err}");
    assert_eq!(
        store
            .work_item("ORD-1", "credit")
            .unwrap()
            .assignee
            .as_deref(),
        Some("ana")
    );
    // Nothing was written to the state folder's own store.
    assert!(!dir.path().join(".ordo").exists());
}

#[test]
fn a_bad_lease_is_refused_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["soon", "10"] {
        let out = Command::new(env!("CARGO_BIN_EXE_ordo"))
            .args(["cancel", "ORD-1"])
            .current_dir(dir.path())
            .env("ORDO_STORE", "postgres://nobody@127.0.0.1:1/none")
            .env("ORDO_LEASE_MS", bad)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert_ne!(out.status.code(), Some(0));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("ordo::store::lease"), "{err}");
        assert!(err.contains(&format!("ORDO_LEASE_MS is `{bad}`")), "{err}");
    }
}

#[test]
fn a_run_killed_on_postgres_is_resumed_from_another_state_folder() {
    let Some(b) = postgres_or_skip() else { return };
    use durable_support::{fixtures, Lab, LINE};
    let lab = Lab::new();
    let url = b.url();
    lab.hold("1/e");
    let mut cmd = lab.command("run", &lab.run_args(&fixtures().join("line.yaml")));
    cmd.env("ORDO_STORE", &url);
    let mut run = lab.start(cmd);
    lab.wait_for("the run to reach 1/e", |calls| {
        calls.iter().any(|c| c.is_start() && c.task == "1/e")
    });
    run.kill9();
    lab.settle();
    lab.release("1/e");
    let stored = b.pg().load(LINE).unwrap();
    assert_eq!(stored.state, OrderState::InProgress);
    let done_before: Vec<String> = stored
        .plan
        .tasks
        .iter()
        .zip(&stored.records)
        .filter(|(_, r)| r.state == TaskState::Done)
        .map(|(t, _)| t.id.clone())
        .collect();
    assert!(
        !done_before.is_empty(),
        "some tasks finished before the kill"
    );

    // Another machine, as far as the files go: a fresh state folder; the
    // store alone holds what the run needs, its bindings included.
    let elsewhere = lab.root.join("elsewhere");
    let mut cmd = lab.command_in(&elsewhere, "resume", &["resume", LINE]);
    cmd.env("ORDO_STORE", &url)
        .env("ORDO_CATALOG", &lab.catalog);
    let resume = lab.start(cmd).finish();
    assert_eq!(resume.code, Some(0), "{}", resume.show());
    let stored = b.pg().load(LINE).unwrap();
    assert_eq!(stored.state, OrderState::Completed);
    // Nothing done twice: a task committed done before the kill was not
    // called again, and every call of a task carried one idempotency key.
    let calls = lab.calls();
    let mut keys: BTreeMap<&str, std::collections::BTreeSet<&str>> = BTreeMap::new();
    for c in calls.iter().filter(|c| c.is_start() && !c.undo) {
        keys.entry(&c.task).or_default().insert(&c.key);
    }
    assert!(keys.values().all(|k| k.len() == 1), "{keys:?}");
    for c in calls.iter().filter(|c| c.tag == "resume" && c.is_start()) {
        assert!(!done_before.contains(&c.task), "{} ran again", c.task);
    }
    assert!(elsewhere.join("events").exists(), "the events log is local");
}

#[test]
fn claimers_racing_never_claim_one_order_twice() {
    let Some(b) = postgres_or_skip() else { return };
    let setup = b.pg();
    for i in 0..20 {
        create(&setup, &format!("ORD-{i:02}"));
    }
    let stores: Vec<PgStore> = (0..4).map(|_| b.pg()).collect();
    let claimed: Vec<Vec<ordo::store::RunnerLock>> = std::thread::scope(|s| {
        let handles: Vec<_> = stores
            .iter()
            .map(|store| s.spawn(move || store.claim(6).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut ids: Vec<&str> = claimed.iter().flatten().map(|l| l.order()).collect();
    let total = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), total, "an order was claimed twice");
    // SKIP LOCKED: a claimer skips rows another holds mid-claim, so a later
    // claim finds the rest.
    let rest = setup.claim(20).unwrap();
    assert_eq!(total + rest.len(), 20);
}

#[test]
fn a_lost_database_connection_loses_no_event_and_the_pool_reconnects() {
    let Some(b) = postgres_or_skip() else { return };
    let name = format!("{}_app", b.schema);
    let url = format!("{}&application_name={name}", b.url());
    let store = PgStore::open(&url).unwrap();
    create(&store, "ORD-1");
    let lock = store.acquire_runner("ORD-1").unwrap();
    let mut journal = store.journal(&lock).unwrap();
    journal.record("ORD-1", &started(0)).unwrap();
    // The server drops every connection of this store (a restart, a
    // failover, a network cut would do the same).
    let mut admin = postgres::Client::connect(&b.admin, postgres::NoTls).unwrap();
    let dropped = admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&name],
        )
        .unwrap();
    assert!(dropped >= 1, "the store's connections were found");
    // A write either fails whole (and is not journalled) or succeeds on a
    // new connection; the next one succeeds.
    let first = journal.record("ORD-1", &succeeded(0, "after"));
    if first.is_err() {
        journal.record("ORD-1", &succeeded(0, "after")).unwrap();
    }
    journal.record("ORD-1", &started(1)).unwrap();
    let seqs = seqs(&store, "ORD-1");
    assert_eq!(seqs, [1, 2, 3, 4]);
    let stored = store.load("ORD-1").unwrap();
    assert_eq!(stored.records[0].state, TaskState::Done);
    assert_eq!(stored.records[1].state, TaskState::Running);
}

/// ORD-1 with its first task waiting for team `field-ops` (its run recorded
/// `work_opened`); the lock is released, as a parked run releases it.
fn with_work_item(store: &dyn Store, order: &str) {
    create(store, order);
    let lock = store.acquire_runner(order).unwrap();
    let inputs = serde_json::json!({ "line": "L-7" });
    store
        .journal(&lock)
        .unwrap()
        .record(
            order,
            &Event::WorkOpened {
                task: 0,
                attempt: 1,
                team: "field-ops".into(),
                inputs: inputs.as_object().unwrap().clone(),
            },
        )
        .unwrap();
}

fn work_item_claims_race_and_one_claimant_wins(b: &dyn Backend) {
    let store = b.store();
    with_work_item(&*store, "ORD-1");
    let open = store.work_items(&WorkFilter::default()).unwrap();
    assert_eq!(open.len(), 1);
    let item = &open[0];
    assert_eq!(
        (item.task.as_str(), item.team.as_str(), item.state),
        ("credit", "field-ops", WorkState::Open)
    );
    assert_eq!(item.action, "sys.credit");
    assert_eq!(item.inputs["line"], "L-7");
    assert_eq!(item.outputs.len(), 1);
    // Eight people claim at once, each through a store of their own.
    let stores: Vec<Box<dyn Store>> = (0..8).map(|_| b.store()).collect();
    let outcomes: Vec<_> = std::thread::scope(|s| {
        let claims: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(i, st)| {
                s.spawn(move || {
                    st.change_work("ORD-1", "credit", &format!("user{i}"), &WorkRequest::Claim)
                })
            })
            .collect();
        claims.into_iter().map(|c| c.join().unwrap()).collect()
    });
    let won: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    assert_eq!(won.len(), 1, "{outcomes:?}");
    let winner = won[0].assignee.clone().unwrap();
    for lost in outcomes.iter().filter_map(|o| o.as_ref().err()) {
        assert!(
            matches!(lost, StoreError::WorkItemTaken { assignee, .. } if *assignee == winner),
            "{lost:?}"
        );
    }
    let item = store.work_item("ORD-1", "credit").unwrap();
    assert_eq!(item.state, WorkState::Claimed);
    assert_eq!(item.assignee.as_deref(), Some(winner.as_str()));
    // Claiming again changes nothing; someone else cannot release it.
    let again = store
        .change_work("ORD-1", "credit", &winner, &WorkRequest::Claim)
        .unwrap();
    assert_eq!(again, item);
    let err = store
        .change_work("ORD-1", "credit", "intruder", &WorkRequest::Release)
        .unwrap_err();
    assert!(matches!(err, StoreError::WorkItemTaken { .. }), "{err:?}");
    let mine = WorkFilter {
        assignee: Some(winner.clone()),
        ..WorkFilter::default()
    };
    assert_eq!(store.work_items(&mine).unwrap().len(), 1);
    let claims = store
        .events("ORD-1")
        .unwrap()
        .into_iter()
        .filter(|e| matches!(&e.event, Event::Work { change: WorkChange::Claimed, by, .. } if *by == winner))
        .count();
    assert_eq!(claims, 1, "one claim in the journal");
}

fn a_completed_work_item_is_taken_up_by_the_run(b: &dyn Backend) {
    let store = b.store();
    with_work_item(&*store, "ORD-1");
    store
        .change_work("ORD-1", "credit", "ana", &WorkRequest::Claim)
        .unwrap();
    let outputs = BTreeMap::from([("ref".to_string(), Value::String("CR-9".into()))]);
    let done = store
        .change_work(
            "ORD-1",
            "credit",
            "ana",
            &WorkRequest::Complete(outputs.clone()),
        )
        .unwrap();
    assert_eq!(done.state, WorkState::Done);
    assert!(store.work_items(&WorkFilter::default()).unwrap().is_empty());
    let all = WorkFilter {
        all: true,
        ..WorkFilter::default()
    };
    assert_eq!(store.work_items(&all).unwrap(), vec![done]);
    let err = store
        .change_work("ORD-1", "credit", "ana", &WorkRequest::Release)
        .unwrap_err();
    assert!(matches!(err, StoreError::WorkItemClosed { .. }), "{err:?}");
    // The next run of the order finds the outcome.
    let lock = store.acquire_runner("ORD-1").unwrap();
    let mut journal = store.journal(&lock).unwrap();
    let results = journal.work_results("ORD-1").unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!((results[0].task, results[0].attempt), (0, 1));
    assert_eq!(results[0].outcome, WorkOutcome::Done(outputs));
    journal.record("ORD-1", &succeeded(0, "CR-9")).unwrap();
    assert!(journal.work_results("ORD-1").unwrap().is_empty());
}

fn a_work_item_ends_with_its_task(b: &dyn Backend) {
    let store = b.store();
    with_work_item(&*store, "ORD-1");
    let lock = store.acquire_runner("ORD-1").unwrap();
    store
        .journal(&lock)
        .unwrap()
        .record(
            "ORD-1",
            &Event::Task {
                task: 0,
                state: TaskState::Cancelled,
                error: None,
            },
        )
        .unwrap();
    let item = store.work_item("ORD-1", "credit").unwrap();
    assert_eq!(item.state, WorkState::Cancelled);
    let err = store
        .change_work("ORD-1", "credit", "ana", &WorkRequest::Claim)
        .unwrap_err();
    assert!(matches!(err, StoreError::WorkItemClosed { .. }), "{err:?}");
    let err = store.work_item("ORD-1", "nope").unwrap_err();
    assert!(matches!(err, StoreError::NoSuchWorkItem { .. }), "{err:?}");
}

/// `broadband` with one more task after activation.
fn revised(order: &str) -> ordo::plan::Plan {
    let mut plan = support::broadband(order);
    plan.tasks.push(support::task("1/notify", &[3], false));
    plan.critical_path.push(4);
    plan
}

fn revisions_are_requested_once_then_begun_and_switched(b: &dyn Backend) {
    let store = b.store();
    create(&*store, "ORD-1");
    let lock = store.acquire_runner("ORD-1").unwrap();
    let mut journal = store.journal(&lock).unwrap();
    journal.record("ORD-1", &started(0)).unwrap();
    journal.record("ORD-1", &succeeded(0, "credit")).unwrap();
    assert!(!journal.revision_requested("ORD-1").unwrap());
    let plan = revised("ORD-1");
    let document = support::document("ORD-1");
    // A task runs: refused when the caller would apply it at once.
    journal.record("ORD-1", &started(1)).unwrap();
    let err = store.request_revision(&plan, &document, true).unwrap_err();
    assert!(
        matches!(&err, StoreError::ReviseUnsettled { task, .. } if task == "1/reserve_port"),
        "{err:?}"
    );
    assert_eq!(store.request_revision(&plan, &document, false).unwrap(), 2);
    let err = store.request_revision(&plan, &document, false).unwrap_err();
    assert!(
        matches!(err, StoreError::RevisionPending { version: 2, .. }),
        "{err:?}"
    );
    assert!(journal.revision_requested("ORD-1").unwrap());
    journal.record("ORD-1", &succeeded(1, "port")).unwrap();
    let pending = store.pending_revision("ORD-1").unwrap().unwrap();
    assert_eq!(
        (pending.version, pending.from, pending.state),
        (2, 1, RevisionState::Requested)
    );
    assert_eq!(pending.plan, plan);
    let stored = store.load("ORD-1").unwrap();
    let done: Vec<bool> = stored
        .records
        .iter()
        .map(|r| r.state == TaskState::Done)
        .collect();
    let delta = ordo::plan::revision::delta(&stored.plan, &done, &plan, 1);
    store.begin_revision(&lock, &delta).unwrap();
    assert!(!journal.revision_requested("ORD-1").unwrap());
    let pending = store.pending_revision("ORD-1").unwrap().unwrap();
    assert_eq!(pending.state, RevisionState::Undoing);
    assert_eq!(pending.delta.as_ref(), Some(&delta));
    store.switch_revision(&lock, &pending).unwrap();
    drop((journal, lock));
    assert!(store.pending_revision("ORD-1").unwrap().is_none());
    let now = store.load("ORD-1").unwrap();
    assert_eq!((now.version, now.state), (2, OrderState::InProgress));
    assert_eq!(now.plan, plan);
    let states: Vec<TaskState> = now.records.iter().map(|r| r.state).collect();
    assert_eq!(
        states,
        [
            TaskState::Done,
            TaskState::Done,
            TaskState::Pending,
            TaskState::Pending,
            TaskState::Pending
        ]
    );
    assert_eq!(now.records[1].outputs["ref"], Value::String("port".into()));
    let status = store.order_status("ORD-1").unwrap();
    assert_eq!(status.revisions.len(), 1);
    assert_eq!(status.revisions[0].state, RevisionState::Applied);
    assert_eq!(status.revisions[0].counts, Some(delta.counts()));
    assert_eq!(delta.counts().kept, 2, "{delta:?}");
}

fn revisions_are_refused_past_a_point_of_no_return_and_once_ended(b: &dyn Backend) {
    let store = b.store();
    let document = support::document("ORD-1");
    create(&*store, "ORD-1");
    let lock = store.acquire_runner("ORD-1").unwrap();
    let mut journal = store.journal(&lock).unwrap();
    journal.record("ORD-1", &started(2)).unwrap();
    journal.record("ORD-1", &succeeded(2, "shipped")).unwrap();
    let err = store
        .request_revision(&revised("ORD-1"), &document, false)
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::RevisePastPointOfNoReturn { task, .. } if task == "1/ship_cpe"),
        "{err:?}"
    );
    assert!(store.pending_revision("ORD-1").unwrap().is_none());
    drop((journal, lock));

    create(&*store, "ORD-2");
    store.request_cancel("ORD-2").unwrap();
    let err = store
        .request_revision(&revised("ORD-2"), &support::document("ORD-2"), false)
        .unwrap_err();
    assert!(
        matches!(err, StoreError::ReviseCancelling { .. }),
        "{err:?}"
    );

    finish(&*store, &support::broadband("ORD-3"), OrderState::Completed);
    let err = store
        .request_revision(&revised("ORD-3"), &support::document("ORD-3"), false)
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::ReviseEnded {
                state: OrderState::Completed,
                ..
            }
        ),
        "{err:?}"
    );
    // A revision begun under a lock that was taken over writes nothing.
    let (old, new) = old_and_new(b);
    create(&*old, "ORD-4");
    old.request_revision(&revised("ORD-4"), &support::document("ORD-4"), false)
        .unwrap();
    let first = old.acquire_runner("ORD-4").unwrap();
    std::thread::sleep(Duration::from_millis(5));
    let second = new.acquire_runner("ORD-4").unwrap();
    let stored = new.load("ORD-4").unwrap();
    let delta = ordo::plan::revision::delta(&stored.plan, &[false; 4], &revised("ORD-4"), 1);
    let err = old.begin_revision(&first, &delta).unwrap_err();
    assert!(matches!(err, StoreError::LostLock { .. }), "{err:?}");
    let state = |s: &dyn Store| s.pending_revision("ORD-4").unwrap().unwrap().state;
    assert_eq!(state(&*new), RevisionState::Requested);
    new.begin_revision(&second, &delta).unwrap();
    assert_eq!(state(&*new), RevisionState::Undoing);
}
