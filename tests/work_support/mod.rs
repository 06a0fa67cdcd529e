//! The real `ordo` binary against a state folder, with the catalog of
//! `tests/fixtures/work/`: a lab per test, commands run to their end (or
//! spawned), and readers of the store's answers. Waits are bounded: a bug
//! fails the test instead of hanging it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The order of `site.yaml`.
pub const SITE: &str = "ORD-SITE";

/// How long any one wait may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(60);

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/work")
}

pub struct Lab {
    pub dir: tempfile::TempDir,
}

/// A finished command.
#[derive(Debug)]
pub struct Out {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn show(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    pub fn last_line(&self) -> &str {
        self.stdout.lines().last().unwrap_or_default()
    }
}

impl From<Output> for Out {
    fn from(o: Output) -> Out {
        Out {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Kills a spawned process when dropped (also on panic).
pub struct Guard(pub Option<Child>);

impl Guard {
    /// Waits for the process to end (bounded by [`PATIENCE`]).
    pub fn finish(&mut self) -> Out {
        let mut child = self.0.take().expect("a running process");
        let deadline = Instant::now() + PATIENCE;
        while child.try_wait().expect("wait").is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("the process did not end within {PATIENCE:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().expect("output").into()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Lab {
    pub fn new() -> Lab {
        Lab {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn log(&self) -> PathBuf {
        self.dir.path().join("calls.jsonl")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ordo"));
        c.args(args)
            .current_dir(self.dir.path())
            .env("ORDO_STATE", self.state())
            .env("ORDO_CATALOG", fixtures().join("catalog"))
            .env("WORK_LOG", self.log())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        c
    }

    pub fn ordo(&self, args: &[&str]) -> Out {
        self.command(args).output().expect("ordo runs").into()
    }

    pub fn spawn(&self, args: &[&str]) -> Guard {
        let child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ordo starts");
        Guard(Some(child))
    }

    /// Writes a file into the lab and gives its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    /// `ordo run` of `order` (a fixture file name or a path) with `bindings`
    /// (a fixture file name).
    pub fn run(&self, order: &str, bindings: &str, extra: &[&str]) -> Out {
        let order = fixtures().join(order);
        let bindings = fixtures().join(bindings);
        let mut args = vec![
            "run",
            order.to_str().unwrap(),
            "--bindings",
            bindings.to_str().unwrap(),
            "--quiet",
        ];
        args.extend_from_slice(extra);
        self.ordo(&args)
    }

    pub fn status(&self, order: &str) -> Value {
        let out = self.ordo(&["status", order, "--format", "json"]);
        assert_eq!(out.code, Some(0), "{}", out.show());
        serde_json::from_str(&out.stdout).expect("status JSON")
    }

    pub fn task_state(&self, order: &str, task: &str) -> String {
        let status = self.status(order);
        status["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == task)
            .unwrap_or_else(|| panic!("no task {task}"))["state"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn tasks(&self, extra: &[&str]) -> Vec<Value> {
        let mut args = vec!["tasks", "--format", "json"];
        args.extend_from_slice(extra);
        let out = self.ordo(&args);
        assert_eq!(out.code, Some(0), "{}", out.show());
        serde_json::from_str(&out.stdout).expect("tasks JSON")
    }

    /// Waits until `ready` holds (bounded).
    pub fn until(&self, what: &str, mut ready: impl FnMut() -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !ready() {
            assert!(Instant::now() < deadline, "gave up waiting for {what}");
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// The events of the order's journal, as `{"event": …}` objects, from
    /// the events log.
    pub fn events(&self, order: &str) -> Vec<Value> {
        let path = self.state().join("events").join(format!("{order}.jsonl"));
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("event JSON"))
            .collect()
    }

    /// The calls the logging plugin saw: (task, undo).
    pub fn calls(&self) -> Vec<(String, bool)> {
        std::fs::read_to_string(self.log())
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).expect("call JSON");
                (
                    v["task"].as_str().unwrap().to_string(),
                    v["undo"].as_bool().unwrap(),
                )
            })
            .collect()
    }
}

impl Lab {
    /// The order's journal in the store (every event, work changes too),
    /// oldest first.
    pub fn journal(&self, order: &str) -> Vec<Value> {
        let db = rusqlite::Connection::open_with_flags(
            self.state().join("ordo.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("open the store");
        let mut stmt = db
            .prepare("SELECT event FROM events WHERE order_id = ?1 ORDER BY seq")
            .unwrap();
        let rows = stmt
            .query_map([order], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|r| serde_json::from_str(&r.unwrap()).unwrap())
            .collect();
        rows
    }

    /// How many journal events of kind `event` are about task index `task`.
    pub fn count(&self, order: &str, event: &str, task: u64) -> usize {
        self.journal(order)
            .iter()
            .filter(|e| e["event"] == event && e["task"] == task)
            .count()
    }
}

impl Lab {
    /// The order's journal with when each event was recorded: (at, event).
    pub fn journal_at(&self, order: &str) -> Vec<(String, Value)> {
        let db = rusqlite::Connection::open_with_flags(
            self.state().join("ordo.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("open the store");
        let mut stmt = db
            .prepare("SELECT at, event FROM events WHERE order_id = ?1 ORDER BY seq")
            .unwrap();
        let rows = stmt
            .query_map([order], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .unwrap()
            .map(|r| {
                let (at, e) = r.unwrap();
                (at, serde_json::from_str(&e).unwrap())
            })
            .collect();
        rows
    }
}
