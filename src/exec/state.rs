//! Order and task states (SPEC §6), the events that move them, and the one
//! interface through which every transition leaves the executor: a
//! [`Journal`]. The durable store is a journal; so are the JSON-lines events
//! log and the progress display.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::plan::TaskIdx;
use crate::value::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    Acknowledged,
    InProgress,
    Completed,
    Failed,
    Cancelled,
    Held,
}

impl OrderState {
    /// Every state, in the order an order goes through them.
    pub const ALL: [OrderState; 6] = [
        OrderState::Acknowledged,
        OrderState::InProgress,
        OrderState::Held,
        OrderState::Completed,
        OrderState::Failed,
        OrderState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Acknowledged => "acknowledged",
            OrderState::InProgress => "in_progress",
            OrderState::Completed => "completed",
            OrderState::Failed => "failed",
            OrderState::Cancelled => "cancelled",
            OrderState::Held => "held",
        }
    }

    /// Whether the order will not move again without an operator.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            OrderState::Completed | OrderState::Failed | OrderState::Cancelled
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    Pending,
    Running,
    Done,
    Skipped,
    Failed,
    Compensated,
    Cancelled,
}

impl TaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Pending => "pending",
            TaskState::Running => "running",
            TaskState::Done => "done",
            TaskState::Skipped => "skipped",
            TaskState::Failed => "failed",
            TaskState::Compensated => "compensated",
            TaskState::Cancelled => "cancelled",
        }
    }
}

/// The state of one task in a run: what a resumed run starts from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    pub state: TaskState,
    /// Attempts of the task's action so far.
    pub attempts: u32,
    /// Attempts of its undo so far.
    pub undo_attempts: u32,
    pub outputs: BTreeMap<String, Value>,
    pub error: Option<String>,
    /// Whether the undo is running or was interrupted while running.
    pub undoing: bool,
    /// The process of the attempt under way (an exec plugin's), recorded
    /// before it was sent its request: a resumed run makes sure it is gone
    /// before asking again.
    #[serde(default)]
    pub process: Option<Process>,
    /// When a task with a `wait` may start (RFC 3339, UTC), once decided:
    /// recorded before the run waits for it, so the time survives a crash.
    #[serde(default)]
    pub not_before: Option<String>,
}

/// An attempt's process: an exec plugin, leader of its own process group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Process {
    /// Its process group id (the plugin's pid).
    pub pgid: i32,
    /// When the plugin started, in clock ticks after boot (Linux), to tell
    /// it from a later process given the same pid.
    #[serde(default)]
    pub start: Option<u64>,
    /// The boot it started in (Linux's boot id): after a reboot it is gone.
    #[serde(default)]
    pub boot: Option<String>,
}

impl Default for TaskRecord {
    fn default() -> Self {
        TaskRecord {
            state: TaskState::Pending,
            attempts: 0,
            undo_attempts: 0,
            outputs: BTreeMap::new(),
            error: None,
            undoing: false,
            process: None,
            not_before: None,
        }
    }
}

/// Every transition of a run, in the order it happens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Order {
        state: OrderState,
        /// Why: the failed task, the undo that could not run, a cancel.
        reason: Option<String>,
    },
    /// An attempt is about to invoke the action (or its undo).
    Started {
        task: TaskIdx,
        attempt: u32,
        undo: bool,
    },
    Succeeded {
        task: TaskIdx,
        attempt: u32,
        undo: bool,
        outputs: BTreeMap<String, Value>,
    },
    /// One attempt failed; `retry_in_ms` is set when another attempt follows.
    AttemptFailed {
        task: TaskIdx,
        attempt: u32,
        undo: bool,
        error: String,
        retry_in_ms: Option<u64>,
    },
    /// The attempt started a process (an exec plugin), recorded before the
    /// process is sent its request.
    Spawned {
        task: TaskIdx,
        attempt: u32,
        undo: bool,
        process: Process,
    },
    /// A task with a `wait` may start no earlier than `until` (RFC 3339, UTC).
    Waiting { task: TaskIdx, until: String },
    /// A manual task became a work item for `team` (its `attempt`-th): the
    /// task is `running` until someone completes or fails the item.
    WorkOpened {
        task: TaskIdx,
        attempt: u32,
        team: String,
        /// The task's inputs, resolved, as plain JSON.
        inputs: serde_json::Map<String, serde_json::Value>,
    },
    /// A person changed a work item (`ordo task claim|release|complete|fail`).
    Work {
        task: TaskIdx,
        change: WorkChange,
        by: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Nothing could run: the order waits (still `in_progress`) for these.
    Parked { waiting: Vec<WaitingOn> },
    /// A task reached a state without an attempt (skipped, failed for good,
    /// cancelled, compensated).
    Task {
        task: TaskIdx,
        state: TaskState,
        error: Option<String>,
    },
}

/// Receives every event before the executor acts on it. An error stops the
/// run: a transition that cannot be recorded must not happen.
pub trait Journal: Send {
    fn record(&mut self, order: &str, event: &Event) -> Result<(), JournalError>;

    /// Records several events, in order, all of them before returning. A
    /// durable journal writes them in one transaction: the executor hands
    /// over everything it decided since it last acted, then acts.
    fn record_all(&mut self, order: &str, events: &[Event]) -> Result<(), JournalError> {
        events.iter().try_for_each(|e| self.record(order, e))
    }

    /// Whether someone asked to cancel the order (polled between events).
    fn cancel_requested(&mut self, _order: &str) -> Result<bool, JournalError> {
        Ok(false)
    }

    /// Whether a revision of the order waits to be applied (polled like
    /// [`Journal::cancel_requested`]): the run then stops at a safe point,
    /// starting nothing new and letting running attempts finish.
    fn revision_requested(&mut self, _order: &str) -> Result<bool, JournalError> {
        Ok(false)
    }

    /// Work items people completed or failed that the run has not taken up
    /// yet (polled while manual tasks wait).
    fn work_results(&mut self, _order: &str) -> Result<Vec<WorkResult>, JournalError> {
        Ok(Vec::new())
    }

    /// A second handle on the same journal, for the polls above only, so
    /// that the executor can record on a thread of its own meanwhile (its
    /// commits then overlap with its decisions; nothing is acted on before
    /// it is recorded all the same). `None`, the default: the executor
    /// records and polls through this handle, in line.
    fn poller(&self) -> Option<Box<dyn Journal>> {
        None
    }
}

/// A boxed journal (what `Store::journal` hands out) is a journal, so it can
/// go into a [`Tee`](super::Tee) with the events log.
impl<J: Journal + ?Sized> Journal for Box<J> {
    fn record(&mut self, order: &str, event: &Event) -> Result<(), JournalError> {
        (**self).record(order, event)
    }

    fn record_all(&mut self, order: &str, events: &[Event]) -> Result<(), JournalError> {
        (**self).record_all(order, events)
    }

    fn cancel_requested(&mut self, order: &str) -> Result<bool, JournalError> {
        (**self).cancel_requested(order)
    }

    fn revision_requested(&mut self, order: &str) -> Result<bool, JournalError> {
        (**self).revision_requested(order)
    }

    fn work_results(&mut self, order: &str) -> Result<Vec<WorkResult>, JournalError> {
        (**self).work_results(order)
    }

    fn poller(&self) -> Option<Box<dyn Journal>> {
        (**self).poller()
    }
}

/// What a person did to a work item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkChange {
    Claimed,
    Released,
    Completed,
    Failed,
}

/// A work item's end, for the run to take up.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkResult {
    pub task: TaskIdx,
    /// The attempt (the work item's number) it ends.
    pub attempt: u32,
    pub outcome: WorkOutcome,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WorkOutcome {
    /// Completed with these outputs (already checked against their types).
    Done(BTreeMap<String, Value>),
    Failed {
        reason: String,
        retryable: bool,
    },
}

/// One thing a parked order waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WaitingOn {
    /// A work item of `team`.
    WorkItem { task: String, team: String },
    /// A time (RFC 3339, UTC).
    At { task: String, at: String },
}

impl std::fmt::Display for WaitingOn {
    /// `1/survey (work item, field-ops)`, `1/activate (at 2026-12-05T09:00:00Z)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WaitingOn::WorkItem { task, team } => write!(f, "{task} (work item, {team})"),
            WaitingOn::At { task, at } => write!(f, "{task} (at {at})"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct JournalError(pub String);

impl TaskRecord {
    /// Folds one event about this task into its record. The executor keeps
    /// its own records this way, and a store that replays its journal gets
    /// the same records back: this is the one definition of what an event
    /// means for a task's state.
    pub fn apply(&mut self, event: &Event) {
        // An attempt's process lives from its `spawned` to its end.
        self.process = match event {
            Event::Spawned { process, .. } => Some(process.clone()),
            _ => None,
        };
        match event {
            Event::Order { .. }
            | Event::Spawned { .. }
            | Event::Work { .. }
            | Event::Parked { .. } => {}
            Event::Waiting { until, .. } => self.not_before = Some(until.clone()),
            Event::WorkOpened { attempt, .. } => {
                self.state = TaskState::Running;
                self.attempts = *attempt;
            }
            Event::Started { attempt, undo, .. } => {
                if *undo {
                    self.undoing = true;
                    self.undo_attempts = *attempt;
                } else {
                    self.state = TaskState::Running;
                    self.attempts = *attempt;
                }
            }
            Event::Succeeded { undo, outputs, .. } => {
                if *undo {
                    self.state = TaskState::Compensated;
                    self.undoing = false;
                } else {
                    self.state = TaskState::Done;
                    self.outputs = outputs.clone();
                }
                self.error = None;
            }
            // The task stays `running` (or `undoing`) while a retry is due:
            // an interrupted run re-invokes it, which is what the retry was
            // going to do.
            Event::AttemptFailed { error, .. } => self.error = Some(error.clone()),
            Event::Task { state, error, .. } => {
                self.state = *state;
                self.error = error.clone();
                self.undoing = false;
            }
        }
    }
}

impl Event {
    /// The task an event is about; `None` for order events.
    pub fn task(&self) -> Option<TaskIdx> {
        match self {
            Event::Order { .. } | Event::Parked { .. } => None,
            Event::Waiting { task, .. }
            | Event::WorkOpened { task, .. }
            | Event::Work { task, .. }
            | Event::Started { task, .. }
            | Event::Succeeded { task, .. }
            | Event::AttemptFailed { task, .. }
            | Event::Spawned { task, .. }
            | Event::Task { task, .. } => Some(*task),
        }
    }
}

/// Folds events into per-task records (`n` tasks): what a store that keeps
/// only the journal needs to resume an order.
pub fn replay<'a>(n: usize, events: impl IntoIterator<Item = &'a Event>) -> Vec<TaskRecord> {
    let mut records = vec![TaskRecord::default(); n];
    for event in events {
        if let Some(r) = event.task().and_then(|t| records.get_mut(t)) {
            r.apply(event);
        }
    }
    records
}
