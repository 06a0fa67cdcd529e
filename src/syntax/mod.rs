//! Text to AST: the pest grammar (`grammar/ordo.pest`), the tree builder, and
//! the translation of pest's errors into diagnostics a product manager reads.

pub mod ast;
mod errors;
mod parser;

pub use parser::{
    parse_interpolation, parse_module, parse_module_recovering, Interpolated, Segment,
};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/ordo.pest"]
pub(crate) struct OrdoParser;
