//! `ordo fmt`: one canonical layout for `.ordo` files (SPEC §7.3, the rules in
//! `docs/formatting.md`). Comments are kept, formatting is idempotent, and the
//! formatted text parses to the same tree: [`format_source`] checks that
//! before it returns, so a formatter bug can never rewrite a file's meaning.

mod blocks;
mod comments;
mod decls;
mod expr;
mod paths;
mod printer;
mod verify;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use paths::{format_paths, FmtError, FmtOutcome};

use crate::diagnostic::Diagnostic;
use crate::span::FileId;
use crate::syntax::parse_module;

/// Formats one `.ordo` text. A text that does not parse gives back the
/// parser's diagnostic, unchanged (its spans are in `FileId(0)`).
pub fn format_source(text: &str) -> Result<String, Diagnostic> {
    format_file(FileId(0), text)
}

/// [`format_source`] for a file with a given id, so diagnostics point into
/// the caller's source table.
pub(crate) fn format_file(file: FileId, text: &str) -> Result<String, Diagnostic> {
    let module = parse_module(file, text)?;
    verify::depth_within_limit(&module)?;
    let comments = comments::scan(text);
    let mut printer = printer::Printer::new(text, &comments);
    printer.module(&module);
    let formatted = printer.finish();
    verify::same_meaning(file, &module, &comments, &formatted)?;
    Ok(formatted)
}

/// The printer's output without the safety net, to debug the printer.
#[cfg(test)]
pub(crate) fn format_unchecked(text: &str) -> String {
    let module = parse_module(FileId(0), text).unwrap_or_default();
    let comments = comments::scan(text);
    let mut printer = printer::Printer::new(text, &comments);
    printer.module(&module);
    printer.finish()
}
