//! The text plan and quote, for product managers reviewing rules.

use std::fmt::Write;

use super::{call_text, inputs_text, message_text, wait_text};
use crate::plan::Plan;
use crate::value::format_duration;

/// Tasks grouped by stage, with their inputs, dependencies, conditions,
/// undo and points of no return; then the critical path.
pub fn text(plan: &Plan) -> String {
    let mut out = String::new();
    let used = super::used_stages(plan);
    let _ = writeln!(
        out,
        "order {}: {} in {used} of {} stages",
        plan.order,
        count(plan.tasks.len(), "task"),
        plan.stages.len()
    );
    let _ = writeln!(
        out,
        "price: {} once, {} monthly",
        plan.price.once, plan.price.monthly
    );
    for (what, at) in [
        ("requested start", &plan.requested_start),
        ("requested completion", &plan.requested_completion),
    ] {
        if let Some(at) = at {
            let _ = writeln!(out, "{what}: {at}");
        }
    }
    for (s, stage) in plan.stages.iter().enumerate() {
        let tasks: Vec<_> = plan.tasks.iter().filter(|t| t.stage == s).collect();
        if tasks.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\nstage {stage} ({})", count(tasks.len(), "task"));
        for t in tasks {
            let mark = if t.point_of_no_return {
                "  [point of no return]"
            } else {
                ""
            };
            let manual = match &t.manual {
                Some(team) => format!("  [manual: {team}]"),
                None => String::new(),
            };
            let _ = writeln!(out, "  {}  {}{manual}{mark}", t.id, t.action);
            if !t.inputs.is_empty() {
                let _ = writeln!(out, "      inputs   {}", inputs_text(&t.inputs));
            }
            if !t.after.is_empty() {
                let after: Vec<&str> = t.after.iter().map(|&j| plan.tasks[j].id.as_str()).collect();
                let _ = writeln!(out, "      after    {}", after.join(", "));
            }
            if let Some(w) = &t.when {
                let _ = writeln!(out, "      when     {w}  (decided at run time)");
            }
            if let Some(w) = &t.wait {
                let _ = writeln!(out, "      wait     {}", wait_text(w));
            }
            for r in &t.requires {
                let _ = writeln!(out, "      require  {} else {:?}", r.cond, message_text(r));
            }
            if let Some(r) = &t.retry {
                let how = match r.kind {
                    crate::syntax::ast::RetryKind::Every => "every",
                    crate::syntax::ast::RetryKind::Backoff => "backoff",
                };
                let _ = writeln!(
                    out,
                    "      retry    {} {how} {}",
                    r.count,
                    format_duration(r.delay_ms)
                );
            }
            if let Some(ms) = t.timeout_ms {
                let _ = writeln!(out, "      timeout  {}", format_duration(ms));
            }
            if let Some(u) = &t.undo {
                let _ = writeln!(out, "      undo     {}", call_text(u));
            }
        }
    }
    let path: Vec<&str> = plan
        .critical_path
        .iter()
        .map(|&i| plan.tasks[i].id.as_str())
        .collect();
    let _ = writeln!(
        out,
        "\ncritical path ({}): {}",
        count(path.len(), "task"),
        path.join(" -> ")
    );
    out
}

/// Prices per item and for the order, and SLA terms.
pub fn quote_text(plan: &Plan) -> String {
    // A modify's `was` and `change` columns, when the order has one.
    let changes = plan.items.iter().any(|i| i.was.is_some());
    let mut header: Vec<String> = ["item", "product", "action", "once", "monthly"]
        .map(String::from)
        .into();
    if changes {
        header.extend(["was".into(), "change".into()]);
    }
    let mut rows: Vec<Vec<String>> = vec![header];
    for i in &plan.items {
        let (once, monthly) = if i.priced {
            (i.price.once.to_string(), i.price.monthly.to_string())
        } else {
            // A bundle child's share of the bundle's price, counted in the bundle's line.
            (
                format!("({})", i.price.once),
                format!("({})", i.price.monthly),
            )
        };
        let id = if i.parent.is_some() {
            format!("  {}", i.id)
        } else {
            i.id.clone()
        };
        let mut row = vec![
            id,
            i.product.clone(),
            i.action.as_str().into(),
            once,
            monthly,
        ];
        if changes {
            let (was, change) = super::monthly_change(i).unwrap_or_default();
            row.extend([was, change]);
        }
        rows.push(row);
    }
    let mut total = vec![
        "total".into(),
        String::new(),
        String::new(),
        plan.price.once.to_string(),
        plan.price.monthly.to_string(),
    ];
    if changes {
        total.extend([String::new(), String::new()]);
    }
    rows.push(total);
    let columns = rows[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = format!("quote for order {}\n\n", plan.order);
    for (n, r) in rows.iter().enumerate() {
        if n == rows.len() - 1 {
            let rule = widths.iter().sum::<usize>() + 2 * (columns - 1);
            let _ = writeln!(out, "{}", "-".repeat(rule));
        }
        // Names to the left, amounts to the right.
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, &w))| {
                if c < 3 {
                    format!("{cell:<w$}")
                } else {
                    format!("{cell:>w$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    let with_sla: Vec<_> = plan.items.iter().filter(|i| !i.sla.is_empty()).collect();
    if !with_sla.is_empty() {
        out.push_str("\nservice levels\n");
        let width = with_sla
            .iter()
            .map(|i| i.id.chars().count())
            .max()
            .unwrap_or(0);
        for i in with_sla {
            let terms = i
                .sla
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(out, "  {:<width$}  {terms}", i.id);
        }
    }
    out
}

pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
