//! Products and bundles: attributes, relies-on, prices, SLAs, requires, rule
//! blocks and includes.

use std::collections::BTreeMap;

use super::collect::{duplicate, Context, Decls};
use super::flow::{self, Facts, Nullability};
use super::scope::{Scope, Sigs};
use super::tasks::{require, resolve_block};
use super::{bundles, by_action, tmf_names};
use crate::diagnostic::{code_list, Code, Diagnostic, Diagnostics};
use crate::model::{AttrDef, Included, PriceRule, Product, ProductKind, Relies};
use crate::span::Span;
use crate::syntax::ast::{self, Member};
use crate::value::Money;

/// Attributes of every product and bundle, resolved while types may still be
/// added to the context (patterns are compiled here).
pub(super) fn resolve_attrs<'a>(
    cx: &mut Context<'_>,
    decls: &Decls<'a>,
    diags: &mut Diagnostics,
) -> BTreeMap<&'a str, Vec<AttrDef>> {
    let mut out = BTreeMap::new();
    for (name, (_, p)) in &decls.products {
        let attrs: Vec<ast::AttrDecl> = p
            .members
            .iter()
            .filter_map(|m| match m {
                Member::Attr(a) => Some(a.clone()),
                _ => None,
            })
            .collect();
        tmf_names::characteristics(&attrs, diags);
        out.insert(*name, cx.attrs(&attrs, diags));
    }
    out
}

pub(super) fn resolve_products(
    cx: &Context<'_>,
    decls: &Decls<'_>,
    attrs: &BTreeMap<&str, Vec<AttrDef>>,
    sigs: &Sigs,
    diags: &mut Diagnostics,
) -> (BTreeMap<String, Product>, Option<String>) {
    let mut products = BTreeMap::new();
    for (name, (kind, p)) in &decls.products {
        let product = resolve_product(cx, sigs, attrs, *kind, p, diags);
        products.insert(name.to_string(), product);
    }
    bundles::ambiguous_relies(&products, diags);
    let currency = check_currency(&products, diags);
    (products, currency)
}

fn resolve_product(
    cx: &Context<'_>,
    sigs: &Sigs,
    all_attrs: &BTreeMap<&str, Vec<AttrDef>>,
    kind: ProductKind,
    p: &ast::ProductDecl,
    diags: &mut Diagnostics,
) -> Product {
    let attrs = all_attrs
        .get(p.name.name.as_str())
        .cloned()
        .unwrap_or_default();
    let mut product = Product {
        name: p.name.name.clone(),
        kind,
        description: None,
        offerings: Vec::new(),
        attrs,
        relies_on: Vec::new(),
        prices: Vec::new(),
        slas: Vec::new(),
        requires: Vec::new(),
        requires_on: Vec::new(),
        rules: BTreeMap::new(),
        includes: Vec::new(),
        span: p.name.span,
    };
    // Relies-on first: rule blocks read the relied-on products' tasks.
    let mut unresolved = Vec::new();
    for m in &p.members {
        if let Member::ReliesOn(target) = m {
            match relies_on(cx, &product, target, diags) {
                Some(r) => product.relies_on.push(r),
                None => unresolved.push(target.name.clone()),
            }
        }
    }
    let relies: Vec<String> = product
        .relies_on
        .iter()
        .map(|r| r.product.clone())
        .collect();
    let plan_time = Scope {
        attrs: &product.attrs,
        item_lines: true,
        ..Scope::constant(cx)
    };
    let sla_lines: Vec<&ast::SlaLine> = p
        .members
        .iter()
        .filter_map(|m| match m {
            Member::Sla(s) => Some(s),
            _ => None,
        })
        .collect();
    product.slas = by_action::slas(&sla_lines, &plan_time, diags);
    let mut rule_spans: BTreeMap<ast::OrderAction, Span> = BTreeMap::new();
    let mut description: Option<Span> = None;
    let mut rules = BTreeMap::new();
    for m in &p.members {
        match m {
            Member::Description(d) => match description {
                Some(first) => diags.push(
                    Diagnostic::error(
                        Code::Duplicate,
                        format!("`{}` has two descriptions", p.name.name),
                    )
                    .at(d.span, "second description")
                    .with_related(first, "first description")
                    .with_help("keep one"),
                ),
                None => {
                    description = Some(d.span);
                    product.description = Some(d.value.clone());
                }
            },
            Member::Attr(_) | Member::ReliesOn(_) | Member::Offering(_) => {}
            Member::Price(line) => {
                let when = line
                    .when
                    .as_ref()
                    .and_then(|w| plan_time.condition(w, "a price condition", diags));
                let actions = by_action::price_actions(line, diags);
                if line.when.is_some() && when.is_none() {
                    continue;
                }
                let Some(actions) = actions else { continue };
                product.prices.push(PriceRule {
                    kind: line.kind,
                    amount: Money {
                        amount: line.amount,
                        currency: line.currency.name.clone(),
                    },
                    actions,
                    when,
                    span: line.span,
                });
            }
            Member::Sla(_) => {}
            Member::Require(r) => {
                let on = r.on.as_ref().map(|on| by_action::actions(on, diags));
                match (require(&plan_time, r, diags), on) {
                    (Some(req), None) => product.requires.push(req),
                    (Some(req), Some(on)) => product.requires_on.push((on, req)),
                    (None, _) => {}
                }
            }
            Member::Rule(block) => {
                if let Some(first) = rule_spans.get(&block.action) {
                    diags.push(
                        Diagnostic::error(
                            Code::Duplicate,
                            format!(
                                "`{}` has two `on {}` blocks",
                                p.name.name,
                                block.action.as_str()
                            ),
                        )
                        .at(block.action_span, "second block")
                        .with_related(*first, "first block")
                        .with_help("merge their tasks into one block"),
                    );
                    continue;
                }
                rule_spans.insert(block.action, block.action_span);
                let scope = Scope {
                    sigs: Some(sigs),
                    product: Some((&p.name.name, block.action)),
                    relies: &relies,
                    outputs: true,
                    order_refs: true,
                    item_lines: false,
                    unresolved: &unresolved,
                    ..plan_time
                };
                let tasks = resolve_block(&scope, &block.tasks, diags);
                rules.insert(block.action, tasks);
            }
            Member::Include(inc) => {
                if let Some(i) = include(cx, all_attrs, &plan_time, &product, inc, diags) {
                    product.includes.push(i);
                }
            }
        }
    }
    product.rules = rules;
    check_nulls(cx, sigs, &product, diags);
    product
}

/// SPEC §8.8: no value that may be absent reaches a required parameter or a
/// message unguarded.
fn check_nulls(cx: &Context<'_>, sigs: &Sigs, product: &Product, diags: &mut Diagnostics) {
    let mut n = Nullability {
        attrs: &product.attrs,
        customer: cx.customer.as_deref(),
        sigs,
        block: None,
    };
    flow::check_messages(&n, &product.requires, &Facts::new(), diags);
    let base = flow::required(&product.requires);
    for (action, tasks) in &product.rules {
        n.block = Some((&product.name, *action));
        flow::check_tasks(&n, &cx.actions, tasks, &base, diags);
    }
}

fn relies_on(
    cx: &Context<'_>,
    product: &Product,
    target: &ast::Ident,
    diags: &mut Diagnostics,
) -> Option<Relies> {
    if let Some(first) = product.relies_on.iter().find(|r| r.product == target.name) {
        diags.push(duplicate("relies on", target, first.span));
        return None;
    }
    match cx.products.get(target.name.as_str()) {
        None => {
            diags.push(
                Diagnostic::error(
                    Code::UnknownProduct,
                    format!("unknown product `{}`", target.name),
                )
                .at(target.span, "not declared")
                .suggest_or_list(
                    &target.name,
                    "product",
                    product_names(cx, ProductKind::Product),
                ),
            );
            None
        }
        Some((ProductKind::Bundle, _)) => {
            diags.push(
                Diagnostic::error(
                    Code::Invalid,
                    format!(
                        "`{}` is a bundle; a product relies on products",
                        target.name
                    ),
                )
                .at(target.span, "a bundle")
                .with_help(
                    "rely on the product inside the bundle; an order's bundle children satisfy it",
                ),
            );
            None
        }
        Some(_) if target.name == product.name => {
            diags.push(
                Diagnostic::error(
                    Code::Invalid,
                    format!("`{}` relies on itself", product.name),
                )
                .at(target.span, "the product being declared")
                .with_help("remove this line"),
            );
            None
        }
        Some(_) => Some(Relies {
            product: target.name.clone(),
            span: target.span,
        }),
    }
}

fn product_names<'c>(cx: &'c Context<'_>, kind: ProductKind) -> Vec<&'c str> {
    cx.products
        .iter()
        .filter(|(_, (k, _))| *k == kind)
        .map(|(n, _)| *n)
        .collect()
}

fn include(
    cx: &Context<'_>,
    all_attrs: &BTreeMap<&str, Vec<AttrDef>>,
    scope: &Scope<'_, '_>,
    bundle: &Product,
    inc: &ast::Include,
    diags: &mut Diagnostics,
) -> Option<Included> {
    let name = inc.alias.as_ref().unwrap_or(&inc.product);
    if let Some(first) = bundle.includes.iter().find(|i| i.name == name.name) {
        let (message, help) = match &inc.alias {
            None => (
                format!("`{}` is included twice", inc.product.name),
                format!(
                    "a child is named by its product unless it has an alias: \
                     `include {} as {}2(…)`; its tasks are then BUNDLE_ITEM/{}2/TASK",
                    inc.product.name,
                    inc.product.name.to_ascii_lowercase(),
                    inc.product.name.to_ascii_lowercase()
                ),
            ),
            Some(alias) => (
                format!("two includes are named `{}`", alias.name),
                "give each include its own name: its tasks are BUNDLE_ITEM/NAME/TASK".to_string(),
            ),
        };
        diags.push(
            Diagnostic::error(Code::Duplicate, message)
                .at(name.span, "this name is taken")
                .with_related(first.span, "first named here")
                .with_help(help),
        );
        return None;
    }
    if cx.twice.contains(inc.product.name.as_str()) {
        // Its duplicate is the error; which of the two is meant is unknown.
        return None;
    }
    let child = match cx.products.get(inc.product.name.as_str()) {
        None => {
            diags.push(
                Diagnostic::error(
                    Code::UnknownProduct,
                    format!("unknown product `{}`", inc.product.name),
                )
                .at(inc.product.span, "not declared")
                .suggest_or_list(
                    &inc.product.name,
                    "product",
                    product_names(cx, ProductKind::Product),
                ),
            );
            return None;
        }
        Some((ProductKind::Bundle, _)) => {
            diags.push(
                Diagnostic::error(
                    Code::Invalid,
                    format!(
                        "`{}` is a bundle; bundles include products",
                        inc.product.name
                    ),
                )
                .at(inc.product.span, "a bundle")
                .with_help("include its products directly"),
            );
            return None;
        }
        Some((_, decl)) => decl,
    };
    let child_attrs = all_attrs
        .get(child.name.name.as_str())
        .map_or(&[][..], Vec::as_slice);
    let mut ok = true;
    let mut args = Vec::new();
    let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
    for a in &inc.args {
        if let Some(first) = seen.get(a.name.name.as_str()) {
            diags.push(duplicate("argument", &a.name, *first));
            ok = false;
            continue;
        }
        seen.insert(&a.name.name, a.name.span);
        let Some(attr) = child_attrs.iter().find(|c| c.name == a.name.name) else {
            diags.push(
                Diagnostic::error(
                    Code::UnknownAttribute,
                    format!(
                        "product `{}` has no attribute `{}`",
                        inc.product.name, a.name.name
                    ),
                )
                .at(a.name.span, "unknown attribute")
                .suggest_or_list(
                    &a.name.name,
                    "attribute",
                    child_attrs.iter().map(|c| c.name.as_str()),
                ),
            );
            ok = false;
            continue;
        };
        match scope.expect(
            &a.value,
            &attr.ty,
            format_args!("attribute `{}`", attr.name),
            diags,
        ) {
            Some(e) => args.push((attr.name.clone(), e)),
            None => ok = false,
        }
    }
    let missing: Vec<&str> = child_attrs
        .iter()
        .filter(|c| !c.optional && c.default.is_none() && !seen.contains_key(c.name.as_str()))
        // An attribute whose default is in error has its own diagnostic.
        .filter(|c| !cx.broken_attrs.contains(&c.span))
        .map(|c| c.name.as_str())
        .collect();
    if !missing.is_empty() {
        let list = code_list(missing.iter().copied());
        diags.push(
            Diagnostic::error(
                Code::MissingInput,
                format!(
                    "the include of `{}` lacks its required attributes {list}",
                    inc.product.name
                ),
            )
            .at(inc.span, "incomplete include")
            .with_help(format!(
                "pass them from the bundle's attributes, e.g. `include {}({}: …)`",
                inc.product.name, missing[0]
            )),
        );
        ok = false;
    }
    ok.then(|| Included {
        product: inc.product.name.clone(),
        name: name.name.clone(),
        args,
        span: name.span,
    })
}

/// Every price line in one currency: the first declared (by file and
/// position) sets it.
fn check_currency(products: &BTreeMap<String, Product>, diags: &mut Diagnostics) -> Option<String> {
    let mut lines: Vec<&PriceRule> = products.values().flat_map(|p| &p.prices).collect();
    lines.sort_by_key(|l| (l.span.file, l.span.start));
    let first = lines.first()?;
    let currency = first.amount.currency.clone();
    for l in &lines[1..] {
        if l.amount.currency != currency {
            diags.push(
                Diagnostic::error(
                    Code::Currency,
                    format!(
                        "price in {} but the catalog prices in {currency}",
                        l.amount.currency
                    ),
                )
                .at(l.span, format!("in {}", l.amount.currency))
                .with_related(first.span, format!("the first price sets {currency}"))
                .with_help(format!(
                    "a catalog uses one currency: convert this price to {currency}"
                )),
            );
        }
    }
    Some(currency)
}
