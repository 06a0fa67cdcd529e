//! The installed base in the SQLite store (SPEC §8.1): the product instances
//! completed orders leave behind, written in the transaction that records
//! the order's completion, so a crash leaves either both or neither.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

use super::orders::{corrupt_or, parse_state, task_columns, task_row};
use super::sqlite::Db;
use super::StoreError;
use crate::inventory::{Instance, InstanceFilter, InstanceStatus};
use crate::plan::Plan;
use crate::syntax::ast::OrderAction;
use crate::value::Value;

/// The schema step that adds the installed base: self-contained, so it can
/// take whichever version number follows the steps before it.
pub(crate) const MIGRATION: &str = r#"
CREATE TABLE instances (
    id         TEXT PRIMARY KEY,
    product    TEXT NOT NULL,
    customer   TEXT NOT NULL,
    status     TEXT NOT NULL,
    parent     TEXT,
    attributes TEXT NOT NULL,
    outputs    TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    relies_on  TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX instances_by_customer ON instances (customer, product);
ALTER TABLE items ADD COLUMN instance TEXT;
CREATE INDEX items_by_instance ON items (instance) WHERE instance IS NOT NULL;
"#;

const COLUMNS: &str = "id, product, customer, status, parent, attributes, outputs, \
                       created_by, updated_by, created_at, updated_at, relies_on";

/// What a completed order's changes to the installed base are made from:
/// its version's plan and document (which never change once stored).
pub(crate) struct Completed {
    plan: Plan,
    document: serde_json::Value,
}

impl Completed {
    /// Reads and parses them (on the read connection: they are written once,
    /// with the version).
    pub(crate) fn read(
        conn: &Connection,
        order: &str,
        version: u32,
    ) -> rusqlite::Result<Completed> {
        let (plan, document): (String, String) = conn
            .prepare_cached(
                "SELECT plan, document FROM order_plans WHERE order_id = ?1 AND version = ?2",
            )?
            .query_row(params![order, version], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(Completed {
            plan: serde_json::from_str(&plan).map_err(conversion)?,
            document: serde_json::from_str(&document).map_err(conversion)?,
        })
    }
}

/// Applies a completed order to the installed base, inside the transaction
/// that records its completion: each `add` item becomes an active instance,
/// each `modify` item updates its instance's attributes and the outputs of
/// the tasks that ran, each `delete` item terminates its instance. `made`
/// is the order's plan and document, read before the transaction.
pub(crate) fn apply_completed(
    tx: &Transaction<'_>,
    order: &str,
    version: u32,
    at: &str,
    made: &Completed,
) -> rusqlite::Result<()> {
    let records = {
        let mut stmt = tx.prepare_cached(concat!(
            "SELECT ",
            task_columns!(),
            " FROM tasks WHERE order_id = ?1 AND version = ?2 ORDER BY idx"
        ))?;
        let rows = stmt.query_map(params![order, version], task_row)?;
        rows.map(|r| r.map(|row| row.record))
            .collect::<rusqlite::Result<Vec<_>>>()?
    };
    let changes = completed_changes(order, &made.plan, &made.document, &records, at, |id| {
        get(tx, id)
    })?;
    for change in changes {
        match change {
            Change::Insert(instance) => insert(tx, &instance)?,
            Change::Update(instance) => update(tx, &instance)?,
        }
    }
    Ok(())
}

/// What a completed order does to the installed base.
pub(crate) enum Change {
    Insert(Instance),
    Update(Instance),
}

/// The installed base's changes for a completed order (any store's): each
/// `add` item becomes an active instance, each `modify` item updates its
/// instance's attributes and the outputs of the tasks that ran, each
/// `delete` item terminates its instance. `get` reads an instance.
pub(crate) fn completed_changes<E>(
    order: &str,
    plan: &Plan,
    document: &serde_json::Value,
    records: &[crate::exec::TaskRecord],
    at: &str,
    mut get: impl FnMut(&str) -> Result<Option<Instance>, E>,
) -> Result<Vec<Change>, E> {
    let customer = customer_id(document);
    let outputs = crate::inventory::outputs_by_item(plan, records);
    let mut changes = Vec::new();
    for item in &plan.items {
        let ran = outputs.get(item.id.as_str()).cloned().unwrap_or_default();
        match item.action {
            OrderAction::Add => {
                changes.push(Change::Insert(Instance {
                    id: format!("{order}/{}", item.id),
                    product: item.product.clone(),
                    customer: customer.clone(),
                    status: InstanceStatus::Active,
                    parent: item.parent.as_ref().map(|p| format!("{order}/{p}")),
                    attributes: item.attributes.clone(),
                    outputs: ran,
                    relies_on: item.relies_on.clone(),
                    created_by: order.to_string(),
                    updated_by: order.to_string(),
                    created_at: at.to_string(),
                    updated_at: at.to_string(),
                }));
            }
            OrderAction::Modify | OrderAction::Delete => {
                let Some(id) = &item.instance else {
                    // A plan made before the installed base: nothing to change.
                    continue;
                };
                // An instance two items change sees the first change.
                let earlier = changes.iter().rev().find_map(|c| match c {
                    Change::Update(i) if &i.id == id => Some(i.clone()),
                    _ => None,
                });
                let Some(mut instance) = earlier.map_or_else(|| get(id), |i| Ok(Some(i)))? else {
                    continue;
                };
                if item.action == OrderAction::Modify {
                    instance.attributes = item.attributes.clone();
                } else {
                    instance.status = InstanceStatus::Terminated;
                }
                instance.outputs.extend(ran);
                instance.updated_by = order.to_string();
                instance.updated_at = at.to_string();
                changes.push(Change::Update(instance));
            }
        }
    }
    Ok(changes)
}

/// The customer's id from the order document (`customer.id`), or empty.
pub(crate) fn customer_id(document: &serde_json::Value) -> String {
    match &document["customer"]["id"] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn conversion(e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(e.into())
}

fn json<T: serde::Serialize>(value: &T) -> rusqlite::Result<String> {
    serde_json::to_string(value).map_err(conversion)
}

fn insert(tx: &Transaction<'_>, i: &Instance) -> rusqlite::Result<()> {
    tx.prepare_cached(&format!(
        "INSERT INTO instances ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    ))?
    .execute(params![
        i.id,
        i.product,
        i.customer,
        i.status.as_str(),
        i.parent,
        json(&i.attributes)?,
        json(&i.outputs)?,
        i.created_by,
        i.updated_by,
        i.created_at,
        i.updated_at,
        json(&i.relies_on)?
    ])?;
    Ok(())
}

fn update(tx: &Transaction<'_>, i: &Instance) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE instances SET status = ?2, attributes = ?3, outputs = ?4, updated_by = ?5, \
         updated_at = ?6 WHERE id = ?1",
    )?
    .execute(params![
        i.id,
        i.status.as_str(),
        json(&i.attributes)?,
        json(&i.outputs)?,
        i.updated_by,
        i.updated_at
    ])?;
    Ok(())
}

fn get(conn: &Connection, id: &str) -> rusqlite::Result<Option<Instance>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM instances WHERE id = ?1"))?
        .query_row([id], instance_row)
        .optional()
}

fn instance_row(r: &Row<'_>) -> rusqlite::Result<Instance> {
    let parse = |idx: usize| -> rusqlite::Result<String> { r.get(idx) };
    let typed = |idx: usize, text: String| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, text.into())
    };
    let attributes: BTreeMap<String, Value> =
        serde_json::from_str(&parse(5)?).map_err(|e| typed(5, e.to_string()))?;
    let outputs = serde_json::from_str(&parse(6)?).map_err(|e| typed(6, e.to_string()))?;
    let relies_on = serde_json::from_str(&parse(11)?).map_err(|e| typed(11, e.to_string()))?;
    Ok(Instance {
        id: r.get(0)?,
        product: r.get(1)?,
        customer: r.get(2)?,
        status: parse_state(r, 3)?,
        parent: r.get(4)?,
        attributes,
        outputs,
        created_by: r.get(7)?,
        updated_by: r.get(8)?,
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
        relies_on,
    })
}

/// The order in flight (its latest version not ended) with an item that
/// changes `instance`.
pub(crate) fn changing(conn: &Connection, instance: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached(
        "SELECT o.id FROM items i JOIN orders o ON o.id = i.order_id AND o.version = i.version \
         WHERE i.instance = ?1 AND o.state NOT IN ('completed', 'failed', 'cancelled') \
           AND o.version = (SELECT max(version) FROM orders p WHERE p.id = o.id) \
         ORDER BY o.created_at LIMIT 1",
    )?
    .query_row([instance], |r| r.get(0))
    .optional()
}

/// Refuses, inside the transaction that stores a new order, an instance of
/// its plan that has since been terminated or that another order in flight
/// now changes: two orders planned at once cannot both take one instance.
pub(crate) fn check_available(
    db: &Db,
    tx: &Transaction<'_>,
    plan: &Plan,
) -> Result<(), StoreError> {
    check_instances(
        plan,
        |id| changing(tx, id).map_err(|e| db.err(e)),
        |id| get(tx, id).map_err(|e| corrupt_or(db, e)),
    )
}

/// [`check_available`] for any store: `changing` names the order in flight
/// that changes an instance, `get` reads one.
pub(crate) fn check_instances(
    plan: &Plan,
    mut changing: impl FnMut(&str) -> Result<Option<String>, StoreError>,
    mut get: impl FnMut(&str) -> Result<Option<Instance>, StoreError>,
) -> Result<(), StoreError> {
    for id in plan.items.iter().filter_map(|i| i.instance.as_ref()) {
        let unavailable = |why: String| StoreError::InstanceUnavailable {
            order: plan.order.clone(),
            instance: id.clone(),
            why,
        };
        if let Some(other) = changing(id)? {
            return Err(unavailable(format!(
                "is being changed by order {other}, still in flight"
            )));
        }
        match get(id)? {
            None => return Err(unavailable("is not in the installed base".into())),
            Some(i) if i.status == InstanceStatus::Terminated => {
                return Err(unavailable(format!(
                    "was terminated by order {}",
                    i.updated_by
                )))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// One instance by id.
pub(crate) fn instance(db: &Db, id: &str) -> Result<Option<Instance>, StoreError> {
    let conn = db.reader();
    get(&conn, id).map_err(|e| corrupt_or(db, e))
}

/// The instances that match the filter, by id.
pub(crate) fn list(db: &Db, filter: &InstanceFilter) -> Result<Vec<Instance>, StoreError> {
    let conn = db.reader();
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {COLUMNS} FROM instances \
             WHERE (?1 IS NULL OR customer = ?1) AND (?2 IS NULL OR product = ?2) \
               AND (?3 IS NULL OR status = ?3) \
             ORDER BY id"
        ))
        .map_err(|e| db.err(e))?;
    let rows = stmt
        .query_map(
            params![
                filter.customer,
                filter.product,
                filter.status.map(InstanceStatus::as_str)
            ],
            instance_row,
        )
        .map_err(|e| db.err(e))?;
    rows.collect::<Result<_, _>>()
        .map_err(|e| corrupt_or(db, e))
}

#[cfg(test)]
mod tests {
    use super::super::schema::{migrate, MIGRATIONS};
    use rusqlite::Connection;

    #[test]
    fn a_v3_database_gains_an_empty_installed_base_keeping_its_items() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ordo.db");
        let mut conn = Connection::open(&path).unwrap();
        let before = MIGRATIONS
            .iter()
            .position(|m| m.sql == super::MIGRATION)
            .unwrap();
        migrate(&mut conn, &path, &MIGRATIONS[..before]).unwrap();
        conn.execute_batch(
            "INSERT INTO orders (id, version, state, created_at, updated_at, catalog_hash, plan, document) \
             VALUES ('O-1', 1, 'completed', 't', 't', 'h', '{}', '{}'); \
             INSERT INTO items (order_id, version, item_id, idx, product, action, attributes) \
             VALUES ('O-1', 1, '1', 0, 'Line', 'add', '{}');",
        )
        .unwrap();
        migrate(&mut conn, &path, MIGRATIONS).unwrap();
        let instances: i64 = conn
            .query_row("SELECT count(*) FROM instances", [], |r| r.get(0))
            .unwrap();
        assert_eq!(instances, 0);
        let (item, instance): (String, Option<String>) = conn
            .query_row("SELECT item_id, instance FROM items", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((item.as_str(), instance), ("1", None));
    }
}
