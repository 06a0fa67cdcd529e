//! How an [`Event`] changes a task's record: the one definition the store's
//! rows follow, and that replaying an order's journal reproduces.

use crate::exec::{Event, OrderState, TaskRecord, TaskState};

/// Applies a task event to that task's record. Order events and events of
/// other tasks are the caller's to route; passing one here changes nothing.
///
/// - `Started`: the task (or its undo) is running; the attempt counter moves.
/// - `Succeeded`: the task is `done` with its outputs; a succeeded undo makes
///   it `compensated`.
/// - `AttemptFailed`: the attempt counter moves and the error is kept; the
///   state stays until the executor emits the next step (a retry's
///   `Started`, or a `Task` event).
/// - `Task`: the state the executor decided, with its error if any.
pub fn apply(record: &mut TaskRecord, event: &Event) {
    match event {
        Event::Order { .. } => {}
        Event::Started {
            attempt,
            undo: false,
            ..
        } => {
            record.state = TaskState::Running;
            record.attempts = *attempt;
            record.undoing = false;
        }
        Event::Started {
            attempt,
            undo: true,
            ..
        } => {
            record.undo_attempts = *attempt;
            record.undoing = true;
        }
        Event::Succeeded {
            attempt,
            undo: false,
            outputs,
            ..
        } => {
            record.state = TaskState::Done;
            record.attempts = *attempt;
            record.outputs = outputs.clone();
            record.error = None;
        }
        Event::Succeeded {
            attempt,
            undo: true,
            ..
        } => {
            record.state = TaskState::Compensated;
            record.undo_attempts = *attempt;
            record.undoing = false;
            record.error = None;
        }
        Event::AttemptFailed {
            attempt,
            undo,
            error,
            ..
        } => {
            if *undo {
                record.undo_attempts = *attempt;
            } else {
                record.attempts = *attempt;
            }
            record.error = Some(error.clone());
        }
        Event::Task { state, error, .. } => {
            record.state = *state;
            record.undoing = false;
            if error.is_some() {
                record.error = error.clone();
            }
        }
    }
}

/// The task an event is about, if any.
pub fn event_task(event: &Event) -> Option<usize> {
    match event {
        Event::Order { .. } => None,
        Event::Started { task, .. }
        | Event::Succeeded { task, .. }
        | Event::AttemptFailed { task, .. }
        | Event::Task { task, .. } => Some(*task),
    }
}

/// Whether a task in this state has finished, for its `finished_at` time.
pub(crate) fn is_finished(state: TaskState) -> bool {
    !matches!(state, TaskState::Pending | TaskState::Running)
}

/// The state of an order after a journal, from scratch: what the store's rows
/// hold after recording the same events.
pub fn replay<'a>(
    tasks: usize,
    events: impl IntoIterator<Item = &'a Event>,
) -> (OrderState, Option<String>, Vec<TaskRecord>) {
    let mut state = (OrderState::Acknowledged, None);
    let mut records = vec![TaskRecord::default(); tasks];
    for event in events {
        match event {
            Event::Order { state: s, reason } => state = (*s, reason.clone()),
            other => {
                if let Some(record) = event_task(other).and_then(|t| records.get_mut(t)) {
                    apply(record, other);
                }
            }
        }
    }
    (state.0, state.1, records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    #[test]
    fn an_attempt_that_fails_then_succeeds_keeps_no_error() {
        let mut r = TaskRecord::default();
        apply(
            &mut r,
            &Event::Started {
                task: 0,
                attempt: 1,
                undo: false,
            },
        );
        assert_eq!((r.state, r.attempts), (TaskState::Running, 1));
        apply(
            &mut r,
            &Event::AttemptFailed {
                task: 0,
                attempt: 1,
                undo: false,
                error: "timeout".into(),
                retry_in_ms: Some(10),
            },
        );
        assert_eq!(
            (r.state, r.error.as_deref()),
            (TaskState::Running, Some("timeout"))
        );
        apply(
            &mut r,
            &Event::Started {
                task: 0,
                attempt: 2,
                undo: false,
            },
        );
        let outputs = [("port".to_string(), Value::String("p1".into()))].into();
        apply(
            &mut r,
            &Event::Succeeded {
                task: 0,
                attempt: 2,
                undo: false,
                outputs,
            },
        );
        assert_eq!(
            (r.state, r.attempts, r.error.clone()),
            (TaskState::Done, 2, None)
        );
        assert_eq!(r.outputs["port"], Value::String("p1".into()));
    }

    #[test]
    fn an_undo_runs_and_compensates() {
        let mut r = TaskRecord {
            state: TaskState::Done,
            attempts: 1,
            ..TaskRecord::default()
        };
        apply(
            &mut r,
            &Event::Started {
                task: 0,
                attempt: 1,
                undo: true,
            },
        );
        assert!(r.undoing);
        assert_eq!((r.state, r.undo_attempts), (TaskState::Done, 1));
        apply(
            &mut r,
            &Event::Succeeded {
                task: 0,
                attempt: 1,
                undo: true,
                outputs: Default::default(),
            },
        );
        assert_eq!(
            (r.state, r.undoing, r.attempts),
            (TaskState::Compensated, false, 1)
        );
    }

    #[test]
    fn a_task_event_sets_the_state_and_keeps_the_last_error() {
        let mut r = TaskRecord::default();
        apply(
            &mut r,
            &Event::AttemptFailed {
                task: 0,
                attempt: 1,
                undo: false,
                error: "no".into(),
                retry_in_ms: None,
            },
        );
        apply(
            &mut r,
            &Event::Task {
                task: 0,
                state: TaskState::Failed,
                error: None,
            },
        );
        assert_eq!(
            (r.state, r.error.as_deref()),
            (TaskState::Failed, Some("no"))
        );
    }

    #[test]
    fn replay_routes_events_to_their_tasks() {
        let events = [
            Event::Order {
                state: OrderState::InProgress,
                reason: None,
            },
            Event::Started {
                task: 1,
                attempt: 1,
                undo: false,
            },
            Event::Task {
                task: 0,
                state: TaskState::Skipped,
                error: None,
            },
        ];
        let (state, reason, records) = replay(2, &events);
        assert_eq!((state, reason), (OrderState::InProgress, None));
        assert_eq!(records[0].state, TaskState::Skipped);
        assert_eq!(records[1].state, TaskState::Running);
    }
}
