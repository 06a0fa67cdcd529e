//! `ordo test`, run as a user runs it. Each scenario under
//! `tests/fixtures/catalog_test/` is a folder of test files, copied into a
//! fresh project beside the fixture catalog and orders:
//!
//! - `pass/`: one test per expectation kind, each met;
//! - `fail/`: one test per way of failing;
//! - `malformed/`: test files `ordo test` cannot read as tests.
//!
//! A failing or malformed fixture lists in `# want:` comments the text its
//! report must hold (positions included), so each case is checked on its own;
//! the whole reports are snapshots besides.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/catalog_test")
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("a folder");
    for entry in fs::read_dir(from).expect("a fixture folder") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("a copy");
        }
    }
}

/// A project: `catalog/` (the fixture catalog, with the scenario's files as
/// `catalog/tests/`) and `orders/`.
fn project(scenario: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    copy_dir(&fixtures().join("catalog"), &dir.path().join("catalog"));
    copy_dir(&fixtures().join("orders"), &dir.path().join("orders"));
    copy_dir(
        &fixtures().join(scenario),
        &dir.path().join("catalog/tests"),
    );
    dir
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn ordo(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_ordo"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .env_remove("ORDO_CATALOG")
        .output()
        .expect("the ordo binary runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("utf-8"),
        stderr: String::from_utf8(out.stderr).expect("utf-8"),
    }
}

/// The report of each test: its `ok`/`FAIL` line and the indented lines after
/// it, by test name (`tests/x.yaml`).
fn blocks(stdout: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in stdout.lines() {
        let name = line
            .strip_prefix("ok   ")
            .or_else(|| line.strip_prefix("FAIL "));
        match name {
            Some(name) => out.push((name.to_string(), format!("{line}\n"))),
            None if line.starts_with(' ') => {
                if let Some((_, block)) = out.last_mut() {
                    block.push_str(line);
                    block.push('\n');
                }
            }
            None => {}
        }
    }
    out
}

/// The scenario's test files, by name, with their `# want:` lines.
fn cases(scenario: &str) -> Vec<(String, Vec<String>)> {
    let mut files: Vec<PathBuf> = fs::read_dir(fixtures().join(scenario))
        .expect("a scenario")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let text = fs::read_to_string(p).expect("a fixture");
            let wants = text
                .lines()
                .filter_map(|l| l.strip_prefix("# want: "))
                .map(str::to_string)
                .collect();
            let name = p.file_name().expect("a name").to_string_lossy();
            (format!("tests/{name}"), wants)
        })
        .collect()
}

fn last_line(text: &str) -> &str {
    text.lines().last().unwrap_or_default()
}

#[test]
fn every_expectation_kind_can_pass() {
    let dir = project("pass");
    let run = ordo(dir.path(), &["test"]);
    let cases = cases("pass");
    let blocks = blocks(&run.stdout);
    let names: Vec<&str> = blocks.iter().map(|(n, _)| n.as_str()).collect();
    let expected: Vec<&str> = cases.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, expected, "one line per test, sorted by name");
    for (name, block) in &blocks {
        assert_eq!(block, &format!("ok   {name}\n"), "{}", run.stdout);
    }
    assert_eq!(
        last_line(&run.stdout),
        format!("{} passed, 0 failed", cases.len())
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
}

#[test]
fn every_expectation_kind_can_fail_and_says_why() {
    let dir = project("fail");
    let run = ordo(dir.path(), &["test"]);
    let blocks = blocks(&run.stdout);
    let cases = cases("fail");
    assert_eq!(blocks.len(), cases.len(), "{}", run.stdout);
    for ((name, block), (case, wants)) in blocks.iter().zip(&cases) {
        assert_eq!(name, case);
        assert!(block.starts_with(&format!("FAIL {name}\n")), "{block}");
        assert!(!wants.is_empty(), "{case} says nothing of its report");
        for want in wants {
            assert!(
                block.contains(want.as_str()),
                "{case}: no `{want}` in\n{block}"
            );
        }
    }
    assert_eq!(
        last_line(&run.stdout),
        format!("0 passed, {} failed", cases.len())
    );
    assert_eq!(run.code, Some(1));
    insta::assert_snapshot!("failing_tests", run.stdout);
}

#[test]
fn malformed_test_files_are_diagnostics_at_their_place() {
    let dir = project("malformed");
    let run = ordo(dir.path(), &["test"]);
    let blocks = blocks(&run.stdout);
    let cases = cases("malformed");
    assert_eq!(blocks.len(), cases.len(), "{}", run.stdout);
    for ((name, block), (case, wants)) in blocks.iter().zip(&cases) {
        assert_eq!(name, case);
        assert!(
            block.starts_with(&format!("FAIL {name}\n  the test file is malformed:\n")),
            "{block}"
        );
        for want in wants {
            let found = block.contains(want.as_str()) || run.stderr.contains(want.as_str());
            assert!(
                found,
                "{case}: no `{want}` in\n{block}\nor in\n{}",
                run.stderr
            );
        }
    }
    // The full report, as `ordo check` renders catalog errors, on stderr.
    assert!(
        run.stderr
            .contains("╭─[catalog/tests/unknown-key.yaml:5:3]"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("help: did you mean `tasks`?"));
    assert_eq!(
        last_line(&run.stdout),
        format!("0 passed, {} failed", cases.len())
    );
    assert_eq!(run.code, Some(1));
    insta::assert_snapshot!("malformed_tests_stderr", run.stderr);
}

#[test]
fn bless_writes_golden_plans_which_then_pass_and_later_differ() {
    let dir = project("pass");
    let golden = dir.path().join("catalog/tests/golden/static.plan.txt");
    fs::remove_dir_all(golden.parent().expect("a folder")).expect("removed");

    let run = ordo(dir.path(), &["test"]);
    assert_eq!(run.code, Some(1));
    assert!(run.stdout.contains(
        "FAIL tests/golden.yaml\n  line 3, plan: golden/static.plan.txt\n    expected: the plan in catalog/tests/golden/static.plan.txt\n    found:    no such file; `ordo test --bless` writes it\n"
    ), "{}", run.stdout);

    let run = ordo(dir.path(), &["test", "--bless"]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("ok   tests/golden.yaml\n"));
    assert!(run
        .stderr
        .contains("wrote catalog/tests/golden/static.plan.txt"));
    let plan = ordo(dir.path(), &["plan", "orders/static.yaml"]);
    let written = fs::read_to_string(&golden).expect("a golden plan");
    assert_eq!(
        written, plan.stdout,
        "the golden plan is `ordo plan`'s text"
    );

    let run = ordo(dir.path(), &["test"]);
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    assert!(run.stderr.is_empty(), "nothing written: {}", run.stderr);

    // The rules change: the golden plan shows how, as a unified diff.
    let changed = written.replace("25.00 EUR monthly", "24.00 EUR monthly");
    fs::write(&golden, &changed).expect("written");
    let run = ordo(dir.path(), &["test"]);
    assert_eq!(run.code, Some(1));
    let diff = "      --- catalog/tests/golden/static.plan.txt (golden)\n      +++ the plan now\n      @@ -1,5 +1,5 @@\n       order ORD-2: 6 tasks in 3 of 3 stages\n      -price: 10.00 EUR once, 24.00 EUR monthly\n      +price: 10.00 EUR once, 25.00 EUR monthly\n";
    assert!(run.stdout.contains(diff), "{}", run.stdout);
    let run = ordo(dir.path(), &["test", "--bless"]);
    assert_eq!(run.code, Some(0));
    assert_eq!(fs::read_to_string(&golden).ok(), Some(written));
}

#[test]
fn a_catalog_that_does_not_compile_runs_no_test() {
    let dir = project("pass");
    fs::write(dir.path().join("catalog/broken.ordo"), "product P { attr }").expect("written");
    let run = ordo(dir.path(), &["test"]);
    assert_eq!(run.code, Some(1));
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(run.stderr.contains("ordo::syntax"), "{}", run.stderr);
    assert!(run
        .stderr
        .contains("the catalog does not compile, so no test was run"));
}

#[test]
fn no_tests_is_no_failure() {
    let dir = project("pass");
    fs::remove_dir_all(dir.path().join("catalog/tests")).expect("removed");
    let run = ordo(dir.path(), &["test"]);
    assert_eq!(run.code, Some(0));
    assert_eq!(run.stdout, "0 passed, 0 failed\n");
    assert!(run.stderr.contains("no tests"), "{}", run.stderr);
}

#[test]
fn a_one_file_catalog_has_its_tests_beside_it() {
    let dir = project("pass");
    let run = ordo(dir.path(), &["test", "--catalog", "catalog/line.ordo"]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("ok   tests/tasks.yaml\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn the_shipped_catalog_passes_its_tests() {
    let run = ordo(Path::new(env!("CARGO_MANIFEST_DIR")), &["test"]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(last_line(&run.stdout).ends_with(" passed, 0 failed"));
    assert!(!run.stdout.contains("FAIL"));
}
