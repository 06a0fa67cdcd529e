//! Order values: a YAML/JSON node read as a value of a catalog type.

use chrono::{DateTime, NaiveDate};
use rust_decimal::Decimal;

use crate::model::Type;
use crate::value::{parse_duration, Money, Value};
use crate::yaml::{Node, NodeKind};

/// Reads a node as a value of `ty`; the error says what was expected, in
/// words. Enum membership, ranges and patterns are checked by the caller.
pub fn value_from_node(node: &Node, ty: &Type) -> Result<Value, String> {
    let text = node.scalar_text();
    let expected = |what: &str| format!("expected {what}, found {}", found(node));
    match ty.base() {
        Type::String | Type::Enum { .. } => match &node.kind {
            NodeKind::String(s) | NodeKind::Number(s) => Ok(Value::String(s.clone())),
            _ => Err(expected("a string")),
        },
        Type::Int => match &node.kind {
            NodeKind::Number(n) => n
                .parse::<i64>()
                .map(Value::Int)
                .map_err(|_| expected("a whole number")),
            _ => Err(expected("a whole number")),
        },
        Type::Decimal => match &node.kind {
            NodeKind::Number(n) => Decimal::from_str_exact(n)
                .map(Value::Decimal)
                .map_err(|_| expected("a number")),
            _ => Err(expected("a number")),
        },
        Type::Bool => match &node.kind {
            NodeKind::Bool(b) => Ok(Value::Bool(*b)),
            _ => Err(expected("true or false")),
        },
        Type::Date => text
            .and_then(|t| NaiveDate::parse_from_str(&t, "%Y-%m-%d").ok())
            .map(Value::Date)
            .ok_or_else(|| expected("a date like 2026-12-01")),
        Type::DateTime => text
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(Value::DateTime)
            .ok_or_else(|| expected("a date and time like 2026-12-01T09:00:00Z")),
        Type::Duration => text
            .and_then(|t| parse_duration(&t))
            .map(Value::Duration)
            .ok_or_else(|| expected("a duration like 30s, 5m or 2h")),
        Type::Money => text
            .and_then(|t| parse_money(&t))
            .map(Value::Money)
            .ok_or_else(|| expected("money like \"39.99 EUR\"")),
        Type::Percent => text
            .and_then(|t| Decimal::from_str_exact(t.trim_end_matches('%')).ok())
            .map(Value::Percent)
            .ok_or_else(|| expected("a percentage like 99.9%")),
        Type::Null | Type::IntRange { .. } | Type::Matching { .. } => Ok(Value::Null),
    }
}

/// Money as an order or a test file writes it: `39.99 EUR`.
pub(crate) fn parse_money(text: &str) -> Option<Money> {
    let (amount, currency) = text.trim().split_once(' ')?;
    let currency = currency.trim();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    Some(Money {
        amount: Decimal::from_str_exact(amount).ok()?,
        currency: currency.to_string(),
    })
}

pub(super) fn found(node: &Node) -> String {
    match &node.kind {
        NodeKind::String(s) => format!("\"{s}\""),
        NodeKind::Number(n) => n.clone(),
        NodeKind::Bool(b) => b.to_string(),
        _ => node.describe().to_string(),
    }
}
