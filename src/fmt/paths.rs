//! Formatting files and folders in place, for `ordo fmt [PATH…] [--check]`.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostics;
use crate::source::{SourceFile, Sources};

/// What formatting did to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FmtOutcome {
    pub path: PathBuf,
    /// The file was not in canonical layout: it has been rewritten, or, with
    /// `check`, would be.
    pub changed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum FmtError {
    #[error("cannot read {}: {source}", .path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {}: {source}", .path.display())]
    Write { path: PathBuf, source: io::Error },
    /// Some files could not be formatted (mostly: they do not parse). No file
    /// was written. `diagnostics` point into `sources`, which holds just
    /// those files, ready to render like `ordo check`'s.
    #[error("{} not formatted; no file was changed", count_files(.sources))]
    Unformattable {
        sources: Sources,
        diagnostics: Diagnostics,
    },
}

fn count_files(sources: &Sources) -> String {
    let paths: Vec<String> = sources.files().map(|(_, f)| f.display_path()).collect();
    match paths.as_slice() {
        [one] => format!("{one} is"),
        many => format!("{} files are", many.len()),
    }
}

/// Formats every `*.ordo` file below each path (a file given by name is
/// formatted whatever its extension; folders are searched recursively, their
/// files in sorted order; a file reached twice counts once). Changed files
/// are written back unless `check`.
///
/// All files are read and formatted before any is written: when one does not
/// parse, the error lists every such file and nothing is written, so a
/// catalog is never left half formatted.
pub fn format_paths(paths: &[PathBuf], check: bool) -> Result<Vec<FmtOutcome>, FmtError> {
    let mut files = Vec::new();
    let mut seen = HashSet::new();
    for path in paths {
        for file in ordo_files(path)? {
            if seen.insert(file.clone()) {
                files.push(file);
            }
        }
    }
    let mut formatted = Vec::with_capacity(files.len());
    let mut failed = Sources::new();
    let mut diagnostics = Diagnostics::new();
    for path in files {
        let text = fs::read_to_string(&path).map_err(|source| FmtError::Read {
            path: path.clone(),
            source,
        })?;
        let file = crate::span::FileId(failed.files().count() as u32);
        match super::format_file(file, &text) {
            Ok(new) => formatted.push((path, text != new, new)),
            Err(d) => {
                failed.add(SourceFile::new(path, text));
                diagnostics.push(d);
            }
        }
    }
    if !diagnostics.is_empty() {
        return Err(FmtError::Unformattable {
            sources: failed,
            diagnostics,
        });
    }
    let mut outcomes = Vec::with_capacity(formatted.len());
    for (path, changed, new) in formatted {
        if changed && !check {
            fs::write(&path, new).map_err(|source| FmtError::Write {
                path: path.clone(),
                source,
            })?;
        }
        outcomes.push(FmtOutcome { path, changed });
    }
    Ok(outcomes)
}

/// The path itself if it is a file, else the `*.ordo` files below it, sorted.
fn ordo_files(path: &Path) -> Result<Vec<PathBuf>, FmtError> {
    let read_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| FmtError::Read { path, source }
    };
    if !fs::metadata(path).map_err(read_error(path))?.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut found = Vec::new();
    // An explicit stack: folder depth is the user's to choose. Links to
    // folders are not followed, so a link cycle cannot trap the walk.
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).map_err(read_error(&dir))? {
            let entry = entry.map_err(read_error(&dir))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(read_error(&path))?;
            if kind.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "ordo") && path.is_file() {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSY: &str = "enum  E {\"a\"}\n";
    const TIDY: &str = "enum E { \"a\" }\n";

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let write = |rel: &str, text: &str| {
            let path = dir.path().join(rel);
            fs::create_dir_all(path.parent().expect("a parent")).expect("folders");
            fs::write(path, text).expect("a file");
        };
        write("b.ordo", MESSY);
        write("a.ordo", TIDY);
        write("sub/c.ordo", MESSY);
        write("notes.txt", MESSY);
        dir
    }

    fn names(outcomes: &[FmtOutcome], root: &Path) -> Vec<(String, bool)> {
        outcomes
            .iter()
            .map(|o| {
                let rel = o.path.strip_prefix(root).unwrap_or(&o.path);
                (rel.to_string_lossy().replace('\\', "/"), o.changed)
            })
            .collect()
    }

    #[test]
    fn check_lists_changes_and_writes_nothing() {
        let dir = tree();
        let root = dir.path();
        let outcomes = format_paths(&[root.to_path_buf()], true).expect("formats");
        let expected = [("a.ordo", false), ("b.ordo", true), ("sub/c.ordo", true)];
        let expected: Vec<(String, bool)> =
            expected.iter().map(|(p, c)| (p.to_string(), *c)).collect();
        assert_eq!(names(&outcomes, root), expected);
        assert_eq!(
            fs::read_to_string(root.join("b.ordo")).ok().as_deref(),
            Some(MESSY)
        );
    }

    #[test]
    fn formatting_writes_changed_files_once() {
        let dir = tree();
        let root = dir.path();
        let paths = [root.join("sub"), root.to_path_buf(), root.join("notes.txt")];
        let outcomes = format_paths(&paths, false).expect("formats");
        let changed: Vec<(String, bool)> = names(&outcomes, root);
        assert_eq!(changed.len(), 4, "{changed:?}");
        assert_eq!(changed[0], ("sub/c.ordo".to_string(), true));
        assert_eq!(changed[3], ("notes.txt".to_string(), true));
        for file in ["a.ordo", "b.ordo", "sub/c.ordo", "notes.txt"] {
            assert_eq!(
                fs::read_to_string(root.join(file)).ok().as_deref(),
                Some(TIDY),
                "{file}"
            );
        }
        let again = format_paths(&[root.to_path_buf()], true).expect("formats");
        assert!(again.iter().all(|o| !o.changed));
    }

    #[test]
    fn a_file_that_does_not_parse_stops_every_write() {
        let dir = tree();
        let root = dir.path();
        fs::write(root.join("sub/bad.ordo"), "product P { attr }").expect("a file");
        let err = format_paths(&[root.to_path_buf()], false).expect_err("a syntax error");
        let FmtError::Unformattable {
            sources,
            diagnostics,
        } = &err
        else {
            panic!("unexpected {err:?}");
        };
        assert_eq!(diagnostics.list.len(), 1);
        let d = &diagnostics.list[0];
        assert_eq!(d.code, crate::diagnostic::Code::Syntax);
        let file = sources.get(d.span.expect("a span").file);
        assert!(file.path.ends_with("sub/bad.ordo"));
        assert!(
            err.to_string()
                .ends_with("bad.ordo is not formatted; no file was changed"),
            "{err}"
        );
        assert_eq!(
            fs::read_to_string(root.join("b.ordo")).ok().as_deref(),
            Some(MESSY)
        );
    }

    #[test]
    fn a_missing_path_is_a_read_error() {
        let dir = tree();
        let err = format_paths(&[dir.path().join("nope")], true).expect_err("no such path");
        assert!(matches!(err, FmtError::Read { .. }), "{err:?}");
    }
}
