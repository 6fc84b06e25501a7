//! End: a module returns to its caller, the entry flow disconnects (the machine's End
//! semantics, also taken by a node without an exit).

use super::super::machine::Step;
use super::Kind;

pub(super) fn build<'a>() -> Kind<'a> {
    Kind::End
}

pub(super) fn step() -> Step {
    Step::End
}
