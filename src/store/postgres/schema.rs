//! The PostgreSQL schema, its versions, and the checks before ordo writes to
//! a schema it did not create. The version lives in the `meta` table, whose
//! `application = 'ordo'` row marks the schema as ordo's; each migration
//! commits with its version bump, under an advisory lock so that processes
//! opening one database at once migrate it once.

use r2d2_postgres::postgres::GenericClient;

use super::{Conn, Pg};
use crate::store::StoreError;

/// One step of the schema.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Migration {
    pub version: i64,
    pub sql: &'static str,
}

/// Every PostgreSQL schema version, oldest first. Append; never edit a
/// released step. (Numbered on their own: the SQLite schema's versions are
/// another sequence.)
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: V1,
    },
    Migration {
        version: 2,
        sql: V2,
    },
    Migration {
        version: 3,
        sql: V3,
    },
    Migration {
        version: 4,
        sql: super::tmf::MIGRATION,
    },
];

/// The newest PostgreSQL schema this build understands.
pub const PG_SCHEMA_VERSION: i64 = 4;

/// Version 2, SQLite's version 5: work items (one per waiting task, with
/// the same columns), a task's `not_before` and an order's `due_at`.
const V2: &str = r#"
CREATE TABLE work_items (
    order_id    TEXT    NOT NULL,
    task_id     TEXT    NOT NULL,
    version     BIGINT  NOT NULL,
    idx         BIGINT  NOT NULL,
    team        TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    attempt     BIGINT  NOT NULL,
    assignee    TEXT,
    inputs      TEXT    NOT NULL,
    outputs     TEXT,
    reason      TEXT,
    retryable   BOOLEAN NOT NULL DEFAULT FALSE,
    ready_at    TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    finished_at TEXT,
    PRIMARY KEY (order_id, task_id)
);
CREATE INDEX work_items_by_state ON work_items (state, team);
ALTER TABLE tasks ADD COLUMN not_before TEXT;
ALTER TABLE orders ADD COLUMN due_at TEXT;
"#;

/// Version 3, SQLite's version 6: revisions, and the version of the
/// idempotency key a task redone by a revision uses.
const V3: &str = r#"
ALTER TABLE tasks ADD COLUMN key_version BIGINT;
CREATE TABLE revisions (
    order_id     TEXT    NOT NULL,
    version      BIGINT  NOT NULL,
    from_version BIGINT  NOT NULL,
    state        TEXT    NOT NULL,
    requested_at TEXT    NOT NULL,
    applied_at   TEXT,
    reason       TEXT,
    plan         TEXT    NOT NULL,
    document     TEXT    NOT NULL,
    delta        TEXT,
    PRIMARY KEY (order_id, version)
);
"#;

/// Version 1: what SQLite's schema holds at its version 4 (orders and
/// versions, items, tasks, events, the installed base), the runner lease
/// with its fencing epoch, and the order of creation (`ordinal`).
const V1: &str = r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE orders (
    id                  TEXT    NOT NULL,
    version             BIGINT  NOT NULL,
    ordinal             BIGSERIAL,
    state               TEXT    NOT NULL,
    reason              TEXT,
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL,
    catalog_hash        TEXT    NOT NULL,
    plan                TEXT    NOT NULL,
    document            TEXT    NOT NULL,
    bindings            TEXT,
    cancel_requested_at TEXT,
    PRIMARY KEY (id, version)
);
CREATE INDEX orders_by_creation ON orders (created_at, ordinal);
CREATE INDEX orders_to_advance ON orders (updated_at) WHERE state IN ('acknowledged', 'in_progress');

CREATE TABLE items (
    order_id   TEXT    NOT NULL,
    version    BIGINT  NOT NULL,
    item_id    TEXT    NOT NULL,
    idx        BIGINT  NOT NULL,
    product    TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    parent     TEXT,
    attributes TEXT    NOT NULL,
    instance   TEXT,
    PRIMARY KEY (order_id, version, item_id),
    FOREIGN KEY (order_id, version) REFERENCES orders (id, version)
);
CREATE INDEX items_by_instance ON items (instance) WHERE instance IS NOT NULL;

CREATE TABLE tasks (
    order_id           TEXT    NOT NULL,
    version            BIGINT  NOT NULL,
    task_id            TEXT    NOT NULL,
    idx                BIGINT  NOT NULL,
    item_id            TEXT,
    point_of_no_return BOOLEAN NOT NULL,
    state              TEXT    NOT NULL,
    attempts           BIGINT  NOT NULL DEFAULT 0,
    undo_attempts      BIGINT  NOT NULL DEFAULT 0,
    undoing            BOOLEAN NOT NULL DEFAULT FALSE,
    outputs            TEXT    NOT NULL DEFAULT '{}',
    last_error         TEXT,
    started_at         TEXT,
    finished_at        TEXT,
    inputs_hash        TEXT,
    process            TEXT,
    next_attempt_at    TEXT,
    PRIMARY KEY (order_id, version, task_id),
    UNIQUE (order_id, version, idx),
    FOREIGN KEY (order_id, version) REFERENCES orders (id, version)
);
CREATE INDEX tasks_points_of_no_return ON tasks (order_id, version) WHERE point_of_no_return;

CREATE TABLE events (
    order_id TEXT    NOT NULL,
    seq      BIGINT  NOT NULL,
    version  BIGINT  NOT NULL,
    at       TEXT    NOT NULL,
    event    TEXT    NOT NULL,
    PRIMARY KEY (order_id, seq)
);

CREATE TABLE runners (
    order_id     TEXT    PRIMARY KEY,
    epoch        BIGINT  NOT NULL DEFAULT 0,
    token        TEXT,
    pid          BIGINT,
    host         TEXT,
    acquired_at  TEXT,
    heartbeat_at TEXT,
    lease_until  TIMESTAMPTZ
);

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
"#;

/// Creates the schema the connection's `search_path` names first, when none
/// of its schemas exists yet (a test's fresh schema, say).
pub(crate) fn create_schema(pg: &Pg, conn: &mut Conn) -> Result<(), StoreError> {
    let failed = |e| pg.failed(e);
    let current: Option<String> = conn
        .query_one("SELECT current_schema()", &[])
        .map_err(failed)?
        .get(0);
    if current.is_some() {
        return Ok(());
    }
    let path: String = conn
        .query_one("SELECT current_setting('search_path')", &[])
        .map_err(failed)?
        .get(0);
    let first = path.split(',').next().unwrap_or_default().trim();
    let name = first.trim_matches('"').replace("\"\"", "\"");
    if name.is_empty() || name == "$user" {
        return Err(pg.refused(format!(
            "its search_path ({path}) names no schema to create the tables in"
        )));
    }
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    // Processes starting together on a new schema take turns: two `CREATE
    // SCHEMA IF NOT EXISTS` at once can both find none, and the second
    // then fails on the catalog's unique index.
    let mut tx = conn.transaction().map_err(failed)?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('ordo-schema:' || $1))",
        &[&name],
    )
    .map_err(failed)?;
    tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {quoted}"))
        .map_err(failed)?;
    tx.commit().map_err(failed)
}

/// The schema version of ordo's tables in the current schema (0: the schema
/// holds no table at all), refusing tables that are not ordo's or a version
/// newer than `supported`. Only reads.
pub(crate) fn check(
    pg: &Pg,
    conn: &mut impl GenericClient,
    supported: i64,
) -> Result<i64, StoreError> {
    let failed = |e| pg.failed(e);
    let row = conn
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE table_name = 'meta') \
             FROM information_schema.tables WHERE table_schema = current_schema()",
            &[],
        )
        .map_err(failed)?;
    let (tables, meta): (i64, i64) = (row.get(0), row.get(1));
    if tables == 0 {
        return Ok(0);
    }
    let foreign = || StoreError::PgForeign {
        location: pg.location.clone(),
    };
    if meta == 0 {
        return Err(foreign());
    }
    let rows = conn
        .query(
            "SELECT key, value FROM meta WHERE key IN ('application', 'schema_version')",
            &[],
        )
        .map_err(|_| foreign())?;
    let value = |key: &str| {
        rows.iter()
            .find(|r| r.get::<_, String>(0) == key)
            .map(|r| r.get::<_, String>(1))
    };
    if value("application").as_deref() != Some("ordo") {
        return Err(foreign());
    }
    let version = value("schema_version")
        .and_then(|v| v.parse::<i64>().ok())
        .ok_or_else(|| pg.corrupt("the meta table has no schema_version"))?;
    if version > supported {
        return Err(StoreError::PgSchemaTooNew {
            location: pg.location.clone(),
            found: version,
            supported,
        });
    }
    Ok(version)
}

/// Brings the schema up to the last of `migrations`, one transaction per
/// step, each under a transaction-scoped advisory lock so that concurrent
/// openers take turns and re-read the version.
pub(crate) fn migrate(
    pg: &Pg,
    conn: &mut Conn,
    migrations: &[Migration],
) -> Result<i64, StoreError> {
    let failed = |e| pg.failed(e);
    let latest = migrations.last().map_or(0, |m| m.version);
    loop {
        let mut tx = conn.transaction().map_err(failed)?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('ordo-migrate:' || current_schema()))",
            &[],
        )
        .map_err(failed)?;
        let version = check(pg, &mut tx, latest)?;
        let Some(step) = migrations.iter().find(|m| m.version == version + 1) else {
            return Ok(version);
        };
        tx.batch_execute(step.sql).map_err(failed)?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('application', 'ordo') \
             ON CONFLICT (key) DO NOTHING",
            &[],
        )
        .map_err(failed)?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&step.version.to_string()],
        )
        .map_err(failed)?;
        tx.commit().map_err(failed)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1);
        }
        assert_eq!(MIGRATIONS.last().unwrap().version, PG_SCHEMA_VERSION);
    }
}
