//! Name resolution and static typing of expressions: what each place in a
//! catalog can see, and the type of everything it computes.

use std::collections::BTreeMap;

use super::collect::Context;
use super::nulls::one_type;
use super::values::value_fits;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::expr::{Expr, ExprKind, Ref, TaskRef};
use crate::model::types::a as an;
use crate::model::{ActionDef, AttrDef, ParamDef, Type};
use crate::span::Span;
use crate::syntax::ast::{self, BinOp, OrderAction, PriceKind, UnOp};
use crate::value::Value;

mod names;
pub(super) use names::action_output;

/// A task as other tasks see it before it is resolved.
#[derive(Debug, Clone)]
pub(super) struct TaskSig {
    pub action: String,
    pub stage: usize,
    pub span: Span,
    /// Whether the task has a `when`, so may be absent and its outputs null.
    pub conditional: bool,
}

/// The signatures of one block's tasks, by name.
pub(super) type BlockSigs = BTreeMap<String, TaskSig>;

/// Signatures of every task: per product and rule block, and the order block.
/// Keyed by product first, so a product's blocks are found by a `&str`
/// without building a key, and without a scan of every block.
#[derive(Default)]
pub(super) struct Sigs {
    pub blocks: BTreeMap<String, BTreeMap<OrderAction, BlockSigs>>,
    pub order: BlockSigs,
}

impl Sigs {
    pub fn block(&self, product: &str, action: OrderAction) -> Option<&BlockSigs> {
        self.blocks.get(product)?.get(&action)
    }

    /// The rule blocks of a product, in the order of their actions.
    pub fn blocks_of<'x>(&'x self, product: &str) -> impl Iterator<Item = &'x BlockSigs> + Clone {
        self.blocks
            .get(product)
            .into_iter()
            .flat_map(|b| b.values())
    }

    pub fn relied(&self, product: &str, action: OrderAction, task: &str) -> Option<&TaskSig> {
        // The relied-on item may carry any action: prefer the same block, else any.
        self.block(product, action)
            .and_then(|b| b.get(task))
            .or_else(|| self.blocks_of(product).find_map(|b| b.get(task)))
    }

    pub fn relied_names(&self, product: &str) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .blocks_of(product)
            .flat_map(|b| b.keys().map(String::as_str))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

/// The task whose clauses are being checked.
#[derive(Clone, Copy)]
pub(super) struct Current<'s> {
    pub name: &'s str,
    pub stage: usize,
    /// Whether the task's own outputs are readable (in `require` and `undo`).
    pub own_outputs: bool,
}

/// What an expression can see.
pub(super) struct Scope<'s, 'a> {
    pub cx: &'s Context<'a>,
    pub sigs: Option<&'s Sigs>,
    pub attrs: &'s [AttrDef],
    /// Inside a product: `item.id`, `price.*`, and its rule block for local tasks.
    pub product: Option<(&'s str, OrderAction)>,
    pub relies: &'s [String],
    /// Products named by a `relies on` that is in error: reading their
    /// tasks only repeats it.
    pub unresolved: &'s [String],
    /// In the order block, local tasks are order tasks.
    pub in_order_block: bool,
    /// Whether task outputs may be read at all.
    pub outputs: bool,
    /// Whether `order.*` may be read.
    pub order_refs: bool,
    /// A product's own lines (`require`, `price … when`, `sla … when`,
    /// `include` arguments): decided when the order is planned, from the
    /// item's attributes. Otherwise, without tasks, a default.
    pub item_lines: bool,
    pub current: Option<Current<'s>>,
}

type Typed = Option<Expr>;

impl<'s, 'a> Scope<'s, 'a> {
    /// A scope that sees nothing: for defaults.
    pub fn constant(cx: &'s Context<'a>) -> Scope<'s, 'a> {
        Scope {
            cx,
            sigs: None,
            attrs: &[],
            product: None,
            relies: &[],
            unresolved: &[],
            in_order_block: false,
            outputs: false,
            order_refs: false,
            item_lines: false,
            current: None,
        }
    }

    /// Checks an expression of the expected type; narrowing literals (a
    /// string into an enum, an int into a range) are checked on the value.
    /// `what` is worded only for an error (`format_args!`, not `format!`).
    pub fn expect(
        &self,
        e: &ast::Expr,
        ty: &Type,
        what: impl std::fmt::Display,
        diags: &mut Diagnostics,
    ) -> Typed {
        let typed = self.expr(e, diags)?;
        if !typed.ty.fits(ty) {
            diags.push(
                Diagnostic::error(
                    Code::TypeMismatch,
                    format!("{what} must be {}, found {}", an(ty), an(&typed.ty)),
                )
                .at(e.span, format!("this is {}", an(&typed.ty)))
                .with_help(conversion_help(&typed.ty, ty)),
            );
            return None;
        }
        if let Some(v) = typed.as_lit() {
            if let Err(reason) = value_fits(v, ty, &self.cx.enums, &self.cx.patterns) {
                diags.push(
                    Diagnostic::error(Code::TypeMismatch, reason.clone())
                        .at(e.span, format!("not a valid {ty}"))
                        .with_help(enum_help(ty, self.cx).unwrap_or(reason)),
                );
                return None;
            }
        }
        Some(Expr {
            ty: ty_after(&typed.ty, ty),
            ..typed
        })
    }

    pub fn condition(&self, e: &ast::Expr, what: &str, diags: &mut Diagnostics) -> Typed {
        self.expect(e, &Type::Bool, what, diags)
    }

    pub fn expr(&self, e: &ast::Expr, diags: &mut Diagnostics) -> Typed {
        let span = e.span;
        match &e.kind {
            ast::ExprKind::Lit(v) => Some(Expr::lit(v.clone(), literal_type(v), span)),
            ast::ExprKind::Path(parts) => self.path(parts, span, diags),
            ast::ExprKind::Unary(op, x) => {
                let x = self.expr(x, diags)?;
                let ty = match op {
                    UnOp::Not if matches!(x.ty, Type::Bool | Type::Null) => Type::Bool,
                    UnOp::Neg if x.ty.is_numeric() || x.ty == Type::Money => x.ty.base(),
                    _ => {
                        let op_text = if *op == UnOp::Not { "not" } else { "-" };
                        diags.push(
                            Diagnostic::error(
                                Code::TypeMismatch,
                                format!("`{op_text}` does not apply to {}", an(&x.ty)),
                            )
                            .at(x.span, format!("this is {}", an(&x.ty)))
                            .with_help(if *op == UnOp::Not {
                                "`not` takes a bool"
                            } else {
                                "`-` takes a number or money"
                            }),
                        );
                        return None;
                    }
                };
                Some(Expr {
                    kind: ExprKind::Unary(*op, Box::new(x)),
                    ty,
                    span,
                })
            }
            ast::ExprKind::If(c, a, b) => self.if_expr(c, a, b, span, diags),
            ast::ExprKind::Binary(op @ (BinOp::Eq | BinOp::Ne), x, null)
            | ast::ExprKind::Binary(op @ (BinOp::Eq | BinOp::Ne), null, x)
                if matches!(null.kind, ast::ExprKind::Lit(Value::Null)) =>
            {
                self.presence(*op == BinOp::Ne, x, span, diags)
            }
            ast::ExprKind::Binary(op, a, b) => {
                let (a, b) = (self.expr(a, diags), self.expr(b, diags));
                let (a, b) = (a?, b?);
                let ty = self.binary_type(*op, &a, &b, diags)?;
                Some(Expr {
                    kind: ExprKind::Binary(*op, Box::new(a), Box::new(b)),
                    ty,
                    span,
                })
            }
            ast::ExprKind::In(x, list) => {
                let x = self.expr(x, diags)?;
                let mut items = Vec::new();
                let mut ok = true;
                for item in list {
                    match self.expr(item, diags) {
                        Some(t) if t.ty.comparable(&x.ty) => {
                            if let Some(v) = t.as_lit() {
                                if let Err(reason) =
                                    value_fits(v, &x.ty, &self.cx.enums, &self.cx.patterns)
                                {
                                    if matches!(x.ty, Type::Enum { .. }) {
                                        diags.push(
                                            Diagnostic::error(Code::TypeMismatch, reason)
                                                .at(t.span, format!("not a {}", x.ty))
                                                .with_help(
                                                    enum_help(&x.ty, self.cx).unwrap_or_default(),
                                                ),
                                        );
                                        ok = false;
                                    }
                                }
                            }
                            items.push(t);
                        }
                        Some(t) => {
                            diags.push(
                                Diagnostic::error(
                                    Code::TypeMismatch,
                                    format!(
                                        "{} cannot be in a list compared with {}",
                                        an(&t.ty),
                                        an(&x.ty)
                                    ),
                                )
                                .at(t.span, format!("this is {}", an(&t.ty)))
                                .with_related(x.span, format!("this is {}", an(&x.ty)))
                                .with_help(
                                    "every value of an `in` list has the type of the left side",
                                ),
                            );
                            ok = false;
                        }
                        None => ok = false,
                    }
                }
                ok.then(|| Expr {
                    kind: ExprKind::In(Box::new(x), items),
                    ty: Type::Bool,
                    span,
                })
            }
        }
    }

    fn binary_type(&self, op: BinOp, a: &Expr, b: &Expr, diags: &mut Diagnostics) -> Option<Type> {
        let (ta, tb) = (&a.ty, &b.ty);
        let result = match op {
            BinOp::And | BinOp::Or => {
                let bad = [a, b]
                    .into_iter()
                    .find(|x| !matches!(x.ty, Type::Bool | Type::Null));
                match bad {
                    None => Some(Type::Bool),
                    Some(x) => {
                        diags.push(
                            Diagnostic::error(
                                Code::TypeMismatch,
                                format!("`{}` takes bools, found {}", op.symbol(), an(&x.ty)),
                            )
                            .at(x.span, format!("this is {}", an(&x.ty)))
                            .with_help("compare it to get a bool, e.g. `x == \"…\"`"),
                        );
                        return None;
                    }
                }
            }
            BinOp::Eq | BinOp::Ne => {
                if !ta.comparable(tb) {
                    None
                } else {
                    // A string literal compared with an enum must be one of its values.
                    for (x, y) in [(a, b), (b, a)] {
                        if let (Type::Enum { .. }, Some(v @ Value::String(_))) = (&x.ty, y.as_lit())
                        {
                            if let Err(reason) =
                                value_fits(v, &x.ty, &self.cx.enums, &self.cx.patterns)
                            {
                                diags.push(
                                    Diagnostic::error(Code::TypeMismatch, reason)
                                        .at(y.span, format!("not a {}", x.ty))
                                        .with_related(x.span, format!("this is {}", an(&x.ty)))
                                        .with_help(enum_help(&x.ty, self.cx).unwrap_or_default()),
                                );
                                return None;
                            }
                        }
                    }
                    Some(Type::Bool)
                }
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let ok = ta.ordered() && tb.ordered() && (ta.comparable(tb));
                ok.then_some(Type::Bool)
            }
            BinOp::Add | BinOp::Sub => match (ta.base(), tb.base()) {
                (Type::Int, Type::Int) => Some(Type::Int),
                (x, y) if x.is_numeric() && y.is_numeric() => Some(Type::Decimal),
                (Type::Money, Type::Money) => Some(Type::Money),
                (Type::Duration, Type::Duration) => Some(Type::Duration),
                (Type::String, Type::String) if op == BinOp::Add => Some(Type::String),
                _ => None,
            },
            BinOp::Mul => match (ta.base(), tb.base()) {
                (Type::Int, Type::Int) => Some(Type::Int),
                (x, y) if x.is_numeric() && y.is_numeric() => Some(Type::Decimal),
                (Type::Money, y) if y.is_numeric() => Some(Type::Money),
                (x, Type::Money) if x.is_numeric() => Some(Type::Money),
                _ => None,
            },
            BinOp::Div => match (ta.base(), tb.base()) {
                (x, y) if x.is_numeric() && y.is_numeric() => Some(Type::Decimal),
                (Type::Money, y) if y.is_numeric() => Some(Type::Money),
                _ => None,
            },
            BinOp::Coalesce => one_type(ta, tb),
        };
        if result.is_none() {
            diags.push(
                Diagnostic::error(
                    Code::TypeMismatch,
                    format!(
                        "`{}` does not apply to {} and {}",
                        op.symbol(),
                        an(ta),
                        an(tb)
                    ),
                )
                .at(a.span.merge(b.span), format!("{ta} {} {tb}", op.symbol()))
                .with_help(operator_help(op)),
            );
        }
        result
    }
}

pub(super) fn literal_type(v: &Value) -> Type {
    match v {
        Value::String(_) => Type::String,
        Value::Int(_) => Type::Int,
        Value::Decimal(_) => Type::Decimal,
        Value::Bool(_) => Type::Bool,
        Value::Date(_) => Type::Date,
        Value::DateTime(_) => Type::DateTime,
        Value::Duration(_) => Type::Duration,
        Value::Money(_) => Type::Money,
        Value::Percent(_) => Type::Percent,
        Value::Null => Type::Null,
    }
}

/// After a successful check, a narrowed literal takes the target type.
fn ty_after(found: &Type, target: &Type) -> Type {
    if *found == Type::Null {
        found.clone()
    } else {
        target.clone()
    }
}

fn enum_help(ty: &Type, cx: &Context<'_>) -> Option<String> {
    let Type::Enum { name } = ty else { return None };
    let def = cx.enums.get(name)?;
    let list = def
        .values
        .iter()
        .map(|v| format!("\"{v}\""))
        .collect::<Vec<_>>()
        .join(", ");
    Some(format!("the values of {name} are {list}"))
}

fn conversion_help(found: &Type, want: &Type) -> String {
    match (found.base(), want.base()) {
        (Type::Decimal, Type::Money) | (Type::Int, Type::Money) => {
            "write money with its currency, as in `39.99 EUR`".into()
        }
        (Type::Money, Type::Decimal | Type::Int) => {
            "money carries a currency; declare the parameter as `money`".into()
        }
        (Type::Int | Type::Decimal, Type::String) => "quote the value to make it a string".into(),
        (Type::String, Type::Int | Type::Decimal) => "write numbers without quotes".into(),
        (Type::String, Type::Bool) => "write `true` or `false` without quotes".into(),
        (_, Type::Bool) => "a condition is a bool: compare the value, e.g. `x == …`".into(),
        _ => format!("pass a value of type {want}"),
    }
}

fn operator_help(op: BinOp) -> &'static str {
    match op {
        BinOp::Eq | BinOp::Ne => "both sides must have the same type",
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            "order comparisons take numbers, money, dates, durations or percentages of one type"
        }
        BinOp::Add | BinOp::Sub => "`+` and `-` take numbers, money of one currency, or durations",
        BinOp::Mul => "`*` takes numbers, or money and a number",
        BinOp::Div => "`/` takes numbers, or money divided by a number",
        BinOp::And | BinOp::Or => "`and` and `or` take bools",
        BinOp::Coalesce => "`a ?? b` gives `b` where `a` is null: both sides have one type",
    }
}
