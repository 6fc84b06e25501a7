//! SetParticipantData: sets each attribute to its text, on the call and in the
//! simulation's `participant_data`.

use super::super::LimitError;
use super::super::eval::CSeg;
use super::super::machine::{Cx, Step};
use super::super::program::Builder;
use super::Kind;
use crate::template::model::Text;

pub(in crate::simulate) struct SetParticipant<'a>(Vec<(&'a str, Vec<CSeg<'a>>)>);

pub(super) fn build<'a>(b: &mut Builder<'a, '_>, attributes: &'a [(String, Text)]) -> Kind<'a> {
    Kind::SetParticipant(SetParticipant(
        attributes
            .iter()
            .map(|(k, t)| (k.as_str(), b.text(t)))
            .collect(),
    ))
}

pub(super) fn step(cx: &mut Cx<'_, '_, '_>, k: &SetParticipant<'_>) -> Result<Step, LimitError> {
    for (key, t) in &k.0 {
        let value = cx.text(t)?.to_owned();
        cx.m.participant.insert((*key).to_owned(), value.clone());
        cx.m.participant_set.insert((*key).to_owned(), value);
    }
    Ok(cx.at.next())
}
