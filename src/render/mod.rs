//! Rendering of [`Diagnostics`] for people and machines: miette's graphical
//! report (human), the JSON object of SPEC §7.1, and GitHub workflow commands.
//!
//! Rendering is pure: it returns a `String` and leaves the choice of stream,
//! colour and width to the caller (the CLI decides them from the terminal and
//! `NO_COLOR`).

mod github;
mod human;
mod json;
mod sanitize;
mod snippet;

pub use sanitize::{sanitize, sanitize_line};

use crate::diagnostic::Diagnostics;
use crate::source::Sources;
use crate::span::Span;

/// An output format for diagnostics (`--format` of `ordo check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// A report with source snippets, labels and help (miette's graphical report).
    #[default]
    Human,
    /// One JSON object with every diagnostic and the counts (docs/cli.md).
    Json,
    /// GitHub Actions annotations, one workflow command per line.
    Github,
}

/// How the human format looks. The JSON and GitHub formats ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderOptions {
    /// ANSI colours on or off.
    pub color: bool,
    /// Width in columns that text is wrapped to.
    pub width: usize,
}

impl Default for RenderOptions {
    /// No colour, 80 columns: the stable rendering tests compare against.
    fn default() -> Self {
        RenderOptions {
            color: false,
            width: 80,
        }
    }
}

/// Renders every diagnostic in `diags`, whose spans point into `sources`.
///
/// - human: one report per diagnostic, then a closing line such as
///   `error: 3 errors, 1 warning`; the empty string when there is nothing.
/// - json: always the full §7.1 object (with an empty list when clean).
/// - github: one line per diagnostic; the empty string when there is nothing.
///
/// Non-empty output ends with a newline.
pub fn render(
    diags: &Diagnostics,
    sources: &Sources,
    format: Format,
    opts: &RenderOptions,
) -> String {
    match format {
        Format::Human => human::render(diags, sources, opts),
        Format::Json => json::render(diags, sources),
        Format::Github => github::render(diags, sources),
    }
}

/// The closing line of the human format: `error: 2 errors, 1 warning`,
/// `warning: 1 warning`, or `None` when there are no diagnostics.
pub fn summary(diags: &Diagnostics) -> Option<String> {
    let (errors, warnings) = (diags.errors(), diags.warnings());
    let counts = match (errors, warnings) {
        (0, 0) => return None,
        (e, 0) => plural(e, "error"),
        (0, w) => plural(w, "warning"),
        (e, w) => format!("{}, {}", plural(e, "error"), plural(w, "warning")),
    };
    let head = if errors > 0 { "error" } else { "warning" };
    Some(format!("{head}: {counts}"))
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A span as users count: file path, 1-based line, 1-based column in characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl Location {
    pub fn of(span: Span, sources: &Sources) -> Location {
        let file = sources.get(span.file);
        let (line, column) = file.line_column(span.start as usize);
        Location {
            file: file.display_path(),
            line,
            column,
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use crate::diagnostic::{Code, Diagnostic, Diagnostics};
    use crate::source::{SourceFile, Sources};
    use crate::span::{FileId, Span};

    /// Two files: `catalog/a.ordo` and `catalog/b.ordo`.
    pub fn sources() -> Sources {
        let mut s = Sources::new();
        s.add(SourceFile::new(
            "catalog/a.ordo",
            "product Broadband {\n  attr speed: Sped\n}\n",
        ));
        s.add(SourceFile::new(
            "catalog/b.ordo",
            "enum Speed { \"1G\" }\nproduct Broadband {}",
        ));
        s
    }

    /// `Sped` in a.ordo, line 2, column 15.
    pub fn unknown_type() -> Diagnostic {
        Diagnostic::error(Code::UnknownType, "unknown type `Sped`")
            .at(Span::new(FileId(0), 34, 38), "not a declared type")
            .with_help("did you mean `Speed`?")
    }

    pub fn diags(list: Vec<Diagnostic>) -> Diagnostics {
        Diagnostics { list }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;
    use crate::diagnostic::{Code, Diagnostic};

    #[test]
    fn summary_counts_with_plurals() {
        assert_eq!(summary(&diags(vec![])), None);
        let w = Diagnostic::warning(Code::Invalid, "w");
        let e = Diagnostic::error(Code::Syntax, "e");
        assert_eq!(
            summary(&diags(vec![e.clone()])).as_deref(),
            Some("error: 1 error")
        );
        assert_eq!(
            summary(&diags(vec![w.clone(), w.clone()])).as_deref(),
            Some("warning: 2 warnings")
        );
        assert_eq!(
            summary(&diags(vec![e.clone(), e.clone(), e, w])).as_deref(),
            Some("error: 3 errors, 1 warning")
        );
    }

    #[test]
    fn location_counts_from_one() {
        let s = sources();
        let loc = Location::of(unknown_type().span.unwrap(), &s);
        assert_eq!(loc.to_string(), "catalog/a.ordo:2:15");
    }
}
