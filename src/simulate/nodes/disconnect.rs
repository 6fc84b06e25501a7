//! Disconnect: the call ends `disconnected`, in a module too.

use super::super::machine::Step;
use super::Kind;
use crate::calls::OutcomeKind;

pub(super) fn build<'a>() -> Kind<'a> {
    Kind::Disconnect
}

pub(super) fn step() -> Step {
    Step::Done(OutcomeKind::Disconnected, None)
}
