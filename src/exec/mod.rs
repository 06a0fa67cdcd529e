//! Execution of a plan (SPEC §6): actions and their bindings, the executor,
//! and the states it moves orders and tasks through.
//!
//! ```no_run
//! use ordo::exec::{Bindings, ExecOptions, Executor, MemoryJournal};
//! # fn plan() -> ordo::plan::Plan {
//! #     let json = std::fs::read_to_string("plan.json").expect("a stored plan");
//! #     serde_json::from_str(&json).expect("a plan")
//! # }
//! let plan = plan();
//! let executor = Executor::new(&plan, &Bindings::default(), ExecOptions::default())?;
//! let mut journal = MemoryJournal::new();
//! let outcome = executor.run(Vec::new(), &mut journal, &mut |_event| {})?;
//! println!("{}", ordo::exec::summary(&plan, &outcome));
//! # Ok::<(), ordo::exec::ExecError>(())
//! ```

pub mod action;
pub mod bindings;
mod builtin;
#[cfg(target_os = "linux")]
mod child;
mod executor;
mod frontier;
mod http;
pub mod journal;
mod limiter;
mod paint;
mod plugin;
pub(crate) mod pool;
mod process;
mod report;
mod retry;
mod run;
pub mod state;

pub use action::{Action, ActionError, Outputs, ProcessLog, Request};
pub use bindings::{
    Binding, Bindings, BindingsError, BindingsRecord, Implementation, Pattern, PluginEnv, Written,
};
pub use builtin::SimulateOptions;
pub use executor::{ExecError, ExecOptions, Executor, RunOutcome, TaskOutcome};
pub use http::{HttpOptions, IDEMPOTENCY_KEY};
pub use journal::{JsonLinesJournal, MemoryJournal, Tee};
pub use limiter::AttemptLimiter;
pub use paint::paint_state;
pub use plugin::{LogSink, EXIT_RETRYABLE};
pub use report::{summary, summary_with, Progress, SummaryOptions};
pub use state::{
    replay, Event, Journal, JournalError, OrderState, Process, TaskRecord, TaskState, WaitingOn,
    WorkChange, WorkOutcome, WorkResult,
};
