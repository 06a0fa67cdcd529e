//! What TMF622 keeps beside an order that came as a ProductOrder (the API
//! version it came by, its external ids, searchable, and the rest of its
//! TMF metadata as JSON), and the `cancelProductOrder` requests. The order
//! row and its TMF record are written in one transaction
//! ([`super::Store::create_tmf_order`]), so neither exists without the other.

use rusqlite::{params, OptionalExtension, Transaction};

use super::orders::corrupt_or;
use super::sqlite::{now, Db};
use super::{StoreError, TmfCancel, TmfRecord};

/// Version 7: TMF622 records of orders, their external ids (searchable),
/// and cancellation requests.
pub(crate) const MIGRATION: &str = "
CREATE TABLE tmf_orders (
    order_id    TEXT PRIMARY KEY,
    api_version TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    meta        TEXT NOT NULL
);
CREATE TABLE tmf_external_ids (
    order_id    TEXT NOT NULL,
    external_id TEXT NOT NULL,
    PRIMARY KEY (order_id, external_id)
);
CREATE INDEX tmf_external_ids_by_id ON tmf_external_ids (external_id);
CREATE TABLE tmf_cancels (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id     TEXT NOT NULL,
    api_version  TEXT NOT NULL,
    reason       TEXT,
    refused      TEXT,
    requested_at TEXT NOT NULL
);
";

/// Writes an order's TMF record inside the transaction that creates it.
pub(crate) fn insert(
    db: &Db,
    tx: &Transaction<'_>,
    order: &str,
    tmf: &TmfRecord,
    at: &str,
) -> Result<(), StoreError> {
    let err = |e| db.err(e);
    tx.execute(
        "INSERT INTO tmf_orders (order_id, api_version, created_at, meta) VALUES (?1, ?2, ?3, ?4)",
        params![order, tmf.api_version, at, tmf.meta.to_string()],
    )
    .map_err(err)?;
    external_ids(db, tx, order, &tmf.external_ids)
}

fn external_ids(
    db: &Db,
    tx: &Transaction<'_>,
    order: &str,
    ids: &[String],
) -> Result<(), StoreError> {
    let err = |e| db.err(e);
    tx.execute(
        "DELETE FROM tmf_external_ids WHERE order_id = ?1",
        params![order],
    )
    .map_err(err)?;
    let mut insert = tx
        .prepare("INSERT OR IGNORE INTO tmf_external_ids (order_id, external_id) VALUES (?1, ?2)")
        .map_err(err)?;
    for id in ids {
        insert.execute(params![order, id]).map_err(err)?;
    }
    Ok(())
}

/// Replaces an order's TMF record (a PATCH revised its items).
pub(crate) fn update(db: &Db, order: &str, tmf: &TmfRecord) -> Result<(), StoreError> {
    let err = |e| db.err(e);
    let mut conn = db.writer();
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(err)?;
    let changed = tx
        .execute(
            "UPDATE tmf_orders SET api_version = ?2, meta = ?3 WHERE order_id = ?1",
            params![order, tmf.api_version, tmf.meta.to_string()],
        )
        .map_err(err)?;
    if changed == 0 {
        return Err(StoreError::NoSuchOrder {
            order: order.to_string(),
        });
    }
    external_ids(db, &tx, order, &tmf.external_ids)?;
    tx.commit().map_err(err)
}

/// An order's TMF record, if it came as a ProductOrder.
pub(crate) fn get(db: &Db, order: &str) -> Result<Option<TmfRecord>, StoreError> {
    let conn = db.reader();
    let row = conn
        .query_row(
            "SELECT api_version, meta FROM tmf_orders WHERE order_id = ?1",
            params![order],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
        )
        .optional()
        .map_err(|e| corrupt_or(db, e))?;
    let Some((api_version, meta)) = row else {
        return Ok(None);
    };
    let meta = serde_json::from_str(&meta).map_err(|e| StoreError::json(&db.path, "meta", e))?;
    let mut ids = conn
        .prepare("SELECT external_id FROM tmf_external_ids WHERE order_id = ?1 ORDER BY rowid")
        .map_err(|e| db.err(e))?;
    let external_ids = ids
        .query_map(params![order], |r| r.get(0))
        .and_then(|rows| rows.collect::<Result<Vec<String>, _>>())
        .map_err(|e| corrupt_or(db, e))?;
    Ok(Some(TmfRecord {
        api_version,
        external_ids,
        meta,
    }))
}

/// The ids of the orders with a TMF record (with `external_id`, only those
/// it names), newest first.
pub(crate) fn list(db: &Db, external_id: Option<&str>) -> Result<Vec<String>, StoreError> {
    let conn = db.reader();
    let mut query = conn
        .prepare(
            "SELECT t.order_id FROM tmf_orders t \
             WHERE ?1 IS NULL OR EXISTS (SELECT 1 FROM tmf_external_ids e \
                 WHERE e.order_id = t.order_id AND e.external_id = ?1) \
             ORDER BY t.created_at DESC, t.order_id",
        )
        .map_err(|e| db.err(e))?;
    let ids = query
        .query_map(params![external_id], |r| r.get(0))
        .and_then(|rows| rows.collect::<Result<Vec<String>, _>>())
        .map_err(|e| corrupt_or(db, e));
    ids
}

/// Records a cancellation request (`refused`: why the order did not take
/// it) and gives it its id.
pub(crate) fn create_cancel(
    db: &Db,
    order: &str,
    api_version: &str,
    reason: Option<&str>,
    refused: Option<&str>,
) -> Result<TmfCancel, StoreError> {
    let at = now();
    let conn = db.writer();
    conn.execute(
        "INSERT INTO tmf_cancels (order_id, api_version, reason, refused, requested_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![order, api_version, reason, refused, at],
    )
    .map_err(|e| db.err(e))?;
    Ok(TmfCancel {
        id: conn.last_insert_rowid().to_string(),
        order: order.to_string(),
        api_version: api_version.to_string(),
        reason: reason.map(str::to_string),
        refused: refused.map(str::to_string),
        requested_at: at,
    })
}

/// One cancellation request, by id.
pub(crate) fn cancel(db: &Db, id: &str) -> Result<Option<TmfCancel>, StoreError> {
    let Ok(rowid) = id.parse::<i64>() else {
        return Ok(None);
    };
    let conn = db.reader();
    conn.query_row(
        "SELECT order_id, api_version, reason, refused, requested_at FROM tmf_cancels WHERE id = ?1",
        params![rowid],
        |r| {
            Ok(TmfCancel {
                id: rowid.to_string(),
                order: r.get(0)?,
                api_version: r.get(1)?,
                reason: r.get(2)?,
                refused: r.get(3)?,
                requested_at: r.get(4)?,
            })
        },
    )
    .optional()
    .map_err(|e| corrupt_or(db, e))
}
