//! Attempts: queueing ready tasks by binding, starting them within the
//! worker and binding limits, and reading what comes back.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{Phase, Run};
use crate::exec::action::{Request, PROTOCOL};
use crate::exec::executor::{Call, ExecError};
use crate::exec::frontier::Frontier;
use crate::exec::pool::{Completion, Job, Message, Pool};
use crate::exec::retry::retry_delay;
use crate::exec::state::Event;
use crate::model::expr::EvalError;
use crate::model::{Expr, Ref};
use crate::plan::TaskIdx;
use crate::value::Value;

/// With a writer, how many attempts a dispatch decides before it sends them
/// to be recorded.
const SEND_EVERY: usize = 128;

impl Run<'_, '_> {
    pub(super) fn call(&self, t: TaskIdx) -> &Call {
        let calls = &self.ex.calls[t];
        match (self.phase, &calls.undo) {
            (Phase::Compensate, Some(undo)) => undo,
            _ => &calls.call,
        }
    }

    pub(super) fn enqueue(&mut self, t: TaskIdx) {
        let group = self.call(t).group;
        self.queues[group].insert(t);
    }

    /// Starts queued attempts while workers and binding caps allow.
    pub(super) fn dispatch(
        &mut self,
        pool: &mut Pool<'_, '_>,
        frontier: &mut Frontier<'_>,
        ready: &mut Vec<TaskIdx>,
    ) -> Result<(), ExecError> {
        while self.running < self.ex.jobs {
            let forward = self.phase == Phase::Forward;
            let next = (0..self.queues.len())
                .filter(|&g| self.group_running[g] < self.ex.caps[g])
                .filter_map(|g| {
                    let q = &self.queues[g];
                    if forward { q.first() } else { q.last() }.map(|&t| (t, g))
                })
                .min_by_key(|&(t, _)| if forward { t as isize } else { -(t as isize) });
            let Some((t, group)) = next else {
                break;
            };
            // An action that answers at once takes no place of the shared
            // limiter, but starts nothing once it is closed either.
            let placed = !self.call(t).action.immediate() && self.ex.limiter.is_some();
            let free = match &self.ex.limiter {
                Some(l) if placed => l.try_acquire(),
                Some(l) => !l.is_closed(),
                None => true,
            };
            if !free {
                break;
            }
            self.queues[group].remove(&t);
            if placed {
                self.placed += 1;
            }
            let before = self.running;
            self.start(t, group, placed, frontier, ready)?;
            if placed && self.running == before {
                // No attempt began (its inputs could not be computed): the
                // place goes back at once.
                self.give_back_place();
            }
            if self.rec.has_writer() && self.rec.jobs.len() >= SEND_EVERY {
                // A wave of starts goes to the writer in parts: the first
                // attempts begin while the rest are still being decided.
                self.rec.send(&self.ex.plan.order)?;
                self.hand_out(pool)?;
            }
        }
        // Write-ahead: every `started` (and whatever was decided before) is
        // recorded before any of these attempts begins: the recorder
        // releases an attempt once the batch holding its `started` is.
        if !self.rec.jobs.is_empty() {
            self.rec.send(&self.ex.plan.order)?;
        }
        self.hand_out(pool)
    }

    /// Gives one place back to the shared limiter.
    fn give_back_place(&mut self) {
        self.placed -= 1;
        if let Some(limiter) = &self.ex.limiter {
            limiter.release(1);
        }
    }

    /// Hands to workers the attempts whose `started` is recorded.
    fn hand_out(&mut self, pool: &mut Pool<'_, '_>) -> Result<(), ExecError> {
        self.rec.take_recorded(false)?;
        for job in self.rec.released.drain(..) {
            pool.submit(job);
        }
        Ok(())
    }

    fn start(
        &mut self,
        t: TaskIdx,
        group: usize,
        placed: bool,
        frontier: &mut Frontier<'_>,
        ready: &mut Vec<TaskIdx>,
    ) -> Result<(), ExecError> {
        let undo = self.phase == Phase::Compensate;
        let task = &self.ex.plan.tasks[t];
        let record = &self.records[t];
        let attempt = if undo {
            record.undo_attempts + 1
        } else {
            record.attempts + 1
        };
        let action = match (&task.undo, undo) {
            (Some(u), true) => &u.action,
            _ => &task.action,
        };
        let inputs = match self.inputs(t, undo) {
            Ok(inputs) => inputs,
            Err(error) if undo => return self.undo_failed(t, error, frontier, ready),
            Err(error) => return self.fail(t, error),
        };
        let call = self.call(t);
        // The task's timeout, or its binding's (an `http` binding's), the
        // shorter: past it, the attempt's outcome is unknown either way.
        let timeout_ms = match (task.timeout_ms, call.timeout_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let deadline = timeout_ms.map(|ms| Instant::now() + Duration::from_millis(ms));
        let order = &self.ex.plan.order;
        let key = match self.ex.key_versions[t] {
            Some(v) => format!("{order}/{}@v{v}", task.id),
            None => format!("{order}/{}", task.id),
        };
        let request = Request {
            protocol: PROTOCOL,
            action: action.clone(),
            order: order.clone(),
            task: task.id.clone(),
            version: self.ex.version,
            attempt,
            idempotency_key: if undo { format!("{key}/undo") } else { key },
            undo,
            inputs,
            outputs: call.outputs.clone(),
            deadline,
            processes: None,
        };
        let job = Job {
            task: t,
            undo,
            attempt,
            group,
            placed,
            timeout_ms,
            action: call.action.clone(),
            request,
        };
        self.emit(Event::Started {
            task: t,
            attempt,
            undo,
        })?;
        if !undo {
            self.began[t].get_or_insert_with(Instant::now);
        }
        self.running += 1;
        self.group_running[group] += 1;
        self.rec.jobs.push(job);
        Ok(())
    }

    /// The inputs of the task (or its undo), resolved against finished
    /// tasks' outputs, as plain JSON; or why they cannot be.
    pub(super) fn inputs(
        &self,
        t: TaskIdx,
        undo: bool,
    ) -> Result<serde_json::Map<String, serde_json::Value>, String> {
        let task = &self.ex.plan.tasks[t];
        let (params, optional) = match (&task.undo, undo) {
            (Some(u), true) => (&u.inputs, &u.optional_inputs),
            _ => (&task.inputs, &task.optional_inputs),
        };
        let mut inputs = serde_json::Map::new();
        for (name, expr) in params {
            match self.eval(expr, None) {
                // An absent value is never passed for a required parameter.
                Ok(Value::Null) if !optional.contains(name) => {
                    let what = match expr.as_lit() {
                        Some(_) => "its value".to_string(),
                        None => format!("`{expr}`"),
                    };
                    return Err(format!("input `{name}` is required, but {what} is absent"));
                }
                Ok(v) => {
                    inputs.insert(name.clone(), v.to_json());
                }
                Err(e) => return Err(format!("cannot compute input `{name}`: {e}")),
            }
        }
        Ok(inputs)
    }

    pub(super) fn on_message(
        &mut self,
        message: Message,
        frontier: &mut Frontier<'_>,
        ready: &mut Vec<TaskIdx>,
    ) -> Result<(), ExecError> {
        match message {
            Message::Done(done) => self.on_completion(done, frontier, ready),
            // Its attempts are handed out at the next dispatch.
            Message::Recorded => Ok(self.rec.take_recorded(false)?),
            Message::Spawned(s) => {
                // Recorded (and acknowledged) with the next batch, sent
                // before the coordinator waits again.
                self.emit(Event::Spawned {
                    task: s.task,
                    attempt: s.attempt,
                    undo: s.undo,
                    process: s.process,
                })?;
                self.rec.acks.push(s.ack);
                Ok(())
            }
        }
    }

    fn on_completion(
        &mut self,
        done: Completion,
        frontier: &mut Frontier<'_>,
        ready: &mut Vec<TaskIdx>,
    ) -> Result<(), ExecError> {
        let Completion {
            task: t,
            undo,
            attempt,
            group,
            placed,
            result,
            timed_out,
            ..
        } = done;
        if timed_out && !undo {
            // A late answer, or none: the attempt may have done its work.
            self.uncertain[t] = true;
        }
        self.running -= 1;
        self.group_running[group] -= 1;
        if placed {
            self.give_back_place();
        }
        if !undo {
            self.ended[t] = Some(Instant::now());
        }
        let error = match result {
            Ok(outputs) => {
                if !undo {
                    if let Some(message) = self.broken_require(t, &outputs) {
                        self.emit(Event::AttemptFailed {
                            task: t,
                            attempt,
                            undo,
                            error: message.clone(),
                            retry_in_ms: None,
                        })?;
                        return self.fail(t, message);
                    }
                }
                self.emit(Event::Succeeded {
                    task: t,
                    attempt,
                    undo,
                    outputs,
                })?;
                frontier.finish(t, ready);
                return Ok(());
            }
            Err(e) => e,
        };
        let task = &self.ex.plan.tasks[t];
        let first = if undo {
            self.first_undo_attempt[t]
        } else {
            self.first_attempt[t]
        };
        let retries_left = task.retry.is_some_and(|r| attempt < first + r.count);
        // Once the run has stopped, forward tasks get no further attempts,
        // except uncertain ones: they are asked again to settle them.
        let settling = !undo && self.uncertain[t];
        let may_retry =
            error.retryable && retries_left && (undo || settling || self.stop.is_none());
        let delay = match (may_retry, task.retry) {
            (true, Some(retry)) => {
                let key = format!(
                    "{}/{}{}",
                    self.ex.plan.order,
                    task.id,
                    if undo { "/undo" } else { "" }
                );
                Some(retry_delay(&retry, attempt - first + 1, &key))
            }
            _ => None,
        };
        self.emit(Event::AttemptFailed {
            task: t,
            attempt,
            undo,
            error: error.message.clone(),
            retry_in_ms: delay,
        })?;
        if let Some(ms) = delay {
            self.timers
                .push(Reverse((Instant::now() + Duration::from_millis(ms), t)));
            return Ok(());
        }
        match (undo, error.retryable) {
            (true, _) => self.undo_failed(t, error.message, frontier, ready),
            // It may have taken effect and did not say: it stays running,
            // unsettled, and the order will be held naming it.
            (false, true) if settling => {
                self.unknown(t);
                Ok(())
            }
            // A retry the stop cut short: the task did not fail, it was
            // interrupted; it ends cancelled (or pending if the order is held).
            (false, true) if self.stop.is_some() => Ok(()),
            (false, _) => self.fail(t, error.message),
        }
    }

    /// The message of the first `require` the task's outputs break.
    pub(super) fn broken_require(
        &self,
        t: TaskIdx,
        outputs: &BTreeMap<String, Value>,
    ) -> Option<String> {
        for r in &self.ex.plan.tasks[t].requires {
            let own = Some((t, outputs));
            match r.cond.holds(&mut |r| self.lookup(r, own)) {
                Ok(true) => {}
                Ok(false) => {
                    let mut lookup = |r: &Ref| self.lookup(r, own);
                    return Some(r.message.render(&mut lookup));
                }
                Err(e) => return Some(format!("cannot check `require`: {e}")),
            }
        }
        None
    }

    /// Evaluates against finished tasks' outputs; `own` answers a task's
    /// references to its own outputs (for `require`).
    pub(super) fn eval(
        &self,
        expr: &Expr,
        own: Option<(TaskIdx, &BTreeMap<String, Value>)>,
    ) -> Result<Value, EvalError> {
        expr.eval(&mut |r| self.lookup(r, own))
    }

    pub(super) fn lookup(
        &self,
        r: &Ref,
        own: Option<(TaskIdx, &BTreeMap<String, Value>)>,
    ) -> Option<Value> {
        let Ref::TaskOutput { task, output } = r else {
            return None;
        };
        let i = *self.ex.index.get(task.as_str())?;
        let outputs = match own {
            Some((o, outputs)) if o == i => outputs,
            _ => &self.records[i].outputs,
        };
        // A skipped (or not yet finished) task's outputs are absent: null.
        Some(outputs.get(output).cloned().unwrap_or(Value::Null))
    }
}
