//! `ordo plan`: decompose an order into its task plan (SPEC §5).

use super::outcome::plan_order;
use super::{write_stdout, Exit, PlanArgs, PlanFormat};
use crate::plan::render;
use crate::render::sanitize;

pub(crate) fn plan(args: &PlanArgs) -> Exit {
    let plan = match plan_order(
        &args.catalog.path,
        &args.order,
        &args.state,
        args.format == PlanFormat::Json,
    ) {
        Ok(p) => p.plan,
        Err(exit) => return exit,
    };
    // Attribute values reach the text formats as written in the order:
    // shown escaped, never sent to the terminal. JSON escapes them itself.
    write_stdout(&match args.format {
        PlanFormat::Text => sanitize(&render::text(&plan)).into_owned(),
        PlanFormat::Json => render::json(&plan),
        PlanFormat::Dot => sanitize(&render::dot(&plan)).into_owned(),
        PlanFormat::Mermaid => sanitize(&render::mermaid(&plan)).into_owned(),
    });
    Exit::Success
}
