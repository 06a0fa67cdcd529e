//! `ordo serve`: the resident engine behind an HTTP API (`docs/server.md`).
//!
//! Startup opens the store, compiles the catalog once, reads the bindings
//! and the token, takes over the orders a dead process left, and serves
//! `/api/v1`, `/healthz`, `/metrics` and `/openapi.json`. SIGTERM or SIGINT:
//! stop accepting, start nothing new, let running advances finish (up to
//! the grace period), release their locks, exit 0.
//!
//! Everything here goes through `crate::lifecycle`, never the store's
//! implementation directly.

mod api;
mod console;
mod error;
mod hub;
mod metrics;
mod security;
mod tmf;
mod work;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use axum::Router;

use crate::exec::BindingsRecord;
use crate::lifecycle::engine::{next_poll, Engine, POLL};
use crate::lifecycle::{self, CompiledCatalog, LifecycleError};
use crate::store::{Location, Store};

/// Bodies above this are refused with 413.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// What `ordo serve` was given.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    /// The state folder: the events log and plugin logs are kept there.
    pub state: PathBuf,
    /// The store the orders are in (the state folder's, or `--store`).
    pub store: Location,
    pub catalog: PathBuf,
    pub bindings: Option<PathBuf>,
    pub jobs: usize,
    /// Whether each order's events log (`STATE/events/ORDER.jsonl`) is
    /// written too (`--events-log`); the store keeps every event anyway.
    pub events_log: lifecycle::EventsLog,
    pub token_file: Option<PathBuf>,
    /// How long running advances may take to return after SIGTERM.
    pub grace: Duration,
}

/// Why the server did not start (or stopped).
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    #[error("cannot read the token file {path}: {source}")]
    Token {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the token file {0} is empty")]
    EmptyToken(PathBuf),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Mark(#[from] lifecycle::mark::MarkError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What every handler shares.
pub(crate) struct App {
    pub engine: Arc<Engine>,
    pub catalog: CompiledCatalog,
    pub bindings: BindingsRecord,
    pub token: Option<Vec<u8>>,
    /// Held while the server runs: tells other processes on the state
    /// folder that an engine advances its orders.
    pub _mark: Option<lifecycle::mark::EngineMark>,
}

impl App {
    pub fn store(&self) -> &dyn Store {
        self.engine.store()
    }
}

/// Prepares everything that can fail before listening.
pub(crate) fn prepare(options: &ServeOptions) -> Result<App, ServeError> {
    let catalog = lifecycle::compile_catalog(lifecycle::load_catalog(&options.catalog)?)?;
    let bindings = lifecycle::read_bindings(options.bindings.as_deref())?;
    let token = match &options.token_file {
        None => None,
        Some(path) => {
            let text = std::fs::read(path).map_err(|source| ServeError::Token {
                path: path.clone(),
                source,
            })?;
            let token = text.trim_ascii().to_vec();
            if token.is_empty() {
                return Err(ServeError::EmptyToken(path.clone()));
            }
            Some(token)
        }
    };
    let store: Arc<dyn Store> = Arc::from(lifecycle::open_store(&options.store)?);
    // One engine per SQLite state folder; on PostgreSQL several share the
    // database, each owning orders through its leases.
    let mark = match &options.store {
        Location::Sqlite(dir) => Some(lifecycle::mark::EngineMark::take(dir)?),
        Location::Postgres(_) => None,
    };
    let engine = Engine::new(
        store,
        options.state.clone(),
        options.jobs,
        options.events_log,
    );
    Ok(App {
        engine,
        catalog,
        bindings,
        token,
        _mark: mark,
    })
}

/// The routes, with the security layers.
pub(crate) fn router(app: Arc<App>) -> Router {
    let api = Router::new()
        .route(
            "/api/v1/orders",
            post(api::create_order).get(api::list_orders),
        )
        .route("/api/v1/orders/{id}", get(api::show_order))
        .route("/api/v1/orders/{id}/plan", get(api::order_plan))
        .route("/api/v1/orders/{id}/events", get(api::order_events))
        .route("/api/v1/orders/{id}/cancel", post(api::cancel_order))
        .route("/api/v1/orders/{id}/revise", post(api::revise_order))
        .route(
            "/tmf-api/productOrderingManagement/{version}/productOrder",
            post(tmf::create_product_order).get(tmf::list_product_orders),
        )
        .route(
            "/tmf-api/productOrderingManagement/{version}/productOrder/{id}",
            get(tmf::show_product_order).patch(tmf::patch_product_order),
        )
        .route(
            "/tmf-api/productOrderingManagement/{version}/cancelProductOrder",
            post(tmf::create_cancel),
        )
        .route(
            "/tmf-api/productOrderingManagement/{version}/cancelProductOrder/{id}",
            get(tmf::show_cancel),
        )
        .route(
            "/tmf-api/productOrderingManagement/{version}/hub",
            post(hub::create_hub),
        )
        .route(
            "/tmf-api/productOrderingManagement/{version}/hub/{id}",
            delete(hub::delete_hub),
        )
        .route(
            "/tmf-api/productInventory/v4/product",
            get(tmf::list_products),
        )
        .route(
            "/tmf-api/productInventory/v4/product/{id}",
            get(tmf::show_product),
        )
        .route("/api/v1/orders/{id}/resume", post(api::resume_order))
        .route("/api/v1/tasks", get(work::list_tasks))
        .route("/api/v1/tasks/{order}/{task}/claim", post(work::claim))
        .route("/api/v1/tasks/{order}/{task}/release", post(work::release))
        .route(
            "/api/v1/tasks/{order}/{task}/complete",
            post(work::complete),
        )
        .route("/api/v1/tasks/{order}/{task}/fail", post(work::fail))
        .route("/api/v1/inventory", get(api::list_inventory))
        .route("/api/v1/inventory/{id}", get(api::show_instance))
        .route("/metrics", get(metrics::metrics))
        .route("/openapi.json", get(api::openapi))
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&app),
            security::require_token,
        ));
    Router::new()
        .route("/healthz", get(api::healthz))
        .merge(console::router(Arc::clone(&app)))
        .merge(api)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(app)
}

/// Runs `ordo serve` until SIGTERM or SIGINT. The bound address is printed
/// on stderr once the server listens.
pub fn serve(options: ServeOptions) -> Result<(), ServeError> {
    let app = Arc::new(prepare(&options)?);
    init_tracing();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(app, options))
}

/// Runs `round` on the blocking pool at once, then again and again until
/// the engine stops, each time [`next_poll`] after the last round began
/// (what the engine's poll and the hub loop share).
async fn paced(engine: Arc<Engine>, round: impl Fn() + Clone + Send + 'static) {
    let mut pause = Duration::ZERO;
    loop {
        tokio::time::sleep(pause).await;
        if engine.is_stopping() {
            break;
        }
        let began = std::time::Instant::now();
        let _ = tokio::task::spawn_blocking(round.clone()).await;
        pause = next_poll(began.elapsed());
    }
}

async fn run(app: Arc<App>, options: ServeOptions) -> Result<(), ServeError> {
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| ServeError::Listen {
            addr: options.listen,
            source,
        })?;
    let addr = listener.local_addr()?;
    eprintln!("ordo serve: listening on http://{addr}");
    let engine = Arc::clone(&app.engine);
    // Takeover at start, then the wake-up poll.
    let poller = tokio::spawn(paced(Arc::clone(&engine), {
        let engine = Arc::clone(&engine);
        move || {
            if let Err(e) = engine.poll() {
                tracing::error!(error = %e, "cannot read the store's orders");
            }
        }
    }));
    // TMF hub notifications, on their own thread: a slow listener delays
    // only the deliveries behind it.
    let notifier = tokio::spawn({
        let app = Arc::clone(&app);
        async move {
            let Some(client) = tokio::task::spawn_blocking(hub::client)
                .await
                .ok()
                .flatten()
            else {
                tracing::error!("no HTTP client for hub deliveries");
                return;
            };
            let client = Arc::new(client);
            let engine = Arc::clone(&app.engine);
            paced(engine, move || hub::round(&app, &client)).await;
        }
    });
    // On PostgreSQL, a change by any process (a new order, a completed work
    // item, a lease released) wakes the engine at once; the poll above is
    // the fallback when the listening connection is down.
    listen_for_changes(Arc::clone(&engine));
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("shutting down: no new attempt starts; waiting for running ones");
    let grace = options.grace;
    let stopped = tokio::task::spawn_blocking(move || engine.shutdown(grace))
        .await
        .unwrap_or(false);
    poller.abort();
    notifier.abort();
    if stopped {
        tracing::info!("every advance returned; locks released");
    } else {
        tracing::warn!("grace period over: orders still running are taken over at the next start");
    }
    Ok(())
}

/// Polls the store whenever it announces a change, until the shutdown, on
/// a thread of its own (the store's client blocks; it must not run on the
/// runtime's threads).
fn listen_for_changes(engine: Arc<Engine>) {
    let spawned = std::thread::Builder::new()
        .name("store wake-ups".into())
        .spawn(move || {
            let mut changes = match engine.store().listen() {
                Ok(Some(changes)) => changes,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "no wake-ups from the store: polling only");
                    return;
                }
            };
            while !engine.is_stopping() {
                if let crate::store::postgres::Wake::Changed(_) = changes.wait(POLL) {
                    if let Err(e) = engine.poll() {
                        tracing::error!(error = %e, "cannot read the store's orders");
                    }
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no wake-ups from the store: polling only");
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let term = async {
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// Log lines on stderr, one JSON object per line; `ORDO_LOG` filters them
/// (`info` by default).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ORDO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .try_init();
}
