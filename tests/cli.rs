//! The real binary, run as a user or a CI pipeline runs it.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const BROKEN: &str = "product Voip {\n  price monthly 9.99 eur\n}\n";
const CLEAN: &str = "enum Speed { \"100M\", \"1G\" }\n";

/// Runs `ordo ARGS` in `dir`, untouched by the caller's `ORDO_*` settings.
fn ordo(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ordo"))
        .args(args)
        .current_dir(dir)
        .env_remove("ORDO_CATALOG")
        .env_remove("ORDO_STATE")
        .output()
        .expect("the ordo binary runs")
}

/// A temp folder holding `catalog/` with the given files.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("catalog")).unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join("catalog").join(name), text).unwrap();
    }
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn help_and_version_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let help = ordo(dir.path(), &["--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(text(&help.stdout).contains("check"));
    let version = ordo(dir.path(), &["--version"]);
    assert_eq!(version.status.code(), Some(0));
    assert!(text(&version.stdout).starts_with("ordo "));
}

#[test]
fn unknown_flag_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = ordo(dir.path(), &["check", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--no-such-flag"));
}

#[test]
fn check_on_a_missing_catalog_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = ordo(dir.path(), &["check", "--catalog", "no-such-catalog"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no-such-catalog"),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn check_json_reports_a_syntax_error_at_its_line_and_column() {
    let dir = project(&[("voip.ordo", BROKEN), ("speed.ordo", CLEAN)]);
    let out = ordo(dir.path(), &["check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["diagnostics", "errors", "warnings"]);
    assert_eq!(
        (v["errors"].as_u64(), v["warnings"].as_u64()),
        (Some(1), Some(0))
    );
    let d = &v["diagnostics"][0];
    let keys: Vec<&str> = d.as_object().unwrap().keys().map(String::as_str).collect();
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
    assert_eq!(d["severity"], "error");
    assert_eq!(d["code"], "ordo::syntax");
    assert_eq!(d["file"], "catalog/voip.ordo");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(2), Some(22))
    );
    assert!(d["message"].as_str().unwrap().contains("eur"));
}

#[test]
fn check_github_prints_one_annotation_per_error() {
    let dir = project(&[("voip.ordo", BROKEN)]);
    let out = ordo(dir.path(), &["check", "--format", "github"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    // `::` inside a property is escaped, or the runner would end the command there.
    assert!(
        lines[0]
            .starts_with("::error file=catalog/voip.ordo,line=2,col=22,endLine=2,endColumn=25,title=ordo%3A%3Asyntax::"),
        "{stdout}"
    );
}

#[test]
fn check_human_goes_to_stderr_without_colour_when_piped() {
    let dir = project(&[("voip.ordo", BROKEN)]);
    let out = ordo(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("╭─[catalog/voip.ordo:2:22]"), "{stderr}");
    assert!(!stderr.contains('\x1b'), "{stderr}");
    assert!(stderr.ends_with("error: 1 error\n"), "{stderr}");
}

#[test]
fn check_on_a_clean_catalog_exits_0() {
    let dir = project(&[("speed.ordo", CLEAN)]);
    let out = ordo(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json = ordo(dir.path(), &["check", "--format", "json"]);
    assert_eq!(json.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!({ "diagnostics": [], "errors": 0, "warnings": 0 })
    );
}
