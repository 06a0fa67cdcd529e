//! The plan and the quote as a person or a program reads them: text, the JSON
//! of SPEC §5, Graphviz DOT, Mermaid, and pictures ordo draws itself (SVG,
//! and an HTML page around it). Every output is deterministic.

mod graph;
mod html;
mod layout;
mod svg;
mod text;

use serde::Serialize;
use serde_json::json;

use super::revision::Revision;

use super::{Plan, PlanCall, PlanItem, PlanTask, PlanWait};
use crate::model::{MessagePart, Require};
use crate::syntax::ast::RetryKind;
use crate::value::format_duration;

pub use graph::{dot, mermaid};
pub use html::html;
pub use svg::{svg, Status};
pub use text::{count, quote_text, text};

/// How many of the plan's stages have tasks.
pub(crate) fn used_stages(plan: &Plan) -> usize {
    (0..plan.stages.len())
        .filter(|&s| plan.tasks.iter().any(|t| t.stage == s))
        .count()
}

/// Each critical-path task's step on the path, from 1.
pub(crate) fn critical_steps(plan: &Plan) -> std::collections::BTreeMap<super::TaskIdx, usize> {
    plan.critical_path
        .iter()
        .enumerate()
        .map(|(k, &i)| (i, k + 1))
        .collect()
}

/// An undo call as one line: `inventory.release_port(port: 1/Broadband/reserve_port.port)`.
pub(crate) fn call_text(call: &PlanCall) -> String {
    format!("{}({})", call.action, inputs_text(&call.inputs))
}

/// A task's inputs as one line: `port: 1/Broadband/reserve_port.port, speed: "1G"`.
/// Values known at plan time are substituted already; the rest (other
/// tasks' outputs) show as the expression the task will evaluate.
pub(crate) fn inputs_text(inputs: &[(String, crate::model::Expr)]) -> String {
    inputs
        .iter()
        .map(|(n, e)| format!("{n}: {e}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A task's wait in words: `until 2026-12-05T00:00:00Z` (the instant, or the
/// expression evaluated when the task is ready), `2h after its dependencies`.
pub(crate) fn wait_text(w: &PlanWait) -> String {
    match w {
        PlanWait::Until(e) => format!("until {e}"),
        PlanWait::After { ms } => format!("{} after its dependencies", format_duration(*ms)),
    }
}

/// The short notes a graph node carries under its id and action: who does
/// the task (`manual field-ops`) and what it waits for (`wait 2h`).
pub(crate) fn node_notes(t: &PlanTask) -> Vec<String> {
    let manual = t.manual.iter().map(|team| format!("manual {team}"));
    let wait = t.wait.iter().map(|w| match w {
        PlanWait::Until(e) => format!("wait until {e}"),
        PlanWait::After { ms } => format!("wait {}", format_duration(*ms)),
    });
    manual.chain(wait).collect()
}

/// A `require` rule's message as the customer will see it: values known at
/// plan time read as text, the rest as `{expr}`.
pub(crate) fn message_text(r: &Require) -> String {
    r.message
        .parts
        .iter()
        .map(|p| match p {
            MessagePart::Text(s) => s.clone(),
            MessagePart::Expr(e) => match e.as_lit() {
                Some(v) => v.to_string(),
                None => format!("{{{e}}}"),
            },
        })
        .collect()
}

#[derive(Serialize)]
struct JsonRequire {
    condition: String,
    message: String,
}

#[derive(Serialize)]
struct JsonRetry {
    count: u32,
    kind: &'static str,
    delay_ms: u64,
}

#[derive(Serialize)]
struct JsonTask<'a> {
    id: &'a str,
    item: Option<&'a str>,
    product: Option<&'a str>,
    name: &'a str,
    action: &'a str,
    stage: &'a str,
    after: Vec<&'a str>,
    when: Option<String>,
    inputs: serde_json::Map<String, serde_json::Value>,
    require: Vec<JsonRequire>,
    retry: Option<JsonRetry>,
    timeout_ms: Option<u64>,
    undo: Option<String>,
    point_of_no_return: bool,
    /// The team of a manual task, else null.
    manual: Option<&'a str>,
    /// `{"until": {"value": …}}` or `{"until": {"expr": …}}`, or
    /// `{"after_ms": N}`; null without a wait.
    wait: Option<serde_json::Value>,
}

fn json_task<'a>(plan: &'a Plan, t: &'a PlanTask) -> JsonTask<'a> {
    JsonTask {
        id: &t.id,
        item: t.item.as_deref(),
        product: t.product.as_deref(),
        name: &t.name,
        action: &t.action,
        stage: &plan.stages[t.stage],
        after: t.after.iter().map(|&j| plan.tasks[j].id.as_str()).collect(),
        when: t.when.as_ref().map(ToString::to_string),
        inputs: t
            .inputs
            .iter()
            .map(|(n, e)| (n.clone(), expr_json(e)))
            .collect(),
        require: t
            .requires
            .iter()
            .map(|r| JsonRequire {
                condition: r.cond.to_string(),
                message: message_text(r),
            })
            .collect(),
        retry: t.retry.as_ref().map(|r| JsonRetry {
            count: r.count,
            kind: match r.kind {
                RetryKind::Every => "every",
                RetryKind::Backoff => "backoff",
            },
            delay_ms: r.delay_ms,
        }),
        timeout_ms: t.timeout_ms,
        undo: t.undo.as_ref().map(call_text),
        point_of_no_return: t.point_of_no_return,
        manual: t.manual.as_deref(),
        wait: t.wait.as_ref().map(|w| match w {
            PlanWait::Until(e) => json!({ "until": expr_json(e) }),
            PlanWait::After { ms } => json!({ "after_ms": ms }),
        }),
    }
}

/// An expression of a plan task: known at plan time, the value as actions
/// will see it; else the expression evaluated when the task is ready.
fn expr_json(e: &crate::model::Expr) -> serde_json::Value {
    match e.as_lit() {
        Some(v) => json!({ "value": v.to_json() }),
        None => json!({ "expr": e.to_string() }),
    }
}

/// The JSON plan: SPEC §5's keys, and per task its inputs, `require`,
/// `retry`, `timeout_ms`, `manual` and `wait` (`docs/plans.md`, "The JSON
/// plan").
pub fn json(plan: &Plan) -> String {
    pretty(&json_value(plan))
}

fn json_value(plan: &Plan) -> serde_json::Value {
    json!({
        "order": plan.order,
        "stages": plan.stages,
        "tasks": plan.tasks.iter().map(|t| json_task(plan, t)).collect::<Vec<_>>(),
        "critical_path": plan.critical_path.iter().map(|&i| plan.tasks[i].id.as_str()).collect::<Vec<_>>(),
        "price": { "once": plan.price.once.to_string(), "monthly": plan.price.monthly.to_string() },
        "requested_start": plan.requested_start,
        "requested_completion": plan.requested_completion,
    })
}

/// The JSON plan of a revised order with its delta as the `revision`
/// member: `{"from": 1, "to": 2, "tasks": [{"id": "…", "change": "keep"}]}`.
pub fn json_revised(plan: &Plan, revision: &Revision) -> String {
    let mut value = json_value(plan);
    value["revision"] = json!(revision);
    pretty(&value)
}

/// The delta as text: one line per task, its change first, then the counts.
pub fn revision_text(revision: &Revision) -> String {
    let mut out = format!(
        "revision of order version {} to version {}:\n",
        revision.from, revision.to
    );
    for t in &revision.tasks {
        out.push_str(&format!("  {:<4}  {}\n", t.change.as_str(), t.id));
    }
    let c = revision.counts();
    out.push_str(&format!(
        "{} kept, {} redone, {} undone, {} added\n",
        c.kept, c.redone, c.undone, c.added
    ));
    out
}

/// The quote: prices per item and for the order, and SLA terms per item.
pub fn quote_json(plan: &Plan) -> String {
    let items: Vec<_> = plan
        .items
        .iter()
        .map(|i| {
            let mut item = json!({
                "id": i.id,
                "product": i.product,
                "action": i.action.as_str(),
                "parent": i.parent,
                "price": { "once": i.price.once.to_string(), "monthly": i.price.monthly.to_string() },
                "counted": i.priced,
                "sla": i.sla.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.to_string()))).collect::<serde_json::Map<_, _>>(),
            });
            if let Some((was, change)) = monthly_change(i) {
                item["was"] = json!({ "monthly": was });
                item["change"] = json!({ "monthly": change });
            }
            item
        })
        .collect();
    let value = json!({
        "order": plan.order,
        "currency": plan.price.once.currency,
        "items": items,
        "price": { "once": plan.price.once.to_string(), "monthly": plan.price.monthly.to_string() },
    });
    pretty(&value)
}

/// A `modify` item's instance's current monthly price and what the item
/// changes it by, signed (`+10.00 EUR`, `-2.00 EUR`; SPEC §8.8).
fn monthly_change(item: &PlanItem) -> Option<(String, String)> {
    let was = item.was.as_ref()?;
    let mut change = item.price.monthly.clone();
    change.amount -= was.amount;
    let sign = if change.amount > Default::default() {
        "+"
    } else {
        ""
    };
    Some((was.to_string(), format!("{sign}{change}")))
}

fn pretty(value: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(value).unwrap_or_default();
    s.push('\n');
    s
}
