//! TableLookup: `dataTableLookup` of a row by key into variables (`foundOutputs`)
//! [corpus: design-architect-flow-data-actions-for-resiliency `CacheExampleFlow.yaml`].
//! Exits: `found` (onComplete), `notFound`, and `failure` (onError, when the template has
//! one) [corpus: the voice module `cx-as-code-export__2445093_Lang-COMMONMODULE.yaml`
//! writes `outputs: {found, notFound, failure}`; [scripting] `ArchActionDataTableLookup`
//! extends `ArchBaseActionWithOutputsFoundNotFoundFailure`].

use super::data_action::output_vars;
pub(super) use super::data_action::writes;
use crate::compile::structure::{Block, Shape};
use crate::compile::yaml::{self, Y};
use crate::compile::{Compiler, outputs};
use crate::template::model::{Node, NodeKind, Text};

pub(super) fn shape_and_exits<'f>(
    n: &'f Node,
    on_not_found: &'f Option<String>,
) -> (Shape, Vec<Option<&'f str>>) {
    let mut exits = vec![n.next.as_deref(), on_not_found.as_deref()];
    if n.on_error.is_some() {
        exits.push(n.on_error.as_deref());
    }
    (Shape::Branch, exits)
}

pub(super) fn reads(key: &Text, f: &mut dyn FnMut(&str)) {
    key.vars().for_each(|v| f(v.name()));
}

pub(super) fn emit(c: &mut Compiler<'_>, n: &Node, blocks: &[Block], out: &mut Vec<Y>) {
    let NodeKind::TableLookup {
        table,
        key,
        outputs: outs,
        ..
    } = &n.kind
    else {
        return;
    };
    let names = c.names();
    let found = output_vars(&names, outs);
    let key_exp = Y::one("exp", Y::s(names.text(key)));
    let mut e: Vec<(yaml::Key, Y)> = vec![
        ("name".into(), Y::s(n.id.as_str())),
        ("lookupValue".into(), key_exp),
        (
            "dataTable".into(),
            Y::one(table.clone(), Y::one("foundOutputs", Y::Map(found))),
        ),
    ];
    let mut b = vec![
        ("found", c.block_at(blocks, 0)),
        ("notFound", c.block_at(blocks, 1)),
    ];
    if n.on_error.is_some() {
        b.push(("failure", c.block_at(blocks, 2)));
    }
    if let Some(o) = outputs(b) {
        e.push(("outputs".into(), o));
    }
    out.push(Y::one("dataTableLookup", Y::Map(e)));
}
