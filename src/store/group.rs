//! Group commit: callers on several threads each hand in one item (or a
//! unit of items that go together) and block until the batch holding it has
//! been written; one of them (the leader) writes every waiting unit in one
//! go. Each caller still returns only after its own items are written, so
//! write-ahead holds, but concurrent units share one transaction, and a
//! unit is never split between two.
//!
//! On a busy machine, items rarely wait on their own: the leader finishes,
//! wakes the others, and records its own next item before they have run. So
//! a leader that knows other handles are active (they submitted within
//! [`ACTIVE_WINDOW`]) waits up to [`GATHER_LIMIT`] for their items first. A
//! lone handle never waits: one caller pays one write per item. Nor does a
//! leader wait after a wait that brought nothing (handles used in turn by
//! one flow, say), for the next [`SKIP_AFTER_MISS`] batches.

use std::collections::{HashMap, VecDeque};
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::StoreError;

/// A handle that submitted this recently is expected to submit again soon.
pub(crate) const ACTIVE_WINDOW: Duration = Duration::from_millis(2);
/// The longest a leader waits for the items of other active handles.
pub(crate) const GATHER_LIMIT: Duration = Duration::from_micros(300);

/// Batches written without gathering after a gather that brought nothing.
pub(crate) const SKIP_AFTER_MISS: u32 = 64;

pub(crate) type Outcome = Result<(), StoreError>;

/// How many journal transactions a store has written, for how many events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    pub transactions: u64,
    pub events: u64,
}

pub(crate) struct GroupCommit<T> {
    queue: Mutex<Queue<T>>,
    /// A batch was written: its callers' outcomes are in.
    committed: Condvar,
    /// An item arrived while the leader was gathering.
    arrived: Condvar,
    max_batch: usize,
}

struct Queue<T> {
    /// Units waiting, by ticket: each is written whole, in one batch.
    pending: VecDeque<(u64, Vec<T>)>,
    /// A thread is gathering or writing a batch.
    leading: bool,
    gathering: bool,
    next_ticket: u64,
    outcomes: HashMap<u64, Vec<Outcome>>,
    /// Handles and when each last submitted, within the active window.
    active: Vec<(u64, Instant)>,
    /// Batches left to write without gathering.
    skip_gathers: u32,
    /// Gathers that waited to the limit for nothing.
    misses: u64,
    stats: CommitStats,
}

impl<T> GroupCommit<T> {
    pub fn new(max_batch: usize) -> GroupCommit<T> {
        GroupCommit {
            queue: Mutex::new(Queue {
                pending: VecDeque::new(),
                leading: false,
                gathering: false,
                next_ticket: 0,
                outcomes: HashMap::new(),
                active: Vec::new(),
                skip_gathers: 0,
                misses: 0,
                stats: CommitStats::default(),
            }),
            committed: Condvar::new(),
            arrived: Condvar::new(),
            max_batch: max_batch.max(1),
        }
    }

    pub fn stats(&self) -> CommitStats {
        self.lock().stats
    }

    fn lock(&self) -> MutexGuard<'_, Queue<T>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands in `item` from `handle` (one id per caller thread) and returns
    /// once a `write` holding it has returned: `write` gets a batch and
    /// returns one outcome per item, in order.
    pub fn submit(&self, handle: u64, item: T, write: impl Fn(&[T]) -> Vec<Outcome>) -> Outcome {
        self.submit_all(handle, vec![item], write)
            .pop()
            .unwrap_or_else(|| Err(lost()))
    }

    /// [`GroupCommit::submit`] for a unit of items written in one batch
    /// (together with other callers' units, never split): their outcomes,
    /// in order. A unit larger than the batch limit is a batch of its own.
    pub fn submit_all(
        &self,
        handle: u64,
        unit: Vec<T>,
        write: impl Fn(&[T]) -> Vec<Outcome>,
    ) -> Vec<Outcome> {
        if unit.is_empty() {
            return Vec::new();
        }
        let mut queue = self.lock();
        let now = Instant::now();
        queue
            .active
            .retain(|&(h, at)| h != handle && now - at < ACTIVE_WINDOW);
        queue.active.push((handle, now));
        let ticket = queue.next_ticket;
        queue.next_ticket += 1;
        queue.pending.push_back((ticket, unit));
        if queue.gathering {
            self.arrived.notify_one();
        }
        loop {
            if let Some(outcomes) = queue.outcomes.remove(&ticket) {
                return outcomes;
            }
            if queue.leading {
                queue = self
                    .committed
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            queue.leading = true;
            queue = self.gather(queue);
            // Whole units up to the limit, and at least one.
            let mut units = Vec::new();
            let mut items = Vec::new();
            while let Some((_, unit)) = queue.pending.front() {
                if !units.is_empty() && items.len() + unit.len() > self.max_batch {
                    break;
                }
                let Some((t, unit)) = queue.pending.pop_front() else {
                    break;
                };
                units.push((t, unit.len()));
                items.extend(unit);
            }
            queue.stats.transactions += 1;
            queue.stats.events += items.len() as u64;
            drop(queue);
            let written = panic::catch_unwind(AssertUnwindSafe(|| write(&items)));
            queue = self.lock();
            queue.leading = false;
            match written {
                Ok(outcomes) if outcomes.len() == items.len() => {
                    let mut outcomes = outcomes.into_iter();
                    for (t, n) in units {
                        queue
                            .outcomes
                            .insert(t, outcomes.by_ref().take(n).collect());
                    }
                }
                _ => {
                    for (t, n) in units {
                        queue
                            .outcomes
                            .insert(t, (0..n).map(|_| Err(lost())).collect());
                    }
                }
            }
            self.committed.notify_all();
        }
    }

    /// Waits, up to the limit, until every recently active handle has an
    /// item pending.
    fn gather<'a>(&'a self, mut queue: MutexGuard<'a, Queue<T>>) -> MutexGuard<'a, Queue<T>> {
        if queue.skip_gathers > 0 {
            queue.skip_gathers -= 1;
            return queue;
        }
        let now = Instant::now();
        let active = queue
            .active
            .iter()
            .filter(|&&(_, at)| now - at < ACTIVE_WINDOW)
            .count();
        let want = active.min(self.max_batch);
        let had = queue.pending.len();
        let deadline = now + GATHER_LIMIT;
        queue.gathering = true;
        while queue.pending.len() < want {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                if queue.pending.len() == had {
                    queue.misses += 1;
                    queue.skip_gathers = SKIP_AFTER_MISS;
                }
                break;
            }
            queue = self
                .arrived
                .wait_timeout(queue, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        queue.gathering = false;
        queue
    }
}

/// The outcome of an item whose write panicked (or lost count).
fn lost() -> StoreError {
    StoreError::Commit {
        detail: "the thread writing it failed".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes items (odd ones refused) after a pause, as a commit takes time.
    fn slow_write(items: &[u32]) -> Vec<Outcome> {
        std::thread::sleep(Duration::from_millis(1));
        items
            .iter()
            .map(|i| match i % 2 {
                0 => Ok(()),
                _ => Err(StoreError::Commit {
                    detail: i.to_string(),
                }),
            })
            .collect()
    }

    #[test]
    fn a_lone_caller_writes_each_item_alone() {
        let group = GroupCommit::new(64);
        for i in 0..20u32 {
            let outcome = group.submit(1, i, slow_write);
            assert_eq!(outcome.is_ok(), i % 2 == 0);
        }
        assert_eq!(
            group.stats(),
            CommitStats {
                transactions: 20,
                events: 20
            }
        );
    }

    #[test]
    fn concurrent_callers_share_writes_and_get_their_own_outcomes() {
        let group = GroupCommit::new(64);
        std::thread::scope(|s| {
            for t in 0..8u32 {
                let group = &group;
                s.spawn(move || {
                    for i in 0..25u32 {
                        let item = t * 100 + i;
                        match group.submit(u64::from(t), item, slow_write) {
                            Ok(()) => assert_eq!(item % 2, 0),
                            Err(StoreError::Commit { detail }) => {
                                assert_eq!(detail, item.to_string())
                            }
                            Err(e) => panic!("{e}"),
                        }
                    }
                });
            }
        });
        let stats = group.stats();
        assert_eq!(stats.events, 200);
        assert!(stats.transactions < 100, "{stats:?}");
    }

    #[test]
    fn handles_used_in_turn_by_one_thread_do_not_keep_waiting() {
        let group = GroupCommit::new(64);
        for i in 0..200u32 {
            let _ = group.submit(u64::from(i % 2), i, |items: &[u32]| {
                items.iter().map(|_| Ok(())).collect()
            });
        }
        let misses = group.lock().misses;
        assert!(
            misses <= 200 / u64::from(SKIP_AFTER_MISS) + 1,
            "{misses} gathers waited in vain"
        );
    }

    #[test]
    fn a_batch_respects_the_limit() {
        let group = GroupCommit::new(2);
        let biggest = Mutex::new(0);
        std::thread::scope(|s| {
            for t in 0..6u64 {
                let (group, biggest) = (&group, &biggest);
                s.spawn(move || {
                    for i in 0..10 {
                        let _ = group.submit(t, i, |items: &[u32]| {
                            let mut b = biggest.lock().unwrap();
                            *b = (*b).max(items.len());
                            slow_write(items)
                        });
                    }
                });
            }
        });
        assert!(*biggest.lock().unwrap() <= 2);
    }

    #[test]
    fn units_are_written_whole_shared_between_callers_with_their_own_outcomes() {
        let group = GroupCommit::new(16);
        let batches = Mutex::new(Vec::<Vec<u32>>::new());
        std::thread::scope(|s| {
            for t in 0..6u32 {
                let (group, batches) = (&group, &batches);
                s.spawn(move || {
                    for round in 0..20u32 {
                        // Units of 1 to 5 items; an odd item is refused.
                        let unit: Vec<u32> = (0..1 + (t + round) % 5)
                            .map(|i| t * 10_000 + round * 10 + i)
                            .collect();
                        let outcomes = group.submit_all(u64::from(t), unit.clone(), |items| {
                            batches.lock().unwrap().push(items.to_vec());
                            slow_write(items)
                        });
                        assert_eq!(outcomes.len(), unit.len());
                        for (item, outcome) in unit.iter().zip(&outcomes) {
                            assert_eq!(outcome.is_ok(), item % 2 == 0, "{item}");
                        }
                    }
                });
            }
        });
        let batches = batches.into_inner().unwrap();
        // Every unit is contiguous in exactly one batch, and batches stay
        // within the limit.
        let written: Vec<u32> = batches.iter().flatten().copied().collect();
        assert_eq!(written.len(), group.stats().events as usize);
        for batch in &batches {
            assert!(batch.len() <= 16, "{batch:?}");
            let mut units: Vec<(u32, u32)> = batch.iter().map(|i| (i / 10, i % 10)).collect();
            units.dedup_by_key(|(unit, _)| *unit);
            let distinct: std::collections::BTreeSet<u32> = units.iter().map(|u| u.0).collect();
            assert_eq!(units.len(), distinct.len(), "a unit split within {batch:?}");
            for (unit, first) in &units {
                assert_eq!(
                    *first, 0,
                    "unit {unit} does not start its part of {batch:?}"
                );
            }
        }
        let units_in = |unit: u32| {
            batches
                .iter()
                .filter(|b| b.iter().any(|i| i / 10 == unit))
                .count()
        };
        assert!((0..6u32).all(|t| (0..20u32).all(|r| units_in(t * 1000 + r) == 1)));
        let stats = group.stats();
        assert!(
            stats.transactions < 6 * 20,
            "units shared no write: {stats:?}"
        );
    }

    #[test]
    fn a_unit_larger_than_the_limit_is_a_batch_of_its_own() {
        let group = GroupCommit::new(4);
        let outcomes = group.submit_all(1, (0..10u32).map(|i| i * 2).collect(), slow_write);
        assert_eq!(outcomes.len(), 10);
        assert!(outcomes.iter().all(Result::is_ok));
        assert_eq!(
            group.stats(),
            CommitStats {
                transactions: 1,
                events: 10
            }
        );
        assert!(group.submit_all(1, Vec::new(), slow_write).is_empty());
    }

    #[test]
    fn a_panicking_write_fails_its_batch_and_not_the_next() {
        let group = GroupCommit::new(8);
        let outcome = group.submit(1, 0u32, |_: &[u32]| panic!("disk on fire"));
        assert!(matches!(outcome, Err(StoreError::Commit { .. })));
        assert!(group.submit(1, 2, slow_write).is_ok());
    }
}
