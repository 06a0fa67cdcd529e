//! Where a value may be absent (SPEC §8.8), and the check that an absent
//! value never reaches a required action parameter or a message unguarded.
//!
//! Nullable are: an optional attribute, an optional customer field, and an
//! output of a task with a `when` (left out of the plan or skipped, it has
//! no outputs). The rule for what establishes presence is kept simple: a
//! condition that holds implies every value it compares, tests `!= null`,
//! lists with `in` or reads as a bool, through `and` (either side) and `or`
//! (both sides); a value read from a task implies that the task ran, so all
//! its outputs are present. A task's `when` establishes presence for its
//! call, requires and undo; a task's `require`s, which held when it
//! succeeded, and its own outputs, for its undo; a product's `require`s, for
//! every task of the product. Inside `if C then A else B`, `C` holds in `A`.

use std::collections::BTreeSet;

use super::scope::Sigs;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::expr::{describe_ref, Expr, ExprKind, Ref, TaskRef};
use crate::model::types::a as an;
use crate::model::{ActionDef, AttrDef, Call, Require, Task};
use crate::span::Span;
use crate::syntax::ast::{BinOp, OrderAction};
use crate::value::Value;

/// Values known present, by [`key`].
pub(super) type Facts = BTreeSet<String>;

type Actions = std::collections::BTreeMap<String, ActionDef>;

/// What can be absent in one block of tasks.
pub(super) struct Nullability<'s> {
    pub attrs: &'s [AttrDef],
    pub customer: Option<&'s [AttrDef]>,
    pub sigs: &'s Sigs,
    /// The product and rule block; `None` for the order block.
    pub block: Option<(&'s str, OrderAction)>,
}

/// Presence is tracked per value, and per task for outputs: one output
/// read means the task ran.
fn key(r: &Ref) -> String {
    match r {
        Ref::Output { task, .. } => ran(task),
        other => describe_ref(other),
    }
}

/// The fact that `task` ran.
fn ran(task: &TaskRef) -> String {
    format!("task {task}")
}

impl Nullability<'_> {
    fn nullable(&self, r: &Ref) -> bool {
        match r {
            Ref::Attr { name } => self.attrs.iter().any(|a| a.name == *name && a.optional),
            Ref::Customer { field } => self
                .customer
                .is_some_and(|c| c.iter().any(|f| f.name == *field && f.optional)),
            Ref::Output { task, .. } => self.conditional(task),
            Ref::Installed { name } => self.attrs.iter().any(|a| a.name == *name && a.optional),
            // The instance may not hold it (the task did not run).
            Ref::InstalledOutput { .. } => true,
            // An order may leave out its requested dates.
            Ref::RequestedStart | Ref::RequestedCompletion => true,
            _ => false,
        }
    }

    /// Whether the task a reference names has a `when`.
    pub fn conditional(&self, task: &TaskRef) -> bool {
        let sig = match (task, self.block) {
            (TaskRef::Order { task }, _) | (TaskRef::Local { task }, None) => {
                self.sigs.order.get(task)
            }
            (TaskRef::Local { task }, Some((product, action))) => {
                self.sigs.block(product, action).and_then(|b| b.get(task))
            }
            (TaskRef::Relied { product, task }, block) => {
                let action = block.map_or(OrderAction::Add, |(_, a)| a);
                self.sigs.relied(product, action, task)
            }
        };
        sig.is_some_and(|s| s.conditional)
    }

    /// The first value that may be absent where `e`'s value comes from, with
    /// its span: `None` when `e` is never null given `facts`.
    pub fn absent(&self, e: &Expr, facts: &Facts) -> Option<(String, Span)> {
        match &e.kind {
            ExprKind::Lit(Value::Null) => Some(("null".into(), e.span)),
            ExprKind::Lit(_) | ExprKind::Present(..) | ExprKind::In(..) => None,
            ExprKind::Ref(r) => {
                (self.nullable(r) && !facts.contains(&key(r))).then(|| (describe_ref(r), e.span))
            }
            ExprKind::Unary(crate::syntax::ast::UnOp::Neg, x) => self.absent(x, facts),
            ExprKind::Unary(..) => None,
            ExprKind::Binary(BinOp::Coalesce, _, b) => self.absent(b, facts),
            ExprKind::Binary(BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div, a, b) => {
                self.absent(a, facts).or_else(|| self.absent(b, facts))
            }
            ExprKind::Binary(..) => None,
            ExprKind::If(c, a, b) => {
                let mut then = facts.clone();
                then.extend(implied(c));
                self.absent(a, &then).or_else(|| self.absent(b, facts))
            }
        }
    }
}

/// The values certainly present when `cond` is true.
pub(super) fn implied(cond: &Expr) -> Facts {
    let mut out = Facts::new();
    match &cond.kind {
        ExprKind::Binary(BinOp::And, a, b) => {
            out = implied(a);
            out.extend(implied(b));
        }
        ExprKind::Binary(BinOp::Or, a, b) => {
            let right = implied(b);
            out = implied(a).intersection(&right).cloned().collect();
        }
        ExprKind::Binary(
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge,
            a,
            b,
        ) => {
            strict_refs(a, &mut out);
            strict_refs(b, &mut out);
        }
        ExprKind::In(x, _) | ExprKind::Present(x, true) => strict_refs(x, &mut out),
        ExprKind::Ref(_) => strict_refs(cond, &mut out),
        _ => {}
    }
    out
}

/// The values whose absence would make `e` null.
fn strict_refs(e: &Expr, out: &mut Facts) {
    match &e.kind {
        ExprKind::Ref(r) => {
            out.insert(key(r));
        }
        ExprKind::Unary(crate::syntax::ast::UnOp::Neg, x) => strict_refs(x, out),
        ExprKind::Binary(BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div, a, b) => {
            strict_refs(a, out);
            strict_refs(b, out);
        }
        _ => {}
    }
}

/// The presence the product's `require`s establish for all its tasks.
pub(super) fn required(requires: &[Require]) -> Facts {
    requires.iter().flat_map(|r| implied(&r.cond)).collect()
}

/// Checks every task of a block: no value that may be absent reaches a
/// required parameter of its call or undo, or a message, unguarded.
pub(super) fn check_tasks(
    n: &Nullability<'_>,
    actions: &Actions,
    tasks: &[Task],
    base: &Facts,
    diags: &mut Diagnostics,
) {
    for t in tasks {
        let mut facts = base.clone();
        if let Some(w) = &t.when {
            facts.extend(implied(w));
        }
        check_call(n, actions, &t.call, &facts, diags);
        warn_unguarded(n, actions, t, &facts, diags);
        // A task's requires are checked once it succeeded: its outputs are there.
        let mut after = facts.clone();
        after.insert(ran(&TaskRef::Local {
            task: t.name.clone(),
        }));
        check_messages(n, &t.requires, &after, diags);
        after.extend(required(&t.requires));
        if let Some(u) = &t.undo {
            check_call(n, actions, u, &after, diags);
        }
    }
}

/// Checks the messages of `require`s: an interpolated value that may be
/// absent needs a guard or a fallback.
pub(super) fn check_messages(
    n: &Nullability<'_>,
    requires: &[Require],
    facts: &Facts,
    diags: &mut Diagnostics,
) {
    for r in requires {
        for e in r.message.exprs() {
            if let Some((what, span)) = n.absent(e, facts) {
                diags.push(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        format!("`{what}` may be absent where this message shows it"),
                    )
                    .at(span, "may be absent")
                    .with_help(format!(
                        "give a fallback, as in `{{{e} ?? \"none\"}}`, or guard the rule with a condition that implies it"
                    )),
                );
            }
        }
    }
}

fn check_call(
    n: &Nullability<'_>,
    actions: &Actions,
    call: &Call,
    facts: &Facts,
    diags: &mut Diagnostics,
) {
    let Some(action) = actions.get(&call.action) else {
        return;
    };
    for (name, e) in &call.args {
        let Some(param) = action.params.iter().find(|p| p.name == *name) else {
            continue;
        };
        if param.optional {
            continue;
        }
        if let Some((what, span)) = n.absent(e, facts) {
            diags.push(
                Diagnostic::error(
                    Code::TypeMismatch,
                    format!(
                        "parameter `{name}` must be {}, and `{what}` may be absent",
                        an(&param.ty)
                    ),
                )
                .at(span, "may be absent")
                .with_related(param.span, "a required parameter")
                .with_help(format!(
                    "guard the task with `when {what} != null`, give a fallback (`{what} ?? …`), or declare the parameter optional (`{name}?: {}`)",
                    param.ty
                )),
            );
        }
    }
}

/// `ordo::unguarded_output`: a read of a conditional task's output that no
/// condition of the reader implies, outside a fallback (`??`) or a presence
/// test, and not already an error (a required parameter). Such a value is
/// silently null when the task does not run: comparisons with it are false.
fn warn_unguarded(
    n: &Nullability<'_>,
    actions: &Actions,
    t: &Task,
    facts: &Facts,
    diags: &mut Diagnostics,
) {
    let mut reads: Vec<(TaskRef, String, Span)> = Vec::new();
    let params = actions.get(&t.call.action).map(|a| a.params.as_slice());
    for (name, e) in &t.call.args {
        let required = params
            .and_then(|ps| ps.iter().find(|p| p.name == *name))
            .is_some_and(|p| !p.optional);
        if required && n.absent(e, facts).is_some() {
            continue; // reported as an error
        }
        unguarded(n, e, facts, &mut reads);
    }
    let mut own = facts.clone();
    own.insert(ran(&TaskRef::Local {
        task: t.name.clone(),
    }));
    for r in &t.requires {
        unguarded(n, &r.cond, &own, &mut reads);
    }
    let mut seen = BTreeSet::new();
    for (task, read, span) in reads {
        if !seen.insert(task.clone()) {
            continue;
        }
        diags.push(
            Diagnostic::warning(
                Code::UnguardedOutput,
                format!(
                    "task `{}` reads `{read}`, but `{task}` has a `when` and may not run",
                    t.name
                ),
            )
            .at(span, "read without a condition that implies it")
            .with_help(format!(
                "without `{task}` the value is null and every comparison with it false: add `when {read} != null` (or a condition on it) to `{}`, or a fallback `{read} ?? …`",
                t.name
            )),
        );
    }
}

/// The reads of conditional tasks' outputs in `e` that `facts` do not cover.
fn unguarded(n: &Nullability<'_>, e: &Expr, facts: &Facts, out: &mut Vec<(TaskRef, String, Span)>) {
    match &e.kind {
        ExprKind::Ref(r @ Ref::Output { task, .. }) => {
            if n.conditional(task) && !facts.contains(&key(r)) {
                out.push((task.clone(), describe_ref(r), e.span));
            }
        }
        ExprKind::Lit(_) | ExprKind::Ref(_) | ExprKind::Present(..) => {}
        ExprKind::Binary(BinOp::Coalesce, _, b) => unguarded(n, b, facts, out),
        ExprKind::Unary(_, x) => unguarded(n, x, facts, out),
        ExprKind::Binary(_, a, b) => {
            unguarded(n, a, facts, out);
            unguarded(n, b, facts, out);
        }
        ExprKind::In(x, list) => {
            unguarded(n, x, facts, out);
            for i in list {
                unguarded(n, i, facts, out);
            }
        }
        ExprKind::If(c, a, b) => {
            unguarded(n, c, facts, out);
            let mut then = facts.clone();
            then.extend(implied(c));
            unguarded(n, a, &then, out);
            unguarded(n, b, facts, out);
        }
    }
}
