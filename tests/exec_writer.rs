//! The journal's writer thread (a journal with a poller is recorded off the
//! coordinator): the write-ahead rule still holds. An attempt is invoked
//! only once its `started` is recorded and every task it depends on has its
//! `succeeded` recorded; a batch that cannot be recorded ends the run and
//! nothing decided after it is recorded or invoked.

mod exec_support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use exec_support::*;
use ordo::exec::{
    Bindings, Event, ExecOptions, Executor, Implementation, Journal, JournalError, OrderState,
    Outputs, Pattern, Request,
};
use ordo::model::Type;
use ordo::plan::Plan;

/// What is recorded, shared by the journal and the action that checks it.
type Recorded = Arc<Mutex<Vec<Event>>>;

/// Records slowly (each batch takes `delay`), so that a coordinator that
/// acted before the writer reported would be caught; fails the batch that
/// would take the recorded events past `fail_past`.
struct Slow {
    recorded: Recorded,
    delay: Duration,
    fail_past: Option<usize>,
}

impl Journal for Slow {
    fn record(&mut self, order: &str, event: &Event) -> Result<(), JournalError> {
        self.record_all(order, std::slice::from_ref(event))
    }

    fn record_all(&mut self, _order: &str, events: &[Event]) -> Result<(), JournalError> {
        std::thread::sleep(self.delay);
        let mut recorded = self.recorded.lock().unwrap();
        if self
            .fail_past
            .is_some_and(|n| recorded.len() + events.len() > n)
        {
            return Err(JournalError("the disk is full".into()));
        }
        recorded.extend_from_slice(events);
        Ok(())
    }

    fn poller(&self) -> Option<Box<dyn Journal>> {
        Some(Box::new(Polls))
    }
}

/// The poller: nobody cancels, revises or completes work items.
struct Polls;

impl Journal for Polls {
    fn record(&mut self, _order: &str, _event: &Event) -> Result<(), JournalError> {
        Err(JournalError("a poller records nothing".into()))
    }
}

/// Four chains of five tasks, each task after the one before.
fn chains() -> Plan {
    let mut tasks = Vec::new();
    for c in 0..4 {
        for k in 0..5 {
            let mut t = task(&format!("{c}/t{k}"), "sys.work").output("ref", Type::String);
            if k > 0 {
                t = t.after(&[&format!("{c}/t{}", k - 1)]);
            }
            tasks.push(t);
        }
    }
    plan(&["fulfil"], tasks)
}

/// Binds every action to a check of what is recorded when it is invoked;
/// each breach of the write-ahead rule is noted in the returned list.
fn checking(plan: &Plan, recorded: &Recorded) -> (Bindings, Arc<Mutex<Vec<String>>>) {
    let breaches = Arc::new(Mutex::new(Vec::new()));
    let index: BTreeMap<String, usize> = plan
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.clone(), i))
        .collect();
    let deps: Vec<Vec<usize>> = plan.tasks.iter().map(|t| t.after.clone()).collect();
    let (seen, noted) = (Arc::clone(recorded), Arc::clone(&breaches));
    let action = move |r: &Request| -> Result<Outputs, ordo::exec::ActionError> {
        let t = index[&r.task];
        let events = seen.lock().unwrap();
        let started = events.iter().any(|e| {
            matches!(e, Event::Started { task, attempt, undo: false } if *task == t && *attempt == r.attempt)
        });
        if !started {
            noted
                .lock()
                .unwrap()
                .push(format!("{} invoked before its start was recorded", r.task));
        }
        for &d in &deps[t] {
            if !events
                .iter()
                .any(|e| matches!(e, Event::Succeeded { task, .. } if *task == d))
            {
                noted.lock().unwrap().push(format!(
                    "{} invoked before the success of task {d} was recorded",
                    r.task
                ));
            }
        }
        Ok(BTreeMap::from([(
            "ref".to_string(),
            serde_json::Value::String(r.task.clone()),
        )]))
    };
    let mut bindings = Bindings::empty();
    bindings.bind(Pattern::Any, Implementation::Custom(Arc::new(action)), None);
    (bindings, breaches)
}

/// What a run of [`chains`] through a [`Slow`] journal leaves: its result,
/// the events recorded, the breaches seen, and how many events were decided.
struct Ran {
    result: Result<ordo::exec::RunOutcome, ordo::exec::ExecError>,
    recorded: Vec<Event>,
    breaches: Vec<String>,
    decided: usize,
}

fn run_chains(delay_ms: u64, fail_past: Option<usize>) -> Ran {
    let plan = chains();
    let recorded = Recorded::default();
    let (bindings, breaches) = checking(&plan, &recorded);
    let options = ExecOptions {
        jobs: 8,
        ..ExecOptions::default()
    };
    let executor = Executor::new(&plan, &bindings, options).expect("binds");
    let mut journal = Slow {
        recorded: Arc::clone(&recorded),
        delay: Duration::from_millis(delay_ms),
        fail_past,
    };
    let mut decided = 0;
    let result = executor.run(Vec::new(), &mut journal, &mut |_| decided += 1);
    let recorded = recorded.lock().unwrap().clone();
    let breaches = breaches.lock().unwrap().clone();
    Ran {
        result,
        recorded,
        breaches,
        decided,
    }
}

#[test]
fn with_a_writer_no_attempt_starts_before_its_start_and_its_dependencies_are_recorded() {
    let ran = run_chains(3, None);
    let outcome = ran.result.expect("runs");
    assert_eq!(outcome.state, OrderState::Completed);
    assert_eq!(ran.breaches, Vec::<String>::new());
    let events = &ran.recorded;
    // Everything the coordinator decided is recorded, in the order decided.
    assert_eq!(events.len(), ran.decided);
    assert!(matches!(
        events.last(),
        Some(Event::Order {
            state: OrderState::Completed,
            ..
        })
    ));
    let succeeded = |e: &Event| matches!(e, Event::Succeeded { .. });
    assert_eq!(events.iter().filter(|e| succeeded(e)).count(), 20);
}

#[test]
fn a_batch_the_writer_cannot_record_ends_the_run_and_nothing_after_it_is_recorded_or_invoked() {
    let ran = run_chains(1, Some(12));
    let err = ran.result.expect_err("the journal fails");
    assert!(err.to_string().contains("the disk is full"), "{err}");
    // Every invoked attempt had its start recorded, and the records stop
    // before the failed batch: no later batch was recorded after it.
    assert_eq!(ran.breaches, Vec::<String>::new());
    let events = &ran.recorded;
    assert!(events.len() <= 12, "{} events recorded", events.len());
    assert!(!events.iter().any(|e| matches!(
        e,
        Event::Order {
            state: OrderState::Completed,
            ..
        }
    )));
}

/// Notes the thread of every batch it records; polls as [`Polls`].
struct Threads(Arc<Mutex<Vec<std::thread::ThreadId>>>);

impl Journal for Threads {
    fn record(&mut self, order: &str, event: &Event) -> Result<(), JournalError> {
        self.record_all(order, std::slice::from_ref(event))
    }

    fn record_all(&mut self, _order: &str, _events: &[Event]) -> Result<(), JournalError> {
        self.0.lock().unwrap().push(std::thread::current().id());
        Ok(())
    }

    fn poller(&self) -> Option<Box<dyn Journal>> {
        Some(Box::new(Polls))
    }
}

/// The threads that recorded a run of [`chains`] with every action bound
/// to `implementation`.
fn recording_threads(implementation: Implementation) -> Vec<std::thread::ThreadId> {
    let plan = chains();
    let mut bindings = Bindings::empty();
    bindings.bind(Pattern::Any, implementation, None);
    let options = ExecOptions {
        jobs: 8,
        ..ExecOptions::default()
    };
    let executor = Executor::new(&plan, &bindings, options).expect("binds");
    let threads = Arc::new(Mutex::new(Vec::new()));
    let mut journal = Threads(Arc::clone(&threads));
    let outcome = executor
        .run(Vec::new(), &mut journal, &mut |_| {})
        .expect("runs");
    assert_eq!(outcome.state, OrderState::Completed);
    let threads = threads.lock().unwrap().clone();
    assert!(!threads.is_empty());
    threads
}

/// Calls that answer at once are made by the coordinator itself, which
/// has nothing to do while a batch commits: it records in line, on its own
/// thread (here the test's), with no writer's hand-offs in every round.
#[test]
fn a_run_whose_calls_all_answer_at_once_records_in_line() {
    let me = std::thread::current().id();
    let threads = recording_threads(Implementation::Noop);
    assert!(threads.iter().all(|t| *t == me), "{threads:?}");
}

/// With calls on workers, the writer thread records, so that commits
/// overlap with the coordinator's decisions.
#[test]
fn a_run_with_calls_on_workers_records_on_its_writer() {
    let me = std::thread::current().id();
    let action = |r: &Request| -> Result<Outputs, ordo::exec::ActionError> {
        Ok(BTreeMap::from([(
            "ref".to_string(),
            serde_json::Value::String(r.task.clone()),
        )]))
    };
    let threads = recording_threads(Implementation::Custom(Arc::new(action)));
    assert!(threads.iter().all(|t| *t != me), "{threads:?}");
}
