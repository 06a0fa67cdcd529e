//! Decomposition against the installed base (SPEC §8.1): the instance a
//! `modify` or `delete` item names, checked before anything else of the item.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::inventory::{InstalledBase, Instance, InstanceStatus};
use crate::model::AttrDef;
use crate::order::{ItemDoc, OrderDoc};
use crate::syntax::ast::OrderAction;

/// The instance `doc` changes: `Ok(None)` for an item that names none (an
/// `add`, or a `modify`/`delete` written before the installed base),
/// `Err(())` once an `ordo::order::instance` error is reported.
pub(super) fn resolve<'b>(
    doc: &ItemDoc,
    order: &OrderDoc,
    base: &'b InstalledBase,
    diags: &mut Diagnostics,
) -> Result<Option<&'b Instance>, ()> {
    let Some((id, span)) = &doc.instance else {
        return Ok(None);
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
    let customer = order_customer(order);
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

/// The order's customer id (`customer.id`), as instances record it.
pub(super) fn order_customer(order: &OrderDoc) -> String {
    order
        .customer
        .iter()
        .find(|(k, _, _)| k == "id")
        .and_then(|(_, _, n)| n.scalar_text())
        .unwrap_or_default()
}
