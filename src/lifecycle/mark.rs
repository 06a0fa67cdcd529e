//! The mark of a live engine on a state folder: `STATE/engine.pid`, locked
//! with `flock(2)` for as long as `ordo serve` runs there. The kernel drops
//! the lock when the process dies, however it dies, so a mark left behind
//! by a killed server reads as no engine.
//!
//! Commands in other processes read it to leave an order to the engine
//! rather than advance it themselves: `ordo task complete` records the
//! work item's end and the engine, which notices the order's row change,
//! continues the order (`docs/server.md`, "Wake-ups").

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// The mark's file in a state folder.
pub fn mark_path(state: &Path) -> PathBuf {
    state.join("engine.pid")
}

/// Held by the engine of a state folder; released when dropped.
#[derive(Debug)]
pub struct EngineMark {
    _file: File,
}

/// Why the mark was not taken.
#[derive(Debug, thiserror::Error)]
pub enum MarkError {
    #[error("another ordo serve (pid {pid}) runs on the state folder {}; stop it first, or give this one another --state", .state.display())]
    Taken { pid: String, state: PathBuf },
    #[error("cannot write {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl EngineMark {
    /// Takes the mark of `state` (which must exist), writing this
    /// process's pid into it; refused while another engine holds it.
    pub fn take(state: &Path) -> Result<EngineMark, MarkError> {
        let path = mark_path(state);
        let io = |source| MarkError::Io {
            path: path.clone(),
            source,
        };
        // Not truncated before the lock is ours: the pid in it is the
        // holder's until then.
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io)?;
        if !try_flock(&file, libc::LOCK_EX).map_err(io)? {
            return Err(MarkError::Taken {
                pid: read_pid(&mut file),
                state: state.to_path_buf(),
            });
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        file.sync_data().map_err(io)?;
        Ok(EngineMark { _file: file })
    }
}

/// The pid of the engine live on `state`, if one is. Reads only.
pub fn live_engine(state: &Path) -> Option<String> {
    let mut file = File::open(mark_path(state)).ok()?;
    match try_flock(&file, libc::LOCK_SH) {
        // Nobody holds it: no engine (the shared lock goes with `file`).
        Ok(true) | Err(_) => None,
        Ok(false) => Some(read_pid(&mut file)),
    }
}

fn read_pid(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.rewind().and_then(|()| file.read_to_string(&mut text));
    let pid = text.trim();
    if pid.is_empty() {
        "unknown".to_string()
    } else {
        pid.to_string()
    }
}

/// `flock(2)` without waiting: true when taken, false when another holds it.
fn try_flock(file: &File, kind: libc::c_int) -> std::io::Result<bool> {
    loop {
        // SAFETY: flock(2) on a descriptor `file` owns for the call.
        if unsafe { libc::flock(file.as_raw_fd(), kind | libc::LOCK_NB) } == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EWOULDBLOCK) => return Ok(false),
            Some(libc::EINTR) => continue,
            _ => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_is_live_while_held_and_one_engine_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(live_engine(dir.path()), None);
        let mark = EngineMark::take(dir.path()).unwrap();
        assert_eq!(
            live_engine(dir.path()),
            Some(std::process::id().to_string())
        );
        let second = EngineMark::take(dir.path()).unwrap_err();
        assert!(
            second.to_string().contains("another ordo serve"),
            "{second}"
        );
        drop(mark);
        assert_eq!(live_engine(dir.path()), None);
        // A mark left behind (its holder gone) is taken again.
        let again = EngineMark::take(dir.path()).unwrap();
        drop(again);
    }
}
