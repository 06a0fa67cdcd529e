//! The engine of `ordo serve`: advances many orders of one store at once.
//!
//! - Every order with work to do gets a thread for one [`advance`]; an
//!   order waiting (parked, held, ended) costs none.
//! - One [`AttemptLimiter`] bounds attempts across all of them (`--jobs`),
//!   together with each binding's `max_concurrent`.
//! - [`Engine::wake`] advances an order now (a new order, a cancel through
//!   the API). [`Engine::poll`], called every [`POLL`], reads the store's
//!   order list and advances every order that is not ended or held and that
//!   no live process holds: orders a dead process left `in_progress`
//!   (takeover), and orders cancelled by `ordo cancel` in another process
//!   while nobody ran them. A cancel of an order the engine runs needs no
//!   wake-up: the executor polls the store's cancel flag.
//! - A parked order ([`Advanced::Parked`]: waiting on a work item or a
//!   timer) holds no thread and no lock; the poll advances it again once
//!   its `next_due` has passed or its row in the store changed (its
//!   `updated_at` or its cancel flag: a work item completed, a cancel
//!   requested, by this process or any other).
//! - At start, the first poll records the orders whose journal ends with
//!   their parking as parked, without running them; once the orders it
//!   woke have returned, the engine is ready ([`Engine::readiness`]: every
//!   order known, every timer armed; `ordo_engine_ready` in `/metrics`).
//! - [`Engine::shutdown`] starts nothing new and waits (up to a grace
//!   period) for the running advances to return.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::advance::{advance, next_due, Advance, Advanced};
use super::store::{bindings_for, live_runner, take_order};
use super::submit::checked_bindings;
use super::LifecycleError;
use crate::exec::{AttemptLimiter, Event, ExecOptions, OrderState};
use crate::store::Store;

/// How often the engine reads the store for orders to take over or wake.
pub const POLL: Duration = Duration::from_millis(250);

/// Attempt latency histogram bounds, in seconds (Prometheus `le`).
pub const LATENCY_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// Counters of the attempts the engine ran (`/metrics`).
#[derive(Debug, Default)]
pub struct Metrics {
    pub started: AtomicU64,
    pub succeeded: AtomicU64,
    pub failed: AtomicU64,
    /// Per bucket of [`LATENCY_BUCKETS`] (cumulative at render time), then +Inf.
    pub latency: [AtomicU64; 11],
    /// Sum of attempt latencies, in microseconds.
    pub latency_sum_us: AtomicU64,
}

impl Metrics {
    /// An attempt that began at `began` ended: counted in `counter`, its
    /// latency in the histogram.
    fn ended(&self, counter: &AtomicU64, began: Option<Instant>) {
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(at) = began {
            self.observe_latency(at.elapsed());
        }
    }

    fn observe_latency(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = LATENCY_BUCKETS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.latency[i].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }
}

/// What a parked order waits for.
#[derive(Debug, Clone)]
struct Parked {
    next_due: Option<DateTime<Utc>>,
    /// The order's row when it parked (`updated_at`, cancel flag): a work
    /// item completed or a cancel requested, by any process, changes it.
    seen: (String, bool),
}

/// The resident run loop over the orders of one store.
pub struct Engine {
    store: Arc<dyn Store>,
    state: PathBuf,
    limiter: Arc<AttemptLimiter>,
    /// Orders with an advance under way in this process.
    active: Mutex<BTreeSet<String>>,
    /// Orders whose last advance parked them: not advanced again until
    /// their timer is due or their row in the store changes.
    parked: Mutex<HashMap<String, Parked>>,
    /// The orders the first poll woke whose advance has not returned yet;
    /// `None` until that poll ran. Once it is empty the engine is ready:
    /// every order of the store is known, every parked one's timer armed.
    startup: Mutex<Option<BTreeSet<String>>>,
    ready: AtomicBool,
    stopping: AtomicBool,
    pub metrics: Metrics,
}

/// What the engine knows of the store's orders (`/metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    /// The first poll ran and every order it woke was advanced (ended,
    /// parked, or left to another live process).
    pub ready: bool,
    /// Orders parked here, waiting on work items or timers.
    pub parked: usize,
    /// Parked orders with a timer set (a `wait` due at a known time).
    pub timers: usize,
}

impl Engine {
    /// An engine over `store` (kept in the state folder `state`) running at
    /// most `jobs` attempts at once over all its orders.
    pub fn new(store: Arc<dyn Store>, state: PathBuf, jobs: usize) -> Arc<Engine> {
        Arc::new(Engine {
            store,
            state,
            limiter: Arc::new(AttemptLimiter::new(jobs)),
            active: Mutex::new(BTreeSet::new()),
            parked: Mutex::new(HashMap::new()),
            startup: Mutex::new(None),
            ready: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            metrics: Metrics::default(),
        })
    }

    pub fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// The state folder of the store.
    pub fn state(&self) -> &std::path::Path {
        &self.state
    }

    /// Orders with an advance under way here.
    pub fn active(&self) -> Vec<String> {
        self.lock_active().iter().cloned().collect()
    }

    fn lock_parked(&self) -> std::sync::MutexGuard<'_, HashMap<String, Parked>> {
        self.parked.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_active(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_startup(&self) -> std::sync::MutexGuard<'_, Option<BTreeSet<String>>> {
        self.startup.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the engine is ready, and its parked orders and timers.
    pub fn readiness(&self) -> Readiness {
        let parked = self.lock_parked();
        Readiness {
            ready: self.ready.load(Ordering::SeqCst),
            parked: parked.len(),
            timers: parked.values().filter(|p| p.next_due.is_some()).count(),
        }
    }

    /// `order`'s advance returned: once the first poll's have all returned,
    /// the engine is ready (logged once, with what it knows).
    fn returned(&self, order: Option<&str>) {
        let done = {
            let mut startup = self.lock_startup();
            match startup.as_mut() {
                Some(left) => {
                    if let Some(order) = order {
                        left.remove(order);
                    }
                    left.is_empty()
                }
                None => false,
            }
        };
        if done && !self.ready.swap(true, Ordering::SeqCst) {
            let r = self.readiness();
            tracing::info!(
                parked = r.parked,
                timers = r.timers,
                "engine ready: every order known, every timer armed"
            );
        }
    }

    /// Advances `order` on a thread of its own, unless it is already
    /// advancing here or the engine is shutting down.
    pub fn wake(self: &Arc<Self>, order: &str) {
        self.start(order, false);
    }

    /// As [`Engine::wake`], and also continues a `held` order (someone fixed
    /// the cause: the console's resume, as `ordo resume`).
    pub fn resume(self: &Arc<Self>, order: &str) {
        self.start(order, true);
    }

    fn start(self: &Arc<Self>, order: &str, held_too: bool) {
        if self.stopping.load(Ordering::SeqCst) || !self.lock_active().insert(order.to_string()) {
            return;
        }
        let engine = Arc::clone(self);
        let order = order.to_string();
        let spawned = std::thread::Builder::new()
            .name(format!("order {order}"))
            .spawn({
                let order = order.clone();
                move || {
                    if let Err(e) = engine.advance_one(&order, held_too) {
                        tracing::error!(order = %order, error = %e, "the order could not be advanced");
                    }
                    engine.lock_active().remove(&order);
                    engine.returned(Some(&order));
                }
            });
        if let Err(e) = spawned {
            tracing::error!(order = %order, error = %e, "no thread to advance the order");
            self.lock_active().remove(&order);
            self.returned(Some(&order));
        }
    }

    /// Reads the store and wakes every order that has work to do and that
    /// no live process holds (see the module's documentation).
    pub fn poll(self: &Arc<Self>) -> Result<(), LifecycleError> {
        let first = self.lock_startup().is_none();
        let mut woken = BTreeSet::new();
        let active = self.lock_active().clone();
        for summary in self.store.list_orders()? {
            let waiting = matches!(
                summary.state,
                OrderState::Acknowledged | OrderState::InProgress
            );
            if !waiting || active.contains(&summary.id) {
                continue;
            }
            let seen = (summary.updated_at.clone(), summary.cancel_requested);
            if first {
                self.known_parked(&summary.id, &seen)?;
            }
            if let Some(p) = self.lock_parked().get(&summary.id) {
                let due = p.next_due.is_some_and(|d| d <= Utc::now());
                if !due && p.seen == seen {
                    continue;
                }
            }
            if live_runner(&*self.store, &summary.id)?.is_none() {
                woken.insert(summary.id);
            }
        }
        if first {
            // Recorded before they start: an advance that returns at once
            // finds itself in the set.
            *self.lock_startup() = Some(woken.clone());
        }
        for id in &woken {
            self.wake(id);
        }
        if first {
            self.returned(None);
        }
        Ok(())
    }

    /// At start, an order whose journal ends with its run parking it (and
    /// with nothing asked of it since: no cancel, no revision) is recorded
    /// as parked from that event, without a run: its next run would park it
    /// again on the same work items and timers, which the journal holds.
    /// Any change since (a work item ended, a time come due, a cancel)
    /// wakes it as it wakes an order parked by this process. A restart thus
    /// costs a read per parked order, not an executor run.
    fn known_parked(&self, order: &str, seen: &(String, bool)) -> Result<(), LifecycleError> {
        if seen.1 || self.store.pending_revision(order)?.is_some() {
            return Ok(());
        }
        let events = self.store.events(order)?;
        if let Some(Event::Parked { waiting }) = events.last().map(|e| &e.event) {
            self.lock_parked().insert(
                order.to_string(),
                Parked {
                    next_due: next_due(waiting),
                    seen: seen.clone(),
                },
            );
        }
        Ok(())
    }

    /// One advance of `order`, from its stored state, with the bindings the
    /// store keeps with it.
    fn advance_one(&self, order: &str, held_too: bool) -> Result<(), LifecycleError> {
        let (lock, stored) = match take_order(&*self.store, order) {
            Ok(taken) => taken,
            // Another live process got there first: it advances the order.
            Err(LifecycleError::Store(crate::store::StoreError::Locked { .. })) => return Ok(()),
            Err(e) => return Err(e),
        };
        if stored.state.is_final() || (stored.state == OrderState::Held && !held_too) {
            return Ok(());
        }
        let (record, _) = bindings_for(&self.state, &stored, None)?;
        let bindings = checked_bindings(&record, &stored.plan)?;
        let ids: Vec<&str> = stored.plan.tasks.iter().map(|t| t.id.as_str()).collect();
        let mut began: HashMap<(usize, bool), Instant> = HashMap::new();
        let mut observer = |event: &Event| self.observe(order, &ids, &mut began, event);
        let a = Advance {
            options: ExecOptions {
                limiter: Some(Arc::clone(&self.limiter)),
                ..ExecOptions::default()
            },
            ..Advance::stored(&*self.store, &lock, &self.state, &stored, &bindings)
        };
        let advanced = match advance(a, &mut observer) {
            Err(LifecycleError::Exec(crate::exec::ExecError::Stopped)) => {
                tracing::info!(order = %order, "order stopped for the shutdown; it continues at the next start");
                return Ok(());
            }
            other => other?,
        };
        self.lock_parked().remove(order);
        match advanced {
            Advanced::Ended(outcome) => {
                tracing::info!(order = %order, state = outcome.state.as_str(), "order advanced to its end");
            }
            Advanced::Parked { next_due, .. } => {
                tracing::info!(order = %order, next_due = ?next_due, "order parked");
                // Released before it is recorded as parked: the row read
                // now is the one later changes are compared with.
                drop(lock);
                let row = self.store.load(order)?;
                self.lock_parked().insert(
                    order.to_string(),
                    Parked {
                        next_due,
                        seen: (row.updated_at, row.cancel_requested),
                    },
                );
            }
        }
        Ok(())
    }

    /// The structured log line of every transition, and the metrics.
    fn observe(
        &self,
        order: &str,
        ids: &[&str],
        began: &mut HashMap<(usize, bool), Instant>,
        event: &Event,
    ) {
        let task = |t: &usize| ids.get(*t).copied().unwrap_or("?");
        match event {
            Event::Order { state, reason } => {
                tracing::info!(order = %order, state = state.as_str(), reason = reason.as_deref().unwrap_or(""), "order transition");
            }
            Event::Started {
                task: t,
                attempt,
                undo,
            } => {
                self.metrics.started.fetch_add(1, Ordering::Relaxed);
                began.insert((*t, *undo), Instant::now());
                tracing::info!(order = %order, task = task(t), attempt, undo, "attempt started");
            }
            Event::Succeeded {
                task: t,
                attempt,
                undo,
                ..
            } => {
                self.metrics
                    .ended(&self.metrics.succeeded, began.remove(&(*t, *undo)));
                tracing::info!(order = %order, task = task(t), attempt, undo, "attempt succeeded");
            }
            Event::AttemptFailed {
                task: t,
                attempt,
                undo,
                error,
                ..
            } => {
                self.metrics
                    .ended(&self.metrics.failed, began.remove(&(*t, *undo)));
                tracing::warn!(order = %order, task = task(t), attempt, undo, error = %error, "attempt failed");
            }
            Event::Task {
                task: t,
                state,
                error,
            } => {
                tracing::info!(order = %order, task = task(t), state = state.as_str(), error = error.as_deref().unwrap_or(""), "task transition");
            }
            Event::Waiting { task: t, until } => {
                tracing::info!(order = %order, task = task(t), until = %until, "task waits");
            }
            Event::WorkOpened { task: t, team, .. } => {
                tracing::info!(order = %order, task = task(t), team = %team, "work item opened");
            }
            Event::Work {
                task: t,
                change,
                by,
                ..
            } => {
                tracing::info!(order = %order, task = task(t), change = ?change, by = %by, "work item changed");
            }
            Event::Parked { waiting } => {
                let on: Vec<String> = waiting.iter().map(ToString::to_string).collect();
                tracing::info!(order = %order, waiting = %on.join(", "), "order parked");
            }
            Event::Spawned { .. } => {}
        }
    }

    /// Starts nothing new (no order, no attempt) and waits up to `grace`
    /// for the running attempts to finish and their advances to return;
    /// true when they all did. Their locks are released as they return; an
    /// order still running at the end is taken over by the next engine or
    /// `ordo resume` (its runner is gone).
    pub fn shutdown(&self, grace: Duration) -> bool {
        self.stopping.store(true, Ordering::SeqCst);
        self.limiter.close();
        let until = Instant::now() + grace;
        while Instant::now() < until {
            if self.lock_active().is_empty() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.lock_active().is_empty()
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}
