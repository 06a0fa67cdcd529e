//! Constant values: attribute defaults, and whether a value fits a type.

use std::collections::BTreeMap;

use regex::Regex;

use super::collect::Context;
use super::scope::Scope;
use crate::diagnostic::{did_you_mean, Code, Diagnostic, Diagnostics};
use crate::model::{EnumDef, Type};
use crate::syntax::ast;
use crate::value::Value;

/// Checks a default expression: constant, of the attribute's type.
pub(super) fn const_value(
    cx: &Context<'_>,
    e: &ast::Expr,
    ty: &Type,
    diags: &mut Diagnostics,
) -> Option<Value> {
    let scope = Scope::constant(cx);
    let typed = scope.expect(e, ty, "the default", diags)?;
    match typed.eval(&mut |_| None) {
        Ok(v) => Some(v),
        Err(err) => {
            diags.push(
                Diagnostic::error(
                    Code::TypeMismatch,
                    format!("the default cannot be computed: {err}"),
                )
                .at(e.span, "not a constant value")
                .with_help("a default is a literal value of the attribute's type"),
            );
            None
        }
    }
}

/// Whether a value is a member of its type; the error says why not, in words.
pub(crate) fn value_fits(
    v: &Value,
    ty: &Type,
    enums: &BTreeMap<String, EnumDef>,
    patterns: &BTreeMap<String, Regex>,
) -> Result<(), String> {
    match (v, ty) {
        (Value::String(s), Type::Enum { name }) => {
            let Some(def) = enums.get(name) else {
                return Ok(());
            };
            // An empty enum is its own error; no value is checked against it.
            if def.values.is_empty() || def.values.iter().any(|x| x == s) {
                return Ok(());
            }
            let list = def
                .values
                .iter()
                .map(|x| format!("\"{x}\""))
                .collect::<Vec<_>>()
                .join(", ");
            let hint = did_you_mean(s, def.values.iter().map(String::as_str))
                .map(|m| format!("; did you mean \"{m}\"?"))
                .unwrap_or_default();
            Err(format!(
                "\"{s}\" is not a {name}: expected one of {list}{hint}"
            ))
        }
        (Value::String(s), Type::Matching { pattern }) => match patterns.get(pattern) {
            Some(re) if !re.is_match(s) => {
                Err(format!("\"{s}\" does not match the pattern \"{pattern}\""))
            }
            _ => Ok(()),
        },
        (Value::Int(i), Type::IntRange { lo, hi }) => {
            if (*lo..=*hi).contains(i) {
                Ok(())
            } else {
                Err(format!("{i} is outside the range {lo}..{hi}"))
            }
        }
        (Value::String(_), Type::String)
        | (Value::Int(_), Type::Int | Type::Decimal)
        | (Value::Decimal(_), Type::Decimal)
        | (Value::Bool(_), Type::Bool)
        | (Value::Date(_), Type::Date)
        | (Value::DateTime(_), Type::DateTime)
        | (Value::Duration(_), Type::Duration)
        | (Value::Money(_), Type::Money)
        | (Value::Percent(_), Type::Percent)
        | (_, Type::Null) => Ok(()),
        _ => Err(format!("{} is not a {ty}", describe_value(v))),
    }
}

fn describe_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("the string \"{s}\""),
        Value::Int(i) => format!("the number {i}"),
        Value::Decimal(d) => format!("the number {d}"),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Null => "null".into(),
        other => format!("`{other}`"),
    }
}
