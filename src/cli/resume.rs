//! `ordo resume`: continue an order with the plan stored with it.

use super::{not_yet_implemented, Exit, ResumeArgs};

pub(crate) fn resume(_args: &ResumeArgs) -> Exit {
    not_yet_implemented("resume")
}
