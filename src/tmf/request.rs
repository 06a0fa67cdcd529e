//! A TMF622 ProductOrder (v4 or v5) read into ordo's order document, so that
//! it is checked and planned by the one pipeline every order goes through.
//! Every position is a span into the request body, which [`super::json_path`]
//! turns into a JSON path.

use std::collections::BTreeMap;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::{Catalog, ExprKind, Included, Product, ProductKind, Ref};
use crate::order::{
    item_id_fault, item_list, parse_document, shape_error, ChildDoc, ItemDoc, OrderDoc,
};
use crate::source::SourceFile;
use crate::span::{FileId, Span};
use crate::syntax::ast::OrderAction;
use crate::yaml::{self, Node, NodeKind};

mod header;

use header::{customer, date, external_ids, instant_at};

/// A ProductOrder as ordo holds it: the order to plan, and what TMF622 keeps
/// beside it.
#[derive(Debug, Clone)]
pub struct ProductOrderRequest {
    pub order: OrderDoc,
    /// `externalId`: one string in v4, the `id`s of a list in v5.
    pub external_ids: Vec<String>,
    pub requested_start_date: Option<String>,
    pub requested_completion_date: Option<String>,
    /// Every `productOrderItem`, in request order.
    pub items: Vec<RequestItem>,
    /// The body as parsed, for positions of later diagnostics.
    pub root: Node,
}

/// One `productOrderItem` and the ordo item it became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestItem {
    pub id: String,
    /// `add`, `modify`, `delete` or `noChange`.
    pub action: String,
    /// The ordo item id (`100`, or `100/Mobile` for a bundle's child);
    /// `None` for a `noChange` item, which adds no tasks.
    pub ordo_item: Option<String>,
}

/// One item as read, before bundles are resolved.
struct Raw<'n> {
    index: usize,
    id: String,
    id_span: Span,
    action: Option<OrderAction>,
    action_text: String,
    action_span: Span,
    product: Option<&'n Product>,
    product_span: Span,
    instance: Option<(String, Span)>,
    attributes: Vec<(String, Span, Node)>,
    relies_on: Vec<(String, Span)>,
    bundles: Vec<(String, Span)>,
    span: Span,
}

/// Reads a ProductOrder body as the order `order_id` against `catalog`.
/// Every shape and mapping error is reported, each at its member; values
/// are checked later, when the order is planned.
pub fn read_product_order(
    catalog: &Catalog,
    file: FileId,
    source: &SourceFile,
    order_id: &str,
) -> Result<ProductOrderRequest, Diagnostics> {
    let root = parse_document(
        file,
        source,
        "the ProductOrder is not valid JSON",
        "send one JSON object with a `productOrderItem` list",
    )?;
    let mut diags = Diagnostics::new();
    if !matches!(root.kind, NodeKind::Map(_)) {
        diags.push(shape(&root, "the ProductOrder", "an object"));
        return Err(diags);
    }
    let list = item_list(
        &root,
        "productOrderItem",
        "the ProductOrder",
        "\"productOrderItem\": [{\"id\": \"1\", \"action\": \"add\", …}]",
        &mut diags,
    );
    let raws: Vec<Raw> = list
        .iter()
        .enumerate()
        .filter_map(|(i, n)| read_item(catalog, i, n, &mut diags))
        .collect();
    let customer = customer(catalog, &root, &mut diags);
    let external_ids = external_ids(&root, &mut diags);
    let requested_start_date = date(&root, "requestedStartDate", &mut diags);
    let requested_completion_date = date(&root, "requestedCompletionDate", &mut diags);
    let (items, request_items) = assemble(&raws, &root, &mut diags);
    if diags.has_errors() {
        diags.sort();
        return Err(diags);
    }
    Ok(ProductOrderRequest {
        order: OrderDoc {
            id: order_id.to_string(),
            id_span: root.span,
            customer: customer.0,
            customer_span: customer.1,
            items,
            span: root.span,
            requested_start: instant_at(&root, "requestedStartDate"),
            requested_completion: instant_at(&root, "requestedCompletionDate"),
        },
        external_ids,
        requested_start_date,
        requested_completion_date,
        items: request_items,
        root,
    })
}

fn read_item<'c>(
    catalog: &'c Catalog,
    index: usize,
    node: &Node,
    diags: &mut Diagnostics,
) -> Option<Raw<'c>> {
    let path = format!("productOrderItem[{index}]");
    if !matches!(node.kind, NodeKind::Map(_)) {
        diags.push(shape(node, &path, "an object"));
        return None;
    }
    let id = required_text(node, "id", &path, "\"id\": \"1\"", diags);
    let action = required_text(node, "action", &path, "\"action\": \"add\"", diags);
    let (id, id_span) = id?;
    if let Some(fault) = item_id_fault(&id) {
        diags.push(
            Diagnostic::error(Code::OrderSyntax, format!("{path}.id: {}", fault.message))
                .at(id_span, fault.label)
                .with_help(fault.help),
        );
    }
    let (action_text, action_span) = action?;
    let action = match action_text.as_str() {
        "add" => Some(OrderAction::Add),
        "modify" => Some(OrderAction::Modify),
        "delete" => Some(OrderAction::Delete),
        "noChange" => None,
        other => {
            let known = ["add", "modify", "delete", "noChange"];
            diags.push(
                Diagnostic::error(
                    Code::OrderSyntax,
                    format!("{path}.action: unknown action `{other}`"),
                )
                .at(action_span, "not an item action")
                .suggest_or_list(other, "action", known),
            );
            return None;
        }
    };
    let product_node = node.get("product");
    let instance = product_node
        .and_then(|p| p.get("id"))
        .and_then(|n| n.scalar_text().map(|t| (t, n.span)));
    let (product, product_span) = product_of(catalog, node, &path, &instance, action, diags)?;
    let attributes = characteristics(product, product_node, &path, diags);
    let mut relies_on = Vec::new();
    let mut bundles = Vec::new();
    if let Some(rels) = node.get("productOrderItemRelationship") {
        let rpath = format!("{path}.productOrderItemRelationship");
        for rel in seq(rels, &rpath, diags) {
            let kind = rel.get("relationshipType").and_then(Node::as_str);
            let target = rel
                .get("id")
                .and_then(|n| n.scalar_text().map(|t| (t, n.span)));
            match (kind, target) {
                (Some(k), Some(t)) if k.eq_ignore_ascii_case("reliesOn") => relies_on.push(t),
                (Some(k), Some(t)) if k.eq_ignore_ascii_case("bundles") => bundles.push(t),
                (Some(_), None) => diags.push(
                    Diagnostic::error(
                        Code::OrderSyntax,
                        format!("{rpath}: a relationship without the `id` of its item"),
                    )
                    .at(rel.span, "no `id`")
                    .with_help("name the related productOrderItem: `\"id\": \"110\"`"),
                ),
                // Other relationship types carry no ordering rule for ordo.
                _ => {}
            }
        }
    }
    Some(Raw {
        index,
        id,
        id_span,
        action,
        action_text,
        action_span,
        product,
        product_span,
        instance,
        attributes,
        relies_on,
        bundles,
        span: node.span,
    })
}

/// The catalog product an item orders: from `productOffering.id` or
/// `.name`, else `product.productSpecification.id` or `.name`. A `modify`
/// or `delete` item naming neither orders its instance's product.
fn product_of<'c>(
    catalog: &'c Catalog,
    node: &Node,
    path: &str,
    instance: &Option<(String, Span)>,
    action: Option<OrderAction>,
    diags: &mut Diagnostics,
) -> Option<(Option<&'c Product>, Span)> {
    let refs = [
        ("productOffering", node.get("productOffering")),
        (
            "product.productSpecification",
            node.get("product")
                .and_then(|p| p.get("productSpecification")),
        ),
    ];
    let mut named = Vec::new();
    for (what, r) in refs.iter().filter_map(|(w, r)| r.map(|r| (w, r))) {
        for key in ["id", "name"] {
            if let Some(n) = r.get(key) {
                if let Some(text) = n.scalar_text() {
                    if let Some(p) = catalog.product_for_offering(&text) {
                        return Some((Some(p), n.span));
                    }
                    named.push((format!("{what}.{key}"), text, n.span));
                }
            }
        }
    }
    let changes_instance = instance.is_some() && action != Some(OrderAction::Add);
    match named.first() {
        None if changes_instance || action.is_none() => Some((None, node.span)),
        None => {
            diags.push(
                Diagnostic::error(
                    Code::OrderUnknownProduct,
                    format!("{path}: the item names no product offering or specification"),
                )
                .at(node.span, "no `productOffering`")
                .with_help(
                    "add `\"productOffering\": {\"id\": \"…\"}` with an offering id of the catalog",
                ),
            );
            None
        }
        Some((_, text, span)) => {
            let names = named
                .iter()
                .map(|(w, t, _)| format!("{w} \"{t}\""))
                .collect::<Vec<_>>()
                .join(", ");
            let known: Vec<&str> = catalog
                .products
                .values()
                .flat_map(|p| {
                    std::iter::once(p.name.as_str()).chain(p.offerings.iter().map(String::as_str))
                })
                .collect();
            diags.push(
                Diagnostic::error(
                    Code::OrderUnknownProduct,
                    format!("{path}: no catalog product is ordered as {names}"),
                )
                .at(*span, "no product or `offering` of this name")
                .suggest_or_list(text, "offering", known),
            );
            None
        }
    }
}

/// `product.productCharacteristic[{name, value}]` as attributes: by the
/// attribute's name, or its `characteristic` alias.
fn characteristics(
    product: Option<&Product>,
    product_node: Option<&Node>,
    path: &str,
    diags: &mut Diagnostics,
) -> Vec<(String, Span, Node)> {
    let Some(list) = product_node.and_then(|p| p.get("productCharacteristic")) else {
        return Vec::new();
    };
    let cpath = format!("{path}.product.productCharacteristic");
    let mut out = Vec::new();
    for (i, c) in seq(list, &cpath, diags).iter().enumerate() {
        let Some((name, name_span)) = c
            .get("name")
            .and_then(|n| n.scalar_text().map(|t| (t, n.span)))
        else {
            diags.push(
                Diagnostic::error(
                    Code::OrderAttribute,
                    format!("{cpath}[{i}]: a characteristic without a `name`"),
                )
                .at(c.span, "no `name`")
                .with_help("write `{\"name\": \"speed\", \"value\": \"1G\"}`"),
            );
            continue;
        };
        let Some(value) = c.get("value") else {
            diags.push(
                Diagnostic::error(
                    Code::OrderAttribute,
                    format!("{cpath}[{i}]: characteristic \"{name}\" has no `value`"),
                )
                .at(c.span, "no `value`")
                .with_help("give the characteristic a `value`"),
            );
            continue;
        };
        let attr = product
            .and_then(|p| p.attr_for_characteristic(&name))
            .map_or(name.clone(), |a| a.name.clone());
        out.push((attr, name_span, value.clone()));
    }
    out
}

/// Bundles' children folded into their bundle, reliesOn mapped to ordo
/// item (or instance) ids, `noChange` items left out.
fn assemble(
    raws: &[Raw],
    root: &Node,
    diags: &mut Diagnostics,
) -> (Vec<ItemDoc>, Vec<RequestItem>) {
    let by_id: BTreeMap<&str, usize> = raws
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    // Child raw index → (bundle raw index, the include it fills).
    let mut parent: BTreeMap<usize, (usize, &Included)> = BTreeMap::new();
    for (b, raw) in raws.iter().enumerate() {
        if raw.bundles.is_empty() {
            continue;
        }
        let Some(bundle) = raw.product.filter(|p| p.kind == ProductKind::Bundle) else {
            diags.push(
                Diagnostic::error(
                    Code::OrderSyntax,
                    format!(
                        "productOrderItem[{}]: only a bundle's item can have `bundles` relationships",
                        raw.index
                    ),
                )
                .at(raw.bundles[0].1, "bundles other items")
                .with_help("order the bundle's offering on this item, or use `reliesOn`"),
            );
            continue;
        };
        let mut taken: Vec<&str> = Vec::new();
        for (target, span) in &raw.bundles {
            let Some(&c) = by_id.get(target.as_str()) else {
                diags.push(unknown_item(raw.index, target, *span, &by_id));
                continue;
            };
            let child = &raws[c];
            let inc = bundle.includes.iter().find(|inc| {
                child.product.is_some_and(|p| p.name == inc.product)
                    && !taken.contains(&inc.name.as_str())
            });
            let Some(inc) = inc else {
                let includes = bundle
                    .includes
                    .iter()
                    .map(|i| format!("`{}`", i.product))
                    .collect::<Vec<_>>()
                    .join(", ");
                diags.push(
                    Diagnostic::error(
                        Code::OrderSyntax,
                        format!(
                            "productOrderItem[{}]: item \"{target}\" is no include of the bundle {} left to fill",
                            raw.index, bundle.name
                        ),
                    )
                    .at(child.product_span, "not included by the bundle")
                    .with_related(*span, "bundled here")
                    .with_help(format!("{} includes {includes}, each once", bundle.name)),
                );
                continue;
            };
            if child.action != raw.action {
                diags.push(
                    Diagnostic::error(
                        Code::OrderSyntax,
                        format!(
                            "productOrderItem[{}]: a bundled item's action is its bundle's",
                            child.index
                        ),
                    )
                    .at(child.action_span, format!("`{}` here", child.action_text))
                    .with_related(
                        raw.action_span,
                        format!("the bundle's `{}`", raw.action_text),
                    )
                    .with_help("give the bundle and the items it bundles the same action"),
                );
            }
            taken.push(&inc.name);
            parent.insert(c, (b, inc));
        }
    }
    let ordo_id = |i: usize| -> Option<String> {
        let raw = &raws[i];
        raw.action?;
        Some(match parent.get(&i) {
            Some((b, inc)) => format!("{}/{}", raws[*b].id, inc.name),
            None => raw.id.clone(),
        })
    };
    let mut docs: Vec<ItemDoc> = Vec::new();
    let mut doc_of: BTreeMap<usize, usize> = BTreeMap::new();
    for (i, raw) in raws.iter().enumerate() {
        let Some(action) = raw.action else { continue };
        if parent.contains_key(&i) {
            continue;
        }
        doc_of.insert(i, docs.len());
        docs.push(ItemDoc {
            index: docs.len(),
            id: raw.id.clone(),
            id_span: raw.id_span,
            action,
            action_span: raw.action_span,
            product: raw.product.map(|p| p.name.clone()).unwrap_or_default(),
            product_span: raw.product_span,
            instance: raw.instance.clone(),
            attributes: raw.attributes.clone(),
            relies_on: Vec::new(),
            children: Vec::new(),
            path: format!("productOrderItem[{}]", raw.index),
            span: raw.span,
        });
    }
    for (c, (b, inc)) in &parent {
        let Some(&d) = doc_of.get(b) else { continue };
        let child = &raws[*c];
        let mut own = Vec::new();
        for (name, span, value) in &child.attributes {
            match inc.args.iter().find(|(n, _)| n == name) {
                None => own.push((name.clone(), *span, value.clone())),
                // Passed through from the bundle (`include P(speed: speed)`):
                // the child's characteristic sets the bundle's attribute.
                Some((_, e)) => match &e.kind {
                    ExprKind::Ref(Ref::Attr { name: outer }) => {
                        let doc = &mut docs[d];
                        if !doc.attributes.iter().any(|(n, _, _)| n == outer) {
                            doc.attributes.push((outer.clone(), *span, value.clone()));
                        }
                    }
                    _ => diags.push(
                        Diagnostic::error(
                            Code::OrderAttribute,
                            format!(
                                "productOrderItem[{}]: `{name}` of the bundled {} is computed by its bundle",
                                child.index, inc.product
                            ),
                        )
                        .at(*span, "set by the bundle")
                        .with_related(e.span, "computed here")
                        .with_help("leave this characteristic out; the bundle's attributes decide it"),
                    ),
                },
            }
        }
        docs[d].children.push(ChildDoc {
            name: inc.name.clone(),
            attributes: own,
            span: child.span,
        });
    }
    // reliesOn: a child's are its bundle's (children share its item).
    for (i, raw) in raws.iter().enumerate() {
        let owner = parent.get(&i).map_or(i, |(b, _)| *b);
        let Some(&d) = doc_of.get(&owner) else {
            continue;
        };
        for (target, span) in &raw.relies_on {
            let Some(&t) = by_id.get(target.as_str()) else {
                diags.push(unknown_item(raw.index, target, *span, &by_id));
                continue;
            };
            // Siblings in one bundle find each other.
            if parent.get(&t).is_some_and(|(tb, _)| *tb == owner) {
                continue;
            }
            // A noChange item stands for its instance, if it names one.
            let named = ordo_id(t).or_else(|| raws[t].instance.as_ref().map(|(id, _)| id.clone()));
            if let Some(id) = named.filter(|id| !docs[d].relies_on.iter().any(|(r, _)| r == id)) {
                docs[d].relies_on.push((id, *span));
            }
        }
    }
    if docs.is_empty() && !raws.is_empty() {
        diags.push(
            Diagnostic::error(
                Code::OrderSyntax,
                "the ProductOrder changes nothing: every item is `noChange`",
            )
            .at(
                root.get("productOrderItem").map_or(root.span, |n| n.span),
                "only noChange items",
            )
            .with_help("add, modify or delete at least one item"),
        );
    }
    let request = raws
        .iter()
        .enumerate()
        .map(|(i, r)| RequestItem {
            id: r.id.clone(),
            action: r.action_text.clone(),
            ordo_item: ordo_id(i),
        })
        .collect();
    (docs, request)
}

fn unknown_item(
    index: usize,
    target: &str,
    span: Span,
    by_id: &BTreeMap<&str, usize>,
) -> Diagnostic {
    Diagnostic::error(
        Code::OrderReliesOn,
        format!("productOrderItem[{index}]: no productOrderItem has the id \"{target}\""),
    )
    .at(span, "no such item")
    .suggest_or_list(target, "item id", by_id.keys().copied())
}

fn required_text(
    node: &Node,
    key: &str,
    path: &str,
    example: &str,
    diags: &mut Diagnostics,
) -> Option<(String, Span)> {
    match node.get(key) {
        Some(n) => match n.scalar_text() {
            Some(t) => Some((t, n.span)),
            None => {
                diags.push(shape(n, &format!("{path}.{key}"), "a string"));
                None
            }
        },
        None => {
            diags.push(
                Diagnostic::error(Code::OrderSyntax, format!("{path} has no `{key}`"))
                    .at(node.span, format!("`{key}` missing"))
                    .with_help(format!("add `{example}`")),
            );
            None
        }
    }
}

fn seq<'n>(node: &'n Node, path: &str, diags: &mut Diagnostics) -> &'n [Node] {
    match &node.kind {
        NodeKind::Seq(list) => list,
        NodeKind::Null => &[],
        _ => {
            diags.push(shape(node, path, "a list"));
            &[]
        }
    }
}

fn shape(node: &Node, what: &str, want: &str) -> Diagnostic {
    shape_error(what, want, node)
}

/// Whether an order file is a TMF622 ProductOrder (a JSON object with a
/// `productOrderItem` member) rather than an ordo order.
pub fn is_product_order(root: &Node) -> bool {
    root.get("productOrderItem").is_some() && root.get("items").is_none()
}

/// Reads an order file of either shape: an ordo order, or a TMF622
/// ProductOrder, which is given the order id `fallback_id` (the CLI uses
/// the file's name; a ProductOrder's own `id` is the server's to assign).
/// Also gives the document to keep with the order: the file as written,
/// or a ProductOrder in ordo's shape.
pub fn read_any_order(
    catalog: &Catalog,
    file: FileId,
    source: &SourceFile,
    fallback_id: &str,
) -> Result<(OrderDoc, serde_json::Value), Diagnostics> {
    match yaml::parse(file, source) {
        Ok(root) if is_product_order(&root) => {
            let doc = read_product_order(catalog, file, source, fallback_id)?.order;
            let document = doc.to_json();
            Ok((doc, document))
        }
        Ok(root) => Ok((crate::order::order_from_node(&root)?, root.to_json())),
        Err(_) => crate::order::read_order(file, source).map(|doc| (doc, serde_json::Value::Null)),
    }
}
