//! `ordo test`: run the catalog's tests (SPEC §7.2, `docs/testing.md`).
//!
//! One line per test on stdout, `ok   NAME` or `FAIL NAME` followed by
//! indented lines saying what was expected and what was found, then
//! `N passed, N failed`. A malformed test file is also reported on stderr
//! like any diagnostic. Exit status 1 if any test failed.

use std::fmt::Write;
use std::path::Path;

use super::{compile_catalog, load_catalog, print_diagnostics, render_options};
use super::{write_stderr, write_stdout};
use super::{Exit, TestArgs};
use crate::catalog_test::{one_line, test_files, tests_dir, Failure, Outcome, TestRunner};
use crate::render::{self, Format};

pub(crate) fn test(args: &TestArgs) -> Exit {
    let catalog_path = &args.catalog.path;
    let sources = match load_catalog(catalog_path) {
        Ok(sources) => sources,
        Err(exit) => return exit,
    };
    let compiled = compile_catalog(&sources, &args.deny);
    let diags = compiled.diags;
    let Some(catalog) = compiled.catalog else {
        print_diagnostics(&diags, &sources, Format::Human);
        if compiled.only_warnings_denied {
            eprintln!("error: the catalog has warnings and `--deny warnings` makes them errors, so no test was run");
        } else {
            eprintln!("error: the catalog does not compile, so no test was run");
        }
        return Exit::Failure;
    };
    let dir = tests_dir(catalog_path);
    let files = match test_files(&dir) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("error: cannot list the tests in {}: {e}", dir.display());
            return Exit::Error;
        }
    };
    if files.is_empty() {
        eprintln!("warning: no tests: no *.yaml files in {}", dir.display());
    }
    // Names are relative to the catalog's folder: `tests/triple-play.yaml`.
    let base = if catalog_path.is_dir() {
        catalog_path.as_path()
    } else {
        catalog_path.parent().unwrap_or_else(|| Path::new(""))
    };
    let mut runner = TestRunner::new(&catalog, sources, args.bless);
    let (mut passed, mut failed) = (0, 0);
    for path in &files {
        let result = runner.run(path);
        let name = path
            .strip_prefix(base)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/");
        for written in &result.blessed {
            eprintln!("wrote {}", written.display());
        }
        match &result.outcome {
            Outcome::Passed => {
                passed += 1;
                write_stdout(&format!("ok   {name}\n"));
            }
            Outcome::Failed(failures) => {
                failed += 1;
                write_stdout(&failed_block(&name, failures));
            }
            Outcome::Malformed(diags) => {
                failed += 1;
                let mut out = format!("FAIL {name}\n  the test file is malformed:\n");
                for d in &diags.list {
                    let _ = writeln!(out, "    {}", one_line(d, runner.sources()));
                }
                write_stdout(&out);
                let opts = render_options(&std::io::stderr());
                write_stderr(&render::render(
                    diags,
                    runner.sources(),
                    Format::Human,
                    &opts,
                ));
            }
        }
    }
    write_stdout(&format!("{passed} passed, {failed} failed\n"));
    if failed > 0 {
        Exit::Failure
    } else {
        Exit::Success
    }
}

/// ```text
/// FAIL tests/broadband.yaml
///   line 6, price.monthly
///     expected: 54.99 EUR
///     found:    49.99 EUR
/// ```
fn failed_block(name: &str, failures: &[Failure]) -> String {
    let mut out = format!("FAIL {name}\n");
    for f in failures {
        match f.line {
            Some(line) => {
                let _ = writeln!(out, "  line {line}, {}", f.what);
            }
            None => {
                let _ = writeln!(out, "  {}", f.what);
            }
        }
        let _ = writeln!(out, "    expected: {}", indent_rest(&f.expected));
        let _ = writeln!(out, "    found:    {}", indent_rest(&f.found));
        if let Some(diff) = &f.diff {
            for line in diff.lines() {
                let _ = writeln!(out, "{}", format!("      {line}").trim_end());
            }
        }
    }
    out
}

/// Lines after the first, indented to sit under the first's text.
fn indent_rest(text: &str) -> String {
    text.replace('\n', "\n              ")
}
