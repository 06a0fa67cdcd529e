//! `http` bindings through the real binary (`docs/bindings.md`, "`http`"):
//! `ordo run --bindings` against a small HTTP server started here, on
//! 127.0.0.1 port 0, that answers from a script and records every request.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How long a run may take before the test fails (never reached when all is well).
const PATIENCE: Duration = Duration::from_secs(60);

const CATALOG: &str = r#"catalog "HTTP actions" version "1"

action net.activate(port: string) -> (circuit: string, vlan: int)
action net.release(circuit: string)
action net.configure(circuit: string, vlan: int)

product Line {
  attr port: string = "p-1"

  on add {
    task activate: net.activate(port: port) {
      retry 2 every 10ms
      undo net.release(circuit: activate.circuit)
    }
    task configure: net.configure(circuit: activate.circuit, vlan: activate.vlan) {
      after activate
    }
  }
}
"#;

const ORDER: &str = "ORD-H1";
const ACTIVATE_KEY: &str = "ORD-H1/1/activate";

/// How the server answers one request.
#[derive(Clone)]
enum Answer {
    Reply(u16, &'static str),
    /// Never answer: hold the connection open until the server stops.
    Hang,
}

/// One request as the server read it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    /// Lower-case names.
    headers: BTreeMap<String, String>,
    body: Value,
}

impl Seen {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
}

#[derive(Default)]
struct Shared {
    /// Answers by path, in turn; once a path's run out it answers 200 with
    /// an empty body (success without outputs).
    script: BTreeMap<String, VecDeque<Answer>>,
    seen: Vec<Seen>,
    /// Connections held by `Answer::Hang`.
    held: Vec<TcpStream>,
}

/// The test server; stopped (and its thread joined) when dropped, also when
/// the test panics.
struct Server {
    port: u16,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(script: &[(&str, Vec<Answer>)]) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Mutex::new(Shared {
            script: script
                .iter()
                .map(|(path, answers)| (path.to_string(), answers.iter().cloned().collect()))
                .collect(),
            ..Shared::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (shared, stop) = (Arc::clone(&shared), Arc::clone(&stop));
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        serve(stream, &shared);
                    }
                }
            })
        };
        Server {
            port,
            shared,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn seen(&self) -> Vec<Seen> {
        self.shared.lock().unwrap().seen.clone()
    }

    fn seen_at(&self, path: &str) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.path == path).collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accepting thread.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if let Ok(mut shared) = self.shared.lock() {
            for s in shared.held.drain(..) {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }
}

/// Reads one request from `stream`, records it and answers it (one request
/// per connection: every answer says `Connection: close`).
fn serve(stream: TcpStream, shared: &Mutex<Shared>) {
    let _ = stream.set_read_timeout(Some(PATIENCE));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return; // the waking connection, or a probe
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = h.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut shared = shared.lock().unwrap();
    let answer = shared
        .script
        .get_mut(&path)
        .and_then(VecDeque::pop_front)
        .unwrap_or(Answer::Reply(200, ""));
    shared.seen.push(Seen {
        method,
        path,
        headers,
        body,
    });
    match answer {
        Answer::Hang => shared.held.push(stream),
        Answer::Reply(status, body) => {
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 {status} Scripted\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.flush();
        }
    }
}

/// A temp folder with the catalog, the order and a state folder.
struct Lab {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Out {
    fn show(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl Lab {
    fn new() -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        std::fs::create_dir(root.join("catalog")).unwrap();
        std::fs::write(root.join("catalog/net.ordo"), CATALOG).unwrap();
        std::fs::write(
            root.join("order.yaml"),
            format!(
                "id: {ORDER}\ncustomer: {{ id: C-1 }}\nitems:\n  - id: \"1\"\n    action: add\n    product: Line\n"
            ),
        )
        .unwrap();
        Lab { _dir: dir, root }
    }

    /// Writes `b.yaml`: every `net.*` action POSTed to `url` + its name.
    fn bindings(&self, text: &str) -> PathBuf {
        let path = self.root.join("b.yaml");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ordo"));
        cmd.args(args)
            .arg("--state")
            .arg(self.root.join("state"))
            .current_dir(&self.root)
            .env_remove("ORDO_CATALOG")
            .env_remove("ORDO_STATE")
            .env("NO_COLOR", "1")
            .env("NO_PROXY", "127.0.0.1")
            .env("no_proxy", "127.0.0.1")
            .stdin(Stdio::null());
        cmd
    }

    fn ordo(&self, args: &[&str]) -> Out {
        let mut child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the ordo binary starts");
        let (mut stdout, mut stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let out = thread::spawn(move || {
            let mut s = String::new();
            let _ = stdout.read_to_string(&mut s);
            s
        });
        let err = thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("ordo {args:?} did not finish within {PATIENCE:?}");
            }
            thread::sleep(Duration::from_millis(10));
        };
        Out {
            code: status.code(),
            stdout: out.join().unwrap(),
            stderr: err.join().unwrap(),
        }
    }

    fn run(&self, bindings: &Path) -> Out {
        let b = bindings.display().to_string();
        self.ordo(&run_args(&b))
    }

    fn status(&self) -> Value {
        let out = self.ordo(&["status", ORDER, "--format", "json"]);
        assert_eq!(out.code, Some(0), "{}", out.show());
        serde_json::from_str(&out.stdout).unwrap()
    }
}

fn run_args(bindings: &str) -> [&str; 7] {
    [
        "run",
        "--catalog",
        "catalog",
        "order.yaml",
        "--bindings",
        bindings,
        "--quiet",
    ]
}

/// A background `ordo`, SIGKILLed when dropped (also when the test panics).
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Bindings sending every `net.*` action to the server, at `/ACTION`.
fn net_bindings(server: &Server, timeout: &str) -> String {
    let mut text = String::from("actions:\n");
    for action in ["activate", "release", "configure"] {
        text.push_str(&format!(
            "  net.{action}:\n    http:\n      url: \"{}\"\n      timeout: {timeout}\n      \
             headers: {{ Authorization: \"Bearer s3cret\", X-Region: eu-1 }}\n",
            server.url(&format!("/{action}"))
        ));
    }
    text
}

const ACTIVATED: &str = r#"{"outputs": {"circuit": "C-7", "vlan": 42}}"#;

fn task_state(status: &Value, id: &str) -> String {
    status["tasks"]
        .as_array()
        .and_then(|tasks| tasks.iter().find(|t| t["id"] == id))
        .map(|t| t["state"].as_str().unwrap_or_default().to_string())
        .unwrap_or_else(|| panic!("no task {id} in {status:#}"))
}

/// Runs the order against `server` and checks that it failed (exit 1)
/// saying `message`.
fn fails_saying(server: &Server, message: &str) -> Lab {
    let lab = Lab::new();
    let b = lab.bindings(&net_bindings(server, "10s"));
    let out = lab.run(&b);
    assert_eq!(out.code, Some(1), "{}", out.show());
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains(message), "{message}: {}", out.show());
    lab
}

/// A server that never answers the first activation, and answers the second.
fn hang_then_activate() -> Server {
    Server::start(&[(
        "/activate",
        vec![Answer::Hang, Answer::Reply(200, ACTIVATED)],
    )])
}

/// The activation was asked twice, with the same key: attempts 1 and 2.
fn assert_activated_twice_with_one_key(server: &Server) {
    let activations = server.seen_at("/activate");
    assert_eq!(activations.len(), 2, "{:#?}", server.seen());
    for (n, a) in activations.iter().enumerate() {
        assert_eq!(a.header("idempotency-key"), ACTIVATE_KEY);
        assert_eq!(a.body["idempotency_key"], ACTIVATE_KEY);
        assert_eq!(a.body["attempt"], n as u64 + 1);
    }
}

#[test]
fn a_2xx_reply_succeeds_with_its_outputs_and_the_request_is_the_exec_protocols() {
    let server = Server::start(&[("/activate", vec![Answer::Reply(200, ACTIVATED)])]);
    let lab = Lab::new();
    let b = lab.bindings(&net_bindings(&server, "10s"));
    let out = lab.run(&b);
    assert_eq!(out.code, Some(0), "{}", out.show());

    let seen = server.seen();
    let paths: Vec<&str> = seen.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(paths, ["/activate", "/configure"]);
    let activate = &seen[0];
    assert_eq!(activate.method, "POST");
    assert_eq!(activate.header("idempotency-key"), ACTIVATE_KEY);
    assert_eq!(activate.header("content-type"), "application/json");
    assert_eq!(activate.header("authorization"), "Bearer s3cret");
    assert_eq!(activate.header("x-region"), "eu-1");
    assert_eq!(
        activate.body,
        json!({
            "protocol": 1, "action": "net.activate", "order": ORDER, "task": "1/activate", "version": 1,
            "attempt": 1, "idempotency_key": ACTIVATE_KEY, "undo": false,
            "inputs": { "port": "p-1" }
        })
    );
    // The outputs, read through their types, reached the next task's inputs.
    let configure = &seen[1];
    assert_eq!(configure.header("idempotency-key"), "ORD-H1/1/configure");
    assert_eq!(
        configure.body["inputs"],
        json!({ "circuit": "C-7", "vlan": 42 })
    );
    let status = lab.status();
    assert_eq!(status["state"], "completed", "{status:#}");
}

#[test]
fn a_503_is_retried_with_the_same_idempotency_key() {
    let server = Server::start(&[(
        "/activate",
        vec![
            Answer::Reply(503, r#"{"error": "switch busy"}"#),
            Answer::Reply(200, ACTIVATED),
        ],
    )]);
    let lab = Lab::new();
    let b = lab.bindings(&net_bindings(&server, "10s"));
    let out = lab.run(&b);
    assert_eq!(out.code, Some(0), "{}", out.show());
    assert_activated_twice_with_one_key(&server);
    assert_eq!(lab.status()["state"], "completed");
}

#[test]
fn a_400_fails_the_order_for_good_with_the_replys_error_and_the_undo_is_posted() {
    let server = Server::start(&[
        ("/activate", vec![Answer::Reply(200, ACTIVATED)]),
        (
            "/configure",
            vec![Answer::Reply(400, r#"{"error": "vlan 42 is taken"}"#)],
        ),
    ]);
    let lab = fails_saying(
        &server,
        "the service answered 400 Bad Request: vlan 42 is taken",
    );
    // Not retried: one call; the activation was compensated over HTTP.
    assert_eq!(server.seen_at("/configure").len(), 1);
    let releases = server.seen_at("/release");
    assert_eq!(releases.len(), 1);
    let release = &releases[0];
    assert_eq!(release.header("idempotency-key"), "ORD-H1/1/activate/undo");
    assert_eq!(release.body["undo"], true);
    assert_eq!(release.body["action"], "net.release");
    assert_eq!(release.body["inputs"], json!({ "circuit": "C-7" }));
    let status = lab.status();
    assert_eq!(status["state"], "failed", "{status:#}");
    assert_eq!(task_state(&status, "1/configure"), "failed");
    assert_eq!(task_state(&status, "1/activate"), "compensated");
}

#[test]
fn a_timeout_is_an_unknown_outcome_asked_again_with_the_same_key() {
    let server = hang_then_activate();
    let lab = Lab::new();
    let b = lab.bindings(&net_bindings(&server, "300ms"));
    let out = lab.run(&b);
    assert_eq!(out.code, Some(0), "{}", out.show());
    assert_activated_twice_with_one_key(&server);
    assert_eq!(lab.status()["state"], "completed");
}

#[test]
fn a_timeout_whose_retries_run_out_holds_the_order_naming_the_task() {
    let server = Server::start(&[("/activate", vec![Answer::Hang, Answer::Hang, Answer::Hang])]);
    let lab = Lab::new();
    let b = lab.bindings(&net_bindings(&server, "200ms"));
    let out = lab.run(&b);
    assert_ne!(out.code, Some(0), "{}", out.show());
    let status = lab.status();
    assert_eq!(status["state"], "held", "{status:#}");
    let reason = status["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("1/activate") && reason.contains("unknown"),
        "{status:#}"
    );
    // Never cancelled, never undone: its outcome is not known.
    assert_eq!(task_state(&status, "1/activate"), "running");
    assert!(server.seen_at("/release").is_empty());
    assert!(server.seen_at("/configure").is_empty());
}

#[test]
fn an_ill_typed_reply_fails_for_good_as_an_exec_plugins_does() {
    let server = Server::start(&[(
        "/activate",
        vec![Answer::Reply(
            200,
            r#"{"outputs": {"circuit": "C-7", "vlan": "many"}}"#,
        )],
    )]);
    fails_saying(&server, "output `vlan`: expected an int, found \"many\"");
    assert_eq!(server.seen_at("/activate").len(), 1);
}

#[test]
fn a_refused_connection_is_retried_then_fails() {
    // A port nobody listens on any more.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let lab = Lab::new();
    let b = lab.bindings(&format!(
        "actions:\n  \"*\": {{ http: {{ url: \"http://127.0.0.1:{port}/x\", timeout: 10s }} }}\n"
    ));
    let out = lab.run(&b);
    assert_eq!(out.code, Some(1), "{}", out.show());
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("cannot connect to"), "{}", out.show());
    let status = lab.status();
    assert_eq!(status["state"], "failed", "{status:#}");
    // Attempt 1 and its two retries.
    let tasks = status["tasks"].as_array().unwrap();
    let activate = tasks.iter().find(|t| t["id"] == "1/activate").unwrap();
    assert_eq!(activate["attempts"], 3, "{activate:#}");
}

#[test]
fn a_bad_binding_url_is_refused_before_anything_runs_with_its_position() {
    let server = Server::start(&[]);
    let lab = Lab::new();
    let b = lab.bindings(
        "actions:\n  \"*\": { noop: {} }\n  net.activate: { http: { url: \"ftp://127.0.0.1/activate\" } }\n  \
         net.release: { http: { url: \"/release\" } }\n",
    );
    let out = lab.run(&b);
    assert_eq!(out.code, Some(1), "{}", out.show());
    for expected in [
        "ordo::bindings",
        "`ftp://127.0.0.1/activate` is not an http or https URL",
        "b.yaml:3:32",
        "`/release` is not a URL",
        "b.yaml:4:31",
    ] {
        assert!(out.stderr.contains(expected), "{expected}: {}", out.show());
    }
    assert!(server.seen().is_empty());
    let status = lab.ordo(&["status", ORDER]);
    assert_eq!(
        status.code,
        Some(2),
        "the order was stored: {}",
        status.show()
    );
}

#[test]
fn a_run_killed_while_its_request_is_in_flight_resumes_asking_again_with_the_same_key() {
    let server = hang_then_activate();
    let lab = Lab::new();
    let b = lab.bindings(&net_bindings(&server, "60s"));
    let b = b.display().to_string();
    let mut run = Killed(
        lab.command(&run_args(&b))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the ordo binary starts"),
    );
    let deadline = Instant::now() + PATIENCE;
    while server.seen_at("/activate").is_empty() {
        assert!(Instant::now() < deadline, "the request never came");
        thread::sleep(Duration::from_millis(10));
    }
    // SIGKILL, as a crash would.
    run.0.kill().unwrap();
    run.0.wait().unwrap();
    drop(run);
    assert_eq!(task_state(&lab.status(), "1/activate"), "running");

    // The bindings were stored with the order: resume needs no --bindings.
    let out = lab.ordo(&["resume", ORDER, "--quiet"]);
    assert_eq!(out.code, Some(0), "{}", out.show());
    assert_activated_twice_with_one_key(&server);
    assert_eq!(server.seen_at("/configure").len(), 1);
    assert_eq!(lab.status()["state"], "completed");
}
