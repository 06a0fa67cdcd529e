//! The formatter's promises (SPEC §7.3, `docs/formatting.md`) on every real
//! catalog: the shipped one and every `.ordo` fixture. Formatting is
//! idempotent, keeps every comment, and the formatted catalog compiles to the
//! same model, which plans every order the same (JSON and text plans, or the
//! same rejection). And horizontal spacing never matters: respacing a
//! catalog at random changes nothing of its formatted text.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ordo::compile::compile;
use ordo::diagnostic::Diagnostics;
use ordo::fmt::format_source;
use ordo::order::read_order;
use ordo::plan::{decompose, render};
use ordo::source::{SourceFile, Sources};
use proptest::prelude::*;
use regex::Regex;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn files_below(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| exts.iter().any(|e| x == *e)) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Every `.ordo` file the project holds: the shipped catalog and fixtures.
fn ordo_files() -> Vec<PathBuf> {
    let mut files = files_below(&root().join("catalog"), &["ordo"]);
    files.extend(files_below(&root().join("tests/fixtures"), &["ordo"]));
    assert!(files.len() > 20, "fixtures missing: {files:?}");
    files
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `#` comments of a text, found independently of the formatter's own
/// scanner: from `#` outside a string to the end of the line.
fn comments(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut in_string = false;
        let mut escaped = false;
        for (i, c) in line.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if in_string => escaped = true,
                '"' => in_string = !in_string,
                '#' if !in_string => {
                    out.push(line[i..].trim_end().to_string());
                    break;
                }
                _ => {}
            }
        }
    }
    out.sort();
    out
}

#[test]
fn formatting_is_idempotent_and_keeps_every_comment() {
    let mut formatted_files = 0;
    for path in ordo_files() {
        let text = read(&path);
        let once = match format_source(&text) {
            Ok(once) => once,
            Err(d) => {
                // Only a file that does not parse may be refused, with the
                // parser's own error.
                assert_eq!(d.code.as_str(), "ordo::syntax", "{}: {d:?}", path.display());
                continue;
            }
        };
        formatted_files += 1;
        let twice = format_source(&once).expect("formatted text formats");
        assert_eq!(once, twice, "{}: not idempotent", path.display());
        assert_eq!(
            comments(&text),
            comments(&once),
            "{}: comments",
            path.display()
        );
    }
    assert!(formatted_files > 20);
}

/// A catalog, with each file's text as found or as formatted.
fn sources(files: &[PathBuf], formatted: bool) -> Sources {
    let mut sources = Sources::new();
    for path in files {
        let text = read(path);
        let text = if formatted {
            format_source(&text).expect("the catalog formats")
        } else {
            text
        };
        sources.add(SourceFile::new(path, text));
    }
    sources
}

/// The model with what formatting may change blanked: positions, and the
/// hash of the source text.
fn model_shape(sources: &Sources) -> Result<String, String> {
    static SPAN: OnceLock<Regex> = OnceLock::new();
    static HASH: OnceLock<Regex> = OnceLock::new();
    let span = SPAN.get_or_init(|| {
        Regex::new(r"Span \{ file: FileId\(\d+\), start: \d+, len: \d+ \}").expect("a pattern")
    });
    let hash = HASH.get_or_init(|| Regex::new(r#"hash: "[0-9a-f]*""#).expect("a pattern"));
    match compile(sources) {
        (Some(catalog), _) => {
            let text = format!("{catalog:?}");
            let text = span.replace_all(&text, "Span");
            Ok(hash.replace_all(&text, "hash").into_owned())
        }
        (None, diags) => Err(messages(&diags)),
    }
}

fn messages(diags: &Diagnostics) -> String {
    diags
        .list
        .iter()
        .map(|d| format!("{} {} {:?}", d.code, d.message, d.help))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The plan of an order as JSON and text, or the rejection's messages.
fn plan(sources: &Sources, order: &Path) -> String {
    let (Some(catalog), _) = compile(sources) else {
        return "the catalog does not compile".into();
    };
    let mut sources = sources.clone();
    let file = sources.add(SourceFile::new(order, read(order)));
    match read_order(file, sources.get(file)).and_then(|doc| decompose(&catalog, &doc)) {
        Ok((plan, _)) => format!("{}\n{}", render::json(&plan), render::text(&plan)),
        Err(diags) => messages(&diags),
    }
}

/// Each catalog with the orders to plan with it: the shipped catalog with
/// the examples (broken ones too), and each fixture catalog file with the
/// orders beside it or in a sibling `orders/` folder.
fn catalogs() -> Vec<(Vec<PathBuf>, Vec<PathBuf>)> {
    let orders = |dir: &Path| files_below(dir, &["yaml", "json"]);
    let mut out = vec![(
        files_below(&root().join("catalog"), &["ordo"]),
        orders(&root().join("examples")),
    )];
    for path in files_below(&root().join("tests/fixtures"), &["ordo"]) {
        let dir = path.parent().expect("a folder");
        let mut list: Vec<PathBuf> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "json"))
            .collect();
        list.extend(orders(&dir.parent().expect("a folder").join("orders")));
        list.sort();
        out.push((vec![path], list));
    }
    out
}

#[test]
fn the_formatted_catalog_is_the_same_model_and_plans_every_order_the_same() {
    let mut planned = 0;
    for (files, orders) in catalogs() {
        // A file that does not parse is not formatted; nothing to compare.
        if files.iter().any(|f| format_source(&read(f)).is_err()) {
            continue;
        }
        let before = sources(&files, false);
        let after = sources(&files, true);
        assert_eq!(
            model_shape(&before),
            model_shape(&after),
            "{files:?}: the formatted catalog compiles to another model"
        );
        for order in &orders {
            let (a, b) = (plan(&before, order), plan(&after, order));
            assert_eq!(a, b, "{files:?} with {}", order.display());
            planned += 1;
        }
    }
    assert!(planned >= 10, "only {planned} orders planned");
}

/// The text with some spaces (outside strings and comments) made wider, or
/// turned into tabs, as `choices` says. Inside money (`49.00 EUR`) the
/// grammar allows spaces only, so there they only widen.
fn respace(text: &str, choices: &[u8]) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut next = choices.iter().cycle();
    for line in text.split_inclusive('\n') {
        let chars: Vec<char> = line.chars().collect();
        let mut in_string = false;
        let mut escaped = false;
        let mut in_comment = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' && !in_string && !in_comment {
                let after_digit = chars[..i]
                    .iter()
                    .rev()
                    .find(|c| **c != ' ')
                    .is_some_and(char::is_ascii_digit);
                let before_upper = chars[i..]
                    .iter()
                    .find(|c| **c != ' ')
                    .is_some_and(char::is_ascii_uppercase);
                let choice = next.next().copied().unwrap_or(0);
                match (choice % 4, after_digit && before_upper) {
                    (0, _) => out.push(' '),
                    (1, _) | (_, true) => out.push_str("   "),
                    (2, _) => out.push('\t'),
                    _ => out.push_str(" \t "),
                }
                continue;
            }
            match c {
                _ if in_comment => {}
                _ if escaped => escaped = false,
                '\\' if in_string => escaped = true,
                '"' => in_string = !in_string,
                '#' if !in_string => in_comment = true,
                _ => {}
            }
            out.push(c);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn horizontal_spacing_never_matters(
        file in 0usize..64,
        choices in prop::collection::vec(any::<u8>(), 1..64),
    ) {
        let files = ordo_files();
        let path = &files[file % files.len()];
        let text = read(path);
        if let Ok(canonical) = format_source(&text) {
            let respaced = respace(&text, &choices);
            let formatted = format_source(&respaced);
            prop_assert_eq!(formatted.as_ref().ok(), Some(&canonical), "{}:\n{}", path.display(), respaced);
        }
    }
}
