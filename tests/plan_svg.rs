//! `ordo plan --format svg|html` through the real binary: the picture parses
//! back as XML, shows every task once and every dependency as an edge, marks
//! the critical path, is byte-for-byte deterministic, and escapes hostile
//! ids and labels.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `ordo plan --catalog CATALOG ORDER --format FORMAT`: its stdout, which
/// must be a success.
fn plan(catalog: &Path, order: &Path, format: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ordo"))
        .arg("plan")
        .arg("--catalog")
        .arg(catalog)
        .arg(order)
        .args(["--format", format])
        .env_remove("ORDO_CATALOG")
        .output()
        .expect("ordo runs");
    assert!(
        out.status.success(),
        "ordo plan {} --format {format}: {}",
        order.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// The example orders the shipped catalog plans without an installed base
/// (the others change instances an earlier order installed).
fn examples() -> Vec<PathBuf> {
    let mut orders: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter(|p| {
            !p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("bindings")
        })
        .filter(|p| !std::fs::read_to_string(p).unwrap().contains("instance:"))
        .collect();
    orders.sort();
    orders
}

/// Tasks as the JSON plan lists them: id → `after`, and the critical path.
fn reference(catalog: &Path, order: &Path) -> (BTreeMap<String, Vec<String>>, Vec<String>) {
    let json: Value = serde_json::from_str(&plan(catalog, order, "json")).unwrap();
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let tasks = json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_str().unwrap().to_string(), strings(&t["after"])))
        .collect();
    (tasks, strings(&json["critical_path"]))
}

fn has_class(n: roxmltree::Node, class: &str) -> bool {
    n.attribute("class")
        .is_some_and(|c| c.split(' ').any(|w| w == class))
}

/// Checks a picture against the JSON plan of the same order.
fn check_picture(svg: &str, tasks: &BTreeMap<String, Vec<String>>, path: &[String]) {
    let doc = roxmltree::Document::parse(svg)
        .unwrap_or_else(|e| panic!("not well-formed XML: {e}\n{svg}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.attribute("role"), Some("img"));
    let child = |name: &str| root.children().find(|n| n.tag_name().name() == name);
    assert!(
        child("title").is_some_and(|t| t.text().is_some_and(|t| t.starts_with("Plan of order")))
    );
    assert!(child("desc").is_some_and(|d| d.text().is_some_and(|t| t.contains("Critical path"))));

    // Every task once, with an accessible label.
    let mut nodes: BTreeMap<String, roxmltree::Node> = BTreeMap::new();
    for n in doc.descendants().filter(|n| has_class(*n, "task")) {
        let id = n
            .attribute("data-task")
            .expect("a task node names its task")
            .to_string();
        assert!(n.attribute("aria-label").is_some_and(|l| l.contains(&id)));
        assert!(
            nodes.insert(id.clone(), n).is_none(),
            "task {id} drawn twice"
        );
    }
    assert_eq!(
        nodes.keys().collect::<Vec<_>>(),
        tasks.keys().collect::<Vec<_>>()
    );

    // Every dependency an edge with an arrowhead, and no other.
    let mut drawn: Vec<(String, String)> = Vec::new();
    let mut barriers: Vec<(String, String)> = Vec::new();
    for e in doc
        .descendants()
        .filter(|n| has_class(*n, "edge") && n.has_attribute("data-from"))
    {
        assert!(e
            .attribute("marker-end")
            .is_some_and(|m| m.starts_with("url(#ordo-arrow")));
        assert!(e.attribute("d").is_some_and(|d| d.starts_with('M')));
        let pair = (
            e.attribute("data-from").unwrap().to_string(),
            e.attribute("data-to").unwrap().to_string(),
        );
        if has_class(e, "barrier") {
            barriers.push(pair);
        } else {
            drawn.push(pair);
        }
    }
    let mut expected: Vec<(String, String)> = tasks
        .iter()
        .flat_map(|(id, after)| after.iter().map(move |a| (a.clone(), id.clone())))
        .collect();
    expected.sort();
    drawn.sort();
    assert_eq!(drawn, expected);

    // The critical path: its tasks marked (class and a diamond with the
    // step), its links drawn critical, dependencies or stage barriers.
    for (k, id) in path.iter().enumerate() {
        let n = nodes[id];
        assert!(has_class(n, "critical"), "{id} is on the critical path");
        assert!(n.children().any(|c| has_class(c, "cp-mark")));
        assert!(n
            .children()
            .any(|c| has_class(c, "cp-step") && c.text() == Some(&(k + 1).to_string())));
    }
    for (id, n) in &nodes {
        if !path.contains(id) {
            assert!(
                !has_class(*n, "critical"),
                "{id} is not on the critical path"
            );
        }
    }
    for w in path.windows(2) {
        let pair = (w[0].clone(), w[1].clone());
        let critical = doc.descendants().any(|e| {
            has_class(e, "edge")
                && has_class(e, "critical")
                && e.attribute("data-from") == Some(&pair.0)
                && e.attribute("data-to") == Some(&pair.1)
        });
        assert!(critical, "critical link {pair:?} drawn");
        assert_eq!(barriers.contains(&pair), !tasks[&w[1]].contains(&w[0]));
    }
    let legend = doc
        .descendants()
        .find(|n| has_class(*n, "legend"))
        .expect("a legend");
    let legend_text: String = legend.descendants().filter_map(|n| n.text()).collect();
    assert!(legend_text.contains("critical path"));
    if let Some(last) = path.last() {
        assert!(
            legend_text.contains(last.as_str()),
            "the legend names the critical path"
        );
    }
}

/// The `<svg>…</svg>` inside an HTML page.
fn svg_in(html: &str) -> &str {
    let start = html.find("<svg ").expect("the page holds the picture");
    let end = html.rfind("</svg>").expect("the picture ends") + "</svg>".len();
    &html[start..end]
}

fn check_page(html: &str, tasks: &BTreeMap<String, Vec<String>>) {
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
    );
    // Self-contained: no script, no stylesheet link, no image or font
    // fetched from anywhere.
    for banned in ["<script", "<link", "src=", "href=", "url(http", "@import"] {
        assert!(!html.contains(banned), "the page holds {banned}");
    }
    let rows = html.matches("<tr data-task=").count();
    assert_eq!(rows, tasks.len(), "one table row per task");
}

#[test]
fn every_example_renders_as_a_checked_picture_and_page() {
    let catalog = root().join("catalog");
    let orders = examples();
    assert!(orders.len() >= 4, "{orders:?}");
    for order in &orders {
        let (tasks, path) = reference(&catalog, order);
        assert!(!tasks.is_empty());
        let svg = plan(&catalog, order, "svg");
        check_picture(&svg, &tasks, &path);
        let html = plan(&catalog, order, "html");
        check_page(&html, &tasks);
        assert_eq!(
            svg_in(&html),
            svg.trim_end(),
            "the page holds the same picture"
        );
        // Deterministic, byte for byte.
        assert_eq!(plan(&catalog, order, "svg"), svg, "{}", order.display());
    }
}

#[test]
fn a_small_plan_picture_is_stable() {
    let svg = plan(
        &root().join("catalog"),
        &root().join("examples/broadband.yaml"),
        "svg",
    );
    insta::assert_snapshot!(svg);
}

#[test]
fn hostile_ids_are_escaped() {
    // Item ids are the free text of a plan's picture (order ids, stages and
    // actions are names): any character but `/` and control characters.
    let dir = tempfile::tempdir().unwrap();
    let hostile = "<x>&\"'<svg onload=alert(1)><script>alert(1)\u{202e}]]>";
    let order = std::fs::read_to_string(root().join("examples/broadband.yaml"))
        .unwrap()
        .replace(
            "id: \"1\"",
            &format!("id: {}", serde_json::to_string(hostile).unwrap()),
        );
    let file = dir.path().join("hostile.yaml");
    std::fs::write(&file, order).unwrap();
    let catalog = root().join("catalog");
    let (tasks, path) = reference(&catalog, &file);
    // Shown as their escapes, like in every other text output.
    let shown = |s: &str| s.replace('\u{202e}', "\\u{202e}");
    let tasks: BTreeMap<String, Vec<String>> = tasks
        .into_iter()
        .map(|(id, after)| (shown(&id), after.iter().map(|a| shown(a)).collect()))
        .collect();
    let path: Vec<String> = path.iter().map(|p| shown(p)).collect();
    assert!(
        tasks
            .keys()
            .any(|id| id.contains("<svg onload=alert(1)><script>")),
        "{tasks:?}"
    );

    let svg = plan(&catalog, &file, "svg");
    check_picture(&svg, &tasks, &path);
    assert!(!svg.contains("<script") && !svg.contains("<svg onload") && !svg.contains('\u{202e}'));
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert!(doc.descendants().all(|n| n.tag_name().name() != "script"));
    assert_eq!(
        doc.descendants()
            .filter(|n| n.tag_name().name() == "svg")
            .count(),
        1
    );

    let html = plan(&catalog, &file, "html");
    check_page(&html, &tasks);
    assert!(!html.contains("<script") && !html.contains("<svg onload"));
}

#[test]
fn a_two_thousand_task_plan_renders() {
    let dir = tempfile::tempdir().unwrap();
    let shape = ordo::synth::CatalogShape {
        products: 50,
        tasks_per_product: 10,
        seed: 7,
        plain: false,
    };
    let catalog = dir.path().join("synthetic.ordo");
    std::fs::write(&catalog, ordo::synth::catalog(&shape)).unwrap();
    let order = dir.path().join("order.yaml");
    std::fs::write(&order, ordo::synth::order(&shape, 200, 7)).unwrap();
    let (tasks, path) = reference(&catalog, &order);
    assert!(tasks.len() >= 2000, "{} tasks", tasks.len());
    let started = std::time::Instant::now();
    let svg = plan(&catalog, &order, "svg");
    // Measured, not asserted (machines differ): the time includes planning.
    eprintln!(
        "{} tasks: plan + svg in {:?}, {} bytes",
        tasks.len(),
        started.elapsed(),
        svg.len()
    );
    check_picture(&svg, &tasks, &path);
}

/// Renders the page with headless Chromium when it is installed, to
/// target/plan-svg/: a picture a person can look at. Checks only that the
/// browser wrote one.
#[test]
fn the_page_renders_in_a_browser_when_one_is_installed() {
    let Some(browser) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        eprintln!("no headless browser installed: screenshot skipped");
        return;
    };
    let out = root().join("target/plan-svg");
    std::fs::create_dir_all(&out).unwrap();
    let page = out.join("triple-play.html");
    std::fs::write(
        &page,
        plan(
            &root().join("catalog"),
            &root().join("examples/triple-play.yaml"),
            "html",
        ),
    )
    .unwrap();
    for (name, size) in [("desktop", "1280,800"), ("phone", "390,844")] {
        let png = out.join(format!("triple-play-{name}.png"));
        let _ = std::fs::remove_file(&png);
        let status = Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
            ])
            .arg(format!("--window-size={size}"))
            .arg(format!("--screenshot={}", png.display()))
            .arg(format!("file://{}", page.display()))
            .output()
            .unwrap();
        assert!(
            png.metadata().is_ok_and(|m| m.len() > 10_000),
            "{}: {}",
            png.display(),
            String::from_utf8_lossy(&status.stderr)
        );
    }
}
