//! `ordo plan`: decompose an order into its task plan (SPEC §5).

use super::order::plan_order;
use super::{write_stdout, Exit, PlanArgs, PlanFormat};
use crate::plan::render;

pub(crate) fn plan(args: &PlanArgs) -> Exit {
    let (plan, _) = match plan_order(
        &args.catalog.path,
        &args.order,
        &args.state.path,
        args.format == PlanFormat::Json,
    ) {
        Ok(p) => p,
        Err(exit) => return exit,
    };
    write_stdout(&match args.format {
        PlanFormat::Text => render::text(&plan),
        PlanFormat::Json => render::json(&plan),
        PlanFormat::Dot => render::dot(&plan),
        PlanFormat::Mermaid => render::mermaid(&plan),
    });
    Exit::Success
}
