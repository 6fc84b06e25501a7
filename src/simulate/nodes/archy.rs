//! Archy: a kept Archy action the simulator does not run. The call passes through its
//! fall-through exit (`next`), and the transcript says the action was not simulated.

use super::super::LimitError;
use super::super::machine::{Cx, Step};
use super::Kind;
use crate::template::model::ArchyAction;

pub(in crate::simulate) struct Archy<'a>(&'a str);

pub(super) fn build(a: &ArchyAction) -> Kind<'_> {
    Kind::Archy(Archy(a.action.as_str()))
}

pub(super) fn step(cx: &mut Cx<'_, '_, '_>, k: &Archy<'_>) -> Result<Step, LimitError> {
    cx.line(
        Some(format!(
            "not simulated: the Archy action '{}' (kept as written)",
            k.0
        )),
        None,
    )?;
    Ok(cx.at.next())
}
