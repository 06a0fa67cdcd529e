//! The engine of `ordo serve`: advances many orders of one store at once.
//!
//! - Every order with work to do is queued for one [`advance`], which one
//!   of a fixed set of runner threads (`--jobs` of them, started as they
//!   are first needed) takes in turn: at most that many orders advance at
//!   once, whatever the number submitted, so that the cost of an order does
//!   not grow with the orders in flight (each advancing order holds its
//!   runner lock and its executor's threads, and competes for the store's
//!   writer). An order waiting (parked, held, ended) costs no runner.
//! - One [`AttemptLimiter`] bounds attempts across all of them (`--jobs`),
//!   together with each binding's `max_concurrent`.
//! - [`Engine::wake`] queues an order now (a new order, a cancel through
//!   the API). [`Engine::poll`], called every [`POLL`], reads the store's
//!   orders that may have work to do ([`Store::waiting_orders`]) and
//!   advances every one that no live process holds: orders a dead process
//!   left `in_progress` (takeover), and orders cancelled by `ordo cancel`
//!   in another process while nobody ran them. A cancel of an order the
//!   engine runs needs no wake-up: the executor polls the store's cancel
//!   flag.
//! - A parked order ([`Advanced::Parked`]: waiting on a work item or a
//!   timer) holds no thread and no lock; the poll advances it again once
//!   its `next_due` has passed or its row in the store changed (its
//!   `updated_at` or its cancel flag: a work item completed, a cancel
//!   requested, by this process or any other).
//! - At start, the first poll records the orders whose journal ends with
//!   their parking as parked, without running them; once the orders it
//!   woke have returned, the engine is ready ([`Engine::readiness`]: every
//!   order known, every timer armed; `ordo_engine_ready` in `/metrics`).
//! - [`Engine::shutdown`] starts nothing new (the orders still queued are
//!   advanced at the next start) and waits (up to a grace period) for the
//!   running advances to return.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::advance::{advance, next_due, Advance, Advanced};
use super::store::{bindings_for, live_runner, take_order, EventsLog};
use super::submit::checked_bindings;
use super::LifecycleError;
use crate::exec::{AttemptLimiter, Event, ExecOptions, OrderState};
use crate::store::Store;

/// How often the engine reads the store for orders to take over or wake.
pub const POLL: Duration = Duration::from_millis(250);

/// How long after a poll that took `took` the next one starts: [`POLL`], or
/// four times `took` when that is longer. A poll reads every order that may
/// have work to do; with a hundred thousand of them one takes most of a
/// second, and back to back they would keep the store's reader from the
/// orders they wake (at most a fifth of its time this way).
pub fn next_poll(took: Duration) -> Duration {
    POLL.max(took.saturating_mul(4))
}

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

/// The orders waiting for a runner, and the runners.
struct Runners {
    queue: Mutex<RunQueue>,
    /// An order was queued, or the engine is stopping.
    queued: Condvar,
    /// Most runner threads.
    max: usize,
}

#[derive(Default)]
struct RunQueue {
    /// Orders to advance, oldest first, each with whether a `held` one
    /// continues too.
    waiting: VecDeque<(String, bool)>,
    /// Runner threads started and not ended.
    started: usize,
    /// Runners waiting for an order.
    idle: usize,
}

/// The resident run loop over the orders of one store.
pub struct Engine {
    store: Arc<dyn Store>,
    state: PathBuf,
    /// Whether advances write the events log files.
    events_log: EventsLog,
    limiter: Arc<AttemptLimiter>,
    runners: Runners,
    /// Orders queued or with an advance under way in this process.
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
    /// most `jobs` attempts at once over all its orders, and advancing at
    /// most `jobs` orders at once (an advancing order runs one attempt or
    /// more: more orders at once would only wait for places).
    ///
    /// `events_log` says whether advances also write each order's events
    /// log in `state` (the store has every event either way).
    pub fn new(
        store: Arc<dyn Store>,
        state: PathBuf,
        jobs: usize,
        events_log: EventsLog,
    ) -> Arc<Engine> {
        let limiter = Arc::new(AttemptLimiter::new(jobs));
        Arc::new_cyclic(|engine: &std::sync::Weak<Engine>| {
            // An order whose run sleeps through a retry's backoff leaves its
            // runner's turn to a queued order (see `Engine::spare`).
            limiter.on_sleep({
                let engine = engine.clone();
                move || {
                    if let Some(engine) = engine.upgrade() {
                        engine.spare();
                    }
                }
            });
            Engine {
                store,
                state,
                events_log,
                runners: Runners {
                    queue: Mutex::new(RunQueue::default()),
                    queued: Condvar::new(),
                    max: limiter.max(),
                },
                limiter,
                active: Mutex::new(BTreeSet::new()),
                parked: Mutex::new(HashMap::new()),
                startup: Mutex::new(None),
                ready: AtomicBool::new(false),
                stopping: AtomicBool::new(false),
                metrics: Metrics::default(),
            }
        })
    }

    pub fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// The state folder of the store.
    pub fn state(&self) -> &std::path::Path {
        &self.state
    }

    /// How many orders are queued or advancing here.
    pub fn active_count(&self) -> usize {
        self.lock_active().len()
    }

    /// Orders queued for a runner, not advancing yet.
    pub fn queued(&self) -> usize {
        self.lock_queue().waiting.len()
    }

    fn lock_queue(&self) -> MutexGuard<'_, RunQueue> {
        self.runners
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
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

    /// Queues `order` for a runner, unless it is already queued or
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
        let mut queue = self.lock_queue();
        // Checked again under the queue's lock, which the shutdown takes to
        // empty the queue once it is stopping: nothing is queued after that.
        if self.stopping.load(Ordering::SeqCst) {
            drop(queue);
            self.lock_active().remove(order);
            return;
        }
        queue.waiting.push_back((order.to_string(), held_too));
        if queue.idle > 0 || !self.may_start_runner(&queue) {
            self.runners.queued.notify_one();
            return;
        }
        if let Err(e) = self.start_runner(&mut queue) {
            if queue.started == 0 {
                // Without any runner, nothing would take the order: dropped.
                queue.waiting.pop_back();
                drop(queue);
                tracing::error!(order = %order, error = %e, "no thread to advance the order");
                self.lock_active().remove(order);
                self.returned(Some(order));
            } else {
                // The runners there take it in turn.
                tracing::warn!(error = %e, "no thread for one more runner");
            }
        }
    }

    /// Runners busy with an order, not counting those whose order sleeps
    /// through a retry's backoff, are fewer than `max`: one more may start.
    fn may_start_runner(&self, queue: &RunQueue) -> bool {
        queue.started - queue.idle < self.runners.max + self.limiter.asleep()
    }

    fn start_runner(self: &Arc<Self>, queue: &mut RunQueue) -> std::io::Result<()> {
        let engine = Arc::clone(self);
        std::thread::Builder::new()
            .name("ordo-runner".into())
            .spawn(move || engine.runner())?;
        queue.started += 1;
        Ok(())
    }

    /// A run started sleeping through a retry's backoff: if orders are
    /// queued and no runner is idle, one more runner takes the next, so that
    /// orders in backoff cannot hold every runner while others wait. The
    /// runners beyond `max` end once they find no turn of theirs (below).
    fn spare(self: &Arc<Self>) {
        let mut queue = self.lock_queue();
        if self.stopping.load(Ordering::SeqCst)
            || queue.waiting.is_empty()
            || queue.idle > 0
            || !self.may_start_runner(&queue)
        {
            return;
        }
        if let Err(e) = self.start_runner(&mut queue) {
            tracing::warn!(error = %e, "no thread for one more runner");
        }
    }

    /// A runner: advances the queued orders one after the other until the
    /// engine stops (or it is a spare no longer needed).
    fn runner(&self) {
        loop {
            let next = {
                let mut queue = self.lock_queue();
                loop {
                    if self.stopping.load(Ordering::SeqCst) {
                        break None;
                    }
                    // More runners at work than `max` (a spare's order woke
                    // from its backoff): this one ends, and leaves the queue
                    // to the others.
                    if queue.started - queue.idle > self.runners.max + self.limiter.asleep() {
                        break None;
                    }
                    if let Some(next) = queue.waiting.pop_front() {
                        break Some(next);
                    }
                    queue.idle += 1;
                    queue = self
                        .runners
                        .queued
                        .wait(queue)
                        .unwrap_or_else(PoisonError::into_inner);
                    queue.idle -= 1;
                }
            };
            let Some((order, held_too)) = next else {
                self.lock_queue().started -= 1;
                return;
            };
            if let Err(e) = self.advance_one(&order, held_too) {
                tracing::error!(order = %order, error = %e, "the order could not be advanced");
            }
            self.lock_active().remove(&order);
            self.returned(Some(&order));
        }
    }

    /// Reads the store and wakes every order that has work to do and that
    /// no live process holds (see the module's documentation).
    pub fn poll(self: &Arc<Self>) -> Result<(), LifecycleError> {
        let first = self.lock_startup().is_none();
        let mut woken = BTreeSet::new();
        for summary in self.store.waiting_orders()? {
            // Asked per order rather than of a copy: the set holds every
            // queued order too, tens of thousands under load.
            if self.lock_active().contains(&summary.id) {
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
            events_log: self.events_log,
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
    /// `ordo resume` (its runner is gone), as is one still queued (stored,
    /// not advanced here).
    pub fn shutdown(&self, grace: Duration) -> bool {
        self.stopping.store(true, Ordering::SeqCst);
        self.limiter.close();
        let dropped: Vec<(String, bool)> = {
            let mut queue = self.lock_queue();
            self.runners.queued.notify_all();
            queue.waiting.drain(..).collect()
        };
        for (order, _) in dropped {
            self.lock_active().remove(&order);
            self.returned(Some(&order));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_poll_spaces_out_the_next() {
        assert_eq!(next_poll(Duration::from_millis(10)), POLL);
        assert_eq!(next_poll(Duration::from_millis(62)), POLL);
        assert_eq!(
            next_poll(Duration::from_millis(600)),
            Duration::from_millis(2400)
        );
        assert_eq!(next_poll(Duration::MAX), Duration::MAX);
    }
}
