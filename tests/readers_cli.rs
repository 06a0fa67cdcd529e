//! The readers and text renderers through the real binary: inputs that made
//! ordo panic, take gigabytes, accept what is not JSON, refuse to format a
//! valid catalog, or pass terminal escapes through to the operator's screen.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn catalog() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog")
}

/// `ordo ARGS` in `dir` with the given environment, untouched by the
/// caller's `ORDO_*` settings.
fn ordo_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ordo"));
    cmd.args(args).current_dir(dir).env("NO_COLOR", "1");
    for var in [
        "ORDO_CATALOG",
        "ORDO_STATE",
        "ORDO_LIMIT_BYTES",
        "ORDO_LIMIT_VALUES",
        "ORDO_LIMIT_DEPTH",
        "ORDO_LIMIT_EXPANDED",
        "ORDO_LIMIT_TASKS",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("the ordo binary runs")
}

fn plan(dir: &Path, order: &str, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let catalog = catalog();
    let out = ordo_with(
        dir,
        &["plan", "--catalog", catalog.to_str().unwrap(), order],
        env,
    );
    // Messages as one line, whatever the width they were wrapped to.
    let stderr = String::from_utf8_lossy(&out.stderr).replace("\n  │ ", " ");
    (out.status.code(), stderr)
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

const CUSTOMER: &str = r#""customer": {"id": "C-1", "email": "a@example.com"}"#;

/// A Broadband item, as minified JSON.
fn item(i: usize, speed: &str) -> String {
    format!(
        r#"{{"id":"{i}","action":"add","product":"Broadband","attributes":{{"address":"{i} Long Road","speed":"{speed}"}}}}"#
    )
}

#[test]
fn a_diagnostic_past_column_65535_is_reported_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut items: Vec<String> = (0..1_200).map(|i| item(i, "1G")).collect();
    items.push(item(1_200, "9G"));
    let order = format!(
        r#"{{"id":"ORD-1",{CUSTOMER},"items":[{}]}}"#,
        items.join(",")
    );
    assert!(order.len() > 105_000 && !order.contains('\n'));
    write(dir.path(), "order.json", &order);
    let (code, stderr) = plan(dir.path(), "order.json", &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let column = order.find(r#""9G""#).unwrap() + 1;
    assert!(
        stderr.contains(&format!("[order.json:1:{column}]")),
        "{stderr}"
    );
    assert!(stderr.contains(r#""speed":"9G""#), "{stderr}");
    // The line is shown around the error, not whole.
    assert!(stderr.len() < 3_000, "{} bytes of stderr", stderr.len());
}

#[test]
fn thousands_of_diagnostics_on_one_line_cost_what_each_shows() {
    let dir = tempfile::tempdir().unwrap();
    let items: Vec<String> = (0..2_000).map(|i| item(i, "9G")).collect();
    let order = format!(
        r#"{{"id":"ORD-1",{CUSTOMER},"items":[{}]}}"#,
        items.join(",")
    );
    write(dir.path(), "order.json", &order);
    let (code, stderr) = plan(dir.path(), "order.json", &[]);
    assert_eq!(code, Some(1), "{}", &stderr[..stderr.len().min(2_000)]);
    assert!(
        stderr.contains("error: 2000 errors"),
        "{}",
        &stderr[stderr.len().saturating_sub(500)..]
    );
    // Each shows a window of the 200 KB line, not the line.
    assert!(
        stderr.len() < 2_000 * 1_500,
        "{} bytes of stderr for a {} byte order",
        stderr.len(),
        order.len()
    );
}

#[test]
fn an_alias_repeating_a_long_string_is_refused_at_the_expansion_limit() {
    let dir = tempfile::tempdir().unwrap();
    let big = "x".repeat(1 << 20);
    let aliases = vec!["*big"; 2_000].join(", ");
    let order = format!(
        "id: ORD-1\ncustomer: {{ id: C-1, email: a@example.com }}\nnote: &big \"{big}\"\nitems: [{aliases}]\n"
    );
    write(dir.path(), "order.yaml", &order);
    let (code, stderr) = plan(dir.path(), "order.yaml", &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("expands to more than 67108864 bytes"),
        "{stderr}"
    );
    assert!(stderr.contains("ORDO_LIMIT_EXPANDED"), "{stderr}");
}

#[test]
fn size_limits_are_set_in_the_environment_and_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let order = "id: ORD-1\ncustomer: { id: C-1, email: a@example.com }\nitems:\n  - { id: \"1\", action: add, product: Broadband, attributes: { address: [[[x]]] } }\n";
    write(dir.path(), "order.yaml", order);
    let cases = [
        ("ORDO_LIMIT_DEPTH", "4", "nest more than 4 levels deep"),
        ("ORDO_LIMIT_VALUES", "10", "more than 10 values"),
        ("ORDO_LIMIT_BYTES", "100", "more than the limit of 100"),
        ("ORDO_LIMIT_EXPANDED", "20", "more than 20 bytes"),
        ("ORDO_LIMIT_DEPTH", "deep", "ORDO_LIMIT_DEPTH is `deep`"),
    ];
    for (var, value, message) in cases {
        let (code, stderr) = plan(dir.path(), "order.yaml", &[(var, value)]);
        assert_eq!(code, Some(1), "{var}={value}: {stderr}");
        assert!(stderr.contains(message), "{var}={value}: {stderr}");
        assert!(stderr.contains(var), "{var}={value}: {stderr}");
    }
}

/// The task count of `order` planned with no limit set.
fn tasks_planned(dir: &Path, order: &str) -> usize {
    let catalog = catalog();
    let out = ordo_with(
        dir,
        &[
            "plan",
            "--catalog",
            catalog.to_str().unwrap(),
            order,
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    plan["tasks"].as_array().unwrap().len()
}

#[test]
fn an_order_over_the_task_limit_is_refused_at_the_item_that_passes_it() {
    let dir = tempfile::tempdir().unwrap();
    let items: Vec<String> = (0..3).map(|i| item(i, "1G")).collect();
    let order = format!(
        "{{\"id\": \"ORD-1\", {CUSTOMER}, \"items\": [\n{}\n]}}",
        items.join(",\n")
    );
    write(dir.path(), "order.json", &order);
    let tasks = tasks_planned(dir.path(), "order.json");
    assert!(tasks > 3, "{tasks} tasks");
    // At the limit, the order plans.
    let at = tasks.to_string();
    let (code, stderr) = plan(dir.path(), "order.json", &[("ORDO_LIMIT_TASKS", &at)]);
    assert_eq!(code, Some(0), "{stderr}");
    // One under it, the last item passes it: the error names the limit and
    // its variable, points at that item and says what to do.
    let under = (tasks - 1).to_string();
    let (code, stderr) = plan(dir.path(), "order.json", &[("ORDO_LIMIT_TASKS", &under)]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("ordo::order::too_large"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "more than {under} tasks, the limit of ORDO_LIMIT_TASKS"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("items[2] brings it past"), "{stderr}");
    assert!(stderr.contains("[order.json:4:"), "{stderr}");
    assert!(
        stderr.contains("set ORDO_LIMIT_TASKS to more than"),
        "{stderr}"
    );
    assert!(!stderr.contains("alias"), "{stderr}");
    // A limit that is no number is an error that says so.
    let (code, stderr) = plan(dir.path(), "order.json", &[("ORDO_LIMIT_TASKS", "many")]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("ORDO_LIMIT_TASKS is `many`"), "{stderr}");
}

#[test]
fn the_values_limit_speaks_of_aliases_only_when_the_order_has_some() {
    let dir = tempfile::tempdir().unwrap();
    let plain = "id: ORD-1\ncustomer: { id: C-1, email: a@example.com }\nitems:\n  - { id: \"1\", action: add, product: Broadband, attributes: { address: x, speed: 1G } }\n";
    write(dir.path(), "plain.yaml", plain);
    let (code, stderr) = plan(dir.path(), "plain.yaml", &[("ORDO_LIMIT_VALUES", "10")]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("more than 10 values"), "{stderr}");
    assert!(!stderr.contains("alias"), "{stderr}");
    // The help is where the limits are stated, not the order's shape.
    assert!(stderr.contains("docs/limits.md"), "{stderr}");
    // The alias comes before the limit is passed.
    let aliased = plain
        .replace("id: C-1", "id: &c C-1")
        .replace("email: a@example.com", "email: *c");
    write(dir.path(), "aliased.yaml", &aliased);
    let (code, stderr) = plan(dir.path(), "aliased.yaml", &[("ORDO_LIMIT_VALUES", "10")]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("aliases count every value they repeat"),
        "{stderr}"
    );
}

#[test]
fn a_json_order_is_strict_json_with_a_position() {
    let dir = tempfile::tempdir().unwrap();
    let good = format!(
        r#"{{"id": "ORD-1", {CUSTOMER}, "items": [{}]}}"#,
        item(1, "1G")
    );
    write(dir.path(), "good.json", &good);
    let (code, stderr) = plan(dir.path(), "good.json", &[]);
    assert_eq!(code, Some(0), "{stderr}");
    let cases = [
        (
            good.replace(r#""ORD-1""#, "'ORD-1'"),
            "single quotes",
            "1:8",
        ),
        (good.replace("}]}", "},]}"), "a trailing comma", "1:"),
        (format!("# an order\n{good}"), "a comment", "1:1"),
    ];
    for (i, (text, message, at)) in cases.iter().enumerate() {
        let name = format!("bad{i}.json");
        write(dir.path(), &name, text);
        let (code, stderr) = plan(dir.path(), &name, &[]);
        assert_eq!(code, Some(1), "{text}: {stderr}");
        assert!(stderr.contains(message), "{text}: {stderr}");
        assert!(stderr.contains("strict JSON"), "{text}: {stderr}");
        assert!(
            stderr.contains(&format!("[{name}:{at}")),
            "{text}: {stderr}"
        );
        // The same text named .yaml is YAML, which takes all three.
        let yaml = format!("bad{i}.yaml");
        write(dir.path(), &yaml, text);
        assert_eq!(plan(dir.path(), &yaml, &[]).0, Some(0), "{text}");
    }
}

#[test]
fn fmt_formats_a_long_chain_of_minus_signs() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("product P {{\n  attr n: int = {}1\n}}\n", "- ".repeat(40));
    write(dir.path(), "a.ordo", &text);
    let out = ordo_with(dir.path(), &["fmt", "a.ordo"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let formatted = std::fs::read_to_string(dir.path().join("a.ordo")).unwrap();
    assert!(
        formatted.contains(&format!("= {}-1", "- ".repeat(39))),
        "{formatted}"
    );
    let check = ordo_with(dir.path(), &["check", "--catalog", "a.ordo"], &[]);
    assert_eq!(check.status.code(), Some(0));
}

/// Is there a raw escape or bell in the text?
fn has_escapes(text: &str) -> bool {
    text.contains('\x1b') || text.contains('\x07') || text.contains('\u{9b}')
}

#[test]
fn escapes_in_an_order_file_are_not_sent_to_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "order.yaml",
        "id: ORD-1\ncustomer: { id: C-1, email: a@example.com }\nitems: # \x1b[2J\x1b]0;pwned\x07\n  - { id: \"1\", action: add, product: \"Nope\\e[31m\" }\n",
    );
    let (code, stderr) = plan(dir.path(), "order.yaml", &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(!has_escapes(&stderr), "{stderr:?}");
    assert!(stderr.contains("items: # ?[2J?]0;pwned?"), "{stderr}");
}

const PLUGIN_CATALOG: &str = "catalog \"T\" version \"1\"\n\nstages fulfil (default)\n\naction plug.go(x: string) -> (out: string)\n\nproduct P {\n  attr x: string = \"a\"\n\n  on add {\n    task go: plug.go(x: x)\n  }\n}\n";

/// Fails every call with an error holding escapes (as JSON, `\u001b`).
const PLUGIN: &str = "#!/bin/sh\ncat > /dev/null\necho '{\"error\": \"boom \\u001b[2J\\u001b]0;pwned\\u0007 done\", \"retryable\": false}'\nexit 1\n";

#[test]
fn escapes_from_a_plugin_are_shown_not_sent_in_summary_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "cat.ordo", PLUGIN_CATALOG);
    write(d, "plugin.sh", PLUGIN);
    std::fs::set_permissions(d.join("plugin.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    write(
        d,
        "b.yaml",
        "actions:\n  \"*\": { exec: [\"./plugin.sh\"] }\n",
    );
    write(
        d,
        "o.yaml",
        "id: ORD-E\ncustomer: { id: C-1, email: a@example.com }\nitems:\n  - { id: \"1\", action: add, product: P }\n",
    );
    let shown = r"boom \u{1b}[2J\u{1b}]0;pwned\u{7} done";
    let run = ordo_with(
        d,
        &[
            "run",
            "--catalog",
            "cat.ordo",
            "o.yaml",
            "--bindings",
            "b.yaml",
            "--state",
            "st",
            "--quiet",
        ],
        &[],
    );
    let text =
        String::from_utf8_lossy(&run.stdout).into_owned() + &String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{text}");
    assert!(!has_escapes(&text), "{text:?}");
    assert!(text.contains(shown), "{text}");
    for args in [
        &["status", "--state", "st"][..],
        &["status", "ORD-E", "--state", "st"],
    ] {
        let out = ordo_with(d, args, &[]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{text}");
        assert!(!has_escapes(&text), "{args:?}: {text:?}");
        assert!(text.contains(shown), "{args:?}: {text}");
    }
    // JSON keeps the exact value; JSON escapes it itself.
    let out = ordo_with(
        d,
        &["status", "ORD-E", "--state", "st", "--format", "json"],
        &[],
    );
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        status["reason"]
            .as_str()
            .unwrap()
            .ends_with("boom \x1b[2J\x1b]0;pwned\x07 done"),
        "{status}"
    );
}

/// A small YAML file whose aliases repeat a 1 KB string a billion times,
/// under `key`.
fn alias_bomb(key: &str) -> String {
    let mut text = format!("a0: &a0 \"{}\"\n", "x".repeat(1_000));
    for i in 1..10 {
        let prev = vec![format!("*a{}", i - 1); 10].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{prev}]\n"));
    }
    text.push_str(&format!("{key}: *a9\n"));
    text
}

#[test]
fn bindings_and_test_files_are_held_to_the_same_limits() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("tests")).unwrap();
    write(d, "cat.ordo", PLUGIN_CATALOG);
    write(d, "bomb.yaml", &alias_bomb("actions"));
    write(d, "tests/bomb.yaml", &alias_bomb("order"));
    write(
        d,
        "o.yaml",
        "id: ORD-B\ncustomer: { id: C-1, email: a@example.com }\nitems:\n  - { id: \"1\", action: add, product: P }\n",
    );
    let runs = [
        &[
            "run",
            "--catalog",
            "cat.ordo",
            "o.yaml",
            "--bindings",
            "bomb.yaml",
            "--state",
            "st",
        ][..],
        &["test", "--catalog", "."],
    ];
    for args in runs {
        let out = ordo_with(d, args, &[]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr).replace("\n  │ ", " ");
        assert!(matches!(out.status.code(), Some(1 | 2)), "{args:?}: {text}");
        assert!(text.contains("ORDO_LIMIT_EXPANDED"), "{args:?}: {text}");
    }
}

#[test]
fn escapes_in_attribute_values_are_shown_not_sent_in_plan_and_quote() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "cat.ordo", PLUGIN_CATALOG);
    write(
        d,
        "o.yaml",
        "id: ORD-E\ncustomer: { id: C-1, email: a@example.com }\nitems:\n  - { id: \"1\", action: add, product: P, attributes: { x: \"a\\e[2Jb\" } }\n",
    );
    for args in [
        &["plan", "o.yaml"][..],
        &["plan", "o.yaml", "--format", "dot"],
        &["plan", "o.yaml", "--format", "mermaid"],
        &["quote", "o.yaml"],
    ] {
        let mut all = vec![args[0], "--catalog", "cat.ordo"];
        all.extend_from_slice(&args[1..]);
        let out = ordo_with(d, &all, &[]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{args:?}: {stdout}");
        assert!(!has_escapes(&stdout), "{args:?}: {stdout:?}");
    }
    let out = ordo_with(d, &["plan", "--catalog", "cat.ordo", "o.yaml"], &[]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(r"a\u{1b}[2Jb"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
