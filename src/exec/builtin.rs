//! The `simulate` and `noop` bindings: actions that touch nothing and answer
//! with outputs derived from the declared output types (SPEC §6).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use serde_json::Value as J;

use super::action::{Action, ActionError, Outputs, Request};
use crate::model::Type;

/// What a `simulate` binding may say.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimulateOptions {
    /// How long each attempt takes.
    pub latency_ms: u64,
    /// Fixed outputs, read through the declared types like a plugin's reply.
    pub outputs: BTreeMap<String, J>,
    /// Fail the first N attempts, retryably.
    pub fail: u32,
    /// Fail every attempt, permanently.
    pub fail_permanently: bool,
}

/// What simulated outputs are derived from besides the declared types.
#[derive(Debug, Clone)]
pub(crate) struct SimEnv {
    /// Money outputs are zero in this currency.
    pub currency: String,
    /// Date and datetime outputs are the run's start.
    pub started: DateTime<FixedOffset>,
    pub enums: BTreeMap<String, Vec<String>>,
}

pub(crate) struct Simulate {
    options: SimulateOptions,
    env: Arc<SimEnv>,
}

impl Simulate {
    pub fn new(options: SimulateOptions, env: Arc<SimEnv>) -> Simulate {
        Simulate { options, env }
    }
}

impl Action for Simulate {
    /// The latency is served by the executor's timer, not by a sleeping
    /// thread: a thousand simulated calls in flight cost no thousand threads.
    fn latency(&self, _req: &Request) -> Duration {
        Duration::from_millis(self.options.latency_ms)
    }

    /// Without a latency: outputs derived from the request, nothing else,
    /// so no thread and no place among the attempts running is needed.
    fn immediate(&self) -> bool {
        self.options.latency_ms == 0
    }

    fn invoke(&self, req: &Request) -> Result<Outputs, ActionError> {
        if self.options.fail_permanently {
            return Err(ActionError::permanent("simulated permanent failure"));
        }
        if req.attempt <= self.options.fail {
            return Err(ActionError::retryable(format!(
                "simulated failure (attempt {} of the first {} that fail)",
                req.attempt, self.options.fail
            )));
        }
        Ok(req
            .outputs
            .iter()
            .map(|(name, ty)| {
                let value = match self.options.outputs.get(name) {
                    Some(v) => v.clone(),
                    None => simulated(&self.env, &req.task, name, ty),
                };
                (name.clone(), value)
            })
            .collect())
    }
}

/// The simulated value of output `name` of type `ty`, as JSON.
fn simulated(env: &SimEnv, task: &str, name: &str, ty: &Type) -> J {
    match ty {
        Type::String | Type::Matching { .. } => J::String(format!("{task}.{name}")),
        Type::Bool => J::Bool(true),
        Type::Int => J::from(0),
        Type::IntRange { lo, hi } => J::from(0.clamp(*lo, *hi)),
        Type::Decimal => J::String("0".into()),
        Type::Percent => J::String("0%".into()),
        Type::Money => J::String(format!("0.00 {}", env.currency)),
        Type::Enum { name: e } => match env.enums.get(e).and_then(|v| v.first()) {
            Some(first) => J::String(first.clone()),
            None => J::String(format!("{task}.{name}")),
        },
        Type::Date => J::String(env.started.format("%Y-%m-%d").to_string()),
        Type::DateTime => J::String(
            env.started
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        ),
        Type::Duration => J::String("0s".into()),
        Type::Null => J::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::action::{outputs_from_json, PROTOCOL};
    use crate::value::Value;

    fn request(attempt: u32, outputs: Vec<(String, Type)>) -> Request {
        Request {
            protocol: PROTOCOL,
            action: "net.up".into(),
            order: "O".into(),
            task: "1/up".into(),
            version: 1,
            attempt,
            idempotency_key: "O/1/up".into(),
            undo: false,
            inputs: serde_json::Map::new(),
            outputs: Arc::from(outputs),
            processes: None,
            deadline: None,
        }
    }

    fn env() -> Arc<SimEnv> {
        Arc::new(SimEnv {
            currency: "EUR".into(),
            started: DateTime::parse_from_rfc3339("2026-12-01T09:00:00Z").unwrap(),
            enums: BTreeMap::from([("Speed".into(), vec!["100M".into(), "1G".into()])]),
        })
    }

    #[test]
    fn outputs_follow_the_declared_types() {
        let declared = vec![
            ("circuit".to_string(), Type::String),
            ("ok".to_string(), Type::Bool),
            ("fee".to_string(), Type::Money),
            (
                "speed".to_string(),
                Type::Enum {
                    name: "Speed".into(),
                },
            ),
            ("on".to_string(), Type::Date),
        ];
        let sim = Simulate::new(SimulateOptions::default(), env());
        let raw = sim.invoke(&request(1, declared.clone())).unwrap();
        let values = outputs_from_json(&declared, &env().enums, &raw).unwrap();
        assert_eq!(values["circuit"], Value::String("1/up.circuit".into()));
        assert_eq!(values["ok"], Value::Bool(true));
        assert_eq!(values["fee"].to_string(), "0.00 EUR");
        assert_eq!(values["speed"], Value::String("100M".into()));
        assert_eq!(values["on"].to_string(), "2026-12-01");
    }

    #[test]
    fn fails_the_first_attempts_then_succeeds() {
        let options = SimulateOptions {
            fail: 2,
            ..SimulateOptions::default()
        };
        let sim = Simulate::new(options, env());
        assert!(sim.invoke(&request(1, vec![])).unwrap_err().retryable);
        assert!(sim.invoke(&request(2, vec![])).unwrap_err().retryable);
        assert!(sim.invoke(&request(3, vec![])).is_ok());
    }
}
