//! The front end in one call: sources → parsed modules → analysed catalog.

use crate::diagnostic::Diagnostics;
use crate::model::{analyze, Catalog};
use crate::source::Sources;
use crate::syntax::parse_module;

/// Parses every file and, when all parse, analyses them together. A file that
/// does not parse stops analysis (its names would be missing, and every use
/// of them would be reported as unknown), but every file's syntax error is
/// reported.
pub fn compile(sources: &Sources) -> (Option<Catalog>, Diagnostics) {
    let mut diags = Diagnostics::new();
    let mut modules = Vec::new();
    for (id, file) in sources.files() {
        match parse_module(id, &file.text) {
            Ok(m) => modules.push((id, m)),
            Err(d) => diags.push(d),
        }
    }
    if diags.has_errors() {
        return (None, diags);
    }
    let (catalog, analysis) = analyze(sources, &modules);
    diags.extend(analysis);
    (catalog, diags)
}
