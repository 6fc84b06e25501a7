//! Gather: plays its prompt (a transcript line with the digits entered) and takes the next
//! input: digits within min..max go to `next` with `<Node>_digits` set; no input left,
//! `timeout` or another length take onError (Archy's `collectInput` failure output), and
//! without one the flow ends there as at an End.

use super::super::LimitError;
use super::super::eval::{CSeg, Val};
use super::super::machine::{Cx, Step};
use super::super::program::Builder;
use super::Kind;
use crate::calls::SimInput;
use crate::template::model::{Text, VarRef};

pub(in crate::simulate) struct Gather<'a> {
    prompt: Vec<CSeg<'a>>,
    min: usize,
    max: usize,
    into: usize,
}

pub(super) fn build<'a>(
    b: &mut Builder<'a, '_>,
    prompt: &'a Text,
    min_digits: u32,
    max_digits: u32,
    into: &VarRef,
) -> Kind<'a> {
    Kind::Gather(Gather {
        prompt: b.text(prompt),
        min: min_digits as usize,
        max: max_digits as usize,
        into: b.slot(into.name()),
    })
}

pub(super) fn step(cx: &mut Cx<'_, '_, '_>, k: &Gather<'_>) -> Result<Step, LimitError> {
    let text = cx.text(&k.prompt)?.to_owned();
    Ok(match cx.m.take_input() {
        Some(SimInput::Digits(d)) => {
            cx.line(Some(text), Some(d.clone()))?;
            if (k.min..=k.max).contains(&d.chars().count()) {
                cx.vars[k.into] = Some(Val::S(d.clone()));
                cx.at.next()
            } else {
                // Another length is a failed collection: the failure output.
                cx.at.on_error()
            }
        }
        Some(SimInput::Timeout) | None => {
            cx.line(Some(text), None)?;
            cx.at.on_error()
        }
    })
}
