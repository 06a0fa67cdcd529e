//! Execution of a plan: actions, the executor, and the states it moves
//! orders and tasks through.

pub mod state;

pub use state::{Event, Journal, JournalError, OrderState, TaskRecord, TaskState};
