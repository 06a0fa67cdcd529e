//! Decomposition against the installed base (SPEC §8.1): the instance a
//! `modify` or `delete` item names, checked before anything else of the item.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::inventory::{InstalledBase, Instance, InstanceStatus};
use crate::model::AttrDef;
use crate::order::{ItemDoc, OrderDoc};
use crate::syntax::ast::OrderAction;

/// The instance `doc` changes: `Ok(None)` for an `add` item, which names
/// none, `Err(())` once an `ordo::order::instance` error is reported.
pub(super) fn resolve<'b>(
    doc: &ItemDoc,
    order: &OrderDoc,
    base: &'b InstalledBase,
    diags: &mut Diagnostics,
) -> Result<Option<&'b Instance>, ()> {
    let Some((id, span)) = &doc.instance else {
        if doc.action == OrderAction::Add {
            return Ok(None);
        }
        diags.push(
            Diagnostic::error(
                Code::OrderInstance,
                format!(
                    "{}: a {} item names the instance it changes",
                    doc.path(),
                    doc.action.as_str()
                ),
            )
            .at(doc.action_span, "no `instance`")
            .with_help(format!(
                "add `instance: ORDER/ITEM` to the item; `ordo inventory --customer {}` lists the customer's instances",
                order.customer_id()
            )),
        );
        return Err(());
    };
    let path = format!("{}.instance", doc.path());
    let mut fail = |message: String, label: &str, help: String| {
        diags.push(
            Diagnostic::error(Code::OrderInstance, format!("{path}: {message}"))
                .at(*span, label.to_string())
                .with_help(help),
        );
        Err(())
    };
    if doc.action == OrderAction::Add {
        return fail(
            format!("an add item creates its instance, it cannot name `{id}`"),
            "names an instance",
            "remove `instance`, or make the item a `modify` or `delete` of it".into(),
        );
    }
    let Some(instance) = base.instances.get(id) else {
        return fail(
            format!("there is no instance `{id}` in the installed base"),
            "unknown instance",
            "`ordo inventory --customer ID` lists a customer's instances".into(),
        );
    };
    let customer = order.customer_id();
    if instance.customer != customer {
        return fail(
            format!(
                "instance `{id}` belongs to customer {}, not to {customer}",
                instance.customer
            ),
            "another customer's instance",
            "an order changes only its own customer's instances".into(),
        );
    }
    if instance.status == InstanceStatus::Terminated {
        return fail(
            format!(
                "instance `{id}` was terminated by order {}",
                instance.updated_by
            ),
            "terminated",
            "a terminated instance cannot be changed again; add a new one instead".into(),
        );
    }
    if !doc.product.is_empty() && doc.product != instance.product {
        diags.push(
            Diagnostic::error(
                Code::OrderInstance,
                format!(
                    "{}.product: instance `{id}` is a {}, not a {}",
                    doc.path(),
                    instance.product,
                    doc.product
                ),
            )
            .at(doc.product_span, format!("not {}", instance.product))
            .with_related(*span, "the instance")
            .with_help(format!(
                "write `product: {}`, or leave `product` out",
                instance.product
            )),
        );
        return Err(());
    }
    if let Some(other) = base.changing.get(id) {
        return fail(
            format!("instance `{id}` is being changed by order {other}, still in flight"),
            "changed by another order",
            format!("wait until order {other} has ended (`ordo status {other}`), or cancel it"),
        );
    }
    Ok(Some(instance))
}

/// An item's attribute declarations with the instance's values as their
/// defaults: the order's attributes are then a delta, and an attribute it
/// leaves out keeps the instance's value.
pub(super) fn on_instance(decls: &[AttrDef], instance: &Instance) -> Vec<AttrDef> {
    decls
        .iter()
        .map(|d| {
            let mut d = d.clone();
            if let Some(v) = instance.attributes.get(&d.name) {
                d.default = Some(v.clone());
            }
            d
        })
        .collect()
}

/// The instance that meets item `doc`'s `relies on target` when the order
/// holds no `target` item: one named in its `relies_on`, or else the
/// customer's only active `target` instance. `Ok(None)` when there is none;
/// an error when the named one cannot be relied on or there are several.
pub(super) fn relied<'b>(
    doc: &ItemDoc,
    target: &str,
    order: &OrderDoc,
    base: &'b InstalledBase,
    deleted: &[&str],
) -> Result<Option<&'b Instance>, Diagnostic> {
    let customer = order.customer_id();
    let usable = |i: &Instance| {
        i.product == target
            && i.customer == customer
            && i.status == InstanceStatus::Active
            && !deleted.contains(&i.id.as_str())
    };
    for (id, span) in &doc.relies_on {
        let Some(i) = base.instances.get(id) else {
            continue;
        };
        if i.product != target {
            continue;
        }
        if !usable(i) {
            return Err(Diagnostic::error(
                Code::OrderInstance,
                format!(
                    "{}.relies_on: instance `{id}` cannot be relied on",
                    doc.path()
                ),
            )
            .at(*span, "not an active instance of this customer")
            .with_help(format!(
                "a {target} relied on must be active, the customer's, and not deleted by this order"
            )));
        }
        return Ok(Some(i));
    }
    let found: Vec<&Instance> = base.instances.values().filter(|i| usable(i)).collect();
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        many => Err(Diagnostic::error(
            Code::OrderInstance,
            format!(
                "{}: the customer has {} active {target} instances: {}",
                doc.path(),
                many.len(),
                many.iter()
                    .map(|i| i.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .at(doc.id_span, "which one?")
        .with_help(format!(
            "name it in the item: `relies_on: [\"{}\"]`",
            many[0].id
        ))),
    }
}

/// A `delete` of an instance that another active instance of the customer
/// relies on is refused unless the order deletes that one too: the delete
/// guard of `relies on`. `deleted[k]` is the instance the `k`-th order item
/// deletes (`None` for others); a bundle's children go with it.
pub(super) fn check_delete_guard(
    order: &OrderDoc,
    deleted: &[Option<&str>],
    base: &InstalledBase,
    diags: &mut Diagnostics,
) {
    let goes = |id: &str| deleted.iter().flatten().any(|d| goes_with(id, d));
    for (doc, target) in order.items.iter().zip(deleted) {
        let Some(target) = target else { continue };
        let reliant = base.instances.values().find(|i| {
            i.status == InstanceStatus::Active
                && !goes(&i.id)
                && i.relies_on.iter().any(|r| goes_with(r, target))
        });
        if let Some(reliant) = reliant {
            let span = doc.instance.as_ref().map_or(doc.id_span, |(_, s)| *s);
            diags.push(
                Diagnostic::error(
                    Code::OrderInstance,
                    format!(
                        "{}.instance: {} {} relies on `{target}`, which this order deletes",
                        doc.path(),
                        reliant.product,
                        reliant.id
                    ),
                )
                .at(span, format!("{} relies on it", reliant.id))
                .with_help(format!(
                    "delete {} in the same order (`instance: {}`), or keep `{target}`",
                    reliant.id, reliant.id
                )),
            );
        }
    }
}

/// Whether `id` is `target` or one of its bundle children.
fn goes_with(id: &str, target: &str) -> bool {
    id == target || id.strip_prefix(target).is_some_and(|r| r.starts_with('/'))
}
