//! Menu, as compiled: up to `repeat` one-digit collections of the prompt; a failed one
//! leaves "" in `<Menu>_digits`; a digit that is a choice goes to its target, else after
//! the repeats the error exit (or End semantics). An inbound menu compiled as a `menus`
//! entry stores no digits.

use super::super::LimitError;
use super::super::eval::{CSeg, Val};
use super::super::machine::{Cx, Step};
use super::super::program::Builder;
use super::Kind;
use crate::calls::SimInput;
use crate::template::model::{MenuChoice, Node, Prompt, VarRef};

pub(in crate::simulate) struct Menu<'a> {
    /// Text to speech, or a named prompt.
    prompt: Result<Vec<CSeg<'a>>, &'a str>,
    choices: Vec<(char, usize)>,
    repeat: u32,
    /// `<Menu>_digits`; `None` for an inbound menu compiled as a `menus` entry, which
    /// stores no digits.
    into: Option<usize>,
}

pub(super) fn build<'a>(
    b: &mut Builder<'a, '_>,
    node: &Node,
    prompt: &'a Prompt,
    choices: &[MenuChoice],
    repeat: u32,
) -> Kind<'a> {
    Kind::Menu(Menu {
        prompt: match prompt {
            Prompt::Text(t) => Ok(b.text(t)),
            Prompt::Named(n) => Err(n.as_str()),
        },
        choices: choices
            .iter()
            .filter_map(|c| Some((c.digit, b.target(c.target.as_str())?)))
            .collect(),
        repeat,
        into: (!b.menu_entries.contains_key(node.id.as_str()))
            .then(|| b.slot(VarRef::digits_of(&node.id).name())),
    })
}

pub(super) fn step(cx: &mut Cx<'_, '_, '_>, k: &Menu<'_>) -> Result<Step, LimitError> {
    for _ in 0..k.repeat {
        let got = collect(cx, k)?;
        let hit = k
            .choices
            .iter()
            .find(|(c, _)| got.chars().eq(std::iter::once(*c)));
        if let Some(into) = k.into {
            cx.vars[into] = Some(Val::S(got));
        }
        if let Some((_, t)) = hit {
            return Ok(Step::Go(*t));
        }
    }
    Ok(cx.at.on_error())
}

/// Plays the prompt and takes one input: its digit, or "" for none, a timeout or more
/// than one digit.
fn collect(cx: &mut Cx<'_, '_, '_>, k: &Menu<'_>) -> Result<String, LimitError> {
    let text = match &k.prompt {
        Ok(t) => cx.text(t)?.to_owned(),
        Err(name) => format!("[prompt {name}]"),
    };
    Ok(match cx.m.take_input() {
        Some(SimInput::Digits(d)) if d.chars().count() == 1 => {
            cx.line(Some(text), Some(d.clone()))?;
            d.clone()
        }
        Some(SimInput::Digits(d)) => {
            cx.line(Some(text), Some(d.clone()))?;
            String::new()
        }
        Some(SimInput::Timeout) | None => {
            cx.line(Some(text), None)?;
            String::new()
        }
    })
}
