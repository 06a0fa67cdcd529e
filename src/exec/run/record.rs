//! Recording: the coordinator's decisions go to the journal in batches, and
//! nothing acts on an event (an attempt starts, a worker sends a process its
//! request, the run waits or ends) before the batch holding it is recorded.
//!
//! A journal that offers a second handle for its polls ([`Journal::poller`])
//! is written by a thread of its own, the writer, when the run has calls
//! that go to worker threads (with none, the coordinator would only wait
//! for each commit, and records in line): the coordinator goes on
//! deciding (reading results, evaluating inputs, building requests) while
//! the previous batch commits, and the batches it sends meanwhile are
//! committed together. The write-ahead rule holds as in line: the writer
//! records batches in the order they were sent, and an attempt is handed to
//! a worker only once the writer has reported its batch recorded, so its
//! `started` event, and every event decided before it (the `succeeded` of
//! what it depends on), is recorded first. A batch that fails stops the
//! writer: nothing decided after it is recorded, and the run ends with the
//! error, as if it had crashed there.

use std::collections::VecDeque;
use std::mem;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::Scope;

use super::Run;
use crate::exec::executor::ExecError;
use crate::exec::pool::{Job, Message};
use crate::exec::state::{Event, Journal, JournalError, TaskState};
use crate::plan::TaskIdx;

/// The journal of a run, written in line or by the writer thread.
pub(super) struct Recorder<'a> {
    /// In line: the journal itself; `None` once it is the writer's.
    journal: Option<&'a mut dyn Journal>,
    /// With a writer: the handle the coordinator polls.
    poller: Option<Box<dyn Journal>>,
    batches: Option<Sender<Vec<Event>>>,
    /// The writer's reports: every batch up to this one is recorded.
    recorded_rx: Option<Receiver<Result<u64, JournalError>>>,
    sent: u64,
    recorded: u64,
    /// Batches sent and not yet recorded, with what waits on each: the
    /// attempts they start and the workers waiting for their processes.
    waiting: VecDeque<(u64, Vec<Job>, Vec<Sender<()>>)>,
    /// Decided since the last batch was sent.
    pub events: Vec<Event>,
    pub jobs: Vec<Job>,
    pub acks: Vec<Sender<()>>,
    /// Attempts whose `started` is recorded, to hand to workers.
    pub released: Vec<Job>,
}

impl<'a> Recorder<'a> {
    pub fn new(journal: &'a mut dyn Journal) -> Recorder<'a> {
        Recorder {
            journal: Some(journal),
            poller: None,
            batches: None,
            recorded_rx: None,
            sent: 0,
            recorded: 0,
            waiting: VecDeque::new(),
            events: Vec::new(),
            jobs: Vec::new(),
            acks: Vec::new(),
            released: Vec::new(),
        }
    }

    /// Moves the journal to a writer thread, if it has a poller; `wake` is
    /// told whenever a batch is recorded (the coordinator waits on it).
    pub fn start<'scope>(
        &mut self,
        scope: &'scope Scope<'scope, '_>,
        order: &str,
        wake: Sender<Message>,
    ) where
        'a: 'scope,
    {
        let Some(poller) = self.journal.as_ref().and_then(|j| j.poller()) else {
            return;
        };
        let Some(journal) = self.journal.take() else {
            return;
        };
        let (batches, incoming) = mpsc::channel();
        let (recorded, recorded_rx) = mpsc::channel();
        let order = order.to_string();
        scope.spawn(move || write(journal, &order, &incoming, &recorded, &wake));
        self.poller = Some(poller);
        self.batches = Some(batches);
        self.recorded_rx = Some(recorded_rx);
    }

    /// Ends the writer (once it has recorded what it was sent); workers
    /// waiting for their processes to be recorded give up.
    pub fn stop(&mut self) {
        self.batches = None;
        self.acks.clear();
        self.waiting.clear();
    }

    /// Whether batches are recorded by a writer thread.
    pub fn has_writer(&self) -> bool {
        self.batches.is_some()
    }

    /// The journal to ask about cancels, revisions and work results.
    pub fn polls(&mut self) -> &mut dyn Journal {
        match (&mut self.poller, &mut self.journal) {
            (Some(poller), _) => poller.as_mut(),
            (None, Some(journal)) => &mut **journal,
            (None, None) => unreachable!("a recorder without a writer keeps its journal"),
        }
    }

    /// Hands what was decided to the journal: in line, recorded before this
    /// returns (and its attempts released); with a writer, sent.
    pub fn send(&mut self, order: &str) -> Result<(), JournalError> {
        if self.events.is_empty() {
            // What waits was decided with events already sent.
            match self.waiting.back_mut() {
                Some((_, jobs, acks)) => {
                    jobs.append(&mut self.jobs);
                    acks.append(&mut self.acks);
                }
                None => {
                    let (jobs, acks) = (mem::take(&mut self.jobs), mem::take(&mut self.acks));
                    self.release(jobs, acks);
                }
            }
            return Ok(());
        }
        if let Some(journal) = &mut self.journal {
            journal.record_all(order, &self.events)?;
            self.events.clear();
            let (jobs, acks) = (mem::take(&mut self.jobs), mem::take(&mut self.acks));
            self.release(jobs, acks);
            return Ok(());
        }
        let events = mem::take(&mut self.events);
        let sent = self
            .batches
            .as_ref()
            .is_some_and(|b| b.send(events).is_ok());
        if !sent {
            // The writer stopped on an error: it says which.
            self.take_recorded(false)?;
            return Err(stopped());
        }
        self.sent += 1;
        self.waiting.push_back((
            self.sent,
            mem::take(&mut self.jobs),
            mem::take(&mut self.acks),
        ));
        Ok(())
    }

    /// Takes in the writer's reports (waiting for one if `block`), releasing
    /// what waited on the batches recorded; the writer's error, if it failed.
    pub fn take_recorded(&mut self, block: bool) -> Result<(), JournalError> {
        let Some(rx) = &self.recorded_rx else {
            return Ok(());
        };
        let mut reports = Vec::new();
        if block {
            reports.push(rx.recv().map_err(|_| stopped())?);
        }
        reports.extend(rx.try_iter());
        for report in reports {
            self.recorded = report?;
            while self
                .waiting
                .front()
                .is_some_and(|(b, _, _)| *b <= self.recorded)
            {
                if let Some((_, jobs, acks)) = self.waiting.pop_front() {
                    self.release(jobs, acks);
                }
            }
        }
        Ok(())
    }

    /// Sends what was decided and waits until all of it is recorded.
    pub fn flush(&mut self, order: &str) -> Result<(), JournalError> {
        self.send(order)?;
        while self.recorded < self.sent {
            self.take_recorded(true)?;
        }
        Ok(())
    }

    fn release(&mut self, jobs: Vec<Job>, acks: Vec<Sender<()>>) {
        self.released.extend(jobs);
        for ack in acks {
            let _ = ack.send(());
        }
    }
}

fn stopped() -> JournalError {
    JournalError("the journal's writer stopped".into())
}

/// The writer: records each batch, together with any sent meanwhile, and
/// reports how far it got; stops at the first failure.
fn write(
    journal: &mut dyn Journal,
    order: &str,
    incoming: &Receiver<Vec<Event>>,
    recorded: &Sender<Result<u64, JournalError>>,
    wake: &Sender<Message>,
) {
    let mut upto = 0;
    while let Ok(mut events) = incoming.recv() {
        upto += 1;
        while let Ok(more) = incoming.try_recv() {
            events.extend(more);
            upto += 1;
        }
        let result = catch_unwind(AssertUnwindSafe(|| journal.record_all(order, &events)))
            .unwrap_or_else(|_| Err(JournalError("the journal panicked".into())));
        let failed = result.is_err();
        let _ = recorded.send(result.map(|()| upto));
        let _ = wake.send(Message::Recorded);
        if failed {
            return;
        }
    }
}

impl Run<'_, '_> {
    /// Applies an event to the records and queues it for the journal. Only
    /// the coordinator's memory changes until the batch holding it is
    /// recorded, and nothing outside (an attempt, the run's end) happens
    /// before that: a transition that cannot be recorded does not take
    /// effect.
    pub(super) fn emit(&mut self, event: Event) -> Result<(), ExecError> {
        if let Some(t) = event.task() {
            self.records[t].apply(&event);
        }
        (self.observer)(&event);
        self.rec.events.push(event);
        Ok(())
    }

    pub(super) fn emit_task(
        &mut self,
        task: TaskIdx,
        state: TaskState,
        error: Option<String>,
    ) -> Result<(), ExecError> {
        self.emit(Event::Task { task, state, error })
    }

    /// Records every queued event (one transaction in the durable store)
    /// and waits until it is recorded; then the workers whose processes it
    /// recorded may send them their requests.
    pub(super) fn flush(&mut self) -> Result<(), ExecError> {
        Ok(self.rec.flush(&self.ex.plan.order)?)
    }
}
