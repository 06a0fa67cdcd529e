//! Resolved, typed expressions, and their evaluation.
//!
//! One expression type serves the catalog and the plan: decomposition
//! replaces every reference it can answer at plan time by its value, leaving
//! only [`Ref::TaskOutput`], which the executor answers at run time.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::types::Type;
use crate::span::Span;
use crate::syntax::ast::{BinOp, OrderAction, PriceKind, UnOp};
use crate::value::{Money, Value};

/// A task named from a rule block.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "scope", rename_all = "snake_case")]
pub enum TaskRef {
    /// A task of the same rule block (or of the order block, from the order block).
    Local { task: String },
    /// A task of the relied-on item: `P.task`.
    Relied { product: String, task: String },
    /// An order-level task: `order.task`.
    Order { task: String },
}

impl std::fmt::Display for TaskRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TaskRef::Local { task } => f.write_str(task),
            TaskRef::Relied { product, task } => write!(f, "{product}.{task}"),
            TaskRef::Order { task } => write!(f, "order.{task}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "ref", rename_all = "snake_case")]
pub enum Ref {
    Attr {
        name: String,
    },
    Output {
        task: TaskRef,
        output: String,
    },
    OrderId,
    Customer {
        field: String,
    },
    OrderPrice {
        kind: PriceKind,
    },
    /// `order.adds`, `order.modifies`, `order.deletes`: how many of the
    /// order's items carry the action (a bundle's children count once, with
    /// their bundle).
    OrderCount {
        action: OrderAction,
    },
    /// `order.requested_start`: a datetime, null when the order gives none.
    RequestedStart,
    /// `order.requested_completion`: a datetime, null when the order gives none.
    RequestedCompletion,
    ItemId,
    ItemPrice {
        kind: PriceKind,
    },
    /// `installed.NAME`: the attribute of the instance a modify or delete
    /// item changes, before the change (SPEC §8.1).
    Installed {
        name: String,
    },
    /// `installed.TASK.OUTPUT`: an output recorded on that instance; null
    /// when it holds none.
    InstalledOutput {
        task: String,
        output: String,
    },
    /// A plan task's output, by task id: the only reference left in a plan.
    TaskOutput {
        task: String,
        output: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: Type,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExprKind {
    Lit(Value),
    Ref(Ref),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    In(Box<Expr>, Vec<Expr>),
    /// `if COND then A else B`.
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// A presence test: `x != null` (true) or `x == null` (false). Kept apart
    /// from `==`, which is false whenever a side is null, so that a value the
    /// plan substitutes (an absent task's output is null) cannot turn a
    /// comparison into a presence test.
    Present(Box<Expr>, bool),
}

/// A `require` message: text with `{expr}` parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub parts: Vec<MessagePart>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessagePart {
    Text(String),
    Expr(Expr),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    #[error("no value for {0}")]
    Unbound(String),
    #[error("division by zero")]
    DivisionByZero,
    #[error("arithmetic overflow")]
    Overflow,
    #[error("cannot apply `{op}` to {left} and {right}")]
    Operands {
        op: &'static str,
        left: String,
        right: String,
    },
}

impl Expr {
    pub fn lit(value: Value, ty: Type, span: Span) -> Expr {
        Expr {
            kind: ExprKind::Lit(value),
            ty,
            span,
        }
    }

    /// Every reference in the expression, in source order.
    pub fn refs(&self) -> Vec<&Ref> {
        self.spanned_refs().into_iter().map(|(r, _)| r).collect()
    }

    /// Whether the expression reads any reference: `!refs().is_empty()`,
    /// without collecting them (asked of every node `substitute` builds).
    pub fn has_refs(&self) -> bool {
        match &self.kind {
            ExprKind::Lit(_) => false,
            ExprKind::Ref(_) => true,
            ExprKind::Unary(_, x) | ExprKind::Present(x, _) => x.has_refs(),
            ExprKind::Binary(_, a, b) => a.has_refs() || b.has_refs(),
            ExprKind::In(x, list) => x.has_refs() || list.iter().any(Expr::has_refs),
            ExprKind::If(c, a, b) => c.has_refs() || a.has_refs() || b.has_refs(),
        }
    }

    /// Every reference with the span of the expression that reads it.
    pub fn spanned_refs(&self) -> Vec<(&Ref, Span)> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            match &e.kind {
                ExprKind::Lit(_) => {}
                ExprKind::Ref(r) => out.push((r, e.span)),
                ExprKind::Unary(_, x) => stack.push(x),
                ExprKind::Binary(_, a, b) => {
                    stack.push(b);
                    stack.push(a);
                }
                ExprKind::In(x, list) => {
                    stack.extend(list.iter().rev());
                    stack.push(x);
                }
                ExprKind::If(c, a, b) => stack.extend([b, a, c].map(|x| &**x)),
                ExprKind::Present(x, _) => stack.push(x),
            }
        }
        out
    }

    /// Replaces references `f` answers (by a value or another reference), and
    /// folds what became constant.
    pub fn substitute(&self, f: &mut impl FnMut(&Ref) -> Option<Replacement>) -> Expr {
        let kind = match &self.kind {
            ExprKind::Lit(v) => ExprKind::Lit(v.clone()),
            ExprKind::Ref(r) => match f(r) {
                Some(Replacement::Value(v)) => ExprKind::Lit(v),
                Some(Replacement::Ref(r)) => ExprKind::Ref(r),
                None => ExprKind::Ref(r.clone()),
            },
            ExprKind::Unary(op, x) => ExprKind::Unary(*op, Box::new(x.substitute(f))),
            ExprKind::Binary(op, a, b) => {
                ExprKind::Binary(*op, Box::new(a.substitute(f)), Box::new(b.substitute(f)))
            }
            ExprKind::In(x, list) => ExprKind::In(
                Box::new(x.substitute(f)),
                list.iter().map(|e| e.substitute(f)).collect(),
            ),
            ExprKind::If(c, a, b) => ExprKind::If(
                Box::new(c.substitute(f)),
                Box::new(a.substitute(f)),
                Box::new(b.substitute(f)),
            ),
            ExprKind::Present(x, present) => ExprKind::Present(Box::new(x.substitute(f)), *present),
        };
        let e = simplify(Expr {
            kind,
            ty: self.ty.clone(),
            span: self.span,
        });
        if !matches!(e.kind, ExprKind::Lit(_)) && !e.has_refs() {
            if let Ok(v) = e.eval(&mut |_| None) {
                return Expr::lit(v, e.ty, e.span);
            }
        }
        e
    }

    pub fn as_lit(&self) -> Option<&Value> {
        match &self.kind {
            ExprKind::Lit(v) => Some(v),
            _ => None,
        }
    }

    /// Evaluates with `lookup` answering references.
    pub fn eval(&self, lookup: &mut impl FnMut(&Ref) -> Option<Value>) -> Result<Value, EvalError> {
        match &self.kind {
            ExprKind::Lit(v) => Ok(v.clone()),
            ExprKind::Ref(r) => lookup(r).ok_or_else(|| EvalError::Unbound(describe_ref(r))),
            ExprKind::Unary(UnOp::Not, x) => match x.eval(lookup)? {
                Value::Bool(b) => Ok(Value::Bool(!b)),
                // An absent value is falsy, so `not` of it is true.
                Value::Null => Ok(Value::Bool(true)),
                v => Err(operands("not", &v, &v)),
            },
            ExprKind::Unary(UnOp::Neg, x) => match x.eval(lookup)? {
                Value::Null => Ok(Value::Null),
                Value::Int(i) => i.checked_neg().map(Value::Int).ok_or(EvalError::Overflow),
                Value::Decimal(d) => Ok(Value::Decimal(-d)),
                Value::Money(m) => Ok(Value::Money(Money {
                    amount: -m.amount,
                    currency: m.currency,
                })),
                v => Err(operands("-", &v, &v)),
            },
            ExprKind::Binary(BinOp::And, a, b) => {
                if !truthy(&a.eval(lookup)?) {
                    return Ok(Value::Bool(false));
                }
                Ok(Value::Bool(truthy(&b.eval(lookup)?)))
            }
            ExprKind::Binary(BinOp::Or, a, b) => {
                if truthy(&a.eval(lookup)?) {
                    return Ok(Value::Bool(true));
                }
                Ok(Value::Bool(truthy(&b.eval(lookup)?)))
            }
            ExprKind::Binary(BinOp::Coalesce, a, b) => match a.eval(lookup)? {
                Value::Null => b.eval(lookup),
                v => Ok(v),
            },
            ExprKind::Binary(op, a, b) => binary(*op, a.eval(lookup)?, b.eval(lookup)?),
            ExprKind::If(c, a, b) => {
                if truthy(&c.eval(lookup)?) {
                    a.eval(lookup)
                } else {
                    b.eval(lookup)
                }
            }
            ExprKind::Present(x, present) => {
                Ok(Value::Bool((x.eval(lookup)? != Value::Null) == *present))
            }
            ExprKind::In(x, list) => {
                let v = x.eval(lookup)?;
                for item in list {
                    if equal(&v, &item.eval(lookup)?) {
                        return Ok(Value::Bool(true));
                    }
                }
                Ok(Value::Bool(false))
            }
        }
    }
}

/// `x or true` is true and `x and false` false whatever `x` is; `x or false`
/// and `x and true` are `x`. So a condition half known at plan time may be
/// decided there. Likewise an `if` whose condition is known is its branch,
/// and `a ?? b` is `a` when `a` is a known value, `b` when it is known null.
fn simplify(e: Expr) -> Expr {
    match e.kind {
        ExprKind::If(c, a, b) => {
            return match c.as_lit() {
                Some(v) if truthy(v) => *a,
                Some(_) => *b,
                None => Expr {
                    kind: ExprKind::If(c, a, b),
                    ..e
                },
            }
        }
        ExprKind::Binary(BinOp::Coalesce, a, b) => {
            return match a.as_lit() {
                Some(Value::Null) => *b,
                Some(_) => *a,
                None => Expr {
                    kind: ExprKind::Binary(BinOp::Coalesce, a, b),
                    ..e
                },
            }
        }
        _ => {}
    }
    let ExprKind::Binary(op @ (BinOp::And | BinOp::Or), a, b) = e.kind else {
        return e;
    };
    let absorbing = op == BinOp::Or; // `or true`, `and false`
    let lit = |x: &Expr| match x.kind {
        ExprKind::Lit(Value::Bool(v)) => Some(v),
        _ => None,
    };
    match (lit(&a), lit(&b)) {
        (Some(v), _) | (_, Some(v)) if v == absorbing => {
            Expr::lit(Value::Bool(v), Type::Bool, e.span)
        }
        (Some(_), _) => *b,
        (_, Some(_)) => *a,
        _ => Expr {
            kind: ExprKind::Binary(op, a, b),
            ..e
        },
    }
}

pub enum Replacement {
    Value(Value),
    Ref(Ref),
}

/// What is known of a condition: decided, or left open for run time.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Holds(bool),
    Open(Expr),
}

impl Expr {
    /// Whether a condition holds, everything known: an absent (null)
    /// condition does not. The decision of the executor, and of plan time for
    /// conditions on attributes.
    pub fn holds(&self, lookup: &mut impl FnMut(&Ref) -> Option<Value>) -> Result<bool, EvalError> {
        self.eval(lookup).map(|v| truthy(&v))
    }

    /// A condition as far as `f` knows its references (see
    /// [`Expr::substitute`]): decided where that suffices, with the answer
    /// [`Expr::holds`] gives, else the condition left for run time. So what
    /// plan time decides, run time would decide alike.
    pub fn decide(&self, f: &mut impl FnMut(&Ref) -> Option<Replacement>) -> Decision {
        let e = self.substitute(f);
        match e.as_lit() {
            Some(v) => Decision::Holds(truthy(v)),
            None => Decision::Open(e),
        }
    }
}

impl Message {
    pub fn render(&self, lookup: &mut impl FnMut(&Ref) -> Option<Value>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                MessagePart::Text(t) => out.push_str(t),
                MessagePart::Expr(e) => match e.eval(lookup) {
                    Ok(v) => out.push_str(&v.to_string()),
                    Err(_) => out.push('?'),
                },
            }
        }
        out
    }

    pub fn substitute(&self, f: &mut impl FnMut(&Ref) -> Option<Replacement>) -> Message {
        Message {
            parts: self
                .parts
                .iter()
                .map(|p| match p {
                    MessagePart::Text(t) => MessagePart::Text(t.clone()),
                    MessagePart::Expr(e) => MessagePart::Expr(e.substitute(f)),
                })
                .collect(),
        }
    }

    pub fn exprs(&self) -> impl Iterator<Item = &Expr> {
        self.parts.iter().filter_map(|p| match p {
            MessagePart::Expr(e) => Some(e),
            MessagePart::Text(_) => None,
        })
    }
}

pub fn describe_ref(r: &Ref) -> String {
    match r {
        Ref::Attr { name } => name.clone(),
        Ref::Output { task, output } => format!("{task}.{output}"),
        Ref::OrderId => "order.id".into(),
        Ref::Customer { field } => format!("order.customer.{field}"),
        Ref::OrderPrice { kind } => format!("order.price.{}", kind.as_str()),
        Ref::OrderCount { action } => format!("order.{}", count_name(*action)),
        Ref::RequestedStart => "order.requested_start".into(),
        Ref::RequestedCompletion => "order.requested_completion".into(),
        Ref::ItemId => "item.id".into(),
        Ref::ItemPrice { kind } => format!("price.{}", kind.as_str()),
        Ref::TaskOutput { task, output } => format!("{task}.{output}"),
        Ref::Installed { name } => format!("installed.{name}"),
        Ref::InstalledOutput { task, output } => format!("installed.{task}.{output}"),
    }
}

/// The name of `order.adds`, `order.modifies`, `order.deletes`.
pub fn count_name(action: OrderAction) -> &'static str {
    match action {
        OrderAction::Add => "adds",
        OrderAction::Modify => "modifies",
        OrderAction::Delete => "deletes",
    }
}

/// Conditions treat an absent value as false.
pub fn truthy(v: &Value) -> bool {
    matches!(v, Value::Bool(true))
}

/// Equality of two present values. A comparison with null is false, `!=`
/// too (SPEC §8.8): presence is tested with [`ExprKind::Present`].
fn equal(a: &Value, b: &Value) -> bool {
    *a != Value::Null && a.compare(b) == Some(std::cmp::Ordering::Equal)
}

fn operands(op: &'static str, a: &Value, b: &Value) -> EvalError {
    EvalError::Operands {
        op,
        left: a.to_string(),
        right: b.to_string(),
    }
}

fn decimal_of(v: &Value) -> Option<Decimal> {
    match v {
        Value::Int(i) => Some(Decimal::from(*i)),
        Value::Decimal(d) => Some(*d),
        _ => None,
    }
}

fn binary(op: BinOp, a: Value, b: Value) -> Result<Value, EvalError> {
    use std::cmp::Ordering::*;
    let cmp = |a: &Value, b: &Value| a.compare(b);
    if a == Value::Null || b == Value::Null {
        // Null is unequal, unordered and absorbs arithmetic: `null + 1` is
        // null, so `credit.score + 1 > 600` is false without `credit`.
        return Ok(match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div => Value::Null,
            _ => Value::Bool(false),
        });
    }
    Ok(match op {
        BinOp::Eq => Value::Bool(equal(&a, &b)),
        BinOp::Ne => Value::Bool(!equal(&a, &b)),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            // Comparing with an absent value is false, never an error.
            let Some(o) = cmp(&a, &b) else {
                if matches!(a, Value::Null) || matches!(b, Value::Null) {
                    return Ok(Value::Bool(false));
                }
                return Err(operands(op.symbol(), &a, &b));
            };
            Value::Bool(match op {
                BinOp::Lt => o == Less,
                BinOp::Le => o != Greater,
                BinOp::Gt => o == Greater,
                _ => o != Less,
            })
        }
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div => arithmetic(op, a, b)?,
        BinOp::And | BinOp::Or | BinOp::Coalesce => {
            unreachable!("short-circuit operators are evaluated in Expr::eval")
        }
    })
}

fn arithmetic(op: BinOp, a: Value, b: Value) -> Result<Value, EvalError> {
    let dec = |x: Decimal, y: Decimal| -> Result<Decimal, EvalError> {
        match op {
            BinOp::Add => x.checked_add(y).ok_or(EvalError::Overflow),
            BinOp::Sub => x.checked_sub(y).ok_or(EvalError::Overflow),
            BinOp::Mul => x.checked_mul(y).ok_or(EvalError::Overflow),
            _ if y.is_zero() => Err(EvalError::DivisionByZero),
            _ => x.checked_div(y).ok_or(EvalError::Overflow),
        }
    };
    match (&a, &b) {
        (Value::Int(x), Value::Int(y)) => {
            let r = match op {
                BinOp::Add => x.checked_add(*y),
                BinOp::Sub => x.checked_sub(*y),
                BinOp::Mul => x.checked_mul(*y),
                _ => return dec(Decimal::from(*x), Decimal::from(*y)).map(Value::Decimal),
            };
            r.map(Value::Int).ok_or(EvalError::Overflow)
        }
        (Value::Money(x), Value::Money(y))
            if matches!(op, BinOp::Add | BinOp::Sub) && x.currency == y.currency =>
        {
            Ok(Value::Money(Money {
                amount: dec(x.amount, y.amount)?,
                currency: x.currency.clone(),
            }))
        }
        (Value::Money(m), n)
            if matches!(op, BinOp::Mul | BinOp::Div) && decimal_of(n).is_some() =>
        {
            Ok(Value::Money(Money {
                amount: dec(m.amount, decimal_of(n).unwrap_or_default())?,
                currency: m.currency.clone(),
            }))
        }
        (n, Value::Money(m)) if op == BinOp::Mul && decimal_of(n).is_some() => {
            Ok(Value::Money(Money {
                amount: dec(decimal_of(n).unwrap_or_default(), m.amount)?,
                currency: m.currency.clone(),
            }))
        }
        (Value::Duration(x), Value::Duration(y)) if matches!(op, BinOp::Add | BinOp::Sub) => {
            let r = if op == BinOp::Add {
                x.checked_add(*y)
            } else {
                x.checked_sub(*y)
            };
            r.map(Value::Duration).ok_or(EvalError::Overflow)
        }
        (Value::String(x), Value::String(y)) if op == BinOp::Add => {
            Ok(Value::String(format!("{x}{y}")))
        }
        _ => match (decimal_of(&a), decimal_of(&b)) {
            (Some(x), Some(y)) => dec(x, y).map(Value::Decimal),
            _ => Err(operands(op.symbol(), &a, &b)),
        },
    }
}

impl std::fmt::Display for Expr {
    /// The expression in ordo syntax, with the parentheses its structure needs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&show(self, 0))
    }
}

/// Binding strength, loosest first, as in the grammar.
fn precedence(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::If(..) => 0,
        ExprKind::Present(..) => 4,
        ExprKind::Binary(BinOp::Coalesce, ..) => 5,
        ExprKind::Binary(BinOp::Or, ..) => 1,
        ExprKind::Binary(BinOp::And, ..) => 2,
        ExprKind::Unary(UnOp::Not, _) => 3,
        ExprKind::Binary(
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge,
            ..,
        )
        | ExprKind::In(..) => 4,
        ExprKind::Binary(BinOp::Add | BinOp::Sub, ..) => 6,
        ExprKind::Binary(BinOp::Mul | BinOp::Div, ..) => 7,
        ExprKind::Unary(UnOp::Neg, _) => 8,
        ExprKind::Lit(_) | ExprKind::Ref(_) => 9,
    }
}

fn show(e: &Expr, min: u8) -> String {
    let p = precedence(e);
    let text = match &e.kind {
        ExprKind::Lit(Value::String(s)) => format!("{s:?}"),
        ExprKind::Lit(v) => v.to_string(),
        ExprKind::Ref(r) => describe_ref(r),
        ExprKind::Unary(UnOp::Not, x) => format!("not {}", show(x, p)),
        ExprKind::Unary(UnOp::Neg, x) => format!("-{}", show(x, p)),
        // Left-associative: the right operand needs parentheses at equal strength.
        ExprKind::Binary(op, a, b) => format!("{} {} {}", show(a, p), op.symbol(), show(b, p + 1)),
        ExprKind::If(c, a, b) => {
            format!("if {} then {} else {}", show(c, 0), show(a, 0), show(b, 0))
        }
        ExprKind::Present(x, present) => {
            format!(
                "{} {} null",
                show(x, p + 1),
                if *present { "!=" } else { "==" }
            )
        }
        ExprKind::In(x, list) => format!(
            "{} in [{}]",
            show(x, p + 1),
            list.iter()
                .map(|i| show(i, 0))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    if p < min {
        format!("({text})")
    } else {
        text
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod simplify_tests;
