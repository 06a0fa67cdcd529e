//! What `run`, `resume`, `status` and `cancel` share: the state folder.

use std::path::{Path, PathBuf};

use super::execute::read_bindings;
use super::Exit;
use super::StateDir;
use crate::exec::{BindingsRecord, JsonLinesJournal};
use crate::order::{valid_order_id, ORDER_ID_RULE};
use crate::plan::Plan;
use crate::store::{self, Location, RunnerLock, Store, StoreError, StoredOrder};

/// The store `--store` names, else the state folder's.
pub(crate) fn location(state: &StateDir) -> Result<Location, Exit> {
    Location::parse(state.store.as_deref(), &state.path).map_err(store_error)
}

/// Opens the store to write, or says why not (exit 2: the store is unusable).
pub(crate) fn open_store(state: &StateDir) -> Result<Box<dyn Store>, Exit> {
    store::open_store(&location(state)?).map_err(store_error)
}

/// Opens the store for a reading command, writing nothing; `None` when
/// nothing was ever stored there.
pub(crate) fn open_reader(state: &StateDir) -> Result<Option<Box<dyn Store>>, StoreError> {
    let location = Location::parse(state.store.as_deref(), &state.path)?;
    store::open_read_only(&location)
}

/// A store error as a message with its code and an exit status: 1 when the
/// order is not in a state to do this, 2 for everything else (usage and I/O).
pub(crate) fn store_error(e: StoreError) -> Exit {
    match miette::Diagnostic::code(&e) {
        Some(code) => eprintln!("error[{code}]: {e}"),
        None => eprintln!("error: {e}"),
    }
    match e {
        StoreError::PastPointOfNoReturn { .. }
        | StoreError::OutcomeUnknown { .. }
        | StoreError::AlreadyFinal { .. }
        | StoreError::LostLock { .. }
        | StoreError::InstanceUnavailable { .. } => Exit::Failure,
        _ => Exit::Error,
    }
}

/// Opens the store for an order named on the command line, before writing
/// anything to it: refuses an id that could not have been stored, and
/// examines the order's rows as well as the database (which opening
/// examines), so that `resume` and `cancel` find damage before their first
/// write, not after it.
pub(crate) fn open_for(state: &StateDir, order: &str) -> Result<Box<dyn Store>, Exit> {
    check_order_id(order)?;
    let store = open_store(state)?;
    store.load(order).map_err(store_error)?;
    Ok(store)
}

/// Takes an order's runner lock and loads it: what `resume` and a `cancel`
/// that compensates here start from.
pub(crate) fn take_order(
    store: &dyn Store,
    order: &str,
) -> Result<(RunnerLock, StoredOrder), Exit> {
    let lock = store.acquire_runner(order).map_err(store_error)?;
    let stored = store.load(order).map_err(store_error)?;
    Ok((lock, stored))
}

/// Refuses an order id that could not have been stored (and must not name a file).
pub(crate) fn check_order_id(id: &str) -> Result<(), Exit> {
    if valid_order_id(id) {
        Ok(())
    } else {
        eprintln!(
            "error: `{}` is not an order id: {ORDER_ID_RULE}",
            id.escape_debug()
        );
        Err(Exit::Error)
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
pub(crate) fn bindings_for(
    state: &Path,
    stored: &StoredOrder,
    given: Option<&Path>,
) -> Result<(BindingsRecord, bool), Exit> {
    if let Some(g) = given {
        return read_bindings(Some(g)).map(|r| (r, true));
    }
    if let Some(kept) = &stored.bindings {
        return Ok((kept.clone(), false));
    }
    let order = &stored.id;
    let path = state.join("runs").join(format!("{order}.json"));
    let unknown = |why: String| {
        eprintln!(
            "error: {why}, so the bindings order {order} ran with are unknown; pass them with --bindings FILE"
        );
        Exit::Error
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
pub(crate) fn events_path(state: &Path, order: &str) -> PathBuf {
    state.join("events").join(format!("{order}.jsonl"))
}

/// Opens the order's events log for appending, creating its folder (which a
/// state folder restored from its database alone does not have).
pub(crate) fn events_log(state: &Path, plan: &Plan) -> Result<JsonLinesJournal, Exit> {
    let path = events_path(state, &plan.order);
    std::fs::create_dir_all(path.parent().unwrap_or(state))
        .and_then(|()| JsonLinesJournal::append(&path, plan))
        .map_err(|e| {
            eprintln!("error: cannot write the events log {}: {e}", path.display());
            Exit::Error
        })
}
