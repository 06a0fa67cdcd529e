//! The operator console in a real headless Chromium, driven through
//! chromedriver's WebDriver protocol (raw JSON over HTTP): submit an order
//! with a manual task through the API, see it in the list, open its plan,
//! claim and complete the work item through the form (an invalid value
//! first, its error shown at the field), see the order complete.
//! Screenshots of each page go to `target/console-screenshots/`.
//! Without chromium and chromedriver (and outside CI) the test says it is
//! skipped.

mod serve_support;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};
use serve_support::{client, submit, wait_for, Lab};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/console")
}

fn find(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
}

/// chromedriver, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WebDriver session, deleted when dropped.
struct Browser {
    http: reqwest::blocking::Client,
    session: String,
    driver: Driver,
    profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.driver.url, self.session))
            .send();
    }
}

impl Browser {
    fn start(chromedriver: &Path, chromium: &Path) -> Browser {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let http = client();
        wait_for("chromedriver to answer", || {
            http.get(format!("{}/status", driver.url)).send().ok()
        });
        let profile = tempfile::tempdir().expect("a profile folder");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,800",
        ]
        .map(String::from)
        .into_iter()
        .chain([format!("--user-data-dir={}", profile.path().display())])
        .collect::<Vec<_>>();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args}
        }}});
        let reply: Value = http
            .post(format!("{}/session", driver.url))
            .json(&caps)
            .send()
            .expect("a session")
            .json()
            .expect("JSON");
        let session = reply["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {reply}"))
            .to_string();
        Browser {
            http,
            session,
            driver,
            profile,
        }
    }

    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.driver.url, self.session);
        let request = match method {
            "GET" => self.http.get(url),
            _ => self.http.post(url).json(&body),
        };
        let reply: Value = request
            .send()
            .expect("chromedriver answers")
            .json()
            .expect("JSON");
        reply["value"].clone()
    }

    fn go(&self, url: &str) {
        self.call("POST", "/url", json!({ "url": url }));
    }

    fn script(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": args}),
        )
    }

    /// The element `css` selects, waiting for it to appear.
    fn element(&self, css: &str) -> String {
        wait_for(&format!("an element {css}"), || {
            let v = self.call(
                "POST",
                "/element",
                json!({"using": "css selector", "value": css}),
            );
            v.as_object()?
                .iter()
                .find(|(k, _)| k.starts_with("element-"))
                .and_then(|(_, id)| id.as_str().map(str::to_string))
        })
    }

    fn click(&self, css: &str) {
        let id = self.element(css);
        self.call("POST", &format!("/element/{id}/click"), json!({}));
    }

    fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.call("POST", &format!("/element/{id}/clear"), json!({}));
        self.call(
            "POST",
            &format!("/element/{id}/value"),
            json!({ "text": text }),
        );
    }

    fn text(&self, css: &str) -> String {
        let id = self.element(css);
        self.call("GET", &format!("/element/{id}/text"), json!({}))
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits until the page's text contains `what`.
    fn wait_text(&self, what: &str) {
        wait_for(&format!("the page to say {what:?}"), || {
            let body = self
                .script(
                    "return document.body ? document.body.innerText : '';",
                    json!([]),
                )
                .as_str()
                .unwrap_or_default()
                .to_string();
            body.contains(what).then_some(())
        });
    }

    fn window(&self, width: u32, height: u32) {
        self.call(
            "POST",
            "/window/rect",
            json!({"width": width, "height": height}),
        );
    }

    fn screenshot(&self, name: &str) {
        let b64 = self.call("GET", "/screenshot", json!({}));
        let png = base64_decode(b64.as_str().expect("a screenshot"));
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/console-screenshots");
        std::fs::create_dir_all(&dir).expect("the screenshot folder");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("a screenshot file");
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for v in text.bytes().filter_map(value) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[test]
fn an_operator_completes_a_work_item_in_the_browser() {
    let (Some(chromium), Some(chromedriver)) = (find("chromium"), find("chromedriver")) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have chromium and chromium-driver (.ci/run installs them)"
        );
        eprintln!("console browser test skipped: chromium or chromedriver is not installed");
        return;
    };
    let lab = Lab::new();
    let server = lab.serve_with(
        "console",
        &fixtures().join("catalog"),
        &fixtures().join("bindings.yaml"),
        &[],
    );
    let browser = Browser::start(&chromedriver, &chromium);
    let _ = &browser.profile;

    // Who acts: the "acting as" form stores it in a cookie.
    browser.go(&server.url("/"));
    browser.wait_text("No order matches.");
    browser.type_into("#acting-user", "ada");
    browser.click("form.acting button");
    wait_for("the acting user to be kept", || {
        let v = browser.script(
            "return document.getElementById('acting-user').value;",
            json!([]),
        );
        (v.as_str() == Some("ada")).then_some(())
    });

    // An order with a manual task, through the API: the list shows it live.
    let order = std::fs::read_to_string(fixtures().join("order.yaml")).expect("the order");
    let (code, body) = submit(&server, &order);
    assert_eq!(code, 201, "{body}");
    browser.wait_text("ORD-CONSOLE");
    browser.wait_text("in_progress");
    browser.screenshot("orders");

    // Its page: the plan picture, the visit waiting on a person.
    browser.click("a[href='/orders/ORD-CONSOLE']");
    browser.element("figure.plan svg");
    browser.wait_text("waiting");
    browser.screenshot("order");

    // The field team's queue: claim, then complete with a floor out of range.
    browser.click("a[href='/queues']");
    browser.wait_text("Queue of field-ops");
    browser.click("article.item form.inline button");
    browser.element("form.complete");
    browser.screenshot("queue");
    browser.click("#f0-outcome option[value='fitted']");
    browser.type_into("#f0-floor", "99");
    browser.click("#f0-ont_present");
    browser.script(
        "document.getElementById(arguments[0]).value = arguments[1];",
        json!(["f0-visited_on", "2026-12-02"]),
    );
    browser.type_into("#f0-serial", "ONT-42");
    browser.click("form.complete button[type='submit']");
    let error = browser.text("#f0-floor-error");
    assert!(
        error.contains("floor"),
        "the error names the field: {error}"
    );
    let invalid = browser.script(
        "return document.getElementById('f0-floor').getAttribute('aria-invalid');",
        json!([]),
    );
    assert_eq!(invalid, json!("true"));
    // Nothing was recorded: the item is still claimed.
    let items: Value = client()
        .get(server.url("/api/v1/tasks?team=field-ops"))
        .send()
        .expect("tasks")
        .json()
        .expect("JSON");
    assert_eq!(items[0]["state"], "claimed", "{items}");
    browser.screenshot("queue-error");
    browser.window(390, 844);
    browser.screenshot("queue-phone");
    browser.window(1280, 800);

    // The right value: the item is done and the order completes.
    browser.type_into("#f0-floor", "3");
    browser.click("form.complete button[type='submit']");
    browser.wait_text("Nothing waits for this team.");
    browser.go(&server.url("/orders/ORD-CONSOLE"));
    wait_for("the order page to say completed", || {
        let state = browser.text("#order-state");
        state.contains("completed").then_some(())
    });
    browser.screenshot("order-completed");
    let (_, status) = serve_support::get(&server, "/api/v1/orders/ORD-CONSOLE");
    assert_eq!(status["state"], "completed", "{status}");
    let visit = status["tasks"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["id"] == "1/visit"))
        .expect("the visit");
    assert_eq!(visit["outputs"]["floor"], 3);
    assert_eq!(visit["outputs"]["outcome"], "fitted");

    // The installed base of the customer.
    browser.go(&server.url("/inventory?customer=C-7"));
    browser.wait_text("ORD-CONSOLE/1");
    browser.screenshot("inventory");
}

fn serve_console(lab: &Lab, extra: &[&str]) -> serve_support::Server {
    lab.serve_with(
        "console",
        &fixtures().join("catalog"),
        &fixtures().join("bindings.yaml"),
        extra,
    )
}

fn post(
    server: &serve_support::Server,
    path: &str,
    user: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut request = client().post(server.url(path)).json(&body);
    if let Some(u) = user {
        request = request.header("X-Ordo-User", u);
    }
    let response = request.send().expect("the server answers");
    let code = response.status().as_u16();
    (code, response.json().unwrap_or(Value::Null))
}

/// The work routes the console's queue uses, over the API: who acts,
/// compare-and-set claims, outputs checked with their JSON paths, and the
/// order completing once the item is done.
#[test]
fn work_items_are_changed_through_the_api() {
    let lab = Lab::new();
    let server = serve_console(&lab, &[]);
    let order = std::fs::read_to_string(fixtures().join("order.yaml")).expect("the order");
    assert_eq!(submit(&server, &order).0, 201);
    let item = wait_for("the work item", || {
        let (_, items) = serve_support::get(&server, "/api/v1/tasks?team=field-ops");
        items.as_array().and_then(|a| a.first().cloned())
    });
    assert_eq!(item["task"], "1/visit");
    assert_eq!(item["state"], "open");
    let at = |op: &str| format!("/api/v1/tasks/ORD-CONSOLE/1%2Fvisit/{op}");

    let (code, body) = post(&server, &at("claim"), None, json!({}));
    assert_eq!(code, 400, "no acting user: {body}");
    assert!(body["message"]
        .as_str()
        .unwrap_or("")
        .contains("X-Ordo-User"));
    assert_eq!(post(&server, &at("claim"), Some("bob"), json!({})).0, 200);
    let (code, body) = post(&server, &at("claim"), Some("ada"), json!({}));
    assert_eq!(code, 409, "bob holds it: {body}");
    assert_eq!(post(&server, &at("release"), Some("bob"), json!({})).0, 200);
    assert_eq!(post(&server, &at("claim"), Some("ada"), json!({})).0, 200);

    let bad = json!({"outputs": {"outcome": "maybe", "floor": 99, "ont_present": true,
        "visited_on": "2026-12-02", "serial": "ONT-1"}});
    let (code, body) = post(&server, &at("complete"), Some("ada"), bad);
    assert_eq!(code, 400, "{body}");
    let diags = body["diagnostics"].as_array().expect("diagnostics");
    let named: Vec<(&str, &str)> = diags
        .iter()
        .map(|d| {
            (
                d["output"].as_str().unwrap_or(""),
                d["path"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            ("outcome", "$.outputs.outcome"),
            ("floor", "$.outputs.floor")
        ]
    );
    assert_eq!(diags[0]["code"], "ordo::work::output");
    let (code, _) = post(&server, &at("complete"), Some("ada"), json!("text"));
    assert_eq!(code, 400);

    let good = json!({"outputs": {"outcome": "fitted", "floor": 2, "ont_present": false,
        "visited_on": "2026-12-02", "serial": "ONT-1"}});
    let (code, body) = post(&server, &at("complete"), Some("ada"), good);
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["state"], "done");
    wait_for("the order to complete", || {
        let (_, s) = serve_support::get(&server, "/api/v1/orders/ORD-CONSOLE");
        (s["state"] == "completed").then_some(())
    });
    let (code, body) = post(
        &server,
        "/api/v1/orders/ORD-CONSOLE/resume",
        Some("ada"),
        json!({}),
    );
    assert_eq!(code, 409, "an ended order is not resumed: {body}");
    let (code, _) = post(
        &server,
        "/api/v1/orders/NOPE/resume",
        Some("ada"),
        json!({}),
    );
    assert_eq!(code, 404);
}

/// With `--token-file` the console asks for the token once and keeps it in
/// a cookie; a wrong token is refused on the sign-in page.
#[test]
fn the_console_needs_the_token_when_the_server_has_one() {
    let lab = Lab::new();
    let token = lab.dir.path().join("token");
    std::fs::write(&token, "s3cret\n").expect("token file");
    let server = serve_console(
        &lab,
        &["--token-file", token.to_str().expect("a UTF-8 path")],
    );
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let page = http.get(server.url("/queues")).send().expect("an answer");
    assert_eq!(page.status().as_u16(), 303);
    assert_eq!(
        page.headers()["location"].to_str().unwrap_or(""),
        "/login?back=%2Fqueues"
    );
    let login = |token: &str| {
        http.post(server.url("/login"))
            .form(&[("token", token), ("back", "/queues")])
            .send()
            .expect("an answer")
    };
    let wrong = login("guess");
    assert_eq!(wrong.status().as_u16(), 401);
    assert!(wrong.text().unwrap_or_default().contains("not the server"));
    let right = login("s3cret");
    assert_eq!(right.status().as_u16(), 303);
    let cookie = right.headers()["set-cookie"]
        .to_str()
        .unwrap_or("")
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap_or("").to_string();
    let page = http
        .get(server.url("/queues"))
        .header("cookie", pair)
        .send()
        .expect("an answer");
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().unwrap_or_default().contains("Work queues"));
    // A form sent from another site's page is refused.
    let forged = http
        .post(server.url("/acting-as"))
        .header("origin", "http://evil.example")
        .form(&[("user", "mallory")])
        .send()
        .expect("an answer");
    assert_eq!(forged.status().as_u16(), 403);
    // The API keeps its bearer token.
    assert_eq!(
        client()
            .get(server.url("/api/v1/orders"))
            .send()
            .expect("an answer")
            .status()
            .as_u16(),
        401
    );
}

/// Order text never reaches the page unescaped, and a search finds an
/// order by its customer.
#[test]
fn pages_escape_order_text_and_search_by_customer() {
    let lab = Lab::new();
    let server = serve_console(&lab, &[]);
    let order = std::fs::read_to_string(fixtures().join("order.yaml"))
        .expect("the order")
        .replace("14 Elm Road", "<script>alert(1)</script>");
    assert_eq!(submit(&server, &order).0, 201);
    let text = |path: &str| {
        client()
            .get(server.url(path))
            .send()
            .expect("an answer")
            .text()
            .unwrap_or_default()
    };
    let found = text("/?q=lovelace");
    assert!(found.contains("/orders/ORD-CONSOLE"), "{found}");
    assert!(!text("/?q=nobody").contains("/orders/ORD-CONSOLE"));
    assert!(!text("/?state=completed").contains("/orders/ORD-CONSOLE"));
    wait_for("the work item", || {
        let page = text("/queues?team=field-ops");
        page.contains("1/visit").then_some(page)
    });
    let queue = text("/queues?team=field-ops");
    assert!(!queue.contains("<script>alert"), "escaped");
    assert!(queue.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    let page = text("/orders/ORD-CONSOLE");
    assert!(page.contains("<svg") && page.contains("waiting"));
    let missing = client()
        .get(server.url("/orders/NOPE"))
        .send()
        .expect("an answer");
    assert_eq!(missing.status().as_u16(), 404);
}
