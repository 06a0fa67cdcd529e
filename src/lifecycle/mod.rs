//! The order lifecycle: what every adapter (the CLI, the HTTP server) calls
//! to act on orders, over the plan, the executor and the store. Typed errors
//! only; rendering them is the adapter's.

pub mod revise;
