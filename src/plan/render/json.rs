//! The JSON plan (`docs/plans.md`, "The JSON plan"), written as it is
//! serialized: no `serde_json::Value` tree of the whole plan is built first,
//! so a plan of 100,000 tasks is written task by task, straight to its
//! writer. The structs fix the key order; the output is the one the tree
//! gave, byte for byte (pretty-printed, two spaces).

use std::io::{self, Write};

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use super::{call_text, message_text};
use crate::model::Expr;
use crate::plan::revision::Revision;
use crate::plan::{Plan, PlanTask, PlanWait, TaskIdx};
use crate::syntax::ast::RetryKind;
use crate::value::Value;

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
        m.serialize_entry("when", &t.when.as_deref().map(Shown))?;
        m.serialize_entry("inputs", &Inputs(&t.inputs))?;
        m.serialize_entry("require", &Requires(t))?;
        m.serialize_entry("retry", &t.retry.as_ref().map(JsonRetry::of))?;
        m.serialize_entry("timeout_ms", &t.timeout_ms)?;
        m.serialize_entry("undo", &t.undo.as_deref().map(call_text))?;
        m.serialize_entry("point_of_no_return", &t.point_of_no_return)?;
        m.serialize_entry("manual", &t.manual)?;
        m.serialize_entry("wait", &t.wait.as_deref().map(JsonWait::of))?;
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
            condition: Shown(&r.cond),
            message: message_text(r),
        }))
    }
}

#[derive(Serialize)]
struct JsonRequire<'a> {
    condition: Shown<'a>,
    message: String,
}

/// An expression written as its text (`1/t0.ok`), straight into the JSON
/// string: the same bytes as its `to_string()`, without the `String`.
struct Shown<'a>(&'a Expr);

impl Serialize for Shown<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self.0)
    }
}

/// A plan-time value as actions see it: the bytes of `Value::to_json`,
/// without building that `serde_json::Value`.
struct ValueJson<'a>(&'a Value);

impl Serialize for ValueJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::String(v) => s.serialize_str(v),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Null => s.serialize_unit(),
            other => s.collect_str(other),
        }
    }
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
            Some(v) => m.serialize_entry("value", &ValueJson(v))?,
            None => m.serialize_entry("expr", &Shown(self.0))?,
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

/// Writes the JSON plan, and a newline, to `out` as it goes, in chunks of
/// [`Chunks::SIZE`] bytes.
pub fn write_json(plan: &Plan, revision: Option<&Revision>, out: impl io::Write) -> io::Result<()> {
    let mut out = Chunks::new(out);
    let mut json = serde_json::Serializer::with_formatter(&mut out, Pretty::default());
    json_plan(plan, revision)
        .serialize(&mut json)
        .map_err(io::Error::from)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// serde_json's `PrettyFormatter` with its two spaces, byte for byte, but
/// each line break written with its comma and indent at once: the pretty
/// printer wrote the indent two bytes at a time, a call each, and a plan of
/// 100,000 tasks has about four million lines.
#[derive(Default)]
struct Pretty {
    depth: usize,
    has_value: bool,
}

/// A comma, a line break and the indent of up to 32 levels (64 spaces).
const BREAK: &[u8] = b",\n                                                                ";

impl Pretty {
    fn line<W: ?Sized + io::Write>(&self, w: &mut W, comma: bool) -> io::Result<()> {
        let from = usize::from(!comma);
        let end = 2 + 2 * self.depth;
        if end <= BREAK.len() {
            return w.write_all(&BREAK[from..end]);
        }
        w.write_all(&BREAK[from..2])?;
        (0..self.depth).try_for_each(|_| w.write_all(b"  "))
    }

    fn open<W: ?Sized + io::Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + io::Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.line(w, false)?;
        }
        w.write_all(bracket)
    }
}

impl serde_json::ser::Formatter for Pretty {
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.line(w, !first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.line(w, !first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// A buffer in front of the writer that the serializer's many small writes
/// (a quote, a colon, two spaces of indent) go to: they are inlined copies
/// into memory, not calls through the caller's `dyn Write` (a fifth of the
/// time of `ordo plan --format json` before).
struct Chunks<W: io::Write> {
    buf: Vec<u8>,
    out: W,
}

impl<W: io::Write> Chunks<W> {
    const SIZE: usize = 1 << 16;

    fn new(out: W) -> Self {
        Chunks {
            buf: Vec::with_capacity(Self::SIZE),
            out,
        }
    }

    fn drain(&mut self) -> io::Result<()> {
        let written = self.out.write_all(&self.buf);
        self.buf.clear();
        written
    }
}

impl<W: io::Write> io::Write for Chunks<W> {
    #[inline]
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.write_all(bytes)?;
        Ok(bytes.len())
    }

    #[inline]
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.buf.len() + bytes.len() > Self::SIZE {
            self.drain()?;
        }
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.drain()?;
        self.out.flush()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Nested past the indent [`BREAK`] holds, with empty and full arrays
    /// and objects at every depth.
    fn deep(depth: usize) -> serde_json::Value {
        let mut v = serde_json::json!({ "leaf": [1, "two", null, [], {}] });
        for k in 0..depth {
            v = serde_json::json!({ "k": k, "empty": {}, "list": [v, [], "x\"y"], "after": true });
        }
        v
    }

    #[test]
    fn the_pretty_printer_writes_what_serde_jsons_does() {
        for depth in [0, 1, 5, 14, 15, 16, 40] {
            let value = deep(depth);
            let mut ours = Vec::new();
            let mut json = serde_json::Serializer::with_formatter(&mut ours, Pretty::default());
            value.serialize(&mut json).unwrap();
            let theirs = serde_json::to_string_pretty(&value).unwrap();
            assert_eq!(String::from_utf8(ours).unwrap(), theirs, "depth {depth}");
        }
    }

    #[test]
    fn chunks_reach_the_writer_whole_and_in_order() {
        let mut sink = Vec::new();
        let mut out = Chunks::new(&mut sink);
        let mut expected = Vec::new();
        for k in 0..20_000u32 {
            let piece = k.to_string().repeat(1 + (k % 7) as usize);
            out.write_all(piece.as_bytes()).unwrap();
            expected.extend_from_slice(piece.as_bytes());
        }
        let big = vec![b'z'; 3 * Chunks::<Vec<u8>>::SIZE];
        out.write_all(&big).unwrap();
        expected.extend_from_slice(&big);
        out.flush().unwrap();
        assert_eq!(sink, expected);
    }
}
