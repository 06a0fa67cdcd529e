//! The store backends a behavioural suite runs on: the SQLite store
//! always, the PostgreSQL store when `ORDO_TEST_DATABASE_URL` names a
//! server (each test in a fresh schema it drops afterwards; without the
//! variable those cases say they are skipped). `contract!(case, …)` runs
//! each `fn case(&dyn Backend)` once per backend.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

use ordo::store::{PgStore, SqliteStore, Store, StoreOptions};

pub const DATABASE_VAR: &str = "ORDO_TEST_DATABASE_URL";

/// Where a test's stores live; dropping it removes them.
pub trait Backend {
    /// A store handle (several may be open at once on one backend, as
    /// several processes would).
    fn open(&self, options: StoreOptions) -> Box<dyn Store>;

    fn store(&self) -> Box<dyn Store> {
        self.open(StoreOptions::default())
    }
}

pub struct Sqlite {
    dir: tempfile::TempDir,
}

impl Sqlite {
    pub fn new() -> Sqlite {
        Sqlite {
            dir: tempfile::tempdir().unwrap(),
        }
    }
}

impl Backend for Sqlite {
    fn open(&self, options: StoreOptions) -> Box<dyn Store> {
        Box::new(SqliteStore::open_with(&self.dir.path().join(".ordo"), options).unwrap())
    }
}

/// A fresh schema in the test database, dropped with the value.
pub struct Postgres {
    pub admin: String,
    pub schema: String,
}

impl Postgres {
    pub fn new() -> Option<Postgres> {
        static N: AtomicUsize = AtomicUsize::new(0);
        let admin = std::env::var(DATABASE_VAR).ok()?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let schema = format!(
            "ordo_test_{}_{}_{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        Some(Postgres { admin, schema })
    }

    /// The URL of the test's schema.
    pub fn url(&self) -> String {
        let sep = if self.admin.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-csearch_path%3D{}", self.admin, self.schema)
    }

    pub fn pg(&self) -> PgStore {
        PgStore::open(&self.url()).unwrap()
    }

    pub fn sql(&self, sql: &str) {
        let mut client = postgres::Client::connect(&self.url(), postgres::NoTls).unwrap();
        client.batch_execute(sql).unwrap();
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
        }
    }
}

impl Backend for Postgres {
    fn open(&self, options: StoreOptions) -> Box<dyn Store> {
        Box::new(PgStore::open_with(&self.url(), options).unwrap())
    }
}

/// Runs a case of the suite on each backend.
macro_rules! contract {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[test]
            fn sqlite() {
                super::$case(&$crate::backend_support::Sqlite::new());
            }

            #[test]
            fn postgres() {
                match $crate::backend_support::Postgres::new() {
                    Some(pg) => super::$case(&pg),
                    None => $crate::backend_support::skipped(),
                }
            }
        }
    )*};
}

/// Says so past the test harness's capture of `eprintln!`, so that a run
/// without a server shows which cases did not run.
pub fn skipped() {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "skipped: {DATABASE_VAR} is not set, so there is no PostgreSQL server to test"
    );
}

/// The PostgreSQL backend, or `None` having said the case is skipped.
pub fn postgres_or_skip() -> Option<Postgres> {
    let pg = Postgres::new();
    if pg.is_none() {
        skipped();
    }
    pg
}
