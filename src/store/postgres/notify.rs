//! Wake-ups on order changes: every transaction that creates an order,
//! records its events, asks to cancel it or frees its lock notifies the
//! schema's channel (`ordo_` and the MD5 of the schema's name) with the
//! order id, delivered when it commits. A [`Listener`] holds its own
//! connection (not one of the pool's) that `LISTEN`s to it.

use std::time::{Duration, Instant};

use r2d2_postgres::postgres::fallible_iterator::FallibleIterator;
use r2d2_postgres::postgres::{Client, NoTls};

use super::{Pg, CHANNEL};
use crate::store::StoreError;

/// A connection listening for order changes.
pub struct Listener {
    config: r2d2_postgres::postgres::Config,
    location: String,
    client: Option<Client>,
}

/// What [`Listener::wait`] woke up for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wake {
    /// An order changed (its id).
    Changed(String),
    /// The timeout passed without a notification, or the listening
    /// connection is down (and is reconnected at the next wait): either way,
    /// the caller polls the store.
    Timeout,
}

impl Listener {
    pub(crate) fn new(pg: &Pg) -> Result<Listener, StoreError> {
        let mut listener = Listener {
            config: pg.config.clone(),
            location: pg.location.clone(),
            client: None,
        };
        listener.client = Some(listener.connect()?);
        Ok(listener)
    }

    fn connect(&self) -> Result<Client, StoreError> {
        let failed = |e: r2d2_postgres::postgres::Error| StoreError::Postgres {
            location: self.location.clone(),
            detail: e.to_string(),
        };
        let mut client = self.config.connect(NoTls).map_err(failed)?;
        let channel: String = client
            .query_one(&format!("SELECT {CHANNEL}"), &[])
            .map_err(failed)?
            .get(0);
        // A quoted identifier: `ordo_` and hex digits only.
        client
            .batch_execute(&format!("LISTEN \"{channel}\""))
            .map_err(failed)?;
        Ok(client)
    }

    /// Waits at most `timeout` for an order change. A notification that
    /// arrived since the last wait returns at once. When the connection is
    /// lost, waits out the timeout (polling fallback) and tries to listen
    /// again at the next call; changes made meanwhile are found by polling.
    pub fn wait(&mut self, timeout: Duration) -> Wake {
        let deadline = Instant::now() + timeout;
        if self.client.is_none() {
            self.client = self.connect().ok();
        }
        let Some(client) = self.client.as_mut() else {
            std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
            return Wake::Timeout;
        };
        let left = deadline.saturating_duration_since(Instant::now());
        let next = client.notifications().timeout_iter(left).next();
        match next {
            Ok(Some(n)) => Wake::Changed(n.payload().to_string()),
            Ok(None) if !client.is_closed() => Wake::Timeout,
            _ => {
                self.client = None;
                std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
                Wake::Timeout
            }
        }
    }

    /// Whether the listening connection is up.
    pub fn connected(&self) -> bool {
        self.client.as_ref().is_some_and(|c| !c.is_closed())
    }
}
