//! What the CLI and the server both call: the order lifecycle's operations,
//! over the plan, the executor and the store, with typed errors.

pub mod work;
