//! The state folder around the store: opening it for an order, taking an
//! order's runner lock, the bindings a stored order continues with, and the
//! files kept next to the database (events log, plugin log).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::submit::read_bindings;
use super::LifecycleError;
use crate::exec::{BindingsRecord, Journal, JsonLinesJournal, LogSink, Tee};
use crate::order::valid_order_id;
use crate::plan::Plan;
use crate::store::{self, Location, RunnerInfo, RunnerLock, Store, StoredOrder};

/// Opens the store to write: the state folder's, or the one `--store` names.
pub fn open_store(location: &Location) -> Result<Box<dyn Store>, LifecycleError> {
    Ok(store::open_store(location)?)
}

/// Opens the store for a named order, before writing anything to it:
/// refuses an id that could not have been stored, and examines the order's
/// rows as well as the database (which opening examines), so that `resume`
/// and `cancel` find damage before their first write, not after it.
pub fn open_for(location: &Location, order: &str) -> Result<Box<dyn Store>, LifecycleError> {
    check_order_id(order)?;
    let store = open_store(location)?;
    store.load(order)?;
    Ok(store)
}

/// Takes an order's runner lock and loads it: what resuming and a cancel
/// that compensates in this process start from.
pub fn take_order(
    store: &dyn Store,
    order: &str,
) -> Result<(RunnerLock, StoredOrder), LifecycleError> {
    let lock = store.acquire_runner(order)?;
    let stored = store.load(order)?;
    Ok((lock, stored))
}

/// Refuses an order id that could not have been stored (and must not name a file).
pub fn check_order_id(id: &str) -> Result<(), LifecycleError> {
    if valid_order_id(id) {
        Ok(())
    } else {
        Err(LifecycleError::OrderId(id.to_string()))
    }
}

/// The bindings an order continues with, and whether they are new to the
/// store (to be kept once checked): the file `given`, else those the store
/// keeps with the order, else, for an order stored before the store kept
/// them (schema version 3), the file named in `STATE/runs/ORDER.json`, read
/// once. Without any of these (a run killed between storing the order and
/// writing that file, or a folder restored from such a database alone)
/// nothing is guessed: simulating actions that were meant to run for real
/// would mark them done without doing them.
pub fn bindings_for(
    state: &Path,
    stored: &StoredOrder,
    given: Option<&Path>,
) -> Result<(BindingsRecord, bool), LifecycleError> {
    if let Some(g) = given {
        return read_bindings(Some(g)).map(|r| (r, true));
    }
    if let Some(kept) = &stored.bindings {
        return Ok((kept.clone(), false));
    }
    let order = &stored.id;
    let path = state.join("runs").join(format!("{order}.json"));
    let unknown = |why: String| LifecycleError::UnknownBindings {
        order: order.clone(),
        why,
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| unknown(format!("cannot read {}: {e}", path.display())))?;
    let record: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| unknown(format!("{} is not JSON: {e}", path.display())))?;
    match record.get("bindings") {
        Some(serde_json::Value::Null) => Ok((BindingsRecord::Simulated, true)),
        Some(serde_json::Value::String(s)) => read_bindings(Some(Path::new(s))).map(|r| (r, true)),
        _ => Err(unknown(format!("{} has no `bindings`", path.display()))),
    }
}

/// `STATE/events/ORDER.jsonl`, the order's events log.
pub fn events_path(state: &Path, order: &str) -> PathBuf {
    state.join("events").join(format!("{order}.jsonl"))
}

/// Whether an advance writes the order's events log beside the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EventsLog {
    /// `STATE/events/ORDER.jsonl`, appended after the store has committed
    /// each batch: what `run`, `resume` and `cancel` keep.
    #[default]
    PerOrder,
    /// The store only: a server's default (`ordo serve --events-log` keeps
    /// the files), where every event is also in its structured log and in
    /// `GET /api/v1/orders/{id}/events`, and a file an order is a cost.
    Off,
}

/// Opens the order's events log for appending, creating its folder (which a
/// state folder restored from its database alone does not have).
pub fn events_log(state: &Path, plan: &Plan) -> Result<JsonLinesJournal, LifecycleError> {
    let path = events_path(state, &plan.order);
    std::fs::create_dir_all(path.parent().unwrap_or(state))
        .and_then(|()| JsonLinesJournal::append(&path, plan))
        .map_err(|e| {
            LifecycleError::Io(format!(
                "cannot write the events log {}: {e}",
                path.display()
            ))
        })
}

/// The journal a run of the order under `lock` records to: the store's,
/// then, if `log` keeps it, the events log in `state`.
pub fn order_journal(
    store: &dyn Store,
    lock: &RunnerLock,
    state: &Path,
    log: EventsLog,
    plan: &Plan,
) -> Result<Box<dyn Journal>, LifecycleError> {
    let durable = store.journal(lock)?;
    Ok(match log {
        EventsLog::PerOrder => Box::new(Tee(durable, events_log(state, plan)?)),
        EventsLog::Off => durable,
    })
}

/// The log exec plugins' stderr goes to: `STATE/logs/ORDER.log`.
pub fn order_log(state: &Path, order: &str) -> Result<LogSink, LifecycleError> {
    let dir = state.join("logs");
    let open = || {
        std::fs::create_dir_all(&dir)?;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("{order}.log")))
    };
    match open() {
        Ok(file) => Ok(Arc::new(Mutex::new(file))),
        Err(e) => Err(LifecycleError::Io(format!(
            "cannot open the order's log in {}: {e}",
            dir.display()
        ))),
    }
}

/// The live process (a CLI run, or a server's engine) that holds the
/// order's runner lock, if any: such an order is advanced by its holder,
/// and another command only records its request (a cancel) and lets the
/// holder see it. `None` means the caller may take the lock and advance the
/// order itself.
pub fn live_runner(store: &dyn Store, order: &str) -> Result<Option<RunnerInfo>, LifecycleError> {
    let status = store.order_status(order)?;
    Ok(status.runner.filter(|r| r.live).map(|r| r.holder))
}
