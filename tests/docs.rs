//! The user documentation stands alone: `README.md` and `docs/*.md` cite no
//! section of SPEC.md (a file users do not have), not even
//! `docs/deviations.md`, which records where ordo differs from it, and
//! every relative link in them leads to a file that exists and, when it
//! names one, to a heading of that file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The pages users read: the README and every page of `docs/`.
fn pages() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ is readable")
        .map(|e| e.expect("a docs/ entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn name(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The page's lines outside fenced code blocks, with their numbers.
fn outside_fences(text: &str) -> Vec<(usize, &str)> {
    let mut fenced = false;
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            lines.push((i + 1, line));
        }
    }
    lines
}

/// The page's prose: its lines outside fenced code blocks, inline code
/// removed (a link or a citation shown as code is an example).
fn prose(text: &str) -> Vec<(usize, String)> {
    outside_fences(text)
        .into_iter()
        .map(|(n, line)| (n, without_code_spans(line)))
        .collect()
}

fn without_code_spans(line: &str) -> String {
    line.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(_, part)| part)
        .collect::<Vec<_>>()
        .join("")
}

/// GitHub's anchor for a heading: lower case, punctuation (backticks too)
/// dropped, spaces as hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> BTreeSet<String> {
    outside_fences(text)
        .into_iter()
        .filter(|(_, line)| line.starts_with('#'))
        .map(|(_, line)| anchor(line.trim_start_matches('#')))
        .collect()
}

/// The targets of the `[text](target)` links of a line.
fn link_targets(line: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        match after.find(')') {
            Some(end) => {
                targets.push(after[..end].trim().to_string());
                rest = &after[end..];
            }
            None => break,
        }
    }
    targets
}

#[test]
fn no_page_cites_spec_sections() {
    let mut found = Vec::new();
    for page in pages() {
        // A citation may be broken over two lines: `SPEC\n§4`.
        let text = read(&page).split_whitespace().collect::<Vec<_>>().join(" ");
        let count = text.matches("SPEC §").count();
        if count > 0 {
            found.push(format!("{}: {count} × \"SPEC §\"", name(&page)));
        }
    }
    assert!(
        found.is_empty(),
        "users have no SPEC.md: link to the project's own page and state the rule instead\n{}",
        found.join("\n")
    );
}

#[test]
fn every_relative_link_leads_to_a_file_and_heading_that_exist() {
    let mut broken = Vec::new();
    for page in pages() {
        let text = read(&page);
        let folder = page.parent().expect("a page is in a folder");
        for (line, prose) in prose(&text) {
            for target in link_targets(&prose) {
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let (file, heading) = match target.split_once('#') {
                    Some((file, heading)) => (file, Some(heading)),
                    None => (target.as_str(), None),
                };
                let linked = if file.is_empty() {
                    page.clone()
                } else {
                    folder.join(file)
                };
                let at = format!("{}:{line}: ({target})", name(&page));
                if !linked.exists() {
                    broken.push(format!("{at}: no file {}", name(&linked)));
                    continue;
                }
                let Some(heading) = heading else { continue };
                if linked.extension().is_some_and(|x| x == "md")
                    && !anchors(&read(&linked)).contains(heading)
                {
                    broken.push(format!("{at}: no heading #{heading} in {}", name(&linked)));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_readme_links_every_page_of_the_docs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = read(&root.join("README.md"));
    let missing: Vec<String> = pages()
        .iter()
        .filter(|p| !p.ends_with("README.md"))
        .map(|p| name(p))
        .filter(|page| !readme.contains(&format!("]({page})")))
        .collect();
    assert!(
        missing.is_empty(),
        "the README's docs index does not link {}",
        missing.join(", ")
    );
}

#[test]
fn anchors_are_github_s() {
    assert_eq!(anchor(" Plans and quotes"), "plans-and-quotes");
    assert_eq!(anchor(" The `simulate` options"), "the-simulate-options");
    assert_eq!(
        anchor(" Exit statuses (all commands)"),
        "exit-statuses-all-commands"
    );
    assert_eq!(
        link_targets("see [a](docs/a.md#x) and [b](b.md)"),
        ["docs/a.md#x", "b.md"]
    );
}

/// What the binary prints cites no SPEC section either: the help of
/// `--format`, the help of an order that is not YAML, the help of a catalog
/// test naming no code.
#[test]
fn the_binary_cites_no_spec_section() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("a temporary folder");
    let catalog = dir.path().join("catalog");
    std::fs::create_dir_all(catalog.join("tests")).expect("the catalog's tests folder");
    for entry in std::fs::read_dir(root.join("catalog")).expect("catalog/ is readable") {
        let path = entry.expect("a catalog/ entry").path();
        if path.extension().is_some_and(|x| x == "ordo") {
            std::fs::copy(&path, catalog.join(path.file_name().expect("a name")))
                .expect("a catalog file copied");
        }
    }
    let order = dir.path().join("broken.yaml");
    std::fs::write(&order, "id: [unclosed\n").expect("the order written");
    std::fs::write(
        catalog.join("tests/no-code.yaml"),
        "order: ../../broken.yaml\nexpect: { error: nothing_like_a_code }\n",
    )
    .expect("the test written");
    let run = |args: &[&std::ffi::OsStr]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ordo"))
            .args(args)
            .env("NO_COLOR", "1")
            .env("COLUMNS", "400")
            .output()
            .expect("ordo runs");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let catalog_flag = [std::ffi::OsStr::new("--catalog"), catalog.as_os_str()];
    let outputs = [
        run(&["check".as_ref(), "--help".as_ref()]),
        run(&[&["plan".as_ref()], &catalog_flag[..], &[order.as_os_str()]].concat()),
        run(&[&["test".as_ref()], &catalog_flag[..]].concat()),
    ];
    assert!(outputs[1].contains("docs/orders.md"), "{}", outputs[1]);
    assert!(outputs[2].contains("docs/cli.md"), "{}", outputs[2]);
    for output in &outputs {
        assert!(!output.contains("SPEC"), "{output}");
    }
}
