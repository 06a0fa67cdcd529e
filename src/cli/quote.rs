//! `ordo quote`: price an order and show its SLA terms.

use super::{not_yet_implemented, Exit, QuoteArgs};

pub(crate) fn quote(_args: &QuoteArgs) -> Exit {
    not_yet_implemented("quote")
}
