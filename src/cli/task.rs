//! `ordo task claim|release|complete|fail`: a person's change to a work
//! item. Completing or failing one then continues the order here, unless a
//! live runner holds it (that runner takes the item up).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};

use super::outcome::{fail, store_error};
use super::resume::resume_taken;
use super::{Exit, Jobs, ResumeArgs, StateDir};
use crate::exec::TaskState;
use crate::lifecycle::work::{self, GivenOutput, OutputError, WorkError};
use crate::render::Format;
use crate::store::{Store, StoreError, WorkItem};

#[derive(Debug, Args)]
pub struct TaskArgs {
    #[command(subcommand)]
    pub command: TaskCommand,
}

#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Take a work item (refused when someone else holds it).
    Claim(ItemArgs),
    /// Give a claimed work item back to its team.
    Release(ItemArgs),
    /// Complete a work item with its outputs, then continue the order.
    Complete(CompleteArgs),
    /// Fail a work item (the order fails and compensates, unless retryable).
    Fail(FailArgs),
}

#[derive(Debug, Args)]
pub struct ItemArgs {
    #[arg(value_name = "ORDER_ID")]
    pub order: String,
    /// The task id, as `ordo tasks` shows it (`1/survey`).
    #[arg(value_name = "TASK")]
    pub task: String,
    /// Who does it (recorded on the work item and in the order's events).
    #[arg(long = "as", value_name = "USER")]
    pub by: String,
    #[command(flatten)]
    pub state: StateDir,
}

#[derive(Debug, Args)]
pub struct CompleteArgs {
    #[command(flatten)]
    pub item: ItemArgs,
    /// One output, `NAME=VALUE` (repeatable).
    #[arg(long = "output", value_name = "NAME=VALUE")]
    pub outputs: Vec<String>,
    /// The outputs as one JSON object.
    #[arg(long = "outputs", value_name = "FILE.json")]
    pub file: Option<PathBuf>,
    /// No progress on stderr while the order continues.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct FailArgs {
    #[command(flatten)]
    pub item: ItemArgs,
    /// Why (recorded as the task's error).
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// Another work item may follow, as the task's `retry` allows
    /// (default: permanent, the order fails and compensates).
    #[arg(long)]
    pub retryable: bool,
    #[arg(long)]
    pub quiet: bool,
}

pub(crate) fn task(args: &TaskArgs) -> Exit {
    let item = match &args.command {
        TaskCommand::Claim(a) | TaskCommand::Release(a) => a,
        TaskCommand::Complete(c) => &c.item,
        TaskCommand::Fail(f) => &f.item,
    };
    if item.by.trim().is_empty() {
        eprintln!("error: --as needs a user name");
        return Exit::Error;
    }
    let opened = item
        .state
        .location()
        .and_then(|at| crate::lifecycle::open_for(&at, &item.order));
    let store = match opened {
        Ok(s) => s,
        Err(e) => return fail(e, Format::Human),
    };
    let (order, id, by) = (item.order.as_str(), item.task.as_str(), item.by.as_str());
    let (changed, quiet) = match &args.command {
        TaskCommand::Claim(_) => (work::claim(&*store, order, id, by), None),
        TaskCommand::Release(_) => (work::release(&*store, order, id, by), None),
        TaskCommand::Complete(c) => {
            let given = match given_outputs(c) {
                Ok(g) => g,
                Err(e) => return output_errors(id, &[e]),
            };
            (
                work::complete(&*store, order, id, by, &given),
                Some(c.quiet),
            )
        }
        TaskCommand::Fail(f) => (
            work::fail(&*store, order, id, by, &f.reason, f.retryable),
            Some(f.quiet),
        ),
    };
    let changed = match changed {
        Ok(item) => item,
        Err(WorkError::Outputs { errors, .. }) => return output_errors(id, &errors),
        Err(WorkError::Store(e)) => return store_error(e),
    };
    println!(
        "work item {} {}: {}{}",
        changed.order,
        changed.task,
        changed.state.as_str(),
        changed
            .assignee
            .as_deref()
            .map(|a| format!(" by {a}"))
            .unwrap_or_default()
    );
    match quiet {
        Some(quiet) => continue_order(&*store, item, &changed, quiet),
        None => Exit::Success,
    }
}

fn given_outputs(c: &CompleteArgs) -> Result<Vec<GivenOutput>, OutputError> {
    let mut given = work::outputs_from_args(&c.outputs)?;
    if let Some(path) = &c.file {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| OutputError {
            output: String::new(),
            message: format!("cannot read {name}: {e}"),
            at: name.clone(),
            help: "pass a readable JSON file with --outputs".into(),
        })?;
        given.extend(work::outputs_from_json(&name, &text)?);
    }
    Ok(given)
}

/// Every output error, each with its code, where and help; nothing was
/// recorded (exit 1).
fn output_errors(task: &str, errors: &[OutputError]) -> Exit {
    for e in errors {
        eprintln!("error[{}]: {}", e.code().as_str(), e.message);
        eprintln!("  --> {}", e.at);
        eprintln!("  help: {}", e.help);
    }
    eprintln!("nothing was recorded for {task}");
    Exit::Failure
}

/// After a completion or failure: continue the order here, unless a live
/// engine (`ordo serve` on this state folder) or runner holds it, which
/// takes the item up (a runner is awaited briefly, so the command says so).
fn continue_order(store: &dyn Store, item: &ItemArgs, changed: &WorkItem, quiet: bool) -> Exit {
    if let Some(pid) = crate::lifecycle::mark::live_engine(&item.state.path) {
        // The engine notices the order's row change and continues it.
        println!(
            "order {}: the engine of ordo serve (pid {pid}) continues it",
            item.order
        );
        return Exit::Success;
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        match store.acquire_runner(&item.order) {
            Ok(lock) => {
                let stored = match store.load(&item.order) {
                    Ok(s) => s,
                    Err(e) => return store_error(e),
                };
                if stored.state.is_final() {
                    // A runner took the item up and ended the order meanwhile.
                    println!(
                        "order {}: {} (its runner took the work item up)",
                        stored.id,
                        stored.state.as_str()
                    );
                    return if stored.state == crate::exec::OrderState::Completed {
                        Exit::Success
                    } else {
                        Exit::Failure
                    };
                }
                let args = ResumeArgs {
                    order_id: item.order.clone(),
                    bindings: None,
                    jobs: Jobs {
                        n: super::default_jobs(),
                    },
                    state: StateDir {
                        path: item.state.path.clone(),
                        store: item.state.store.clone(),
                    },
                    format: Format::Human,
                    failures: false,
                    quiet,
                    wait: false,
                };
                return resume_taken(store, &lock, stored, &args);
            }
            Err(StoreError::Locked { holder, .. }) => {
                let taken_up = match store.load(&item.order) {
                    Ok(s) => s.plan.task(&changed.task).is_none_or(|t| {
                        let r = &s.records[t];
                        r.state != TaskState::Running || r.attempts != changed.attempt
                    }),
                    Err(e) => return store_error(e),
                };
                if taken_up || Instant::now() >= deadline {
                    let done = if taken_up {
                        "took it up"
                    } else {
                        "takes it up"
                    };
                    println!(
                        "the runner of order {} (pid {} on {}) {done}",
                        item.order, holder.pid, holder.host
                    );
                    return Exit::Success;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return store_error(e),
        }
    }
}
