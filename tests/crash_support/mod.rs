//! The real `ordo` binary against the catalog of `tests/fixtures/crash/`,
//! whose actions are answered by this very test binary started as an exec
//! plugin (`plugin_entry`, see [`serve_if_plugin`]): it starts in a few
//! milliseconds, where a Python plugin takes hundreds on a loaded machine.
//!
//! The plugin keeps its world in `ROOT/world/`: one effect file per task
//! whose action took effect (its undo removes it), a lock per idempotency
//! key held while a call of that key is live, and `calls.jsonl`, one line
//! per phase of every call (`start`, `effect`, `end`, `overlap`).
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

#[path = "../durable_support/mod.rs"]
mod durable_support;
#[allow(unused_imports)]
pub use durable_support::{alive, task_states, Out, Running, PATIENCE};

/// Set in the plugin's environment: this test binary is the plugin.
pub const PLUGIN_ENV: &str = "CRASH_PLUGIN";

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/crash")
}

/// The plugin's command line: this test binary, running only `plugin_entry`.
pub fn plugin_argv() -> Vec<String> {
    let exe = std::env::current_exe().expect("the test binary's path");
    vec![
        exe.display().to_string(),
        "plugin_entry".into(),
        "--exact".into(),
        "--nocapture".into(),
        "--test-threads=1".into(),
        "-q".into(),
    ]
}

fn key_file(key: &str) -> String {
    key.replace('/', "_")
}

fn fnv(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// When this process was started as the fixture's plugin (`$CRASH_PLUGIN`
/// set), serves its one request and exits; otherwise returns at once.
///
/// Behaviour, from the inputs and the environment:
/// - `slow_attempts: N`: attempts up to N do their work, then answer after
///   their timeout (they sleep `$CRASH_SLOW_MS`, default 3000);
/// - `fail: true`, or `$CRASH_FAIL` naming the task: the action fails for
///   good before doing anything (never an undo);
/// - `ms: N`: take N ms before answering;
/// - `$CRASH_SEED`: each call draws from (seed, key, attempt): below
///   `$CRASH_P_RETRY` it answers "retry later" (exit 75) before doing
///   anything; within the next `$CRASH_P_SLOW` it works, then answers late.
pub fn serve_if_plugin() {
    if std::env::var_os(PLUGIN_ENV).is_none() {
        return;
    }
    let code = serve();
    std::process::exit(code);
}

fn serve() -> i32 {
    let world = PathBuf::from(std::env::var("CRASH_DIR").expect("$CRASH_DIR"));
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).unwrap();
    let req: Value = serde_json::from_str(&line).expect("a request");
    let inputs = &req["inputs"];
    let key = req["idempotency_key"].as_str().unwrap().to_string();
    let undo = req["undo"].as_bool().unwrap();
    let task = req["task"].as_str().unwrap().to_string();
    let attempt = req["attempt"].as_u64().unwrap();
    let forward_key = key.strip_suffix("/undo").unwrap_or(&key).to_string();
    let log = |phase: &str, extra: Value| {
        let mut rec = json!({
            "phase": phase, "task": task, "attempt": attempt, "key": key, "undo": undo,
            "tag": std::env::var("CRASH_TAG").unwrap_or_default(), "pid": std::process::id(),
            "env_probe": std::env::var("CRASH_PROBE").ok(),
            "env_secret": std::env::var("CRASH_SECRET").ok(),
        });
        if let (Value::Object(rec), Value::Object(extra)) = (&mut rec, extra) {
            rec.extend(extra);
        }
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(world.join("calls.jsonl"))
            .unwrap();
        f.write_all(format!("{rec}\n").as_bytes()).unwrap();
    };
    std::fs::create_dir_all(world.join("locks")).unwrap();
    std::fs::create_dir_all(world.join("effects")).unwrap();
    let lock = File::create(world.join("locks").join(key_file(&key))).unwrap();
    log("start", json!({}));
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        log("overlap", json!({}));
        // SAFETY: as above.
        unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
    }
    let env_f64 = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let draw = std::env::var("CRASH_SEED")
        .ok()
        .map(|seed| (fnv(&format!("{seed}|{key}|{attempt}")) % 1_000_000) as f64 / 1e6);
    let (p_retry, p_slow) = (env_f64("CRASH_P_RETRY"), env_f64("CRASH_P_SLOW"));
    let reply = |obj: Value, code: i32, result: &str| -> i32 {
        log("end", json!({ "result": result }));
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{obj}");
        let _ = out.flush();
        code
    };
    if draw.is_some_and(|r| r < p_retry) {
        return reply(
            json!({"error": "busy, try later", "retryable": true}),
            75,
            "retryable",
        );
    }
    let failing = inputs["fail"] == true || std::env::var("CRASH_FAIL").is_ok_and(|t| t == task);
    if failing && !undo {
        return reply(
            json!({"error": "refused by the test", "retryable": false}),
            1,
            "failed",
        );
    }
    if std::env::var("CRASH_CHILD").is_ok_and(|t| t == task) && !undo {
        // A helper in the plugin's process group, which outlives the
        // plugin unless someone kills the group (and is never reaped here).
        #[allow(clippy::zombie_processes)]
        let child = Command::new("sleep").arg("600").spawn().unwrap();
        log("child", json!({ "child": child.id() }));
    }
    let effect = world.join("effects").join(key_file(&forward_key));
    if undo {
        if effect.exists() {
            std::fs::remove_file(&effect).unwrap();
            log("effect", json!({"change": "removed"}));
        }
    } else if !effect.exists() {
        std::fs::write(&effect, &key).unwrap();
        log("effect", json!({"change": "made"}));
    }
    let slow = attempt <= inputs["slow_attempts"].as_u64().unwrap_or(0)
        || draw.is_some_and(|r| (p_retry..p_retry + p_slow).contains(&r));
    if slow {
        let ms = std::env::var("CRASH_SLOW_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(3000);
        std::thread::sleep(Duration::from_millis(ms));
    }
    std::thread::sleep(Duration::from_millis(inputs["ms"].as_u64().unwrap_or(0)));
    reply(json!({"outputs": {"out": format!("{task}:out")}}), 0, "ok")
}

/// One line of the plugin's log.
#[derive(Debug, Clone)]
pub struct Call {
    pub phase: String,
    pub task: String,
    pub attempt: u64,
    pub key: String,
    pub undo: bool,
    pub tag: String,
    pub pid: u64,
    pub result: Option<String>,
    pub change: Option<String>,
    pub env_probe: Option<String>,
    pub env_secret: Option<String>,
    /// The pid of the helper a `child` line reports.
    pub child: Option<u64>,
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
            key: s("key"),
            undo: v["undo"].as_bool().unwrap_or(false),
            tag: s("tag"),
            pid: v["pid"].as_u64().unwrap_or(0),
            result: v["result"].as_str().map(String::from),
            change: v["change"].as_str().map(String::from),
            env_probe: v["env_probe"].as_str().map(String::from),
            env_secret: v["env_secret"].as_str().map(String::from),
            child: v["child"].as_u64(),
        }
    }

    pub fn is_start(&self) -> bool {
        self.phase == "start"
    }
}

/// A temp folder per test: `state/`, the plugin's `world/`, a bindings file.
pub struct Lab {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub state: PathBuf,
    pub world: PathBuf,
    pub bindings: PathBuf,
    outputs: std::sync::atomic::AtomicUsize,
}

impl Default for Lab {
    fn default() -> Self {
        Self::new()
    }
}

impl Lab {
    /// A lab whose bindings send every action to the plugin.
    pub fn new() -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let world = root.join("world");
        std::fs::create_dir(&world).unwrap();
        let lab = Lab {
            state: root.join("state"),
            bindings: root.join("bindings.yaml"),
            world,
            root,
            _dir: dir,
            outputs: Default::default(),
        };
        lab.write_bindings(&lab.bindings, &plugin_argv(), "");
        lab
    }

    /// Writes a bindings file sending every action to `argv`, with `extra`
    /// members in the binding (e.g. `, env: {...}`).
    pub fn write_bindings(&self, path: &Path, argv: &[String], extra: &str) {
        let argv = serde_json::to_string(argv).unwrap();
        std::fs::write(
            path,
            format!("actions:\n  \"*\": {{ exec: {argv}{extra} }}\n"),
        )
        .unwrap();
    }

    /// Writes an order of one item of `product` with `attributes` (YAML flow).
    pub fn order(&self, id: &str, product: &str, attributes: &str) -> PathBuf {
        let path = self.root.join(format!("{id}.yaml"));
        std::fs::write(
            &path,
            format!(
                "id: {id}\ncustomer: {{ id: C-1, email: c1@example.com }}\nitems:\n  - id: \"1\"\n    action: add\n    product: {product}\n    attributes: {{ {attributes} }}\n"
            ),
        )
        .unwrap();
        path
    }

    /// `ordo ARGS --state STATE` in the lab, its plugins told who runs them.
    pub fn command<S: AsRef<OsStr>>(&self, tag: &str, args: &[S]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ordo"));
        cmd.args(args)
            .arg("--state")
            .arg(&self.state)
            .current_dir(&self.root)
            .env_remove("ORDO_CATALOG")
            .env_remove("ORDO_STATE")
            .env("NO_COLOR", "1")
            .env(PLUGIN_ENV, "1")
            .env("CRASH_DIR", &self.world)
            .env("CRASH_TAG", tag)
            .stdin(Stdio::null());
        cmd
    }

    /// `ordo run ORDER` with the fixture catalog and the lab's bindings.
    pub fn run_command(&self, tag: &str, order: &Path) -> Command {
        let catalog = fixtures().join("catalog");
        let args: Vec<&OsStr> = vec![
            "run".as_ref(),
            "--catalog".as_ref(),
            catalog.as_os_str(),
            order.as_os_str(),
            "--bindings".as_ref(),
            self.bindings.as_os_str(),
            "--quiet".as_ref(),
        ];
        self.command(tag, &args)
    }

    pub fn start(&self, cmd: Command) -> Running {
        let n = self
            .outputs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let stdout = self.root.join(format!("out-{n}.txt"));
        let stderr = self.root.join(format!("err-{n}.txt"));
        Running::spawn(cmd, stdout, stderr)
    }

    pub fn ordo<S: AsRef<OsStr>>(&self, tag: &str, args: &[S]) -> Out {
        self.start(self.command(tag, args)).finish()
    }

    /// The plugin's log so far (complete lines only).
    pub fn calls(&self) -> Vec<Call> {
        let text = std::fs::read_to_string(self.world.join("calls.jsonl")).unwrap_or_default();
        let complete = text.rfind('\n').map_or("", |i| &text[..=i]);
        complete.lines().map(Call::parse).collect()
    }

    /// Waits until `cond` holds for the plugin's log.
    pub fn wait_for(&self, what: &str, cond: impl Fn(&[Call]) -> bool) -> Vec<Call> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let calls = self.calls();
            if cond(&calls) {
                return calls;
            }
            assert!(Instant::now() < deadline, "waited {PATIENCE:?} for {what}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// The tasks whose action's effect is in place now.
    pub fn effects(&self) -> BTreeSet<String> {
        let dir = self.world.join("effects");
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .map(|e| {
                        let name = e.unwrap().file_name().to_string_lossy().to_string();
                        // ORDER_ITEM_TASK → ITEM/TASK
                        let mut parts = name.splitn(2, '_');
                        parts.next();
                        parts.next().unwrap_or_default().replace('_', "/")
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `ordo status ID --format json`, which must succeed.
    pub fn status(&self, id: &str) -> Value {
        let out = self.ordo("status", &["status", id, "--format", "json"]);
        assert_eq!(out.code, Some(0), "{}", out.show());
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.show()))
    }
}
