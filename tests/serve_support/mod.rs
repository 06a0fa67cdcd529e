//! The real `ordo serve` in a lab: a temp folder with the state folder, the
//! plugin's log and its gate; servers started on 127.0.0.1:0 and always
//! killed (by pid, in `Drop`, also when a test panics); a blocking HTTP
//! client; waits with a generous deadline, never timed assertions.
#![allow(dead_code)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod listener;

/// How long any one wait may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(60);

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/serve")
}

/// An order of the `Box` product (four tasks, three of them at once).
pub fn order_yaml(id: &str, ms: u32) -> String {
    format!(
        "id: {id}\ncustomer: {{ id: C-1, email: ada@example.com }}\nitems:\n  - id: \"1\"\n    action: add\n    product: Box\n    attributes: {{ ms: {ms} }}\n"
    )
}

pub struct Lab {
    pub dir: tempfile::TempDir,
}

impl Lab {
    pub fn new() -> Lab {
        Lab {
            dir: tempfile::tempdir().expect("a temp folder"),
        }
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn log(&self) -> PathBuf {
        self.dir.path().join("plugin.log")
    }

    /// While this file exists, plugin calls wait.
    pub fn gate(&self) -> PathBuf {
        self.dir.path().join("gate")
    }

    pub fn close_gate(&self) {
        std::fs::write(self.gate(), "").expect("gate");
    }

    pub fn open_gate(&self) {
        let _ = std::fs::remove_file(self.gate());
    }

    /// `ordo serve` with the fixtures' catalog and bindings; `tag` marks its
    /// plugin calls in the log.
    pub fn serve(&self, tag: &str, extra: &[&str]) -> Server {
        self.serve_with(
            tag,
            &fixtures().join("catalog"),
            &fixtures().join("bindings.yaml"),
            extra,
        )
    }

    /// `ordo serve` with another catalog and bindings.
    pub fn serve_with(&self, tag: &str, catalog: &Path, bindings: &Path, extra: &[&str]) -> Server {
        self.launch(&self.state(), tag, catalog, bindings, extra, &[])
    }

    /// [`Lab::serve`] with its own state folder and environment; the
    /// server leads a process group of its own (with its plugin calls), so
    /// that [`Server::kill_group`] can kill both, as a machine crash does.
    pub fn serve_in(
        &self,
        state: &Path,
        tag: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let catalog = fixtures().join("catalog");
        let bindings = fixtures().join("bindings.yaml");
        self.launch(state, tag, &catalog, &bindings, extra, env)
    }

    /// `ordo serve` with its own state folder, catalog, bindings and
    /// environment, leading a process group of its own.
    pub fn launch(
        &self,
        state: &Path,
        tag: &str,
        catalog: &Path,
        bindings: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        use std::os::unix::process::CommandExt;
        let stderr = self.dir.path().join(format!("serve-{tag}.stderr"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ordo"));
        cmd.arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .arg("--state")
            .arg(state)
            .envs(env.iter().copied())
            .process_group(0)
            .arg("--catalog")
            .arg(catalog)
            .arg("--bindings")
            .arg(bindings)
            .args(extra)
            .env("SERVE_LOG", self.log())
            .env("SERVE_GATE", self.gate())
            .env("SERVE_TAG", tag)
            .env_remove("ORDO_STATE")
            .env_remove("ORDO_CATALOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&stderr).expect("stderr file"));
        let child = cmd.spawn().expect("ordo serve starts");
        let mut server = Server {
            child: Some(child),
            addr: String::new(),
            stderr,
        };
        let addr = wait_for("the server to listen", || {
            let text = std::fs::read_to_string(&server.stderr).unwrap_or_default();
            if let Some(child) = server.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("ordo serve exited {status}:\n{text}");
                }
            }
            text.lines()
                .find_map(|l| l.strip_prefix("ordo serve: listening on "))
                .map(str::to_string)
        });
        server.addr = addr;
        server
    }

    /// `ordo` with the lab's state folder.
    pub fn ordo(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_ordo"))
            .args(args)
            .arg("--state")
            .arg(self.state())
            .env_remove("ORDO_STATE")
            .env_remove("ORDO_CATALOG")
            .output()
            .expect("ordo runs")
    }

    /// The plugin's log: (phase, key, attempt, undo, tag) per line.
    pub fn calls(&self) -> Vec<Call> {
        std::fs::read_to_string(self.log())
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                (f.len() == 5).then(|| Call {
                    start: f[0] == "start",
                    key: f[1].to_string(),
                    attempt: f[2].parse().unwrap_or(0),
                    undo: f[3] == "true",
                    tag: f[4].to_string(),
                })
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub start: bool,
    pub key: String,
    pub attempt: u32,
    pub undo: bool,
    pub tag: String,
}

impl Call {
    /// The order of the call (keys are `ORDER/…`).
    pub fn order(&self) -> &str {
        self.key.split('/').next().unwrap_or("")
    }
}

/// A running `ordo serve`, killed when dropped.
pub struct Server {
    child: Option<Child>,
    pub addr: String,
    pub stderr: PathBuf,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.addr)
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().map_or(0, |c| c.id() as i32)
    }

    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// SIGKILL, and reaped.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGKILL to the server's process group (its plugin calls too), reaped.
    pub fn kill_group(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) on the process group our own child leads.
            unsafe {
                libc::kill(-(child.id() as i32), libc::SIGKILL);
            }
            let _ = child.wait();
        }
    }

    /// Sends `signal` to the server process alone.
    pub fn signal(&self, signal: i32) {
        if let Some(child) = &self.child {
            // SAFETY: kill(2) on the pid of our own child, not yet reaped.
            unsafe {
                libc::kill(child.id() as i32, signal);
            }
        }
    }

    /// Sends `signal` and waits for the exit; its exit code.
    pub fn stop_with(&mut self, signal: i32) -> Option<i32> {
        let mut child = self.child.take().expect("a running server");
        // SAFETY: kill(2) on the pid of our own child, not yet reaped.
        unsafe {
            libc::kill(child.id() as i32, signal);
        }
        let status = wait_for("the server to exit", || child.try_wait().ok().flatten());
        status.code()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A stopped server must run again to die of SIGKILL's reaping.
        self.signal(libc::SIGCONT);
        self.kill_group();
    }
}

/// Polls `f` until it gives something, failing the test after [`PATIENCE`].
pub fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let until = Instant::now() + PATIENCE;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < until, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

/// POSTs an order (YAML); the status code and the JSON body.
pub fn submit(server: &Server, yaml: &str) -> (u16, Value) {
    post_as(
        server,
        "/api/v1/orders",
        "application/yaml",
        yaml.to_string(),
    )
}

/// POSTs JSON to `path`; the status code and the JSON body.
pub fn post_json(server: &Server, path: &str, body: &Value) -> (u16, Value) {
    post_as(server, path, "application/json", body.to_string())
}

fn post_as(server: &Server, path: &str, content_type: &str, body: String) -> (u16, Value) {
    let response = client()
        .post(server.url(path))
        .header("content-type", content_type)
        .body(body)
        .send()
        .expect("the server answers");
    let code = response.status().as_u16();
    (code, response.json().unwrap_or(Value::Null))
}

/// GET as JSON.
pub fn get(server: &Server, path: &str) -> (u16, Value) {
    let response = client()
        .get(server.url(path))
        .send()
        .expect("the server answers");
    let code = response.status().as_u16();
    (code, response.json().unwrap_or(Value::Null))
}

/// The state of every order, from the API.
pub fn states(server: &Server) -> Vec<(String, String)> {
    let (_, list) = get(server, "/api/v1/orders");
    list.as_array()
        .map(|a| {
            a.iter()
                .map(|o| {
                    (
                        o["id"].as_str().unwrap_or("").to_string(),
                        o["state"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until the server reports every one of `ids` in `state`; a test
/// that gives up says where the orders were and what the server logged.
pub fn wait_all(server: &Server, ids: &[String], state: &str) {
    let until = Instant::now() + PATIENCE;
    loop {
        let now = states(server);
        if ids
            .iter()
            .all(|id| now.iter().any(|(i, s)| i == id && s == state))
        {
            return;
        }
        if Instant::now() >= until {
            let log = server.stderr_text();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            panic!(
                "gave up waiting for {ids:?} to be {state}: the orders are {now:?}; the server's last log lines, newest first:\n{}",
                tail.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The most calls running at once, and whether calls of two different
/// orders ever ran at once, from the log's order of lines.
pub fn concurrency(calls: &[Call]) -> (usize, bool) {
    let mut running: Vec<&Call> = Vec::new();
    let (mut most, mut across) = (0, false);
    for c in calls {
        if c.start {
            across |= running.iter().any(|r| r.order() != c.order());
            running.push(c);
            most = most.max(running.len());
        } else if let Some(i) = running.iter().position(|r| {
            r.key == c.key && r.attempt == c.attempt && r.undo == c.undo && r.tag == c.tag
        }) {
            running.remove(i);
        }
    }
    (most, across)
}
