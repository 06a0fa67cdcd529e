//! Work items: the manual tasks people claim, release, complete and fail.
//! The store makes each change a compare-and-set; this layer checks what a
//! person gives back against the action's declared outputs before anything
//! is recorded. Moving the order on is the next run's business (a resume,
//! the runner that holds it, an engine): it takes up the ended item.

use std::collections::{BTreeMap, BTreeSet};

use crate::diagnostic::Code;
use crate::exec::action::value_from_json;
use crate::model::Type;
use crate::plan::Plan;
use crate::store::{Store, StoreError, WorkItem, WorkRequest, WorkState};
use crate::value::Value;

/// One output as a person gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct GivenOutput {
    pub name: String,
    pub value: GivenValue,
    /// Where it was given, for errors: `--output speed=fast`, or
    /// `survey.json: $.speed`.
    pub at: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum GivenValue {
    /// Text from the command line: read as JSON unless the output is a
    /// string (so `--output ok=true` is a bool, `--output note=true` text).
    Text(String),
    Json(serde_json::Value),
}

/// A given output that does not fit the action's signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OutputError {
    /// The output it is about.
    pub output: String,
    pub message: String,
    /// Where: the argument or the JSON path.
    pub at: String,
    pub help: String,
}

impl OutputError {
    pub fn code(&self) -> Code {
        Code::WorkOutput
    }
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum WorkError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(#[from] StoreError),
    /// Nothing was recorded.
    #[error("the outputs do not fit {task}'s action: {}", .errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; "))]
    #[diagnostic(code(ordo::work::output))]
    Outputs {
        task: String,
        errors: Vec<OutputError>,
    },
}

/// Reads `--output NAME=VALUE` arguments.
pub fn outputs_from_args(args: &[String]) -> Result<Vec<GivenOutput>, OutputError> {
    args.iter()
        .map(|arg| {
            let at = format!("--output {arg}");
            match arg.split_once('=') {
                Some((name, value)) if !name.trim().is_empty() => Ok(GivenOutput {
                    name: name.trim().to_string(),
                    value: GivenValue::Text(value.to_string()),
                    at,
                }),
                _ => Err(OutputError {
                    output: arg.clone(),
                    message: format!("`{arg}` is not NAME=VALUE"),
                    at,
                    help: "write --output NAME=VALUE, e.g. --output ready=true".into(),
                }),
            }
        })
        .collect()
}

/// Reads an `--outputs FILE.json` document: one JSON object, output names
/// to values. `file` names it in errors.
pub fn outputs_from_json(file: &str, text: &str) -> Result<Vec<GivenOutput>, OutputError> {
    let bad = |message: String| OutputError {
        output: String::new(),
        message,
        at: file.to_string(),
        help: "write one JSON object of output names and values, e.g. {\"ready\": true}".into(),
    };
    let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        bad(format!(
            "{file} is not JSON: {e} (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let serde_json::Value::Object(map) = doc else {
        return Err(bad(format!("{file} is not a JSON object")));
    };
    Ok(map
        .into_iter()
        .map(|(name, value)| GivenOutput {
            at: format!("{file}: $.{name}"),
            name,
            value: GivenValue::Json(value),
        })
        .collect())
}

/// The outputs of task `task` of `plan`, checked against its declared
/// outputs: every one given once, none unknown, each of its type. All the
/// errors, in declaration order, then the unknown ones.
pub fn check_outputs(
    plan: &Plan,
    task: usize,
    given: &[GivenOutput],
) -> Result<BTreeMap<String, Value>, Vec<OutputError>> {
    let declared = &plan.tasks[task].outputs;
    let mut errors = Vec::new();
    let mut values = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for (name, ty) in declared.iter() {
        let mut of_name = given.iter().filter(|g| &g.name == name);
        let Some(g) = of_name.next() else {
            errors.push(OutputError {
                output: name.clone(),
                message: format!("output `{name}` ({ty}) is missing"),
                at: "ordo task complete".into(),
                help: format!("give it: --output {name}=VALUE"),
            });
            continue;
        };
        seen.insert(name.as_str());
        if let Some(again) = of_name.next() {
            errors.push(OutputError {
                output: name.clone(),
                message: format!("output `{name}` is given twice"),
                at: again.at.clone(),
                help: format!("give `{name}` once (first at {})", g.at),
            });
            continue;
        }
        match read_value(ty, &g.value, &plan.enums) {
            Ok(v) => {
                values.insert(name.clone(), v);
            }
            Err(e) => errors.push(OutputError {
                output: name.clone(),
                message: format!("output `{name}` must be {ty}: {e}"),
                at: g.at.clone(),
                help: format!("give `{name}` a value of type {ty}"),
            }),
        }
    }
    let names: Vec<&str> = declared.iter().map(|(n, _)| n.as_str()).collect();
    for g in given.iter().filter(|g| !seen.contains(g.name.as_str())) {
        let close = names
            .iter()
            .map(|n| (strsim::levenshtein(n, &g.name), *n))
            .filter(|(d, _)| *d <= 2)
            .min();
        let help = match close {
            Some((_, n)) => format!("did you mean `{n}`?"),
            None if names.is_empty() => "the action declares no outputs".to_string(),
            None => format!("the action's outputs are {}", names.join(", ")),
        };
        errors.push(OutputError {
            output: g.name.clone(),
            message: format!(
                "`{}` is not an output of {}",
                g.name, plan.tasks[task].action
            ),
            at: g.at.clone(),
            help,
        });
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}

fn read_value(
    ty: &Type,
    given: &GivenValue,
    enums: &BTreeMap<String, Vec<String>>,
) -> Result<Value, String> {
    let json = match given {
        GivenValue::Json(v) => v.clone(),
        GivenValue::Text(s) => match ty {
            Type::String | Type::Matching { .. } | Type::Enum { .. } => {
                serde_json::Value::String(s.clone())
            }
            _ => serde_json::from_str(s).unwrap_or_else(|_| serde_json::Value::String(s.clone())),
        },
    };
    value_from_json(ty, &json, enums)
}

pub fn claim(store: &dyn Store, order: &str, task: &str, by: &str) -> Result<WorkItem, WorkError> {
    Ok(store.change_work(order, task, by, &WorkRequest::Claim)?)
}

pub fn release(
    store: &dyn Store,
    order: &str,
    task: &str,
    by: &str,
) -> Result<WorkItem, WorkError> {
    Ok(store.change_work(order, task, by, &WorkRequest::Release)?)
}

/// Completes a work item with `given` outputs, checked first: when one does
/// not fit, nothing is recorded. Refused when someone else holds the item.
pub fn complete(
    store: &dyn Store,
    order: &str,
    task: &str,
    by: &str,
    given: &[GivenOutput],
) -> Result<WorkItem, WorkError> {
    let item = store.work_item(order, task)?;
    refuse_others(&item, by)?;
    let stored = store.load(order)?;
    let idx = stored
        .plan
        .task(task)
        .ok_or_else(|| StoreError::NoSuchWorkItem {
            order: order.to_string(),
            task: task.to_string(),
        })?;
    let values = check_outputs(&stored.plan, idx, given).map_err(|errors| WorkError::Outputs {
        task: task.to_string(),
        errors,
    })?;
    Ok(store.change_work(order, task, by, &WorkRequest::Complete(values))?)
}

/// Fails a work item: permanently (the order fails and compensates) unless
/// `retryable` and the task's `retry` allows another work item.
pub fn fail(
    store: &dyn Store,
    order: &str,
    task: &str,
    by: &str,
    reason: &str,
    retryable: bool,
) -> Result<WorkItem, WorkError> {
    let request = WorkRequest::Fail {
        reason: reason.to_string(),
        retryable,
    };
    Ok(store.change_work(order, task, by, &request)?)
}

/// The checks the store's compare-and-set makes, made before the outputs
/// are: an item someone else holds, or one that ended, is refused as such.
fn refuse_others(item: &WorkItem, by: &str) -> Result<(), StoreError> {
    if !item.state.is_active() {
        return Err(StoreError::WorkItemClosed {
            order: item.order.clone(),
            task: item.task.clone(),
            state: item.state.as_str().to_string(),
        });
    }
    match &item.assignee {
        Some(holder) if item.state == WorkState::Claimed && holder != by => {
            Err(StoreError::WorkItemTaken {
                order: item.order.clone(),
                task: item.task.clone(),
                assignee: holder.clone(),
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        let json = serde_json::json!({
            "order": "O", "catalog_hash": "h", "stages": ["s"], "items": [],
            "tasks": [{
                "id": "t", "item": null, "product": null, "name": "t", "action": "a.b",
                "stage": 0, "after": [], "inputs": [], "when": null, "requires": [],
                "retry": null, "timeout_ms": null, "undo": null, "point_of_no_return": false,
                "outputs": []
            }],
            "critical_path": [],
            "price": {
                "once": {"amount": "0", "currency": "EUR"},
                "monthly": {"amount": "0", "currency": "EUR"}
            }
        });
        let mut plan: Plan = serde_json::from_value(json).expect("a plan");
        plan.tasks[0].outputs = std::sync::Arc::from(vec![
            ("ok".to_string(), Type::Bool),
            ("n".to_string(), Type::Int),
            ("note".to_string(), Type::String),
        ]);
        plan
    }

    fn given(pairs: &[&str]) -> Vec<GivenOutput> {
        let args: Vec<String> = pairs.iter().map(|s| s.to_string()).collect();
        outputs_from_args(&args).expect("NAME=VALUE")
    }

    #[test]
    fn text_is_read_by_the_output_type() {
        let values = check_outputs(&plan(), 0, &given(&["ok=true", "n=4", "note=true"])).unwrap();
        assert_eq!(values["ok"], Value::Bool(true));
        assert_eq!(values["n"], Value::Int(4));
        assert_eq!(values["note"], Value::String("true".into()));
    }

    #[test]
    fn every_error_names_its_output() {
        let errors = check_outputs(&plan(), 0, &given(&["ok=maybe", "nn=1"])).unwrap_err();
        let named: Vec<&str> = errors.iter().map(|e| e.output.as_str()).collect();
        assert_eq!(named, ["ok", "n", "note", "nn"]);
        assert!(errors[3].help.contains("did you mean `n`?"));
    }
}
