//! Opening a state folder: a new one is created; a damaged, foreign or newer
//! one is refused and left byte for byte as it was.

mod support;

use std::path::Path;

use ordo::store::{SqliteStore, Store, StoreError, DB_FILE, SCHEMA_VERSION};

/// Opens `state`, expecting a refusal, and checks the database file was not
/// touched.
fn refused(state: &Path) -> StoreError {
    let db = state.join(DB_FILE);
    let before = std::fs::read(&db).unwrap();
    let err = SqliteStore::open(state).map(|_| ()).unwrap_err();
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "{} changed",
        db.display()
    );
    for side in ["-journal", "-wal", "-shm"] {
        assert!(
            !state.join(format!("{DB_FILE}{side}")).exists(),
            "{side} created"
        );
    }
    err
}

fn folder_with(bytes: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(DB_FILE), bytes).unwrap();
    dir
}

#[test]
fn a_new_folder_is_created_with_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("deep").join(".ordo");
    let store = SqliteStore::open(&state).unwrap();
    assert_eq!(store.path(), state.join(DB_FILE));
    assert!(store.list_orders().unwrap().is_empty());
    let db = rusqlite::Connection::open(state.join(DB_FILE)).unwrap();
    let mode: String = db
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = db
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn an_existing_store_reopens_with_its_orders() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    store
        .create_order(&support::broadband("ORD-1"), &support::document("ORD-1"))
        .unwrap();
    drop(store);
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(store.list_orders().unwrap().len(), 1);
}

#[test]
fn an_empty_file_is_initialised() {
    let dir = folder_with(b"");
    SqliteStore::open(dir.path()).unwrap();
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_untouched() {
    let dir = folder_with(b"orders: [this is somebody's YAML, not a database]\n");
    let err = refused(dir.path());
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err:?}");
    assert!(err.to_string().contains("untouched"), "{err}");
}

#[test]
fn a_damaged_sqlite_file_is_refused_untouched() {
    let mut bytes = b"SQLite format 3\0".to_vec();
    bytes.extend((0..8192u32).map(|i| (i * 7919 % 251) as u8));
    let dir = folder_with(&bytes);
    let err = refused(dir.path());
    assert!(
        matches!(
            err,
            StoreError::NotADatabase { .. } | StoreError::Corrupt { .. }
        ),
        "{err:?}"
    );
}

#[test]
fn another_programs_database_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    db.execute_batch("CREATE TABLE customers (id TEXT); INSERT INTO customers VALUES ('C-42');")
        .unwrap();
    drop(db);
    let err = refused(dir.path());
    assert!(matches!(err, StoreError::Foreign { .. }), "{err:?}");
    assert!(err.to_string().contains("not ordo's"), "{err}");
}

#[test]
fn a_database_from_a_newer_ordo_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteStore::open(dir.path()).unwrap());
    let db = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    db.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(db);
    let err = refused(dir.path());
    let StoreError::SchemaTooNew {
        found, supported, ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
}

#[test]
fn a_state_path_that_is_a_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state");
    std::fs::write(&file, "x").unwrap();
    let err = SqliteStore::open(&file).map(|_| ()).unwrap_err();
    assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
}

/// Every file in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A log or journal that holds something: more than a log's 32-byte header,
/// and not a journal begun on an empty database.
const LOG: &[u8] = b"frames that belong to the database, more than a header's worth";

#[test]
fn a_missing_or_empty_database_beside_its_log_is_refused_and_nothing_created() {
    for (db, side) in [(None, "-wal"), (Some(&b""[..]), "-wal"), (None, "-journal")] {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join(format!("{DB_FILE}{side}"));
        std::fs::write(&log, LOG).unwrap();
        if let Some(bytes) = db {
            std::fs::write(dir.path().join(DB_FILE), bytes).unwrap();
        }
        let before = names(dir.path());
        for err in [
            SqliteStore::open(dir.path()).map(|_| ()).unwrap_err(),
            SqliteStore::open_read_only(dir.path())
                .map(|_| ())
                .unwrap_err(),
        ] {
            assert!(
                matches!(&err, StoreError::JournalWithoutDatabase { journal, .. } if *journal == log),
                "{err:?}"
            );
        }
        assert_eq!(names(dir.path()), before);
        assert_eq!(std::fs::read(&log).unwrap(), LOG);
    }
    // An empty log, and the journal of a transaction begun on an empty
    // database (a first open killed while switching to WAL), hold nothing:
    // the folder is initialised.
    let mut began_empty = vec![0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7];
    began_empty.resize(512, 0);
    for (side, bytes) in [("-wal", &b""[..]), ("-journal", &began_empty[..])] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(format!("{DB_FILE}{side}")), bytes).unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        assert!(store.list_orders().unwrap().is_empty());
    }
}

#[test]
fn a_read_only_open_creates_nothing_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join(".ordo");
    assert!(SqliteStore::open_read_only(&state).unwrap().is_none());
    assert!(!state.exists());
    std::fs::create_dir(&state).unwrap();
    assert!(SqliteStore::open_read_only(&state).unwrap().is_none());
    assert!(names(&state).is_empty());

    let store = SqliteStore::open(&state).unwrap();
    store
        .create_order(&support::broadband("ORD-1"), &support::document("ORD-1"))
        .unwrap();
    drop(store);
    let before = std::fs::read(state.join(DB_FILE)).unwrap();
    let reader = SqliteStore::open_read_only(&state).unwrap().unwrap();
    assert_eq!(reader.list_orders().unwrap().len(), 1);
    assert!(reader.order_status("ORD-1").is_ok());
    assert!(reader
        .create_order(&support::broadband("ORD-2"), &support::document("ORD-2"))
        .is_err());
    assert!(reader.request_cancel("ORD-1").is_err());
    drop(reader);
    assert_eq!(names(&state), [DB_FILE]);
    assert_eq!(std::fs::read(state.join(DB_FILE)).unwrap(), before);
}

#[test]
fn a_read_only_open_reads_beside_a_writer_and_leaves_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let writer = SqliteStore::open(dir.path()).unwrap();
    writer
        .create_order(&support::broadband("ORD-1"), &support::document("ORD-1"))
        .unwrap();
    let wal = dir.path().join(format!("{DB_FILE}-wal"));
    let log = std::fs::read(&wal).unwrap();
    let reader = SqliteStore::open_read_only(dir.path()).unwrap().unwrap();
    assert_eq!(reader.list_orders().unwrap().len(), 1);
    drop(reader);
    assert_eq!(std::fs::read(&wal).unwrap(), log);
    // The writer was not kept from writing.
    writer
        .create_order(&support::broadband("ORD-2"), &support::document("ORD-2"))
        .unwrap();
}
