//! A bound on attempts shared by several runs: `ordo serve --jobs N` holds
//! across every order its engine advances, on top of each run's own `jobs`
//! and each binding's `max_concurrent`.

use std::sync::Mutex;

/// At most `max` attempts, over every run that shares it, at once.
#[derive(Debug)]
pub struct AttemptLimiter {
    max: usize,
    running: Mutex<usize>,
    closed: std::sync::atomic::AtomicBool,
}

impl AttemptLimiter {
    pub fn new(max: usize) -> AttemptLimiter {
        AttemptLimiter {
            max: max.max(1),
            running: Mutex::new(0),
            closed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Takes a place for one attempt, if one is free (a run that finds none
    /// tries again when it next looks, within its cancel poll).
    pub fn try_acquire(&self) -> bool {
        if self.is_closed() {
            return false;
        }
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if *running < self.max {
            *running += 1;
            true
        } else {
            false
        }
    }

    /// Gives back `n` places.
    pub fn release(&self, n: usize) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        *running = running.saturating_sub(n);
    }

    /// Attempts running now.
    pub fn running(&self) -> usize {
        *self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// No attempt starts any more: each run sharing the limiter lets its
    /// running attempts finish, then returns [`ExecError::Stopped`]
    /// (a server shutting down).
    ///
    /// [`ExecError::Stopped`]: super::ExecError::Stopped
    pub fn close(&self) {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
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
}
