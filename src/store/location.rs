//! Which store a command uses: the one function the CLI (and the server)
//! picks a store through. `--store URL` (env `ORDO_STORE`) names one;
//! without it, the state folder of `--state` holds an SQLite store.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{PgStore, SqliteStore, Store, StoreError, StoreOptions};

/// Where the orders are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite store in a state folder (`--state DIR`, `--store sqlite:DIR`).
    Sqlite(PathBuf),
    /// A PostgreSQL store (`--store postgres://…` or `postgresql://…`).
    Postgres(String),
}

impl Location {
    /// The store `--store` names, else the state folder.
    pub fn parse(store: Option<&str>, state: &Path) -> Result<Location, StoreError> {
        let Some(url) = store else {
            return Ok(Location::Sqlite(state.to_path_buf()));
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Location::Postgres(url.to_string()));
        }
        if let Some(dir) = url.strip_prefix("sqlite:") {
            if !dir.is_empty() {
                return Ok(Location::Sqlite(PathBuf::from(dir)));
            }
        }
        Err(StoreError::StoreUrl {
            url: super::postgres::redact(url),
            detail: "a store is named by a postgres:// (or postgresql://) URL, or by sqlite:DIR"
                .into(),
        })
    }
}

/// The environment variable that sets the PostgreSQL runner lease, in
/// milliseconds (default 30 000); the heartbeat renews it every third of it.
pub const LEASE_VAR: &str = "ORDO_LEASE_MS";

/// The PostgreSQL store's options: the defaults, with the lease
/// [`LEASE_VAR`] sets.
pub fn pg_options() -> Result<StoreOptions, StoreError> {
    pg_options_from(std::env::var(LEASE_VAR).ok().as_deref())
}

fn pg_options_from(lease: Option<&str>) -> Result<StoreOptions, StoreError> {
    let mut options = StoreOptions::default();
    if let Some(text) = lease {
        let ms: u64 = text
            .trim()
            .parse()
            .ok()
            .filter(|&ms| ms >= 30)
            .ok_or_else(|| StoreError::Lease {
                value: text.to_string(),
            })?;
        options.stale_after = Duration::from_millis(ms);
        options.heartbeat_every = Duration::from_millis(ms / 3);
    }
    Ok(options)
}

/// Opens the store to write, creating or migrating its schema.
pub fn open_store(location: &Location) -> Result<Box<dyn Store>, StoreError> {
    Ok(match location {
        Location::Sqlite(dir) => Box::new(SqliteStore::open(dir)?),
        Location::Postgres(url) => Box::new(PgStore::open_with(url, pg_options()?)?),
    })
}

/// Opens the store for a reading command, writing nothing: `None` when
/// nothing was ever stored there.
pub fn open_read_only(location: &Location) -> Result<Option<Box<dyn Store>>, StoreError> {
    Ok(match location {
        Location::Sqlite(dir) => {
            SqliteStore::open_read_only(dir)?.map(|s| Box::new(s) as Box<dyn Store>)
        }
        Location::Postgres(url) => {
            PgStore::open_read_only(url)?.map(|s| Box::new(s) as Box<dyn Store>)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend() {
        let state = Path::new(".ordo");
        assert_eq!(
            Location::parse(None, state).unwrap(),
            Location::Sqlite(".ordo".into())
        );
        assert_eq!(
            Location::parse(Some("sqlite:/tmp/s"), state).unwrap(),
            Location::Sqlite("/tmp/s".into())
        );
        assert_eq!(
            Location::parse(Some("postgres://u@h/db"), state).unwrap(),
            Location::Postgres("postgres://u@h/db".into())
        );
        let lease = pg_options_from(Some("900")).unwrap();
        assert_eq!(lease.stale_after, Duration::from_millis(900));
        assert_eq!(lease.heartbeat_every, Duration::from_millis(300));
        assert_eq!(
            pg_options_from(None).unwrap().stale_after,
            StoreOptions::default().stale_after
        );
        for bad in ["", "10", "-5", "1s"] {
            assert!(matches!(
                pg_options_from(Some(bad)),
                Err(StoreError::Lease { .. })
            ));
        }
        for bad in ["mysql://h/db", "sqlite:", "/tmp/x"] {
            assert!(matches!(
                Location::parse(Some(bad), state),
                Err(StoreError::StoreUrl { .. })
            ));
        }
    }
}
