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
    match args.format {
        // Streamed: a plan of a million tasks is never held as text too.
        // JSON escapes attribute values itself. A closed pipe is no error.
        PlanFormat::Json => stream_stdout(|out| render::write_json(&plan, None, out)),
        PlanFormat::Text => write_stdout(&sanitize(&render::text(&plan))),
        PlanFormat::Dot => write_stdout(&sanitize(&render::dot(&plan))),
        PlanFormat::Mermaid => write_stdout(&sanitize(&render::mermaid(&plan))),
        // These escape every text themselves (XML), terminal characters too.
        PlanFormat::Svg => write_stdout(&render::svg(&plan, None)),
        PlanFormat::Html => write_stdout(&render::html(&plan, None)),
    }
    // The command ends here, and the process with it: the system takes the
    // plan's memory back at once. Freeing it block by block (a few per task)
    // was a fourteenth of `ordo plan` of 100,000 tasks.
    std::mem::forget(plan);
    Exit::Success
}
