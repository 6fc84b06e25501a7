//! Say: a transcript line with the text. A Say with `promptName` (PlayPrompt) plays the
//! named Architect prompt, written `[prompt <name>]`. Its onError is not followed
//! (playAudio has no failure path).

use super::super::LimitError;
use super::super::eval::CSeg;
use super::super::machine::{Cx, Step};
use super::super::program::Builder;
use super::Kind;
use crate::template::model::Text;

pub(in crate::simulate) enum Say<'a> {
    Text(Vec<CSeg<'a>>),
    Prompt(&'a str),
}

pub(super) fn build<'a>(b: &mut Builder<'a, '_>, text: &'a Text) -> Kind<'a> {
    Kind::Say(Say::Text(b.text(text)))
}

pub(super) fn build_prompt(prompt: &str) -> Kind<'_> {
    Kind::Say(Say::Prompt(prompt))
}

pub(super) fn step(cx: &mut Cx<'_, '_, '_>, k: &Say<'_>) -> Result<Step, LimitError> {
    let text = match k {
        Say::Text(t) => cx.text(t)?.to_owned(),
        Say::Prompt(name) => format!("[prompt {name}]"),
    };
    cx.line(Some(text), None)?;
    Ok(cx.at.next())
}
