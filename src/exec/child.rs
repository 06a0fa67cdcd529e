//! Watching an `exec` plugin's process from the worker thread itself, with
//! no helper threads: one `poll` over its stdout, its stderr and a pidfd
//! (Linux), which becomes readable when the process exits. A helper thread
//! costs tens of microseconds to start, as much as the rest of an attempt's
//! overhead; other systems keep the threaded way in `plugin.rs`.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::process::{ChildStderr, ChildStdout};
use std::time::{Duration, Instant};

/// What the watch saw.
pub(crate) struct Watched {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// The deadline passed before the process exited.
    pub timed_out: bool,
}

/// A pipe being read, up to `cap` bytes kept.
struct Pipe<R> {
    reader: Option<R>,
    kept: Vec<u8>,
    cap: usize,
}

impl<R: Read + AsRawFd> Pipe<R> {
    fn new(reader: R, cap: usize) -> std::io::Result<Pipe<R>> {
        set_nonblocking(reader.as_raw_fd())?;
        Ok(Pipe {
            reader: Some(reader),
            kept: Vec::new(),
            cap,
        })
    }

    fn fd(&self) -> Option<i32> {
        self.reader.as_ref().map(AsRawFd::as_raw_fd)
    }

    /// Reads what is there; at end of file (or an error) the pipe is closed.
    fn drain(&mut self) {
        let Some(reader) = self.reader.as_mut() else {
            return;
        };
        let mut buf = [0u8; 8192];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => {
                    self.reader = None;
                    return;
                }
                Ok(n) => {
                    let room = self.cap.saturating_sub(self.kept.len());
                    self.kept.extend_from_slice(&buf[..n.min(room)]);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    self.reader = None;
                    return;
                }
            }
        }
    }
}

fn set_nonblocking(fd: i32) -> std::io::Result<()> {
    // SAFETY: fcntl on a descriptor we own; no memory is passed.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// A pidfd for `pid`, or `None` where the kernel has none (before 5.3).
pub(crate) fn pidfd_open(pid: libc::pid_t) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: the syscall takes a pid and flags and returns a new descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a non-negative result is a descriptor we now own.
    (fd >= 0).then(|| unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// Polls the given descriptors for input, at most `timeout` (`None`: no
/// limit); returns the ones that are readable (or closed).
fn poll(fds: &[i32], timeout: Option<Duration>) -> std::io::Result<Vec<i32>> {
    let mut set: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ms = timeout.map_or(-1, |t| {
        t.as_millis().min(i32::MAX as u128) as i32 + i32::from(t.subsec_nanos() % 1_000_000 != 0)
    });
    // SAFETY: `set` is a valid array of `set.len()` pollfd structs.
    let r = unsafe { libc::poll(set.as_mut_ptr(), set.len() as libc::nfds_t, ms) };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        return if e.kind() == std::io::ErrorKind::Interrupted {
            Ok(Vec::new())
        } else {
            Err(e)
        };
    }
    Ok(set
        .iter()
        .filter(|p| p.revents != 0)
        .map(|p| p.fd)
        .collect())
}

/// Reads both pipes until the process behind `pidfd` exits or `deadline`
/// passes.
pub(crate) fn watch(
    pidfd: std::os::fd::OwnedFd,
    stdout: ChildStdout,
    stderr: ChildStderr,
    caps: (usize, usize),
    deadline: Option<Instant>,
) -> std::io::Result<(Watched, Leftover)> {
    let mut out = Pipe::new(stdout, caps.0)?;
    let mut err = Pipe::new(stderr, caps.1)?;
    let mut timed_out = false;
    loop {
        let now = Instant::now();
        let left = match deadline {
            Some(d) if d <= now => {
                timed_out = true;
                break;
            }
            Some(d) => Some(d - now),
            None => None,
        };
        let mut fds = vec![pidfd.as_raw_fd()];
        fds.extend(out.fd());
        fds.extend(err.fd());
        let ready = poll(&fds, left)?;
        out.drain();
        err.drain();
        if ready.contains(&pidfd.as_raw_fd()) {
            break;
        }
    }
    let watched = Watched {
        stdout: Vec::new(),
        stderr: Vec::new(),
        timed_out,
    };
    Ok((watched, Leftover { out, err }))
}

/// The pipes after the process exited (or timed out): what is still in them
/// is read once the process group has been killed.
pub(crate) struct Leftover {
    out: Pipe<ChildStdout>,
    err: Pipe<ChildStderr>,
}

impl Leftover {
    /// Reads the pipes to their end, for at most `grace` (only a process that
    /// left the group can still hold them open).
    pub fn finish(mut self, mut watched: Watched, grace: Duration) -> Watched {
        let until = Instant::now() + grace;
        loop {
            self.out.drain();
            self.err.drain();
            let fds: Vec<i32> = self.out.fd().into_iter().chain(self.err.fd()).collect();
            let now = Instant::now();
            if fds.is_empty() || now >= until {
                break;
            }
            if poll(&fds, Some(until - now)).is_err() {
                break;
            }
        }
        watched.stdout = self.out.kept;
        watched.stderr = self.err.kept;
        watched
    }
}
