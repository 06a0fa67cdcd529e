//! Checking a test's expectations against the plan an order decomposed into,
//! or against the diagnostics it was rejected with.

use std::collections::VecDeque;

use super::test_file::{Expect, TaskName};
use super::Failure;
use crate::diagnostic::{did_you_mean, Code, Diagnostics, Severity};
use crate::plan::{Plan, TaskIdx};
use crate::source::Sources;
use crate::span::Span;
use crate::value::Money;

/// What a planned order fails of `expect` (golden plans aside).
pub(crate) fn check_plan(expect: &Expect, plan: &Plan, sources: &Sources) -> Vec<Failure> {
    let mut failures = Vec::new();
    let line = |span: Span| Some(sources.get(span.file).line_column(span.start as usize).0);
    if let Some((code, span)) = expect.error {
        failures.push(Failure {
            what: format!("error: {code}"),
            line: line(span),
            expected: format!("the order rejected with {code}"),
            found: format!(
                "the order plans ({})",
                crate::plan::render::count(plan.tasks.len(), "task")
            ),
            diff: None,
        });
    }
    for t in &expect.tasks {
        if plan.task(&t.id).is_none() {
            failures.push(Failure {
                what: format!("tasks: {}", t.id),
                line: line(t.span),
                expected: "in the plan".into(),
                found: format!("not in the plan{}", suggestion(&t.id, plan)),
                diff: None,
            });
        }
    }
    for t in &expect.no_tasks {
        if let Some(i) = plan.task(&t.id) {
            let task = &plan.tasks[i];
            let when = match &task.when {
                Some(w) => format!("; its `when {w}` is decided at run time, not by the plan"),
                None => String::new(),
            };
            failures.push(Failure {
                what: format!("no_tasks: {}", t.id),
                line: line(t.span),
                expected: "not in the plan".into(),
                found: format!("in the plan, in stage {}{when}", plan.stages[task.stage]),
                diff: None,
            });
        }
    }
    for (a, b, span) in &expect.before {
        if let Some(found) = precedes(plan, a, b) {
            failures.push(Failure {
                what: format!("before: {} -> {}", a.id, b.id),
                line: line(*span),
                expected: format!("a path of dependencies from {} to {}", a.id, b.id),
                found,
                diff: None,
            });
        }
    }
    let prices = [
        ("once", &expect.price_once, &plan.price.once),
        ("monthly", &expect.price_monthly, &plan.price.monthly),
    ];
    for (name, wanted, actual) in prices {
        if let Some((money, span)) = wanted {
            if !same_money(money, actual) {
                failures.push(Failure {
                    what: format!("price.{name}"),
                    line: line(*span),
                    expected: money.to_string(),
                    found: actual.to_string(),
                    diff: None,
                });
            }
        }
    }
    failures
}

/// What a rejected order fails of `expect`: only an `error` expectation that
/// names one of its error codes is met.
pub(crate) fn check_rejection(
    expect: &Expect,
    errors: &Diagnostics,
    sources: &Sources,
    order_line: Option<usize>,
) -> Vec<Failure> {
    let codes: Vec<Code> = errors
        .list
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.code)
        .collect();
    let found = rejection(errors, sources);
    match expect.error {
        Some((code, _)) if codes.contains(&code) => Vec::new(),
        Some((code, span)) => vec![Failure {
            what: format!("error: {code}"),
            line: Some(sources.get(span.file).line_column(span.start as usize).0),
            expected: format!("the order rejected with {code}"),
            found,
            diff: None,
        }],
        None => vec![Failure {
            what: "order".into(),
            line: order_line,
            expected: "the order to plan".into(),
            found,
            diff: None,
        }],
    }
}

/// `rejected with`, then one line per error: `CODE at FILE:LINE:COL: MESSAGE`.
fn rejection(errors: &Diagnostics, sources: &Sources) -> String {
    let mut out = String::from("rejected with");
    for d in errors.list.iter().filter(|d| d.severity == Severity::Error) {
        out.push('\n');
        out.push_str(&super::one_line(d, sources));
    }
    out
}

/// Money equal in value and currency: `49 EUR` is `49.00 EUR`.
fn same_money(a: &Money, b: &Money) -> bool {
    a.currency == b.currency && a.amount == b.amount
}

fn suggestion(id: &str, plan: &Plan) -> String {
    match did_you_mean(id, plan.tasks.iter().map(|t| t.id.as_str())) {
        Some(s) => format!("; did you mean `{s}`?"),
        None => String::new(),
    }
}

/// `None` when a path of dependencies leads from `a` to `b`, else what was
/// found instead.
///
/// The dependencies are a task's direct ones (its `after` list and the tasks
/// whose outputs it reads, the plan's `after`), followed transitively, and
/// the stage barrier: every task of an earlier stage precedes every task of a
/// later one. Since no task depends on a task of a later stage, `a` precedes
/// `b` exactly when `b` is in a later stage, or reachable from `a` through
/// direct dependencies.
fn precedes(plan: &Plan, a: &TaskName, b: &TaskName) -> Option<String> {
    let (Some(ia), Some(ib)) = (plan.task(&a.id), plan.task(&b.id)) else {
        let missing = if plan.task(&a.id).is_none() { a } else { b };
        return Some(format!(
            "{} is not in the plan{}",
            missing.id,
            suggestion(&missing.id, plan)
        ));
    };
    let (sa, sb) = (plan.tasks[ia].stage, plan.tasks[ib].stage);
    if sa < sb || reachable(plan, ia, ib) {
        return None;
    }
    let stage = |s: usize| &plan.stages[s];
    if sb < sa {
        return Some(format!(
            "the reverse: {} is in stage {}, before {} in stage {}",
            b.id,
            stage(sb),
            a.id,
            stage(sa)
        ));
    }
    if reachable(plan, ib, ia) {
        return Some(format!(
            "the reverse: a path of dependencies leads from {} to {}",
            b.id, a.id
        ));
    }
    Some(format!(
        "no path: both are in stage {} and neither waits for the other",
        stage(sa)
    ))
}

/// Whether `to` depends, directly or not, on `from` through `after` edges.
fn reachable(plan: &Plan, from: TaskIdx, to: TaskIdx) -> bool {
    let mut dependents: Vec<Vec<TaskIdx>> = vec![Vec::new(); plan.tasks.len()];
    for (i, t) in plan.tasks.iter().enumerate() {
        for &dep in &t.after {
            dependents[dep].push(i);
        }
    }
    let mut seen = vec![false; plan.tasks.len()];
    let mut queue = VecDeque::from([from]);
    seen[from] = true;
    while let Some(i) = queue.pop_front() {
        if i == to {
            return true;
        }
        for &next in &dependents[i] {
            if !seen[next] {
                seen[next] = true;
                queue.push_back(next);
            }
        }
    }
    false
}
