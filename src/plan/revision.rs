//! The delta between an order's running version and its revision (SPEC
//! §8.2): which tasks are kept, redone, undone or added. Pure: it reads the
//! two plans and which tasks of the running version are done, nothing else.
//!
//! Tasks are matched by id. A task's identity within a version is its action
//! and its resolved inputs (and its undo call): [`task_hash`] hashes them, so
//! a changed attribute that reaches a task's inputs changes its hash, and one
//! that does not leaves it alone.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Plan, PlanTask, TaskIdx};
use crate::model::{Expr, Ref};

/// What a revision does with one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Done before, same action and inputs now: stays done, not invoked again.
    Keep,
    /// Done before, other action or inputs now, or it reads an output of a
    /// redone task: its undo runs (if it has one), then it runs again.
    Redo,
    /// Done before, absent now: its undo runs.
    Undo,
    /// New, or not done before: runs as usual.
    Add,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Keep => "keep",
            Change::Redo => "redo",
            Change::Undo => "undo",
            Change::Add => "add",
        }
    }
}

/// One task's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskChange {
    pub id: String,
    pub change: Change,
}

/// The delta of a revision: the new version's tasks in its plan order, then
/// the tasks only the running version has (all `undo`), in its plan order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    pub from: u32,
    pub to: u32,
    pub tasks: Vec<TaskChange>,
}

/// How many tasks each change counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub kept: usize,
    pub redone: usize,
    pub undone: usize,
    pub added: usize,
}

impl Revision {
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for t in &self.tasks {
            match t.change {
                Change::Keep => c.kept += 1,
                Change::Redo => c.redone += 1,
                Change::Undo => c.undone += 1,
                Change::Add => c.added += 1,
            }
        }
        c
    }

    /// The change of task `id`, if either version has it.
    pub fn change(&self, id: &str) -> Option<Change> {
        self.tasks.iter().find(|t| t.id == id).map(|t| t.change)
    }

    /// The running version's tasks whose effect the revision takes back
    /// first (`redo` and `undo`), as indices into `old`.
    pub fn to_undo(&self, old: &Plan) -> Vec<TaskIdx> {
        let changed: BTreeSet<&str> = self
            .tasks
            .iter()
            .filter(|t| matches!(t.change, Change::Redo | Change::Undo))
            .map(|t| t.id.as_str())
            .collect();
        (0..old.tasks.len())
            .filter(|&i| changed.contains(old.tasks[i].id.as_str()))
            .collect()
    }
}

/// The hash of a task's action, resolved inputs, run-time condition and undo
/// call: equal for two versions of a task exactly when either would decide
/// and send the same. Spans (where a value was written) do not count.
pub fn task_hash(task: &PlanTask) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut put = |s: &str| {
        h.update((s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    let mut call = |action: &str, inputs: &[(String, Expr)]| {
        put(action);
        for (name, expr) in inputs {
            put(name);
            put(&expr.to_string());
        }
    };
    call(&task.action, &task.inputs);
    let when = task
        .when
        .as_ref()
        .map_or_else(|| "always".to_string(), |w| format!("when {w}"));
    call(&when, &[]);
    match &task.undo {
        Some(u) => call(&format!("undo {}", u.action), &u.inputs),
        None => call("no undo", &[]),
    }
    let mut hex = String::with_capacity(64);
    for b in h.finalize() {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        hex.push(char::from(DIGITS[usize::from(b >> 4)]));
        hex.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    hex
}

/// The tasks whose outputs `task` reads (inputs, `when`, undo inputs).
pub fn reads(task: &PlanTask) -> BTreeSet<&str> {
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
    let mut read = BTreeSet::new();
    for e in exprs {
        for r in e.refs() {
            if let Ref::TaskOutput { task, .. } = r {
                read.insert(task.as_str());
            }
        }
    }
    read
}

/// The delta from version `from` (plan `old`, `done[i]` whether its task `i`
/// is done) to version `from + 1` (plan `new`).
pub fn delta(old: &Plan, done: &[bool], new: &Plan, from: u32) -> Revision {
    let before: BTreeMap<&str, TaskIdx> = old
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.as_str(), i))
        .collect();
    let mut changes: Vec<Change> = Vec::with_capacity(new.tasks.len());
    // The plan is in topological order, so a task's dependencies (and every
    // task it reads) are classified before it.
    let mut redone: BTreeSet<&str> = BTreeSet::new();
    for t in &new.tasks {
        let was = before.get(t.id.as_str()).copied();
        let change = match was {
            Some(i) if done.get(i).copied().unwrap_or(false) => {
                let same = task_hash(&old.tasks[i]) == task_hash(t);
                if same && reads(t).is_disjoint(&redone) {
                    Change::Keep
                } else {
                    Change::Redo
                }
            }
            _ => Change::Add,
        };
        if change == Change::Redo {
            redone.insert(&t.id);
        }
        changes.push(change);
    }
    let now: BTreeSet<&str> = new.tasks.iter().map(|t| t.id.as_str()).collect();
    let mut tasks: Vec<TaskChange> = new
        .tasks
        .iter()
        .zip(changes)
        .map(|(t, change)| TaskChange {
            id: t.id.clone(),
            change,
        })
        .collect();
    tasks.extend(
        old.tasks
            .iter()
            .enumerate()
            .filter(|(i, t)| done.get(*i).copied().unwrap_or(false) && !now.contains(t.id.as_str()))
            .map(|(_, t)| TaskChange {
                id: t.id.clone(),
                change: Change::Undo,
            }),
    );
    Revision {
        from,
        to: from + 1,
        tasks,
    }
}
