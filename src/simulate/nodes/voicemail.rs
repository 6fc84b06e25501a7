//! Voicemail: the call ends transferred to the queue's voicemail.

use super::super::machine::Step;
use super::Kind;
use crate::calls::OutcomeKind;

pub(in crate::simulate) struct Voicemail<'a>(&'a str);

pub(super) fn build(queue: &str) -> Kind<'_> {
    Kind::Voicemail(Voicemail(queue))
}

pub(super) fn step(k: &Voicemail<'_>) -> Step {
    Step::Done(OutcomeKind::Voicemail, Some(k.0.to_owned()))
}
