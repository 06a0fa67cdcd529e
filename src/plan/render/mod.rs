//! The plan and the quote as a person or a program reads them: text, the JSON
//! of SPEC §5, Graphviz DOT, Mermaid, and pictures ordo draws itself (SVG,
//! and an HTML page around it). Every output is deterministic.

mod graph;
mod html;
mod json;
mod layout;
mod svg;
mod text;

use serde_json::json;

use super::revision::Revision;

use super::{Plan, PlanCall, PlanItem, PlanTask, PlanWait};
use crate::model::{MessagePart, Require};
use crate::value::format_duration;

pub use graph::{dot, mermaid};
pub use html::html;
pub use json::{json, json_revised, write_json};
/// Text escaped for XML and HTML (content and quoted attributes).
pub(crate) use svg::xml;
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
    let wait = t.wait.as_deref().map(|w| match w {
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
