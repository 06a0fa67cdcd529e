//! What TMF622 keeps beside an order that came as a ProductOrder (the API
//! version it came by, its external ids, searchable, and the rest of its
//! TMF metadata as JSON), and the `cancelProductOrder` requests. The order
//! row and its TMF record are written in one transaction
//! ([`super::Store::create_tmf_order`]), so neither exists without the other.

use rusqlite::{params, OptionalExtension, Transaction};

use super::orders::corrupt_or;
use super::sqlite::{now, Db};
use super::{Delivery, StoreError, TmfCancel, TmfHub, TmfRecord};

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
CREATE TABLE tmf_hubs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    callback   TEXT    NOT NULL,
    query      TEXT,
    created_at TEXT    NOT NULL,
    deleted_at TEXT
);
CREATE TABLE tmf_notified (
    order_id TEXT PRIMARY KEY,
    state    TEXT NOT NULL
);
CREATE TABLE tmf_outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    hub_id       INTEGER NOT NULL,
    order_id     TEXT    NOT NULL,
    event        TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      TEXT    NOT NULL,
    delivered_at TEXT,
    last_error   TEXT
);
CREATE INDEX tmf_outbox_undelivered ON tmf_outbox (hub_id, order_id, seq) WHERE delivered_at IS NULL;
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
    tx.prepare_cached(
        "INSERT INTO tmf_orders (order_id, api_version, created_at, meta) VALUES (?1, ?2, ?3, ?4)",
    )
    .and_then(|mut insert| {
        insert.execute(params![order, tmf.api_version, at, tmf.meta.to_string()])
    })
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
    tx.prepare_cached("DELETE FROM tmf_external_ids WHERE order_id = ?1")
        .and_then(|mut delete| delete.execute(params![order]))
        .map_err(err)?;
    let mut insert = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO tmf_external_ids (order_id, external_id) VALUES (?1, ?2)",
        )
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

/// A new hub subscription.
pub(crate) fn create_hub(
    db: &Db,
    callback: &str,
    query: Option<&str>,
) -> Result<TmfHub, StoreError> {
    let conn = db.writer();
    conn.execute(
        "INSERT INTO tmf_hubs (callback, query, created_at) VALUES (?1, ?2, ?3)",
        params![callback, query, now()],
    )
    .map_err(|e| db.err(e))?;
    Ok(TmfHub {
        id: conn.last_insert_rowid().to_string(),
        callback: callback.to_string(),
        query: query.map(str::to_string),
    })
}

/// Ends a subscription (its undelivered events are dropped); false when
/// there is none.
pub(crate) fn delete_hub(db: &Db, id: &str) -> Result<bool, StoreError> {
    let Ok(rowid) = id.parse::<i64>() else {
        return Ok(false);
    };
    let conn = db.writer();
    let changed = conn
        .execute(
            "UPDATE tmf_hubs SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL",
            params![rowid, now()],
        )
        .map_err(|e| db.err(e))?;
    Ok(changed == 1)
}

/// The live subscriptions, oldest first.
pub(crate) fn hubs(db: &Db) -> Result<Vec<TmfHub>, StoreError> {
    let conn = db.reader();
    let mut q = conn
        .prepare("SELECT id, callback, query FROM tmf_hubs WHERE deleted_at IS NULL ORDER BY id")
        .map_err(|e| db.err(e))?;
    let hubs = q
        .query_map([], |r| {
            Ok(TmfHub {
                id: r.get::<_, i64>(0)?.to_string(),
                callback: r.get(1)?,
                query: r.get(2)?,
            })
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(|e| corrupt_or(db, e));
    hubs
}

/// The state last notified for `order`, if any.
pub(crate) fn notified(db: &Db, order: &str) -> Result<Option<String>, StoreError> {
    let conn = db.reader();
    conn.query_row(
        "SELECT state FROM tmf_notified WHERE order_id = ?1",
        params![order],
        |r| r.get(0),
    )
    .optional()
    .map_err(|e| corrupt_or(db, e))
}

/// Records that `order` went from the notified state `before` to `state`
/// and queues its events (per hub) in the outbox, in one transaction;
/// nothing when the notified state is no longer `before` or is `state`
/// already (another process got there first).
pub(crate) fn notify(
    db: &Db,
    order: &str,
    before: Option<&str>,
    state: &str,
    events: &[(String, serde_json::Value)],
) -> Result<bool, StoreError> {
    let err = |e| db.err(e);
    let mut conn = db.writer();
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(err)?;
    let stored: Option<String> = tx
        .query_row(
            "SELECT state FROM tmf_notified WHERE order_id = ?1",
            params![order],
            |r| r.get(0),
        )
        .optional()
        .map_err(err)?;
    if stored.as_deref() != before || before == Some(state) {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO tmf_notified (order_id, state) VALUES (?1, ?2) \
         ON CONFLICT (order_id) DO UPDATE SET state = excluded.state",
        params![order, state],
    )
    .map_err(err)?;
    let at = now();
    for (hub, event) in events {
        tx.execute(
            "INSERT INTO tmf_outbox (hub_id, order_id, event, next_at) VALUES (?1, ?2, ?3, ?4)",
            params![hub, order, event.to_string(), at],
        )
        .map_err(err)?;
    }
    tx.commit().map_err(err)?;
    Ok(true)
}

/// The deliveries due at `now`: per live hub and order, only the oldest
/// undelivered event (so each order's events go out in order).
pub(crate) fn due(db: &Db, now: &str) -> Result<Vec<Delivery>, StoreError> {
    let conn = db.reader();
    let mut q = conn
        .prepare(
            "SELECT o.seq, o.hub_id, h.callback, o.order_id, o.event, o.attempts FROM tmf_outbox o \
             JOIN tmf_hubs h ON h.id = o.hub_id AND h.deleted_at IS NULL \
             WHERE o.delivered_at IS NULL AND o.next_at <= ?1 AND o.seq = ( \
                 SELECT MIN(f.seq) FROM tmf_outbox f WHERE f.hub_id = o.hub_id \
                 AND f.order_id = o.order_id AND f.delivered_at IS NULL) \
             ORDER BY o.seq",
        )
        .map_err(|e| db.err(e))?;
    let rows = q
        .query_map(params![now], |r| {
            let event: String = r.get(4)?;
            Ok(Delivery {
                seq: r.get(0)?,
                hub: r.get::<_, i64>(1)?.to_string(),
                callback: r.get(2)?,
                order: r.get(3)?,
                event: serde_json::from_str(&event).unwrap_or(serde_json::Value::Null),
                attempts: r.get(5)?,
            })
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(|e| corrupt_or(db, e));
    rows
}

/// A delivery's outcome: delivered (`error` none), or failed and due again
/// at `next_at`.
pub(crate) fn delivered(
    db: &Db,
    seq: i64,
    error: Option<&str>,
    next_at: &str,
) -> Result<(), StoreError> {
    let conn = db.writer();
    let done = match error {
        None => conn.execute(
            "UPDATE tmf_outbox SET delivered_at = ?2, attempts = attempts + 1 WHERE seq = ?1",
            params![seq, now()],
        ),
        Some(error) => conn.execute(
            "UPDATE tmf_outbox SET last_error = ?2, next_at = ?3, attempts = attempts + 1 \
             WHERE seq = ?1",
            params![seq, error, next_at],
        ),
    };
    done.map_err(|e| db.err(e))?;
    Ok(())
}
