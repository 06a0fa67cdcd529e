//! `ordo status`: the state of one order, or a list of orders.

use super::{not_yet_implemented, Exit, StatusArgs};

pub(crate) fn status(_args: &StatusArgs) -> Exit {
    not_yet_implemented("status")
}
