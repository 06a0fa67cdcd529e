//! Decomposition, first half: order items checked against the catalog,
//! bundles expanded into child items, prices computed, `relies on` resolved.

use std::collections::{BTreeMap, HashMap};

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::expr::{truthy, Ref};
use crate::model::value_fits as fits;
use crate::model::{AttrDef, Catalog, Expr, Product, ProductKind, Require};
use crate::order::{value_from_node, ItemDoc, OrderDoc};
use crate::span::Span;
use crate::syntax::ast::{OrderAction, PriceKind};
use crate::value::{Money, Value};
use crate::yaml::{Node, NodeKind};
use rust_decimal::Decimal;

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
fn plan_time_condition(cond: Option<&Expr>, attrs: &BTreeMap<String, Value>) -> bool {
    cond.is_none_or(|c| c.eval(&mut attr_lookup(attrs)).is_ok_and(|v| truthy(&v)))
}

fn item_price(
    product: &Product,
    action: OrderAction,
    attrs: &BTreeMap<String, Value>,
    zero: &Money,
) -> Price {
    let mut price = Price {
        once: zero.clone(),
        monthly: zero.clone(),
    };
    for line in &product.prices {
        let applies =
            line.actions.contains(&action) && plan_time_condition(line.when.as_ref(), attrs);
        if applies {
            let target = match line.kind {
                PriceKind::Once => &mut price.once,
                PriceKind::Monthly => &mut price.monthly,
            };
            target.amount += line.amount.amount;
        }
    }
    price
}

/// What the instance a `modify` item changes pays a month today: its
/// product's price lines on the instance's attributes, priced as the add
/// that installed it. `None` for other items, and for a bundle whose price
/// is its children's (its children show none).
fn installed_monthly(
    product: &Product,
    action: OrderAction,
    installed: Option<&Instance>,
    zero: &Money,
) -> Option<Money> {
    let instance = installed.filter(|_| action == OrderAction::Modify)?;
    if product.kind == ProductKind::Bundle && product.prices.is_empty() {
        return None;
    }
    Some(item_price(product, OrderAction::Add, &instance.attributes, zero).monthly)
}

/// Each SLA term with the value of its last line that applies.
fn item_sla(product: &Product, attrs: &BTreeMap<String, Value>) -> Vec<(String, Value)> {
    let mut terms: Vec<(String, Value)> = Vec::new();
    for sla in &product.slas {
        if !plan_time_condition(sla.when.as_ref(), attrs) {
            continue;
        }
        match terms.iter_mut().find(|(name, _)| *name == sla.name) {
            Some((_, value)) => *value = sla.value.clone(),
            None => terms.push((sla.name.clone(), sla.value.clone())),
        }
    }
    terms
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

/// Which item satisfies each `relies on` of each item (SPEC §3.3): the one
/// named in `relies_on`, else the sibling in the same bundle, else the only
/// item of that product in the order.
fn resolve_relies(
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

/// Spreads a bundle's own price over its children in proportion to their
/// standalone prices (as IFRS 15 allocates a bundle's transaction price), in
/// cents, the rounding remainder going to the last child so the parts add up
/// exactly. Children without standalone prices share it equally. This is what
/// a child's `price.once` and `price.monthly` read, e.g. to bill per item.
fn allocate(
    items: &mut [Item<'_>],
    children: &[usize],
    part: impl Fn(&mut Price) -> &mut Money,
    total: Decimal,
) {
    let Some((&last, rest)) = children.split_last() else {
        return;
    };
    let standalone: Vec<Decimal> = children
        .iter()
        .map(|&c| part(&mut items[c].price).amount)
        .collect();
    let sum: Decimal = standalone.iter().sum();
    let n = Decimal::from(children.len());
    let mut given = Decimal::ZERO;
    for (k, &c) in rest.iter().enumerate() {
        let share = if sum.is_zero() {
            total / n
        } else {
            total * standalone[k] / sum
        };
        let share = share.round_dp(2);
        given += share;
        part(&mut items[c].price).amount = share;
    }
    part(&mut items[last].price).amount = total - given;
}
