//! `ordo quote`: an order's prices and SLA terms, before it is placed.

use super::outcome::plan_order;
use super::{write_stdout, Exit, QuoteArgs, QuoteFormat};
use crate::plan::render;
use crate::render::sanitize;

pub(crate) fn quote(args: &QuoteArgs) -> Exit {
    let plan = match plan_order(
        &args.catalog.path,
        &args.order,
        &args.state,
        args.format == QuoteFormat::Json,
    ) {
        Ok(p) => p.plan,
        Err(exit) => return exit,
    };
    write_stdout(&match args.format {
        QuoteFormat::Text => sanitize(&render::quote_text(&plan)).into_owned(),
        QuoteFormat::Json => render::quote_json(&plan),
    });
    Exit::Success
}
