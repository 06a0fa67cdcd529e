//! `ordo fmt`: the canonical layout of .ordo files (SPEC §7.3).

use super::{not_yet_implemented, Exit, FmtArgs};

pub(crate) fn fmt(_args: &FmtArgs) -> Exit {
    not_yet_implemented("fmt")
}
