//! `ordo check`: compile the catalog and report every diagnostic.

use super::{load_catalog, print_diagnostics, CheckArgs, Exit};
use crate::diagnostic::Diagnostics;
use crate::source::Sources;
use crate::syntax::{ast::Module, parse_module};

pub(crate) fn check(args: &CheckArgs) -> Exit {
    let sources = match load_catalog(&args.catalog.path) {
        Ok(sources) => sources,
        Err(exit) => return exit,
    };
    let (modules, mut diags) = parse_catalog(&sources);
    // Names in a file that did not parse are missing, so analysing the rest
    // would only add false "unknown …" errors.
    if !diags.has_errors() {
        diags.extend(analyze(&modules));
    }
    diags.sort();
    // A clean catalog prints nothing in the human and GitHub formats, and
    // the object with zero counts in JSON.
    print_diagnostics(&diags, &sources, args.format);
    if diags.has_errors() {
        Exit::Failure
    } else {
        Exit::Success
    }
}

/// Parses every file of the catalog; each file that does not parse gives one
/// `ordo::syntax` diagnostic and no module.
pub(crate) fn parse_catalog(sources: &Sources) -> (Vec<Module>, Diagnostics) {
    let mut modules = Vec::new();
    let mut diags = Diagnostics::new();
    for (id, file) in sources.files() {
        match parse_module(id, &file.text) {
            Ok(module) => modules.push(module),
            Err(d) => diags.push(d),
        }
    }
    (modules, diags)
}

// ─── Plug-in point: semantic analysis ─────────────────────────────────────
// `crate::model::analyze` is being written on another branch. When it lands,
// this function calls it and returns its diagnostics (and `check` may keep
// the catalog it builds). Until then there is no semantic check at all:
// `ordo check` reports syntax errors only.
fn analyze(_modules: &[Module]) -> Diagnostics {
    Diagnostics::new()
}
