//! The TMF622 records in the PostgreSQL store, as SQLite keeps them
//! (`store::tmf`): an order's ProductOrder record (written with the order,
//! in its transaction), its searchable external ids, `cancelProductOrder`
//! requests, hub subscriptions, and the notification outbox.
//!
//! Several servers share these tables, so two things SQLite's single
//! process never meets are guarded here. A state is notified once: the
//! `tmf_notified` row is compared and set in one statement, so a server
//! that read an older state than another one already notified queues
//! nothing. And an event is sent by one server at a time: reading the due
//! events claims them (`FOR UPDATE SKIP LOCKED`, then a claim token and a
//! claim lease as long as the runner lease), so the other servers skip
//! them; a delivery's outcome is recorded only `WHERE` the claim is still
//! this store's, so a server paused past its claim writes nothing.

use r2d2_postgres::postgres::Transaction;

use super::runner::lease_secs;
use super::Pg;
use crate::store::sqlite::now;
use crate::store::{Delivery, StoreError, TmfCancel, TmfHub, TmfRecord};

/// Version 4, SQLite's version 7: TMF622 records of orders, their external
/// ids, cancellation requests, hub subscriptions and the outbox, whose rows
/// also carry their claim.
pub(crate) const MIGRATION: &str = r#"
CREATE TABLE tmf_orders (
    order_id    TEXT PRIMARY KEY,
    api_version TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    meta        TEXT NOT NULL
);
CREATE TABLE tmf_external_ids (
    order_id    TEXT   NOT NULL,
    external_id TEXT   NOT NULL,
    pos         BIGINT NOT NULL,
    PRIMARY KEY (order_id, external_id)
);
CREATE INDEX tmf_external_ids_by_id ON tmf_external_ids (external_id);
CREATE TABLE tmf_cancels (
    id           BIGSERIAL PRIMARY KEY,
    order_id     TEXT NOT NULL,
    api_version  TEXT NOT NULL,
    reason       TEXT,
    refused      TEXT,
    requested_at TEXT NOT NULL
);
CREATE TABLE tmf_hubs (
    id         BIGSERIAL PRIMARY KEY,
    callback   TEXT NOT NULL,
    query      TEXT,
    created_at TEXT NOT NULL,
    deleted_at TEXT
);
CREATE TABLE tmf_notified (
    order_id TEXT PRIMARY KEY,
    state    TEXT NOT NULL
);
CREATE TABLE tmf_outbox (
    seq          BIGSERIAL PRIMARY KEY,
    hub_id       BIGINT NOT NULL,
    order_id     TEXT   NOT NULL,
    event        TEXT   NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    next_at      TEXT   NOT NULL,
    delivered_at TEXT,
    last_error   TEXT,
    claim_token  TEXT,
    claim_until  TIMESTAMPTZ
);
CREATE INDEX tmf_outbox_undelivered ON tmf_outbox (hub_id, order_id, seq) WHERE delivered_at IS NULL;
"#;

/// Most events one read of the outbox claims: the server sends them one
/// after another (each given 5 s), and the rest stay free for the others.
const CLAIM_BATCH: i64 = 16;

/// Writes an order's TMF record inside the transaction that creates it.
pub(crate) fn insert(
    pg: &Pg,
    tx: &mut Transaction<'_>,
    order: &str,
    tmf: &TmfRecord,
    at: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO tmf_orders (order_id, api_version, created_at, meta) VALUES ($1, $2, $3, $4)",
        &[&order, &tmf.api_version, &at, &tmf.meta.to_string()],
    )
    .map_err(|e| pg.failed(e))?;
    external_ids(pg, tx, order, &tmf.external_ids)
}

fn external_ids(
    pg: &Pg,
    tx: &mut Transaction<'_>,
    order: &str,
    ids: &[String],
) -> Result<(), StoreError> {
    let failed = |e| pg.failed(e);
    tx.execute(
        "DELETE FROM tmf_external_ids WHERE order_id = $1",
        &[&order],
    )
    .map_err(failed)?;
    let insert = tx
        .prepare(
            "INSERT INTO tmf_external_ids (order_id, external_id, pos) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .map_err(failed)?;
    for (pos, id) in ids.iter().enumerate() {
        tx.execute(&insert, &[&order, id, &(pos as i64)])
            .map_err(failed)?;
    }
    Ok(())
}

/// Replaces an order's TMF record (a PATCH revised its items).
pub(crate) fn update(pg: &Pg, order: &str, tmf: &TmfRecord) -> Result<(), StoreError> {
    let failed = |e| pg.failed(e);
    let mut conn = pg.conn()?;
    let mut tx = conn.transaction().map_err(failed)?;
    let changed = tx
        .execute(
            "UPDATE tmf_orders SET api_version = $2, meta = $3 WHERE order_id = $1",
            &[&order, &tmf.api_version, &tmf.meta.to_string()],
        )
        .map_err(failed)?;
    if changed == 0 {
        return Err(StoreError::NoSuchOrder {
            order: order.to_string(),
        });
    }
    external_ids(pg, &mut tx, order, &tmf.external_ids)?;
    tx.commit().map_err(failed)
}

/// An order's TMF record, if it came as a ProductOrder: one statement, so
/// the record and its ids are of one snapshot (a PATCH between two reads
/// would mix two versions).
pub(crate) fn get(pg: &Pg, order: &str) -> Result<Option<TmfRecord>, StoreError> {
    let mut conn = pg.conn()?;
    let Some(row) = conn
        .query_opt(
            "SELECT t.api_version, t.meta, ARRAY(SELECT e.external_id FROM tmf_external_ids e \
                 WHERE e.order_id = t.order_id ORDER BY e.pos) \
             FROM tmf_orders t WHERE t.order_id = $1",
            &[&order],
        )
        .map_err(|e| pg.failed(e))?
    else {
        return Ok(None);
    };
    let meta: &str = row.get(1);
    let meta = serde_json::from_str(meta).map_err(|e| pg.json("meta", e))?;
    Ok(Some(TmfRecord {
        api_version: row.get(0),
        external_ids: row.get(2),
        meta,
    }))
}

/// The ids of the orders with a TMF record (with `external_id`, only those
/// it names), newest first.
pub(crate) fn list(pg: &Pg, external_id: Option<&str>) -> Result<Vec<String>, StoreError> {
    let mut conn = pg.conn()?;
    let rows = conn
        .query(
            "SELECT t.order_id FROM tmf_orders t \
             WHERE $1::TEXT IS NULL OR EXISTS (SELECT 1 FROM tmf_external_ids e \
                 WHERE e.order_id = t.order_id AND e.external_id = $1) \
             ORDER BY t.created_at DESC, t.order_id",
            &[&external_id],
        )
        .map_err(|e| pg.failed(e))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Records a cancellation request (`refused`: why the order did not take
/// it) and gives it its id.
pub(crate) fn create_cancel(
    pg: &Pg,
    order: &str,
    api_version: &str,
    reason: Option<&str>,
    refused: Option<&str>,
) -> Result<TmfCancel, StoreError> {
    let at = now();
    let mut conn = pg.conn()?;
    let row = conn
        .query_one(
            "INSERT INTO tmf_cancels (order_id, api_version, reason, refused, requested_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[&order, &api_version, &reason, &refused, &at],
        )
        .map_err(|e| pg.failed(e))?;
    Ok(TmfCancel {
        id: row.get::<_, i64>(0).to_string(),
        order: order.to_string(),
        api_version: api_version.to_string(),
        reason: reason.map(str::to_string),
        refused: refused.map(str::to_string),
        requested_at: at,
    })
}

/// One cancellation request, by id.
pub(crate) fn cancel(pg: &Pg, id: &str) -> Result<Option<TmfCancel>, StoreError> {
    let Ok(key) = id.parse::<i64>() else {
        return Ok(None);
    };
    let mut conn = pg.conn()?;
    let row = conn
        .query_opt(
            "SELECT order_id, api_version, reason, refused, requested_at FROM tmf_cancels \
             WHERE id = $1",
            &[&key],
        )
        .map_err(|e| pg.failed(e))?;
    Ok(row.map(|r| TmfCancel {
        id: key.to_string(),
        order: r.get(0),
        api_version: r.get(1),
        reason: r.get(2),
        refused: r.get(3),
        requested_at: r.get(4),
    }))
}

/// A new hub subscription.
pub(crate) fn create_hub(
    pg: &Pg,
    callback: &str,
    query: Option<&str>,
) -> Result<TmfHub, StoreError> {
    let mut conn = pg.conn()?;
    let row = conn
        .query_one(
            "INSERT INTO tmf_hubs (callback, query, created_at) VALUES ($1, $2, $3) RETURNING id",
            &[&callback, &query, &now()],
        )
        .map_err(|e| pg.failed(e))?;
    Ok(TmfHub {
        id: row.get::<_, i64>(0).to_string(),
        callback: callback.to_string(),
        query: query.map(str::to_string),
    })
}

/// Ends a subscription (its undelivered events are dropped); false when
/// there is none.
pub(crate) fn delete_hub(pg: &Pg, id: &str) -> Result<bool, StoreError> {
    let Ok(key) = id.parse::<i64>() else {
        return Ok(false);
    };
    let mut conn = pg.conn()?;
    let changed = conn
        .execute(
            "UPDATE tmf_hubs SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL",
            &[&key, &now()],
        )
        .map_err(|e| pg.failed(e))?;
    Ok(changed == 1)
}

/// The live subscriptions, oldest first.
pub(crate) fn hubs(pg: &Pg) -> Result<Vec<TmfHub>, StoreError> {
    let mut conn = pg.conn()?;
    let rows = conn
        .query(
            "SELECT id, callback, query FROM tmf_hubs WHERE deleted_at IS NULL ORDER BY id",
            &[],
        )
        .map_err(|e| pg.failed(e))?;
    Ok(rows
        .iter()
        .map(|r| TmfHub {
            id: r.get::<_, i64>(0).to_string(),
            callback: r.get(1),
            query: r.get(2),
        })
        .collect())
}

/// The state last notified for `order`, if any.
pub(crate) fn notified(pg: &Pg, order: &str) -> Result<Option<String>, StoreError> {
    let mut conn = pg.conn()?;
    let row = conn
        .query_opt(
            "SELECT state FROM tmf_notified WHERE order_id = $1",
            &[&order],
        )
        .map_err(|e| pg.failed(e))?;
    Ok(row.map(|r| r.get(0)))
}

/// Records that `order` went from the notified state `before` to `state`
/// and queues its events in the outbox, in one transaction; nothing when
/// the notified state is no longer `before` (another server notified since
/// the caller read it) or is `state` already.
pub(crate) fn notify(
    pg: &Pg,
    order: &str,
    before: Option<&str>,
    state: &str,
    events: &[(String, serde_json::Value)],
) -> Result<bool, StoreError> {
    let failed = |e| pg.failed(e);
    if before == Some(state) {
        return Ok(false);
    }
    let mut conn = pg.conn()?;
    let mut tx = conn.transaction().map_err(failed)?;
    // Insert when nothing was notified yet, update when `before` still
    // stands; a concurrent writer of the same row makes this wait for it
    // and then re-check. No row back: another server got there first.
    let moved = match before {
        None => tx.query_opt(
            "INSERT INTO tmf_notified (order_id, state) VALUES ($1, $2) \
             ON CONFLICT (order_id) DO NOTHING RETURNING 1",
            &[&order, &state],
        ),
        Some(before) => tx.query_opt(
            "UPDATE tmf_notified SET state = $2 WHERE order_id = $1 AND state = $3 RETURNING 1",
            &[&order, &state, &before],
        ),
    }
    .map_err(failed)?
    .is_some();
    if !moved {
        return Ok(false);
    }
    let at = now();
    let insert = tx
        .prepare(
            "INSERT INTO tmf_outbox (hub_id, order_id, event, next_at) VALUES ($1, $2, $3, $4)",
        )
        .map_err(failed)?;
    for (hub, event) in events {
        let hub: i64 = hub
            .parse()
            .map_err(|_| pg.corrupt(format!("the hub id `{hub}` is not a number")))?;
        tx.execute(&insert, &[&hub, &order, &event.to_string(), &at])
            .map_err(failed)?;
    }
    tx.commit().map_err(failed)?;
    Ok(true)
}

/// Claims the deliveries due at `now`: per live hub and order only the
/// oldest undelivered event (so each order's events go out in order), and
/// of those only the ones no other store holds a running claim on. Events
/// this store claimed before and has not recorded are due to it again.
pub(crate) fn due(pg: &Pg, now: &str) -> Result<Vec<Delivery>, StoreError> {
    let failed = |e| pg.failed(e);
    let mut conn = pg.conn()?;
    let mut tx = conn.transaction().map_err(failed)?;
    let rows = tx
        .query(
            "SELECT o.seq, o.hub_id, h.callback, o.order_id, o.event, o.attempts FROM tmf_outbox o \
             JOIN tmf_hubs h ON h.id = o.hub_id AND h.deleted_at IS NULL \
             WHERE o.delivered_at IS NULL AND o.next_at <= $1 \
               AND (o.claim_token IS NULL OR o.claim_token = $2 OR o.claim_until < now()) \
               AND o.seq = (SELECT min(f.seq) FROM tmf_outbox f WHERE f.hub_id = o.hub_id \
                   AND f.order_id = o.order_id AND f.delivered_at IS NULL) \
             ORDER BY o.seq LIMIT $3 \
             FOR UPDATE OF o SKIP LOCKED",
            &[&now, &pg.token, &CLAIM_BATCH],
        )
        .map_err(failed)?;
    let claim = tx
        .prepare(
            "UPDATE tmf_outbox SET claim_token = $2, \
             claim_until = now() + make_interval(secs => $3) WHERE seq = $1",
        )
        .map_err(failed)?;
    let mut due = Vec::with_capacity(rows.len());
    for r in &rows {
        let seq: i64 = r.get(0);
        tx.execute(&claim, &[&seq, &pg.token, &lease_secs(pg)])
            .map_err(failed)?;
        let event: String = r.get(4);
        due.push(Delivery {
            seq,
            hub: r.get::<_, i64>(1).to_string(),
            callback: r.get(2),
            order: r.get(3),
            event: serde_json::from_str(&event).unwrap_or(serde_json::Value::Null),
            attempts: super::orders::narrow(pg, r.get::<_, i64>(5))?,
        });
    }
    tx.commit().map_err(failed)?;
    Ok(due)
}

/// A delivery's outcome: delivered (`error` none), or failed and due again
/// at `next_at`; either way the claim ends. Written only while the claim is
/// this store's: once another server took the event over, nothing.
pub(crate) fn delivered(
    pg: &Pg,
    seq: i64,
    error: Option<&str>,
    next_at: &str,
) -> Result<(), StoreError> {
    let mut conn = pg.conn()?;
    let done = match error {
        None => conn.execute(
            "UPDATE tmf_outbox SET delivered_at = $3, attempts = attempts + 1, \
             claim_token = NULL, claim_until = NULL \
             WHERE seq = $1 AND claim_token = $2 AND delivered_at IS NULL",
            &[&seq, &pg.token, &now()],
        ),
        Some(error) => conn.execute(
            "UPDATE tmf_outbox SET last_error = $3, next_at = $4, attempts = attempts + 1, \
             claim_token = NULL, claim_until = NULL \
             WHERE seq = $1 AND claim_token = $2 AND delivered_at IS NULL",
            &[&seq, &pg.token, &error, &next_at],
        ),
    };
    done.map_err(|e| pg.failed(e))?;
    Ok(())
}
