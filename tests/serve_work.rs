//! `ordo serve` and work that waits: an order parked on a work item is woken
//! when the item is completed from another process (the CLI), and one
//! parked on a timer is continued when the time comes, with no call from
//! outside. The plugin log tells which process ran each task.

mod serve_support;

use serve_support::*;

fn visit(id: &str) -> String {
    format!(
        "id: {id}\ncustomer: {{ id: C-1, email: ada@example.com }}\nitems:\n  - id: \"1\"\n    action: add\n    product: Visit\n"
    )
}

fn later(id: &str) -> String {
    format!(
        "id: {id}\ncustomer: {{ id: C-1, email: ada@example.com }}\nitems:\n  - id: \"1\"\n    action: add\n    product: Later\n"
    )
}

/// Bob claims and completes the survey of the `Visit` order `id` with the
/// CLI; what `ordo task complete` said.
fn complete_survey(lab: &Lab, id: &str) -> std::process::Output {
    let claim = lab.ordo(&["task", "claim", id, "1/survey", "--as", "bob"]);
    assert_eq!(claim.status.code(), Some(0), "{claim:?}");
    let done = lab.ordo(&[
        "task",
        "complete",
        id,
        "1/survey",
        "--as",
        "bob",
        "--output",
        "ready=true",
        "--output",
        "notes=clear path",
    ]);
    assert_eq!(done.status.code(), Some(0), "{done:?}");
    done
}

fn order_state(server: &Server, id: &str) -> String {
    let (_, body) = get(server, &format!("/api/v1/orders/{id}"));
    body["state"].as_str().unwrap_or("").to_string()
}

#[test]
fn a_work_item_completed_with_the_cli_wakes_the_servers_order() {
    let lab = Lab::new();
    let server = lab.serve("engine", &[]);
    let (code, body) = submit(&server, &visit("ORD-W1"));
    assert_eq!(code, 201, "{body}");
    // The order parks on its work item: open in the field team's queue.
    let items = wait_for("the work item to open", || {
        let out = lab.ordo(&["tasks", "--team", "field-ops", "--format", "json"]);
        let items: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        (items.as_array()?.len() == 1).then_some(items)
    });
    assert_eq!(items[0]["order"], "ORD-W1");
    assert_eq!(items[0]["task"], "1/survey");
    assert_eq!(order_state(&server, "ORD-W1"), "in_progress");

    let done = complete_survey(&lab, "ORD-W1");
    let said = String::from_utf8_lossy(&done.stdout);
    assert!(
        said.contains("ordo serve"),
        "the CLI leaves the order to the engine: {said}"
    );

    wait_for("the order to complete", || {
        (order_state(&server, "ORD-W1") == "completed").then_some(())
    });
    // The step after the survey ran once, in the server (its tag), not in
    // the CLI process.
    let calls: Vec<Call> = lab
        .calls()
        .into_iter()
        .filter(|c| c.start && c.key == "ORD-W1/1/after_survey")
        .collect();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].tag, "engine");
    // Who did the work is in the order's events.
    let (_, events) = get(&server, "/api/v1/orders/ORD-W1/events");
    let text = events.to_string();
    assert!(text.contains("\"by\":\"bob\""), "{text}");
}

#[test]
fn a_timer_fires_in_the_server_with_no_call_from_outside() {
    let lab = Lab::new();
    let server = lab.serve("engine", &[]);
    let (code, body) = submit(&server, &later("ORD-T1"));
    assert_eq!(code, 201, "{body}");
    // Parked first: the task waits its two seconds.
    wait_for("the order to park", || {
        let (_, events) = get(&server, "/api/v1/orders/ORD-T1/events");
        events.to_string().contains("\"parked\"").then_some(())
    });
    assert!(
        lab.calls().iter().all(|c| c.order() != "ORD-T1"),
        "nothing ran before its time"
    );
    wait_for("the timer to fire", || {
        (order_state(&server, "ORD-T1") == "completed").then_some(())
    });
    let calls: Vec<Call> = lab
        .calls()
        .into_iter()
        .filter(|c| c.start && c.order() == "ORD-T1")
        .collect();
    assert_eq!(calls.len(), 1, "{calls:?}");
    // Its start came after the recorded not-before time.
    let (_, status) = get(&server, "/api/v1/orders/ORD-T1");
    let task = &status["tasks"][0];
    let started = task["started_at"].as_str().unwrap_or_default().to_string();
    let (_, events) = get(&server, "/api/v1/orders/ORD-T1/events");
    let until = events
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|e| {
            (e["event"]["event"] == "waiting" || e["event"] == "waiting")
                .then(|| e["event"]["until"].as_str().or(e["until"].as_str()))
                .flatten()
                .map(str::to_string)
        })
        .expect("a waiting event with its time");
    assert!(started >= until, "started {started}, not before {until}");
}

fn tomorrow(id: &str) -> String {
    format!(
        "id: {id}\ncustomer: {{ id: C-1, email: ada@example.com }}\nitems:\n  - id: \"1\"\n    action: add\n    product: Tomorrow\n"
    )
}

/// `/metrics`' value of the line `name` (without labels).
fn metric(server: &Server, name: &str) -> Option<String> {
    let text = client()
        .get(server.url("/metrics"))
        .send()
        .ok()?
        .text()
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ').map(str::to_string))
}

/// Ready, with `parked` orders parked and `timers` timers armed.
fn wait_ready(server: &Server, parked: usize, timers: usize) {
    wait_for("the engine to be ready", || {
        let ready = metric(server, "ordo_engine_ready")? == "1";
        let p = metric(server, "ordo_orders_parked")? == parked.to_string();
        let t = metric(server, "ordo_timers_armed")? == timers.to_string();
        (ready && p && t).then_some(())
    });
}

fn event_count(server: &Server, id: &str) -> usize {
    let (_, events) = get(server, &format!("/api/v1/orders/{id}/events"));
    events.as_array().map_or(0, Vec::len)
}

#[test]
fn a_restarted_server_knows_its_parked_orders_and_timers_without_running_them() {
    let lab = Lab::new();
    let mut server = lab.serve("first", &[]);
    for yaml in [visit("ORD-R1"), tomorrow("ORD-R2")] {
        let (code, body) = submit(&server, &yaml);
        assert_eq!(code, 201, "{body}");
    }
    // One waits on a work item, the other on a timer an hour away.
    wait_ready(&server, 2, 1);
    let before = [
        event_count(&server, "ORD-R1"),
        event_count(&server, "ORD-R2"),
    ];
    assert_eq!(server.stop_with(libc::SIGTERM), Some(0));

    let server = lab.serve("restart", &[]);
    wait_ready(&server, 2, 1);
    // Known from their journals: no run appended anything.
    let after = [
        event_count(&server, "ORD-R1"),
        event_count(&server, "ORD-R2"),
    ];
    assert_eq!(before, after);
    assert!(
        server.stderr_text().contains("engine ready"),
        "{}",
        server.stderr_text()
    );
    // An order known that way is woken as any parked order.
    complete_survey(&lab, "ORD-R1");
    wait_for("the order to complete", || {
        (order_state(&server, "ORD-R1") == "completed").then_some(())
    });
    assert_eq!(order_state(&server, "ORD-R2"), "in_progress");
    wait_ready(&server, 1, 1);
}
