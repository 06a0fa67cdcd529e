//! What a run waits for without holding a worker: tasks whose `wait` is not
//! over (a durable not-before time, on the wall clock) and manual tasks
//! whose work item is open (taken up from the journal once someone
//! completes or fails it). When only these are left the run parks: the
//! order's progress is then a function of the store and the clock, and any
//! later run (a resume, `ordo task complete`, an engine) continues it.

use std::cmp::Reverse;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::{Phase, Run};
use crate::exec::executor::{ExecError, RunOutcome};
use crate::exec::frontier::Frontier;
use crate::exec::state::{Event, OrderState, TaskState, WaitingOn, WorkOutcome};
use crate::plan::TaskIdx;
use crate::value::format_instant;

impl Run<'_, '_> {
    pub(super) fn is_manual(&self, t: TaskIdx) -> bool {
        self.ex.calls[t].team.is_some()
    }

    /// Whether anything waits: a timer of a `wait` or an open work item.
    pub(super) fn waits_left(&self) -> bool {
        self.phase == Phase::Forward
            && self.stop.is_none()
            && !(self.sleepers.is_empty() && self.awaiting.is_empty())
    }

    /// When task `t` may start: its recorded time, else the time its `wait`
    /// gives now (recorded before the run waits for it). `None`: at once.
    pub(super) fn not_before(&mut self, t: TaskIdx) -> Result<Option<DateTime<Utc>>, String> {
        if let Some(at) = &self.records[t].not_before {
            return DateTime::parse_from_rfc3339(at)
                .map(|d| Some(d.with_timezone(&Utc)))
                .map_err(|e| format!("its recorded start time `{at}` is not a time: {e}"));
        }
        let Some(wait) = &self.ex.plan.tasks[t].wait else {
            return Ok(None);
        };
        // Its dependencies are done now: `wait D` counts from here.
        let at = match wait.not_before(Utc::now(), &mut |r| self.lookup(r, None)) {
            Ok(Some(at)) => at,
            Ok(None) => return Ok(None),
            Err(e) => return Err(format!("cannot decide when it may start: {e}")),
        };
        // Recorded to the millisecond, rounded up: never earlier.
        let ms = at.timestamp_millis() + i64::from(at.timestamp_subsec_nanos() % 1_000_000 != 0);
        let at = DateTime::from_timestamp_millis(ms).unwrap_or(at);
        let until = format_instant(at);
        self.emit(Event::Waiting { task: t, until })
            .map_err(|e| e.to_string())?;
        Ok(Some(at))
    }

    /// A task free to go: a manual one becomes a work item, others queue.
    pub(super) fn proceed(&mut self, t: TaskIdx) -> Result<(), ExecError> {
        let Some(team) = self.ex.calls[t].team.clone() else {
            self.enqueue(t);
            return Ok(());
        };
        let inputs = match self.inputs(t, false) {
            Ok(inputs) => inputs,
            Err(error) => return self.fail(t, error),
        };
        let attempt = self.records[t].attempts + 1;
        self.emit(Event::WorkOpened {
            task: t,
            attempt,
            team,
            inputs,
        })?;
        self.awaiting.insert(t);
        Ok(())
    }

    /// Starts the tasks whose wait is over.
    pub(super) fn wake_sleepers(&mut self) -> Result<(), ExecError> {
        let now = Utc::now();
        while let Some(Reverse((at, t))) = self.sleepers.peek().copied() {
            if at > now {
                break;
            }
            self.sleepers.pop();
            self.proceed(t)?;
        }
        Ok(())
    }

    /// How long until the first wait is over.
    pub(super) fn next_sleeper_in(&self) -> Option<Duration> {
        let Reverse((at, _)) = self.sleepers.peek()?;
        Some((*at - Utc::now()).to_std().unwrap_or(Duration::ZERO))
    }

    /// Takes up the work items people completed or failed (at most once a
    /// poll interval unless `force`). Returns whether it took up any.
    pub(super) fn poll_work(
        &mut self,
        force: bool,
        frontier: &mut Frontier<'_>,
        ready: &mut Vec<TaskIdx>,
    ) -> Result<bool, ExecError> {
        if self.phase != Phase::Forward || self.stop.is_some() || self.awaiting.is_empty() {
            return Ok(false);
        }
        let now = Instant::now();
        if !force
            && self
                .last_work_poll
                .is_some_and(|p| now.duration_since(p) < self.ex.cancel_poll)
        {
            return Ok(false);
        }
        self.last_work_poll = Some(now);
        let results = self.rec.polls().work_results(&self.ex.plan.order)?;
        let mut took = false;
        for r in results {
            let t = r.task;
            let current = self
                .records
                .get(t)
                .is_some_and(|rec| rec.state == TaskState::Running && rec.attempts == r.attempt);
            if !current || !self.awaiting.remove(&t) || self.stop.is_some() {
                continue;
            }
            took = true;
            match r.outcome {
                WorkOutcome::Done(outputs) => {
                    if let Some(message) = self.broken_require(t, &outputs) {
                        self.emit(Event::AttemptFailed {
                            task: t,
                            attempt: r.attempt,
                            undo: false,
                            error: message.clone(),
                            retry_in_ms: None,
                        })?;
                        self.fail(t, message)?;
                        continue;
                    }
                    self.emit(Event::Succeeded {
                        task: t,
                        attempt: r.attempt,
                        undo: false,
                        outputs,
                    })?;
                    frontier.finish(t, ready);
                }
                WorkOutcome::Failed { reason, retryable } => {
                    // A retryable failure gives the team a new work item:
                    // someone tries again.
                    let again = retryable;
                    self.emit(Event::AttemptFailed {
                        task: t,
                        attempt: r.attempt,
                        undo: false,
                        error: reason.clone(),
                        retry_in_ms: None,
                    })?;
                    if again {
                        self.proceed(t)?;
                    } else {
                        self.fail(t, reason)?;
                    }
                }
            }
        }
        Ok(took)
    }

    /// Ends the run with the order parked (`in_progress`), recording what it
    /// waits for, in plan order.
    pub(super) fn park(&mut self) -> Result<RunOutcome, ExecError> {
        let mut waiting: Vec<(TaskIdx, WaitingOn)> = self
            .awaiting
            .iter()
            .map(|&t| {
                let team = self.ex.calls[t].team.clone().unwrap_or_default();
                let task = self.id(t).to_string();
                (t, WaitingOn::WorkItem { task, team })
            })
            .collect();
        waiting.extend(self.sleepers.iter().map(|Reverse((at, t))| {
            let task = self.id(*t).to_string();
            let at = format_instant(*at);
            (*t, WaitingOn::At { task, at })
        }));
        waiting.sort_by_key(|(t, _)| *t);
        let waiting: Vec<WaitingOn> = waiting.into_iter().map(|(_, w)| w).collect();
        self.emit(Event::Parked {
            waiting: waiting.clone(),
        })?;
        self.flush()?;
        Ok(RunOutcome {
            waiting,
            ..self.outcome(OrderState::InProgress, None)
        })
    }
}
