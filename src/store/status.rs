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

/// An order that may have work to do, as [`Store::waiting_orders`] lists
/// it.
///
/// [`Store::waiting_orders`]: super::Store::waiting_orders
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingOrder {
    pub id: String,
    pub state: OrderState,
    /// As [`OrderSummary::updated_at`]: the later of the order row's update
    /// and its last event.
    pub updated_at: String,
    pub cancel_requested: bool,
}

/// Every state in [`OrderState::ALL`] order with the sum of the counts
/// `found` gives it (zero for a state it does not name): the shape of
/// [`super::Store::order_counts`].
pub(crate) fn by_state(
    found: impl IntoIterator<Item = (OrderState, usize)>,
) -> Vec<(OrderState, usize)> {
    let mut counts: Vec<(OrderState, usize)> = OrderState::ALL.iter().map(|&s| (s, 0)).collect();
    for (state, n) in found {
        if let Some(c) = counts.iter_mut().find(|(s, _)| *s == state) {
            c.1 += n;
        }
    }
    counts
}

impl WaitingOrder {
    /// The states of an order that may have work to do.
    pub fn may_have_work(state: OrderState) -> bool {
        matches!(state, OrderState::Acknowledged | OrderState::InProgress)
    }
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

/// What `ordo status` reads of a stored plan: its items and each task's
/// action and stage. The rest (inputs, expressions, undo calls) is skipped
/// as it is parsed, never built: for a plan of a million tasks, that is most
/// of the cost of reading it whole.
#[derive(Deserialize)]
struct PlanOutline {
    catalog_hash: String,
    stages: Vec<String>,
    items: Vec<ItemOutline>,
    tasks: Vec<TaskOutline>,
}

impl PlanOutline {
    fn of(plan: &Plan) -> PlanOutline {
        PlanOutline {
            catalog_hash: plan.catalog_hash.clone(),
            stages: plan.stages.clone(),
            items: plan
                .items
                .iter()
                .map(|i| ItemOutline {
                    id: i.id.clone(),
                    product: i.product.clone(),
                    action: i.action,
                    parent: i.parent.clone(),
                })
                .collect(),
            tasks: plan
                .tasks
                .iter()
                .map(|t| TaskOutline {
                    id: t.id.clone(),
                    item: t.item.clone(),
                    action: t.action.clone(),
                    stage: t.stage,
                    point_of_no_return: t.point_of_no_return,
                })
                .collect(),
        }
    }
}

#[derive(Deserialize)]
struct ItemOutline {
    id: String,
    product: String,
    action: crate::syntax::ast::OrderAction,
    parent: Option<String>,
}

#[derive(Deserialize)]
struct TaskOutline {
    id: String,
    item: Option<String>,
    action: String,
    stage: usize,
    point_of_no_return: bool,
}

/// `ordo status ID` from an order's rows (any store's): the counts by state
/// and by item, the tasks in plan order. One pass over the rows, each moved
/// into its task's status.
pub(crate) fn order_status(
    path: &std::path::Path,
    order: &str,
    head: super::orders::Head,
    rows: Vec<super::orders::TaskRow>,
    last_event_at: Option<String>,
    runner: Option<RunnerStatus>,
    revisions: Vec<RevisionStatus>,
) -> Result<OrderStatus, super::StoreError> {
    let plan: PlanOutline =
        serde_json::from_str(&head.plan).map_err(|e| super::StoreError::json(path, "plan", e))?;
    Ok(assemble(
        order,
        head.row,
        plan,
        rows,
        last_event_at,
        runner,
        revisions,
    ))
}

/// The status of an order its store has just created, at `at` (the time
/// it stored): acknowledged, every task pending, nothing run. What
/// [`order_status`] reads back until the order is advanced, without
/// reading it back: a ProductOrder is answered with it.
pub(crate) fn created_status(plan: &Plan, at: String) -> OrderStatus {
    let row = super::orders::OrderRow {
        version: super::orders::FIRST_VERSION,
        state: OrderState::Acknowledged,
        reason: None,
        due_at: super::orders::due_at(plan, &at),
        created_at: at.clone(),
        updated_at: at.clone(),
        cancel_requested: false,
    };
    let rows = plan
        .tasks
        .iter()
        .map(|_| super::orders::TaskRow {
            record: TaskRecord::default(),
            started_at: None,
            finished_at: None,
            next_attempt_at: None,
        })
        .collect();
    assemble(
        &plan.order,
        row,
        PlanOutline::of(plan),
        rows,
        Some(at),
        None,
        Vec::new(),
    )
}

/// [`OrderStatus`] from its parts: the one place the counts, the items and
/// the tasks' statuses are put together.
fn assemble(
    order: &str,
    head: super::orders::OrderRow,
    plan: PlanOutline,
    rows: Vec<super::orders::TaskRow>,
    last_event_at: Option<String>,
    runner: Option<RunnerStatus>,
    revisions: Vec<RevisionStatus>,
) -> OrderStatus {
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut item_counts: std::collections::HashMap<String, BTreeMap<&'static str, usize>> =
        std::collections::HashMap::with_capacity(plan.items.len());
    let mut tasks = Vec::with_capacity(rows.len());
    for (task, row) in plan.tasks.into_iter().zip(rows) {
        let state = row.record.state.as_str();
        *counts.entry(state).or_insert(0) += 1;
        if let Some(item) = &task.item {
            let of_item = match item_counts.get_mut(item) {
                Some(c) => c,
                None => item_counts.entry(item.clone()).or_default(),
            };
            *of_item.entry(state).or_insert(0) += 1;
        }
        let stage = plan.stages.get(task.stage).cloned().unwrap_or_default();
        tasks.push(TaskStatus {
            id: task.id,
            item: task.item,
            action: task.action,
            stage,
            state: row.record.state,
            attempts: row.record.attempts,
            undo_attempts: row.record.undo_attempts,
            undoing: row.record.undoing,
            point_of_no_return: task.point_of_no_return,
            duration_ms: super::orders::duration_ms(
                row.started_at.as_deref(),
                row.finished_at.as_deref(),
            ),
            started_at: row.started_at,
            finished_at: row.finished_at,
            error: row.record.error,
            next_attempt_at: row.next_attempt_at,
            not_before: row.record.not_before,
            process: row.record.process,
            outputs: row
                .record
                .outputs
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect(),
        });
    }
    let named = |counts: BTreeMap<&'static str, usize>| -> BTreeMap<String, usize> {
        counts
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    };
    let items = plan
        .items
        .into_iter()
        .map(|item| ItemStatus {
            counts: named(item_counts.remove(&item.id).unwrap_or_default()),
            id: item.id,
            product: item.product,
            action: item.action.as_str().to_string(),
            parent: item.parent,
        })
        .collect();
    OrderStatus {
        order: order.to_string(),
        version: head.version,
        state: head.state,
        reason: head.reason,
        catalog_hash: plan.catalog_hash,
        created_at: head.created_at,
        updated_at: head.updated_at,
        last_event_at,
        cancel_requested: head.cancel_requested,
        overdue: crate::plan::overdue(
            head.due_at.as_deref(),
            head.state.is_final(),
            chrono::Utc::now(),
        ),
        due_at: head.due_at,
        runner,
        counts: named(counts),
        items,
        tasks,
        revisions,
    }
}
