//! `ordo check`: compile the catalog and report every diagnostic.

use super::{compile_catalog, load_catalog_as, print_diagnostics, write_stderr, write_stdout};
use super::{CheckArgs, Exit};
use crate::model::{Catalog, ProductKind};
use crate::render::Format;

pub(crate) fn check(args: &CheckArgs) -> Exit {
    let sources = match load_catalog_as(&args.catalog.path, args.format) {
        Ok(sources) => sources,
        Err(exit) => return exit,
    };
    let compiled = compile_catalog(&sources, &args.deny);
    let (catalog, diags) = (compiled.catalog, compiled.diags);
    // A clean catalog prints nothing in the GitHub format, and the object
    // with zero counts in JSON.
    if !diags.is_empty() || args.format == Format::Json {
        print_diagnostics(&diags, &sources, args.format);
    }
    let Some(catalog) = catalog else {
        return Exit::Failure;
    };
    let line = summary(&catalog);
    match args.format {
        Format::Human => write_stdout(&line),
        Format::Github => write_stderr(&line),
        Format::Json => {}
    }
    // The process ends here: freeing the model (a few allocations per
    // source byte, some 3% of a large catalog's check) gives nothing back
    // that the exit would not.
    std::mem::forget(catalog);
    Exit::Success
}

/// `catalog "Acme" 2026.11 is valid: 4 products, 1 bundle, 31 actions, 40 tasks`.
fn summary(c: &Catalog) -> String {
    let name = match (&c.name, &c.version) {
        (Some(n), Some(v)) => format!("catalog \"{n}\" {v}"),
        (Some(n), None) => format!("catalog \"{n}\""),
        _ => "the catalog".to_string(),
    };
    let n = |count: usize, noun: &str| crate::plan::render::count(count, noun);
    format!(
        "{name} is valid: {}, {}, {}, {}\n",
        n(c.count(ProductKind::Product), "product"),
        n(c.count(ProductKind::Bundle), "bundle"),
        n(c.actions.len(), "action"),
        n(c.task_count(), "task")
    )
}
