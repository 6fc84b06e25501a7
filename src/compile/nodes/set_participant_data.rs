//! SetParticipantData: `setParticipantData` with one `attribute` per entry [corpus].
//! Archy's action has no failure path, so an onError is not compiled.

use super::named_action;
use crate::compile::yaml::Y;
use crate::compile::{Compiler, lit};
use crate::template::model::{Node, Text};

pub(super) fn reads(attributes: &[(String, Text)], f: &mut dyn FnMut(&str)) {
    for (_, t) in attributes {
        t.vars().for_each(|v| f(v.name()));
    }
}

pub(super) fn emit(
    c: &mut Compiler<'_>,
    n: &Node,
    attributes: &[(String, Text)],
    out: &mut Vec<Y>,
) {
    let attrs = attributes
        .iter()
        .map(|(k, t)| {
            Y::one(
                "attribute",
                Y::map([("name", lit(Y::s(k.clone()))), ("value", c.text_value(t))]),
            )
        })
        .collect();
    out.push(named_action(
        "setParticipantData",
        n,
        "attributes",
        Y::Seq(attrs),
    ));
}
