//! GetParticipantData: `getParticipantData` reading each attribute into a variable
//! [corpus]. Archy's action has no failure path, so an onError is not compiled.

use super::named_action;
use crate::compile::yaml::Y;
use crate::compile::{Compiler, lit};
use crate::template::model::{Node, VarRef, VarType};

pub(super) fn writes(attributes: &[(String, VarRef)], w: &mut dyn FnMut(&str, Option<VarType>)) {
    attributes.iter().for_each(|(_, v)| w(v.name(), None));
}

pub(super) fn emit(
    c: &mut Compiler<'_>,
    n: &Node,
    attributes: &[(String, VarRef)],
    out: &mut Vec<Y>,
) {
    let names = c.names();
    let attrs = attributes
        .iter()
        .map(|(k, v)| {
            Y::one(
                "attribute",
                Y::map([
                    ("name", lit(Y::s(k.clone()))),
                    ("variable", Y::s(names.var(v))),
                ]),
            )
        })
        .collect();
    out.push(named_action(
        "getParticipantData",
        n,
        "attributes",
        Y::Seq(attrs),
    ));
}
