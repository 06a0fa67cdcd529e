//! One runner per order: the lock a run or a resume holds, its heartbeat, and
//! how a lock left behind by a dead process is told from a live one.
//!
//! The lock is a row (order, token, pid, host, heartbeat) taken in a write
//! transaction. It is also a fencing token: every journal write checks that
//! the row still carries this runner's token, so a runner whose lock was
//! taken over (it hung past the stale threshold) fails its next write rather
//! than acting beside the new runner.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::RunnerInfo;

/// Held while a process runs an order; released when dropped.
pub struct RunnerLock {
    order: String,
    token: String,
    epoch: Option<i64>,
    holder: RunnerInfo,
    heartbeat: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
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
    pub beat: Box<dyn FnMut() -> bool + Send>,
    pub every: Duration,
    pub release: Box<dyn FnOnce() + Send>,
}

impl RunnerLock {
    /// Starts the heartbeat; if no thread can be started, releases the lock
    /// again, since without a heartbeat it would soon look abandoned.
    pub(crate) fn new(lease: Lease) -> std::io::Result<RunnerLock> {
        let Lease {
            order,
            token,
            epoch,
            holder,
            mut beat,
            every,
            release,
        } = lease;
        let (stop, stopped) = mpsc::channel::<()>();
        let spawned = std::thread::Builder::new()
            .name(format!("ordo-heartbeat-{order}"))
            .spawn(move || loop {
                match stopped.recv_timeout(every) {
                    Err(RecvTimeoutError::Timeout) => {
                        if !beat() {
                            return;
                        }
                    }
                    _ => return,
                }
            });
        let thread = match spawned {
            Ok(thread) => thread,
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
            heartbeat: Some((stop, thread)),
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
        if let Some((stop, thread)) = self.heartbeat.take() {
            drop(stop);
            let _ = thread.join();
        }
        if let Some(release) = self.release.take() {
            release();
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

    #[test]
    fn tokens_differ() {
        assert_ne!(new_token(1, "h"), new_token(1, "h"));
    }
}
