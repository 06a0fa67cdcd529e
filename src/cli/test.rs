//! `ordo test`: run the catalog's tests (SPEC §7.2).

use super::{not_yet_implemented, Exit, TestArgs};

pub(crate) fn test(_args: &TestArgs) -> Exit {
    not_yet_implemented("test")
}
