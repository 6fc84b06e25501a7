//! Archy: an action flowsmith does not model, compiled back as it was written (an import's
//! pass-through). Each branching output's block goes back in `outputs.<name>.actions`; the
//! last exit is the fall-through (the action's `next`), where the outputs' actions go on
//! when they end. The structurer (`emit_fall_through`) stops every output's block at that
//! node, which then follows the action, so its own block is empty, or, when the flow ends
//! there, is that end.

use crate::compile::Compiler;
use crate::compile::exits::linear_next;
use crate::compile::structure::{Block, Shape};
use crate::compile::yaml::{self, Y};
use crate::template::model::{ArchyAction, Node, VarType};

pub(super) fn shape_and_exits<'f>(
    n: &'f Node,
    a: &'f ArchyAction,
) -> (Shape, Vec<Option<&'f str>>) {
    if a.exits.is_empty() {
        return linear_next(n);
    }
    let mut exits: Vec<Option<&str>> = a.exits.iter().map(|(_, t)| Some(t.as_str())).collect();
    exits.push(n.next.as_deref());
    (Shape::Branch, exits)
}

/// YAML levels a kept action reaches: its item, its type, then its body as written.
pub(super) fn own_levels(a: &ArchyAction) -> usize {
    fn depth(v: &serde_json::Value) -> usize {
        match v {
            serde_json::Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
            serde_json::Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }
    2 + depth(&a.body)
}

pub(super) fn reads(a: &ArchyAction, f: &mut dyn FnMut(&str)) {
    a.variables.keys().for_each(|v| f(v));
}

/// The basic type of an Archy declaration kind, if flowsmith models it.
pub fn basic_type(kind: &str) -> Option<VarType> {
    match kind {
        "stringVariable" => Some(VarType::String),
        "integerVariable" => Some(VarType::Integer),
        "booleanVariable" => Some(VarType::Boolean),
        _ => None,
    }
}

pub(super) fn writes(a: &ArchyAction, w: &mut dyn FnMut(&str, Option<VarType>)) {
    for (name, kind) in &a.variables {
        w(name, basic_type(kind));
    }
}

/// A JSON value as YAML, keys in the order written.
pub(super) fn to_y(v: &serde_json::Value) -> Y {
    match v {
        serde_json::Value::Null => Y::Null,
        serde_json::Value::Bool(b) => Y::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Y::Int(i),
            None => Y::Float(n.to_string()),
        },
        serde_json::Value::String(s) => Y::s(s.as_str()),
        serde_json::Value::Array(a) => Y::Seq(a.iter().map(to_y).collect()),
        serde_json::Value::Object(m) => Y::Map(
            m.iter()
                .map(|(k, x)| (yaml::Key::from(k.clone()), to_y(x)))
                .collect(),
        ),
    }
}

pub(super) fn emit(c: &mut Compiler<'_>, a: &ArchyAction, blocks: &[Block], out: &mut Vec<Y>) {
    let mut body = match to_y(&a.body) {
        Y::Map(e) => e,
        other => vec![("value".into(), other)],
    };
    if !a.exits.is_empty() {
        let mut outs: Vec<(yaml::Key, Y)> = match body.iter().position(|(k, _)| k == "outputs") {
            Some(i) => match body.remove(i).1 {
                Y::Map(e) => e,
                _ => Vec::new(),
            },
            None => Vec::new(),
        };
        for (k, (name, _)) in a.exits.iter().enumerate() {
            let actions = c.block_at(blocks, k);
            let entry = match outs.iter_mut().find(|(o, _)| o == name.as_str()) {
                Some((_, e)) => e,
                None => {
                    outs.push((name.clone().into(), Y::Map(Vec::new())));
                    match outs.last_mut() {
                        Some((_, e)) => e,
                        None => continue,
                    }
                }
            };
            if let Y::Map(fields) = entry {
                fields.retain(|(f, _)| f != "actions");
                if !actions.is_empty() {
                    fields.push(("actions".into(), Y::Seq(actions)));
                }
            }
        }
        // An output left with nothing (its actions were all it had) is not written.
        outs.retain(|(_, e)| !matches!(e, Y::Map(f) if f.is_empty()));
        if !outs.is_empty() {
            body.push(("outputs".into(), Y::Map(outs)));
        }
    }
    out.push(Y::one(a.action.clone(), Y::Map(body)));
    if !a.exits.is_empty() {
        let fall_through = c.block_at(blocks, a.exits.len());
        out.extend(fall_through);
    }
}
