//! Decomposition: which item, or installed instance, satisfies each
//! `relies on` of each item (SPEC §3.3), through indexes by product, id and
//! parent so that resolving every item stays linear in the order.

use std::collections::HashMap;

use super::instance;
use super::items::Item;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::inventory::InstalledBase;
use crate::order::OrderDoc;
use crate::syntax::ast::OrderAction;

/// Which item satisfies each `relies on` of each item (SPEC §3.3): the one
/// named in `relies_on`, else the sibling in the same bundle, else the only
/// item of that product in the order.
pub(super) fn resolve_relies(
    order: &OrderDoc,
    items: &mut [Item<'_>],
    base: &InstalledBase,
    diags: &mut Diagnostics,
) {
    let mut on_instances = Vec::new();
    for (i, product, j) in relies_links(order, items, base, &mut on_instances, diags) {
        items[i].relied.insert(product, j);
    }
    for (i, product, instance) in on_instances {
        items[i].relied_instances.insert(product, instance);
    }
}

/// The (item, relied-on product, satisfying item) links, and errors for the
/// ones that cannot be made.
fn relies_links(
    order: &OrderDoc,
    items: &[Item<'_>],
    base: &InstalledBase,
    on_instances: &mut Vec<(usize, String, String)>,
    diags: &mut Diagnostics,
) -> Vec<(usize, String, usize)> {
    let deleted: Vec<&str> = items
        .iter()
        .filter(|i| i.action == OrderAction::Delete)
        .filter_map(|i| i.instance.as_deref())
        .collect();
    // Indexes, so resolving every item's relies-on stays linear in the order.
    let mut by_product: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
    for (j, item) in items.iter().enumerate() {
        by_product
            .entry(item.product.name.as_str())
            .or_default()
            .push(j);
        // A child is named by its full id, `1/line1`, which tells two
        // children of one product apart.
        by_id.insert(item.id.as_str(), j);
        if let Some(p) = item.parent {
            children.entry(p).or_default().push(j);
        }
    }
    let doc_ids: std::collections::HashSet<&str> =
        order.items.iter().map(|d| d.id.as_str()).collect();
    let mut links = Vec::new();
    for i in 0..items.len() {
        let doc = &order.items[items[i].doc];
        // `relies on` binds the state an item asks for: an `add` or
        // `modify` item needs a P it can rely on, which a P being deleted is
        // not. A `delete` item needs none; when the order deletes its P too,
        // it is linked to it, so its `on delete` rules can wait for P's.
        let deleting = items[i].action == OrderAction::Delete;
        for rel in &items[i].product.relies_on {
            let target = &rel.product;
            let is_p = |j: &usize| {
                *j != i
                    && items[*j].product.name == *target
                    && (items[*j].action == OrderAction::Delete) == deleting
            };
            // Named in relies_on: the item itself, or a child of a named bundle.
            let named: Vec<usize> = doc
                .relies_on
                .iter()
                .filter_map(|(id, _)| by_id.get(id.as_str()))
                .flat_map(|&j| {
                    std::iter::once(j).chain(children.get(&j).into_iter().flatten().copied())
                })
                .filter(is_p)
                .collect();
            let sibling: Vec<usize> = match items[i].parent {
                Some(p) => children
                    .get(&p)
                    .into_iter()
                    .flatten()
                    .copied()
                    .filter(is_p)
                    .collect(),
                None => Vec::new(),
            };
            let chosen = if !named.is_empty() {
                named
            } else if !sibling.is_empty() {
                sibling
            } else {
                by_product
                    .get(target.as_str())
                    .into_iter()
                    .flatten()
                    .copied()
                    .filter(is_p)
                    .collect()
            };
            if chosen.is_empty() && !deleting {
                match instance::relied(doc, target, order, base, &deleted) {
                    Ok(Some(instance)) => {
                        on_instances.push((i, target.clone(), instance.id.clone()));
                        continue;
                    }
                    Ok(None) => {}
                    Err(d) => {
                        diags.push(d);
                        continue;
                    }
                }
            }
            match chosen.as_slice() {
                [j] => links.push((i, target.clone(), *j)),
                _ if deleting => {}
                [] => diags.push(
                    Diagnostic::error(
                        Code::OrderReliesOn,
                        format!(
                            "{}: {} relies on {target}, but the order holds no {target} item",
                            doc.path(),
                            items[i].product.name
                        ),
                    )
                    .at(doc.id_span, format!("needs a {target}"))
                    .with_related(rel.span, "relies on declared here")
                    .with_help(
                        match items.iter().find(|it| {
                            it.product.name == *target && it.action == OrderAction::Delete
                        }) {
                            Some(deleted) => format!(
                                "the order deletes its {target} (item \"{}\"), and a deleted instance cannot be relied on",
                                deleted.id
                            ),
                            None => format!(
                                "add a {target} item to the order, or a bundle that includes one"
                            ),
                        },
                    ),
                ),
                many => {
                    let ids = many
                        .iter()
                        .map(|j| format!("\"{}\"", items[*j].id))
                        .collect::<Vec<_>>()
                        .join(", ");
                    diags.push(
                        Diagnostic::error(
                            Code::OrderReliesOn,
                            format!(
                                "{}: {} relies on {target}, and the order holds several: {ids}",
                                doc.path(),
                                items[i].product.name
                            ),
                        )
                        .at(doc.id_span, "which one?")
                        .with_related(rel.span, "relies on declared here")
                        .with_help(format!(
                            "name it in the item: `relies_on: [{}]`",
                            many.first()
                                .map_or(String::new(), |j| format!("\"{}\"", items[*j].id))
                        )),
                    );
                }
            }
        }
        for (id, span) in &doc.relies_on {
            let exists = doc_ids.contains(id.as_str())
                || by_id.contains_key(id.as_str())
                || base.instances.contains_key(id);
            if !exists && items[i].parent.is_none() {
                diags.push(
                    Diagnostic::error(
                        Code::OrderReliesOn,
                        format!("{}.relies_on: no item has the id \"{id}\"", doc.path()),
                    )
                    .at(*span, "unknown item")
                    .suggest_or_list(
                        id,
                        "item id",
                        order.items.iter().map(|d| d.id.as_str()),
                    ),
                );
            }
        }
    }
    links
}
