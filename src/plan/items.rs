//! Decomposition, first half: order items checked against the catalog and
//! bundles expanded into child items; their prices (`price.rs`) and `relies
//! on` links (`relies.rs`) are found from here.

use std::collections::BTreeMap;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::expr::{truthy, Ref};
use crate::model::value_fits as fits;
use crate::model::{AttrDef, Catalog, Expr, Product, ProductKind, Require};
use crate::order::{value_from_node, ItemDoc, OrderDoc};
use crate::span::Span;
use crate::syntax::ast::OrderAction;
use crate::value::{Money, Value};
use crate::yaml::{Node, NodeKind};

use super::price::{allocate, installed_monthly, item_price, item_sla};
use super::relies::resolve_relies;
use super::{instance, Price};
use crate::inventory::{InstalledBase, Instance};

/// An item of the plan: an order item, or a child of a bundle item.
#[derive(Debug, Clone)]
pub(super) struct Item<'c> {
    pub id: String,
    pub product: &'c Product,
    pub action: OrderAction,
    /// Index of the bundle item a child belongs to.
    pub parent: Option<usize>,
    /// Index of the order document's item it comes from.
    pub doc: usize,
    /// The installed instance a `modify` or `delete` item changes.
    pub instance: Option<String>,
    pub attrs: BTreeMap<String, Value>,
    pub price: Price,
    /// A `modify` item's instance's current monthly price, which `price`
    /// replaces.
    pub was: Option<Money>,
    /// Whether the price counts toward the order total.
    pub priced: bool,
    /// SLA terms and their values for this item's attributes.
    pub sla: Vec<(String, Value)>,
    /// Relied-on product → index of the item that satisfies it.
    pub relied: BTreeMap<String, usize>,
    /// Relied-on product → the installed instance that satisfies it, when
    /// the order holds no item of it.
    pub relied_instances: BTreeMap<String, String>,
}

pub(super) struct Checked<'c> {
    pub items: Vec<Item<'c>>,
    pub customer: BTreeMap<String, Value>,
    pub price: Price,
}

/// Checks every item, expands bundles, prices and resolves relies-on.
pub(super) fn check_items<'c>(
    catalog: &'c Catalog,
    order: &OrderDoc,
    base: &InstalledBase,
    diags: &mut Diagnostics,
) -> Checked<'c> {
    let currency = catalog
        .currency
        .clone()
        .unwrap_or_else(|| "XXX".to_string());
    let zero = Money {
        amount: Default::default(),
        currency: currency.clone(),
    };
    let customer = check_customer(catalog, order, diags);
    let mut items: Vec<Item<'c>> = Vec::new();
    let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
    for doc in &order.items {
        if let Some(first) = seen.get(doc.id.as_str()) {
            diags.push(
                Diagnostic::error(
                    Code::OrderDuplicateItem,
                    format!("two items have the id \"{}\"", doc.id),
                )
                .at(doc.id_span, "used again here")
                .with_related(*first, "first used here")
                .with_help("give every item of an order its own id"),
            );
            continue;
        }
        seen.insert(&doc.id, doc.id_span);
        let Ok(installed) = instance::resolve(doc, order, base, diags) else {
            continue;
        };
        let name = installed.map_or(doc.product.as_str(), |i| i.product.as_str());
        let Some(product) = catalog.products.get(name) else {
            let mut d = Diagnostic::error(
                Code::OrderUnknownProduct,
                format!("{}.product: unknown product `{}`", doc.path(), doc.product),
            )
            .at(doc.product_span, "not in the catalog");
            d = d.suggest_or_list(
                &doc.product,
                "product",
                catalog.products.keys().map(String::as_str),
            );
            diags.push(d);
            continue;
        };
        let Some(attrs) = item_attributes(catalog, product, doc, installed, diags) else {
            continue;
        };
        if !check_requires(catalog, product, doc, &attrs, diags) {
            continue;
        }
        let bundle = items.len();
        items.push(Item {
            id: doc.id.clone(),
            product,
            action: doc.action,
            parent: None,
            doc: doc.index,
            instance: installed.map(|i| i.id.clone()),
            price: item_price(product, doc.action, &attrs, &zero),
            was: installed_monthly(product, doc.action, installed, &zero),
            sla: item_sla(product, &attrs),
            attrs,
            priced: true,
            relied: BTreeMap::new(),
            relied_instances: BTreeMap::new(),
        });
        if product.kind == ProductKind::Bundle {
            expand_bundle(catalog, bundle, doc, &zero, &mut items, diags);
        }
    }
    let deleted: Vec<Option<&str>> = order
        .items
        .iter()
        .map(|d| match (&d.instance, d.action) {
            (Some((id, _)), OrderAction::Delete) => Some(id.as_str()),
            _ => None,
        })
        .collect();
    instance::check_delete_guard(order, &deleted, base, diags);
    resolve_relies(order, &mut items, base, diags);
    let mut total = Price {
        once: zero.clone(),
        monthly: zero,
    };
    for item in items.iter().filter(|i| i.priced) {
        total.once.amount += item.price.once.amount;
        total.monthly.amount += item.price.monthly.amount;
    }
    Checked {
        items,
        customer,
        price: total,
    }
}

fn check_customer(
    catalog: &Catalog,
    order: &OrderDoc,
    diags: &mut Diagnostics,
) -> BTreeMap<String, Value> {
    let Some(fields) = &catalog.customer else {
        // Without a `customer` block the record is free-form text.
        return order
            .customer
            .iter()
            .filter_map(|(k, _, v)| v.scalar_text().map(|t| (k.clone(), Value::String(t))))
            .collect();
    };
    let given: Vec<(&str, Span, &Node)> = order
        .customer
        .iter()
        .map(|(k, s, v)| (k.as_str(), *s, v))
        .collect();
    check_values(
        catalog,
        fields,
        &given,
        "customer",
        order.customer_span,
        diags,
    )
    .unwrap_or_default()
}

/// Reads given values against declarations: unknown, ill-typed and missing
/// values are reported; defaults fill in; optional absent values are null.
fn check_values(
    catalog: &Catalog,
    decls: &[AttrDef],
    given: &[(&str, Span, &Node)],
    path: &str,
    at: Span,
    diags: &mut Diagnostics,
) -> Option<BTreeMap<String, Value>> {
    let mut ok = true;
    let mut values = BTreeMap::new();
    for (name, key_span, node) in given {
        let Some(decl) = decls.iter().find(|d| d.name == *name) else {
            diags.push(
                Diagnostic::error(
                    Code::OrderAttribute,
                    format!("{path}.{name}: unknown attribute"),
                )
                .at(*key_span, "not declared")
                .suggest_or_list(
                    name,
                    "attribute",
                    decls.iter().map(|d| d.name.as_str()),
                ),
            );
            ok = false;
            continue;
        };
        if matches!(node.kind, NodeKind::Null) && decl.optional {
            values.insert(decl.name.clone(), Value::Null);
            continue;
        }
        let value = value_from_node(node, &decl.ty).and_then(|v| {
            fits(&v, &decl.ty, &catalog.enums, &catalog.patterns)?;
            Ok(v)
        });
        match value {
            Ok(v) => {
                values.insert(decl.name.clone(), v);
            }
            Err(reason) => {
                diags.push(
                    Diagnostic::error(Code::OrderAttribute, format!("{path}.{name}: {reason}"))
                        .at(node.span, format!("not a valid {}", decl.ty))
                        .with_related(
                            decl.span,
                            format!("`{}` is declared as {}", decl.name, decl.ty),
                        )
                        .with_help(value_help(catalog, &decl.ty)),
                );
                ok = false;
            }
        }
    }
    for decl in decls {
        if values.contains_key(&decl.name) || given.iter().any(|(n, _, _)| *n == decl.name) {
            continue;
        }
        match (&decl.default, decl.optional) {
            (Some(v), _) => {
                values.insert(decl.name.clone(), v.clone());
            }
            (None, true) => {
                values.insert(decl.name.clone(), Value::Null);
            }
            (None, false) => {
                diags.push(
                    Diagnostic::error(
                        Code::OrderAttribute,
                        format!("{path}: the required attribute `{}` is missing", decl.name),
                    )
                    .at(at, format!("`{}` missing", decl.name))
                    .with_related(decl.span, "declared here without a default")
                    .with_help(format!("add `{}: …` ({})", decl.name, decl.ty)),
                );
                ok = false;
            }
        }
    }
    ok.then_some(values)
}

fn value_help(catalog: &Catalog, ty: &crate::model::Type) -> String {
    match ty {
        crate::model::Type::Enum { name } => match catalog.enums.get(name) {
            Some(e) => format!(
                "{name} is one of {}",
                e.values
                    .iter()
                    .map(|v| format!("\"{v}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => format!("give a {ty}"),
        },
        _ => format!("give a value of type {ty}"),
    }
}

fn item_attributes(
    catalog: &Catalog,
    product: &Product,
    doc: &ItemDoc,
    installed: Option<&Instance>,
    diags: &mut Diagnostics,
) -> Option<BTreeMap<String, Value>> {
    let given: Vec<(&str, Span, &Node)> = doc
        .attributes
        .iter()
        .map(|(k, s, v)| (k.as_str(), *s, v))
        .collect();
    let path = format!("{}.attributes", doc.path());
    let on_instance;
    let decls = match installed {
        Some(instance) => {
            on_instance = instance::on_instance(&product.attrs, instance);
            &on_instance
        }
        None => &product.attrs,
    };
    check_values(catalog, decls, &given, &path, doc.id_span, diags)
}

fn attr_lookup(attrs: &BTreeMap<String, Value>) -> impl FnMut(&Ref) -> Option<Value> + '_ {
    |r| match r {
        Ref::Attr { name } => Some(attrs.get(name).cloned().unwrap_or(Value::Null)),
        _ => None,
    }
}

/// Product-level `require` rules; reports each broken one at the attribute
/// it reads, when the order gave that attribute.
fn check_requires(
    catalog: &Catalog,
    product: &Product,
    doc: &ItemDoc,
    attrs: &BTreeMap<String, Value>,
    diags: &mut Diagnostics,
) -> bool {
    let mut ok = true;
    for r in product.requires_for(doc.action) {
        if require_holds(r, attrs) {
            continue;
        }
        let message = r.message.render(&mut attr_lookup(attrs));
        let span = r
            .cond
            .refs()
            .iter()
            .find_map(|rf| match rf {
                Ref::Attr { name } => doc
                    .attributes
                    .iter()
                    .find(|(k, _, _)| k == name)
                    .map(|(_, _, n)| n.span),
                _ => None,
            })
            .unwrap_or(doc.id_span);
        let _ = catalog;
        diags.push(
            Diagnostic::error(Code::OrderRequire, format!("{}: {message}", doc.path()))
                .at(span, "breaks a rule of the product")
                .with_related(r.span, format!("rule of `{}`", product.name))
                .with_help(format!(
                    "the catalog's rule for {} must hold for this item",
                    product.name
                )),
        );
        ok = false;
    }
    ok
}

fn require_holds(r: &Require, attrs: &BTreeMap<String, Value>) -> bool {
    plan_time_condition(Some(&r.cond), attrs)
}

/// Whether a condition on an item's attributes (of a price, SLA or `require`
/// line) holds; a line without one always applies.
pub(super) fn plan_time_condition(cond: Option<&Expr>, attrs: &BTreeMap<String, Value>) -> bool {
    cond.is_none_or(|c| c.eval(&mut attr_lookup(attrs)).is_ok_and(|v| truthy(&v)))
}

fn expand_bundle<'c>(
    catalog: &'c Catalog,
    bundle: usize,
    doc: &ItemDoc,
    zero: &Money,
    items: &mut Vec<Item<'c>>,
    diags: &mut Diagnostics,
) {
    let own_price = !items[bundle].product.prices.is_empty();
    let mut sum = items[bundle].price.clone();
    if !own_price {
        sum.once.amount = Default::default();
        sum.monthly.amount = Default::default();
    }
    let bundle_product = items[bundle].product;
    for inc in &bundle_product.includes {
        let Some(child) = catalog.products.get(&inc.product) else {
            continue;
        };
        let Some(own) = child_attributes(catalog, child, inc, doc, diags) else {
            continue;
        };
        let mut attrs = BTreeMap::new();
        let mut ok = true;
        for decl in &child.attrs {
            let value = match inc.args.iter().find(|(n, _)| *n == decl.name) {
                Some((_, e)) => match e.eval(&mut attr_lookup(&items[bundle].attrs)) {
                    Ok(v) => v,
                    Err(err) => {
                        diags.push(
                            Diagnostic::error(Code::OrderAttribute, format!("{}: attribute `{}` of the included {} cannot be computed: {err}", doc.path(), decl.name, child.name))
                                .at(doc.id_span, "in this bundle item")
                                .with_related(e.span, "computed here"),
                        );
                        ok = false;
                        continue;
                    }
                },
                None => match own.get(&decl.name) {
                    Some(v) => v.clone(),
                    None => decl.default.clone().unwrap_or(Value::Null),
                },
            };
            if value != Value::Null {
                if let Err(reason) = fits(&value, &decl.ty, &catalog.enums, &catalog.patterns) {
                    diags.push(
                        Diagnostic::error(
                            Code::OrderAttribute,
                            format!(
                                "{}: the included {}'s `{}`: {reason}",
                                doc.path(),
                                child.name,
                                decl.name
                            ),
                        )
                        .at(doc.id_span, "in this bundle item")
                        .with_related(inc.span, "included here"),
                    );
                    ok = false;
                }
            }
            attrs.insert(decl.name.clone(), value);
        }
        if !ok || !check_requires(catalog, child, doc, &attrs, diags) {
            continue;
        }
        let price = item_price(child, doc.action, &attrs, zero);
        if !own_price {
            sum.once.amount += price.once.amount;
            sum.monthly.amount += price.monthly.amount;
        }
        items.push(Item {
            id: format!("{}/{}", doc.id, inc.name),
            product: child,
            action: doc.action,
            parent: Some(bundle),
            doc: doc.index,
            instance: items[bundle]
                .instance
                .as_ref()
                .map(|i| format!("{i}/{}", inc.name)),
            sla: item_sla(child, &attrs),
            attrs,
            price,
            was: None,
            priced: false,
            relied: BTreeMap::new(),
            relied_instances: BTreeMap::new(),
        });
    }
    if own_price {
        let children: Vec<usize> = (bundle + 1..items.len()).collect();
        allocate(items, &children, |p| &mut p.once, sum.once.amount);
        allocate(items, &children, |p| &mut p.monthly, sum.monthly.amount);
    }
    items[bundle].price = sum;
}

/// The attributes an order gives a bundle's child itself (those its
/// `include` leaves open), checked like an item's; none when it gives none.
fn child_attributes(
    catalog: &Catalog,
    child: &Product,
    inc: &crate::model::Included,
    doc: &ItemDoc,
    diags: &mut Diagnostics,
) -> Option<BTreeMap<String, Value>> {
    let Some(given) = doc.children.iter().find(|c| c.name == inc.name) else {
        return Some(BTreeMap::new());
    };
    let open: Vec<AttrDef> = child
        .attrs
        .iter()
        .filter(|d| !inc.args.iter().any(|(n, _)| *n == d.name))
        .cloned()
        .collect();
    let list: Vec<(&str, Span, &Node)> = given
        .attributes
        .iter()
        .map(|(k, s, v)| (k.as_str(), *s, v))
        .collect();
    let path = format!("{}.children.{}", doc.path(), inc.name);
    check_values(catalog, &open, &list, &path, given.span, diags)
}
