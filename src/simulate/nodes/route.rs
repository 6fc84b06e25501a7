//! Route: the call ends `routed` to the queue (its name, or the id the Route names).

use super::super::machine::Step;
use super::Kind;
use crate::calls::OutcomeKind;
use crate::template::model::QueueRef;

pub(in crate::simulate) struct Route<'a>(&'a str);

pub(super) fn build(queue: &QueueRef) -> Kind<'_> {
    Kind::Route(Route(match queue {
        QueueRef::Id(q) | QueueRef::Name(q) => q,
    }))
}

pub(super) fn step(k: &Route<'_>) -> Step {
    Step::Done(OutcomeKind::Routed, Some(k.0.to_owned()))
}
