//! The human format: miette's graphical report, one per diagnostic.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan};

use super::sanitize::sanitize;
use super::snippet::FileView;
use super::{summary, Location, RenderOptions};
use crate::diagnostic::{Diagnostic, Diagnostics, Severity};
use crate::source::Sources;

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
    // One view per file that a diagnostic points into, shared by all of them.
    let mut views: Vec<Option<FileView>> = sources.files().map(|_| None).collect();
    for span in diags.list.iter().filter_map(|d| d.span) {
        views[span.file.0 as usize].get_or_insert_with(|| FileView::new(sources.get(span.file)));
    }
    let mut out = String::new();
    for diag in &diags.list {
        let view = diag.span.and_then(|s| views[s.file.0 as usize].as_ref());
        let report = Report::new(diag, sources, view);
        if handler.render_report(&mut out, &report).is_err() {
            // miette gives up only on a broken writer or span; say it plainly.
            out.push_str(&format!("{}: {}\n", diag.code, report.message));
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

/// One [`Diagnostic`] as miette sees it, its texts made safe to print.
/// Labels in the primary span's file are drawn on its snippet; labels in
/// other files (miette shows one source per report), and labels on a line
/// too long to show whole, become lines of the help text, such as
/// "first declared at catalog/a.ordo:3:9".
struct Report<'a> {
    diag: &'a Diagnostic,
    message: String,
    source: Option<&'a FileView<'a>>,
    labels: Vec<LabeledSpan>,
    help: Option<String>,
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Report").field("diag", self.diag).finish()
    }
}

impl<'a> Report<'a> {
    fn new(diag: &'a Diagnostic, sources: &Sources, view: Option<&'a FileView<'a>>) -> Report<'a> {
        let mut labels = Vec::new();
        let mut notes: Vec<String> = diag.help.iter().map(|h| safe(h)).collect();
        if let (Some(span), Some(view)) = (diag.span, view) {
            labels.push(LabeledSpan::new_primary_with_span(
                non_empty(&diag.label),
                view.clip(span),
            ));
        }
        for related in &diag.related {
            let drawn = view.filter(|v| {
                diag.span.is_some_and(|home| {
                    home.file == related.span.file
                        && !v.on_long_line(home)
                        && !v.on_long_line(related.span)
                })
            });
            match drawn {
                Some(view) => labels.push(LabeledSpan::new_with_span(
                    non_empty(&related.text),
                    view.clip(related.span),
                )),
                None => notes.push(safe(&elsewhere(
                    &related.text,
                    &Location::of(related.span, sources),
                ))),
            }
        }
        Report {
            diag,
            message: safe(&diag.message),
            source: view,
            labels,
            help: (!notes.is_empty()).then(|| notes.join("\n")),
        }
    }
}

fn safe(text: &str) -> String {
    sanitize(text).into_owned()
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
    (!text.is_empty()).then(|| safe(text))
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
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
        self.source.map(|s| s as &dyn miette::SourceCode)
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

    #[test]
    fn a_label_past_column_65535_is_drawn_in_a_window_of_its_line() {
        let line = format!("{{\"items\": [{}\"bad\"]}}", "1, ".repeat(40_000));
        let at = line.find("\"bad\"").unwrap();
        let mut s = Sources::new();
        s.add(SourceFile::new("order.json", line.as_str()));
        let d = Diagnostic::error(Code::OrderSyntax, "not a number")
            .at(Span::new(FileId(0), at, at + 5), "this")
            .with_related(Span::new(FileId(0), 1, 8), "the list");
        let out = human(vec![d], &s);
        assert!(
            out.contains(&format!("╭─[order.json:1:{}]", at + 1)),
            "{out}"
        );
        assert!(out.contains("1, 1, \"bad\"]}"), "{out}");
        assert!(out.contains("╰── this"), "{out}");
        // The other label is far along the same line: a note, not a 65 KB gap.
        assert!(out.contains("help: the list (at order.json:1:2)"), "{out}");
        assert!(out.len() < 2_000, "{} bytes", out.len());
    }

    #[test]
    fn many_diagnostics_in_one_file_cost_what_each_shows() {
        let n = 4_000;
        let line = "x, ".repeat(n);
        let text = format!("{line}\n{}", "y\n".repeat(n));
        let mut s = Sources::new();
        let f = s.add(SourceFile::new("big.yaml", text.as_str()));
        let mut list = Vec::new();
        for i in 0..n {
            list.push(
                Diagnostic::error(Code::OrderSyntax, "x").at(Span::new(f, i * 3, i * 3 + 1), "x"),
            );
            let y = line.len() + 1 + i * 2;
            list.push(Diagnostic::error(Code::OrderSyntax, "y").at(Span::new(f, y, y + 1), "y"));
        }
        let out = human(list, &s);
        assert!(out.ends_with("error: 8000 errors\n"));
        // Linear: neither the text before a diagnostic nor its whole line is
        // walked or printed for each one.
        assert!(out.len() < 2 * n * 600, "{} bytes", out.len());
        let walked = s.get(f).bytes_walked();
        assert!(walked < 2 * n * 6 * 256, "{walked} bytes walked");
    }

    #[test]
    fn terminal_escapes_in_messages_labels_help_and_source_are_shown_not_sent() {
        let mut s = Sources::new();
        s.add(SourceFile::new(
            "o.yaml",
            "name: \"\x1b]0;pwned\x07\x1b[2J\"\n",
        ));
        let d = Diagnostic::error(Code::OrderAttribute, "bad value `\x1b[31mred`")
            .at(Span::new(FileId(0), 6, 20), "\x1b[1mhere")
            .with_help("not \u{9b}this");
        let out = human(vec![d], &s);
        assert!(
            !out.contains('\x1b') && !out.contains('\x07') && !out.contains('\u{9b}'),
            "{out:?}"
        );
        assert!(out.contains("bad value `\\u{1b}[31mred`"), "{out}");
        assert!(out.contains("\\u{1b}[1mhere"), "{out}");
        assert!(out.contains("help: not \\u{9b}this"), "{out}");
        assert!(out.contains("name: \"?]0;pwned??[2J\""), "{out}");
    }
}
