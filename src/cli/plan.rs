//! `ordo plan`: decompose an order into its task plan (SPEC §5).

use super::{not_yet_implemented, Exit, PlanArgs};

pub(crate) fn plan(_args: &PlanArgs) -> Exit {
    not_yet_implemented("plan")
}
