//! The JSON plan (`docs/plans.md`, "The JSON plan"), written as it is
//! serialized: no `serde_json::Value` tree of the whole plan is built first,
//! so a plan of 100,000 tasks is written task by task, straight to its
//! writer. The structs fix the key order; the output is the one the tree
//! gave, byte for byte (pretty-printed, two spaces).

use std::io;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use super::{call_text, message_text};
use crate::model::Expr;
use crate::plan::revision::Revision;
use crate::plan::{Plan, PlanTask, PlanWait, TaskIdx};
use crate::syntax::ast::RetryKind;

#[derive(Serialize)]
struct JsonPlan<'a> {
    order: &'a str,
    stages: &'a [String],
    tasks: Tasks<'a>,
    critical_path: Ids<'a>,
    price: JsonPrice,
    requested_start: Option<&'a str>,
    requested_completion: Option<&'a str>,
    /// Only in the plan of a revised order (`ordo plan --revise`).
    #[serde(skip_serializing_if = "Option::is_none")]
    revision: Option<&'a Revision>,
}

#[derive(Serialize)]
struct JsonPrice {
    once: String,
    monthly: String,
}

/// Every task of the plan, each serialized as it is reached.
struct Tasks<'a>(&'a Plan);

impl Serialize for Tasks<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let plan = self.0;
        let mut seq = s.serialize_seq(Some(plan.tasks.len()))?;
        for t in &plan.tasks {
            seq.serialize_element(&JsonTask { plan, t })?;
        }
        seq.end()
    }
}

/// Tasks by index, written as their ids.
struct Ids<'a>(&'a Plan, &'a [TaskIdx]);

impl Serialize for Ids<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.1.iter().map(|&i| self.0.tasks[i].id.as_str()))
    }
}

struct JsonTask<'a> {
    plan: &'a Plan,
    t: &'a PlanTask,
}

/// The task's keys, in this order: `id`, `item`, `product`, `name`,
/// `action`, `stage`, `after`, `when`, `inputs`, `require`, `retry`,
/// `timeout_ms`, `undo`, `point_of_no_return`, `manual` (the team of a
/// manual task, else null) and `wait` (`{"until": {"value": …}}`,
/// `{"until": {"expr": …}}` or `{"after_ms": N}`; null without a wait).
impl Serialize for JsonTask<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (plan, t) = (self.plan, self.t);
        let mut m = s.serialize_map(Some(16))?;
        m.serialize_entry("id", &t.id)?;
        m.serialize_entry("item", &t.item)?;
        m.serialize_entry("product", &t.product)?;
        m.serialize_entry("name", &t.name)?;
        m.serialize_entry("action", &t.action)?;
        m.serialize_entry("stage", &plan.stages[t.stage])?;
        m.serialize_entry("after", &Ids(plan, &t.after))?;
        m.serialize_entry("when", &t.when.as_ref().map(ToString::to_string))?;
        m.serialize_entry("inputs", &Inputs(&t.inputs))?;
        m.serialize_entry("require", &Requires(t))?;
        m.serialize_entry("retry", &t.retry.as_ref().map(JsonRetry::of))?;
        m.serialize_entry("timeout_ms", &t.timeout_ms)?;
        m.serialize_entry("undo", &t.undo.as_ref().map(call_text))?;
        m.serialize_entry("point_of_no_return", &t.point_of_no_return)?;
        m.serialize_entry("manual", &t.manual)?;
        m.serialize_entry("wait", &t.wait.as_ref().map(JsonWait::of))?;
        m.end()
    }
}

/// A task's inputs as an object, in the action's parameter order.
struct Inputs<'a>(&'a [(String, Expr)]);

impl Serialize for Inputs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(n, e)| (n, ExprJson(e))))
    }
}

struct Requires<'a>(&'a PlanTask);

impl Serialize for Requires<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.requires.iter().map(|r| JsonRequire {
            condition: r.cond.to_string(),
            message: message_text(r),
        }))
    }
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

impl JsonRetry {
    fn of(r: &crate::model::Retry) -> JsonRetry {
        JsonRetry {
            count: r.count,
            kind: match r.kind {
                RetryKind::Every => "every",
                RetryKind::Backoff => "backoff",
            },
            delay_ms: r.delay_ms,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum JsonWait<'a> {
    Until(ExprJson<'a>),
    AfterMs(u64),
}

impl JsonWait<'_> {
    fn of(w: &PlanWait) -> JsonWait<'_> {
        match w {
            PlanWait::Until(e) => JsonWait::Until(ExprJson(e)),
            PlanWait::After { ms } => JsonWait::AfterMs(*ms),
        }
    }
}

/// An expression of a plan task: known at plan time, `{"value": …}` as
/// actions will see it; else `{"expr": …}`, the expression evaluated when
/// the task is ready.
struct ExprJson<'a>(&'a Expr);

impl Serialize for ExprJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        match self.0.as_lit() {
            Some(v) => m.serialize_entry("value", &v.to_json())?,
            None => m.serialize_entry("expr", &self.0.to_string())?,
        }
        m.end()
    }
}

fn json_plan<'a>(plan: &'a Plan, revision: Option<&'a Revision>) -> JsonPlan<'a> {
    JsonPlan {
        order: &plan.order,
        stages: &plan.stages,
        tasks: Tasks(plan),
        critical_path: Ids(plan, &plan.critical_path),
        price: JsonPrice {
            once: plan.price.once.to_string(),
            monthly: plan.price.monthly.to_string(),
        },
        requested_start: plan.requested_start.as_deref(),
        requested_completion: plan.requested_completion.as_deref(),
        revision,
    }
}

/// Writes the JSON plan, and a newline, to `out` as it goes. Buffer `out`:
/// the serializer makes many small writes.
pub fn write_json(plan: &Plan, revision: Option<&Revision>, out: impl io::Write) -> io::Result<()> {
    let mut out = out;
    serde_json::to_writer_pretty(&mut out, &json_plan(plan, revision)).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

/// The JSON plan: SPEC §5's keys, and per task its inputs, `require`,
/// `retry`, `timeout_ms`, `manual` and `wait`.
pub fn json(plan: &Plan) -> String {
    to_string(plan, None)
}

/// The JSON plan of a revised order with its delta as the `revision`
/// member: `{"from": 1, "to": 2, "tasks": [{"id": "…", "change": "keep"}]}`.
pub fn json_revised(plan: &Plan, revision: &Revision) -> String {
    to_string(plan, Some(revision))
}

fn to_string(plan: &Plan, revision: Option<&Revision>) -> String {
    let mut bytes = Vec::new();
    // Writing to memory fails only if a Serialize impl does, and these don't.
    let _ = write_json(plan, revision, &mut bytes);
    String::from_utf8(bytes).unwrap_or_default()
}
