//! Say: `playAudio` of its text (TTS when literal, else an expression). Archy's playAudio
//! has no failure path, so an onError is not compiled. A PlayPrompt is a Say of a user
//! prompt by name.

use super::named_action;
use crate::compile::yaml::Y;
use crate::compile::{Compiler, unverified};
use crate::template::model::{Node, Text};

pub(super) fn reads(text: &Text, f: &mut dyn FnMut(&str)) {
    text.vars().for_each(|v| f(v.name()));
}

pub(super) fn emit(c: &mut Compiler<'_>, n: &Node, text: &Text, out: &mut Vec<Y>) {
    out.push(named_action("playAudio", n, "audio", c.audio(text)));
}

/// PlayPrompt (a Say of a user prompt): `playAudio` of the prompt by name (see
/// [`crate::compile::unverified::user_prompt`]).
pub(super) fn emit_prompt(n: &Node, prompt: &str, out: &mut Vec<Y>) {
    out.push(named_action(
        "playAudio",
        n,
        "audio",
        Y::one("prompt", Y::s(unverified::user_prompt(prompt))),
    ));
}
