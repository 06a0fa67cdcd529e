//! What `run` and `resume` share: bindings in, executor run, summary out.

use std::path::Path;
use std::sync::{Arc, Mutex};

use super::state::{events_log, store_error};
use super::{print_diagnostics, write_stdout, Exit};
use crate::exec::{
    summary_with, Bindings, BindingsError, BindingsRecord, ExecOptions, Executor, Journal, LogSink,
    OrderState, Progress, SummaryOptions, TaskRecord, Tee,
};
use crate::plan::Plan;
use crate::render::Format;
use crate::source::Sources;
use crate::store::{RunnerLock, Store};

/// Reads the bindings file given on the command line into what the store
/// keeps; without one, every action is simulated.
pub(crate) fn read_bindings(path: Option<&Path>) -> Result<BindingsRecord, Exit> {
    BindingsRecord::read_or_simulate(path).map_err(|e| {
        eprintln!("error: {e}");
        Exit::Error
    })
}

/// The bindings of `record`, checked against `plan` before anything runs
/// (`docs/execution.md`, "Checked before anything runs"): every mistake in
/// them, and every reason they cannot run this plan, is printed in `format`
/// (exit 1).
pub(crate) fn checked_bindings(
    record: &BindingsRecord,
    plan: &Plan,
    format: Format,
) -> Result<Bindings, Exit> {
    let mut sources = Sources::new();
    let bindings = match Bindings::from_record(record, &mut sources) {
        Ok(b) => b,
        Err(BindingsError::Invalid(diags)) => {
            print_diagnostics(&diags, &sources, format);
            return Err(Exit::Failure);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return Err(Exit::Error);
        }
    };
    let diags = bindings.check(plan);
    if diags.has_errors() {
        print_diagnostics(&diags, &sources, format);
        return Err(Exit::Failure);
    }
    Ok(bindings)
}

/// The log exec plugins' stderr goes to: `STATE/logs/ORDER.log`.
pub(crate) fn order_log(state: &Path, order: &str) -> Result<LogSink, Exit> {
    let dir = state.join("logs");
    let open = || {
        std::fs::create_dir_all(&dir)?;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("{order}.log")))
    };
    match open() {
        Ok(file) => Ok(Arc::new(Mutex::new(file))),
        Err(e) => {
            eprintln!(
                "error: cannot open the order's log in {}: {e}",
                dir.display()
            );
            Err(Exit::Error)
        }
    }
}

pub(crate) struct Run<'a> {
    pub plan: &'a Plan,
    pub bindings: &'a Bindings,
    pub jobs: usize,
    pub quiet: bool,
    /// Only the tasks that need a look in the summary (`--failures`).
    pub failures: bool,
    pub log: LogSink,
    pub initial: Vec<TaskRecord>,
}

/// What `run`, `resume` and `cancel` share once they hold the order's runner
/// lock: the plugin log, the events log, the durable journal, the run.
pub(crate) struct Durable<'a> {
    pub store: &'a dyn Store,
    pub lock: &'a RunnerLock,
    pub state: &'a Path,
    pub plan: &'a Plan,
    pub initial: Vec<TaskRecord>,
    pub bindings: &'a Bindings,
    pub jobs: usize,
    pub quiet: bool,
    pub failures: bool,
}

/// Executes an order whose runner lock is held, recording every transition
/// in the store (first: it is durable before the events log shows it) and
/// in `STATE/events/ORDER.jsonl`.
pub(crate) fn execute_durable(d: Durable<'_>) -> Exit {
    let log = match order_log(d.state, &d.plan.order) {
        Ok(l) => l,
        Err(exit) => return exit,
    };
    let events_log = match events_log(d.state, d.plan) {
        Ok(j) => j,
        Err(exit) => return exit,
    };
    let durable = match d.store.journal(d.lock) {
        Ok(j) => j,
        Err(e) => return store_error(e),
    };
    let run = Run {
        plan: d.plan,
        bindings: d.bindings,
        jobs: d.jobs,
        quiet: d.quiet,
        failures: d.failures,
        log,
        initial: d.initial,
    };
    execute(run, &mut Tee(durable, events_log))
}

/// Executes the plan through `journal`, prints the summary, and gives the
/// exit status: 0 when the order completed, 1 otherwise.
pub(crate) fn execute(run: Run<'_>, journal: &mut dyn Journal) -> Exit {
    let options = ExecOptions {
        jobs: run.jobs,
        log: Some(run.log),
        ..ExecOptions::default()
    };
    let executor = match Executor::new(run.plan, run.bindings, options) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Failure;
        }
    };
    let mut progress = Progress::new(run.plan, run.quiet);
    progress.resuming(&run.initial);
    let outcome = match executor.run(run.initial, journal, &mut |event| progress.observe(event)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Error;
        }
    };
    let options = SummaryOptions {
        failures: run.failures,
        color: super::render_options(&std::io::stdout()).color,
    };
    write_stdout(&summary_with(run.plan, &outcome, &options));
    if outcome.state == OrderState::Completed {
        Exit::Success
    } else {
        Exit::Failure
    }
}
