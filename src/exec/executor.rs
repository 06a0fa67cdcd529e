//! The executor's public face: an [`Executor`] is a plan with every action
//! resolved to its implementation; [`Executor::run`] takes an order from
//! where its task records say it is to a final (or held) state.
//!
//! How a run proceeds is in [`super::run`]; this module checks the plan,
//! binds its actions, and shapes the outcome.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, FixedOffset};

use super::bindings::{Bindings, Implementation};
use super::builtin::{SimEnv, Simulate, SimulateOptions};
use super::http::Http;
use super::limiter::AttemptLimiter;
use super::plugin::{Exec, LogSink};
use super::state::{Event, Journal, JournalError, OrderState, TaskRecord};
use super::Action;
use crate::model::Type;
use crate::plan::{Plan, TaskIdx};

/// How to run.
#[derive(Clone)]
pub struct ExecOptions {
    /// At most this many attempts run at once (at least 1).
    pub jobs: usize,
    /// Where exec plugins' stderr goes (the order's log); discarded if `None`.
    pub log: Option<LogSink>,
    /// The "run's start" simulated dates are derived from; now if `None`.
    pub started: Option<DateTime<FixedOffset>>,
    /// How often to ask the journal whether the order was cancelled (and,
    /// while manual tasks wait, whether their work items were completed).
    pub cancel_poll: Duration,
    /// The order's version the plan is (requests carry it).
    pub version: u32,
    /// Tasks whose effect a revision made anew, by task id: the version whose
    /// idempotency key (`ORDER/TASK@vN`) it carries. A task not listed
    /// carries its first key, `ORDER/TASK`.
    pub redone_at: BTreeMap<String, u32>,
    /// A bound on attempts shared with other runs (a server's `--jobs`),
    /// honoured together with `jobs` and each binding's `max_concurrent`.
    pub limiter: Option<Arc<AttemptLimiter>>,
    /// When only waits are left (work items, timers): `true` returns a
    /// parked outcome at once (the order stays `in_progress`); `false` stays,
    /// polling the journal and sleeping to the next timer, until the end.
    pub park: bool,
}

impl Default for ExecOptions {
    /// `jobs` is the number of CPUs × 4 (SPEC §6: actions mostly wait on
    /// other systems, so more of them than cores may run).
    fn default() -> ExecOptions {
        ExecOptions {
            jobs: cpus() * 4,
            log: None,
            started: None,
            cancel_poll: Duration::from_millis(100),
            version: 1,
            redone_at: BTreeMap::new(),
            limiter: None,
            park: true,
        }
    }
}

/// The CPUs this process may use, read once: finding out reads the
/// cgroup's files, and a server makes default options for every order.
pub fn cpus() -> usize {
    static CPUS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// A transition could not be recorded; the run stopped without acting on it.
    #[error("cannot record the order's state: {0}")]
    Journal(#[from] JournalError),
    #[error("no binding for the action{} {}", if .0.len() == 1 { "" } else { "s" }, .0.join(", "))]
    Unbound(Vec<String>),
    #[error("the plan cannot be executed: {0}")]
    InvalidPlan(String),
    /// The attempt limiter was closed (a server shutting down): the running
    /// attempts finished and were recorded; the order continues when it is
    /// next advanced.
    #[error("stopped before the order ended: no new attempt may start")]
    Stopped,
    #[error("the task records do not fit the plan: {0}")]
    Records(String),
    /// The process of an attempt a killed runner left would not go away.
    #[error("an earlier attempt of task {task} is still running: {detail}; stop it, then resume")]
    Orphan { task: String, detail: String },
}

/// The end of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    pub state: OrderState,
    /// Why the order did not complete: the failed task, the failed undo, a cancel.
    pub reason: Option<String>,
    /// Every task, in plan order.
    pub tasks: Vec<TaskOutcome>,
    /// The run stopped at a safe point for a revision (the order goes on in
    /// its next version), or the undos of a revision ([`Executor::take_back`])
    /// are all done.
    pub revising: bool,
    /// What a parked order (`in_progress`) waits for; empty otherwise.
    pub waiting: Vec<super::WaitingOn>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskOutcome {
    pub id: String,
    pub record: TaskRecord,
    /// From the first attempt's start to the last attempt's end in this run
    /// (retry delays included); `None` if it did not run in this run.
    pub duration: Option<Duration>,
}

/// One resolved call: the implementation, its concurrency group (the
/// binding it came from), its declared outputs, and the binding's own limit
/// on one attempt.
pub(crate) struct Call {
    pub action: Arc<dyn Action>,
    pub group: usize,
    pub outputs: Arc<[(String, Type)]>,
    pub timeout_ms: Option<u64>,
}

pub(crate) struct TaskCalls {
    pub call: Call,
    /// The team whose people do the task (its `manual` clause or a
    /// `manual` binding): it becomes a work item, `call` is never invoked.
    pub team: Option<String>,
    pub undo: Option<Call>,
}

/// A plan bound to implementations, ready to run (and to run again, for a
/// resume).
pub struct Executor<'p> {
    pub(crate) plan: &'p Plan,
    pub(crate) calls: Vec<TaskCalls>,
    /// Concurrency cap per binding.
    pub(crate) caps: Vec<usize>,
    /// Direct dependencies (deduplicated) and their inverse.
    pub(crate) deps: Vec<Vec<TaskIdx>>,
    pub(crate) dependents: Vec<Vec<TaskIdx>>,
    pub(crate) index: HashMap<&'p str, TaskIdx>,
    pub(crate) jobs: usize,
    pub(crate) cancel_poll: Duration,
    pub(crate) version: u32,
    /// Per task, the version its idempotency key names (see
    /// [`ExecOptions::redone_at`]).
    pub(crate) key_versions: Vec<Option<u32>>,
    pub(crate) limiter: Option<Arc<AttemptLimiter>>,
    pub(crate) park: bool,
}

impl<'p> Executor<'p> {
    /// Checks the plan and binds every action (and undo action) it calls.
    /// An action no binding covers is an error here, before anything runs.
    pub fn new(
        plan: &'p Plan,
        bindings: &Bindings,
        options: ExecOptions,
    ) -> Result<Executor<'p>, ExecError> {
        let (deps, dependents) = check_plan(plan)?;
        let started = options
            .started
            .unwrap_or_else(|| chrono::Local::now().fixed_offset());
        let currency = match plan.price.once.currency.as_str() {
            // ISO 4217's code for "no currency", for catalogs without prices.
            "" => "XXX".to_string(),
            c => c.to_string(),
        };
        let env = Arc::new(SimEnv {
            currency,
            started,
            enums: plan.enums.clone(),
        });
        let mut built: HashMap<usize, Arc<dyn Action>> = HashMap::new();
        let mut unbound = BTreeSet::new();
        let mut manual_undos = Vec::new();
        let mut bind =
            |action: &str, outputs: &[(String, Type)]| -> Option<(Call, Option<String>)> {
                let Some(i) = bindings.resolve_index(action) else {
                    unbound.insert(action.to_string());
                    return None;
                };
                let implementation = &bindings.entries()[i].implementation;
                let team = match implementation {
                    Implementation::Manual { team } => Some(team.clone()),
                    _ => None,
                };
                let action = built
                    .entry(i)
                    .or_insert_with(|| instantiate(implementation, &env, &options.log));
                let call = Call {
                    action: Arc::clone(action),
                    group: i,
                    outputs: Arc::from(outputs.to_vec()),
                    timeout_ms: implementation.timeout_ms(),
                };
                Some((call, team))
            };
        let mut calls = Vec::with_capacity(plan.tasks.len());
        for t in &plan.tasks {
            let bound = match &t.manual {
                Some(team) => Some((manual_call(team, &t.outputs), Some(team.clone()))),
                None => bind(&t.action, &t.outputs),
            };
            let undo = t.undo.as_ref().and_then(|u| bind(&u.action, &u.outputs));
            if undo.as_ref().is_some_and(|(_, team)| team.is_some()) {
                manual_undos.push(t.id.clone());
            }
            if let Some((call, team)) = bound {
                let undo = undo.map(|(call, _)| call);
                calls.push(TaskCalls { call, team, undo });
            }
        }
        if !unbound.is_empty() {
            return Err(ExecError::Unbound(unbound.into_iter().collect()));
        }
        if !manual_undos.is_empty() {
            return Err(ExecError::InvalidPlan(format!(
                "the undo of {} is bound to `manual`: an undo is called, bind it to `exec` or `simulate`",
                manual_undos.join(", ")
            )));
        }
        let caps = bindings
            .entries()
            .iter()
            .map(|b| b.max_concurrent.unwrap_or(usize::MAX))
            .collect();
        let index = plan
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.as_str(), i))
            .collect();
        Ok(Executor {
            plan,
            calls,
            caps,
            deps,
            dependents,
            index,
            jobs: options.jobs.max(1),
            cancel_poll: options.cancel_poll,
            version: options.version,
            key_versions: plan
                .tasks
                .iter()
                .map(|t| options.redone_at.get(&t.id).copied())
                .collect(),
            limiter: options.limiter,
            park: options.park,
        })
    }

    /// Runs the order from `initial` (one record per task, e.g. from the
    /// durable store; empty for a fresh order) until it completes, fails, is
    /// cancelled or is held. Every transition goes through `journal` before
    /// it is acted on, then to `observer` (e.g. a progress display).
    ///
    /// Resuming: `done` and `skipped` tasks are never invoked again; a task
    /// recorded `running` is invoked again with the same idempotency key and
    /// the next attempt number; an interrupted compensation carries on. See
    /// `docs/execution.md`.
    pub fn run(
        &self,
        initial: Vec<TaskRecord>,
        journal: &mut dyn Journal,
        observer: &mut dyn FnMut(&Event),
    ) -> Result<RunOutcome, ExecError> {
        let n = self.plan.tasks.len();
        let records = if initial.is_empty() {
            vec![TaskRecord::default(); n]
        } else if initial.len() == n {
            initial
        } else {
            return Err(ExecError::Records(format!(
                "{} records for a plan of {n} tasks",
                initial.len()
            )));
        };
        super::run::run(self, records, None, journal, observer)
    }

    /// The first half of applying a revision: runs the undo of every task of
    /// `tasks` that is done, in reverse dependency order (an undo runs only
    /// after the undos of the listed tasks that depended on it), and nothing
    /// else. An interrupted undo is invoked again with its key. When every
    /// undo succeeded, the outcome is `in_progress` with
    /// [`RunOutcome::revising`]; a failed undo holds the order.
    pub fn take_back(
        &self,
        records: Vec<TaskRecord>,
        tasks: &[TaskIdx],
        journal: &mut dyn Journal,
        observer: &mut dyn FnMut(&Event),
    ) -> Result<RunOutcome, ExecError> {
        let n = self.plan.tasks.len();
        if records.len() != n {
            return Err(ExecError::Records(format!(
                "{} records for a plan of {n} tasks",
                records.len()
            )));
        }
        let mut only = vec![false; n];
        for &t in tasks {
            if let Some(o) = only.get_mut(t) {
                *o = true;
            }
        }
        super::run::run(self, records, Some(only), journal, observer)
    }

    pub fn plan(&self) -> &Plan {
        self.plan
    }

    /// Whether some call of the plan (a task's or an undo) goes to a worker
    /// thread: one that does not answer at once and is not a person's work.
    /// Without one, the coordinator has nothing to do while a batch of
    /// events commits, so it records them itself rather than through a
    /// writer thread (whose hand-offs would only lengthen every round).
    pub(crate) fn has_workers(&self) -> bool {
        self.calls.iter().any(|c| {
            (c.team.is_none() && !c.call.action.immediate())
                || c.undo.as_ref().is_some_and(|u| !u.action.immediate())
        })
    }
}

fn instantiate(
    implementation: &Implementation,
    env: &Arc<SimEnv>,
    log: &Option<LogSink>,
) -> Arc<dyn Action> {
    match implementation {
        Implementation::Simulate(o) => Arc::new(Simulate::new(o.clone(), Arc::clone(env))),
        Implementation::Noop => {
            Arc::new(Simulate::new(SimulateOptions::default(), Arc::clone(env)))
        }
        Implementation::Exec { program, args, env } => Arc::new(Exec {
            program: program.clone(),
            args: args.clone(),
            env: env.clone(),
            log: log.clone(),
        }),
        Implementation::Http(o) => Arc::new(Http::new(o.clone())),
        Implementation::Custom(a) => Arc::clone(a),
        Implementation::Manual { team } => manual_action(team),
    }
}

/// The call of a manual task: the run opens a work item instead of
/// invoking it, so invoking it is refused (a guard, never reached).
fn manual_call(team: &str, outputs: &[(String, Type)]) -> Call {
    Call {
        action: manual_action(team),
        group: 0,
        outputs: Arc::from(outputs.to_vec()),
        timeout_ms: None,
    }
}

fn manual_action(team: &str) -> Arc<dyn Action> {
    let team = team.to_string();
    Arc::new(move |r: &super::Request| {
        Err(super::ActionError::permanent(format!(
            "{} is done by people of {team}: it becomes a work item and is never called",
            r.action
        )))
    })
}

type Edges = Vec<Vec<TaskIdx>>;

/// The executor may assume a DAG in topological order whose dependencies
/// never point into a later stage: anything else would hang, so it is
/// refused here.
fn check_plan(plan: &Plan) -> Result<(Edges, Edges), ExecError> {
    let n = plan.tasks.len();
    let mut deps = Vec::with_capacity(n);
    let mut dependents = vec![Vec::new(); n];
    for (i, t) in plan.tasks.iter().enumerate() {
        if t.stage >= plan.stages.len().max(1) {
            return Err(ExecError::InvalidPlan(format!(
                "task {} has no stage {}",
                t.id, t.stage
            )));
        }
        let mut mine: Vec<TaskIdx> = t.after.clone();
        mine.sort_unstable();
        mine.dedup();
        for &d in &mine {
            if d >= i {
                return Err(ExecError::InvalidPlan(format!(
                    "task {} depends on a task listed after it (tasks must be in topological order)",
                    t.id
                )));
            }
            if plan.tasks[d].stage > t.stage {
                return Err(ExecError::InvalidPlan(format!(
                    "task {} depends on {}, of a later stage",
                    t.id, plan.tasks[d].id
                )));
            }
            dependents[d].push(i);
        }
        deps.push(mine);
    }
    Ok((deps, dependents))
}
