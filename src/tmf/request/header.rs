//! The ProductOrder's own fields, beside its items: the customer, the
//! external ids, and the requested dates.

use super::shape;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::Catalog;
use crate::span::Span;
use crate::yaml::{Node, NodeKind};

/// The customer: the `relatedParty` with role Customer, else the one with
/// `@referredType: "Customer"`; its `id` and `name` (v4 on the party, v5 on
/// `partyOrPartyRole`), the order's `notificationContact` as `email`, and
/// the members of an ordo extension `"customer": {…}`.
pub(super) fn customer(
    catalog: &Catalog,
    root: &Node,
    diags: &mut Diagnostics,
) -> (Vec<(String, Span, Node)>, Span) {
    let declared = |field: &str| {
        catalog
            .customer
            .as_ref()
            .is_none_or(|fields| fields.iter().any(|f| f.name == field))
    };
    let parties: &[Node] = match root.get("relatedParty") {
        Some(Node {
            kind: NodeKind::Seq(l),
            ..
        }) => l,
        _ => &[],
    };
    let of = |p: &Node, key: &str| -> Option<Node> {
        p.get(key)
            .or_else(|| p.get("partyOrPartyRole").and_then(|r| r.get(key)))
            .cloned()
    };
    let is = |n: Option<Node>| {
        n.and_then(|n| n.scalar_text())
            .is_some_and(|t| t.eq_ignore_ascii_case("customer"))
    };
    let party = parties
        .iter()
        .find(|p| is(p.get("role").cloned()))
        .or_else(|| parties.iter().find(|p| is(of(p, "@referredType"))));
    let mut out = Vec::new();
    let mut span = root.span;
    if let Some(p) = party {
        span = p.span;
        for key in ["id", "name"] {
            if let Some(v) = of(p, key).filter(|_| declared(key)) {
                out.push((key.to_string(), v.span, v));
            }
        }
    }
    if let Some(v) = root
        .get("notificationContact")
        .filter(|_| declared("email"))
    {
        out.push(("email".to_string(), v.span, v.clone()));
    }
    match root.get("customer") {
        Some(Node {
            kind: NodeKind::Map(entries),
            span: s,
        }) => {
            span = *s;
            for (k, v) in entries {
                let Some(key) = k.scalar_text() else { continue };
                out.retain(|(name, _, _)| *name != key);
                out.push((key, k.span, v.clone()));
            }
        }
        Some(other) => diags.push(shape(other, "customer", "an object")),
        None => {}
    }
    (out, span)
}

pub(super) fn external_ids(root: &Node, diags: &mut Diagnostics) -> Vec<String> {
    match root.get("externalId") {
        None
        | Some(Node {
            kind: NodeKind::Null,
            ..
        }) => Vec::new(),
        Some(Node {
            kind: NodeKind::Seq(list),
            ..
        }) => list
            .iter()
            .filter_map(|n| match n.scalar_text() {
                Some(t) => Some(t),
                None => match n.get("id").and_then(Node::scalar_text) {
                    Some(t) => Some(t),
                    None => {
                        diags.push(
                            Diagnostic::error(Code::OrderSyntax, "an externalId without an `id`")
                                .at(n.span, "no `id`")
                                .with_help("write `{\"id\": \"PO-456\", \"owner\": \"…\"}`"),
                        );
                        None
                    }
                },
            })
            .collect(),
        Some(n) => match n.scalar_text() {
            Some(t) => vec![t],
            None => {
                diags.push(shape(
                    n,
                    "externalId",
                    "a string or a list of external identifiers",
                ));
                Vec::new()
            }
        },
    }
}

pub(super) fn date(root: &Node, key: &str, diags: &mut Diagnostics) -> Option<String> {
    let n = root.get(key)?;
    if matches!(n.kind, NodeKind::Null) {
        return None;
    }
    let text = n
        .as_str()
        .filter(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok());
    if text.is_none() {
        diags.push(
            Diagnostic::error(
                Code::OrderSyntax,
                format!("{key} must be a date and time, found {}", n.describe()),
            )
            .at(n.span, "not a date and time")
            .with_help("write it like \"2026-12-01T09:00:00Z\""),
        );
    }
    text.map(str::to_string)
}

/// A requested date `date` accepted, as the instant rules read it
/// (`order.requested_start`, `wait until`), with its place in the body.
pub(super) fn instant_at(root: &Node, key: &str) -> Option<(chrono::DateTime<chrono::Utc>, Span)> {
    let n = root.get(key)?;
    Some((crate::value::parse_instant(n.as_str()?)?, n.span))
}
