//! One runner per order: the lock a run or a resume holds, its heartbeat, and
//! how a lock left behind by a dead process is told from a live one.
//!
//! The lock is a row (order, token, pid, host, heartbeat) taken in a write
//! transaction. It is also a fencing token: every journal write checks that
//! the row still carries this runner's token, so a runner whose lock was
//! taken over (it hung past the stale threshold) fails its next write rather
//! than acting beside the new runner.

use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::RunnerInfo;

/// Held while a process runs an order; released when dropped.
pub struct RunnerLock {
    order: String,
    token: String,
    epoch: Option<i64>,
    holder: RunnerInfo,
    /// This lock's entry in the process's [`Heartbeats`].
    heartbeat: Option<u64>,
    release: Option<Box<dyn FnOnce() + Send>>,
}

/// What a store supplies to build a [`RunnerLock`].
pub(crate) struct Lease {
    pub order: String,
    pub token: String,
    /// The fencing epoch the lock was taken with, in a store that numbers
    /// its takeovers (PostgreSQL); `None` in one that fences by token alone.
    pub epoch: Option<i64>,
    pub holder: RunnerInfo,
    /// Called every `every`; returns false once the lock is lost, which ends
    /// the heartbeat.
    pub beat: Beat,
    pub every: Duration,
    pub release: Box<dyn FnOnce() + Send>,
}

/// A lock's heartbeat: refreshes it, false once it is lost.
pub(crate) type Beat = Box<dyn FnMut() -> bool + Send>;

impl RunnerLock {
    /// Registers the lock's heartbeat with the process's heartbeat thread
    /// (started with the first lock); if that thread cannot be started,
    /// releases the lock again, since without a heartbeat it would soon
    /// look abandoned.
    pub(crate) fn new(lease: Lease) -> std::io::Result<RunnerLock> {
        let Lease {
            order,
            token,
            epoch,
            holder,
            beat,
            every,
            release,
        } = lease;
        let heartbeat = match Heartbeats::get().add(beat, every) {
            Ok(id) => id,
            Err(e) => {
                release();
                return Err(e);
            }
        };
        Ok(RunnerLock {
            order,
            token,
            epoch,
            holder,
            heartbeat: Some(heartbeat),
            release: Some(release),
        })
    }

    pub fn order(&self) -> &str {
        &self.order
    }

    /// This process, as other processes see the lock's holder.
    pub fn holder(&self) -> &RunnerInfo {
        &self.holder
    }

    pub(crate) fn token(&self) -> &str {
        &self.token
    }

    /// The fencing epoch this lock was taken with: each takeover of the
    /// order's lock has a higher one (PostgreSQL store; `None` in SQLite).
    pub fn epoch(&self) -> Option<i64> {
        self.epoch
    }
}

impl std::fmt::Debug for RunnerLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunnerLock")
            .field("order", &self.order)
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

impl Drop for RunnerLock {
    fn drop(&mut self) {
        if let Some(id) = self.heartbeat.take() {
            Heartbeats::get().remove(id);
        }
        if let Some(release) = self.release.take() {
            release();
        }
    }
}

/// The heartbeats of every runner lock of the process, refreshed by one
/// thread (started with the first lock, kept for the process's life): a
/// server advancing many orders costs one thread for all their locks, not
/// one per lock. Beats run one after the other, each due `every` after the
/// previous one of its lock ended; a beat that reports the lock lost is not
/// called again. Removing a lock waits for its beat if one is under way,
/// so that no beat of a lock runs once it is released.
struct Heartbeats {
    beats: Mutex<Beats>,
    /// A lock was added or removed, or a beat ended.
    changed: Condvar,
}

#[derive(Default)]
struct Beats {
    next_id: u64,
    /// By lock: its beat (`None` while it runs) and when it is due next.
    locks: HashMap<u64, (Option<Beat>, Duration, Instant)>,
    /// The lock whose beat runs now, outside the mutex.
    beating: Option<u64>,
    started: bool,
}

impl Heartbeats {
    fn get() -> &'static Heartbeats {
        static HEARTBEATS: OnceLock<Heartbeats> = OnceLock::new();
        HEARTBEATS.get_or_init(|| Heartbeats {
            beats: Mutex::new(Beats::default()),
            changed: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Beats> {
        self.beats.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a lock's beat, first due in `every`; starts the thread if
    /// it does not run yet.
    fn add(&'static self, beat: Beat, every: Duration) -> std::io::Result<u64> {
        let mut beats = self.lock();
        if !beats.started {
            std::thread::Builder::new()
                .name("ordo-heartbeat".into())
                .spawn(move || self.run())?;
            beats.started = true;
        }
        let id = beats.next_id;
        beats.next_id += 1;
        beats
            .locks
            .insert(id, (Some(beat), every, Instant::now() + every));
        self.changed.notify_all();
        Ok(id)
    }

    /// Forgets a lock: once this returns, its beat is not running and will
    /// not run again.
    fn remove(&self, id: u64) {
        let mut beats = self.lock();
        let removed = beats.locks.remove(&id);
        while beats.beating == Some(id) {
            beats = self
                .changed
                .wait(beats)
                .unwrap_or_else(PoisonError::into_inner);
        }
        drop(beats);
        drop(removed);
    }

    /// The heartbeat thread: runs each beat when it is due.
    fn run(&self) {
        let mut beats = self.lock();
        loop {
            let next = beats
                .locks
                .iter()
                .filter(|(_, (beat, _, _))| beat.is_some())
                .map(|(&id, &(_, _, due))| (due, id))
                .min();
            let Some((due, id)) = next else {
                beats = self
                    .changed
                    .wait(beats)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            };
            let now = Instant::now();
            if due > now {
                beats = self
                    .changed
                    .wait_timeout(beats, due - now)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
                continue;
            }
            let Some(mut beat) = beats.locks.get_mut(&id).and_then(|l| l.0.take()) else {
                continue;
            };
            beats.beating = Some(id);
            drop(beats);
            // A beat that panics counts as a failed write: retried next time.
            let kept = panic::catch_unwind(AssertUnwindSafe(&mut beat)).unwrap_or(true);
            beats = self.lock();
            beats.beating = None;
            match beats.locks.get_mut(&id) {
                Some(lock) if kept => {
                    lock.0 = Some(beat);
                    lock.2 = Instant::now() + lock.1;
                }
                Some(_) => {
                    beats.locks.remove(&id);
                }
                // Released while it beat: dropped below.
                None => {}
            }
            self.changed.notify_all();
        }
    }
}

/// A lock on the state folder itself (`flock(2)` on the directory, so it
/// needs no file and no write access). Opening a store holds it:
/// exclusively while a process examines, creates or migrates the database,
/// so that processes starting together on a fresh folder initialise it once
/// and none sees it half made; shared while a read-only store examines the
/// database, and for as long as it reads one that no process has open (see
/// `SqliteStore::open_read_only`). Released when dropped, or when the
/// process dies.
#[derive(Debug)]
pub(crate) struct FolderLock {
    _dir: std::fs::File,
}

impl FolderLock {
    /// Takes the lock exclusively; waits at most `wait` for other holders.
    pub fn exclusive(dir: &Path, wait: Duration) -> Result<FolderLock, FolderLockError> {
        FolderLock::take(dir, libc::LOCK_EX, wait)
    }

    /// Takes the lock shared with other readers; waits at most `wait` for
    /// an exclusive holder.
    pub fn shared(dir: &Path, wait: Duration) -> Result<FolderLock, FolderLockError> {
        FolderLock::take(dir, libc::LOCK_SH, wait)
    }

    /// Polls without blocking, so the wait has a bound.
    fn take(dir: &Path, kind: libc::c_int, wait: Duration) -> Result<FolderLock, FolderLockError> {
        use std::os::fd::AsRawFd;
        let file = std::fs::File::open(dir).map_err(FolderLockError::Io)?;
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(1);
        loop {
            // SAFETY: flock(2) on a descriptor this function owns.
            if unsafe { libc::flock(file.as_raw_fd(), kind | libc::LOCK_NB) } == 0 {
                return Ok(FolderLock { _dir: file });
            }
            let e = std::io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EWOULDBLOCK) => {}
                Some(libc::EINTR) => continue,
                _ => return Err(FolderLockError::Io(e)),
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(FolderLockError::TimedOut);
            }
            std::thread::sleep(pause.min(left));
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }
}

/// Why a [`FolderLock`] was not taken.
#[derive(Debug)]
pub(crate) enum FolderLockError {
    Io(std::io::Error),
    /// Another process held it for the whole wait.
    TimedOut,
}

/// This machine's name, as lock rows record it.
pub(crate) fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// Whether a process with this pid exists on this machine.
pub(crate) fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks for the process; nothing is delivered.
    if unsafe { libc::kill(pid, 0) } == 0 {
        return true;
    }
    // EPERM: it exists but belongs to someone else.
    std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Whether a lock row belongs to a live runner: its heartbeat is fresh and,
/// when it was taken on this machine, its process still exists.
pub(crate) fn is_live(
    holder: &RunnerInfo,
    this_host: &str,
    now: DateTime<Utc>,
    stale_after: Duration,
) -> bool {
    if heartbeat_age(holder, now) > stale_after {
        return false;
    }
    holder.host != this_host || pid_alive(holder.pid)
}

pub(crate) fn heartbeat_age(holder: &RunnerInfo, now: DateTime<Utc>) -> Duration {
    match DateTime::parse_from_rfc3339(&holder.heartbeat_at) {
        // A heartbeat in the future (clocks apart) counts as fresh.
        Ok(t) => (now - t.with_timezone(&Utc))
            .to_std()
            .unwrap_or(Duration::ZERO),
        Err(_) => Duration::MAX,
    }
}

/// A token no other lock of any process will carry.
pub(crate) fn new_token(pid: u32, host: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    format!("{host}/{pid}/{nanos}/{n}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize};
    use std::sync::Arc;

    fn holder(pid: u32, host: &str, heartbeat: DateTime<Utc>) -> RunnerInfo {
        RunnerInfo {
            pid,
            host: host.into(),
            acquired_at: heartbeat.to_rfc3339(),
            heartbeat_at: heartbeat.to_rfc3339(),
        }
    }

    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn this_process_is_alive_and_a_reaped_child_is_not() {
        assert!(pid_alive(std::process::id()));
        assert!(!pid_alive(dead_pid()));
        assert!(!pid_alive(0));
    }

    #[test]
    fn liveness_needs_a_fresh_heartbeat_and_a_live_local_pid() {
        let now = Utc::now();
        let host = hostname();
        let stale = Duration::from_secs(30);
        let me = std::process::id();
        assert!(is_live(&holder(me, &host, now), &host, now, stale));
        assert!(!is_live(&holder(dead_pid(), &host, now), &host, now, stale));
        // Another machine's pid cannot be checked: only the heartbeat counts.
        assert!(is_live(
            &holder(dead_pid(), "elsewhere", now),
            &host,
            now,
            stale
        ));
        let old = now - chrono::Duration::seconds(31);
        assert!(!is_live(&holder(me, &host, old), &host, now, stale));
        assert!(!is_live(&holder(me, "elsewhere", old), &host, now, stale));
    }

    #[test]
    fn the_folder_lock_is_exclusive_and_its_wait_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let (dir, wait) = (dir.path(), Duration::from_millis(30));
        let held = FolderLock::exclusive(dir, wait).unwrap();
        assert!(matches!(
            FolderLock::exclusive(dir, wait),
            Err(FolderLockError::TimedOut)
        ));
        assert!(matches!(
            FolderLock::shared(dir, wait),
            Err(FolderLockError::TimedOut)
        ));
        drop(held);
        let a = FolderLock::shared(dir, wait).unwrap();
        let b = FolderLock::shared(dir, wait).unwrap();
        assert!(FolderLock::exclusive(dir, wait).is_err());
        drop((a, b));
        FolderLock::exclusive(dir, wait).unwrap();
        assert_eq!(
            std::fs::read_dir(dir).unwrap().count(),
            0,
            "nothing created"
        );
    }

    /// A lock whose beats are counted, and whether it was released.
    fn counted(
        every: Duration,
        lost_after: usize,
    ) -> (RunnerLock, Arc<AtomicUsize>, Arc<AtomicBool>) {
        let (beats, released) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let lock = RunnerLock::new(Lease {
            order: "ORD-1".into(),
            token: new_token(1, "h"),
            epoch: None,
            holder: holder(1, "h", Utc::now()),
            beat: Box::new({
                let beats = Arc::clone(&beats);
                move || beats.fetch_add(1, Ordering::SeqCst) + 1 < lost_after
            }),
            every,
            release: Box::new({
                let released = Arc::clone(&released);
                move || released.store(true, Ordering::SeqCst)
            }),
        })
        .unwrap();
        (lock, beats, released)
    }

    /// Waits (up to a minute: no timing is asserted) until `done` holds.
    fn until(done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done() {
            assert!(Instant::now() < deadline, "gave up waiting");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn heartbeat_threads() -> usize {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|name| name.starts_with("ordo-heartbeat"))
            .count()
    }

    #[test]
    fn one_thread_beats_every_lock_and_stops_for_a_released_one() {
        let every = Duration::from_millis(5);
        let locks: Vec<_> = (0..5).map(|_| counted(every, usize::MAX)).collect();
        assert_eq!(
            heartbeat_threads(),
            1,
            "one heartbeat thread for every lock"
        );
        for (_, beats, _) in &locks {
            until(|| beats.load(Ordering::SeqCst) >= 3);
        }
        let mut locks = locks.into_iter();
        let (first, first_beats, first_released) = locks.next().unwrap();
        drop(first);
        assert!(first_released.load(Ordering::SeqCst));
        let after_release = first_beats.load(Ordering::SeqCst);
        let rest: Vec<_> = locks.collect();
        let before: Vec<usize> = rest.iter().map(|l| l.1.load(Ordering::SeqCst)).collect();
        for ((_, beats, released), b) in rest.iter().zip(before) {
            until(|| beats.load(Ordering::SeqCst) >= b + 3);
            assert!(!released.load(Ordering::SeqCst));
        }
        assert_eq!(
            first_beats.load(Ordering::SeqCst),
            after_release,
            "no beat once released"
        );
    }

    #[test]
    fn a_lost_lock_beats_no_more_and_the_others_go_on() {
        let every = Duration::from_millis(5);
        let (lost, lost_beats, lost_released) = counted(every, 2);
        let (kept, kept_beats, _) = counted(every, usize::MAX);
        until(|| lost_beats.load(Ordering::SeqCst) >= 2);
        let b = kept_beats.load(Ordering::SeqCst);
        until(|| kept_beats.load(Ordering::SeqCst) >= b + 5);
        assert_eq!(
            lost_beats.load(Ordering::SeqCst),
            2,
            "the beat that lost it was the last"
        );
        assert!(!lost_released.load(Ordering::SeqCst));
        drop(lost);
        assert!(
            lost_released.load(Ordering::SeqCst),
            "still released when dropped"
        );
        drop(kept);
    }

    #[test]
    fn tokens_differ() {
        assert_ne!(new_token(1, "h"), new_token(1, "h"));
    }
}
