//! DataAction: `callData` of an integration's data action (`category.<integration>.
//! dataAction.<action>` with its inputs and `successOutputs`) [corpus:
//! architect-flow-public-api-blueprint `archy_flow.yml`]. Exits: `success`, `failure`,
//! `timeout` (the failure path when the template has no onTimeout).

use crate::compile::expr::Names;
use crate::compile::structure::{Block, Shape};
use crate::compile::yaml::{self, Y};
use crate::compile::{Compiler, lit, no_value, outputs};
use crate::template::model::{Node, NodeKind, Text, VarRef, VarType};

pub(super) fn shape_and_exits<'f>(
    n: &'f Node,
    on_timeout: &'f Option<String>,
) -> (Shape, Vec<Option<&'f str>>) {
    (
        Shape::Branch,
        vec![
            n.next.as_deref(),
            n.on_error.as_deref(),
            on_timeout.as_deref().or(n.on_error.as_deref()),
        ],
    )
}

pub(super) fn reads(inputs: &[(String, Text)], f: &mut dyn FnMut(&str)) {
    for (_, t) in inputs {
        t.vars().for_each(|v| f(v.name()));
    }
}

pub(super) fn writes(outputs: &[(String, VarRef)], w: &mut dyn FnMut(&str, Option<VarType>)) {
    outputs.iter().for_each(|(_, v)| w(v.name(), None));
}

/// Outputs `{name: variable}` as `{name: {var: Flow.variable}}` (shared with TableLookup).
pub(super) fn output_vars(names: &Names<'_>, outs: &[(String, VarRef)]) -> Vec<(yaml::Key, Y)> {
    outs.iter()
        .map(|(k, v)| (k.clone().into(), Y::one("var", Y::s(names.var(v)))))
        .collect()
}

pub(super) fn emit(c: &mut Compiler<'_>, n: &Node, blocks: &[Block], out: &mut Vec<Y>) {
    let NodeKind::DataAction {
        integration,
        action,
        inputs,
        outputs: outs,
        timeout_seconds,
        ..
    } = &n.kind
    else {
        return;
    };
    let names = c.names();
    let ins: Vec<(yaml::Key, Y)> = inputs
        .iter()
        .map(|(k, t)| (k.clone().into(), c.text_value(t)))
        .collect();
    let success = output_vars(&names, outs);
    let mut contract: Vec<(yaml::Key, Y)> = vec![("inputs".into(), Y::Map(ins))];
    if !success.is_empty() {
        contract.push(("successOutputs".into(), Y::Map(success)));
    }
    let blocks3 = [
        ("success", c.block_at(blocks, 0)),
        ("failure", c.block_at(blocks, 1)),
        ("timeout", c.block_at(blocks, 2)),
    ];
    // The corpus writes the timeout in minutes; seconds round up.
    let minutes = timeout_seconds.map_or(1, |s| s.div_ceil(60).max(1));
    let mut e: Vec<(yaml::Key, Y)> = vec![
        ("name".into(), Y::s(n.id.as_str())),
        ("processingPrompt".into(), no_value()),
        (
            "timeout".into(),
            lit(Y::one("minutes", Y::Int(minutes.into()))),
        ),
        (
            "category".into(),
            Y::one(
                integration.clone(),
                Y::one("dataAction", Y::one(action.clone(), Y::Map(contract))),
            ),
        ),
    ];
    if let Some(o) = outputs(blocks3.into()) {
        e.push(("outputs".into(), o));
    }
    out.push(Y::one("callData", Y::Map(e)));
}
