//! Catalog tests (SPEC §7.2, `ordo test`): YAML files in `CATALOG/tests/`
//! that pin what the rules do with an order — tasks present or absent,
//! dependencies, prices, a rejection, or the whole text plan (a golden file).
//! The file format and the choices made are documented in `docs/testing.md`.
//!
//! [`TestRunner`] runs one test file at a time against a compiled catalog and
//! returns a [`TestResult`]; printing is left to the caller.

mod expectation;
mod golden;
mod test_file;

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::inventory::InstalledBase;
use crate::model::Catalog;
use crate::order::{order_from_node, read_order, OrderDoc};
use crate::plan::{decompose_on, render};
use crate::render::sanitize_line;
use crate::source::{SourceFile, Sources};
use crate::span::Span;
use crate::yaml;

use golden::Golden;
use test_file::{OrderRef, TestFile};

/// One expectation a test did not meet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The expectation as written: `tasks: 1/Broadband/activate`, `price.once`.
    pub what: String,
    /// Its line in the test file.
    pub line: Option<usize>,
    /// What was expected, in words.
    pub expected: String,
    /// What was found instead; may hold several lines.
    pub found: String,
    /// For a golden plan: the unified diff from the golden file to the plan.
    pub diff: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    Passed,
    Failed(Vec<Failure>),
    /// The test file (or its order file) could not be read as a test; the
    /// diagnostics point into the runner's [`TestRunner::sources`].
    Malformed(Diagnostics),
}

#[derive(Debug, Clone)]
pub struct TestResult {
    /// The test file.
    pub path: PathBuf,
    pub outcome: Outcome,
    /// Golden plans written by `--bless`.
    pub blessed: Vec<PathBuf>,
}

impl TestResult {
    pub fn passed(&self) -> bool {
        matches!(self.outcome, Outcome::Passed)
    }
}

/// The folder of a catalog's tests: `CATALOG/tests`, or for a catalog of one
/// file, `tests` beside that file.
pub fn tests_dir(catalog: &Path) -> PathBuf {
    if catalog.is_dir() {
        catalog.join("tests")
    } else {
        catalog
            .parent()
            .unwrap_or_else(|| Path::new(""))
            .join("tests")
    }
}

/// The test files of a tests folder: its `*.yaml` (and `*.yml`) files, not
/// those of subfolders (which may hold orders and golden plans), sorted by
/// name. No folder means no tests.
pub fn test_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
        if yaml && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// An order as read (or rejected), and where the test names it.
type OrderRead = (Result<OrderDoc, Diagnostics>, Span);

/// Runs test files against one compiled catalog.
pub struct TestRunner<'c> {
    catalog: &'c Catalog,
    sources: Sources,
    bless: bool,
}

impl<'c> TestRunner<'c> {
    /// `sources` are the catalog's: test and order files are added to them,
    /// so a diagnostic can point at a catalog rule as well as at a test.
    /// With `bless`, golden plans are written instead of compared.
    pub fn new(catalog: &'c Catalog, sources: Sources, bless: bool) -> TestRunner<'c> {
        TestRunner {
            catalog,
            sources,
            bless,
        }
    }

    /// Every file read so far, for rendering [`Outcome::Malformed`]
    /// diagnostics.
    pub fn sources(&self) -> &Sources {
        &self.sources
    }

    /// Runs the test file at `path`.
    pub fn run(&mut self, path: &Path) -> TestResult {
        let mut blessed = Vec::new();
        let outcome = match self.try_run(path, &mut blessed) {
            Ok(failures) if failures.is_empty() => Outcome::Passed,
            Ok(mut failures) => {
                failures.sort_by_key(|f| f.line);
                Outcome::Failed(failures)
            }
            Err(diags) => Outcome::Malformed(diags),
        };
        TestResult {
            path: path.to_path_buf(),
            outcome,
            blessed,
        }
    }

    fn try_run(
        &mut self,
        path: &Path,
        blessed: &mut Vec<PathBuf>,
    ) -> Result<Vec<Failure>, Diagnostics> {
        let text = fs::read_to_string(path).map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                Code::Test,
                format!("cannot read the test {}: {e}", path.display()),
            ))
        })?;
        let file = self.sources.add(SourceFile::new(path, text));
        let root = yaml::parse(file, self.sources.get(file)).map_err(|e| {
            Diagnostics::from(
                Diagnostic::error(
                    Code::Test,
                    format!("the test file is not valid YAML: {}", e.message),
                )
                .at(e.span, "here"),
            )
        })?;
        let test = test_file::read(&root)?;
        let dir = path.parent().unwrap_or_else(|| Path::new(""));
        let (order, order_span) = self.order(&test, dir)?;
        let order_line = Some(self.line_of(order_span));
        let base = match &test.installed {
            Some(node) => InstalledBase::from_node(self.catalog, node)?,
            None => InstalledBase::default(),
        };
        let planned = order.and_then(|doc| decompose_on(self.catalog, &doc, &base));
        let (plan, _warnings) = match planned {
            Ok(planned) => planned,
            Err(errors) => {
                return Ok(expectation::check_rejection(
                    &test.expect,
                    &errors,
                    &self.sources,
                    order_line,
                ))
            }
        };
        let mut failures = expectation::check_plan(&test.expect, &plan, &self.sources);
        if let Some((rel, span)) = &test.expect.plan {
            let golden_path = resolve(dir, rel);
            let shown = golden_path.to_string_lossy().replace('\\', "/");
            let failure = |expected: String, found: String, diff| Failure {
                what: format!("plan: {}", rel.to_string_lossy().replace('\\', "/")),
                line: Some(self.line_of(*span)),
                expected,
                found,
                diff,
            };
            let wanted = format!("the plan in {shown}");
            match golden::golden(&golden_path, &shown, &render::text(&plan), self.bless) {
                Ok(Golden::Same) => {}
                Ok(Golden::Blessed) => blessed.push(golden_path.clone()),
                Ok(Golden::Missing) => failures.push(failure(
                    wanted,
                    "no such file; `ordo test --bless` writes it".into(),
                    None,
                )),
                Ok(Golden::Differs(diff)) => failures.push(failure(
                    wanted,
                    "another plan (- golden, + now):".into(),
                    Some(diff),
                )),
                Err(e) => {
                    let verb = if self.bless { "write" } else { "read" };
                    failures.push(failure(wanted, format!("cannot {verb} it: {e}"), None));
                }
            }
        }
        Ok(failures)
    }

    /// Reads the test's order: its file (relative to the test's folder) or
    /// the inline mapping. An order file that cannot be read makes the test
    /// malformed; an order that is not of the order shape is a rejection,
    /// which a test may expect (`ordo::order::syntax`).
    fn order(&mut self, test: &TestFile, dir: &Path) -> Result<OrderRead, Diagnostics> {
        match &test.order {
            OrderRef::Inline(node) => Ok((order_from_node(node), node.span)),
            OrderRef::Path(rel, span) => {
                let resolved = resolve(dir, rel);
                let text = fs::read_to_string(&resolved).map_err(|e| {
                    Diagnostics::from(
                        Diagnostic::error(
                            Code::Test,
                            format!("cannot read the order {}: {e}", resolved.display()),
                        )
                        .at(*span, "this path")
                        .with_help(format!(
                            "the path is relative to the test file's folder, {}",
                            if dir.as_os_str().is_empty() {
                                ".".to_string()
                            } else {
                                dir.display().to_string()
                            }
                        )),
                    )
                })?;
                let file = self.sources.add(SourceFile::new(&resolved, text));
                Ok((read_order(file, self.sources.get(file)), *span))
            }
        }
    }

    fn line_of(&self, span: Span) -> usize {
        self.sources
            .get(span.file)
            .line_column(span.start as usize)
            .0
    }
}

/// A diagnostic on one line, as compilers print them:
/// `FILE:LINE:COL: CODE: MESSAGE` (a message of several lines joined),
/// made safe to print.
pub fn one_line(d: &Diagnostic, sources: &Sources) -> String {
    let message = d
        .message
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    match d.span {
        Some(span) => {
            let file = sources.get(span.file);
            let (line, column) = file.line_column(span.start as usize);
            format!(
                "{}:{line}:{column}: {}: {}",
                sanitize_line(&file.display_path()),
                d.code,
                sanitize_line(&message)
            )
        }
        None => format!("{}: {}", d.code, sanitize_line(&message)),
    }
}

/// `base/rel` with `.` and `..` taken out where they can be, without touching
/// the file system: `catalog/tests/../../examples/a.yaml` is
/// `examples/a.yaml`. Links are not resolved; a leading `..` stays.
pub(crate) fn resolve(base: &Path, rel: &Path) -> PathBuf {
    let mut out: Vec<Component<'_>> = Vec::new();
    for c in base.components().chain(rel.components()) {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(c),
            },
            other => out.push(other),
        }
    }
    if out.is_empty() {
        return PathBuf::from(".");
    }
    out.iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_without_the_file_system() {
        let p = resolve(
            Path::new("catalog/tests"),
            Path::new("../../examples/a.yaml"),
        );
        assert_eq!(p, PathBuf::from("examples/a.yaml"));
        let p = resolve(Path::new("tests"), Path::new("../../x.yaml"));
        assert_eq!(p, PathBuf::from("../x.yaml"));
        let p = resolve(Path::new("./c/tests"), Path::new("./golden/a.txt"));
        assert_eq!(p, PathBuf::from("c/tests/golden/a.txt"));
    }
}
