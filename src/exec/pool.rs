//! The worker pool: threads that invoke actions, started as they are first
//! needed and never more than `jobs` of them. The coordinator (the thread
//! that runs the order) hands out one job at a time per free worker, so a
//! worker never waits behind another job, and a task waiting for its retry
//! holds no worker.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::Scope;
use std::time::{Duration, Instant};

use super::action::{outputs_from_json, Action, ActionError, Request};
use crate::plan::TaskIdx;
use crate::value::{format_duration, Value};

pub(crate) struct Job {
    pub task: TaskIdx,
    pub undo: bool,
    pub attempt: u32,
    pub group: usize,
    pub timeout_ms: Option<u64>,
    pub action: Arc<dyn Action>,
    pub request: Request,
}

pub(crate) struct Completion {
    pub task: TaskIdx,
    pub undo: bool,
    pub attempt: u32,
    pub group: usize,
    pub result: Result<BTreeMap<String, Value>, ActionError>,
}

pub(crate) struct Pool<'scope, 'env> {
    scope: &'scope Scope<'scope, 'env>,
    enums: &'env BTreeMap<String, Vec<String>>,
    jobs: Option<Sender<Job>>,
    queue: Arc<Mutex<Receiver<Job>>>,
    done_tx: Sender<Completion>,
    done: Receiver<Completion>,
    workers: usize,
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
        }
    }

    /// Hands a job to a worker; `busy` counts the jobs in flight with this
    /// one, so a worker is started when all the others are taken.
    pub fn submit(&mut self, job: Job, busy: usize) {
        if busy > self.workers {
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

    /// The next finished job, waiting at most `timeout`.
    pub fn next(&self, timeout: Duration) -> Option<Completion> {
        self.done.recv_timeout(timeout).ok()
    }
}

impl Drop for Pool<'_, '_> {
    fn drop(&mut self) {
        // Closing the queue lets idle workers end; busy ones end after their job.
        self.jobs = None;
    }
}

fn work(
    queue: &Mutex<Receiver<Job>>,
    done: &Sender<Completion>,
    enums: &BTreeMap<String, Vec<String>>,
) {
    loop {
        let job = match queue.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let result = attempt(&job, enums);
        let completion = Completion {
            task: job.task,
            undo: job.undo,
            attempt: job.attempt,
            group: job.group,
            result,
        };
        if done.send(completion).is_err() {
            return;
        }
    }
}

/// One attempt: invoke, enforce the deadline, read the outputs.
fn attempt(
    job: &Job,
    enums: &BTreeMap<String, Vec<String>>,
) -> Result<BTreeMap<String, Value>, ActionError> {
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
            return Err(ActionError::retryable(format!(
                "timed out after {}",
                format_duration(ms)
            )));
        }
    }
    let raw = result?;
    outputs_from_json(&job.request.outputs, enums, &raw).map_err(ActionError::permanent)
}
