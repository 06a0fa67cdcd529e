//! The human format: miette's graphical report, one per diagnostic.

use std::fmt;
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};

use super::{summary, Location, RenderOptions};
use crate::diagnostic::{Diagnostic, Diagnostics, Severity};
use crate::source::Sources;
use crate::span::Span;

pub(super) fn render(diags: &Diagnostics, sources: &Sources, opts: &RenderOptions) -> String {
    let Some(summary) = summary(diags) else {
        return String::new();
    };
    let theme = if opts.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(opts.width)
        .with_links(false)
        .without_syntax_highlighting();
    // Each file's text is shared by every report that shows it.
    let mut texts: Vec<Option<Arc<str>>> = vec![None; sources.files().count()];
    let mut out = String::new();
    for diag in &diags.list {
        let report = Report::new(diag, sources, &mut texts);
        if handler.render_report(&mut out, &report).is_err() {
            // miette gives up only on a broken writer or span; say it plainly.
            out.push_str(&format!("{}: {}\n", diag.code, diag.message));
        }
        out.push('\n');
    }
    out.push_str(&paint(&summary, diags.has_errors(), opts.color));
    out.push('\n');
    out
}

fn paint(summary: &str, error: bool, color: bool) -> String {
    if !color {
        return summary.to_string();
    }
    let (head, rest) = summary.split_once(':').unwrap_or((summary, ""));
    let style = if error { "1;31" } else { "1;33" };
    format!("\x1b[{style}m{head}\x1b[0m:{rest}")
}

/// One [`Diagnostic`] as miette sees it. Labels in the primary span's file are
/// drawn on its snippet; labels in other files (miette shows one source per
/// report) become lines of the help text, such as
/// "first declared at catalog/a.ordo:3:9".
#[derive(Debug)]
struct Report<'a> {
    diag: &'a Diagnostic,
    source: Option<NamedSource<Arc<str>>>,
    labels: Vec<LabeledSpan>,
    help: Option<String>,
}

impl<'a> Report<'a> {
    fn new(diag: &'a Diagnostic, sources: &Sources, texts: &mut [Option<Arc<str>>]) -> Report<'a> {
        let home = diag.span.map(|s| s.file);
        let mut labels = Vec::new();
        let mut notes: Vec<String> = diag.help.iter().cloned().collect();
        if let Some(span) = diag.span {
            let text = non_empty(&diag.label);
            labels.push(LabeledSpan::new_primary_with_span(
                text,
                clamp(span, sources),
            ));
        }
        for related in &diag.related {
            if Some(related.span.file) == home {
                let text = non_empty(&related.text);
                labels.push(LabeledSpan::new_with_span(
                    text,
                    clamp(related.span, sources),
                ));
            } else {
                notes.push(elsewhere(
                    &related.text,
                    &Location::of(related.span, sources),
                ));
            }
        }
        let source = home.map(|file| {
            let full = &sources.get(file).text;
            let text = if labels.iter().any(|l| l.offset() == full.len()) {
                // miette draws no label at the very end of the text (where
                // "found end of file" points); one trailing space gives it a
                // place to stand and changes nothing else on screen.
                Arc::from(format!("{full} "))
            } else {
                let shared = texts[file.0 as usize].get_or_insert_with(|| Arc::from(full.as_str()));
                Arc::clone(shared)
            };
            NamedSource::new(sources.get(file).display_path(), text)
        });
        Report {
            diag,
            source,
            labels,
            help: (!notes.is_empty()).then(|| notes.join("\n")),
        }
    }
}

/// "first declared here" in another file reads "first declared at F:L:C".
fn elsewhere(text: &str, loc: &Location) -> String {
    if let Some(stem) = text.strip_suffix(" here") {
        format!("{stem} at {loc}")
    } else if text.is_empty() {
        format!("see {loc}")
    } else {
        format!("{text} (at {loc})")
    }
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

/// A span cut to its file's text: miette refuses to draw a span that runs
/// past the end, and a diagnostic should never be lost to that.
fn clamp(span: Span, sources: &Sources) -> miette::SourceSpan {
    let len = sources.get(span.file).text.len();
    let start = (span.start as usize).min(len);
    let end = span.end().clamp(start, len);
    (start, end - start).into()
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.diag.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.labels.iter().cloned()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{render, Format, RenderOptions};
    use crate::diagnostic::{Code, Diagnostic};
    use crate::source::{SourceFile, Sources};
    use crate::span::{FileId, Span};

    fn human(list: Vec<Diagnostic>, sources: &Sources) -> String {
        render(
            &diags(list),
            sources,
            Format::Human,
            &RenderOptions::default(),
        )
    }

    #[test]
    fn renders_snippet_label_help_and_summary() {
        let out = human(vec![unknown_type()], &sources());
        let expected = "\
ordo::unknown_type

  × unknown type `Sped`
   ╭─[catalog/a.ordo:2:15]
 1 │ product Broadband {
 2 │   attr speed: Sped
   ·               ──┬─
   ·                 ╰── not a declared type
 3 │ }
   ╰────
  help: did you mean `Speed`?

error: 1 error
";
        assert_eq!(out, expected);
    }

    #[test]
    fn empty_diagnostics_render_nothing() {
        assert_eq!(human(vec![], &sources()), "");
    }

    #[test]
    fn colour_is_off_unless_asked_for() {
        let plain = human(vec![unknown_type()], &sources());
        assert!(!plain.contains('\x1b'));
        let opts = RenderOptions {
            color: true,
            width: 80,
        };
        let coloured = render(
            &diags(vec![unknown_type()]),
            &sources(),
            Format::Human,
            &opts,
        );
        assert!(coloured.contains('\x1b'));
    }

    #[test]
    fn related_label_in_same_file_is_drawn_and_other_file_becomes_a_note() {
        let d = Diagnostic::error(Code::Duplicate, "product `Broadband` is declared twice")
            .at(Span::new(FileId(1), 28, 37), "declared again here")
            .with_related(Span::new(FileId(0), 8, 17), "first declared here")
            .with_related(Span::new(FileId(1), 5, 10), "an enum here");
        let out = human(vec![d], &sources());
        assert!(out.contains("╭─[catalog/b.ordo:2:9]"), "{out}");
        assert!(out.contains("declared again here"), "{out}");
        assert!(out.contains("an enum here"), "{out}");
        assert!(
            out.contains("help: first declared at catalog/a.ordo:1:9"),
            "{out}"
        );
    }

    #[test]
    fn no_span_means_no_snippet() {
        let d = Diagnostic::error(Code::Currency, "prices in EUR and USD")
            .with_help("use one currency");
        let out = human(vec![d], &sources());
        assert!(out.contains("× prices in EUR and USD"), "{out}");
        assert!(!out.contains('╭'), "{out}");
        assert!(out.contains("help: use one currency"), "{out}");
    }

    #[test]
    fn multi_line_message_keeps_its_lines() {
        let d = Diagnostic::error(
            Code::Cycle,
            "tasks depend on each other in a cycle:\na -> b -> a",
        )
        .at(Span::new(FileId(0), 0, 7), "here");
        let out = human(vec![d], &sources());
        assert!(
            out.contains("× tasks depend on each other in a cycle:\n"),
            "{out}"
        );
        assert!(out.contains("a -> b -> a"), "{out}");
    }

    #[test]
    fn zero_length_span_at_end_of_file_is_drawn() {
        let mut s = Sources::new();
        s.add(SourceFile::new("catalog/c.ordo", "product X {"));
        let d = Diagnostic::error(Code::Syntax, "expected `}`, found end of file")
            .at(Span::new(FileId(0), 11, 11), "expected `}`");
        let out = human(vec![d], &s);
        // The trailing space is the padding miette needs to draw the label.
        let expected = "\
ordo::syntax

  × expected `}`, found end of file
   ╭─[catalog/c.ordo:1:12]
 1 │ product X {\u{20}
   ·            ▲
   ·            ╰── expected `}`
   ╰────

error: 1 error
";
        assert_eq!(out, expected);
    }

    #[test]
    fn zero_length_span_after_the_last_newline_is_drawn() {
        let mut s = Sources::new();
        s.add(SourceFile::new("catalog/c.ordo", "product X {\n"));
        let d = Diagnostic::error(Code::Syntax, "expected `}`, found end of file")
            .at(Span::new(FileId(0), 12, 12), "expected `}`");
        let out = human(vec![d], &s);
        assert!(out.contains("╭─[catalog/c.ordo:2:1]"), "{out}");
        assert!(
            out.contains(" 2 │  \n   · ▲\n   · ╰── expected `}`\n"),
            "{out}"
        );
    }

    #[test]
    fn zero_length_span_inside_a_line_is_a_point() {
        let d = Diagnostic::error(Code::Syntax, "expected `:`")
            .at(Span::new(FileId(0), 30, 30), "here");
        let out = human(vec![d], &sources());
        assert!(out.contains("╭─[catalog/a.ordo:2:11]"), "{out}");
        assert!(out.contains("   ·           ▲\n"), "{out}");
    }

    #[test]
    fn span_past_the_end_is_clamped_not_lost() {
        let d = Diagnostic::error(Code::Syntax, "broken").at(Span::new(FileId(0), 30, 500), "here");
        let out = human(vec![d], &sources());
        assert!(out.contains("× broken"), "{out}");
        assert!(!out.contains("Failed to read"), "{out}");
    }

    #[test]
    fn warnings_only_close_with_a_warning_line() {
        let d = Diagnostic::warning(Code::Invalid, "unused action")
            .at(Span::new(FileId(1), 0, 4), "never called");
        let out = human(vec![d], &sources());
        assert!(out.contains("⚠ unused action"), "{out}");
        assert!(out.ends_with("\nwarning: 1 warning\n"), "{out}");
    }
}
