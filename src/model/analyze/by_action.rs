//! Product lines that depend on the item's action (SPEC §8.8): which actions
//! a price line or a `require` applies to, and conditional SLA lines.

use std::collections::BTreeMap;

use super::scope::Scope;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::Sla;
use crate::span::Span;
use crate::syntax::ast::{ItemActions, OrderAction, PriceKind, PriceLine, SlaLine};

/// The actions a price line applies to. A one-off line is an `add` charge
/// unless it names others (a change fee `on modify`, an early termination
/// fee `on delete`); a monthly line prices the state an `add` or `modify`
/// item asks for, so it names none.
pub(super) fn price_actions(line: &PriceLine, diags: &mut Diagnostics) -> Option<Vec<OrderAction>> {
    match (line.kind, &line.on) {
        (PriceKind::Once, None) => Some(vec![OrderAction::Add]),
        (PriceKind::Once, Some(on)) => Some(actions(on, diags)),
        (PriceKind::Monthly, None) => Some(vec![OrderAction::Add, OrderAction::Modify]),
        (PriceKind::Monthly, Some(on)) => {
            diags.push(
                Diagnostic::error(
                    Code::Invalid,
                    "a monthly price is the price of the product's state, not of an action",
                )
                .at(on.span, "a monthly line names no action")
                .with_help(
                    "remove the `on …`: monthly lines price `add` and `modify` items alike, and \
                     a `delete` item has no recurring price; a one-off charge is `price once`",
                ),
            );
            None
        }
    }
}

/// The actions of a `require on …` (duplicates reported, kept once).
pub(super) fn actions(on: &ItemActions, diags: &mut Diagnostics) -> Vec<OrderAction> {
    let mut out: Vec<(OrderAction, Span)> = Vec::new();
    for &(action, span) in &on.actions {
        if let Some((_, first)) = out.iter().find(|(a, _)| *a == action) {
            diags.push(
                Diagnostic::error(
                    Code::Duplicate,
                    format!("`{}` is named twice", action.as_str()),
                )
                .at(span, "named again here")
                .with_related(*first, "first named here")
                .with_help("name each action once"),
            );
            continue;
        }
        out.push((action, span));
    }
    out.into_iter().map(|(a, _)| a).collect()
}

/// SLA lines, in order. A term may have several lines when all but the first
/// are conditional (`sla restore 8h`, `sla restore 4h when premium`): the
/// last that applies gives its value. Lines of one term have one kind of value.
pub(super) fn slas(lines: &[&SlaLine], scope: &Scope<'_, '_>, diags: &mut Diagnostics) -> Vec<Sla> {
    let mut first: BTreeMap<&str, &SlaLine> = BTreeMap::new();
    let mut out = Vec::new();
    for s in lines {
        let when = match &s.when {
            Some(w) => match scope.condition(w, "an SLA condition", diags) {
                Some(w) => Some(w),
                None => continue,
            },
            None => None,
        };
        if let Some(f) = first.get(s.name.name.as_str()) {
            if s.when.is_none() {
                diags.push(
                    Diagnostic::error(
                        Code::Duplicate,
                        format!("sla term `{}` is declared twice", s.name.name),
                    )
                    .at(s.name.span, "declared again here")
                    .with_related(f.name.span, "first declared here")
                    .with_help(format!(
                        "remove one, or give this one a condition: `sla {} … when …`",
                        s.name.name
                    )),
                );
                continue;
            }
            if std::mem::discriminant(&f.value) != std::mem::discriminant(&s.value) {
                diags.push(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        format!(
                            "sla term `{}` is {} here but {} in its first line",
                            s.name.name,
                            kind(&s.value),
                            kind(&f.value)
                        ),
                    )
                    .at(s.value_span, kind(&s.value))
                    .with_related(f.value_span, kind(&f.value))
                    .with_help("every line of one term gives the same kind of value"),
                );
                continue;
            }
        } else {
            first.insert(&s.name.name, s);
        }
        out.push(Sla {
            name: s.name.name.clone(),
            value: s.value.clone(),
            when,
        });
    }
    out
}

fn kind(v: &crate::value::Value) -> &'static str {
    use crate::value::Value;
    match v {
        Value::Percent(_) => "a percentage",
        Value::Duration(_) => "a duration",
        Value::Money(_) => "an amount of money",
        _ => "a number",
    }
}
