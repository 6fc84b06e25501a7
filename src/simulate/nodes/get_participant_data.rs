//! GetParticipantData: reads each attribute into its variable (NOT_SET when absent).

use super::super::eval::Val;
use super::super::machine::{Cx, Step};
use super::super::program::Builder;
use super::Kind;
use crate::template::model::VarRef;

pub(in crate::simulate) struct GetParticipant<'a>(Vec<(&'a str, usize)>);

pub(super) fn build<'a>(b: &mut Builder<'a, '_>, attributes: &'a [(String, VarRef)]) -> Kind<'a> {
    Kind::GetParticipant(GetParticipant(
        attributes
            .iter()
            .map(|(k, v)| (k.as_str(), b.slot(v.name())))
            .collect(),
    ))
}

pub(super) fn step(cx: &mut Cx<'_, '_, '_>, k: &GetParticipant<'_>) -> Step {
    for (key, slot) in &k.0 {
        cx.vars[*slot] = cx.m.participant.get(*key).map(|v| Val::S(v.clone()));
    }
    cx.at.next()
}
