//! The action interface: what the executor hands an implementation of an
//! action (a [`Request`], the exec protocol's request of SPEC §6) and what it
//! gets back. Built-in bindings (`simulate`, `noop`, `exec`, `http`) and
//! Rust types a library user registers are all [`Action`]s.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate};
use regex::Regex;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::state::Process;
use crate::model::types::a;
use crate::model::Type;
use crate::value::{parse_duration, Money, Value};

/// Outputs as an action returns them: JSON values by output name. The
/// executor reads each declared output as a value of its declared type.
pub type Outputs = BTreeMap<String, serde_json::Value>;

/// An implementation of one or more catalog actions.
///
/// `invoke` runs on a worker thread and may block (up to the request's
/// [`deadline`](Request::deadline), which it should honour: the executor
/// cannot interrupt a thread, so a result that arrives after the deadline is
/// counted as a timeout anyway). The same request (same
/// [`idempotency_key`](Request::idempotency_key)) may arrive more than once —
/// after a retry or a crash — and must not repeat its effect.
pub trait Action: Send + Sync {
    fn invoke(&self, request: &Request) -> Result<Outputs, ActionError>;

    /// How long the executor waits before calling [`Action::invoke`], on a
    /// timer that holds no worker thread: for actions that stand in for slow
    /// systems (`simulate`'s `latency`) and answer at once when called.
    fn latency(&self, _request: &Request) -> Duration {
        Duration::ZERO
    }

    /// Whether `invoke` answers at once, with no latency, touching nothing
    /// and never blocking (`simulate` and `noop` without a latency): the
    /// run's coordinator then calls it itself, once its `started` is
    /// recorded, rather than hand it to a worker thread and wait to be woken
    /// by the answer; and it takes no place of a limit shared between runs
    /// (a server's `--jobs`), which bounds what occupies threads and other
    /// systems. Its attempts still count towards the run's own `jobs`.
    fn immediate(&self) -> bool {
        false
    }
}

impl<F> Action for F
where
    F: Fn(&Request) -> Result<Outputs, ActionError> + Send + Sync,
{
    fn invoke(&self, request: &Request) -> Result<Outputs, ActionError> {
        self(request)
    }
}

/// The protocol version of [`Request`].
pub const PROTOCOL: u32 = 1;

/// One invocation of an action: the exec protocol's request (SPEC §6). Fields
/// marked "not sent" are for Rust implementations only and are left out of
/// the JSON that exec plugins read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    pub protocol: u32,
    pub action: String,
    pub order: String,
    pub task: String,
    /// The order's version the task runs in: 1, then one more per revision.
    pub version: u32,
    /// 1 for the first attempt; counts on across retries and resumed runs.
    pub attempt: u32,
    /// `ORDER/TASK_ID`, or `ORDER/TASK_ID/undo` for a compensation: the same
    /// for every attempt of the same operation. A task invoked again by a
    /// revision to version N (redone, or added back) has `ORDER/TASK_ID@vN`
    /// (and `ORDER/TASK_ID@vN/undo`).
    pub idempotency_key: String,
    pub undo: bool,
    /// In the action's parameter order; values as [`Value::to_json`] gives them.
    pub inputs: serde_json::Map<String, serde_json::Value>,
    /// The outputs the action declares (not sent).
    #[serde(skip)]
    pub outputs: Arc<[(String, Type)]>,
    /// When this attempt times out (not sent; plugins get their deadline by
    /// being killed).
    #[serde(skip)]
    pub deadline: Option<Instant>,
    /// Where an implementation that starts a process records it before
    /// sending it the request (not sent; set by the executor's workers).
    #[serde(skip)]
    pub processes: Option<ProcessLog>,
}

/// Records an attempt's process in the order's journal: [`ProcessLog::record`]
/// returns once it is durable, so a run killed afterwards leaves a record a
/// resume can act on.
#[derive(Clone)]
pub struct ProcessLog {
    pub(crate) tx: std::sync::mpsc::Sender<crate::exec::pool::Message>,
    pub(crate) task: crate::plan::TaskIdx,
    pub(crate) attempt: u32,
    pub(crate) undo: bool,
}

impl std::fmt::Debug for ProcessLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProcessLog")
    }
}

impl ProcessLog {
    /// Records `process` and waits until the journal has it; false if it
    /// could not be recorded (the attempt must then not go on).
    pub fn record(&self, process: Process) -> bool {
        let (ack, acked) = std::sync::mpsc::channel();
        let spawned = crate::exec::pool::Spawned {
            task: self.task,
            attempt: self.attempt,
            undo: self.undo,
            process,
            ack,
        };
        self.tx
            .send(crate::exec::pool::Message::Spawned(spawned))
            .is_ok()
            && acked.recv().is_ok()
    }
}

impl Request {
    /// Time left before the deadline; `None` without a timeout.
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// The request as the exec protocol sends it: one line of JSON.
    pub fn to_json_line(&self) -> String {
        // A struct of strings, numbers and JSON values always serialises.
        let mut line = serde_json::to_string(self).unwrap_or_default();
        line.push('\n');
        line
    }
}

/// A failed attempt. Retryable failures are retried as the task's `retry`
/// clause allows; permanent ones fail the task at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ActionError {
    pub message: String,
    pub retryable: bool,
}

impl ActionError {
    pub fn retryable(message: impl Into<String>) -> ActionError {
        ActionError {
            message: message.into(),
            retryable: true,
        }
    }

    pub fn permanent(message: impl Into<String>) -> ActionError {
        ActionError {
            message: message.into(),
            retryable: false,
        }
    }
}

/// Reads an action's JSON outputs as values of their declared types. Every
/// declared output must be present and well typed; outputs nobody declared
/// are dropped.
pub fn outputs_from_json(
    declared: &[(String, Type)],
    enums: &BTreeMap<String, Vec<String>>,
    raw: &Outputs,
) -> Result<BTreeMap<String, Value>, String> {
    let mut out = BTreeMap::new();
    for (name, ty) in declared {
        let value = match raw.get(name) {
            None | Some(serde_json::Value::Null) => {
                return Err(format!(
                    "the reply lacks the declared output `{name}` ({ty})"
                ))
            }
            Some(v) => {
                value_from_json(ty, v, enums).map_err(|e| format!("output `{name}`: {e}"))?
            }
        };
        out.insert(name.clone(), value);
    }
    Ok(out)
}

/// Reads one JSON value as a value of `ty`. Exact numbers may come as JSON
/// numbers or strings; money as `"49.00 EUR"`, dates as ISO 8601, durations
/// as `"30s"`.
pub fn value_from_json(
    ty: &Type,
    v: &serde_json::Value,
    enums: &BTreeMap<String, Vec<String>>,
) -> Result<Value, String> {
    use serde_json::Value as J;
    let expected = || format!("expected {}, found {}", a(ty), found(v));
    let text = match v {
        J::String(s) => Some(s.as_str()),
        _ => None,
    };
    let number_text = match v {
        J::Number(n) => Some(n.to_string()),
        J::String(s) => Some(s.clone()),
        _ => None,
    };
    match ty {
        Type::String => text.map(|s| Value::String(s.into())).ok_or_else(expected),
        Type::Matching { pattern } => {
            let s = text.ok_or_else(expected)?;
            let re = Regex::new(&format!("^(?:{pattern})$")).map_err(|e| e.to_string())?;
            if re.is_match(s) {
                Ok(Value::String(s.into()))
            } else {
                Err(format!("\"{s}\" does not match {pattern:?}"))
            }
        }
        Type::Enum { name } => {
            let s = text.ok_or_else(expected)?;
            match enums.get(name) {
                Some(values) if !values.iter().any(|x| x == s) => Err(format!(
                    "\"{s}\" is not a value of {name} ({})",
                    values.join(", ")
                )),
                _ => Ok(Value::String(s.into())),
            }
        }
        Type::Int | Type::IntRange { .. } => {
            let i = match v {
                J::Number(n) => n.as_i64(),
                J::String(s) => s.trim().parse().ok(),
                _ => None,
            }
            .ok_or_else(expected)?;
            match ty {
                Type::IntRange { lo, hi } if i < *lo || i > *hi => {
                    Err(format!("{i} is outside {lo}..{hi}"))
                }
                _ => Ok(Value::Int(i)),
            }
        }
        Type::Decimal => number_text
            .and_then(|t| Decimal::from_str_exact(t.trim()).ok())
            .map(Value::Decimal)
            .ok_or_else(expected),
        Type::Percent => number_text
            .and_then(|t| Decimal::from_str_exact(t.trim().trim_end_matches('%')).ok())
            .map(Value::Percent)
            .ok_or_else(expected),
        Type::Bool => v.as_bool().map(Value::Bool).ok_or_else(expected),
        Type::Money => text
            .and_then(parse_money)
            .map(Value::Money)
            .ok_or_else(|| format!("expected money like \"49.00 EUR\", found {}", found(v))),
        Type::Date => text
            .and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
            .map(Value::Date)
            .ok_or_else(|| format!("expected a date like \"2026-12-01\", found {}", found(v))),
        Type::DateTime => text
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(Value::DateTime)
            .ok_or_else(|| {
                format!(
                    "expected a date and time like \"2026-12-01T09:00:00Z\", found {}",
                    found(v)
                )
            }),
        Type::Duration => text
            .and_then(parse_duration)
            .map(Value::Duration)
            .ok_or_else(|| format!("expected a duration like \"30s\", found {}", found(v))),
        Type::Null => Ok(Value::Null),
    }
}

fn parse_money(text: &str) -> Option<Money> {
    let (amount, currency) = text.trim().split_once(' ')?;
    let currency = currency.trim();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    Some(Money {
        amount: Decimal::from_str_exact(amount).ok()?,
        currency: currency.to_string(),
    })
}

fn found(v: &serde_json::Value) -> String {
    use serde_json::Value as J;
    match v {
        J::Null => "null".into(),
        J::Bool(b) => b.to_string(),
        J::Number(n) => n.to_string(),
        J::String(s) => format!("\"{s}\""),
        J::Array(_) => "a list".into(),
        J::Object(_) => "an object".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(ty: Type, v: serde_json::Value) -> Result<Value, String> {
        let enums = BTreeMap::from([("Speed".to_string(), vec!["1G".to_string()])]);
        value_from_json(&ty, &v, &enums)
    }

    #[test]
    fn exact_numbers_stay_exact() {
        assert_eq!(
            read(Type::Decimal, json!("0.1")),
            Ok(Value::Decimal("0.1".parse().unwrap()))
        );
        let m = read(Type::Money, json!("49.00 EUR")).unwrap();
        assert_eq!(m.to_string(), "49.00 EUR");
        assert_eq!(read(Type::Int, json!(7)), Ok(Value::Int(7)));
        assert_eq!(
            read(Type::Duration, json!("30s")),
            Ok(Value::Duration(30_000))
        );
    }

    #[test]
    fn ill_typed_outputs_are_named() {
        assert_eq!(
            read(Type::Int, json!("seven")).unwrap_err(),
            "expected an int, found \"seven\""
        );
        assert!(read(
            Type::Enum {
                name: "Speed".into()
            },
            json!("2G")
        )
        .unwrap_err()
        .contains("not a value of Speed"));
        assert!(read(Type::IntRange { lo: 1, hi: 4 }, json!(5)).is_err());
        let declared = [("port".to_string(), Type::String)];
        let err = outputs_from_json(&declared, &BTreeMap::new(), &Outputs::new()).unwrap_err();
        assert_eq!(err, "the reply lacks the declared output `port` (string)");
    }

    #[test]
    fn requests_serialise_without_rust_only_fields() {
        let req = Request {
            protocol: PROTOCOL,
            action: "net.up".into(),
            order: "O".into(),
            task: "t".into(),
            version: 1,
            attempt: 1,
            idempotency_key: "O/t".into(),
            undo: false,
            inputs: serde_json::Map::new(),
            outputs: Arc::from(vec![("x".to_string(), Type::Int)]),
            deadline: Some(Instant::now()),
            processes: None,
        };
        assert_eq!(
            req.to_json_line(),
            "{\"protocol\":1,\"action\":\"net.up\",\"order\":\"O\",\"task\":\"t\",\"version\":1,\"attempt\":1,\
             \"idempotency_key\":\"O/t\",\"undo\":false,\"inputs\":{}}\n"
        );
    }
}
