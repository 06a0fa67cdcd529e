//! What `run`, `resume`, `status` and `cancel` share: the state folder.

use std::path::{Path, PathBuf};

use super::Exit;
use crate::order::{valid_order_id, ORDER_ID_RULE};
use crate::store::{SqliteStore, StoreError};

/// Opens the store, or says why not (exit 2: the folder is unusable).
pub(crate) fn open_store(state: &Path) -> Result<SqliteStore, Exit> {
    SqliteStore::open(state).map_err(|e| {
        eprintln!("error: {e}");
        Exit::Error
    })
}

/// A store error as a message and an exit status: 1 when the order is not
/// in a state to do this, 2 for everything else (usage and I/O).
pub(crate) fn store_error(e: StoreError) -> Exit {
    eprintln!("error: {e}");
    match e {
        StoreError::PastPointOfNoReturn { .. }
        | StoreError::OutcomeUnknown { .. }
        | StoreError::AlreadyFinal { .. }
        | StoreError::LostLock { .. } => Exit::Failure,
        _ => Exit::Error,
    }
}

/// Refuses an order id that could not have been stored (and must not name a file).
pub(crate) fn check_order_id(id: &str) -> Result<(), Exit> {
    if valid_order_id(id) {
        Ok(())
    } else {
        eprintln!("error: `{id}` is not an order id: {ORDER_ID_RULE}");
        Err(Exit::Error)
    }
}

/// The bindings file an order was run with, remembered in `STATE/runs/ORDER.json`
/// so `resume` and `cancel` use the same actions without being told.
pub(crate) fn remember_bindings(
    state: &Path,
    order: &str,
    bindings: Option<&Path>,
) -> Result<(), Exit> {
    let dir = state.join("runs");
    let absolute = bindings.map(|b| std::fs::canonicalize(b).unwrap_or_else(|_| b.to_path_buf()));
    let record = serde_json::json!({ "bindings": absolute });
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join(format!("{order}.json")), format!("{record}\n")))
        .map_err(|e| {
            eprintln!(
                "error: cannot write to the state folder {}: {e}",
                dir.display()
            );
            Exit::Error
        })
}

/// The bindings to use for an order: the one given, else the one it ran with.
pub(crate) fn bindings_for(state: &Path, order: &str, given: Option<&Path>) -> Option<PathBuf> {
    if let Some(g) = given {
        return Some(g.to_path_buf());
    }
    let text = std::fs::read_to_string(state.join("runs").join(format!("{order}.json"))).ok()?;
    let record: serde_json::Value = serde_json::from_str(&text).ok()?;
    record["bindings"].as_str().map(PathBuf::from)
}

/// `STATE/events/ORDER.jsonl`, the order's events log.
pub(crate) fn events_path(state: &Path, order: &str) -> PathBuf {
    state.join("events").join(format!("{order}.jsonl"))
}
