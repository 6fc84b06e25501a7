//! SetParticipantData: sets each attribute to its text, on the call and in the
//! simulation's `participant_data`.

use super::super::LimitError;
use super::super::eval::{CSeg, Vars};
use super::super::machine::{At, Machine, Step};
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

pub(super) fn step(
    m: &mut Machine<'_, '_>,
    at: At<'_, '_>,
    vars: &Vars,
    k: &SetParticipant<'_>,
) -> Result<Step, LimitError> {
    for (key, t) in &k.0 {
        m.text(at, t, vars)?;
        m.participant.insert((*key).to_owned(), m.text_buf.clone());
        m.participant_set
            .insert((*key).to_owned(), m.text_buf.clone());
    }
    Ok(at.next())
}
