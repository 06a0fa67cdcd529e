//! Hand-built plans for executor tests, the recording test plugin, and
//! readers of its log.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ordo::exec::{
    Bindings, ExecOptions, Executor, MemoryJournal, RunOutcome, TaskRecord, TaskState,
};
use ordo::model::expr::{Expr, ExprKind, Message, MessagePart, Ref};
use ordo::model::{Require, Retry, Type};
use ordo::plan::{Plan, PlanCall, PlanTask, Price};
use ordo::source::Sources;
use ordo::span::Span;
use ordo::syntax::ast::{BinOp, RetryKind};
use ordo::value::{Money, Value};

pub const ORDER: &str = "ORD-1";

// ---- expressions -------------------------------------------------------

pub fn s(text: &str) -> Expr {
    Expr::lit(Value::String(text.into()), Type::String, Span::default())
}

pub fn int(i: i64) -> Expr {
    Expr::lit(Value::Int(i), Type::Int, Span::default())
}

pub fn yes() -> Expr {
    Expr::lit(Value::Bool(true), Type::Bool, Span::default())
}

/// `TASK.OUTPUT`.
pub fn out(task: &str, output: &str, ty: Type) -> Expr {
    Expr {
        kind: ExprKind::Ref(Ref::TaskOutput {
            task: task.into(),
            output: output.into(),
        }),
        ty,
        span: Span::default(),
    }
}

pub fn bin(op: BinOp, a: Expr, b: Expr) -> Expr {
    Expr {
        kind: ExprKind::Binary(op, Box::new(a), Box::new(b)),
        ty: Type::Bool,
        span: Span::default(),
    }
}

// ---- plans ---------------------------------------------------------------

/// A task under construction; `after` and data references are resolved by
/// [`plan`].
pub struct T {
    task: PlanTask,
    after: Vec<String>,
}

pub fn task(id: &str, action: &str) -> T {
    T {
        task: PlanTask {
            id: id.into(),
            item: None,
            product: None,
            name: id.rsplit('/').next().unwrap_or(id).into(),
            action: action.into(),
            stage: 0,
            after: Vec::new(),
            inputs: Vec::new(),
            optional_inputs: Vec::new(),
            when: None,
            requires: Vec::new(),
            retry: None,
            timeout_ms: None,
            undo: None,
            point_of_no_return: false,
            outputs: Vec::new().into(),
            manual: None,
            wait: None,
        },
        after: Vec::new(),
    }
}

impl T {
    pub fn after(mut self, ids: &[&str]) -> T {
        self.after.extend(ids.iter().map(|s| s.to_string()));
        self
    }
    pub fn stage(mut self, stage: usize) -> T {
        self.task.stage = stage;
        self
    }
    pub fn input(mut self, name: &str, e: Expr) -> T {
        self.task.inputs.push((name.into(), e));
        self
    }
    /// An input of a parameter the action declares optional: it may be null.
    pub fn optional_input(mut self, name: &str, e: Expr) -> T {
        self.task.optional_inputs.push(name.into());
        self.input(name, e)
    }
    pub fn output(mut self, name: &str, ty: Type) -> T {
        let mut outputs = self.task.outputs.to_vec();
        outputs.push((name.into(), ty));
        self.task.outputs = outputs.into();
        self
    }
    pub fn when(mut self, e: Expr) -> T {
        self.task.when = Some(Box::new(e));
        self
    }
    /// `require COND else "TEXT{expr}"`, the message as text then one expression.
    pub fn require(mut self, cond: Expr, text: &str, value: Expr) -> T {
        self.task.requires.push(Require {
            cond,
            message: Message {
                parts: vec![MessagePart::Text(text.into()), MessagePart::Expr(value)],
            },
            span: Span::default(),
        });
        self
    }
    pub fn retry(mut self, count: u32, every_ms: u64) -> T {
        self.task.retry = Some(Retry {
            count,
            kind: RetryKind::Every,
            delay_ms: every_ms,
        });
        self
    }
    pub fn timeout(mut self, ms: u64) -> T {
        self.task.timeout_ms = Some(ms);
        self
    }
    pub fn undo(mut self, action: &str, inputs: Vec<(&str, Expr)>) -> T {
        self.task.undo = Some(Box::new(PlanCall {
            action: action.into(),
            inputs: inputs
                .into_iter()
                .map(|(n, e)| (n.to_string(), e))
                .collect(),
            optional_inputs: Vec::new(),
            outputs: Vec::new().into(),
        }));
        self
    }
    pub fn point_of_no_return(mut self) -> T {
        self.task.point_of_no_return = true;
        self
    }
}

/// A plan of `tasks` (given in a topological order) over `stages`; `after`
/// holds the explicit dependencies and every task an input, `when` or undo
/// reads, as decomposition would make it.
pub fn plan(stages: &[&str], tasks: Vec<T>) -> Plan {
    let index: BTreeMap<String, usize> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.task.id.clone(), i))
        .collect();
    let mut out = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        let mut task = t.task;
        let mut after: Vec<usize> = t.after.iter().map(|a| index[a]).collect();
        let exprs = task
            .inputs
            .iter()
            .map(|(_, e)| e)
            .chain(task.when.as_deref())
            .chain(
                task.undo
                    .iter()
                    .flat_map(|u| u.inputs.iter().map(|(_, e)| e)),
            );
        for e in exprs {
            for r in e.refs() {
                if let Ref::TaskOutput { task: dep, .. } = r {
                    let d = index[dep.as_str()];
                    if d != i && !after.contains(&d) {
                        after.push(d);
                    }
                }
            }
        }
        task.after = after;
        out.push(task);
    }
    let zero = Money {
        amount: Default::default(),
        currency: "EUR".into(),
    };
    Plan {
        order: ORDER.into(),
        catalog_hash: String::new(),
        stages: stages.iter().map(|s| s.to_string()).collect(),
        items: Vec::new(),
        tasks: out,
        critical_path: Vec::new(),
        price: Price {
            once: zero.clone(),
            monthly: zero,
        },
        enums: BTreeMap::new(),
        requested_start: None,
        requested_completion: None,
    }
}

// ---- running ---------------------------------------------------------------

pub struct Ran {
    pub outcome: RunOutcome,
    pub journal: MemoryJournal,
}

impl Ran {
    pub fn state_of(&self, id: &str) -> TaskState {
        self.record(id).state
    }
    pub fn record(&self, id: &str) -> &TaskRecord {
        &self
            .outcome
            .tasks
            .iter()
            .find(|t| t.id == id)
            .expect("task in outcome")
            .record
    }
}

pub fn run_with(plan: &Plan, bindings: &Bindings, jobs: usize, initial: Vec<TaskRecord>) -> Ran {
    let options = ExecOptions {
        jobs,
        ..ExecOptions::default()
    };
    let executor = Executor::new(plan, bindings, options).expect("plan binds");
    let mut journal = MemoryJournal::new();
    let outcome = executor
        .run(initial, &mut journal, &mut |_| {})
        .expect("run records");
    Ran { outcome, journal }
}

// ---- the recording plugin ---------------------------------------------------

pub fn recorder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/plugins/recorder.py")
}

/// A folder with the plugin's log and a bindings file binding `*` (and any
/// `extra` YAML lines under `actions:`) to the recorder.
pub struct Lab {
    pub dir: tempfile::TempDir,
}

impl Lab {
    pub fn new() -> Lab {
        Lab {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn log(&self) -> PathBuf {
        self.path("calls.log")
    }

    /// The recorder's exec list, as YAML.
    pub fn exec(&self) -> String {
        format!(
            "[\"{}\", \"--log\", \"{}\"]",
            recorder().display(),
            self.log().display()
        )
    }

    pub fn bindings(&self, extra: &str) -> Bindings {
        let text = format!("actions:\n  \"*\": {{ exec: {} }}\n{extra}", self.exec());
        let file = self.path("bindings.yaml");
        std::fs::write(&file, text).expect("bindings written");
        let mut sources = Sources::new();
        Bindings::load(&file, &mut sources).unwrap_or_else(|e| panic!("{e:?}"))
    }

    pub fn calls(&self) -> Vec<Call> {
        let text = std::fs::read_to_string(self.log()).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).expect("log line is JSON"))
            .collect()
    }
}

/// One line of the recorder's log.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Call {
    pub phase: String,
    /// Monotonic nanoseconds.
    pub t: u64,
    pub task: String,
    pub attempt: u32,
    pub undo: bool,
    pub key: String,
    pub inputs: serde_json::Map<String, serde_json::Value>,
}

/// Start and end times of each (task, attempt, undo) invocation.
#[derive(Debug, Clone)]
pub struct Interval {
    pub task: String,
    pub attempt: u32,
    pub undo: bool,
    pub start: u64,
    pub end: u64,
}

pub fn intervals(calls: &[Call]) -> Vec<Interval> {
    let mut out: Vec<Interval> = Vec::new();
    for c in calls {
        if c.phase == "start" {
            out.push(Interval {
                task: c.task.clone(),
                attempt: c.attempt,
                undo: c.undo,
                start: c.t,
                end: u64::MAX,
            });
        } else if let Some(i) = out
            .iter_mut()
            .find(|i| i.task == c.task && i.attempt == c.attempt && i.undo == c.undo)
        {
            i.end = c.t;
        }
    }
    out
}

/// The single (last) invocation of a task, or of its undo.
pub fn span_of<'a>(iv: &'a [Interval], task: &str, undo: bool) -> &'a Interval {
    iv.iter()
        .rev()
        .find(|i| i.task == task && i.undo == undo)
        .unwrap_or_else(|| panic!("{task} (undo: {undo}) was not invoked: {iv:#?}"))
}

/// The most invocations that were ever in progress at once.
pub fn max_overlap(iv: &[Interval]) -> usize {
    let mut points: Vec<(u64, i32)> = iv
        .iter()
        .flat_map(|i| [(i.start, 1), (i.end, -1)])
        .collect();
    // At equal times an end comes before a start.
    points.sort();
    let (mut now, mut max) = (0i32, 0i32);
    for (_, d) in points {
        now += d;
        max = max.max(now);
    }
    max as usize
}
