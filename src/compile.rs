//! The front end in one call: sources → parsed modules → analysed catalog.

use crate::diagnostic::Diagnostics;
use crate::model::{analyze, Catalog};
use crate::source::Sources;
use crate::syntax::parse_module_recovering;

/// Parses every file and, when all parse, analyses them together. A file that
/// does not parse stops analysis (its names would be missing, and every use
/// of them would be reported as unknown), but every syntax error of every
/// file is reported: each broken declaration has its own.
pub fn compile(sources: &Sources) -> (Option<Catalog>, Diagnostics) {
    let mut diags = Diagnostics::new();
    let mut modules = Vec::new();
    for (id, file) in sources.files() {
        let (module, errors) = parse_module_recovering(id, &file.text);
        diags.extend(errors);
        modules.push((id, module));
    }
    if diags.has_errors() {
        return (None, diags);
    }
    let (catalog, analysis) = analyze(sources, &modules);
    diags.extend(analysis);
    (catalog, diags)
}
