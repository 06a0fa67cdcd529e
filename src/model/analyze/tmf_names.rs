//! The names TM Forum's ProductOrder gives products and attributes:
//! `offering "ID", "NAME", …` on products and bundles, `characteristic
//! "NAME"` on attributes. Each name must lead to one product, and within a
//! product to one attribute.

use std::collections::BTreeMap;

use super::collect::Decls;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::span::Span;
use crate::syntax::ast::{AttrDecl, Member, StringLit};

/// Each product's and bundle's offering names, in source order. A name
/// listed twice, by one product or two, or equal to the name of another
/// product, is `ordo::duplicate`: an order naming it would be ambiguous.
pub(super) fn offerings<'a>(
    decls: &Decls<'a>,
    diags: &mut Diagnostics,
) -> BTreeMap<&'a str, Vec<String>> {
    let mut seen: BTreeMap<&str, (&str, Span)> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for (product, (_, decl)) in &decls.products {
        let mut names = Vec::new();
        for m in &decl.members {
            let Member::Offering(o) = m else { continue };
            for name in &o.names {
                if !usable(name, "an offering", diags) {
                    continue;
                }
                let text = name.value.as_str();
                if let Some((owner, first)) = seen.get(text) {
                    diags.push(twice("offering", name, owner, *first));
                    continue;
                }
                if let Some((_, (_, other))) = decls
                    .products
                    .get_key_value(text)
                    .filter(|(other, _)| *other != product)
                {
                    diags.push(
                        Diagnostic::error(
                            Code::Duplicate,
                            format!(
                                "offering \"{text}\" of `{product}` is the name of another product"
                            ),
                        )
                        .at(name.span, "names another product")
                        .with_related(other.name.span, "that product")
                        .with_help(
                            "an order naming it would be ambiguous; choose another offering name",
                        ),
                    );
                    continue;
                }
                seen.insert(text, (product, name.span));
                names.push(name.value.clone());
            }
        }
        out.insert(*product, names);
    }
    out
}

/// Checks a product's `characteristic` aliases: each names one attribute,
/// so none may repeat another alias or another attribute's name.
pub(super) fn characteristics(attrs: &[AttrDecl], diags: &mut Diagnostics) {
    let mut seen: BTreeMap<&str, (&str, Span)> = attrs
        .iter()
        .map(|a| (a.name.name.as_str(), (a.name.name.as_str(), a.name.span)))
        .collect();
    for a in attrs {
        let Some(c) = &a.characteristic else { continue };
        if !usable(c, "a characteristic", diags) {
            continue;
        }
        match seen.get(c.value.as_str()) {
            Some((owner, _)) if *owner == a.name.name => {}
            Some((owner, first)) => diags.push(twice("characteristic", c, owner, *first)),
            None => {
                seen.insert(&c.value, (&a.name.name, c.span));
            }
        }
    }
}

/// A `characteristic` on a customer field: the customer comes from the
/// ProductOrder's related party, not from characteristics.
pub(super) fn customer_characteristics(attrs: &[AttrDecl], diags: &mut Diagnostics) {
    for c in attrs.iter().filter_map(|a| a.characteristic.as_ref()) {
        diags.push(
            Diagnostic::error(
                Code::Invalid,
                "a customer field cannot have a `characteristic`",
            )
            .at(c.span, "on a customer field")
            .with_help("a ProductOrder's customer is its related party; characteristics set product attributes"),
        );
    }
}

fn usable(name: &StringLit, what: &str, diags: &mut Diagnostics) -> bool {
    let ok = !name.value.trim().is_empty();
    if !ok {
        diags.push(
            Diagnostic::error(Code::Invalid, format!("{what} name cannot be empty"))
                .at(name.span, "empty name")
                .with_help("write the name a ProductOrder uses, such as \"Fibre 1G\""),
        );
    }
    ok
}

fn twice(what: &str, name: &StringLit, owner: &str, first: Span) -> Diagnostic {
    Diagnostic::error(
        Code::Duplicate,
        format!("{what} \"{}\" is declared twice", name.value),
    )
    .at(name.span, "declared again here")
    .with_related(first, format!("first declared here, for `{owner}`"))
    .with_help(format!(
        "a ProductOrder naming it would be ambiguous; keep one {what} of this name"
    ))
}
