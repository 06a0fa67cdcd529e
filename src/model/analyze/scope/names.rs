//! Names in expressions: attributes, task outputs, `order.…` fields and
//! the dependencies a reference makes, each resolved to what it refers to.

use super::*;

impl<'s, 'a> Scope<'s, 'a> {
    pub(super) fn path(&self, parts: &[ast::Ident], span: Span, diags: &mut Diagnostics) -> Typed {
        // Most paths have one to three names: matched from the stack rather
        // than from a `Vec` allocated per path.
        let mut short = [""; 4];
        let long: Vec<&str>;
        let names: &[&str] = if parts.len() <= short.len() {
            for (n, p) in short.iter_mut().zip(parts) {
                *n = &p.name;
            }
            &short[..parts.len()]
        } else {
            long = parts.iter().map(|p| p.name.as_str()).collect();
            &long
        };
        let r = |r: Ref, ty: Type| {
            Some(Expr {
                kind: ExprKind::Ref(r),
                ty,
                span,
            })
        };
        match names {
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

    pub(super) fn attribute(&self, ident: &ast::Ident, diags: &mut Diagnostics) -> Typed {
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

    pub(super) fn order_path(
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
        sigs.block(product, action)?.get(name)
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
        sigs.block(product, action)
            .map(|b| b.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    pub(super) fn unknown_task(&self, ident: &ast::Ident, diags: &mut Diagnostics) -> Typed {
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

    pub(super) fn output(
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
pub(in crate::model::analyze) fn action_output<'x>(
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
