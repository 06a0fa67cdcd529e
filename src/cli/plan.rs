//! `ordo plan`: decompose an order into its task plan (SPEC §5).

use super::outcome::plan_order;
use super::{stream_stdout, write_stdout, Exit, PlanArgs, PlanFormat};
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
    if let Some(order) = &args.revise {
        return super::revise::plan_revision(args, order, &plan);
    }
    // Attribute values reach the text formats as written in the order:
    // shown escaped, never sent to the terminal.
    write_stdout(&match args.format {
        PlanFormat::Text => sanitize(&render::text(&plan)).into_owned(),
        // Streamed: a plan of a million tasks is never held as text too.
        // JSON escapes attribute values itself. A closed pipe is no error.
        PlanFormat::Json => {
            stream_stdout(|out| render::write_json(&plan, None, out));
            return Exit::Success;
        }
        PlanFormat::Dot => sanitize(&render::dot(&plan)).into_owned(),
        PlanFormat::Mermaid => sanitize(&render::mermaid(&plan)).into_owned(),
        // These escape every text themselves (XML), terminal characters too.
        PlanFormat::Svg => render::svg(&plan, None),
        PlanFormat::Html => render::html(&plan, None),
    });
    Exit::Success
}
