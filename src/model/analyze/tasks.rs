//! Tasks: signatures first (so any task can name any other), then each
//! task's call and clauses against its scope.

use super::collect::{duplicate, Context, Decls};
use super::scope::{BlockSigs, Current, Scope, Sigs, TaskSig};
use crate::diagnostic::{code_list, Code, Diagnostic, Diagnostics};
use crate::model::expr::Expr;
use crate::model::expr::{Message, MessagePart, Ref, TaskRef};
use crate::model::types::a as an;
use crate::model::Type;
use crate::model::{Call, ProductKind, Require, Retry, Task, Wait, RESERVED_ORDER_TASKS};
use crate::span::Span;
use crate::syntax::ast::{self, ClauseKind, Member};
use crate::syntax::{parse_interpolation, Segment};
use crate::value::Value;

/// Signatures of every task, reporting duplicate task names per block.
pub(super) fn signatures(cx: &Context<'_>, decls: &Decls<'_>, diags: &mut Diagnostics) -> Sigs {
    let mut sigs = Sigs::default();
    for (name, (kind, p)) in &decls.products {
        if *kind != ProductKind::Product {
            continue;
        }
        for m in &p.members {
            if let Member::Rule(rule) = m {
                let blocks = sigs.blocks.entry(name.to_string()).or_default();
                if blocks.contains_key(&rule.action) {
                    continue; // the duplicate block is reported with the product
                }
                let block = block_sigs(cx, &rule.tasks, diags);
                blocks.insert(rule.action, block);
            }
        }
    }
    if let Some(order) = decls.order {
        for t in &order.tasks {
            if RESERVED_ORDER_TASKS.contains(&t.name.name.as_str()) {
                diags.push(
                    Diagnostic::error(Code::Invalid, format!("`{}` cannot name an order-level task", t.name.name))
                        .at(t.name.span, "reserved")
                        .with_help("`order.id`, `order.customer` and `order.price` are order fields; choose another name"),
                );
            }
        }
        sigs.order = block_sigs(cx, &order.tasks, diags);
    }
    sigs
}

fn block_sigs(cx: &Context<'_>, tasks: &[ast::TaskDecl], diags: &mut Diagnostics) -> BlockSigs {
    let mut block = BlockSigs::new();
    for t in tasks {
        if let Some(first) = block.get(&t.name.name) {
            diags.push(duplicate("task", &t.name, first.span));
            continue;
        }
        block.insert(
            t.name.name.clone(),
            TaskSig {
                action: t.call.action.name.clone(),
                stage: cx.stage_of(&t.clauses),
                span: t.name.span,
                conditional: t
                    .clauses
                    .iter()
                    .any(|c| matches!(c.kind, ClauseKind::When(_))),
            },
        );
    }
    block
}

pub(super) fn resolve_order_tasks(
    cx: &Context<'_>,
    decls: &Decls<'_>,
    sigs: &Sigs,
    diags: &mut Diagnostics,
) -> Vec<Task> {
    let Some(order) = decls.order else {
        return Vec::new();
    };
    let scope = Scope {
        sigs: Some(sigs),
        in_order_block: true,
        outputs: true,
        order_refs: true,
        ..Scope::constant(cx)
    };
    resolve_block(&scope, &order.tasks, diags)
}

/// Resolves the tasks of one block; `base` is the block's scope.
pub(super) fn resolve_block(
    base: &Scope<'_, '_>,
    tasks: &[ast::TaskDecl],
    diags: &mut Diagnostics,
) -> Vec<Task> {
    let mut out: Vec<Task> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for t in tasks {
        if !seen.insert(t.name.name.as_str()) {
            continue; // reported with the signatures
        }
        if let Some(task) = resolve_task(base, t, diags) {
            out.push(task);
        }
    }
    out
}

fn scope_for<'s, 'a>(base: &Scope<'s, 'a>, cur: Current<'s>) -> Scope<'s, 'a> {
    Scope {
        current: Some(cur),
        ..*base
    }
}

fn resolve_task(base: &Scope<'_, '_>, t: &ast::TaskDecl, diags: &mut Diagnostics) -> Option<Task> {
    let stage = base.cx.stage_of(&t.clauses);
    let cur = Current {
        name: &t.name.name,
        stage,
        own_outputs: false,
    };
    let scope = scope_for(base, cur);
    let own = scope_for(
        base,
        Current {
            own_outputs: true,
            ..cur
        },
    );
    let mut ok = true;
    let call = resolve_call(&scope, &t.call, diags);
    ok &= call.is_some();
    let mut task = Task {
        name: t.name.name.clone(),
        call: call.unwrap_or(Call {
            action: String::new(),
            args: Vec::new(),
            span: t.call.span,
        }),
        after: Vec::new(),
        when: None,
        when_at_run: false,
        stage,
        requires: Vec::new(),
        retry: None,
        timeout_ms: None,
        undo: None,
        point_of_no_return: false,
        manual: None,
        wait: None,
        span: t.name.span,
        deps: Vec::new(),
    };
    let mut seen: Vec<(&'static str, Span)> = Vec::new();
    for c in &t.clauses {
        let kind = clause_name(&c.kind);
        if kind != "require" && kind != "after" {
            if let Some((_, first)) = seen.iter().find(|(k, _)| *k == kind) {
                diags.push(
                    Diagnostic::error(
                        Code::Duplicate,
                        format!("task `{}` has two `{kind}` clauses", t.name.name),
                    )
                    .at(c.span, "second one here")
                    .with_related(*first, "first one here")
                    .with_help("keep one"),
                );
                ok = false;
                continue;
            }
            seen.push((kind, c.span));
        }
        match &c.kind {
            ClauseKind::After(refs) => {
                for r in refs {
                    match after_ref(&scope, r, diags) {
                        Some(tref) => task.after.push((tref, r.span)),
                        None => ok = false,
                    }
                }
            }
            ClauseKind::When(e) => match scope.condition(e, "a `when` condition", diags) {
                Some(cond) => {
                    task.when_at_run = cond.refs().iter().any(|r| matches!(r, Ref::Output { .. }));
                    task.when = Some(cond);
                }
                None => ok = false,
            },
            ClauseKind::Stage(s) => {
                if !base.cx.stages.contains(&s.name) {
                    diags.push(
                        Diagnostic::error(Code::Stage, format!("unknown stage `{}`", s.name))
                            .at(s.span, "no stage of this name")
                            .suggest_or_list(
                                &s.name,
                                "stage",
                                base.cx.stages.iter().map(String::as_str),
                            ),
                    );
                    ok = false;
                }
            }
            ClauseKind::Require(r) => match require(&own, r, diags) {
                Some(req) => task.requires.push(req),
                None => ok = false,
            },
            ClauseKind::Retry {
                count,
                kind,
                delay_ms,
            } => {
                task.retry = Some(Retry {
                    count: *count,
                    kind: *kind,
                    delay_ms: *delay_ms,
                })
            }
            ClauseKind::Timeout { ms } => {
                if *ms == 0 {
                    diags.push(
                        Diagnostic::error(
                            Code::Invalid,
                            "a timeout of zero would fail every attempt",
                        )
                        .at(c.span, "zero timeout")
                        .with_help("give the longest time an attempt may take, e.g. `timeout 2m`"),
                    );
                    ok = false;
                }
                task.timeout_ms = Some(*ms);
            }
            ClauseKind::Undo(call) => match resolve_call(&own, call, diags) {
                Some(call) => task.undo = Some(call),
                None => ok = false,
            },
            ClauseKind::NoReturn => task.point_of_no_return = true,
            ClauseKind::Manual(team) => match team_fault(&team.value) {
                None => task.manual = Some(team.value.clone()),
                Some(label) => {
                    diags.push(
                        Diagnostic::error(
                            Code::Manual,
                            format!("`{}` is not a team name", team.value.escape_debug()),
                        )
                        .at(team.span, label)
                        .with_help(TEAM_RULE),
                    );
                    ok = false;
                }
            },
            ClauseKind::WaitUntil(e) => match wait_until(&scope, e, diags) {
                Some(e) => task.wait = Some(Wait::Until(e)),
                None => ok = false,
            },
            ClauseKind::WaitFor { ms } => {
                if *ms == 0 {
                    diags.push(
                        Diagnostic::error(Code::Wait, "a wait of zero waits for nothing")
                            .at(c.span, "zero wait")
                            .with_help("give how long to wait after the task's dependencies are done, e.g. `wait 2h`, or remove the clause"),
                    );
                    ok = false;
                }
                task.wait = Some(Wait::After { ms: *ms });
            }
        }
    }
    ok &= manual_alone(t, diags);
    task.deps = task.dependencies();
    ok.then_some(task)
}

fn clause_name(k: &ClauseKind) -> &'static str {
    match k {
        ClauseKind::After(_) => "after",
        ClauseKind::When(_) => "when",
        ClauseKind::Stage(_) => "stage",
        ClauseKind::Require(_) => "require",
        ClauseKind::Retry { .. } => "retry",
        ClauseKind::Timeout { .. } => "timeout",
        ClauseKind::Undo(_) => "undo",
        ClauseKind::NoReturn => "point of no return",
        ClauseKind::Manual(_) => "manual",
        ClauseKind::WaitUntil(_) | ClauseKind::WaitFor { .. } => "wait",
    }
}

/// What a team name may be, in words.
pub const TEAM_RULE: &str =
    "a team name is lowercase letters, digits and `-`, starting with a letter, such as \"field-ops\"";

/// Why `team` cannot name a team (`[a-z][a-z0-9-]*`), as a label; `None`
/// when it can.
pub fn team_fault(team: &str) -> Option<&'static str> {
    let mut chars = team.chars();
    match chars.next() {
        None => Some("empty team name"),
        Some(c) if !c.is_ascii_lowercase() => Some("must start with a lowercase letter"),
        _ if chars.any(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')) => {
            Some("only lowercase letters, digits and `-`")
        }
        _ => None,
    }
}

/// `wait until EXPR`: a date or a datetime (or null, which does not wait).
fn wait_until(scope: &Scope<'_, '_>, e: &ast::Expr, diags: &mut Diagnostics) -> Option<Expr> {
    let typed = scope.expr(e, diags)?;
    if matches!(typed.ty, Type::Date | Type::DateTime | Type::Null) {
        return Some(typed);
    }
    let help = if typed.ty == Type::Duration {
        "to wait a length of time after the task's dependencies are done, write `wait D` without `until`, e.g. `wait 2h`".to_string()
    } else {
        "give a date (`2026-12-05`, which is 00:00 UTC), a datetime (`2026-12-05T09:00:00Z`) or a field such as `order.requested_start`".to_string()
    };
    diags.push(
        Diagnostic::error(
            Code::Wait,
            format!(
                "`wait until` needs a date or a datetime, found {}",
                an(&typed.ty)
            ),
        )
        .at(e.span, format!("this is {}", an(&typed.ty)))
        .with_help(help),
    );
    None
}

/// `manual` with `retry` or `timeout`: people neither time out nor are
/// called again, so those clauses would mean nothing. Whether it is alone.
fn manual_alone(t: &ast::TaskDecl, diags: &mut Diagnostics) -> bool {
    let Some(manual) = t
        .clauses
        .iter()
        .find(|c| matches!(c.kind, ClauseKind::Manual(_)))
    else {
        return true;
    };
    let mut alone = true;
    for c in &t.clauses {
        let name = match c.kind {
            ClauseKind::Retry { .. } => "retry",
            ClauseKind::Timeout { .. } => "timeout",
            _ => continue,
        };
        diags.push(
            Diagnostic::error(
                Code::Manual,
                format!("`{name}` means nothing on the manual task `{}`", t.name.name),
            )
            .at(c.span, format!("`{name}` on a manual task"))
            .with_related(manual.span, "people of this team do the task")
            .with_help(format!("a work item is neither called again nor timed out: remove `{name}`, or remove `manual` to call the action")),
        );
        alone = false;
    }
    alone
}

fn after_ref(scope: &Scope<'_, '_>, r: &ast::TaskRef, diags: &mut Diagnostics) -> Option<TaskRef> {
    let (tref, ident) = match r.parts.as_slice() {
        [t] => (
            TaskRef::Local {
                task: t.name.clone(),
            },
            t,
        ),
        [o, t] if o.name == "order" => (
            TaskRef::Order {
                task: t.name.clone(),
            },
            t,
        ),
        [p, t] if scope.relies.contains(&p.name) => (
            TaskRef::Relied {
                product: p.name.clone(),
                task: t.name.clone(),
            },
            t,
        ),
        [p, _] if scope.unresolved.contains(&p.name) => return None,
        [p, _] => {
            let d = if scope.cx.products.contains_key(p.name.as_str()) && scope.product.is_some() {
                Diagnostic::error(
                    Code::UnknownTask,
                    format!("`{}` is a product this one does not rely on", p.name),
                )
                .at(p.span, "not relied on")
                .with_help(format!("add `relies on {}` to wait for its tasks", p.name))
            } else {
                let mut known: Vec<&str> = scope.relies.iter().map(String::as_str).collect();
                known.push("order");
                Diagnostic::error(
                    Code::UnknownTask,
                    format!(
                        "unknown task `{}`",
                        r.parts
                            .iter()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(".")
                    ),
                )
                .at(p.span, "neither `order` nor a relied-on product")
                .suggest_or_list(&p.name, "name", known)
            };
            diags.push(d);
            return None;
        }
        _ => return None,
    };
    let sig = scope.lookup(&tref, ident, diags)?;
    scope
        .check_dependency(&tref, sig, r.span, diags)
        .then_some(tref)
}

pub(super) fn require(
    scope: &Scope<'_, '_>,
    r: &ast::RequireRule,
    diags: &mut Diagnostics,
) -> Option<Require> {
    let cond = scope.condition(&r.cond, "a `require` condition", diags);
    let message = message(scope, &r.message, diags);
    Some(Require {
        cond: cond?,
        message: message?,
        span: r.span,
    })
}

pub(super) fn message(
    scope: &Scope<'_, '_>,
    lit: &ast::StringLit,
    diags: &mut Diagnostics,
) -> Option<Message> {
    let parsed = match parse_interpolation(lit.span.file, lit) {
        Ok(p) => p,
        Err(d) => {
            diags.push(d);
            return None;
        }
    };
    let mut parts = Vec::new();
    let mut ok = true;
    for seg in parsed.segments {
        match seg {
            Segment::Text(t) => parts.push(MessagePart::Text(t)),
            Segment::Expr(e) => match scope.expr(&e, diags) {
                Some(e) => parts.push(MessagePart::Expr(e)),
                None => ok = false,
            },
        }
    }
    ok.then_some(Message { parts })
}

/// The argument names of a call seen so far, each with where it was first
/// given: searched in place while they are few, through a map past
/// [`SeenNames::IN_PLACE`], so that a call of any length (a generated or
/// hostile catalog) costs O(n log n), not O(n²).
struct SeenNames<'a> {
    few: Vec<(&'a str, Span)>,
    many: std::collections::BTreeMap<&'a str, Span>,
}

impl<'a> SeenNames<'a> {
    const IN_PLACE: usize = 16;

    fn with_capacity(n: usize) -> SeenNames<'a> {
        SeenNames {
            few: Vec::with_capacity(n.min(Self::IN_PLACE)),
            many: std::collections::BTreeMap::new(),
        }
    }

    fn first(&self, name: &str) -> Option<Span> {
        if self.many.is_empty() {
            self.few.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
        } else {
            self.many.get(name).copied()
        }
    }

    fn insert(&mut self, name: &'a str, span: Span) {
        if !self.many.is_empty() {
            self.many.insert(name, span);
        } else if self.few.len() < Self::IN_PLACE {
            self.few.push((name, span));
        } else {
            self.many.extend(self.few.drain(..));
            self.many.insert(name, span);
        }
    }
}

fn resolve_call(scope: &Scope<'_, '_>, call: &ast::Call, diags: &mut Diagnostics) -> Option<Call> {
    let cx = scope.cx;
    let Some(action) = cx.actions.get(&call.action.name) else {
        diags.push(
            Diagnostic::error(
                Code::UnknownAction,
                format!("unknown action `{}`", call.action.name),
            )
            .at(call.action.span, "not declared")
            .suggest(&call.action.name, cx.actions.keys().map(String::as_str))
            .with_help_if_none(format!(
                "declare it: `action {}(PARAM: TYPE, …) -> (OUTPUT: TYPE, …)`",
                call.action.name
            )),
        );
        // Still check the arguments' expressions, so their errors surface too.
        for a in &call.args {
            scope.expr(&a.value, diags);
        }
        return None;
    };
    let mut ok = true;
    // A call has a few arguments: a list searched in place costs less than
    // a map built per call. (At most one per parameter reaches `given`.)
    let mut given: Vec<(&str, crate::model::Expr)> = Vec::with_capacity(call.args.len());
    let mut seen = SeenNames::with_capacity(call.args.len());
    for a in &call.args {
        if let Some(first) = seen.first(&a.name.name) {
            diags.push(duplicate("argument", &a.name, first));
            ok = false;
            continue;
        }
        seen.insert(&a.name.name, a.name.span);
        let Some(param) = action.params.iter().find(|p| p.name == a.name.name) else {
            diags.push(
                Diagnostic::error(
                    Code::UnknownInput,
                    format!(
                        "action `{}` has no parameter `{}`",
                        action.name, a.name.name
                    ),
                )
                .at(a.name.span, "unknown parameter")
                .with_related(action.span, "action declared here")
                .suggest_or_list(
                    &a.name.name,
                    "parameter",
                    action.params.iter().map(|p| p.name.as_str()),
                ),
            );
            scope.expr(&a.value, diags);
            ok = false;
            continue;
        };
        // `null` fits an optional parameter; for a required one it is the
        // "may be absent" error of `flow`, not a type error.
        let checked = if matches!(a.value.kind, ast::ExprKind::Lit(Value::Null)) {
            Some(crate::model::Expr::lit(
                Value::Null,
                Type::Null,
                a.value.span,
            ))
        } else {
            scope.expect(
                &a.value,
                &param.ty,
                format_args!("parameter `{}`", param.name),
                diags,
            )
        };
        match checked {
            Some(e) => given.push((&a.name.name, e)),
            None => ok = false,
        }
    }
    let missing: Vec<&str> = action
        .params
        .iter()
        .filter(|p| !p.optional && seen.first(&p.name).is_none())
        .map(|p| p.name.as_str())
        .collect();
    if !missing.is_empty() {
        let list = code_list(missing.iter().copied());
        let example = missing
            .iter()
            .map(|m| format!("`{m}: …`"))
            .collect::<Vec<_>>()
            .join(", ");
        diags.push(
            Diagnostic::error(
                Code::MissingInput,
                format!(
                    "the call of `{}` lacks {} {list}",
                    action.name,
                    if missing.len() == 1 {
                        "parameter"
                    } else {
                        "parameters"
                    }
                ),
            )
            .at(call.span, "incomplete call")
            .with_related(action.span, "action declared here")
            .with_help(format!("pass {example}")),
        );
        ok = false;
    }
    if !ok {
        return None;
    }
    let args = action
        .params
        .iter()
        .filter_map(|p| {
            let i = given.iter().position(|(n, _)| *n == p.name)?;
            Some((p.name.clone(), given.swap_remove(i).1))
        })
        .collect();
    Some(Call {
        action: action.name.clone(),
        args,
        span: call.span,
    })
}

trait HelpIfNone {
    fn with_help_if_none(self, help: String) -> Self;
}

impl HelpIfNone for Diagnostic {
    fn with_help_if_none(self, help: String) -> Self {
        if self.help.is_some() {
            self
        } else {
            self.with_help(help)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::team_fault;
    use proptest::prelude::*;

    #[test]
    fn team_names_are_lowercase_words_joined_by_dashes() {
        for ok in ["field-ops", "noc", "back-office-2", "a", "x-"] {
            assert_eq!(team_fault(ok), None, "{ok}");
        }
        for bad in [
            "",
            "Field",
            "field ops",
            "2nd-line",
            "-ops",
            "ops_team",
            "ops/x",
            "é",
        ] {
            assert!(team_fault(bad).is_some(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn a_team_name_is_exactly_the_documented_form(team in "\\PC{0,12}") {
            let form = regex::Regex::new("^[a-z][a-z0-9-]*$").unwrap();
            prop_assert_eq!(team_fault(&team).is_none(), form.is_match(&team));
        }
    }
}
