//! The JSON format of SPEC §7.1. Field order is the spec's: the structs below
//! fix it, and `serde_json`'s `preserve_order` keeps it.

use serde::Serialize;

use super::Location;
use crate::diagnostic::{Diagnostic, Diagnostics, Severity};
use crate::source::Sources;
use crate::span::Span;

#[derive(Serialize)]
struct Report<'a> {
    diagnostics: Vec<Entry<'a>>,
    errors: usize,
    warnings: usize,
}

#[derive(Serialize)]
struct Entry<'a> {
    severity: Severity,
    code: &'static str,
    message: &'a str,
    file: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
    #[serde(rename = "endLine")]
    end_line: Option<usize>,
    #[serde(rename = "endColumn")]
    end_column: Option<usize>,
    help: Option<&'a str>,
}

impl<'a> Entry<'a> {
    fn new(d: &'a Diagnostic, sources: &Sources) -> Entry<'a> {
        let loc = d.span.map(|s| Location::of(s, sources));
        let end = d.span.map(|s| end_of(s, sources));
        Entry {
            severity: d.severity,
            code: d.code.as_str(),
            message: &d.message,
            line: loc.as_ref().map(|l| l.line),
            column: loc.as_ref().map(|l| l.column),
            file: loc.map(|l| l.file),
            end_line: end.map(|e| e.0),
            end_column: end.map(|e| e.1),
            help: d.help.as_deref(),
        }
    }
}

/// Line and column where a span ends: of the position just after its last
/// character, so an empty span starts and ends at one place.
pub(super) fn end_of(span: Span, sources: &Sources) -> (usize, usize) {
    sources.get(span.file).line_column(span.end())
}

pub(super) fn render(diags: &Diagnostics, sources: &Sources) -> String {
    let report = Report {
        diagnostics: diags.list.iter().map(|d| Entry::new(d, sources)).collect(),
        errors: diags.errors(),
        warnings: diags.warnings(),
    };
    let mut out = serde_json::to_string_pretty(&report).expect("plain structs always serialize");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::super::test_support::*;
    use super::super::{render, Format, RenderOptions};
    use crate::diagnostic::{Code, Diagnostic};
    use crate::source::{SourceFile, Sources};
    use crate::span::{FileId, Span};

    fn json(list: Vec<Diagnostic>, sources: &Sources) -> String {
        render(
            &diags(list),
            sources,
            Format::Json,
            &RenderOptions::default(),
        )
    }

    #[test]
    fn matches_the_spec_shape_and_key_order() {
        let out = json(vec![unknown_type()], &sources());
        let expected = r#"{
  "diagnostics": [
    {
      "severity": "error",
      "code": "ordo::unknown_type",
      "message": "unknown type `Sped`",
      "file": "catalog/a.ordo",
      "line": 2,
      "column": 15,
      "endLine": 2,
      "endColumn": 19,
      "help": "did you mean `Speed`?"
    }
  ],
  "errors": 1,
  "warnings": 0
}
"#;
        assert_eq!(out, expected);
    }

    #[test]
    fn no_span_and_no_help_are_null() {
        let d = Diagnostic::warning(Code::Currency, "two currencies\nEUR and USD");
        let v: Value = serde_json::from_str(&json(vec![d], &sources())).unwrap();
        assert_eq!(
            v,
            json!({ "diagnostics": [ { "severity": "warning", "code": "ordo::currency",
                "message": "two currencies\nEUR and USD", "file": null, "line": null,
                "column": null, "endLine": null, "endColumn": null, "help": null } ], "errors": 0, "warnings": 1 })
        );
    }

    #[test]
    fn empty_is_a_full_object() {
        let v: Value = serde_json::from_str(&json(vec![], &sources())).unwrap();
        assert_eq!(v, json!({ "diagnostics": [], "errors": 0, "warnings": 0 }));
    }

    #[test]
    fn columns_count_characters_and_end_of_file_is_a_position() {
        let mut s = Sources::new();
        s.add(SourceFile::new("é.ordo", "#\nproduct café {"));
        let d =
            Diagnostic::error(Code::Syntax, "expected `}`").at(Span::new(FileId(0), 17, 17), "");
        let v: Value = serde_json::from_str(&json(vec![d], &s)).unwrap();
        let entry = &v["diagnostics"][0];
        assert_eq!(entry["file"], "é.ordo");
        assert_eq!(
            (entry["line"].as_u64(), entry["column"].as_u64()),
            (Some(2), Some(15))
        );
        assert_eq!(
            (entry["endLine"].as_u64(), entry["endColumn"].as_u64()),
            (Some(2), Some(15))
        );
    }
}
