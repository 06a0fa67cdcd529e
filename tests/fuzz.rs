//! Fuzz targets, one per reader: catalog source, order file, bindings file,
//! catalog test file. Each is a proptest over bytes (cargo-fuzz needs a
//! nightly compiler), seeded from the kept corpus in
//! `tests/fuzz/corpus/<reader>/` and mutating it; whatever the bytes, the
//! reader ends in a value or in errors that each have a code and a position,
//! and those render in every format without a panic.
//!
//! `PROPTEST_CASES` sets how many inputs each target tries (256 by default,
//! a few seconds); raise it for a longer campaign, as `docs/testing.md`
//! says. An input that breaks a target belongs in its corpus folder.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use ordo::catalog_test::{Outcome, TestRunner};
use ordo::compile::compile;
use ordo::diagnostic::{Diagnostics, Severity};
use ordo::exec::bindings::Bindings;
use ordo::model::Catalog;
use ordo::order::read_order;
use ordo::render::{render, Format, RenderOptions};
use ordo::source::{SourceFile, Sources};
use proptest::prelude::*;

/// A seed: its file name and bytes.
type Seed = (String, Vec<u8>);

/// Every file of one reader's corpus, sorted by name.
fn corpus(reader: &str) -> &'static [Seed] {
    static CORPORA: OnceLock<Vec<(String, Vec<Seed>)>> = OnceLock::new();
    let all = CORPORA.get_or_init(|| {
        ["catalog", "order", "bindings", "test_file"]
            .into_iter()
            .map(|r| {
                let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/fuzz/corpus")
                    .join(r);
                let mut files: Vec<Seed> = std::fs::read_dir(&dir)
                    .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                    .map(|e| e.unwrap().path())
                    .map(|p| {
                        let name = p.file_name().unwrap().to_string_lossy().into_owned();
                        (name, std::fs::read(&p).unwrap())
                    })
                    .collect();
                files.sort();
                assert!(!files.is_empty(), "no seeds in {}", dir.display());
                (r.to_string(), files)
            })
            .collect()
    });
    &all.iter()
        .find(|(r, _)| r == reader)
        .expect("a known reader")
        .1
}

/// One change to an input's bytes.
#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    Overwrite(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    /// Copies `len` bytes from one place to another (repeats structure).
    Splice {
        from: usize,
        len: usize,
        to: usize,
    },
}

/// Bytes that mean something to one of the readers.
const TOKENS: &[&[u8]] = &[
    b":",
    b"- ",
    b"&a ",
    b"*a",
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b"'",
    b",",
    b"#",
    b"\n",
    b"  ",
    b"\\",
    b"(",
    b")",
    b"-",
    b"not ",
    b"=",
    b"..",
    b"/",
    b"%",
    b"\x1b[2J",
    b"\xe2\x80\xae",
    b"\xc3\xa9",
    b"99999999999999999999",
    b"0.0000001",
    b"null",
    b"~",
    b"---\n",
    b"!!binary ",
    b"on add {",
    b"task t: a.b()",
    b"product ",
    b"require ",
    b"else ",
    b"\"*\": ",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Overwrite(i, b)),
        (any::<usize>(), prop::sample::select(TOKENS))
            .prop_map(|(i, t)| Mutation::Insert(i, t.to_vec())),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<usize>(), 1..64usize).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<usize>(), 1..256usize, any::<usize>())
            .prop_map(|(from, len, to)| Mutation::Splice { from, len, to }),
    ]
}

fn apply(seed: &[u8], mutations: &[Mutation]) -> String {
    let mut b = seed.to_vec();
    for m in mutations {
        let n = b.len().max(1);
        match m {
            Mutation::Truncate(i) => b.truncate(i % n),
            Mutation::Overwrite(i, byte) if !b.is_empty() => b[i % n] = *byte,
            Mutation::Overwrite(..) => {}
            Mutation::Insert(i, bytes) => {
                let at = i % (b.len() + 1);
                b.splice(at..at, bytes.iter().copied());
            }
            Mutation::Delete(i, len) => {
                let at = i % n;
                let end = (at + len).min(b.len());
                b.drain(at.min(end)..end);
            }
            Mutation::Splice { from, len, to } => {
                let from = from % n;
                let end = (from + len).min(b.len());
                let piece: Vec<u8> = b[from.min(end)..end].to_vec();
                let at = to % (b.len() + 1);
                b.splice(at..at, piece);
            }
        }
    }
    // The readers take text: a file that is not UTF-8 is refused before them.
    String::from_utf8_lossy(&b).into_owned()
}

/// Every error has a position inside its file, and every rendering works.
fn check(diags: &Diagnostics, sources: &Sources) -> Result<(), TestCaseError> {
    for d in &diags.list {
        let Some(span) = d.span else {
            prop_assert!(
                d.severity == Severity::Warning,
                "an error without a position: {d:?}"
            );
            continue;
        };
        let len = sources.get(span.file).text.len();
        prop_assert!(
            span.end() <= len,
            "span {span:?} past the file ({len} bytes): {d:?}"
        );
        prop_assert!(!d.code.as_str().is_empty());
    }
    let opts = RenderOptions::default();
    for format in [Format::Human, Format::Json, Format::Github] {
        let out = render(diags, sources, format, &opts);
        if format == Format::Human && diags.has_errors() {
            prop_assert!(out.contains("error:"), "{out}");
        }
    }
    Ok(())
}

fn shipped_catalog() -> &'static (Catalog, Sources) {
    static CATALOG: OnceLock<(Catalog, Sources)> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog");
        let sources = Sources::load_catalog(&dir).unwrap();
        let (catalog, diags) = compile(&sources);
        (catalog.unwrap_or_else(|| panic!("{diags:?}")), sources)
    })
}

fn catalog_target(text: &str) -> Result<(), TestCaseError> {
    let mut sources = Sources::new();
    sources.add(SourceFile::new("fuzz.ordo", text));
    let (catalog, diags) = compile(&sources);
    prop_assert!(catalog.is_some() || diags.has_errors());
    check(&diags, &sources)?;
    // A catalog that parses formats to text that parses the same.
    let _ = ordo::fmt::format_source(text);
    Ok(())
}

fn order_target(name: &str, text: &str) -> Result<(), TestCaseError> {
    let (catalog, sources) = shipped_catalog();
    let mut sources = sources.clone();
    let ext = if name.ends_with(".json") {
        "json"
    } else {
        "yaml"
    };
    let f = sources.add(SourceFile::new(format!("fuzz.{ext}"), text));
    let result = read_order(f, sources.get(f)).and_then(|doc| ordo::plan::decompose(catalog, &doc));
    if let Err(diags) = result {
        prop_assert!(diags.has_errors());
        check(&diags, &sources)?;
    }
    Ok(())
}

fn bindings_target(text: &str) -> Result<(), TestCaseError> {
    let mut sources = Sources::new();
    let f = sources.add(SourceFile::new("fuzz-bindings.yaml", text));
    if let Err(diags) = Bindings::parse(f, sources.get(f), Path::new("/nonexistent")) {
        prop_assert!(diags.has_errors());
        check(&diags, &sources)?;
    }
    Ok(())
}

fn test_file_target(dir: &Path, text: &str) -> Result<(), TestCaseError> {
    let (catalog, sources) = shipped_catalog();
    static FILES: AtomicUsize = AtomicUsize::new(0);
    let n = FILES.fetch_add(1, Ordering::Relaxed);
    let path: PathBuf = dir.join(format!("fuzz-{n}.yaml"));
    std::fs::write(&path, text).unwrap();
    let mut runner = TestRunner::new(catalog, sources.clone(), false);
    let result = runner.run(&path);
    if let Outcome::Malformed(diags) = &result.outcome {
        prop_assert!(diags.has_errors());
        check(diags, runner.sources())?;
    }
    Ok(())
}

/// A folder for test files, beside which nothing is found: a fuzzed
/// `order:` path or golden plan leads nowhere.
fn scratch() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

/// Each seed as it is: the inputs that once crashed a reader stay fixed.
#[test]
fn every_seed_is_read_without_a_panic() {
    for (name, bytes) in corpus("catalog") {
        catalog_target(&String::from_utf8_lossy(bytes)).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for (name, bytes) in corpus("order") {
        order_target(name, &String::from_utf8_lossy(bytes))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for (name, bytes) in corpus("bindings") {
        bindings_target(&String::from_utf8_lossy(bytes)).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for (name, bytes) in corpus("test_file") {
        test_file_target(scratch(), &String::from_utf8_lossy(bytes))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

fn seed(reader: &str, pick: usize) -> &'static Seed {
    let seeds = corpus(reader);
    &seeds[pick % seeds.len()]
}

proptest! {
    #[test]
    fn fuzz_catalog_source(pick in any::<usize>(), muts in prop::collection::vec(mutation(), 0..5)) {
        catalog_target(&apply(&seed("catalog", pick).1, &muts))?;
    }

    #[test]
    fn fuzz_order_file(pick in any::<usize>(), muts in prop::collection::vec(mutation(), 0..5)) {
        let (name, bytes) = seed("order", pick);
        order_target(name, &apply(bytes, &muts))?;
    }

    #[test]
    fn fuzz_bindings_file(pick in any::<usize>(), muts in prop::collection::vec(mutation(), 0..5)) {
        bindings_target(&apply(&seed("bindings", pick).1, &muts))?;
    }

    #[test]
    fn fuzz_catalog_test_file(pick in any::<usize>(), muts in prop::collection::vec(mutation(), 0..5)) {
        test_file_target(scratch(), &apply(&seed("test_file", pick).1, &muts))?;
    }
}
