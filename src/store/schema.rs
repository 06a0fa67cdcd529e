//! The database schema, its versions, and the checks that run before ordo
//! writes a single byte to a database file it did not just create.
//!
//! The schema version lives in SQLite's `user_version` and, beside it, in the
//! `meta` table, whose `application = 'ordo'` row is what marks a database as
//! ordo's. Migrations run in order, each in the same transaction that bumps
//! the version, so a crash leaves the database at one version or the next.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::StoreError;

/// One step of the schema: the SQL that takes version `version - 1` to `version`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Migration {
    pub version: i64,
    pub sql: &'static str,
}

/// Every schema version, oldest first. Append; never edit a released step.
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
        sql: super::instances::MIGRATION,
    },
    Migration {
        version: 5,
        sql: super::work::MIGRATION,
    },
    Migration {
        version: 6,
        sql: super::revisions::MIGRATION,
    },
    Migration {
        version: 7,
        sql: super::tmf::MIGRATION,
    },
    Migration {
        version: 8,
        sql: V8,
    },
    Migration {
        version: 9,
        sql: V9,
    },
];

/// The newest schema this build understands.
pub const SCHEMA_VERSION: i64 = 9;

/// Version 9: an order version's plan and document in a table of their
/// own, `order_plans`, written once when the version is stored. In the
/// `orders` row they made every change of the order's state (`in_progress`,
/// `completed`, a cancel request) rewrite megabytes for a large order:
/// SQLite writes a changed row whole, its overflow pages too. Existing rows
/// move over.
const V9: &str = "CREATE TABLE order_plans (
    order_id TEXT    NOT NULL,
    version  INTEGER NOT NULL,
    plan     TEXT    NOT NULL,
    document TEXT    NOT NULL,
    PRIMARY KEY (order_id, version),
    FOREIGN KEY (order_id, version) REFERENCES orders (id, version)
);
INSERT INTO order_plans (order_id, version, plan, document)
    SELECT id, version, plan, document FROM orders;
ALTER TABLE orders DROP COLUMN plan;
ALTER TABLE orders DROP COLUMN document;";

/// Version 8: an index that answers a runner's cancel poll (asked before
/// every round that starts work) without reading the order's row, whose
/// plan and document come before `cancel_requested_at` and run to megabytes
/// for a large order.
const V8: &str =
    "CREATE INDEX orders_cancel_requested ON orders (id, version, cancel_requested_at);";

/// Version 3: the bindings an order runs with (a `BindingsRecord` as JSON:
/// the file's text and folder), kept with the order instead of as a path in
/// `runs/ORDER.json` (null for an order stored before: its runs file, if
/// any, is read instead); and when a task waiting for a retry makes its
/// next attempt.
const V3: &str = "ALTER TABLE orders ADD COLUMN bindings TEXT;
ALTER TABLE tasks ADD COLUMN next_attempt_at TEXT;";

/// Version 2: the process of a task's attempt under way (an exec plugin's
/// process group, as JSON), recorded before the plugin is sent its request,
/// so a resume can make sure it is gone before asking again.
const V2: &str = "ALTER TABLE tasks ADD COLUMN process TEXT;";

const V1: &str = r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE orders (
    id                  TEXT    NOT NULL,
    version             INTEGER NOT NULL,
    state               TEXT    NOT NULL,
    reason              TEXT,
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL,
    catalog_hash        TEXT    NOT NULL,
    plan                TEXT    NOT NULL,
    document            TEXT    NOT NULL,
    cancel_requested_at TEXT,
    PRIMARY KEY (id, version)
);
CREATE INDEX orders_by_creation ON orders (created_at);

CREATE TABLE items (
    order_id   TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    item_id    TEXT    NOT NULL,
    idx        INTEGER NOT NULL,
    product    TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    parent     TEXT,
    attributes TEXT    NOT NULL,
    PRIMARY KEY (order_id, version, item_id),
    FOREIGN KEY (order_id, version) REFERENCES orders (id, version)
);

CREATE TABLE tasks (
    order_id           TEXT    NOT NULL,
    version            INTEGER NOT NULL,
    task_id            TEXT    NOT NULL,
    idx                INTEGER NOT NULL,
    item_id            TEXT,
    point_of_no_return INTEGER NOT NULL,
    state              TEXT    NOT NULL,
    attempts           INTEGER NOT NULL DEFAULT 0,
    undo_attempts      INTEGER NOT NULL DEFAULT 0,
    undoing            INTEGER NOT NULL DEFAULT 0,
    outputs            TEXT    NOT NULL DEFAULT '{}',
    last_error         TEXT,
    started_at         TEXT,
    finished_at        TEXT,
    inputs_hash        TEXT,
    PRIMARY KEY (order_id, version, task_id),
    UNIQUE (order_id, version, idx),
    FOREIGN KEY (order_id, version) REFERENCES orders (id, version)
);
CREATE INDEX tasks_points_of_no_return ON tasks (order_id, version) WHERE point_of_no_return = 1;

CREATE TABLE events (
    order_id TEXT    NOT NULL,
    seq      INTEGER NOT NULL,
    version  INTEGER NOT NULL,
    at       TEXT    NOT NULL,
    event    TEXT    NOT NULL,
    PRIMARY KEY (order_id, seq)
) WITHOUT ROWID;

CREATE TABLE runners (
    order_id     TEXT    PRIMARY KEY,
    token        TEXT    NOT NULL,
    pid          INTEGER NOT NULL,
    host         TEXT    NOT NULL,
    acquired_at  TEXT    NOT NULL,
    heartbeat_at TEXT    NOT NULL
);
"#;

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// What [`inspect`] found at the database path.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// No file, or an empty one: safe to create.
    Nothing,
    /// An SQLite file; whose it is, the connection will tell.
    Sqlite,
}

/// Looks at the file's first bytes without SQLite, so that a file that is
/// not a database is never handed to SQLite (which could write to it).
pub(crate) fn inspect(path: &Path) -> Result<Found, StoreError> {
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Found::Nothing),
        Err(e) => return Err(io(e)),
    };
    if !file.metadata().map_err(io)?.is_file() {
        return Err(StoreError::NotADatabase {
            path: path.to_path_buf(),
        });
    }
    let mut header = Vec::with_capacity(16);
    file.by_ref()
        .take(16)
        .read_to_end(&mut header)
        .map_err(io)?;
    match header.as_slice() {
        [] => Ok(Found::Nothing),
        h if h == SQLITE_HEADER => Ok(Found::Sqlite),
        _ => Err(StoreError::NotADatabase {
            path: path.to_path_buf(),
        }),
    }
}

/// Reads the schema version of an existing database and refuses one that is
/// not ordo's or is newer than `supported`. Only reads.
pub(crate) fn check(conn: &Connection, path: &Path, supported: i64) -> Result<i64, StoreError> {
    let sqlite = |e| StoreError::sqlite(path, e);
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .map_err(sqlite)?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sqlite)?;
    if tables == 0 && version == 0 {
        // An empty database (an interrupted first open): nothing to lose.
        return Ok(0);
    }
    let has_meta: bool = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map_err(sqlite)?
        == 1;
    let application: Option<String> = if has_meta {
        conn.query_row(
            "SELECT value FROM meta WHERE key = 'application'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(sqlite)?
    } else {
        None
    };
    if application.as_deref() != Some("ordo") {
        return Err(StoreError::Foreign {
            path: path.to_path_buf(),
        });
    }
    if version > supported {
        return Err(StoreError::SchemaTooNew {
            path: path.to_path_buf(),
            found: version,
            supported,
        });
    }
    Ok(version)
}

/// Brings the database up to the last of `migrations`. Each step and its
/// version bump commit together; the version is re-read inside the write
/// transaction, so two processes opening an old database migrate it once.
pub(crate) fn migrate(
    conn: &mut Connection,
    path: &Path,
    migrations: &[Migration],
) -> Result<i64, StoreError> {
    let sqlite = |e| StoreError::sqlite(path, e);
    let latest = migrations.last().map_or(0, |m| m.version);
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite)?;
        let version = check(&tx, path, latest)?;
        let Some(step) = migrations.iter().find(|m| m.version == version + 1) else {
            return Ok(version);
        };
        tx.execute_batch(step.sql).map_err(sqlite)?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('application', 'ordo') \
             ON CONFLICT (key) DO NOTHING",
            [],
        )
        .map_err(sqlite)?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [step.version.to_string()],
        )
        .map_err(sqlite)?;
        tx.pragma_update(None, "user_version", step.version)
            .map_err(sqlite)?;
        tx.commit().map_err(sqlite)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEXT: Migration = Migration {
        version: 2,
        sql: "ALTER TABLE orders ADD COLUMN customer TEXT;",
    };

    fn temp_db() -> (tempfile::TempDir, std::path::PathBuf, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ordo.db");
        let conn = Connection::open(&path).unwrap();
        (dir, path, conn)
    }

    #[test]
    fn migrations_are_numbered_in_order() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1);
        }
        assert_eq!(MIGRATIONS.last().unwrap().version, SCHEMA_VERSION);
    }

    #[test]
    fn a_new_database_reaches_the_latest_version() {
        let (_dir, path, mut conn) = temp_db();
        assert_eq!(
            migrate(&mut conn, &path, MIGRATIONS).unwrap(),
            SCHEMA_VERSION
        );
        assert_eq!(check(&conn, &path, SCHEMA_VERSION).unwrap(), SCHEMA_VERSION);
        let stored: String = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(stored, SCHEMA_VERSION.to_string());
    }

    #[test]
    fn a_v1_database_is_upgraded_keeping_its_rows() {
        let (_dir, path, mut conn) = temp_db();
        migrate(&mut conn, &path, &MIGRATIONS[..1]).unwrap();
        conn.execute(
            "INSERT INTO orders (id, version, state, created_at, updated_at, catalog_hash, plan, document) \
             VALUES ('O-1', 1, 'acknowledged', 't', 't', 'h', '{}', '{}')",
            [],
        )
        .unwrap();
        let with_v2 = [MIGRATIONS[0], NEXT];
        assert_eq!(migrate(&mut conn, &path, &with_v2).unwrap(), 2);
        let (id, customer): (String, Option<String>) = conn
            .query_row("SELECT id, customer FROM orders", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((id.as_str(), customer), ("O-1", None));
        // Migrating again is a no-op.
        assert_eq!(migrate(&mut conn, &path, &with_v2).unwrap(), 2);
        // And the v1-only build now refuses the database.
        assert!(matches!(
            check(&conn, &path, 1),
            Err(StoreError::SchemaTooNew {
                found: 2,
                supported: 1,
                ..
            })
        ));
    }

    #[test]
    fn a_v1_database_gains_the_attempts_process_column() {
        let (_dir, path, mut conn) = temp_db();
        migrate(&mut conn, &path, &MIGRATIONS[..1]).unwrap();
        conn.execute_batch(
            "INSERT INTO orders (id, version, state, created_at, updated_at, catalog_hash, plan, document) \
             VALUES ('O-1', 1, 'in_progress', 't', 't', 'h', '{}', '{}'); \
             INSERT INTO tasks (order_id, version, task_id, idx, point_of_no_return, state) \
             VALUES ('O-1', 1, '1/a', 0, 0, 'running');",
        )
        .unwrap();
        assert_eq!(
            migrate(&mut conn, &path, MIGRATIONS).unwrap(),
            SCHEMA_VERSION
        );
        let (state, process): (String, Option<String>) = conn
            .query_row("SELECT state, process FROM tasks", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        // An attempt interrupted under v1 has no process on record: a resume
        // invokes it again as before.
        assert_eq!((state.as_str(), process), ("running", None));
    }

    #[test]
    fn v1_and_v2_databases_gain_the_orders_bindings_column_keeping_their_rows() {
        for from in [1, 2] {
            let (_dir, path, mut conn) = temp_db();
            migrate(&mut conn, &path, &MIGRATIONS[..from]).unwrap();
            conn.execute(
                "INSERT INTO orders (id, version, state, created_at, updated_at, catalog_hash, plan, document) \
                 VALUES ('O-1', 1, 'held', 't', 't', 'h', '{}', '{}')",
                [],
            )
            .unwrap();
            assert_eq!(
                migrate(&mut conn, &path, MIGRATIONS).unwrap(),
                SCHEMA_VERSION
            );
            let (state, bindings): (String, Option<String>) = conn
                .query_row("SELECT state, bindings FROM orders", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .unwrap();
            // No bindings on record: the CLI falls back to `runs/ORDER.json`.
            assert_eq!((state.as_str(), bindings), ("held", None), "from v{from}");
        }
    }

    fn order_rowids(conn: &Connection) -> Vec<i64> {
        conn.prepare("SELECT rowid FROM orders ORDER BY version")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn a_v8_database_moves_its_plans_out_of_the_orders_rows() {
        let (_dir, path, mut conn) = temp_db();
        migrate(&mut conn, &path, &MIGRATIONS[..8]).unwrap();
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; \
             INSERT INTO orders (id, version, state, reason, created_at, updated_at, catalog_hash, \
                 plan, document, cancel_requested_at, bindings, due_at) \
             VALUES ('O-1', 1, 'held', 'why', 't1', 't2', 'h', '{\"p\":1}', '{\"d\":1}', 't3', 'b', 'd'), \
                    ('O-1', 2, 'in_progress', NULL, 't1', 't4', 'h', '{\"p\":2}', '{\"d\":2}', NULL, NULL, NULL); \
             INSERT INTO tasks (order_id, version, task_id, idx, point_of_no_return, state) \
             VALUES ('O-1', 2, '1/a', 0, 0, 'running');",
        )
        .unwrap();
        let rowids = order_rowids(&conn);
        assert_eq!(migrate(&mut conn, &path, MIGRATIONS).unwrap(), 9);
        let plans: Vec<(u32, String, String)> = conn
            .prepare("SELECT version, plan, document FROM order_plans WHERE order_id = 'O-1' ORDER BY version")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            plans,
            [
                (1, r#"{"p":1}"#.to_string(), r#"{"d":1}"#.to_string()),
                (2, r#"{"p":2}"#.to_string(), r#"{"d":2}"#.to_string())
            ]
        );
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('orders')")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            !columns.iter().any(|c| c == "plan" || c == "document"),
            "{columns:?}"
        );
        // Every other column and the rows' order (their rowids) stay.
        let first: String = conn
            .query_row(
                "SELECT json_array(state, reason, created_at, updated_at, cancel_requested_at, \
                     bindings, due_at) FROM orders WHERE version = 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(first, r#"["held","why","t1","t2","t3","b","d"]"#);
        assert_eq!(order_rowids(&conn), rowids);
        let tasks: i64 = conn
            .query_row("SELECT count(*) FROM tasks WHERE version = 2", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(tasks, 1);
        let broken: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(broken, 0);
    }

    #[test]
    fn a_failing_step_leaves_the_previous_version() {
        let (_dir, path, mut conn) = temp_db();
        migrate(&mut conn, &path, &MIGRATIONS[..1]).unwrap();
        let broken = [
            MIGRATIONS[0],
            Migration {
                version: 2,
                sql: "ALTER TABLE orders ADD COLUMN x TEXT; ALTER TABLE nowhere ADD COLUMN y TEXT;",
            },
        ];
        assert!(migrate(&mut conn, &path, &broken).is_err());
        assert_eq!(check(&conn, &path, 2).unwrap(), 1);
        let has_x: i64 = conn
            .query_row(
                "SELECT count(*) FROM pragma_table_info('orders') WHERE name = 'x'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(has_x, 0);
    }

    #[test]
    fn a_database_without_ordo_meta_is_foreign() {
        let (_dir, path, conn) = temp_db();
        conn.execute_batch("CREATE TABLE meta (key TEXT, value TEXT); CREATE TABLE t (x);")
            .unwrap();
        assert!(matches!(
            check(&conn, &path, 1),
            Err(StoreError::Foreign { .. })
        ));
    }

    #[test]
    fn inspect_tells_empty_from_foreign_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ordo.db");
        assert_eq!(inspect(&path).unwrap(), Found::Nothing);
        std::fs::write(&path, b"").unwrap();
        assert_eq!(inspect(&path).unwrap(), Found::Nothing);
        std::fs::write(&path, b"SQLite").unwrap();
        assert!(matches!(
            inspect(&path),
            Err(StoreError::NotADatabase { .. })
        ));
        assert!(matches!(
            inspect(dir.path()),
            Err(StoreError::NotADatabase { .. })
        ));
    }
}
