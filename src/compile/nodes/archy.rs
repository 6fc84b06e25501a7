//! Archy: an action flowsmith does not model, compiled back as it was written (an import's
//! pass-through). Each branching output's block goes back in `outputs.<name>.actions`; the
//! last exit is the fall-through (the action's `next`), where the outputs' actions go on
//! when they end. The structurer (`emit_fall_through`) stops every output's block at that
//! node, which then follows the action, so its own block is empty, or, when the flow ends
//! there, is that end. An exit named by a place in the body (`/evaluate/firstTrue/cases/0/
//! case/actions/1`, a `jumpToTask` in one of the action's own lists) has its block written
//! there instead of the jump, the rest of that list dropped (nothing after a jump runs): a
//! jump to a task gives a jump to the task as compiled, and a block that does not close
//! goes on after the action, as the end of that list does.

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

/// The path of a body place an exit names (`/a/0/b`), unescaped; `None` for an output
/// name.
fn place(name: &str) -> Option<Vec<String>> {
    let rest = name.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

/// YAML levels below the action of each exit's actions (the fall-through last): an
/// output's, or a body place's (its list, two levels below the action).
pub(super) fn exit_levels(a: &ArchyAction, exits: usize, output_levels: usize) -> Vec<usize> {
    (0..exits)
        .map(|k| {
            a.exits
                .get(k)
                .and_then(|(name, _)| place(name))
                .map_or(output_levels, |p| p.len() + 1)
        })
        .collect()
}

/// The list holding the item at `path` in `v`, and the item's index.
fn list_of<'y>(v: &'y mut Y, path: &[String]) -> Option<(&'y mut Vec<Y>, usize)> {
    let (last, parents) = path.split_last()?;
    let mut cur = v;
    for seg in parents {
        cur = match cur {
            Y::Map(e) => e
                .iter_mut()
                .find(|(k, _)| k == seg.as_str())
                .map(|(_, x)| x)?,
            Y::Seq(items) => items.get_mut(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    let i = last.parse::<usize>().ok()?;
    match cur {
        Y::Seq(items) if i < items.len() => Some((items, i)),
        _ => None,
    }
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
pub(in crate::compile) fn to_y(v: &serde_json::Value) -> Y {
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
    let mut whole = to_y(&a.body);
    // An import names at most one place per list, none inside another's list: one splice
    // moves no other place.
    let places: Vec<(usize, Vec<String>)> = a
        .exits
        .iter()
        .enumerate()
        .filter_map(|(k, (name, _))| Some((k, place(name)?)))
        .collect();
    for (k, path) in places {
        let actions = c.block_at(blocks, k);
        if let Some((list, i)) = list_of(&mut whole, &path) {
            list.truncate(i);
            list.extend(actions);
        }
    }
    let mut body = match whole {
        Y::Map(e) => e,
        other => vec![("value".into(), other)],
    };
    if a.exits.iter().any(|(name, _)| place(name).is_none()) {
        let mut outs: Vec<(yaml::Key, Y)> = match body.iter().position(|(k, _)| k == "outputs") {
            Some(i) => match body.remove(i).1 {
                Y::Map(e) => e,
                _ => Vec::new(),
            },
            None => Vec::new(),
        };
        for (k, (name, _)) in a.exits.iter().enumerate() {
            if place(name).is_some() {
                continue;
            }
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
