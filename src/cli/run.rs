//! `ordo run`: plan an order and execute it (SPEC §6).

use super::{not_yet_implemented, Exit, RunArgs};

pub(crate) fn run(_args: &RunArgs) -> Exit {
    not_yet_implemented("run")
}
