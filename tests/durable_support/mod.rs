//! The real `ordo` binary against a state folder, with the logging plugin
//! of `tests/fixtures/durable/`: a lab per test (temp folder, state folder,
//! plugin log, gate folder), processes run with deadlines, and readers of the
//! plugin's log. Nothing here waits without a bound: a bug fails the test
//! instead of hanging it.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The order of `line.yaml`: ten slow tasks, six of them with an undo.
pub const LINE: &str = "ORD-LINE";
/// The order of `device.yaml`: a point of no return, then a permanent failure.
pub const DEVICE: &str = "ORD-DEVICE";

/// How long any one wait may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/durable")
}

/// A finished process: exit code (None when killed by a signal) and output.
#[derive(Debug)]
pub struct Out {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// Everything, for assertion messages.
    pub fn show(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// One line of the plugin's log.
#[derive(Debug, Clone)]
pub struct Call {
    pub phase: String,
    pub task: String,
    pub attempt: u64,
    pub key: String,
    pub undo: bool,
    pub action: String,
    /// `$DURABLE_TAG` of the ordo process that made the call.
    pub tag: String,
    pub inputs: Value,
    pub pid: u64,
    /// `ok` or `failed`, on `end` lines.
    pub result: Option<String>,
}

impl Call {
    fn parse(line: &str) -> Call {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("plugin log line is not JSON ({e}): {line}"));
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        Call {
            phase: s("phase"),
            task: s("task"),
            attempt: v["attempt"].as_u64().unwrap_or(0),
            key: s("idempotency_key"),
            undo: v["undo"].as_bool().unwrap_or(false),
            action: s("action"),
            tag: s("tag"),
            inputs: v["inputs"].clone(),
            pid: v["pid"].as_u64().unwrap_or(0),
            result: v["result"].as_str().map(String::from),
        }
    }

    pub fn is_start(&self) -> bool {
        self.phase == "start"
    }

    /// An `end` that answered with success.
    pub fn is_ok_end(&self) -> bool {
        self.phase == "end" && self.result.as_deref() == Some("ok")
    }
}

/// A process started in the background.
pub struct Running {
    pub child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Running {
    /// Starts `cmd`, its output going to the files `stdout` and `stderr`.
    pub fn spawn(mut cmd: Command, stdout: PathBuf, stderr: PathBuf) -> Running {
        let child = cmd
            .stdout(File::create(&stdout).unwrap())
            .stderr(File::create(&stderr).unwrap())
            .spawn()
            .expect("the ordo binary starts");
        Running {
            child,
            stdout,
            stderr,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it has exited.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Kills it with SIGKILL, as a crash would, and reaps it. Its exec
    /// plugins get a parent-death signal and die with it (what they started
    /// in their process groups is left for `ordo resume` to kill).
    pub fn kill9(&mut self) {
        // SAFETY: kill(2) on the pid of our own child, which is not reaped
        // yet (so the pid cannot have been reused).
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGKILL) };
        assert!(
            rc == 0 || self.exited(),
            "kill: {}",
            std::io::Error::last_os_error()
        );
        let _ = self.child.wait();
    }

    /// Waits for it to exit (at most `PATIENCE`, else kills it and fails).
    pub fn finish(mut self) -> Out {
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            match self.child.try_wait().expect("wait for ordo") {
                Some(status) => break status,
                None if Instant::now() > deadline => {
                    self.kill9();
                    panic!(
                        "ordo did not finish within {PATIENCE:?}:\n{}",
                        read(&self.stderr)
                    );
                }
                None => std::thread::sleep(Duration::from_millis(10)),
            }
        };
        Out {
            code: status.code(),
            stdout: read(&self.stdout),
            stderr: read(&self.stderr),
        }
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// A temp folder per test: `state/`, the plugin's `calls.jsonl`, `gate/`.
pub struct Lab {
    dir: tempfile::TempDir,
    pub root: PathBuf,
    pub state: PathBuf,
    pub log: PathBuf,
    pub gate: PathBuf,
    pub catalog: PathBuf,
    pub bindings: PathBuf,
    outputs: AtomicUsize,
}

impl Default for Lab {
    fn default() -> Self {
        Self::new()
    }
}

impl Lab {
    /// A lab using the fixture catalog where it lies.
    pub fn new() -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        std::fs::create_dir(root.join("gate")).unwrap();
        Lab {
            state: root.join("state"),
            log: root.join("calls.jsonl"),
            gate: root.join("gate"),
            catalog: fixtures().join("catalog"),
            bindings: fixtures().join("bindings.yaml"),
            root,
            dir,
            outputs: AtomicUsize::new(0),
        }
    }

    /// A lab with its own copy of the fixture catalog in `ROOT/catalog/`,
    /// for a test that changes it.
    pub fn with_catalog_copy() -> Lab {
        let mut lab = Lab::new();
        let copy = lab.root.join("catalog");
        std::fs::create_dir(&copy).unwrap();
        for entry in std::fs::read_dir(fixtures().join("catalog")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
        }
        lab.catalog = copy;
        lab
    }

    /// `ordo ARGS --state STATE`, in the lab's folder (no `catalog/` there
    /// unless the test made one), untouched by the caller's `ORDO_*`
    /// settings; its plugins log to the lab's log with `tag`.
    pub fn command<S: AsRef<OsStr>>(&self, tag: &str, args: &[S]) -> Command {
        self.command_in(&self.state, tag, args)
    }

    /// [`Lab::command`] with another state folder.
    pub fn command_in<S: AsRef<OsStr>>(&self, state: &Path, tag: &str, args: &[S]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ordo"));
        cmd.args(args)
            .arg("--state")
            .arg(state)
            .current_dir(&self.root)
            .env_remove("ORDO_CATALOG")
            .env_remove("ORDO_STATE")
            .env("NO_COLOR", "1")
            .env("DURABLE_LOG", &self.log)
            .env("DURABLE_TAG", tag)
            .env("DURABLE_GATE", &self.gate)
            .stdin(Stdio::null());
        cmd
    }

    /// Starts a command in the background, its output going to files.
    pub fn start(&self, cmd: Command) -> Running {
        let n = self.outputs.fetch_add(1, Ordering::Relaxed);
        let stdout = self.root.join(format!("out-{n}.txt"));
        let stderr = self.root.join(format!("err-{n}.txt"));
        Running::spawn(cmd, stdout, stderr)
    }

    /// `ordo ARGS --state STATE` to its end.
    pub fn ordo<S: AsRef<OsStr>>(&self, tag: &str, args: &[S]) -> Out {
        self.start(self.command(tag, args)).finish()
    }

    /// The arguments of `ordo run` of `order` with the lab's catalog and
    /// the plugin's bindings.
    pub fn run_args(&self, order: &Path) -> Vec<OsString> {
        vec![
            "run".into(),
            "--catalog".into(),
            self.catalog.clone().into(),
            order.into(),
            "--bindings".into(),
            self.bindings.clone().into(),
            "--quiet".into(),
        ]
    }

    /// `ordo run` of `order` in the background, with the plugin.
    pub fn spawn_run(&self, tag: &str, order: &Path) -> Running {
        self.start(self.command(tag, &self.run_args(order)))
    }

    /// Writes an order for product `Line` with tasks of `ms` milliseconds.
    pub fn line_order(&self, id: &str, ms: u32) -> PathBuf {
        let path = self.root.join(format!("{id}.yaml"));
        std::fs::write(
            &path,
            format!(
                "id: {id}\ncustomer: {{ id: C-9, email: c9@example.com }}\nitems:\n  - id: \"1\"\n    action: add\n    product: Line\n    attributes: {{ ms: {ms} }}\n"
            ),
        )
        .unwrap();
        path
    }

    /// The plugin's log so far (complete lines only).
    pub fn calls(&self) -> Vec<Call> {
        let text = read(&self.log);
        let complete = text.rfind('\n').map_or("", |i| &text[..=i]);
        complete.lines().map(Call::parse).collect()
    }

    /// Waits until `cond` holds for the plugin's log, and returns the log.
    pub fn wait_for(&self, what: &str, cond: impl Fn(&[Call]) -> bool) -> Vec<Call> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let calls = self.calls();
            if cond(&calls) {
                return calls;
            }
            assert!(
                Instant::now() < deadline,
                "waited {PATIENCE:?} for {what}; the plugin's log:\n{}",
                read(&self.log)
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// After a killed run: waits until every call its plugins began has
    /// ended or its plugin died (with ordo, by its parent-death signal) and
    /// the log has been still for a moment.
    pub fn settle(&self) {
        let deadline = Instant::now() + PATIENCE;
        let mut last = (usize::MAX, Instant::now());
        loop {
            let calls = self.calls();
            let mut open = open_calls(&calls);
            open.retain(|c| alive(c.pid));
            if calls.len() != last.0 {
                last = (calls.len(), Instant::now());
            } else if open.is_empty() && last.1.elapsed() > Duration::from_millis(250) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "plugin calls never ended: {open:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Makes the plugin hold `task` (its action, not its undo) before
    /// answering, until [`Lab::release`].
    pub fn hold(&self, task: &str) {
        std::fs::write(self.gate.join(task.replace('/', "_")), "").unwrap();
    }

    pub fn release(&self, task: &str) {
        std::fs::remove_file(self.gate.join(task.replace('/', "_"))).unwrap();
    }

    /// `ordo status ID --format json`, which must succeed.
    pub fn status(&self, id: &str) -> Value {
        let out = self.ordo("status", &["status", id, "--format", "json"]);
        assert_eq!(out.code, Some(0), "{}", out.show());
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.show()))
    }

    /// `ordo plan ORDER --format json` with the lab's catalog.
    pub fn plan(&self, order: &Path) -> Value {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ordo"));
        cmd.arg("plan")
            .arg("--catalog")
            .arg(&self.catalog)
            .arg(order)
            .args(["--format", "json"])
            .current_dir(&self.root)
            .env_remove("ORDO_CATALOG");
        let out = self.start(cmd).finish();
        assert_eq!(out.code, Some(0), "{}", out.show());
        serde_json::from_str(&out.stdout).unwrap()
    }
}

/// Whether a process with this pid exists and is not a zombie.
pub fn alive(pid: u64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !matches!(
            stat.rsplit(')').next().map(str::trim_start),
            Some(s) if s.starts_with('Z') || s.starts_with('X')
        ),
        Err(_) => false,
    }
}

/// Calls begun and not ended, by plugin pid.
pub fn open_calls(calls: &[Call]) -> Vec<Call> {
    let ended: BTreeSet<u64> = calls
        .iter()
        .filter(|c| c.phase == "end")
        .map(|c| c.pid)
        .collect();
    calls
        .iter()
        .filter(|c| c.is_start() && !ended.contains(&c.pid))
        .cloned()
        .collect()
}

/// `{task: state}` from a status JSON.
pub fn task_states(status: &Value) -> BTreeMap<String, String> {
    status["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The task ids of a plan, in plan order.
pub fn plan_tasks(plan: &Value) -> Vec<String> {
    plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

/// The tasks of a plan that have an undo.
pub fn with_undo(plan: &Value) -> BTreeSet<String> {
    plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| !t["undo"].is_null())
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

/// For each task, every task it depends on, directly or not: its `after`
/// list (explicit and data dependencies) and every task of an earlier stage.
pub fn dependencies(plan: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let stages: Vec<&str> = plan["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let tasks = plan["tasks"].as_array().unwrap();
    let stage_of = |t: &Value| {
        stages
            .iter()
            .position(|s| *s == t["stage"].as_str().unwrap())
            .unwrap()
    };
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for t in tasks {
        let mut d: BTreeSet<String> = t["after"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        for u in tasks {
            if stage_of(u) < stage_of(t) {
                d.insert(u["id"].as_str().unwrap().to_string());
            }
        }
        deps.insert(t["id"].as_str().unwrap().to_string(), d);
    }
    // Transitive closure; plans are small.
    loop {
        let mut changed = false;
        let snapshot = deps.clone();
        for d in deps.values_mut() {
            let more: BTreeSet<String> =
                d.iter().flat_map(|x| snapshot[x].iter().cloned()).collect();
            for m in more {
                changed |= d.insert(m);
            }
        }
        if !changed {
            return deps;
        }
    }
}

/// Asserts that the undos in `calls` ran in reverse dependency order: when
/// task Y depends on task X and both were undone, Y's undo ended before
/// X's undo started (log order is the order the plugin wrote in).
pub fn assert_reverse_dependency_order(calls: &[Call], plan: &Value) {
    let deps = dependencies(plan);
    let first_start = |t: &str| {
        calls
            .iter()
            .position(|c| c.undo && c.task == t && c.is_start())
    };
    let last_end = |t: &str| {
        calls
            .iter()
            .rposition(|c| c.undo && c.task == t && c.is_ok_end())
    };
    let undone: BTreeSet<&str> = calls
        .iter()
        .filter(|c| c.undo && c.is_ok_end())
        .map(|c| c.task.as_str())
        .collect();
    for y in &undone {
        for x in &deps[*y] {
            if undone.contains(x.as_str()) {
                let (y_end, x_start) = (last_end(y).unwrap(), first_start(x).unwrap());
                assert!(
                    y_end < x_start,
                    "{y} depends on {x}, so the undo of {y} must end before the undo of {x} starts: {calls:#?}"
                );
            }
        }
    }
}
