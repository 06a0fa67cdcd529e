//! ordo: a declarative order-decomposition rules compiler and executor for
//! telecom service fulfilment.
//!
//! The pipeline, one module per stage:
//! text ─[`syntax`]→ AST ─[`model`]→ Catalog ─[`plan`]→ Plan ─[`exec`]→ order state.

pub mod diagnostic;
pub mod fmt;
pub mod source;
pub mod span;
pub mod syntax;
pub mod value;
