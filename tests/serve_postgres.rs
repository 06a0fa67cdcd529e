//! Three `ordo serve` processes on one PostgreSQL schema (`docs/scale-out.md`):
//! every order submitted to any of them completes; a server SIGKILLed with
//! its plugin calls (a machine crash) has its orders finished by the
//! others; a server SIGSTOPped past its lease writes nothing once it runs
//! again; no task runs in two processes at once and no task has effects
//! under two keys (from the plugin's log). And TMF622 on two servers: a
//! ProductOrder created on one is read, listed and cancelled through the
//! other, and a hub's listener gets each event once. Skipped, saying so,
//! without `ORDO_TEST_DATABASE_URL` (e.g.
//! `postgres://postgres@127.0.0.1:5432/test`).

mod serve_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use serve_support::listener::Listener;
use serve_support::{get, order_yaml, post_json as post, submit, wait_for, Call, Lab, Server};

const DATABASE_VAR: &str = "ORDO_TEST_DATABASE_URL";

/// A fresh schema, dropped at the end.
struct Schema {
    admin: String,
    name: String,
}

impl Schema {
    fn new() -> Option<Schema> {
        let admin = std::env::var(DATABASE_VAR).ok()?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        Some(Schema {
            admin,
            name: format!("ordo_serve_{}_{nanos}", std::process::id()),
        })
    }

    fn url(&self) -> String {
        let sep = if self.admin.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-csearch_path%3D{}", self.admin, self.name)
    }

    fn count(&self, sql: &str) -> i64 {
        let mut client = postgres::Client::connect(&self.url(), postgres::NoTls).unwrap();
        client.query_one(sql, &[]).unwrap().get(0)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

/// The states of all orders, as one server's API reports them.
fn completed(server: &Server) -> usize {
    let (_, list) = get(server, "/api/v1/orders");
    list.as_array().map_or(0, |a| {
        a.iter().filter(|o| o["state"] == "completed").count()
    })
}

/// Calls of one key by different servers whose runs overlap in the log's
/// order of lines; a call whose server was killed before it ended ends at
/// the kill (`killed`: tag and log length then).
fn overlaps(calls: &[Call], killed: (&str, usize)) -> Vec<String> {
    /// A call's first and last line, and its server.
    type Run<'a> = (usize, usize, &'a str);
    let mut runs: BTreeMap<(&str, bool), Vec<Run>> = BTreeMap::new();
    let mut open: BTreeMap<(&str, u32, bool, &str), usize> = BTreeMap::new();
    for (i, c) in calls.iter().enumerate() {
        let id = (c.key.as_str(), c.attempt, c.undo, c.tag.as_str());
        if c.start {
            open.insert(id, i);
        } else if let Some(s) = open.remove(&id) {
            runs.entry((c.key.as_str(), c.undo))
                .or_default()
                .push((s, i, c.tag.as_str()));
        }
    }
    for ((key, _, undo, tag), s) in open {
        let end = if tag == killed.0 {
            killed.1
        } else {
            calls.len()
        };
        runs.entry((key, undo)).or_default().push((s, end, tag));
    }
    let mut found = Vec::new();
    for ((key, _), list) in &runs {
        for (i, a) in list.iter().enumerate() {
            for b in &list[i + 1..] {
                if a.2 != b.2 && a.0 < b.1 && b.0 < a.1 {
                    found.push(format!("{key}: {} and {}", a.2, b.2));
                }
            }
        }
    }
    found
}

#[test]
fn three_servers_share_one_database_through_a_crash_and_a_pause() {
    let Some(schema) = Schema::new() else {
        eprintln!("skipped: {DATABASE_VAR} is not set, so there is no PostgreSQL server to test");
        return;
    };
    let lab = Lab::new();
    let url = schema.url();
    let lease = [("ORDO_LEASE_MS", "1500")];
    let serve = |tag: &str| {
        let state = lab.dir.path().join(format!("state-{tag}"));
        lab.serve_in(&state, tag, &["--store", &url], &lease)
    };
    let (mut a, b, c) = (serve("A"), serve("B"), serve("C"));
    let servers = [&a, &b, &c];
    let ids: Vec<String> = (0..100).map(|i| format!("ORD-{i:03}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let (code, body) = submit(servers[i % 3], &order_yaml(id, 40));
        assert_eq!(code, 201, "{body}");
    }
    // A crashes (with its plugin calls) once it has started work.
    wait_for("A to start a call", || {
        lab.calls()
            .iter()
            .any(|c| c.start && c.tag == "A")
            .then_some(())
    });
    a.kill_group();
    let killed_at = lab.calls().len();
    // B pauses past its lease while it holds orders.
    wait_for("B to start a call", || {
        lab.calls()
            .iter()
            .any(|c| c.start && c.tag == "B")
            .then_some(())
    });
    b.signal(libc::SIGSTOP);
    let until = std::time::Instant::now() + serve_support::PATIENCE;
    while completed(&c) < ids.len() {
        if std::time::Instant::now() > until {
            let tail = |s: &Server| {
                let text = s.stderr_text();
                let lines: Vec<&str> = text.lines().collect();
                lines[lines.len().saturating_sub(15)..].join("\n")
            };
            b.signal(libc::SIGCONT);
            panic!(
                "not every order completed: {}\nC:\n{}\nB:\n{}",
                get(&c, "/api/v1/orders").1,
                tail(&c),
                tail(&b)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let events = schema.count("SELECT count(*) FROM events");
    let calls = lab.calls().len();
    b.signal(libc::SIGCONT);
    // B wakes to leases taken over: it must write nothing. Its heartbeat
    // finds the loss within a third of the lease; wait for B to answer
    // again and well past that.
    wait_for("B to answer again", || {
        (get(&b, "/healthz").0 == 200).then_some(())
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        schema.count("SELECT count(*) FROM events"),
        events,
        "a server woken past its lease wrote events"
    );
    let after: Vec<Call> = lab.calls().split_off(calls);
    assert!(
        after.iter().all(|c| !c.start),
        "calls started after the pause: {after:?}"
    );
    let calls = lab.calls();
    // Every task's effect carries its one key; every task ran (the servers
    // that took over re-invoked interrupted calls with the same key).
    for id in &ids {
        for task in ["one", "two", "three", "four"] {
            let key = format!("{id}/1/{task}");
            assert!(
                calls.iter().any(|c| !c.start && c.key == key),
                "{key} never ended"
            );
        }
    }
    assert!(
        calls.iter().all(|c| !c.key.contains('@')),
        "a task had effects under another key"
    );
    let found = overlaps(&calls, ("A", killed_at));
    assert!(
        found.is_empty(),
        "calls ran in two servers at once: {found:?}"
    );
    // All three took part, and the ones left finished the crashed one's
    // orders: every order ended completed in the database.
    for tag in ["A", "B", "C"] {
        assert!(calls.iter().any(|c| c.tag == tag), "{tag} ran nothing");
    }
    assert_eq!(
        schema.count("SELECT count(*) FROM orders WHERE state = 'completed'"),
        ids.len() as i64
    );
    assert_eq!(
        schema
            .count("SELECT count(*) FROM runners WHERE token IS NOT NULL AND lease_until > now()"),
        0,
        "a lock is still held"
    );
}

#[test]
fn tmf622_orders_and_hub_events_are_shared_by_servers_on_one_database() {
    let Some(schema) = Schema::new() else {
        eprintln!("skipped: {DATABASE_VAR} is not set, so there is no PostgreSQL server to test");
        return;
    };
    const V4: &str = "/tmf-api/productOrderingManagement/v4";
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sample = std::fs::read_to_string(root.join("tests/fixtures/tmf/v4-create.json")).unwrap();
    let sample: Value = serde_json::from_str(&sample).unwrap();
    let lab = Lab::new();
    let url = schema.url();
    let serve = |tag: &str| {
        lab.launch(
            &lab.dir.path().join(format!("state-{tag}")),
            tag,
            &root.join("examples/tmf/catalog"),
            &root.join("tests/fixtures/tmf-serve/bindings.yaml"),
            &["--store", &url],
            &[("ORDO_LEASE_MS", "5000")],
        )
    };
    let (a, b) = (serve("A"), serve("B"));
    let listener = Listener::start(false);
    let (code, hub) = post(&a, &format!("{V4}/hub"), &json!({"callback": listener.url}));
    assert_eq!(code, 201, "{hub:#}");
    let (code, created) = post(&a, &format!("{V4}/productOrder"), &sample);
    assert_eq!(code, 201, "{created:#}");
    let id = created["id"].as_str().unwrap().to_string();
    // The other server reads the order's TMF record, and finds it by its
    // external id, while either runs it.
    let (code, read) = get(&b, &format!("{V4}/productOrder/{id}"));
    assert_eq!(code, 200, "{read:#}");
    assert_eq!(read["externalId"], created["externalId"]);
    let (_, found) = get(&b, &format!("{V4}/productOrder?externalId=PO-456"));
    assert_eq!(found[0]["id"], id.as_str(), "{found:#}");
    wait_for("the order to complete", || {
        let (_, order) = get(&b, &format!("{V4}/productOrder/{id}"));
        (order["state"] == "completed").then_some(())
    });
    // A cancel asked of one server is read back from the other.
    let (code, cancel) = post(
        &b,
        &format!("{V4}/cancelProductOrder"),
        &json!({"productOrder": {"id": id}, "cancellationReason": "too late"}),
    );
    assert_eq!(code, 201, "{cancel:#}");
    let (code, again) = get(
        &a,
        &format!("{V4}/cancelProductOrder/{}", cancel["id"].as_str().unwrap()),
    );
    assert_eq!(code, 200, "{again:#}");
    assert_eq!(again["state"], cancel["state"]);
    // Both servers queue and send hub events: each reaches the listener
    // once, in the order's order.
    let states = wait_for("the completed event", || {
        let s = listener.states(&id);
        s.iter().any(|(_, state)| state == "completed").then_some(s)
    });
    std::thread::sleep(Duration::from_millis(1000));
    let ids: Vec<String> = listener
        .received
        .lock()
        .unwrap()
        .iter()
        .map(|e| e["eventId"].as_str().unwrap_or_default().to_string())
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "an event came twice: {ids:?}");
    assert_eq!(states[0].0, "ProductOrderCreateEvent", "{states:?}");
    assert_eq!(
        states.last().map(|(_, s)| s.as_str()),
        Some("completed"),
        "{states:?}"
    );
    assert_eq!(
        schema.count("SELECT count(*) FROM tmf_outbox WHERE delivered_at IS NULL"),
        0
    );
}
