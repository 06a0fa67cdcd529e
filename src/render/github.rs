//! The GitHub format: one workflow command per diagnostic,
//! `::error file=F,line=L,col=C,endLine=L,endColumn=C,title=CODE::MESSAGE`,
//! which GitHub Actions turns into an annotation on the file.
//!
//! Values are escaped as the Actions runner expects (and unescapes): in the
//! message `%`, CR and LF; in properties also `:` and `,`. So the title
//! `ordo::syntax` is written `ordo%3A%3Asyntax` — written plainly, its `::`
//! would end the command early — and GitHub shows it as `ordo::syntax`.

use super::{sanitize, Location};
use crate::diagnostic::{Diagnostic, Diagnostics, Severity};
use crate::source::Sources;

pub(super) fn render(diags: &Diagnostics, sources: &Sources) -> String {
    diags.list.iter().map(|d| line(d, sources) + "\n").collect()
}

fn line(d: &Diagnostic, sources: &Sources) -> String {
    let command = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut properties = Vec::new();
    if let Some(span) = d.span {
        let loc = Location::of(span, sources);
        properties.push(format!("file={}", escape_property(&loc.file)));
        properties.push(format!("line={}", loc.line));
        properties.push(format!("col={}", loc.column));
        let (end_line, end_column) = super::json::end_of(span, sources);
        properties.push(format!("endLine={end_line}"));
        properties.push(format!("endColumn={end_column}"));
    }
    properties.push(format!("title={}", escape_property(d.code.as_str())));
    // Actions logs render terminal escapes too.
    let mut message = sanitize(&d.message).into_owned();
    if let Some(help) = &d.help {
        message.push_str(&format!(" (help: {})", sanitize(help)));
    }
    format!(
        "::{command} {}::{}",
        properties.join(","),
        escape_data(&message)
    )
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{render, Format, RenderOptions};
    use super::*;
    use crate::diagnostic::Code;
    use crate::source::SourceFile;
    use crate::span::{FileId, Span};

    fn github(list: Vec<Diagnostic>, sources: &Sources) -> String {
        render(
            &diags(list),
            sources,
            Format::Github,
            &RenderOptions::default(),
        )
    }

    #[test]
    fn one_line_per_diagnostic_with_help_appended() {
        let w =
            Diagnostic::warning(Code::Invalid, "unused action").at(Span::new(FileId(1), 0, 4), "");
        let out = github(vec![unknown_type(), w], &sources());
        assert_eq!(
            out,
            "::error file=catalog/a.ordo,line=2,col=15,endLine=2,endColumn=19,title=ordo%3A%3Aunknown_type::unknown type `Sped` (help: did you mean `Speed`?)\n\
             ::warning file=catalog/b.ordo,line=1,col=1,endLine=1,endColumn=5,title=ordo%3A%3Ainvalid::unused action\n"
        );
    }

    #[test]
    fn escapes_message_and_properties() {
        assert_eq!(
            escape_data("50% off\r\nnext: a,b"),
            "50%25 off%0D%0Anext: a,b"
        );
        assert_eq!(escape_property("C:\\a,b%.ordo"), "C%3A\\a%2Cb%25.ordo");
    }

    #[test]
    fn multi_line_message_stays_on_one_line() {
        let d = Diagnostic::error(Code::Cycle, "a cycle:\na -> b -> a")
            .at(Span::new(FileId(0), 0, 7), "");
        let out = github(vec![d], &sources());
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.ends_with("::a cycle:%0Aa -> b -> a\n"), "{out}");
    }

    #[test]
    fn path_with_comma_and_no_span() {
        let mut s = Sources::new();
        s.add(SourceFile::new("cat,alog/x.ordo", "product X {"));
        let at_end =
            Diagnostic::error(Code::Syntax, "expected `}`").at(Span::new(FileId(0), 11, 11), "");
        let nowhere = Diagnostic::error(Code::Currency, "two currencies");
        let out = github(vec![at_end, nowhere], &s);
        assert_eq!(
            out,
            "::error file=cat%2Calog/x.ordo,line=1,col=12,endLine=1,endColumn=12,title=ordo%3A%3Asyntax::expected `}`\n\
             ::error title=ordo%3A%3Acurrency::two currencies\n"
        );
    }

    #[test]
    fn empty_renders_nothing() {
        assert_eq!(github(vec![], &sources()), "");
    }
}
