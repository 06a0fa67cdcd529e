//! Strict JSON for `.json` files: serde_json says whether the text is JSON
//! and where it is not; the tree itself is built by the YAML reader, which
//! knows where every value is.

use super::{Limits, YamlError};
use crate::source::SourceFile;
use crate::span::{FileId, Span};

/// What is wrong at byte `at`, in words for the things YAML allows and JSON
/// does not; serde_json's own message (without its position) otherwise.
fn json_problem(e: &serde_json::Error, text: &str, at: usize) -> String {
    let rest = &text[at..];
    let before = text[..at].trim_end();
    if before.ends_with(',') && (rest.starts_with('}') || rest.starts_with(']')) {
        return "a trailing comma".into();
    }
    if rest.starts_with('\'') {
        return "a string in single quotes: JSON strings and keys are in double quotes".into();
    }
    if rest.starts_with("//") || rest.starts_with("/*") || rest.starts_with('#') {
        return "a comment: JSON has none".into();
    }
    let key_expected = e.to_string().starts_with("key must be a string");
    if key_expected && rest.starts_with(|c: char| c.is_alphabetic() || c == '_') {
        return "a key without double quotes".into();
    }
    let text = e.to_string();
    match text.rsplit_once(" at line ") {
        Some((m, _)) => m.to_string(),
        None => text,
    }
}

/// Refuses what YAML would take but JSON does not (single quotes, trailing
/// commas, comments, unquoted keys), with serde_json's message at its
/// position. The tree itself is still built by the YAML reader, which
/// knows where every value is.
pub(super) fn strict_json(
    file: FileId,
    source: &SourceFile,
    limits: &Limits,
) -> Result<(), YamlError> {
    // RFC 8259 lets a reader ignore a byte order mark; editors write one.
    let text = source.text.strip_prefix('\u{feff}');
    let bom = if text.is_some() {
        '\u{feff}'.len_utf8()
    } else {
        0
    };
    let text = text.unwrap_or(&source.text);
    let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) else {
        return Ok(());
    };
    let line = e.line().saturating_sub(1);
    let (start, end) = source.line_range(line);
    // serde_json counts columns in bytes, from 1, in the text after the mark.
    let column = e.column().saturating_sub(1) + if line == 0 { bom } else { 0 };
    let mut at = (start + column).min(end.max(start));
    while !source.text.is_char_boundary(at) {
        at -= 1;
    }
    let limit = e.to_string().starts_with("recursion limit exceeded");
    let message = if limit {
        limits.too_deep()
    } else {
        format!(
            "{} (a `.json` file is read as strict JSON)",
            json_problem(&e, &source.text, at)
        )
    };
    let next = source.text[at..].chars().next().map_or(0, char::len_utf8);
    Err(YamlError {
        message,
        span: Span::new(file, at, at + next),
        limit,
    })
}
