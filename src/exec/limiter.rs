//! A bound on attempts shared by several runs: `ordo serve --jobs N` holds
//! across every order its engine advances, on top of each run's own `jobs`
//! and each binding's `max_concurrent`. It also counts the runs that sleep
//! with nothing to do but wait for a retry's backoff, so that the engine can
//! advance other orders meanwhile.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

/// What a run that starts sleeping on its retry timers calls.
type OnSleep = Box<dyn Fn() + Send + Sync>;

/// At most `max` attempts, over every run that shares it, at once.
pub struct AttemptLimiter {
    max: usize,
    running: Mutex<usize>,
    /// Places were given back (or the limiter closed).
    freed: Condvar,
    closed: std::sync::atomic::AtomicBool,
    /// Runs sleeping on retry timers alone ([`AttemptLimiter::sleep`]).
    asleep: AtomicUsize,
    on_sleep: OnceLock<OnSleep>,
}

impl std::fmt::Debug for AttemptLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttemptLimiter")
            .field("max", &self.max)
            .field("running", &self.running())
            .field("asleep", &self.asleep())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl AttemptLimiter {
    pub fn new(max: usize) -> AttemptLimiter {
        AttemptLimiter {
            max: max.max(1),
            running: Mutex::new(0),
            freed: Condvar::new(),
            closed: std::sync::atomic::AtomicBool::new(false),
            asleep: AtomicUsize::new(0),
            on_sleep: OnceLock::new(),
        }
    }

    /// Sleeps `wait` for a run whose only work left is a retry's backoff: no
    /// attempt running, none waiting for a place. Counted in
    /// [`AttemptLimiter::asleep`] meanwhile, and the hook set with
    /// [`AttemptLimiter::on_sleep`] is called first: a server's engine, which
    /// advances a bounded number of orders at once, advances another order
    /// rather than leave its runner idle through the backoff.
    pub fn sleep(&self, wait: Duration) {
        self.asleep.fetch_add(1, Ordering::SeqCst);
        if let Some(hook) = self.on_sleep.get() {
            hook();
        }
        std::thread::sleep(wait);
        self.asleep.fetch_sub(1, Ordering::SeqCst);
    }

    /// Runs sleeping in [`AttemptLimiter::sleep`] now.
    pub fn asleep(&self) -> usize {
        self.asleep.load(Ordering::SeqCst)
    }

    /// What [`AttemptLimiter::sleep`] calls before sleeping; set once (a
    /// second hook is ignored).
    pub fn on_sleep(&self, hook: impl Fn() + Send + Sync + 'static) {
        let _ = self.on_sleep.set(Box::new(hook));
    }

    /// Takes a place for one attempt, if one is free (a run that finds none
    /// tries again when it next looks, within its cancel poll).
    pub fn try_acquire(&self) -> bool {
        if self.is_closed() {
            return false;
        }
        let mut running = self.lock();
        if *running < self.max {
            *running += 1;
            true
        } else {
            false
        }
    }

    /// Gives back `n` places, waking the runs waiting for one.
    pub fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut running = self.lock();
        *running = running.saturating_sub(n);
        self.freed.notify_all();
    }

    /// Waits until a place is free (not taken: [`AttemptLimiter::try_acquire`]
    /// may still find none, another run being quicker), the limiter is
    /// closed, or `timeout` passed: what a run with attempts to start and
    /// none running waits for, rather than sleeping its whole cancel poll.
    pub fn wait(&self, timeout: Duration) {
        let running = self.lock();
        if *running < self.max || self.is_closed() {
            return;
        }
        drop(
            self.freed
                .wait_timeout_while(running, timeout, |r| *r >= self.max && !self.is_closed())
                .unwrap_or_else(PoisonError::into_inner),
        );
    }

    /// Attempts running now.
    pub fn running(&self) -> usize {
        *self.lock()
    }

    fn lock(&self) -> MutexGuard<'_, usize> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// No attempt starts any more: each run sharing the limiter lets its
    /// running attempts finish, then returns [`ExecError::Stopped`]
    /// (a server shutting down).
    ///
    /// [`ExecError::Stopped`]: super::ExecError::Stopped
    pub fn close(&self) {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
        let _running = self.lock();
        self.freed.notify_all();
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn max(&self) -> usize {
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_its_bound_and_gives_places_back() {
        let l = AttemptLimiter::new(2);
        assert!(l.try_acquire());
        assert!(l.try_acquire());
        assert!(!l.try_acquire());
        l.release(1);
        assert_eq!(l.running(), 1);
        assert!(l.try_acquire());
        l.release(5);
        assert_eq!(l.running(), 0);
        l.close();
        assert!(!l.try_acquire());
    }

    #[test]
    fn a_wait_ends_when_a_place_is_given_back() {
        let l = std::sync::Arc::new(AttemptLimiter::new(1));
        assert!(l.try_acquire());
        let waiter = std::thread::spawn({
            let l = std::sync::Arc::clone(&l);
            move || {
                // Far longer than the test takes: it ends because of the release.
                l.wait(Duration::from_secs(60));
                l.try_acquire()
            }
        });
        std::thread::sleep(Duration::from_millis(20));
        l.release(1);
        assert!(waiter.join().unwrap(), "the place given back was taken");
        // Closed: no wait at all.
        l.close();
        l.wait(Duration::from_secs(60));
    }

    #[test]
    fn a_sleeping_run_is_counted_and_calls_the_hook_first() {
        let l = std::sync::Arc::new(AttemptLimiter::new(1));
        let seen = std::sync::Arc::new(AtomicUsize::new(usize::MAX));
        l.on_sleep({
            let (l, seen) = (std::sync::Arc::downgrade(&l), std::sync::Arc::clone(&seen));
            move || {
                let asleep = l.upgrade().map_or(0, |l| l.asleep());
                seen.store(asleep, Ordering::SeqCst);
            }
        });
        assert_eq!(l.asleep(), 0);
        l.sleep(Duration::from_millis(1));
        assert_eq!(seen.load(Ordering::SeqCst), 1, "counted when the hook ran");
        assert_eq!(l.asleep(), 0, "no longer once awake");
    }
}
