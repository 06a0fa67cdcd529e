//! The `exec` binding: an outside program speaking the exec protocol of
//! SPEC §6 — one JSON request on its stdin, one JSON reply on its stdout.
//!
//! The program runs without a shell, in a process group of its own, so that
//! when it is done (or times out) everything it started can be killed with
//! one signal and no orphan outlives the attempt; it dies with ordo, and its
//! group is recorded before it is sent its request ([`super::process`]).

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde::Deserialize;

use super::action::{Action, ActionError, Outputs, Request};
use super::bindings::PluginEnv;
use super::process::contain;
use super::state::Process;

/// Where plugins' stderr goes: the order's log.
pub type LogSink = Arc<Mutex<dyn Write + Send>>;

/// Exit status by which a plugin says "try again later" (`EX_TEMPFAIL`).
pub const EXIT_RETRYABLE: i32 = 75;

/// A reply larger than this is cut (and then fails to parse).
const MAX_REPLY: usize = 16 << 20;
const MAX_STDERR: usize = 1 << 20;
/// How long to wait for the pipes to close once the program has exited and
/// its group was killed: only a process that left the group can hold them.
const PIPE_GRACE: Duration = Duration::from_secs(2);

pub(crate) struct Exec {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: PluginEnv,
    pub log: Option<LogSink>,
}

/// A reply of the exec protocol, from a plugin's stdout or a service's body.
#[derive(Deserialize)]
pub(super) struct Reply {
    outputs: Option<Outputs>,
    pub error: Option<String>,
    retryable: Option<bool>,
}

impl Action for Exec {
    fn invoke(&self, req: &Request) -> Result<Outputs, ActionError> {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        self.env.apply(&mut cmd);
        contain(&mut cmd);
        let mut child = cmd.spawn().map_err(|e| {
            ActionError::permanent(format!("cannot run {}: {e}", self.program.display()))
        })?;
        let pid = child.id() as libc::pid_t;
        // Recorded before the plugin learns what to do: an attempt cannot
        // take effect unrecorded.
        if let Some(processes) = &req.processes {
            if !processes.record(Process::of_leader(pid)) {
                // SAFETY: kill has no memory-safety preconditions; the
                // leader is not reaped, so its group id is still its own.
                unsafe {
                    libc::kill(-pid, libc::SIGKILL);
                }
                let _ = child.wait();
                return Err(ActionError::permanent(
                    "the plugin's process could not be recorded; it was not sent the request",
                ));
            }
        }
        let (stdin, stdout, stderr) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let line = req.to_json_line();
        // A program that never reads its stdin must not block us. A request
        // that fits the pipe's buffer (64 KiB on Linux, 16 KiB assumed) cannot
        // block, so it is written here; a larger one from a thread. A broken
        // pipe is the program's own business.
        if let Some(mut stdin) = stdin {
            if line.len() <= 16 * 1024 {
                let _ = stdin.write_all(line.as_bytes());
            } else {
                thread::spawn(move || {
                    let _ = stdin.write_all(line.as_bytes());
                });
            }
        }
        if let (Some(out), Some(err)) = (stdout, stderr) {
            return self.finish_watched(req, child, pid, out, err);
        }
        Err(ActionError::permanent(
            "the plugin's pipes could not be opened",
        ))
    }
}

impl Exec {
    /// Watches the plugin from this thread (Linux), or with helper threads.
    fn finish_watched(
        &self,
        req: &Request,
        mut child: std::process::Child,
        pid: libc::pid_t,
        stdout: std::process::ChildStdout,
        stderr: std::process::ChildStderr,
    ) -> Result<Outputs, ActionError> {
        #[cfg(target_os = "linux")]
        if let Some(pidfd) = super::child::pidfd_open(pid) {
            let watched =
                super::child::watch(pidfd, stdout, stderr, (MAX_REPLY, MAX_STDERR), req.deadline);
            // The leader is not reaped yet, so the group id is still its:
            // kill the group — on a timeout the program and its children,
            // otherwise whatever it left behind.
            // SAFETY: kill has no memory-safety preconditions.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
            let status = child
                .wait()
                .map_err(|e| ActionError::permanent(format!("cannot wait for the plugin: {e}")))?;
            let (watched, leftover) = watched.map_err(|e| {
                ActionError::permanent(format!("cannot read the plugin's output: {e}"))
            })?;
            let watched = leftover.finish(watched, PIPE_GRACE);
            self.log_stderr(req, &watched.stderr);
            if watched.timed_out {
                return Err(ActionError::retryable(
                    "timed out; the plugin's process group was killed",
                ));
            }
            return interpret(status, &watched.stdout, &watched.stderr);
        }
        self.finish_threaded(req, child, pid, stdout, stderr)
    }

    /// The portable way: a thread per pipe and one waiting for the exit.
    fn finish_threaded(
        &self,
        req: &Request,
        mut child: std::process::Child,
        pid: libc::pid_t,
        stdout: std::process::ChildStdout,
        stderr: std::process::ChildStderr,
    ) -> Result<Outputs, ActionError> {
        let stdout = read_in_background(Some(stdout), MAX_REPLY);
        let stderr = read_in_background(Some(stderr), MAX_STDERR);
        let (exited_tx, exited) = mpsc::channel();
        thread::spawn(move || {
            let _ = exited_tx.send(wait_exited(pid));
        });
        let timed_out = match req.remaining() {
            Some(left) => matches!(
                exited.recv_timeout(left),
                Err(mpsc::RecvTimeoutError::Timeout)
            ),
            None => {
                let _ = exited.recv();
                false
            }
        };
        // The leader is not reaped yet (or still running), so its group id
        // cannot have been reused: kill the whole group — on a timeout the
        // program and its children, otherwise whatever it left behind.
        // SAFETY: kill has no memory-safety preconditions.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        if timed_out {
            let _ = exited.recv();
        }
        let status = child
            .wait()
            .map_err(|e| ActionError::permanent(format!("cannot wait for the plugin: {e}")))?;
        let stdout = stdout.recv_timeout(PIPE_GRACE).unwrap_or_default();
        let stderr = stderr.recv_timeout(PIPE_GRACE).unwrap_or_default();
        self.log_stderr(req, &stderr);
        if timed_out {
            return Err(ActionError::retryable(
                "timed out; the plugin's process group was killed",
            ));
        }
        interpret(status, &stdout, &stderr)
    }
}

impl Exec {
    fn log_stderr(&self, req: &Request, stderr: &[u8]) {
        let (Some(log), false) = (&self.log, stderr.is_empty()) else {
            return;
        };
        let text = String::from_utf8_lossy(stderr);
        let undo = if req.undo { " undo" } else { "" };
        let mut out = String::new();
        for line in text.lines() {
            out.push_str(&format!(
                "{} [attempt {}{undo}] {line}\n",
                req.task, req.attempt
            ));
        }
        if let Ok(mut log) = log.lock() {
            let _ = log.write_all(out.as_bytes());
            let _ = log.flush();
        }
    }
}

/// Turns an exit status and the program's output into the attempt's result.
fn interpret(
    status: std::process::ExitStatus,
    stdout: &[u8],
    stderr: &[u8],
) -> Result<Outputs, ActionError> {
    let text = String::from_utf8_lossy(stdout);
    let Some(code) = status.code() else {
        let signal = status.signal().unwrap_or(0);
        return Err(ActionError::permanent(format!(
            "the plugin was killed by signal {signal}"
        )));
    };
    if code == 0 {
        // Exit 0 and silence: success without outputs, so a plain program
        // (`/bin/true`, a shell one-liner) can serve an action that declares
        // none. Declared outputs it did not give are reported as missing.
        return success_reply(&text, "the plugin exited 0");
    }
    let reply = parse_reply(&text);
    let why = reply
        .as_ref()
        .and_then(|r| r.error.clone())
        .or_else(|| last_line(stderr))
        .map(|w| format!(": {w}"))
        .unwrap_or_default();
    Err(ActionError {
        message: format!("the plugin exited with status {code}{why}"),
        retryable: code == EXIT_RETRYABLE || reply.and_then(|r| r.retryable) == Some(true),
    })
}

/// The reply of an implementation that says it answered (an exec plugin's
/// exit status 0, an HTTP service's 2xx): its outputs, or the error it gives
/// instead. Silence is success without outputs; anything else fails
/// permanently, `answered` saying what the implementation did.
pub(super) fn success_reply(text: &str, answered: &str) -> Result<Outputs, ActionError> {
    if text.trim().is_empty() {
        return Ok(Outputs::new());
    }
    match parse_reply(text) {
        Some(Reply {
            outputs: Some(outputs),
            error: None,
            ..
        }) => Ok(outputs),
        Some(Reply {
            error: Some(error),
            retryable,
            ..
        }) => Err(ActionError {
            message: error,
            retryable: retryable.unwrap_or(false),
        }),
        _ => Err(ActionError::permanent(format!(
            "{answered} without a reply of the form {{\"outputs\": {{…}}}}; it wrote {}",
            excerpt(text)
        ))),
    }
}

/// One JSON reply: the whole of stdout, or else its last non-empty line (so
/// a plugin's stray debug prints do not hide its answer).
pub(super) fn parse_reply(text: &str) -> Option<Reply> {
    serde_json::from_str(text.trim()).ok().or_else(|| {
        let last = text.lines().rev().find(|l| !l.trim().is_empty())?;
        serde_json::from_str(last.trim()).ok()
    })
}

fn last_line(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
}

pub(super) fn excerpt(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return "nothing".into();
    }
    let cut: String = text.chars().take(200).collect();
    if cut.len() < text.len() {
        format!("\"{cut}…\"")
    } else {
        format!("\"{cut}\"")
    }
}

/// Reads a pipe to its end on a thread, keeping at most `cap` bytes.
fn read_in_background(
    pipe: Option<impl Read + Send + 'static>,
    cap: usize,
) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut kept = Vec::new();
        if let Some(mut pipe) = pipe {
            let mut buf = [0u8; 8192];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        let room = cap.saturating_sub(kept.len());
                        kept.extend_from_slice(&buf[..n.min(room)]);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        }
        let _ = tx.send(kept);
    });
    rx
}

/// Waits until the process has exited without reaping it, so its pid (and
/// so its process group id) stays reserved until `Child::wait`.
fn wait_exited(pid: libc::pid_t) -> std::io::Result<()> {
    loop {
        // SAFETY: waitid writes only into the zeroed siginfo_t we own.
        let r = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if r == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: i32) -> std::process::ExitStatus {
        std::process::ExitStatus::from_raw(code << 8)
    }

    #[test]
    fn exit_statuses_and_replies() {
        let ok = interpret(status(0), br#"{"outputs":{"port":"7"}}"#, b"").unwrap();
        assert_eq!(ok["port"], "7");
        // A silent success (`/bin/true`) has no outputs.
        assert!(interpret(status(0), b"\n", b"").unwrap().is_empty());
        assert!(interpret(status(0), b"not json", b"").is_err());
        let e = interpret(status(0), br#"{"error":"busy","retryable":true}"#, b"").unwrap_err();
        assert_eq!(e, ActionError::retryable("busy"));
        let e = interpret(status(75), b"", b"line one\nno capacity\n").unwrap_err();
        assert_eq!(
            e,
            ActionError::retryable("the plugin exited with status 75: no capacity")
        );
        let e = interpret(status(3), br#"{"error":"bad port"}"#, b"").unwrap_err();
        assert_eq!(
            e,
            ActionError::permanent("the plugin exited with status 3: bad port")
        );
        let e = interpret(status(0), b"debug\n{\"outputs\":{}}\n", b"").unwrap();
        assert!(e.is_empty());
        let e = interpret(status(0), b"hello", b"").unwrap_err();
        assert!(!e.retryable && e.message.contains("\"hello\""), "{e:?}");
    }
}
