//! Analysis: AST modules → a resolved, typed [`Catalog`], with every error a
//! catalog can have reported at once.
//!
//! The passes: collect every declaration (duplicates, names), resolve types
//! and action signatures, then products, bundles and the order block with
//! their expressions, then the dependency graph (stage order, cycles), and
//! last, on a catalog without errors, the warnings.

mod bundles;
mod by_action;
mod collect;
mod flow;
mod graph;
mod installed;
mod nulls;
mod products;
mod scope;
mod tasks;
mod tmf_names;
mod values;
mod warnings;

use std::collections::BTreeMap;

use super::{Catalog, EnumDef};
use crate::diagnostic::Diagnostics;
use crate::source::Sources;
use crate::span::FileId;
use crate::syntax::ast::Module;

pub(crate) use values::value_fits;

/// Analyses parsed modules (one per file) into a catalog. Returns the catalog
/// when there are no errors, and every diagnostic (errors and warnings).
pub fn analyze(sources: &Sources, modules: &[(FileId, Module)]) -> (Option<Catalog>, Diagnostics) {
    let mut diags = Diagnostics::new();
    let decls = collect::collect(modules, &mut diags);
    let mut cx = collect::Context::build(&decls, &mut diags);
    let attrs = products::resolve_attrs(&mut cx, &decls, &mut diags);
    let sigs = tasks::signatures(&cx, &decls, &mut diags);
    let (mut products, currency) =
        products::resolve_products(&cx, &decls, &attrs, &sigs, &mut diags);
    for (name, offerings) in tmf_names::offerings(&decls, &mut diags) {
        if let Some(p) = products.get_mut(name) {
            p.offerings = offerings;
        }
    }
    if let Some(c) = decls.customer {
        tmf_names::customer_characteristics(&c.attrs, &mut diags);
    }
    let order_tasks = tasks::resolve_order_tasks(&cx, &decls, &sigs, &mut diags);
    let order_block = flow::Nullability {
        attrs: &[],
        customer: cx.customer.as_deref(),
        sigs: &sigs,
        block: None,
    };
    flow::check_tasks(
        &order_block,
        &cx.actions,
        &order_tasks,
        &flow::Facts::new(),
        &mut diags,
    );
    graph::check_cycles(&products, &order_tasks, &mut diags);
    diags.sort();
    if diags.has_errors() {
        return (None, diags);
    }
    let catalog = Catalog {
        name: decls.catalog.as_ref().map(|c| c.name.value.clone()),
        version: decls
            .catalog
            .as_ref()
            .and_then(|c| c.version.as_ref().map(|v| v.value.clone())),
        stages: cx.stages.clone(),
        default_stage: cx.default_stage,
        enums: cx
            .enums
            .iter()
            .map(|(k, v)| (k.clone(), (*v).clone()))
            .collect::<BTreeMap<String, EnumDef>>(),
        customer: cx.customer.clone(),
        actions: cx.actions.clone(),
        products,
        order_tasks,
        currency,
        hash: sources.content_hash(),
        patterns: cx.patterns.clone(),
    };
    warnings::check(&catalog, &mut diags);
    diags.sort();
    (Some(catalog), diags)
}
