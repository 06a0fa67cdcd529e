//! What the store hands out: a stored order to resume, the summaries of
//! `ordo status`, and the detailed status whose JSON form is
//! `ordo status ID --format json` (documented in `docs/state.md`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::exec::{BindingsRecord, Event, OrderState, TaskRecord, TaskState};
use crate::plan::Plan;

/// An order as stored: everything a run or a resumed run starts from.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredOrder {
    pub id: String,
    /// Always 1 until order revisions exist.
    pub version: u32,
    pub state: OrderState,
    pub reason: Option<String>,
    pub plan: Plan,
    /// The order document (YAML or JSON) as JSON, as it was given.
    pub document: serde_json::Value,
    /// One per plan task, in plan order.
    pub records: Vec<TaskRecord>,
    /// The bindings it runs with; `None` for an order stored before the
    /// store kept them (schema version 3), or by a caller that gave none.
    pub bindings: Option<BindingsRecord>,
    /// Tasks a revision invoked anew, by id: the version their idempotency
    /// key names (`ORDER/TASK@vN`); see [`crate::exec::ExecOptions::redone_at`].
    pub redone_at: BTreeMap<String, u32>,
    pub cancel_requested: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// One line of `ordo status` without an order id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderSummary {
    pub id: String,
    pub version: u32,
    pub state: OrderState,
    pub reason: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Tasks in the plan.
    pub tasks: usize,
    /// Tasks that are `done` or `skipped`.
    pub tasks_finished: usize,
    pub cancel_requested: bool,
    /// When the order is due: its `requested_completion`, else its creation
    /// plus the longest install SLA of its items.
    #[serde(default)]
    pub due_at: Option<String>,
    /// Past due and not ended.
    #[serde(default)]
    pub overdue: bool,
}

/// Who holds an order's runner lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunnerInfo {
    pub pid: u32,
    pub host: String,
    pub acquired_at: String,
    pub heartbeat_at: String,
}

/// A runner lock as `ordo status` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunnerStatus {
    #[serde(flatten)]
    pub holder: RunnerInfo,
    /// False for a lock left by a process that died; the next run takes it over.
    pub live: bool,
}

/// `ordo status ID --format json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderStatus {
    pub order: String,
    pub version: u32,
    pub state: OrderState,
    pub reason: Option<String>,
    pub catalog_hash: String,
    pub created_at: String,
    pub updated_at: String,
    /// When the last event was recorded.
    pub last_event_at: Option<String>,
    pub cancel_requested: bool,
    /// As [`OrderSummary::due_at`].
    #[serde(default)]
    pub due_at: Option<String>,
    #[serde(default)]
    pub overdue: bool,
    /// The runner holding the order, if any.
    pub runner: Option<RunnerStatus>,
    /// How many tasks are in each state, by state name (states with none are
    /// left out).
    pub counts: BTreeMap<String, usize>,
    pub items: Vec<ItemStatus>,
    /// In plan order.
    pub tasks: Vec<TaskStatus>,
    /// Every revision asked for, oldest first.
    pub revisions: Vec<RevisionStatus>,
}

/// Where a revision is (SPEC §8.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevisionState {
    /// Stored; the runner (or `ordo revise`) applies it at a safe point.
    Requested,
    /// Its undos are under way on the running version.
    Undoing,
    /// The order runs its version.
    Applied,
    /// The order no longer took it when it was to be applied (`reason`).
    Refused,
}

impl RevisionState {
    pub fn as_str(self) -> &'static str {
        match self {
            RevisionState::Requested => "requested",
            RevisionState::Undoing => "undoing",
            RevisionState::Applied => "applied",
            RevisionState::Refused => "refused",
        }
    }
}

/// One revision of an order, as `ordo status` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevisionStatus {
    /// The version it makes.
    pub version: u32,
    pub from: u32,
    pub state: RevisionState,
    pub requested_at: String,
    pub applied_at: Option<String>,
    /// Why it was refused.
    pub reason: Option<String>,
    /// How many tasks it keeps, redoes, undoes and adds (once begun).
    pub counts: Option<crate::plan::revision::Counts>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemStatus {
    /// `1`, or `1/Broadband` for a bundle's child.
    pub id: String,
    pub product: String,
    pub action: String,
    pub parent: Option<String>,
    /// How many of the item's tasks are in each state.
    pub counts: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskStatus {
    pub id: String,
    pub item: Option<String>,
    pub action: String,
    pub stage: String,
    pub state: TaskState,
    pub attempts: u32,
    pub undo_attempts: u32,
    /// The undo is running (or was interrupted while running).
    pub undoing: bool,
    pub point_of_no_return: bool,
    /// When the first attempt started.
    pub started_at: Option<String>,
    /// When the task reached its current final state.
    pub finished_at: Option<String>,
    pub duration_ms: Option<u64>,
    /// The last attempt's error; cleared when the task succeeds.
    pub error: Option<String>,
    /// When a task waiting for a retry makes its next attempt; null otherwise.
    #[serde(default)]
    pub next_attempt_at: Option<String>,
    /// When a task with a `wait` may start, once decided; null otherwise.
    #[serde(default)]
    pub not_before: Option<String>,
    /// Outputs as plain JSON (exact numbers as strings), as actions see them.
    pub outputs: BTreeMap<String, serde_json::Value>,
    /// The process of the attempt under way (an exec plugin's process group).
    pub process: Option<crate::exec::Process>,
}

/// One event of an order's journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// 1, 2, 3… per order.
    pub seq: u64,
    pub at: String,
    pub event: Event,
}

/// What [`Store::request_cancel`](super::Store::request_cancel) did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelOutcome {
    pub order: String,
    /// A cancel had already been requested before this one.
    pub already_requested: bool,
    /// The live runner that will see the request and compensate. `None`: no
    /// process runs the order, so the caller should take the runner lock and
    /// run the compensation itself.
    pub runner: Option<RunnerInfo>,
}
