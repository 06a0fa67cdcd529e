//! A load generator for `ordo serve`: clients post orders over HTTP and it
//! prints the throughput and the latency percentiles of the posts
//! (hdrhistogram), optionally waiting until every order it submitted has
//! ended, for the end-to-end rate. Used by `benches/service.sh`.
//!
//! ```sh
//! cargo run --release --example loadgen -- --url http://127.0.0.1:8622 \
//!     --template order.yaml --clients 8 --duration 10 --until completed --json
//! ```
//!
//! The template is an order document (YAML or JSON, as the server takes
//! it); every occurrence of the placeholder (`{{id}}` unless `--placeholder`
//! says otherwise) is replaced by an order id unique to the request
//! (`PREFIX-CLIENT-N`). Several `--url` spread the clients round-robin
//! (client `i` posts to url `i mod n`), for several servers on one database.
//! One thread and one keep-alive connection per client; a client posts its
//! next order as soon as the last one is answered (closed loop), or, with
//! `--rate N`, when it is due on a schedule of N posts a second over all
//! the clients (client `i` posts the `k`-th round's order at
//! `(k * clients + i) / N` seconds). Then a post's latency counts from when
//! it was due, so that a server falling behind the schedule shows in the
//! percentiles (no coordinated omission), and the end-to-end rate tells
//! whether the server sustains N orders a second.

use std::collections::HashSet;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::{json, Value};

/// What `--until` waits for after the last post.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Until {
    /// Only the posts: done when the last one is answered.
    Submitted,
    /// Every submitted order reached a final state (completed, failed, cancelled).
    Completed,
}

#[derive(Debug, Clone)]
struct Options {
    urls: Vec<String>,
    token: Option<String>,
    clients: usize,
    orders: Option<u64>,
    duration: Option<Duration>,
    template: String,
    json_body: bool,
    placeholder: String,
    prefix: String,
    until: Until,
    timeout: Duration,
    json: bool,
    /// Posts a second over all the clients; `None`: closed loop.
    rate: Option<f64>,
}

const USAGE: &str = "usage: loadgen --url URL [--url URL ...] --template FILE \
[--token TOKEN] [--clients N] (--orders N | --duration SECONDS) [--placeholder TEXT] \
[--prefix TEXT] [--rate POSTS_PER_S] [--until submitted|completed] [--timeout SECONDS] [--json]";

fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut urls = Vec::new();
    let mut token = None;
    let mut clients = 1usize;
    let mut orders = None;
    let mut duration = None;
    let mut template = None;
    let mut placeholder = "{{id}}".to_string();
    let mut prefix = format!("LG{}", std::process::id());
    let mut until = Until::Submitted;
    let mut timeout = Duration::from_secs(600);
    let mut json = false;
    let mut rate = None;
    let mut args = args.peekable();
    while let Some(flag) = args.next() {
        if flag == "--json" {
            json = true;
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: not a number: {v}"))
        };
        match flag.as_str() {
            "--url" => urls.push(value.trim_end_matches('/').to_string()),
            "--token" => token = Some(value),
            "--clients" => clients = number(&value)?.max(1) as usize,
            "--orders" => orders = Some(number(&value)?),
            "--duration" => {
                let s: f64 = value
                    .parse()
                    .map_err(|_| format!("--duration: not a number: {value}"))?;
                duration = Some(Duration::from_secs_f64(s.max(0.0)));
            }
            "--template" => template = Some(value),
            "--placeholder" => placeholder = value,
            "--prefix" => prefix = value,
            "--until" => {
                until = match value.as_str() {
                    "submitted" => Until::Submitted,
                    "completed" => Until::Completed,
                    _ => return Err(format!("--until: submitted or completed, not {value}")),
                }
            }
            "--timeout" => timeout = Duration::from_secs(number(&value)?),
            "--rate" => {
                let r: f64 = value
                    .parse()
                    .ok()
                    .filter(|r: &f64| r.is_finite() && *r > 0.0)
                    .ok_or_else(|| format!("--rate: not a positive number: {value}"))?;
                rate = Some(r);
            }
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if urls.is_empty() {
        return Err("--url is required".into());
    }
    if orders.is_none() == duration.is_none() {
        return Err("give one of --orders and --duration".into());
    }
    let path = template.ok_or("--template is required")?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    if !text.contains(&placeholder) {
        return Err(format!(
            "the template {path} has no {placeholder}: every order would have the same id"
        ));
    }
    let json_body = path.ends_with(".json") || text.trim_start().starts_with('{');
    Ok(Options {
        urls,
        token,
        clients,
        orders,
        duration,
        template: text,
        json_body,
        placeholder,
        prefix,
        until,
        timeout,
        json,
        rate,
    })
}

/// What one client did.
struct ClientRun {
    latency: Histogram<u64>,
    submitted: Vec<String>,
    errors: u64,
    first_error: Option<String>,
}

fn client(i: usize, o: &Options, start: Instant, quota: Option<u64>) -> ClientRun {
    let url = format!("{}/api/v1/orders", o.urls[i % o.urls.len()]);
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("an HTTP client");
    let mut run = ClientRun {
        latency: Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds"),
        submitted: Vec::new(),
        errors: 0,
        first_error: None,
    };
    let content_type = if o.json_body {
        "application/json"
    } else {
        "application/yaml"
    };
    for n in 0u64.. {
        if quota.is_some_and(|q| n >= q) || o.duration.is_some_and(|d| start.elapsed() >= d) {
            break;
        }
        // On a schedule, the post waits until it is due and its latency
        // counts from then.
        let due = o.rate.map(|rate| {
            let at = (n * o.clients as u64 + i as u64) as f64 / rate;
            start + Duration::from_secs_f64(at)
        });
        if let Some(due) = due {
            if o.duration.is_some_and(|d| due.duration_since(start) >= d) {
                break;
            }
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        let id = format!("{}-{i}-{n}", o.prefix);
        let body = o.template.replace(&o.placeholder, &id);
        let mut req = http
            .post(&url)
            .header("content-type", content_type)
            .header("x-ordo-user", "loadgen")
            .body(body);
        if let Some(t) = &o.token {
            req = req.bearer_auth(t);
        }
        let began = due.unwrap_or_else(Instant::now);
        let answer = req.send().and_then(|r| {
            let status = r.status();
            r.text().map(|t| (status, t))
        });
        let us = began.elapsed().as_micros().max(1) as u64;
        run.latency.saturating_record(us);
        match answer {
            Ok((status, _)) if status.as_u16() == 201 => run.submitted.push(id),
            Ok((status, text)) => {
                run.errors += 1;
                run.first_error
                    .get_or_insert_with(|| format!("{id}: HTTP {status}: {}", clip(&text)));
            }
            Err(e) => {
                run.errors += 1;
                run.first_error.get_or_insert_with(|| format!("{id}: {e}"));
            }
        }
    }
    run
}

fn clip(text: &str) -> String {
    text.chars().take(300).collect()
}

/// Polls the order lists until every id in `pending` is final, or the
/// timeout passes; the time the last one was seen final, and how many were
/// left. Between polls it waits four times as long as the last poll took
/// (50 ms at least): a list of thousands of orders costs the server real
/// work, and a poller asking back to back would take that from the orders
/// it measures (at most a fifth of the server's time this way).
fn wait_final(o: &Options, mut pending: HashSet<String>) -> Result<(Instant, usize), String> {
    let http = reqwest::blocking::Client::new();
    let until = Instant::now() + o.timeout;
    let mut finals: std::collections::BTreeMap<String, u64> = Default::default();
    loop {
        let asked = Instant::now();
        for url in &o.urls {
            let mut req = http.get(format!("{url}/api/v1/orders"));
            if let Some(t) = &o.token {
                req = req.bearer_auth(t);
            }
            let list: Value = req
                .send()
                .and_then(|r| r.error_for_status())
                .and_then(|r| r.json())
                .map_err(|e| format!("cannot list the orders of {url}: {e}"))?;
            for order in list.as_array().into_iter().flatten() {
                let (Some(id), Some(state)) = (order["id"].as_str(), order["state"].as_str())
                else {
                    continue;
                };
                if matches!(state, "completed" | "failed" | "cancelled") && pending.remove(id) {
                    *finals.entry(state.to_string()).or_default() += 1;
                }
            }
        }
        if pending.is_empty() || Instant::now() >= until {
            let seen = Instant::now();
            if !o.json {
                let by: Vec<String> = finals.iter().map(|(s, n)| format!("{n} {s}")).collect();
                eprintln!("loadgen: ended: {}", by.join(", "));
            }
            return Ok((seen, pending.len()));
        }
        std::thread::sleep((asked.elapsed() * 4).max(Duration::from_millis(50)));
    }
}

fn main() -> ExitCode {
    let o = match parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("loadgen: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let start = Instant::now();
    let runs: Vec<ClientRun> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..o.clients)
            .map(|i| {
                // --orders N is spread over the clients, the first ones
                // taking the remainder.
                let quota = o.orders.map(|n| {
                    let c = o.clients as u64;
                    n / c + u64::from((i as u64) < n % c)
                });
                let o = &o;
                s.spawn(move || client(i, o, start, quota))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a client thread"))
            .collect()
    });
    let posted_in = start.elapsed();
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
    let mut submitted = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for r in runs {
        latency.add(&r.latency).expect("same bounds");
        submitted.extend(r.submitted);
        errors += r.errors;
        first_error = first_error.or(r.first_error);
    }
    let posts = latency.len();
    let ok = submitted.len();
    let mut report = json!({
        "clients": o.clients,
        "servers": o.urls.len(),
        "posts": posts,
        "submitted": ok,
        "errors": errors,
        "seconds": round(posted_in.as_secs_f64()),
        "rate": o.rate,
        "posts_per_s": round(posts as f64 / posted_in.as_secs_f64()),
        "post_ms": {
            "p50": ms(latency.value_at_quantile(0.50)),
            "p90": ms(latency.value_at_quantile(0.90)),
            "p99": ms(latency.value_at_quantile(0.99)),
            "max": ms(latency.max()),
            "mean": round(latency.mean() / 1000.0),
        },
    });
    let mut failed = errors > 0;
    if o.until == Until::Completed {
        match wait_final(&o, submitted.into_iter().collect()) {
            Ok((at, left)) => {
                let secs = at.duration_since(start).as_secs_f64();
                report["completed_seconds"] = json!(round(secs));
                // How long after the last post the last order ended: about
                // one order's run when the server keeps up.
                report["lag_seconds"] = json!(round(secs - posted_in.as_secs_f64()));
                report["orders_per_s"] = json!(round((ok - left) as f64 / secs));
                report["not_final"] = json!(left);
                failed |= left > 0;
            }
            Err(e) => {
                eprintln!("loadgen: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if let Some(e) = &first_error {
        eprintln!("loadgen: {errors} posts failed; the first: {e}");
    }
    if o.json {
        println!("{report}");
    } else {
        print_text(&report);
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn print_text(r: &Value) {
    let l = &r["post_ms"];
    println!(
        "{} clients, {} server(s): {} posts in {} s, {} posts/s ({} submitted, {} errors)",
        r["clients"],
        r["servers"],
        r["posts"],
        r["seconds"],
        r["posts_per_s"],
        r["submitted"],
        r["errors"]
    );
    println!(
        "POST latency ms: p50 {}  p90 {}  p99 {}  max {}  mean {}",
        l["p50"], l["p90"], l["p99"], l["max"], l["mean"]
    );
    if r.get("orders_per_s").is_some() {
        println!(
            "end to end: {} orders/s, all final after {} s, {} s after the last post ({} not final)",
            r["orders_per_s"], r["completed_seconds"], r["lag_seconds"], r["not_final"]
        );
    }
}

fn ms(us: u64) -> f64 {
    round(us as f64 / 1000.0)
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
