//! One runner per order, across threads and processes, and cancel requests.
//!
//! Some tests run this test binary again as a child process (the
//! `child_process` test, which does nothing unless `ORDO_STORE_CHILD` is set).

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ordo::exec::{Event, OrderState};
use ordo::store::{SqliteStore, Store, StoreError, StoreOptions, DB_FILE};

fn state_with(order: &str, options: StoreOptions) -> (tempfile::TempDir, PathBuf, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join(".ordo");
    let store = SqliteStore::open_with(&state, options).unwrap();
    store
        .create_order(&support::broadband(order), &support::document(order))
        .unwrap();
    (dir, state, store)
}

fn state(order: &str) -> (tempfile::TempDir, PathBuf, SqliteStore) {
    state_with(order, StoreOptions::default())
}

fn record(store: &SqliteStore, lock: &ordo::store::RunnerLock, events: &[Event]) {
    let mut journal = store.journal(lock).unwrap();
    for event in events {
        journal.record(lock.order(), event).unwrap();
    }
}

fn run_task(task: usize) -> [Event; 2] {
    [
        Event::Started {
            task,
            attempt: 1,
            undo: false,
        },
        Event::Succeeded {
            task,
            attempt: 1,
            undo: false,
            outputs: Default::default(),
        },
    ]
}

#[test]
fn a_second_runner_is_refused_with_the_holder_named() {
    let (_dir, state, store) = state("ORD-1");
    let lock = store.acquire_runner("ORD-1").unwrap();
    // Another store, as another process would open it.
    let other = SqliteStore::open(&state).unwrap();
    let err = other.acquire_runner("ORD-1").unwrap_err();
    let StoreError::Locked { holder, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(holder.pid, std::process::id());
    assert!(
        err.to_string()
            .contains(&format!("process {}", std::process::id())),
        "{err}"
    );
    drop(lock);
    drop(other.acquire_runner("ORD-1").unwrap());
}

#[test]
fn a_lock_with_a_dead_pid_is_taken_over() {
    let (_dir, state, store) = state("ORD-1");
    let lock = store.acquire_runner("ORD-1").unwrap();
    let mut reaped = Command::new("true").spawn().unwrap();
    let dead = reaped.id();
    reaped.wait().unwrap();
    let db = rusqlite::Connection::open(state.join(DB_FILE)).unwrap();
    db.execute("UPDATE runners SET pid = ?1", [dead]).unwrap();
    let taken = store.acquire_runner("ORD-1").unwrap();
    assert_eq!(taken.holder().pid, std::process::id());
    // The old lock is fenced off: its journal can no longer write.
    let mut journal = store.journal(&lock).unwrap();
    let err = journal.record("ORD-1", &run_task(0)[0]).unwrap_err();
    assert!(
        err.to_string().contains("no longer holds order ORD-1"),
        "{err}"
    );
    // Nor does dropping it release the new holder's lock.
    drop(lock);
    assert!(matches!(
        store.acquire_runner("ORD-1"),
        Err(StoreError::Locked { .. })
    ));
    drop(taken);
}

#[test]
fn a_lock_whose_heartbeat_went_stale_is_taken_over() {
    let options = StoreOptions {
        stale_after: Duration::from_secs(1),
        heartbeat_every: Duration::from_secs(3600),
        ..StoreOptions::default()
    };
    let (_dir, _state, store) = state_with("ORD-1", options);
    let hung = store.acquire_runner("ORD-1").unwrap();
    assert!(matches!(
        store.acquire_runner("ORD-1"),
        Err(StoreError::Locked { .. })
    ));
    std::thread::sleep(Duration::from_millis(1100));
    let _taken = store.acquire_runner("ORD-1").unwrap();
    let mut journal = store.journal(&hung).unwrap();
    assert!(journal.record("ORD-1", &run_task(0)[0]).is_err());
}

#[test]
fn the_heartbeat_keeps_a_quiet_lock_fresh() {
    let options = StoreOptions {
        stale_after: Duration::from_secs(1),
        heartbeat_every: Duration::from_millis(50),
        ..StoreOptions::default()
    };
    let (_dir, _state, store) = state_with("ORD-1", options);
    let _lock = store.acquire_runner("ORD-1").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(matches!(
        store.acquire_runner("ORD-1"),
        Err(StoreError::Locked { .. })
    ));
}

#[test]
fn a_lock_left_by_a_killed_process_is_recovered() {
    let (_dir, state, store) = state("ORD-1");
    let mut child = spawn_child("crash", &state, "ORD-1", None);
    assert_eq!(read_result(&mut child), "won");
    assert!(child.wait().unwrap().success());
    let holder = store.order_status("ORD-1").unwrap().runner.unwrap();
    assert!(!holder.live, "{holder:?}");
    assert_ne!(holder.holder.pid, std::process::id());
    let lock = store.acquire_runner("ORD-1").unwrap();
    assert_eq!(lock.holder().pid, std::process::id());
}

#[test]
fn processes_racing_for_an_order_leave_exactly_one_runner() {
    let (dir, state, _store) = state("ORD-1");
    let go = dir.path().join("go");
    let mut children: Vec<Child> = (0..4)
        .map(|_| spawn_child("race", &state, "ORD-1", Some(&go)))
        .collect();
    std::fs::write(&go, "").unwrap();
    let results: Vec<String> = children.iter_mut().map(read_result).collect();
    std::fs::write(dir.path().join("go.done"), "").unwrap();
    for child in &mut children {
        assert!(child.wait().unwrap().success());
    }
    assert_eq!(
        results.iter().filter(|r| *r == "won").count(),
        1,
        "{results:?}"
    );
    assert_eq!(
        results.iter().filter(|r| *r == "locked").count(),
        3,
        "{results:?}"
    );
}

#[test]
fn threads_racing_for_an_order_leave_exactly_one_runner() {
    let (_dir, state, _store) = state("ORD-1");
    let barrier = std::sync::Barrier::new(6);
    let locks: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                s.spawn(|| {
                    let store = SqliteStore::open(&state).unwrap();
                    barrier.wait();
                    store.acquire_runner("ORD-1").map(|lock| (store, lock))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(locks.iter().filter(|l| l.is_ok()).count(), 1);
    assert!(locks
        .iter()
        .filter_map(|l| l.as_ref().err())
        .all(|e| matches!(e, StoreError::Locked { .. })));
}

#[test]
fn a_cancel_request_sets_the_flag_the_runner_polls() {
    let (_dir, _state, store) = state("ORD-1");
    let outcome = store.request_cancel("ORD-1").unwrap();
    assert!(outcome.runner.is_none() && !outcome.already_requested);
    assert!(store.load("ORD-1").unwrap().cancel_requested);
    assert!(store.order_status("ORD-1").unwrap().cancel_requested);
    let lock = store.acquire_runner("ORD-1").unwrap();
    let mut journal = store.journal(&lock).unwrap();
    assert!(journal.cancel_requested("ORD-1").unwrap());
    // Asked again, with the runner live.
    let again = store.request_cancel("ORD-1").unwrap();
    assert!(again.already_requested);
    assert_eq!(again.runner.unwrap().pid, std::process::id());
}

#[test]
fn a_cancel_reaches_a_runner_in_another_store() {
    let (_dir, state, store) = state("ORD-1");
    let lock = store.acquire_runner("ORD-1").unwrap();
    let mut journal = store.journal(&lock).unwrap();
    assert!(!journal.cancel_requested("ORD-1").unwrap());
    SqliteStore::open(&state)
        .unwrap()
        .request_cancel("ORD-1")
        .unwrap();
    assert!(journal.cancel_requested("ORD-1").unwrap());
}

#[test]
fn a_cancel_is_refused_once_a_point_of_no_return_is_done() {
    let (_dir, _state, store) = state("ORD-1");
    let lock = store.acquire_runner("ORD-1").unwrap();
    record(&store, &lock, &run_task(2));
    drop(lock);
    let err = store.request_cancel("ORD-1").unwrap_err();
    assert!(
        matches!(err, StoreError::PastPointOfNoReturn { ref task, .. } if task == "1/ship_cpe"),
        "{err:?}"
    );
    assert!(err.to_string().contains("1/ship_cpe"), "{err}");
    assert!(!store.load("ORD-1").unwrap().cancel_requested);
}

#[test]
fn a_point_of_no_return_interrupted_while_running_blocks_a_cancel_until_resumed() {
    let (_dir, _state, store) = state("ORD-1");
    let lock = store.acquire_runner("ORD-1").unwrap();
    record(&store, &lock, &run_task(2)[..1]);
    // With its runner live, the runner settles it: the request is taken.
    store.request_cancel("ORD-1").unwrap();
    let mut journal = store.journal(&lock).unwrap();
    assert!(journal.cancel_requested("ORD-1").unwrap());
    drop((journal, lock));
    // With no runner, nobody knows whether it took effect.
    let err = store.request_cancel("ORD-1").unwrap_err();
    assert!(matches!(err, StoreError::OutcomeUnknown { .. }), "{err:?}");
    assert!(err.to_string().contains("ordo resume ORD-1"), "{err}");
    // Once it is done, the earlier request no longer cancels.
    let lock = store.acquire_runner("ORD-1").unwrap();
    record(&store, &lock, &run_task(2)[1..]);
    assert!(!store
        .journal(&lock)
        .unwrap()
        .cancel_requested("ORD-1")
        .unwrap());
}

#[test]
fn a_finished_order_cannot_be_cancelled() {
    let (_dir, _state, store) = state("ORD-1");
    let lock = store.acquire_runner("ORD-1").unwrap();
    let completed = Event::Order {
        state: OrderState::Completed,
        reason: None,
    };
    record(&store, &lock, &[completed]);
    let err = store.request_cancel("ORD-1").unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::AlreadyFinal {
                state: OrderState::Completed,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("already completed"), "{err}");
}

// ---- child processes ----

fn spawn_child(mode: &str, state: &Path, order: &str, go: Option<&Path>) -> Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "child_process",
        "--exact",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("ORDO_STORE_CHILD", mode)
    .env("ORDO_STORE_STATE", state)
    .env("ORDO_STORE_ORDER", order)
    .stdout(Stdio::piped());
    if let Some(go) = go {
        cmd.env("ORDO_STORE_GO", go);
    }
    cmd.spawn().unwrap()
}

/// The child's `RESULT …` line.
fn read_result(child: &mut Child) -> String {
    let stdout = child.stdout.as_mut().unwrap();
    for line in BufReader::new(stdout).lines() {
        // The harness may have begun the line (`test child_process ... `).
        if let Some((_, result)) = line.unwrap().split_once("RESULT ") {
            return result.to_string();
        }
    }
    panic!("the child process printed no result");
}

fn wait_for(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn child_process() {
    let Ok(mode) = std::env::var("ORDO_STORE_CHILD") else {
        return;
    };
    let state = PathBuf::from(std::env::var("ORDO_STORE_STATE").unwrap());
    let order = std::env::var("ORDO_STORE_ORDER").unwrap();
    let go = std::env::var_os("ORDO_STORE_GO").map(PathBuf::from);
    let store = SqliteStore::open(&state).unwrap();
    if let Some(go) = &go {
        wait_for(go);
    }
    let result = store.acquire_runner(&order);
    let said = match &result {
        Ok(_) => "won".to_string(),
        Err(StoreError::Locked { .. }) => "locked".to_string(),
        Err(e) => format!("error: {e}"),
    };
    println!("RESULT {said}");
    std::io::stdout().flush().unwrap();
    match mode.as_str() {
        // Dies holding the lock: no destructor runs.
        "crash" => std::process::exit(0),
        // Holds the lock until every racer has tried.
        _ => wait_for(&go.unwrap().with_extension("done")),
    }
}

/// The journal keeps the task rows it wrote rather than reading them back;
/// a commit by another connection empties that cache, so a row changed
/// behind the journal's back is read again before the next event folds in.
#[test]
fn a_task_row_changed_by_another_connection_is_read_again_before_the_next_event() {
    let (_dir, state, store) = state("ORD-ROWS");
    let lock = store.acquire_runner("ORD-ROWS").unwrap();
    let mut journal = store.journal(&lock).unwrap();
    let started = Event::Started {
        task: 0,
        attempt: 1,
        undo: false,
    };
    journal.record("ORD-ROWS", &started).unwrap();
    // Another connection (another process, say) raises the attempt count.
    let other = rusqlite::Connection::open(state.join(DB_FILE)).unwrap();
    other
        .execute(
            "UPDATE tasks SET attempts = 5 WHERE order_id = 'ORD-ROWS' AND idx = 0",
            [],
        )
        .unwrap();
    drop(other);
    let failed = Event::AttemptFailed {
        task: 0,
        attempt: 5,
        undo: false,
        error: "busy".into(),
        retry_in_ms: Some(1000),
    };
    journal.record("ORD-ROWS", &failed).unwrap();
    let status = store.order_status("ORD-ROWS").unwrap();
    let task = &status.tasks[0];
    // Folded into the row as it was in the database, not as last written.
    assert_eq!(task.attempts, 5);
    assert_eq!(task.error.as_deref(), Some("busy"));
    // The order's `updated_at` follows its events without its row being
    // rewritten for each.
    assert!(status.updated_at >= status.created_at);
    let last = store.events("ORD-ROWS").unwrap().last().unwrap().at.clone();
    assert_eq!(status.updated_at, last);
}
