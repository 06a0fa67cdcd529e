//! `ordo check` on fixture catalogs: one per catalog-level diagnostic code,
//! each with a snapshot of the rendered report and the JSON location.

use std::path::Path;
use std::process::Command;

use ordo::compile::compile;
use ordo::render::{render, Format, RenderOptions};
use ordo::source::Sources;

/// Fixture, expected code, line, column.
const EXPECTED: &[(&str, &str, usize, usize)] = &[
    ("syntax", "ordo::syntax", 4, 23),
    ("duplicate", "ordo::duplicate", 7, 10),
    ("unknown_type", "ordo::unknown_type", 4, 15),
    ("unknown_product", "ordo::unknown_product", 6, 13),
    ("unknown_action", "ordo::unknown_action", 6, 20),
    ("unknown_task", "ordo::unknown_task", 9, 13),
    ("unknown_attribute", "ordo::unknown_attribute", 6, 52),
    ("unknown_output", "ordo::unknown_output", 8, 56),
    ("missing_input", "ordo::missing_input", 7, 20),
    ("unknown_input", "ordo::unknown_input", 6, 49),
    ("type_mismatch", "ordo::type_mismatch", 6, 77),
    ("may_be_absent", "ordo::type_mismatch", 8, 44),
    ("may_be_absent_message", "ordo::type_mismatch", 6, 38),
    ("if_branches", "ordo::type_mismatch", 7, 105),
    ("cycle", "ordo::cycle", 9, 13),
    ("stage_order", "ordo::stage_order", 11, 13),
    ("stage", "ordo::stage", 9, 13),
    ("currency", "ordo::currency", 4, 3),
    ("price_on_monthly", "ordo::invalid", 4, 27),
    ("include_alias", "ordo::duplicate", 7, 25),
    ("sla_conflict", "ordo::type_mismatch", 4, 15),
    ("ambiguous_relies", "ordo::invalid", 21, 11),
    // Syntax errors name what is missing, where it is missing.
    ("syntax_require_no_else", "ordo::syntax", 6, 41),
    ("syntax_unclosed_string", "ordo::syntax", 3, 29),
    ("syntax_missing_paren", "ordo::syntax", 4, 28),
    ("syntax_missing_colon", "ordo::syntax", 3, 16),
    ("syntax_misplaced_clause", "ordo::syntax", 4, 3),
    ("syntax_missing_type", "ordo::syntax", 3, 16),
    ("syntax_clause_outside_task", "ordo::syntax", 7, 25),
    ("syntax_missing_comma", "ordo::syntax", 7, 32),
    // The root cause alone, not what only follows from it.
    ("cascade_bad_default", "ordo::type_mismatch", 10, 21),
    ("cascade_empty_range", "ordo::invalid", 10, 15),
    ("cascade_duplicate", "ordo::duplicate", 21, 9),
    ("cascade_no_default_stage", "ordo::stage", 3, 1),
    ("cascade_unknown_type", "ordo::unknown_type", 6, 15),
    ("cascade_empty_enum", "ordo::invalid", 2, 6),
    (
        "cascade_unknown_relied_product",
        "ordo::unknown_product",
        6,
        13,
    ),
    // Help that speaks of the place the error is in.
    (
        "help_order_in_product_require",
        "ordo::unknown_attribute",
        6,
        11,
    ),
    ("help_item_field", "ordo::unknown_attribute", 5, 30),
    ("installed_outside", "ordo::invalid", 7, 44),
    (
        "installed_unknown_attribute",
        "ordo::unknown_attribute",
        10,
        63,
    ),
    ("installed_unknown_task", "ordo::unknown_task", 10, 50),
    ("installed_unknown_output", "ordo::unknown_output", 10, 59),
    ("installed_may_be_absent", "ordo::type_mismatch", 10, 40),
    // Work that waits: manual tasks and waits.
    ("wait_until_type", "ordo::wait", 8, 18),
    ("wait_until_duration", "ordo::wait", 7, 18),
    ("wait_zero", "ordo::wait", 7, 7),
    ("manual_team", "ordo::manual", 7, 14),
    ("manual_retry", "ordo::manual", 8, 7),
    ("manual_timeout", "ordo::manual", 7, 7),
];

/// Fixture, expected warning code, line, column: warnings of a catalog that
/// has no errors.
const WARNINGS: &[(&str, &str, usize, usize)] = &[
    ("unused_action", "ordo::unused_action", 3, 8),
    ("empty_product", "ordo::empty_product", 14, 9),
    ("no_delete", "ordo::no_delete", 3, 9),
];

fn ordo(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ordo"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("ORDO_CATALOG")
        .output()
        .expect("the ordo binary runs")
}

#[test]
fn every_catalog_code_has_a_fixture_that_triggers_it_at_its_place() {
    for (name, code, line, column) in EXPECTED {
        let path = format!("tests/fixtures/check/{name}.ordo");
        let out = ordo(&["check", "--catalog", &path, "--format", "json"]);
        assert_eq!(out.status.code(), Some(1), "{name}: exit status");
        let json: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("check --format json prints JSON");
        let diags = json["diagnostics"].as_array().expect("a diagnostics list");
        assert_eq!(
            diags.len(),
            1,
            "{name}: exactly one diagnostic, got {diags:#?}"
        );
        let d = &diags[0];
        assert_eq!(d["code"], *code, "{name}");
        assert_eq!(d["file"], path.as_str(), "{name}");
        assert_eq!(
            (d["line"].as_u64(), d["column"].as_u64()),
            (Some(*line as u64), Some(*column as u64)),
            "{name}"
        );
        assert_eq!(d["severity"], "error");
        assert!(d["help"].is_string(), "{name}: every diagnostic has help");
        assert_eq!(json["errors"], 1);
        assert_eq!(json["warnings"], 0);
    }
}

fn json_of(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).expect("check --format json prints JSON")
}

/// `ordo check --format json` of a catalog with errors.
fn check_json(catalog: &str) -> serde_json::Value {
    let out = ordo(&["check", "--catalog", catalog, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{catalog}: exit status");
    json_of(&out)
}

#[test]
fn warnings_never_change_the_exit_status() {
    for (name, code, line, column) in WARNINGS {
        let path = format!("tests/fixtures/check/{name}.ordo");
        let out = ordo(&["check", "--catalog", &path, "--format", "json"]);
        assert_eq!(out.status.code(), Some(0), "{name}: exit status");
        let json = json_of(&out);
        let diags = json["diagnostics"].as_array().expect("a diagnostics list");
        assert_eq!(diags.len(), 1, "{name}: one diagnostic, got {diags:#?}");
        let d = &diags[0];
        assert_eq!(
            (&d["code"], &d["severity"]),
            (&serde_json::json!(code), &serde_json::json!("warning")),
            "{name}"
        );
        assert_eq!(
            (d["line"].as_u64(), d["column"].as_u64()),
            (Some(*line as u64), Some(*column as u64)),
            "{name}"
        );
        assert!(d["help"].is_string(), "{name}: every diagnostic has help");
        assert_eq!((&json["errors"], &json["warnings"]), (&0.into(), &1.into()));

        let out = ordo(&["check", "--catalog", &path]);
        assert_eq!(out.status.code(), Some(0), "{name}: human exit status");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(code), "{name}: {stderr}");
        assert!(stderr.contains("warning: 1 warning"), "{name}: {stderr}");

        let out = ordo(&["check", "--catalog", &path, "--format", "github"]);
        assert_eq!(out.status.code(), Some(0), "{name}: github exit status");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let title = code.replace(':', "%3A");
        assert!(
            stdout.starts_with(&format!(
                "::warning file={path},line={line},col={column},endLine={line},endColumn={},title={title}::",
                d["endColumn"]
            )),
            "{name}: {stdout}"
        );
    }
}

#[test]
fn deny_warnings_makes_them_errors() {
    for (name, code, _, _) in WARNINGS {
        let path = format!("tests/fixtures/check/{name}.ordo");
        let out = ordo(&[
            "check",
            "--catalog",
            &path,
            "--deny",
            "warnings",
            "--format",
            "json",
        ]);
        assert_eq!(out.status.code(), Some(1), "{name}: exit status");
        let json = json_of(&out);
        assert_eq!(json["diagnostics"][0]["code"], *code, "{name}");
        assert_eq!(json["diagnostics"][0]["severity"], "error", "{name}");
        assert_eq!((&json["errors"], &json["warnings"]), (&1.into(), &0.into()));
        let out = ordo(&["check", "--catalog", &path, "--deny", "warnings"]);
        assert_eq!(out.status.code(), Some(1), "{name}: human exit status");
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("is valid"),
            "{name}"
        );
    }
    // `ordo test` takes it too, and then runs no test.
    let out = ordo(&[
        "test",
        "--catalog",
        "tests/fixtures/check/no_delete.ordo",
        "--deny",
        "warnings",
    ]);
    assert_eq!(out.status.code(), Some(1), "ordo test --deny warnings");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ordo::no_delete"), "{stderr}");
    assert!(stderr.contains("no test was run"), "{stderr}");
    assert!(
        stderr.contains("`--deny warnings` makes them errors")
            && !stderr.contains("does not compile"),
        "{stderr}"
    );
    // `--deny` names what it denies.
    let out = ordo(&[
        "check",
        "--catalog",
        "tests/fixtures/check/no_delete.ordo",
        "--deny",
        "nothing",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown --deny is a usage error"
    );
}

#[test]
fn a_read_of_an_output_that_may_be_absent_is_a_warning_that_keeps_exit_0() {
    let path = "tests/fixtures/check/unguarded_output.ordo";
    let out = ordo(&["check", "--catalog", path, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "warnings never fail `check`");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = &json["diagnostics"][0];
    assert_eq!(d["code"], "ordo::unguarded_output");
    assert_eq!(d["severity"], "warning");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(7), Some(78))
    );
    assert_eq!(
        (json["errors"].as_u64(), json["warnings"].as_u64()),
        (Some(0), Some(1))
    );
}

#[test]
fn rendered_diagnostics() {
    insta::glob!("fixtures/check/*.ordo", |path| {
        let rel = path
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(path);
        let sources = Sources::load_catalog(rel).expect("fixture loads");
        let (_, diags) = compile(&sources);
        let opts = RenderOptions {
            color: false,
            width: 80,
        };
        insta::assert_snapshot!(render(&diags, &sources, Format::Human, &opts));
    });
}

#[test]
fn three_unrelated_errors_are_reported_in_one_run() {
    let out = ordo(&[
        "check",
        "--catalog",
        "tests/fixtures/check/three_errors.ordo",
        "--format",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<&str> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["ordo::type_mismatch", "ordo::unknown_type", "ordo::stage"]
    );
    assert_eq!(json["errors"], 3);
}

#[test]
fn every_broken_declaration_of_a_file_is_reported() {
    let json = check_json("tests/fixtures/check/syntax_three_broken.ordo");
    let found: Vec<(u64, &str)> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["code"], "ordo::syntax");
            (d["line"].as_u64().unwrap(), d["message"].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        found,
        [
            (6, "expected `:`, found `Speed`"),
            (10, "expected `else`, found end of line"),
            (
                16,
                "this string is not closed: expected `\"` before the end of the line"
            ),
        ]
    );
    assert_eq!(json["errors"], 3);
}

#[test]
fn keywords_glued_to_the_next_word_are_syntax_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (glued, spaced) in [
        ("stagecommit", "stage commit"),
        ("onadd {", "on add {"),
        ("relieson Line", "relies on Line"),
        ("pointofnoreturn", "point of no return"),
    ] {
        let catalog = |text: &str| {
            format!(
                "stages feasibility -> commit (default)\naction a.b()\n\
                 product Line {{ on add {{ task t: a.b() }} on delete {{ task u: a.b() }} }}\n\
                 product P {{\n  {}\n}}\n",
                match text {
                    t if t.starts_with("relies") => t.to_string(),
                    t if t.starts_with("on") =>
                        format!("{t} task t: a.b() }} on delete {{ task u: a.b() }}"),
                    t => format!(
                        "on add {{ task t: a.b() {{ {t} }} }} on delete {{ task u: a.b() }}"
                    ),
                }
            )
        };
        let path = dir.path().join("c.ordo");
        let path = path.to_str().unwrap();
        std::fs::write(path, catalog(spaced)).unwrap();
        let out = ordo(&["check", "--catalog", path, "--format", "json"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{spaced}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        std::fs::write(path, catalog(glued)).unwrap();
        let json = check_json(path);
        assert_eq!(json["diagnostics"][0]["code"], "ordo::syntax", "{glued}");
        let word = glued.split(' ').next().unwrap();
        assert!(
            json["diagnostics"][0]["message"]
                .as_str()
                .unwrap()
                .ends_with(&format!("found `{word}`")),
            "{glued}: {json}"
        );
    }
}

#[test]
fn json_output_is_exactly_the_spec_shape() {
    let out = ordo(&[
        "check",
        "--catalog",
        "tests/fixtures/check/unknown_task.ordo",
        "--format",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["diagnostics", "errors", "warnings"]);
    let d = json["diagnostics"][0].as_object().unwrap();
    let keys: Vec<&String> = d.keys().collect();
    assert_eq!(
        keys,
        [
            "severity",
            "code",
            "message",
            "file",
            "line",
            "column",
            "endLine",
            "endColumn",
            "help"
        ]
    );
    assert_eq!(
        json["diagnostics"][0]["help"],
        "did you mean `reserve_port`?"
    );
}

#[test]
fn github_format_prints_workflow_commands() {
    let out = ordo(&[
        "check",
        "--catalog",
        "tests/fixtures/check/three_errors.ordo",
        "--format",
        "github",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[1].starts_with("::error file=tests/fixtures/check/three_errors.ordo,line=7,col=14,endLine=7,endColumn=19,title=ordo%3A%3Aunknown_type::"), "{}", lines[1]);
}

#[test]
fn machine_formats_carry_where_the_span_ends() {
    let json = check_json("tests/fixtures/check/three_errors.ordo");
    // `strin`, line 7 from column 14: it ends before column 19.
    let d = &json["diagnostics"][1];
    assert_eq!(d["code"], "ordo::unknown_type");
    let at = |key: &str| d[key].as_u64();
    assert_eq!(
        [at("line"), at("column"), at("endLine"), at("endColumn")],
        [Some(7), Some(14), Some(7), Some(19)]
    );
}

#[test]
fn a_catalog_that_cannot_be_read_is_reported_in_the_format_asked_for() {
    let empty = tempfile::tempdir().unwrap();
    let empty = empty.path().to_str().unwrap().to_string();
    let missing = format!("{empty}/nothing-here");
    let binary = tempfile::tempdir().unwrap();
    let binary = binary.path().join("catalog.ordo");
    std::fs::write(&binary, [0xff, 0xfe, b'\n']).unwrap();
    let binary = binary.to_str().unwrap().to_string();
    for (path, says) in [
        (&empty, "no .ordo files in"),
        (&missing, "no catalog at"),
        (&binary, "cannot read"),
    ] {
        let out = ordo(&["check", "--catalog", path, "--format", "json"]);
        assert_eq!(out.status.code(), Some(2), "{path}");
        let json = json_of(&out);
        let d = &json["diagnostics"][0];
        assert_eq!(d["code"], "ordo::load", "{json}");
        assert!(d["message"].as_str().unwrap().starts_with(says), "{json}");
        assert_eq!((&json["errors"], &json["warnings"]), (&1.into(), &0.into()));

        let out = ordo(&["check", "--catalog", path, "--format", "github"]);
        assert_eq!(out.status.code(), Some(2), "{path}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.starts_with(&format!("::error title=ordo%3A%3Aload::{says}")),
            "{text}"
        );

        let out = ordo(&["check", "--catalog", path]);
        assert_eq!(out.status.code(), Some(2), "{path}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with(&format!("error: {says}")), "{stderr}");
    }
}

#[test]
fn the_shipped_catalog_checks_clean() {
    if !Path::new("catalog").exists() {
        return;
    }
    let out = ordo(&["check", "--deny", "warnings"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("is valid:"), "{stdout}");
}

/// A call's arguments are checked for repeats in place while they are few
/// and through a map past sixteen: both ways find every repeat, each
/// against its first.
#[test]
fn repeated_arguments_are_found_in_short_and_long_calls() {
    let dir = std::env::temp_dir().join(format!("ordo-check-args-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for n in [3, 40] {
        let params: Vec<String> = (0..n).map(|i| format!("p{i}: int")).collect();
        // Every argument once, then p1 and the last again.
        let mut args: Vec<String> = (0..n).map(|i| format!("p{i}: {i}")).collect();
        args.push("p1: 0".into());
        args.push(format!("p{}: 0", n - 1));
        let catalog = dir.join(format!("args{n}.ordo"));
        std::fs::write(
            &catalog,
            format!(
                "catalog \"args\" version \"1\"\naction x.y({}) -> (out: string)\n\
                 product P {{\n  on add {{\n    task t: x.y({})\n  }}\n}}\n",
                params.join(", "),
                args.join(", ")
            ),
        )
        .unwrap();
        let json = check_json(catalog.to_str().unwrap());
        let messages: Vec<&str> = json["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["message"].as_str().unwrap())
            .collect();
        assert_eq!(
            messages,
            [
                "argument `p1` is declared twice".to_string(),
                format!("argument `p{}` is declared twice", n - 1)
            ],
            "{n} parameters: {json}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
