//! Gather: `collectInput` of a fixed or ranged number of digits into `<Node>_digits`.
//! Exits: `success` (onComplete), `failure` (onError).

use crate::compile::exits::ExitField;
use crate::compile::structure::{Block, Shape};
use crate::compile::yaml::{self, Y};
use crate::compile::{Compiler, lit, outputs, seconds};
use crate::template::model::{Node, NodeKind, Text, VarRef, VarType};

pub(super) fn shape_and_exits(n: &Node) -> (Shape, Vec<Option<&str>>) {
    (
        Shape::Branch,
        vec![n.next.as_deref(), n.on_error.as_deref()],
    )
}

pub(super) fn exit_field(exit: usize) -> ExitField {
    if exit == 1 {
        ExitField::OnError
    } else {
        ExitField::Next
    }
}

pub(super) fn reads(prompt: &Text, f: &mut dyn FnMut(&str)) {
    prompt.vars().for_each(|v| f(v.name()));
}

pub(super) fn writes(into: &VarRef, w: &mut dyn FnMut(&str, Option<VarType>)) {
    w(into.name(), Some(VarType::String));
}

pub(super) fn emit(c: &mut Compiler<'_>, n: &Node, blocks: &[Block], out: &mut Vec<Y>) {
    let NodeKind::Gather {
        prompt,
        min_digits,
        max_digits,
        timeout_seconds,
        inter_digit_timeout_seconds,
        into,
        ..
    } = &n.kind
    else {
        return;
    };
    let digits = if min_digits == max_digits {
        Y::one("exact", Y::Int((*max_digits).into()))
    } else {
        Y::one(
            "range",
            Y::map([
                ("min", Y::Int((*min_digits).into())),
                ("max", Y::Int((*max_digits).into())),
            ]),
        )
    };
    let outputs = outputs(vec![
        ("success", c.block_at(blocks, 0)),
        ("failure", c.block_at(blocks, 1)),
    ]);
    let mut e: Vec<(yaml::Key, Y)> = vec![
        ("name".into(), Y::s(n.id.as_str())),
        ("inputData".into(), Y::one("var", Y::s(c.names().var(into)))),
        ("digits".into(), digits),
        (
            "interDigitTimeout".into(),
            seconds(*inter_digit_timeout_seconds),
        ),
        ("noEntryTimeout".into(), seconds(*timeout_seconds)),
        ("inputAudio".into(), c.audio(prompt)),
        ("acceptJustStar".into(), lit(Y::Bool(false))),
        ("acceptJustPound".into(), lit(Y::Bool(false))),
        ("verificationType".into(), Y::s("none")),
    ];
    if let Some(o) = outputs {
        e.push(("outputs".into(), o));
    }
    out.push(Y::one("collectInput", Y::Map(e)));
}
