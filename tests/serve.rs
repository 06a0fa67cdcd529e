//! `ordo serve` end to end: the real binary on 127.0.0.1:0, orders through
//! its HTTP API, the logging plugin of `tests/fixtures/serve/`.

mod serve_support;

use std::collections::BTreeSet;

use serde_json::Value;
use serve_support::*;

fn ids(prefix: &str, n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("{prefix}-{i}")).collect()
}

#[test]
fn many_orders_at_once_all_complete_overlapping_within_the_jobs_bound() {
    let lab = Lab::new();
    let server = lab.serve("a", &["--jobs", "3"]);
    let orders = ids("ORD-MANY", 8);
    std::thread::scope(|s| {
        for id in &orders {
            let server = &server;
            s.spawn(move || {
                let (code, body) = submit(server, &order_yaml(id, 80));
                assert_eq!(code, 201, "{body}");
                assert_eq!(body["order"], id.as_str());
            });
        }
    });
    wait_all(&server, &orders, "completed");
    let calls = lab.calls();
    // Every task of every order ran, once.
    let starts: BTreeSet<&str> = calls
        .iter()
        .filter(|c| c.start)
        .map(|c| c.key.as_str())
        .collect();
    assert_eq!(starts.len(), 8 * 4, "{calls:?}");
    assert_eq!(calls.iter().filter(|c| c.start).count(), 8 * 4);
    let (most, across) = concurrency(&calls);
    assert!(most <= 3, "--jobs 3 held across orders: {most} ran at once");
    assert!(most >= 2, "attempts ran at once: {most}");
    assert!(across, "tasks of different orders overlapped");
    // The metrics count them.
    let metrics = client()
        .get(server.url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("ordo_orders{state=\"completed\"} 8"),
        "{metrics}"
    );
    assert!(
        metrics.contains("ordo_attempts_succeeded_total 32"),
        "{metrics}"
    );
    assert!(
        metrics.contains("ordo_attempt_duration_seconds_count 32"),
        "{metrics}"
    );
    // One log line per order transition, on stderr.
    let log = server.stderr_text();
    let transitions = log
        .lines()
        .filter(|l| l.contains("\"order transition\"") && l.contains("\"completed\""))
        .count();
    assert_eq!(transitions, 8, "{log}");
}

fn metrics_text(server: &Server) -> String {
    client()
        .get(server.url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap()
}

#[test]
fn orders_beyond_the_runners_wait_queued_then_all_complete() {
    let lab = Lab::new();
    lab.close_gate();
    // Two runners (one per attempt place): two orders advance at once.
    let server = lab.serve("q", &["--jobs", "2"]);
    let orders = ids("ORD-QUEUE", 5);
    for id in &orders {
        assert_eq!(submit(&server, &order_yaml(id, 10)).0, 201);
    }
    wait_for("two orders advancing and three queued", || {
        let m = metrics_text(&server);
        (m.contains("ordo_orders_advancing 2\n") && m.contains("ordo_orders_queued 3\n"))
            .then_some(())
    });
    // The advancing orders take their runner locks; the queued ones are
    // stored and wait: acknowledged, no runner lock.
    let statuses = || -> Vec<Value> {
        orders
            .iter()
            .map(|id| get(&server, &format!("/api/v1/orders/{id}")).1)
            .collect()
    };
    let locked = |all: &[Value]| -> BTreeSet<String> {
        all.iter()
            .filter(|s| !s["runner"].is_null())
            .map(|s| s["order"].as_str().unwrap().to_string())
            .collect()
    };
    let all = wait_for("two orders holding their locks", || {
        let all = statuses();
        (locked(&all).len() == 2).then_some(all)
    });
    let advancing = locked(&all);
    for status in all.iter().filter(|s| s["runner"].is_null()) {
        assert_eq!(status["state"], "acknowledged", "{status}");
    }
    wait_for("an advancing order at the gate", || {
        (!lab.calls().is_empty()).then_some(())
    });
    // Whatever reached the gate is the advancing orders' (one of them may
    // hold both places).
    for c in lab.calls() {
        assert!(advancing.contains(c.order()), "{} ran queued", c.order());
    }
    assert_eq!(locked(&statuses()), advancing, "no third order started");
    lab.open_gate();
    wait_all(&server, &orders, "completed");
    // Never more than two orders had attempts running at once.
    let mut running: Vec<Call> = Vec::new();
    let mut most = 0;
    for c in lab.calls() {
        if c.start {
            running.push(c);
            let orders: BTreeSet<&str> = running.iter().map(Call::order).collect();
            most = most.max(orders.len());
        } else if let Some(i) = running
            .iter()
            .position(|r| r.key == c.key && r.attempt == c.attempt)
        {
            running.remove(i);
        }
    }
    assert!(most <= 2, "{most} orders ran at once");
    let m = metrics_text(&server);
    assert!(m.contains("ordo_orders_queued 0\n"), "{m}");
    assert!(m.contains("ordo_orders{state=\"completed\"} 5"), "{m}");
}

#[test]
fn an_order_in_retry_backoff_does_not_hold_back_the_queued_orders() {
    let lab = Lab::new();
    let catalog = lab.dir.path().join("backoff");
    std::fs::create_dir_all(&catalog).unwrap();
    std::fs::write(
        catalog.join("backoff.ordo"),
        "catalog \"Backoff\" version \"1\"\n\
         action b.flaky()\naction b.step()\n\
         product Flaky {\n  on add {\n    task flaky: b.flaky() {\n      retry 3 backoff 10m\n    }\n  }\n}\n\
         product Quick {\n  on add {\n    task quick: b.step()\n  }\n}\n",
    )
    .unwrap();
    let bindings = lab.dir.path().join("backoff.yaml");
    std::fs::write(
        &bindings,
        "actions:\n  b.flaky: { simulate: { fail: 1 } }\n  \"*\": { simulate: {} }\n",
    )
    .unwrap();
    // One runner: the flaky order, failed once and waiting 10 minutes for
    // its second attempt, would hold it through the backoff.
    let server = lab.serve_with("backoff", &catalog, &bindings, &["--jobs", "1"]);
    let order = |id: &str, product: &str| {
        format!(
            "id: {id}\ncustomer: {{ id: C-1 }}\nitems:\n  - id: \"1\"\n    action: add\n    product: {product}\n"
        )
    };
    assert_eq!(submit(&server, &order("ORD-FLAKY", "Flaky")).0, 201);
    wait_for("the flaky task's first attempt failed", || {
        let (_, status) = get(&server, "/api/v1/orders/ORD-FLAKY");
        let task = &status["tasks"][0];
        task["next_attempt_at"].is_string().then_some(())
    });
    let quick = ids("ORD-QUICK", 3);
    for id in &quick {
        assert_eq!(submit(&server, &order(id, "Quick")).0, 201);
    }
    wait_all(&server, &quick, "completed");
    let (_, status) = get(&server, "/api/v1/orders/ORD-FLAKY");
    assert_eq!(status["state"], "in_progress", "{status}");
    // The spare runner ended with its orders: one advancing, none queued.
    let m = metrics_text(&server);
    assert!(m.contains("ordo_orders_queued 0\n"), "{m}");
    assert!(m.contains("ordo_orders_advancing 1\n"), "{m}");
}

#[test]
fn a_simulated_order_has_its_events_log_and_no_plugin_log() {
    let lab = Lab::new();
    let order = lab.dir.path().join("ORD-SIM.yaml");
    std::fs::write(&order, order_yaml("ORD-SIM", 10)).unwrap();
    let catalog = fixtures().join("catalog");
    let out = lab.ordo(&[
        "run",
        "--catalog",
        catalog.to_str().unwrap(),
        order.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(lab.state().join("events").join("ORD-SIM.jsonl").is_file());
    assert!(
        !lab.state().join("logs").join("ORD-SIM.log").exists(),
        "no exec plugin, no plugin log"
    );
}

/// The events of an order as `GET …/events` returns them, by kind.
fn event_kinds(server: &Server, order: &str) -> Vec<String> {
    let (code, events) = get(server, &format!("/api/v1/orders/{order}/events"));
    assert_eq!(code, 200, "{events}");
    events
        .as_array()
        .expect("an array of events")
        .iter()
        .map(|e| e["event"]["event"].as_str().unwrap_or("?").to_string())
        .collect()
}

#[test]
fn a_server_keeps_events_in_its_store_and_writes_the_events_log_only_when_asked() {
    let lab = Lab::new();
    let log = |order: &str| lab.state().join("events").join(format!("{order}.jsonl"));
    // By default: every event in the store, no file an order.
    let server = lab.serve("a", &[]);
    let (code, body) = submit(&server, &order_yaml("ORD-QUIET", 10));
    assert_eq!(code, 201, "{body}");
    wait_all(&server, &["ORD-QUIET".to_string()], "completed");
    let kinds = event_kinds(&server, "ORD-QUIET");
    assert_eq!(
        kinds.iter().filter(|k| *k == "succeeded").count(),
        4,
        "{kinds:?}"
    );
    assert!(
        !log("ORD-QUIET").exists(),
        "no events log without --events-log"
    );
    drop(server);
    // With --events-log: the same events in the file as well.
    let server = lab.serve("b", &["--events-log"]);
    let (code, body) = submit(&server, &order_yaml("ORD-LOGGED", 10));
    assert_eq!(code, 201, "{body}");
    wait_all(&server, &["ORD-LOGGED".to_string()], "completed");
    let kinds = event_kinds(&server, "ORD-LOGGED");
    let text = std::fs::read_to_string(log("ORD-LOGGED")).expect("the events log");
    let logged: Vec<String> = text
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("a JSON line");
            v["event"].as_str().unwrap_or("?").to_string()
        })
        .collect();
    // The store's first event is the order's acknowledgement, recorded
    // when it was submitted, before any run: the log has the runs' events.
    assert_eq!(kinds.first().map(String::as_str), Some("order"));
    assert_eq!(logged, kinds[1..]);
}

#[test]
fn sigkill_mid_run_then_restart_completes_every_order_nothing_twice() {
    let lab = Lab::new();
    lab.close_gate();
    let orders = ids("ORD-KILL", 4);
    let mut first = lab.serve("1", &["--jobs", "4"]);
    for id in &orders {
        assert_eq!(submit(&first, &order_yaml(id, 10)).0, 201);
    }
    wait_for("attempts to start", || {
        (lab.calls().iter().filter(|c| c.start).count() >= 4).then_some(())
    });
    first.kill();
    lab.open_gate();
    let second = lab.serve("2", &["--jobs", "4"]);
    wait_all(&second, &orders, "completed");
    let calls = lab.calls();
    // No attempt was invoked twice: a task the first server started is
    // invoked again only as a new attempt with the same key.
    let mut seen = BTreeSet::new();
    for c in calls.iter().filter(|c| c.start) {
        assert!(
            seen.insert((c.key.clone(), c.attempt, c.undo)),
            "invoked twice: {c:?}\n{calls:?}"
        );
    }
    for id in &orders {
        for task in ["one", "two", "three", "four"] {
            let key = format!("{id}/1/{task}");
            assert!(
                calls.iter().any(|c| !c.start && c.key == key),
                "{key} never finished: {calls:?}"
            );
        }
    }
    // The restarted server took the orders over: their tasks ran there.
    assert!(calls.iter().any(|c| c.start && c.tag == "2"), "{calls:?}");
}

/// A server running `order`, its first attempts waiting at the gate.
fn gated(lab: &Lab, order: &str) -> Server {
    lab.close_gate();
    let server = lab.serve("a", &[]);
    assert_eq!(submit(&server, &order_yaml(order, 10)).0, 201);
    wait_for("an attempt to start", || {
        lab.calls().iter().any(|c| c.start).then_some(())
    });
    server
}

#[test]
fn a_cancel_through_the_cli_in_another_process_reaches_an_order_the_server_runs() {
    let lab = Lab::new();
    let server = gated(&lab, "ORD-CANCEL");
    let out = lab.ordo(&["cancel", "ORD-CANCEL"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("cancel requested"), "{stdout}");
    lab.open_gate();
    wait_all(&server, &["ORD-CANCEL".to_string()], "cancelled");
    let calls = lab.calls();
    for task in ["one", "two", "three"] {
        let undo = format!("ORD-CANCEL/1/{task}/undo");
        assert!(
            calls.iter().any(|c| c.key == undo),
            "compensated: {calls:?}"
        );
    }
}

#[test]
fn a_cancel_through_the_api_compensates() {
    let lab = Lab::new();
    let server = gated(&lab, "ORD-APICANCEL");
    let response = client()
        .post(server.url("/api/v1/orders/ORD-APICANCEL/cancel"))
        .header("x-ordo-user", "ada")
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    lab.open_gate();
    wait_all(&server, &["ORD-APICANCEL".to_string()], "cancelled");
    let (code, events) = get(&server, "/api/v1/orders/ORD-APICANCEL/events");
    assert_eq!(code, 200);
    assert!(events.as_array().is_some_and(|e| e.len() > 2), "{events}");
    assert!(server.stderr_text().contains("\"user\":\"ada\""));
}

#[test]
fn sigterm_lets_running_attempts_finish_and_exits_0_and_a_restart_continues() {
    let lab = Lab::new();
    lab.close_gate();
    let mut server = lab.serve("1", &[]);
    assert_eq!(submit(&server, &order_yaml("ORD-TERM", 10)).0, 201);
    wait_for("attempts to start", || {
        (lab.calls().iter().filter(|c| c.start).count() == 3).then_some(())
    });
    // SIGTERM while three attempts wait on the gate; they may finish.
    let pid = server.pid();
    // SAFETY: kill(2) on the pid of our own running child.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    lab.open_gate();
    assert_eq!(server.stop_with(0), Some(0), "{}", server.stderr_text());
    let calls = lab.calls();
    assert_eq!(
        calls.iter().filter(|c| !c.start).count(),
        3,
        "running ones finished: {calls:?}"
    );
    assert!(
        !calls.iter().any(|c| c.key.ends_with("/four")),
        "nothing new started: {calls:?}"
    );
    let again = lab.serve("2", &[]);
    wait_all(&again, &["ORD-TERM".to_string()], "completed");
    let calls = lab.calls();
    assert!(calls
        .iter()
        .any(|c| c.key == "ORD-TERM/1/four" && c.tag == "2"));
    assert_eq!(
        calls.iter().filter(|c| c.start).count(),
        4,
        "nothing twice: {calls:?}"
    );
}

#[test]
fn the_token_the_body_limit_and_bad_bodies() {
    let lab = Lab::new();
    let token = lab.dir.path().join("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    let server = lab.serve("a", &["--token-file", token.to_str().unwrap()]);
    let c = client();
    let status = |r: reqwest::blocking::RequestBuilder| r.send().unwrap().status().as_u16();
    assert_eq!(status(c.get(server.url("/healthz"))), 200);
    assert_eq!(status(c.get(server.url("/api/v1/orders"))), 401);
    assert_eq!(status(c.get(server.url("/metrics"))), 401);
    assert_eq!(
        status(c.get(server.url("/api/v1/orders")).bearer_auth("s3cre")),
        401
    );
    assert_eq!(
        status(c.get(server.url("/api/v1/orders")).bearer_auth("s3cret")),
        200
    );
    let post = |body: Vec<u8>, ct: &str| {
        c.post(server.url("/api/v1/orders"))
            .bearer_auth("s3cret")
            .header("content-type", ct)
            .body(body)
            .send()
            .unwrap()
    };
    assert_eq!(too_large(&server, "s3cret"), 413);
    let bad = post(
        br#"{"id": "ORD-J", "items": [{"product": 7}]}"#.to_vec(),
        "application/json",
    );
    assert_eq!(bad.status().as_u16(), 400);
    let body: Value = bad.json().unwrap();
    assert_eq!(body["@type"], "Error");
    assert_eq!(body["status"], "400");
    let paths: Vec<&str> = body["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["path"].as_str())
        .collect();
    assert!(paths.iter().any(|p| p.starts_with("$.items[0]")), "{body}");
    assert_eq!(
        post(b"{\"id\": ".to_vec(), "application/json")
            .status()
            .as_u16(),
        400
    );
    assert_eq!(
        post(vec![0xff, 0xfe], "application/yaml").status().as_u16(),
        400
    );
    let nested = "[".repeat(100_000);
    assert_eq!(
        post(nested.into_bytes(), "application/json")
            .status()
            .as_u16(),
        400
    );
    let openapi = c
        .get(server.url("/openapi.json"))
        .bearer_auth("s3cret")
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap();
    assert!(
        openapi["paths"]["/api/v1/orders/{id}/cancel"].is_object(),
        "{openapi}"
    );
}

#[test]
fn two_hundred_garbage_bodies_never_get_a_500_and_the_server_keeps_serving() {
    let lab = Lab::new();
    let server = lab.serve("a", &[]);
    let c = client();
    // A seeded generator: the same bodies every run.
    let mut seed: u64 = 0x5eed_0d0a_2026_1202;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let pieces: [&[u8]; 12] = [
        b"{",
        b"}",
        b"[",
        b"]",
        b"\"id\":",
        b"items",
        b": ",
        b"- ",
        b"\n",
        b"product: Box",
        b"\xc3\x28",
        b"&a *a",
    ];
    for i in 0..200 {
        let len = (next() % 64) as usize;
        let mut body = Vec::new();
        for _ in 0..len {
            if next() % 3 == 0 {
                body.push((next() % 256) as u8);
            } else {
                body.extend_from_slice(pieces[(next() % pieces.len() as u64) as usize]);
            }
        }
        let ct = ["application/json", "application/yaml", "text/plain"][i % 3];
        let code = c
            .post(server.url("/api/v1/orders"))
            .header("content-type", ct)
            .body(body.clone())
            .send()
            .unwrap()
            .status()
            .as_u16();
        assert!(
            code < 500,
            "{code} for {:?}",
            String::from_utf8_lossy(&body)
        );
    }
    for path in [
        "/api/v1/orders/..%2F..",
        "/api/v1/orders/%00/plan",
        "/api/v1/inventory?status=x",
    ] {
        let code = c.get(server.url(path)).send().unwrap().status().as_u16();
        assert!((400..500).contains(&code), "{code} for {path}");
    }
    assert_eq!(get(&server, "/healthz").0, 200);
    assert_eq!(submit(&server, &order_yaml("ORD-AFTER", 1)).0, 201);
    wait_all(&server, &["ORD-AFTER".to_string()], "completed");
}

/// The status of a POST of a 2 MiB body. The server answers once it has
/// read 1 MiB and may close the connection while the client still sends,
/// which an HTTP client reports as an error: this speaks HTTP/1.1 over a
/// socket and reads the answer whatever became of the rest of the body.
fn too_large(server: &Server, token: &str) -> u16 {
    use std::io::{Read, Write};
    let addr = server.addr.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(
        s,
        "POST /api/v1/orders HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        2 * 1024 * 1024
    )
    .unwrap();
    let _ = s.write_all(&vec![b' '; 2 * 1024 * 1024]);
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    String::from_utf8_lossy(&head[9..12]).parse().unwrap()
}
