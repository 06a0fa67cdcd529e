//! Plugin processes that must not outlive their attempt: each exec plugin
//! gets a parent-death signal (Linux) and a process group of its own, and
//! the group is recorded before the plugin is sent its request, so that a
//! resumed run can kill whatever a killed runner left and wait until it is
//! gone before asking again.

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};

use super::state::Process;

/// How long a resume waits for a killed process group to be gone.
const GONE_PATIENCE: Duration = Duration::from_secs(10);

/// Makes the program run in a process group of its own and, on Linux, die
/// (SIGKILL) when the thread that started it ends.
///
/// The parent-death signal follows the *thread* that forked, not the
/// process: the executor starts plugins only from a worker thread that then
/// waits for the plugin to exit and reaps it before it does anything else,
/// so that thread outlives the plugin unless the whole ordo process dies —
/// which is what the signal is for.
pub(crate) fn contain(cmd: &mut Command) {
    cmd.process_group(0);
    #[cfg(target_os = "linux")]
    {
        // SAFETY: getpid has no preconditions.
        let parent = unsafe { libc::getpid() };
        // SAFETY: the closure runs between fork and exec and calls only
        // async-signal-safe functions (prctl, getppid).
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGKILL as libc::c_ulong,
                    0,
                    0,
                    0,
                ) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent died before the signal was set up: nobody
                // would send it.
                if libc::getppid() != parent {
                    return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
    }
}

impl Process {
    /// The process group a plugin leads (its pid), with what tells it apart.
    pub(crate) fn of_leader(pid: libc::pid_t) -> Process {
        Process {
            pgid: pid,
            start: start_time(pid),
            boot: boot_id(),
        }
    }

    /// Kills what is left of the group (SIGKILL) and waits until no live
    /// process is in it. A group from another boot, or whose leader's pid
    /// now belongs to another process, is gone already: its pid cannot have
    /// been reused while any member lived.
    pub(crate) fn ensure_gone(&self) -> Result<(), String> {
        if self.pgid <= 1 {
            return Ok(());
        }
        if self.boot.is_some() && self.boot != boot_id() {
            return Ok(());
        }
        if let (Some(then), Some(now)) = (self.start, start_time(self.pgid)) {
            if then != now {
                return Ok(());
            }
        }
        let until = Instant::now() + GONE_PATIENCE;
        loop {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe {
                libc::kill(-self.pgid, libc::SIGKILL);
            }
            if !group_alive(self.pgid) {
                return Ok(());
            }
            if Instant::now() >= until {
                return Err(format!(
                    "process group {} is still running {}s after SIGKILL",
                    self.pgid,
                    GONE_PATIENCE.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Field 22 of `/proc/PID/stat`: when the process started, in clock ticks.
#[cfg(target_os = "linux")]
fn start_time(pid: libc::pid_t) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    rest.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(not(target_os = "linux"))]
fn start_time(_pid: libc::pid_t) -> Option<u64> {
    None
}

#[cfg(target_os = "linux")]
fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
}

#[cfg(not(target_os = "linux"))]
fn boot_id() -> Option<String> {
    None
}

/// Whether a process that is not a zombie is in the group. A zombie has
/// done all it will do; its parent (init, once its runner died) reaps it.
#[cfg(target_os = "linux")]
fn group_alive(pgid: libc::pid_t) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return kill_probe(pgid);
    };
    entries.flatten().any(|entry| {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            return false;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return false;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            return false;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().unwrap_or("");
        let group = fields.nth(1).and_then(|g| g.parse::<libc::pid_t>().ok());
        group == Some(pgid) && !matches!(state, "Z" | "X")
    })
}

#[cfg(not(target_os = "linux"))]
fn group_alive(pgid: libc::pid_t) -> bool {
    kill_probe(pgid)
}

/// Whether signal 0 reaches any process of the group.
fn kill_probe(pgid: libc::pid_t) -> bool {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(-pgid, 0) == 0 }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_killed_group_is_waited_for_and_a_reused_pid_is_left_alone() {
        let mut cmd = Command::new("sleep");
        cmd.arg("60");
        contain(&mut cmd);
        let mut child = cmd.spawn().unwrap();
        let process = Process::of_leader(child.id() as libc::pid_t);
        assert!(process.start.is_some());
        // Another start time: the pid belongs to someone else now.
        let other = Process {
            start: process.start.map(|s| s + 1),
            ..process.clone()
        };
        other.ensure_gone().unwrap();
        assert!(child.try_wait().unwrap().is_none(), "left alone");
        // The leader is our unreaped child: a zombie once killed, which
        // counts as gone.
        process.ensure_gone().unwrap();
        assert!(child.wait().unwrap().code().is_none());
    }
}
