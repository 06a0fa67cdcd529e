//! One run of an order: the coordinator.
//!
//! A single thread owns every task record, decides what starts, and is the
//! only one to talk to the journal; workers only invoke actions. A run has
//! two phases:
//!
//! 1. **Forward.** Tasks start as the [`Frontier`] releases them, at most
//!    `jobs` at once and at most `max_concurrent` per binding. A retryable
//!    failure puts the task on a timer (it holds no worker while it waits).
//!    A permanent failure or a cancel *stops* the run: nothing new starts,
//!    running attempts finish.
//! 2. **Compensation** (after a stop, unless a point of no return was
//!    passed): the same walk backwards, running the undo of every `done`
//!    task only after the undos of every task that depended on it.
//!
//! Starting attempts and reading their results is in [`attempts`].

mod attempts;
mod record;
mod revise;
mod waits;

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::exec::executor::{ExecError, Executor, RunOutcome, TaskOutcome};
use crate::exec::frontier::Frontier;
use crate::exec::pool::Pool;
use crate::exec::state::{Event, Journal, OrderState, TaskRecord, TaskState};
use crate::plan::TaskIdx;

#[derive(Debug, Clone)]
enum Stop {
    /// `task` is `None` when a resumed compensation no longer knows why.
    Failed {
        task: Option<TaskIdx>,
        error: String,
    },
    Cancelled,
    /// A task's retries ran out without learning whether it took effect.
    Unknown(TaskIdx),
    /// A revision waits: stop at a safe point (nothing new starts, running
    /// attempts finish), or, taking a revision's tasks back, compensate
    /// only those.
    Revise,
}

/// How a phase's drive ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Drive {
    /// Nothing is running, queued or due.
    Finished,
    /// Only waits are left (work items, timers) and the run parks.
    Parked,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Forward,
    Compensate,
}

pub(crate) fn run(
    ex: &Executor<'_>,
    records: Vec<TaskRecord>,
    only: Option<Vec<bool>>,
    journal: &mut dyn Journal,
    observer: &mut dyn FnMut(&Event),
) -> Result<RunOutcome, ExecError> {
    let n = records.len();
    let mut run = Run {
        ex,
        only,
        rec: record::Recorder::new(journal),
        observer,
        first_attempt: records.iter().map(|r| r.attempts + 1).collect(),
        first_undo_attempt: records.iter().map(|r| r.undo_attempts + 1).collect(),
        // A task recorded running was interrupted (or waited for a retry
        // after attempts that may have been interrupted): it may have
        // taken effect.
        // A manual task recorded running has an open work item: nothing of
        // it is uncertain.
        uncertain: records
            .iter()
            .zip(&ex.calls)
            .map(|(r, c)| r.state == TaskState::Running && !r.undoing && c.team.is_none())
            .collect(),
        records,
        began: vec![None; n],
        ended: vec![None; n],
        queues: vec![BTreeSet::new(); ex.caps.len()],
        running: 0,
        placed: 0,
        group_running: vec![0; ex.caps.len()],
        timers: BinaryHeap::new(),
        sleepers: BinaryHeap::new(),
        awaiting: BTreeSet::new(),
        last_work_poll: None,
        phase: Phase::Forward,
        stop: None,
        undo_failures: Vec::new(),
        last_poll: None,
    };
    for (t, r) in run.records.iter().enumerate() {
        if let Some(process) = &r.process {
            // A killed runner's attempt: gone before anything is asked again.
            process.ensure_gone().map_err(|detail| ExecError::Orphan {
                task: ex.plan.tasks[t].id.clone(),
                detail,
            })?;
        }
    }
    let outcome = std::thread::scope(|scope| {
        let mut pool = Pool::new(scope, &ex.plan.enums);
        if ex.has_workers() {
            run.rec.start(scope, &ex.plan.order, pool.messages());
        }
        let outcome = run.execute(&mut pool);
        run.rec.stop();
        outcome
    });
    // A run that stopped on an error gives back the places of its attempts.
    if let Some(limiter) = &ex.limiter {
        limiter.release(run.placed);
    }
    outcome
}

struct Run<'a, 'p> {
    ex: &'a Executor<'p>,
    /// Taking a revision's tasks back: the tasks whose undo runs; the run
    /// is then compensation only.
    only: Option<Vec<bool>>,
    rec: record::Recorder<'a>,
    observer: &'a mut dyn FnMut(&Event),
    records: Vec<TaskRecord>,
    /// The attempt number each task (and undo) starts this run from: the
    /// retry budget counts from here.
    first_attempt: Vec<u32>,
    first_undo_attempt: Vec<u32>,
    /// Tasks of which an attempt may have taken effect without ordo
    /// learning its answer (it timed out, or a crash interrupted it): until
    /// an attempt succeeds or fails permanently, such a task is neither
    /// cancelled nor passed over by the compensation.
    uncertain: Vec<bool>,
    began: Vec<Option<Instant>>,
    ended: Vec<Option<Instant>>,
    /// Tasks waiting for a worker, per binding (ordered by plan index).
    queues: Vec<BTreeSet<TaskIdx>>,
    running: usize,
    /// Attempts holding a place of the shared limiter (attempts of actions
    /// that answer at once hold none).
    placed: usize,
    group_running: Vec<usize>,
    /// Retries due: (when, task).
    timers: BinaryHeap<Reverse<(Instant, TaskIdx)>>,
    /// Tasks whose `wait` is not over: (not before, task), on the wall clock
    /// (their times are recorded: they survive the run).
    sleepers: BinaryHeap<Reverse<(DateTime<Utc>, TaskIdx)>>,
    /// Manual tasks whose work item is open.
    awaiting: BTreeSet<TaskIdx>,
    last_work_poll: Option<Instant>,
    phase: Phase,
    stop: Option<Stop>,
    undo_failures: Vec<(TaskIdx, String)>,
    last_poll: Option<Instant>,
}

impl<'p> Run<'_, 'p> {
    fn execute(&mut self, pool: &mut Pool<'_, '_>) -> Result<RunOutcome, ExecError> {
        self.emit(Event::Order {
            state: OrderState::InProgress,
            reason: None,
        })?;
        let ranks = self.ex.plan.stages.len().max(1);
        let stages: Vec<usize> = self.ex.plan.tasks.iter().map(|t| t.stage).collect();
        if self.only.is_some() {
            return self.take_back(pool, &stages, ranks);
        }
        let resumed_stop = self.resumed_stop()?;
        let (mut frontier, mut ready) =
            Frontier::new(&self.ex.deps, &self.ex.dependents, stages.clone(), ranks);
        let settled = |r: &TaskRecord| matches!(r.state, TaskState::Done | TaskState::Skipped);
        for t in 0..self.records.len() {
            if settled(&self.records[t]) {
                frontier.finish(t, &mut ready);
            }
        }
        if let Some(stop) = resumed_stop {
            // An interrupted stop: attempts that were running are invoked
            // again (to learn their outcome) before compensating.
            self.stop = Some(stop);
            for t in 0..self.records.len() {
                if self.records[t].state == TaskState::Running
                    && !self.records[t].undoing
                    && !self.is_manual(t)
                {
                    self.enqueue(t);
                }
            }
            ready.clear();
        }
        let drove = self.drive(pool, &mut frontier, ready)?;
        // A revision that arrived since the last poll still comes before the
        // order's end (or its parking): the revised version may differ from
        // what was done.
        if self.stop.is_none() && self.rec.polls().revision_requested(&self.ex.plan.order)? {
            self.stop = Some(Stop::Revise);
        }
        if matches!(self.stop, Some(Stop::Revise)) {
            if let Some(outcome) = self.safe_point()? {
                return Ok(outcome);
            }
        } else if drove == Drive::Parked {
            return self.park();
        }

        let Some(stop) = self.stop.clone() else {
            return self.finish(OrderState::Completed, None);
        };
        if let Some(ponr) = self.passed_point_of_no_return() {
            return self.hold(stop, ponr);
        }
        for t in 0..self.records.len() {
            if matches!(
                self.records[t].state,
                TaskState::Pending | TaskState::Running
            ) && !self.unsettled(t)
            {
                let error = self.records[t].error.clone();
                self.emit_task(t, TaskState::Cancelled, error)?;
            }
        }
        self.phase = Phase::Compensate;
        let backward: Vec<usize> = stages.iter().map(|s| ranks - 1 - s).collect();
        let (mut frontier, ready) =
            Frontier::new(&self.ex.dependents, &self.ex.deps, backward, ranks);
        self.drive(pool, &mut frontier, ready)?;
        let cause = self.describe(&stop);
        let mut problems: Vec<String> = (0..self.records.len())
            .filter(|&t| self.unsettled(t))
            .map(|t| {
                format!(
                    "task {} may have taken effect, but its outcome is unknown ({}); \
                     the tasks before it were not undone: resume to ask it again",
                    self.id(t),
                    self.records[t].error.as_deref().unwrap_or("interrupted")
                )
            })
            .collect();
        problems.extend(
            self.undo_failures
                .iter()
                .map(|(t, e)| format!("the undo of {} failed: {e}", self.id(*t))),
        );
        if !problems.is_empty() {
            let after = match stop {
                Stop::Unknown(_) => String::new(),
                _ => format!(" (after {cause})"),
            };
            return self.finish(
                OrderState::Held,
                Some(format!("{}{after}", problems.join("; "))),
            );
        }
        match stop {
            Stop::Failed { .. } | Stop::Unknown(_) | Stop::Revise => {
                self.finish(OrderState::Failed, Some(cause))
            }
            Stop::Cancelled => self.finish(OrderState::Cancelled, Some(cause)),
        }
    }

    /// What the records say about a stop that happened before this run:
    /// a failed task or a compensation under way (unless a point of no
    /// return was passed, which makes the order resumable forwards), or a
    /// pending cancel.
    fn resumed_stop(&mut self) -> Result<Option<Stop>, ExecError> {
        if self.passed_point_of_no_return().is_some() {
            return Ok(None);
        }
        if let Some(t) = self
            .records
            .iter()
            .position(|r| r.state == TaskState::Failed)
        {
            let error = self.records[t].error.clone().unwrap_or_default();
            return Ok(Some(Stop::Failed {
                task: Some(t),
                error,
            }));
        }
        // Cancelled tasks and compensated ones come only from a stop.
        let compensating = self
            .records
            .iter()
            .any(|r| matches!(r.state, TaskState::Compensated | TaskState::Cancelled) || r.undoing);
        if self.rec.polls().cancel_requested(&self.ex.plan.order)? {
            return Ok(Some(Stop::Cancelled));
        }
        if compensating {
            let error = "an earlier run stopped the order".to_string();
            return Ok(Some(Stop::Failed { task: None, error }));
        }
        Ok(None)
    }

    /// Runs the current phase until nothing is running, queued or due, or
    /// (when the run parks) until only waits are left.
    fn drive(
        &mut self,
        pool: &mut Pool<'_, '_>,
        frontier: &mut Frontier<'_>,
        mut ready: Vec<TaskIdx>,
    ) -> Result<Drive, ExecError> {
        loop {
            while let Some(t) = ready.pop() {
                self.on_ready(t, frontier, &mut ready)?;
            }
            self.poll_cancel()?;
            self.poll_work(false, frontier, &mut ready)?;
            self.wake_sleepers()?;
            let now = Instant::now();
            while let Some(Reverse((due, t))) = self.timers.peek().copied() {
                if due > now {
                    break;
                }
                self.timers.pop();
                self.enqueue(t);
            }
            // A cancel (or revision) accepted since the last poll must be
            // seen before new work starts, not up to a poll interval later:
            // a task started after it is work the cancel then undoes, and a
            // point of no return started after it loses the cancel. One read
            // of the flags per round that starts work.
            if self.queues.iter().any(|q| !q.is_empty()) {
                self.last_poll = None;
                self.poll_cancel()?;
            }
            self.dispatch(pool, frontier, &mut ready)?;
            if !ready.is_empty() {
                continue;
            }
            if self.running == 0
                && self.timers.is_empty()
                && self.queues.iter().all(BTreeSet::is_empty)
            {
                if !self.waits_left() {
                    if self.phase == Phase::Forward
                        && self.stop.is_none()
                        && !frontier.all_finished()
                    {
                        return Err(ExecError::InvalidPlan(
                            "no task can start, yet not all have finished".into(),
                        ));
                    }
                    return Ok(Drive::Finished);
                }
                if self.ex.park {
                    // A last look: what was completed meanwhile goes on now.
                    if self.poll_work(true, frontier, &mut ready)? {
                        continue;
                    }
                    self.flush()?;
                    return Ok(Drive::Parked);
                }
            }
            if self.running == 0 && self.ex.limiter.as_ref().is_some_and(|l| l.is_closed()) {
                self.flush()?;
                return Err(ExecError::Stopped);
            }
            let mut wait = self.ex.cancel_poll;
            if let Some(Reverse((due, _))) = self.timers.peek() {
                wait = wait.min(due.saturating_duration_since(now));
            }
            if let Some(until) = self.next_sleeper_in() {
                wait = wait.min(until);
            }
            if self.running == 0 {
                // Only timers left, or attempts waiting for a place of the
                // shared limiter: record everything, then sleep until the
                // first timer is due or another run gives a place back (a
                // run of a server's engine that sleeps on timers alone lets
                // it advance another order meanwhile).
                self.flush()?;
                match &self.ex.limiter {
                    Some(l) if self.queues.iter().any(|q| !q.is_empty()) => l.wait(wait),
                    Some(l) => l.sleep(wait),
                    None => std::thread::sleep(wait),
                }
                continue;
            }
            // Nothing waits unrecorded while the run waits: with a writer it
            // is on its way, and the wait ends when it is recorded.
            self.rec.send(&self.ex.plan.order)?;
            if let Some(message) = pool.next(wait) {
                self.on_message(message, frontier, &mut ready)?;
                // Collect whatever else finished meanwhile before deciding.
                while let Some(message) = pool.next(Duration::ZERO) {
                    self.on_message(message, frontier, &mut ready)?;
                }
            }
        }
    }

    /// A task whose turn has come: forwards, check `when` and queue it;
    /// backwards, queue its undo or pass it at once.
    fn on_ready(
        &mut self,
        t: TaskIdx,
        frontier: &mut Frontier<'_>,
        ready: &mut Vec<TaskIdx>,
    ) -> Result<(), ExecError> {
        match self.phase {
            Phase::Forward => {
                if self.stop.is_some()
                    || matches!(self.records[t].state, TaskState::Done | TaskState::Skipped)
                {
                    return Ok(());
                }
                if self.is_manual(t) && self.records[t].state == TaskState::Running {
                    // Its work item is open (a resumed run): wait for it.
                    self.awaiting.insert(t);
                    return Ok(());
                }
                if let Some(when) = &self.ex.plan.tasks[t].when {
                    match when.holds(&mut |r| self.lookup(r, None)) {
                        Ok(true) => {}
                        Ok(false) => {
                            self.emit_task(t, TaskState::Skipped, None)?;
                            frontier.finish(t, ready);
                            return Ok(());
                        }
                        Err(e) => return self.fail(t, format!("cannot decide `when`: {e}")),
                    }
                }
                match self.not_before(t) {
                    Ok(Some(at)) if at > Utc::now() => {
                        self.sleepers.push(Reverse((at, t)));
                        return Ok(());
                    }
                    Ok(_) => {}
                    Err(e) => return self.fail(t, e),
                }
                self.proceed(t)?;
            }
            Phase::Compensate => {
                let r = &self.records[t];
                let selected = self.only.as_ref().is_none_or(|only| only[t]);
                if r.state == TaskState::Done && self.ex.calls[t].undo.is_some() && selected {
                    self.enqueue(t);
                } else if !self.unsettled(t) {
                    frontier.finish(t, ready);
                }
                // An unsettled task never finishes backwards: what it
                // depends on stays done until a resume learns its outcome,
                // so undos still run in reverse dependency order.
            }
        }
        Ok(())
    }

    fn fail(&mut self, t: TaskIdx, error: String) -> Result<(), ExecError> {
        self.emit_task(t, TaskState::Failed, Some(error.clone()))?;
        if self.stop.is_none() {
            self.halt(Stop::Failed {
                task: Some(t),
                error,
            });
        }
        Ok(())
    }

    fn undo_failed(
        &mut self,
        t: TaskIdx,
        error: String,
        frontier: &mut Frontier<'_>,
        ready: &mut Vec<TaskIdx>,
    ) -> Result<(), ExecError> {
        // The task's effect is still there: it stays `done`, with the reason.
        self.emit_task(t, TaskState::Done, Some(format!("undo failed: {error}")))?;
        self.undo_failures.push((t, error));
        frontier.finish(t, ready);
        Ok(())
    }

    /// A task that may have taken effect and is still running: its outcome
    /// is unknown.
    pub(super) fn unsettled(&self, t: TaskIdx) -> bool {
        self.uncertain[t] && self.records[t].state == TaskState::Running
    }

    /// Stops new starts; queued tasks and due retries are dropped, except
    /// those of uncertain tasks, which are asked again to settle them.
    fn halt(&mut self, stop: Stop) {
        self.stop = Some(stop);
        let uncertain = &self.uncertain;
        self.queues
            .iter_mut()
            .for_each(|q| q.retain(|&t| uncertain[t]));
        self.timers.retain(|Reverse((_, t))| uncertain[*t]);
        // Waiting tasks and open work items end cancelled.
        self.sleepers.clear();
        self.awaiting.clear();
    }

    /// A task whose retries ran out without learning whether it took
    /// effect: it stays running, and the run stops.
    pub(super) fn unknown(&mut self, t: TaskIdx) {
        if self.stop.is_none() {
            self.halt(Stop::Unknown(t));
        }
    }

    fn poll_cancel(&mut self) -> Result<(), ExecError> {
        if self.phase != Phase::Forward || self.stop.is_some() {
            return Ok(());
        }
        let now = Instant::now();
        if self
            .last_poll
            .is_some_and(|p| now.duration_since(p) < self.ex.cancel_poll)
        {
            return Ok(());
        }
        self.last_poll = Some(now);
        // Past a point of no return a cancel cannot be honoured (the store
        // refuses it; this guards a request that raced the task). The flag is
        // read first: it is one indexed row, the scan walks every task, and
        // this runs before every round that starts work.
        if self.rec.polls().cancel_requested(&self.ex.plan.order)?
            && self.passed_point_of_no_return().is_none()
        {
            self.halt(Stop::Cancelled);
        } else if self.rec.polls().revision_requested(&self.ex.plan.order)? {
            self.halt(Stop::Revise);
        }
        Ok(())
    }

    fn passed_point_of_no_return(&self) -> Option<TaskIdx> {
        self.ex
            .plan
            .tasks
            .iter()
            .zip(&self.records)
            .position(|(t, r)| t.point_of_no_return && r.state == TaskState::Done)
    }

    /// Past a point of no return: no compensation. Interrupted retries go
    /// back to `pending`, so a resume picks them up.
    fn hold(&mut self, stop: Stop, ponr: TaskIdx) -> Result<RunOutcome, ExecError> {
        for t in 0..self.records.len() {
            if self.records[t].state == TaskState::Running {
                let error = self.records[t].error.clone();
                self.emit_task(t, TaskState::Pending, error)?;
            }
        }
        let reason = match stop {
            Stop::Failed { .. } | Stop::Unknown(_) => format!(
                "{} after the point of no return {}; fix the cause and resume",
                self.describe(&stop),
                self.id(ponr)
            ),
            Stop::Cancelled => format!(
                "a cancel was requested while {} ran; it is a point of no return and succeeded, so the order cannot be compensated",
                self.id(ponr)
            ),
            Stop::Revise => format!(
                "a revision was requested while {} ran; it is a point of no return and succeeded, so the order cannot be revised",
                self.id(ponr)
            ),
        };
        self.finish(OrderState::Held, Some(reason))
    }

    fn describe(&self, stop: &Stop) -> String {
        match stop {
            Stop::Failed {
                task: Some(t),
                error,
            } => format!("task {} failed: {error}", self.id(*t)),
            Stop::Failed { task: None, error } => error.clone(),
            Stop::Cancelled => "the order was cancelled".into(),
            Stop::Revise => "the order is being revised".into(),
            Stop::Unknown(t) => format!("the outcome of task {} is unknown", self.id(*t)),
        }
    }

    fn finish(
        &mut self,
        state: OrderState,
        reason: Option<String>,
    ) -> Result<RunOutcome, ExecError> {
        self.emit(Event::Order {
            state,
            reason: reason.clone(),
        })?;
        self.flush()?;
        Ok(self.outcome(state, reason))
    }

    /// The run's end as it stands: neither parked nor revising (the callers
    /// that park or revise set those members themselves).
    fn outcome(&self, state: OrderState, reason: Option<String>) -> RunOutcome {
        let tasks = (0..self.records.len())
            .map(|t| TaskOutcome {
                id: self.id(t).to_string(),
                record: self.records[t].clone(),
                duration: self.began[t]
                    .zip(self.ended[t])
                    .map(|(b, e)| e.saturating_duration_since(b)),
            })
            .collect();
        RunOutcome {
            state,
            reason,
            tasks,
            revising: false,
            waiting: Vec::new(),
        }
    }

    fn id(&self, t: TaskIdx) -> &str {
        &self.ex.plan.tasks[t].id
    }
}
