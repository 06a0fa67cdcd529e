//! Catalog warnings (SPEC §8.8): constructs that compile but are likely
//! mistakes. They never change the exit status; `--deny warnings` makes them
//! errors for CI. They are looked for on a catalog without errors only, so a
//! half-typed catalog is not buried under them.

use std::collections::BTreeSet;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::{Catalog, ProductKind, Task};
use crate::syntax::ast::OrderAction;

pub(super) fn check(catalog: &Catalog, diags: &mut Diagnostics) {
    unused_actions(catalog, diags);
    products_without_rules(catalog, diags);
}

/// `ordo::unused_action`: declared, but no task or undo calls it.
fn unused_actions(catalog: &Catalog, diags: &mut Diagnostics) {
    let tasks = catalog
        .products
        .values()
        .flat_map(|p| p.rules.values().flatten())
        .chain(&catalog.order_tasks);
    let called: BTreeSet<&str> = tasks
        .flat_map(|t: &Task| {
            std::iter::once(t.call.action.as_str()).chain(t.undo.iter().map(|u| u.action.as_str()))
        })
        .collect();
    for action in catalog.actions.values() {
        if called.contains(action.name.as_str()) {
            continue;
        }
        diags.push(
            Diagnostic::warning(
                Code::UnusedAction,
                format!("action `{}` is never called", action.name),
            )
            .at(action.span, "declared here, called by no task or undo")
            .with_help("call it from a task or an `undo`, or remove the declaration"),
        );
    }
}

/// `ordo::empty_product`: no rule blocks at all, so no item of it does
/// anything; `ordo::no_delete`: it can be added but never removed.
fn products_without_rules(catalog: &Catalog, diags: &mut Diagnostics) {
    for p in catalog.products.values() {
        if p.kind != ProductKind::Product {
            continue;
        }
        if p.rules.is_empty() {
            diags.push(
                Diagnostic::warning(
                    Code::EmptyProduct,
                    format!("product `{}` has no rule blocks", p.name),
                )
                .at(p.span, "no `on add`, `on modify` or `on delete`")
                .with_help("an item of it adds no tasks: give it the rules that set it up"),
            );
        } else if p.rules.contains_key(&OrderAction::Add)
            && !p.rules.contains_key(&OrderAction::Delete)
        {
            diags.push(
                Diagnostic::warning(
                    Code::NoDelete,
                    format!("product `{}` can be added but has no `on delete`", p.name),
                )
                .at(p.span, "no `on delete` block")
                .with_help(format!(
                    "add `on delete {{ … }}` with the tasks that take a {} away",
                    p.name
                )),
            );
        }
    }
}
