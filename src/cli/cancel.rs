//! `ordo cancel`: cancel an order and compensate what it has done.

use super::{not_yet_implemented, CancelArgs, Exit};

pub(crate) fn cancel(_args: &CancelArgs) -> Exit {
    not_yet_implemented("cancel")
}
