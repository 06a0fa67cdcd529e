//! The worker pool: threads that invoke actions, started as they are first
//! needed and never more than `jobs` of them. The coordinator (the thread
//! that runs the order) hands out one job at a time per free worker, so a
//! worker never waits behind another job, and a task waiting for its retry
//! holds no worker. An action that answers at once ([`Action::immediate`])
//! is called by the coordinator itself when handed in: a simulated order
//! starts no thread and waits on none.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::Scope;
use std::time::{Duration, Instant};

use super::action::{outputs_from_json, Action, ActionError, ProcessLog, Request};
use super::state::Process;
use crate::plan::TaskIdx;
use crate::value::{format_duration, Value};

pub(crate) struct Job {
    pub task: TaskIdx,
    pub undo: bool,
    pub attempt: u32,
    pub group: usize,
    /// It holds a place of the run's shared limiter, given back when done.
    pub placed: bool,
    pub timeout_ms: Option<u64>,
    pub action: Arc<dyn Action>,
    pub request: Request,
}

/// What workers tell the coordinator.
pub(crate) enum Message {
    Done(Completion),
    /// An attempt started a process; `ack` once it is recorded.
    Spawned(Spawned),
    /// The run's journal writer recorded a batch, or failed to (it says
    /// which on a channel of its own).
    Recorded,
}

pub(crate) struct Spawned {
    pub task: TaskIdx,
    pub attempt: u32,
    pub undo: bool,
    pub process: Process,
    pub ack: Sender<()>,
}

pub(crate) struct Completion {
    /// Whether a worker thread ran it (rather than the timer).
    on_worker: bool,
    pub task: TaskIdx,
    pub undo: bool,
    pub attempt: u32,
    pub group: usize,
    pub placed: bool,
    pub result: Result<BTreeMap<String, Value>, ActionError>,
    /// The answer came after the deadline, or never: the attempt may have
    /// taken effect all the same.
    pub timed_out: bool,
}

pub(crate) struct Pool<'scope, 'env> {
    scope: &'scope Scope<'scope, 'env>,
    enums: &'env BTreeMap<String, Vec<String>>,
    jobs: Option<Sender<Job>>,
    queue: Arc<Mutex<Receiver<Job>>>,
    done_tx: Sender<Message>,
    done: Receiver<Message>,
    workers: usize,
    /// Jobs handed to workers and not finished yet.
    on_workers: usize,
    /// Jobs waiting out an action's latency, due at an instant.
    timer: Option<Sender<(Instant, Job)>>,
    /// The answers of immediate actions, called when handed in, for
    /// [`Pool::next`] to give before waiting on anything.
    answered: VecDeque<Message>,
}

impl<'scope, 'env> Pool<'scope, 'env> {
    pub fn new(
        scope: &'scope Scope<'scope, 'env>,
        enums: &'env BTreeMap<String, Vec<String>>,
    ) -> Self {
        let (jobs, queue) = mpsc::channel();
        let (done_tx, done) = mpsc::channel();
        Pool {
            scope,
            enums,
            jobs: Some(jobs),
            queue: Arc::new(Mutex::new(queue)),
            done_tx,
            done,
            workers: 0,
            on_workers: 0,
            timer: None,
            answered: VecDeque::new(),
        }
    }

    /// Where the workers' messages go, for another thread of the run to
    /// send its own.
    pub fn messages(&self) -> Sender<Message> {
        self.done_tx.clone()
    }

    /// Hands a job to a worker, started when all the others are taken; or,
    /// for an action with a latency, to the timer, which calls it when due.
    pub fn submit(&mut self, mut job: Job) {
        let latency = job.action.latency(&job.request);
        if !latency.is_zero() {
            // Waiting past the deadline is pointless: `attempt` reports the timeout.
            let mut due = Instant::now() + latency;
            if let Some(deadline) = job.request.deadline {
                due = due.min(deadline);
            }
            self.timer().send((due, job)).ok();
            return;
        }
        if job.action.immediate() {
            let answer = completion(&job, attempt(&job, self.enums), false);
            self.answered.push_back(Message::Done(answer));
            return;
        }
        job.request.processes = Some(ProcessLog {
            tx: self.done_tx.clone(),
            task: job.task,
            attempt: job.attempt,
            undo: job.undo,
        });
        self.on_workers += 1;
        if self.on_workers > self.workers {
            self.workers += 1;
            let queue = Arc::clone(&self.queue);
            let done = self.done_tx.clone();
            let enums = self.enums;
            self.scope.spawn(move || work(&queue, &done, enums));
        }
        if let Some(jobs) = &self.jobs {
            // Workers live as long as the sender, so this cannot fail.
            let _ = jobs.send(job);
        }
    }

    fn timer(&mut self) -> &Sender<(Instant, Job)> {
        let (scope, done, enums) = (self.scope, &self.done_tx, self.enums);
        self.timer.get_or_insert_with(|| {
            let (tx, rx) = mpsc::channel();
            let done = done.clone();
            scope.spawn(move || timer(&rx, &done, enums));
            tx
        })
    }

    /// The next message of a worker (a finished job, a started process),
    /// waiting at most `timeout`.
    pub fn next(&mut self, timeout: Duration) -> Option<Message> {
        if let Some(answer) = self.answered.pop_front() {
            return Some(answer);
        }
        let m = self.done.recv_timeout(timeout).ok()?;
        if let Message::Done(Completion {
            on_worker: true, ..
        }) = m
        {
            self.on_workers -= 1;
        }
        Some(m)
    }
}

/// The timer: holds jobs until they are due, then runs each (an action with
/// a latency answers at once when called). Ends when the pool is dropped and
/// nothing is pending.
fn timer(
    incoming: &Receiver<(Instant, Job)>,
    done: &Sender<Message>,
    enums: &BTreeMap<String, Vec<String>>,
) {
    let mut pending: BinaryHeap<Reverse<(Instant, u64)>> = BinaryHeap::new();
    let mut jobs: HashMap<u64, Job> = HashMap::new();
    let mut seq = 0u64;
    let mut open = true;
    while open || !pending.is_empty() {
        let now = Instant::now();
        while let Some(Reverse((due, id))) = pending.peek().copied() {
            if due > now {
                break;
            }
            pending.pop();
            if let Some(job) = jobs.remove(&id) {
                if done
                    .send(Message::Done(completion(&job, attempt(&job, enums), false)))
                    .is_err()
                {
                    return;
                }
            }
        }
        let next = match pending.peek() {
            Some(Reverse((due, _))) => {
                incoming.recv_timeout(due.saturating_duration_since(Instant::now()))
            }
            None => incoming
                .recv()
                .map_err(|_| mpsc::RecvTimeoutError::Disconnected),
        };
        match next {
            Ok((due, job)) => {
                seq += 1;
                pending.push(Reverse((due, seq)));
                jobs.insert(seq, job);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => open = false,
        }
    }
}

fn completion(job: &Job, (result, timed_out): Attempted, on_worker: bool) -> Completion {
    Completion {
        on_worker,
        task: job.task,
        undo: job.undo,
        attempt: job.attempt,
        group: job.group,
        placed: job.placed,
        result,
        timed_out,
    }
}

impl Drop for Pool<'_, '_> {
    fn drop(&mut self) {
        // Closing the queue lets idle workers end; busy ones end after their
        // job. The timer ends once its pending jobs are done.
        self.jobs = None;
        self.timer = None;
    }
}

fn work(
    queue: &Mutex<Receiver<Job>>,
    done: &Sender<Message>,
    enums: &BTreeMap<String, Vec<String>>,
) {
    loop {
        let job = match queue.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let result = attempt(&job, enums);
        if done
            .send(Message::Done(completion(&job, result, true)))
            .is_err()
        {
            return;
        }
    }
}

/// An attempt's result, and whether it timed out.
type Attempted = (Result<BTreeMap<String, Value>, ActionError>, bool);

/// One attempt: invoke, enforce the deadline, read the outputs.
fn attempt(job: &Job, enums: &BTreeMap<String, Vec<String>>) -> Attempted {
    let result =
        catch_unwind(AssertUnwindSafe(|| job.action.invoke(&job.request))).unwrap_or_else(|_| {
            Err(ActionError::permanent(
                "the action's implementation panicked",
            ))
        });
    if let (Some(deadline), Some(ms)) = (job.request.deadline, job.timeout_ms) {
        // Late is failed, whatever the action said: the timeout is the
        // catalog's promise, and the idempotency key makes a retry safe.
        if Instant::now() >= deadline {
            let late = ActionError::retryable(format!("timed out after {}", format_duration(ms)));
            return (Err(late), true);
        }
    }
    let read = result.and_then(|raw| {
        outputs_from_json(&job.request.outputs, enums, &raw).map_err(ActionError::permanent)
    });
    (read, false)
}
