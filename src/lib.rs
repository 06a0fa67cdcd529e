//! ordo: a declarative order-decomposition rules compiler and executor for
//! telecom service fulfilment.
//!
//! The pipeline, one module per stage:
//! text ─[`syntax`]→ AST ─[`model`]→ Catalog ─[`plan`]→ Plan ─[`exec`]→ order state,
//! kept durable by [`store`]; completed orders leave [`inventory`] behind.

pub mod catalog_test;
pub mod cli;
pub mod compile;
pub mod dag;
pub mod diagnostic;
pub mod exec;
pub mod fmt;
pub mod inventory;
pub mod lifecycle;
pub mod model;
pub mod order;
pub mod plan;
pub mod render;
pub mod server;
pub mod source;
pub mod span;
pub mod store;
pub mod syntax;
pub mod synth;
pub mod tmf;
pub mod value;
pub mod yaml;
