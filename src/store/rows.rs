//! The task rows a runner's journals last wrote, kept so that an event need
//! not read its task's row back before folding itself into it.
//!
//! Only the journals of an order's runner lock write its task rows, so the
//! rows they wrote are the rows in the database, with two exceptions the
//! cache checks for: another connection (another process, another store
//! opened on the folder) committed since (SQLite's `PRAGMA data_version`
//! changes, and the cache is emptied), or a transaction failed after rows
//! were taken out (they are put back only once it commits). The cache is
//! shared by every journal of one lock token and order version, and lives
//! as long as they do.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use super::orders::TaskRow;

/// One lock's and version's rows.
#[derive(Default)]
pub(crate) struct RowCache {
    inner: Mutex<Rows>,
}

#[derive(Default)]
struct Rows {
    /// The writer connection's `data_version` when the rows were written.
    data_version: Option<i64>,
    rows: HashMap<usize, TaskRow>,
}

impl RowCache {
    fn lock(&self) -> MutexGuard<'_, Rows> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a task's row out, if the cache still holds it as written:
    /// `data_version` is the writer connection's, read in the transaction.
    pub fn take(&self, data_version: i64, task: usize) -> Option<TaskRow> {
        let mut rows = self.lock();
        if rows.data_version != Some(data_version) {
            rows.rows.clear();
            rows.data_version = Some(data_version);
        }
        rows.rows.remove(&task)
    }

    /// Puts back a row its transaction committed.
    pub fn put(&self, data_version: i64, task: usize, row: TaskRow) {
        let mut rows = self.lock();
        if rows.data_version == Some(data_version) {
            rows.rows.insert(task, row);
        }
    }

    /// Forgets every row (a transaction that took rows out failed).
    pub fn clear(&self) {
        let mut rows = self.lock();
        rows.rows.clear();
        rows.data_version = None;
    }
}

/// The caches of a store's live journals, by lock token and order version.
#[derive(Default)]
pub(crate) struct RowCaches {
    caches: Mutex<HashMap<(String, u32), Weak<RowCache>>>,
}

impl RowCaches {
    /// The cache of the journals of `token` on `version`, shared with the
    /// ones already made.
    pub fn get(&self, token: &str, version: u32) -> Arc<RowCache> {
        let mut caches = self.caches.lock().unwrap_or_else(PoisonError::into_inner);
        caches.retain(|_, c| c.strong_count() > 0);
        let key = (token.to_string(), version);
        if let Some(cache) = caches.get(&key).and_then(Weak::upgrade) {
            return cache;
        }
        let cache = Arc::new(RowCache::default());
        caches.insert(key, Arc::downgrade(&cache));
        cache
    }
}
