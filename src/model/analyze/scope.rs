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

/// A task as other tasks see it before it is resolved.
#[derive(Debug, Clone)]
pub(super) struct TaskSig {
    pub action: String,
    pub stage: usize,
    pub span: Span,
    /// Whether the task has a `when`, so may be absent and its outputs null.
    pub conditional: bool,
}

/// Signatures of every task: per product and rule block, and the order block.
#[derive(Default)]
pub(super) struct Sigs {
    pub blocks: BTreeMap<(String, OrderAction), BTreeMap<String, TaskSig>>,
    pub order: BTreeMap<String, TaskSig>,
}

impl Sigs {
    pub fn relied(&self, product: &str, action: OrderAction, task: &str) -> Option<&TaskSig> {
        // The relied-on item may carry any action: prefer the same block, else any.
        self.blocks
            .get(&(product.to_string(), action))
            .and_then(|b| b.get(task))
            .or_else(|| {
                self.blocks
                    .iter()
                    .filter(|((p, _), _)| p == product)
                    .find_map(|(_, b)| b.get(task))
            })
    }

    pub fn relied_names(&self, product: &str) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .blocks
            .iter()
            .filter(|((p, _), _)| p == product)
            .flat_map(|(_, b)| b.keys().map(String::as_str))
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
    pub fn expect(&self, e: &ast::Expr, ty: &Type, what: &str, diags: &mut Diagnostics) -> Typed {
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

    fn path(&self, parts: &[ast::Ident], span: Span, diags: &mut Diagnostics) -> Typed {
        let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
        let r = |r: Ref, ty: Type| {
            Some(Expr {
                kind: ExprKind::Ref(r),
                ty,
                span,
            })
        };
        match names.as_slice() {
            ["order", rest @ ..] if self.order_refs => self.order_path(parts, rest, span, diags),
            ["installed", ..] => self.installed(parts, span, diags),
            ["item", "id"] if self.product.is_some() => r(Ref::ItemId, Type::String),
            ["price", kind @ ("once" | "monthly")] if self.product.is_some() => r(
                Ref::ItemPrice {
                    kind: price_kind(kind),
                },
                Type::Money,
            ),
            ["order", ..] => {
                let help = if self.item_lines {
                    "a product's `require`, `price` and `sla` lines and its `include` arguments are decided when the order is planned, from the item's own attributes; `order.…` is read by tasks"
                } else {
                    "a default is a constant value"
                };
                diags.push(
                    Diagnostic::error(
                        Code::UnknownAttribute,
                        format!("`{}` cannot be read here", names.join(".")),
                    )
                    .at(span, "not known here")
                    .with_help(help),
                );
                None
            }
            ["item", field, ..] if self.local_task("item").is_none() => {
                let (message, help) = if self.product.is_some() {
                    (
                        format!("the item has no field `{field}`"),
                        "an item offers `item.id`; its attributes are read by their names alone",
                    )
                } else {
                    (
                        format!("`{}` cannot be read here", names.join(".")),
                        "`item` is the item a product's rule block is planned for: `item.id` is known in its tasks",
                    )
                };
                diags.push(
                    Diagnostic::error(Code::UnknownAttribute, message)
                        .at(span, "not a field of the item")
                        .with_help(help),
                );
                None
            }
            [_] => self.attribute(&parts[0], diags),
            [task, output] => {
                if self.local_task(task).is_some() {
                    return self.output(
                        TaskRef::Local {
                            task: task.to_string(),
                        },
                        &parts[0],
                        &parts[1],
                        span,
                        diags,
                    );
                }
                if self.relies.iter().any(|p| p == task) {
                    diags.push(
                        Diagnostic::error(
                            Code::UnknownOutput,
                            format!("`{task}.{output}` names a task, not an output"),
                        )
                        .at(span, "a task of the relied-on product")
                        .with_help(format!("read one of its outputs: `{task}.{output}.OUTPUT`")),
                    );
                    return None;
                }
                self.unknown_task(&parts[0], diags)
            }
            [product, task, _] if self.relies.iter().any(|p| p == product) => {
                let tref = TaskRef::Relied {
                    product: product.to_string(),
                    task: task.to_string(),
                };
                self.output(tref, &parts[1], &parts[2], span, diags)
            }
            [first, _, ..] if self.unresolved.iter().any(|p| p == first) => None,
            [first, ..] if self.cx.products.contains_key(first) && self.product.is_some() => {
                diags.push(
                    Diagnostic::error(
                        Code::UnknownTask,
                        format!("`{first}` is a product this one does not rely on"),
                    )
                    .at(parts[0].span, "not relied on")
                    .with_help(format!("add `relies on {first}` to read its tasks")),
                );
                None
            }
            _ => {
                let known = self.attrs.iter().map(|a| a.name.as_str());
                diags.push(
                    Diagnostic::error(
                        Code::UnknownAttribute,
                        format!("`{}` is not a name in scope", names.join(".")),
                    )
                    .at(span, "unknown name")
                    .suggest_or_list(names[0], "name", known),
                );
                None
            }
        }
    }

    fn attribute(&self, ident: &ast::Ident, diags: &mut Diagnostics) -> Typed {
        if let Some(a) = self.attrs.iter().find(|a| a.name == ident.name) {
            if a.ty == Type::Null {
                // Its type is in error, and reported; every use would be too.
                return None;
            }
            let ty = if a.optional && a.default.is_none() && a.ty == Type::Bool {
                // An absent optional bool reads as false in conditions.
                Type::Bool
            } else {
                a.ty.clone()
            };
            return Some(Expr {
                kind: ExprKind::Ref(Ref::Attr {
                    name: a.name.clone(),
                }),
                ty,
                span: ident.span,
            });
        }
        let mut d = Diagnostic::error(
            Code::UnknownAttribute,
            format!("unknown attribute `{}`", ident.name),
        )
        .at(ident.span, "no attribute of this name in scope");
        if self.local_task(&ident.name).is_some() {
            d = d.with_help(format!(
                "`{0}` is a task: read one of its outputs, as in `{0}.OUTPUT`",
                ident.name
            ));
        } else if self.product.is_none() && self.outputs && self.in_order_block {
            d = d.with_help("order-level tasks see no attributes: use `order.customer.FIELD`, `order.price.*` or task outputs");
        } else {
            d = d.suggest_or_list(
                &ident.name,
                "attribute",
                self.attrs.iter().map(|a| a.name.as_str()),
            );
        }
        diags.push(d);
        None
    }

    fn order_path(
        &self,
        parts: &[ast::Ident],
        rest: &[&str],
        span: Span,
        diags: &mut Diagnostics,
    ) -> Typed {
        let r = |r: Ref, ty: Type| {
            Some(Expr {
                kind: ExprKind::Ref(r),
                ty,
                span,
            })
        };
        match rest {
            ["id"] => r(Ref::OrderId, Type::String),
            ["requested_start"] => r(Ref::RequestedStart, Type::DateTime),
            ["requested_completion"] => r(Ref::RequestedCompletion, Type::DateTime),
            [count @ ("adds" | "modifies" | "deletes")] => r(
                Ref::OrderCount {
                    action: [OrderAction::Add, OrderAction::Modify, OrderAction::Delete]
                        .into_iter()
                        .find(|a| crate::model::expr::count_name(*a) == *count)
                        .unwrap_or(OrderAction::Add),
                },
                Type::Int,
            ),
            ["price", kind @ ("once" | "monthly")] => r(
                Ref::OrderPrice {
                    kind: price_kind(kind),
                },
                Type::Money,
            ),
            ["customer", field] => match &self.cx.customer {
                None => r(
                    Ref::Customer {
                        field: field.to_string(),
                    },
                    Type::String,
                ),
                Some(fields) => match fields.iter().find(|f| f.name == *field) {
                    Some(f) => r(
                        Ref::Customer {
                            field: f.name.clone(),
                        },
                        f.ty.clone(),
                    ),
                    None => {
                        diags.push(
                            Diagnostic::error(
                                Code::UnknownAttribute,
                                format!("the customer record has no field `{field}`"),
                            )
                            .at(parts[2].span, "not in the `customer` block")
                            .suggest_or_list(
                                field,
                                "customer field",
                                fields.iter().map(|f| f.name.as_str()),
                            ),
                        );
                        None
                    }
                },
            },
            [task, output]
                if self.sigs.is_some_and(|s| s.order.contains_key(*task)) && self.outputs =>
            {
                self.output(
                    TaskRef::Order {
                        task: task.to_string(),
                    },
                    &parts[1],
                    &parts[2],
                    span,
                    diags,
                )
            }
            [task, ..] if self.outputs => {
                let known = self
                    .sigs
                    .map(|s| s.order.keys().map(String::as_str).collect::<Vec<_>>())
                    .unwrap_or_default();
                let known = known.into_iter().chain([
                    "id",
                    "customer",
                    "price",
                    "adds",
                    "modifies",
                    "deletes",
                    "requested_start",
                    "requested_completion",
                ]);
                diags.push(
                    Diagnostic::error(
                        Code::UnknownTask,
                        format!(
                            "`order.{}` is not an order-level task or field",
                            rest.join(".")
                        ),
                    )
                    .at(parts[1].span, "unknown")
                    .suggest_or_list(task, "name after `order.`", known),
                );
                None
            }
            _ => {
                diags.push(
                    Diagnostic::error(Code::UnknownAttribute, format!("`order.{}` is not an order field", rest.join(".")))
                        .at(span, "unknown")
                        .with_help("the order's fields are `order.id`, `order.customer.FIELD`, `order.price.once`, `order.price.monthly`, `order.adds`, `order.modifies`, `order.deletes`, `order.requested_start` and `order.requested_completion`"),
                );
                None
            }
        }
    }

    pub fn local_task(&self, name: &str) -> Option<&'s TaskSig> {
        let sigs = self.sigs?;
        if self.in_order_block {
            return sigs.order.get(name);
        }
        let (product, action) = self.product?;
        sigs.blocks.get(&(product.to_string(), action))?.get(name)
    }

    pub fn local_names(&self) -> Vec<&'s str> {
        let Some(sigs) = self.sigs else {
            return Vec::new();
        };
        if self.in_order_block {
            return sigs.order.keys().map(String::as_str).collect();
        }
        let Some((product, action)) = self.product else {
            return Vec::new();
        };
        sigs.blocks
            .get(&(product.to_string(), action))
            .map(|b| b.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    fn unknown_task(&self, ident: &ast::Ident, diags: &mut Diagnostics) -> Typed {
        let d = Diagnostic::error(Code::UnknownTask, format!("unknown task `{}`", ident.name))
            .at(ident.span, "no task of this name");
        let d = if self.outputs {
            d.suggest_or_list(&ident.name, "task", self.local_names())
        } else {
            d.with_help("task outputs cannot be read here: only attributes are known at plan time")
        };
        diags.push(d);
        None
    }

    /// Looks a task up as `tref` names it; reports unknown tasks.
    pub fn lookup(
        &self,
        tref: &TaskRef,
        ident: &ast::Ident,
        diags: &mut Diagnostics,
    ) -> Option<&'s TaskSig> {
        let sigs = self.sigs?;
        let found = match tref {
            TaskRef::Local { task } => self.local_task(task),
            TaskRef::Order { task } => sigs.order.get(task),
            TaskRef::Relied { product, task } => {
                let action = self.product.map_or(OrderAction::Add, |(_, a)| a);
                sigs.relied(product, action, task)
            }
        };
        let twice = matches!(tref, TaskRef::Relied { product, .. } if self.cx.twice.contains(product.as_str()));
        if found.is_none() && !twice {
            let known = match tref {
                TaskRef::Local { .. } => self.local_names(),
                TaskRef::Order { .. } => sigs.order.keys().map(String::as_str).collect(),
                TaskRef::Relied { product, .. } => sigs.relied_names(product),
            };
            let whose = match tref {
                TaskRef::Local { .. } if self.in_order_block => " in the order block".to_string(),
                TaskRef::Local { .. } => " in this rule block".to_string(),
                TaskRef::Order { .. } => " in the order block".to_string(),
                TaskRef::Relied { product, .. } => format!(" in product `{product}`"),
            };
            diags.push(
                Diagnostic::error(Code::UnknownTask, format!("unknown task `{tref}`"))
                    .at(ident.span, format!("no task of this name{whose}"))
                    .suggest_or_list(&ident.name, "task", known),
            );
        }
        found
    }

    /// Checks that the current task may depend on `sig` (stage order) and is
    /// not reading itself where that would be a cycle.
    pub fn check_dependency(
        &self,
        tref: &TaskRef,
        sig: &TaskSig,
        at: Span,
        diags: &mut Diagnostics,
    ) -> bool {
        let Some(cur) = self.current else { return true };
        let is_self = match tref {
            TaskRef::Local { task } => task == cur.name,
            TaskRef::Order { task } => self.in_order_block && task == cur.name,
            TaskRef::Relied { .. } => false,
        };
        if is_self {
            if cur.own_outputs {
                return true;
            }
            diags.push(
                Diagnostic::error(
                    Code::Cycle,
                    format!("task `{}` depends on itself", cur.name),
                )
                .at(at, "a task cannot wait for itself")
                .with_help("a task reads its own outputs only in its `require` and `undo` clauses"),
            );
            return false;
        }
        // Without a default stage, the stage of a task without a `stage`
        // clause is unknown; the missing default is the error.
        if sig.stage > cur.stage && !self.cx.no_default_stage {
            let stages = &self.cx.stages;
            diags.push(
                Diagnostic::error(
                    Code::StageOrder,
                    format!(
                        "task `{}` (stage {}) depends on `{tref}` of the later stage {}",
                        cur.name, stages[cur.stage], stages[sig.stage]
                    ),
                )
                .at(at, format!("`{tref}` runs in stage {}", stages[sig.stage]))
                .with_related(sig.span, "declared here")
                .with_help(format!(
                    "every task of stage {} runs before stage {} starts: move one of the two tasks to another stage",
                    stages[cur.stage], stages[sig.stage]
                )),
            );
            return false;
        }
        true
    }

    fn output(
        &self,
        tref: TaskRef,
        task: &ast::Ident,
        out: &ast::Ident,
        span: Span,
        diags: &mut Diagnostics,
    ) -> Typed {
        if !self.outputs {
            diags.push(
                Diagnostic::error(Code::UnknownAttribute, format!("`{tref}.{}` cannot be read here", out.name))
                    .at(span, "a task output")
                    .with_help("only attributes are known here: this is decided at plan time, before any task ran"),
            );
            return None;
        }
        let sig = self.lookup(&tref, task, diags)?;
        let action = self.cx.actions.get(&sig.action)?;
        let param = action_output(action, out, diags)?;
        if !self.check_dependency(&tref, sig, span, diags) {
            return None;
        }
        Some(Expr {
            kind: ExprKind::Ref(Ref::Output {
                task: tref,
                output: out.name.clone(),
            }),
            ty: param.ty.clone(),
            span,
        })
    }
}

/// The output `out` of `action`, or an `ordo::unknown_output` error.
pub(super) fn action_output<'x>(
    action: &'x ActionDef,
    out: &ast::Ident,
    diags: &mut Diagnostics,
) -> Option<&'x ParamDef> {
    let param = action.output(&out.name);
    if param.is_none() {
        diags.push(
            Diagnostic::error(
                Code::UnknownOutput,
                format!("action `{}` has no output `{}`", action.name, out.name),
            )
            .at(out.span, "no such output")
            .with_related(action.span, "action declared here")
            .suggest_or_list(
                &out.name,
                "output",
                action.outputs.iter().map(|o| o.name.as_str()),
            ),
        );
    }
    param
}

fn price_kind(kind: &str) -> PriceKind {
    if kind == "once" {
        PriceKind::Once
    } else {
        PriceKind::Monthly
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
