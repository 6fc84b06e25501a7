//! One file per node kind: its control-flow shape and exits, the variables it reads and
//! writes, and its Archy actions. This module only dispatches on the kind. A kind with
//! nothing to say for one pass shares the arm that does nothing (exhaustive matches, so a
//! new kind must be placed in each).

pub(crate) mod archy;
mod data_action;
mod disconnect;
mod end;
mod flow;
mod gather;
mod get_participant_data;
mod if_node;
pub(crate) mod menu;
mod route;
mod say;
mod schedule;
mod set;
mod set_language;
mod set_participant_data;
mod switch;
mod table_lookup;
mod voicemail;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};

pub(super) use flow::{refuse_in_module, refuse_unresolved_ids};

use super::Compiler;
use super::exits::{ExitField, linear_next};
use super::structure::{Block, OUTPUT_LEVELS, Shape};
use super::yaml::Y;
use crate::template::model::{FlowType, Node, NodeKind, VarType};

/// Action `kind` named after node `n`, with one more `field`.
fn named_action(kind: &'static str, n: &Node, field: &'static str, value: Y) -> Y {
    Y::one(
        kind,
        Y::map([("name", Y::s(n.id.as_str())), (field, value)]),
    )
}

/// The control-flow shape and the exits (in output order) of a node; `None` is an exit the
/// template leaves empty. `menus`: the Menu nodes written as `menus` entries.
pub(super) fn shape_and_exits<'f>(
    n: &'f Node,
    ty: FlowType,
    menus: &HashMap<&str, menu::Plan>,
) -> (Shape, Vec<Option<&'f str>>) {
    match &n.kind {
        NodeKind::Say { .. }
        | NodeKind::PlayPrompt { .. }
        | NodeKind::Set { .. }
        | NodeKind::CallModule { .. }
        | NodeKind::SetParticipantData { .. }
        | NodeKind::SetLanguage { .. }
        | NodeKind::GetParticipantData { .. } => linear_next(n),
        NodeKind::Route { .. } => route::shape_and_exits(n),
        NodeKind::Voicemail { .. } => voicemail::shape_and_exits(n),
        NodeKind::Gather { .. } => gather::shape_and_exits(n),
        NodeKind::If { branches, default } | NodeKind::Switch { branches, default } => {
            if_node::shape_and_exits(branches, default)
        }
        NodeKind::Menu { choices, .. } => {
            menu::shape_and_exits(n, choices, menus.get(n.id.as_str()))
        }
        NodeKind::DataAction { on_timeout, .. } => data_action::shape_and_exits(n, on_timeout),
        NodeKind::TableLookup { on_not_found, .. } => {
            table_lookup::shape_and_exits(n, on_not_found)
        }
        NodeKind::Schedule { exits, .. } => schedule::shape_and_exits(n, exits),
        NodeKind::End { .. } => end::shape_and_exits(ty),
        NodeKind::Disconnect => disconnect::shape_and_exits(),
        NodeKind::Archy(a) => archy::shape_and_exits(n, a),
    }
}

/// YAML levels an action of most kinds reaches below its place in the list (the deepest,
/// `callData` with inputs, reaches 8).
const LEAF_LEVELS: usize = 10;

/// How deep node `n` nests (see [`crate::compile::structure::MAX_NESTING`]): the YAML levels
/// its own actions reach, and those below which each of its `exits` exits' actions sit.
pub(super) fn nesting(n: &Node, exits: usize) -> (usize, Vec<usize>) {
    match &n.kind {
        NodeKind::If { branches, .. } => (LEAF_LEVELS, if_node::exit_levels(branches, exits)),
        NodeKind::Switch { .. } => (LEAF_LEVELS, switch::exit_levels(exits)),
        NodeKind::Menu { repeat, .. } => (menu::own_levels(*repeat), switch::exit_levels(exits)),
        NodeKind::Archy(a) => (
            archy::own_levels(a),
            archy::exit_levels(a, exits, OUTPUT_LEVELS),
        ),
        NodeKind::Say { .. }
        | NodeKind::PlayPrompt { .. }
        | NodeKind::Gather { .. }
        | NodeKind::Set { .. }
        | NodeKind::CallModule { .. }
        | NodeKind::DataAction { .. }
        | NodeKind::TableLookup { .. }
        | NodeKind::SetParticipantData { .. }
        | NodeKind::SetLanguage { .. }
        | NodeKind::GetParticipantData { .. }
        | NodeKind::Schedule { .. }
        | NodeKind::Route { .. }
        | NodeKind::Voicemail { .. }
        | NodeKind::End { .. }
        | NodeKind::Disconnect => (LEAF_LEVELS, vec![OUTPUT_LEVELS; exits]),
    }
}

/// Whether node `n`'s last exit is where its other exits' actions go on (see
/// [`archy`]).
pub(super) fn falls_through(n: &Node) -> bool {
    matches!(&n.kind, NodeKind::Archy(a) if !a.exits.is_empty())
}

/// The exit field of exit number `exit` of a node (see [`shape_and_exits`]).
pub(super) fn exit_field(n: &Node, exit: usize) -> ExitField {
    match &n.kind {
        NodeKind::Gather { .. } => gather::exit_field(exit),
        NodeKind::If { branches, .. } => if_node::exit_field(branches, exit),
        NodeKind::Route { .. } => route::exit_field(n),
        NodeKind::Say { .. }
        | NodeKind::PlayPrompt { .. }
        | NodeKind::Set { .. }
        | NodeKind::CallModule { .. }
        | NodeKind::Menu { .. }
        | NodeKind::DataAction { .. }
        | NodeKind::TableLookup { .. }
        | NodeKind::Switch { .. }
        | NodeKind::SetParticipantData { .. }
        | NodeKind::SetLanguage { .. }
        | NodeKind::GetParticipantData { .. }
        | NodeKind::Schedule { .. }
        | NodeKind::Voicemail { .. }
        | NodeKind::End { .. }
        | NodeKind::Archy(_)
        | NodeKind::Disconnect => ExitField::Next,
    }
}

/// Calls `f` with every variable a node reads (texts and expressions).
pub(super) fn reads(n: &Node, f: &mut dyn FnMut(&str)) {
    match &n.kind {
        NodeKind::Say { text, .. } => say::reads(text, f),
        NodeKind::Gather { prompt, .. } => gather::reads(prompt, f),
        NodeKind::Set { assignments } => set::reads(assignments, f),
        NodeKind::If { branches, .. } | NodeKind::Switch { branches, .. } => {
            if_node::reads(branches, f);
        }
        NodeKind::CallModule { inputs, .. } => flow::reads(inputs, f),
        NodeKind::Menu { prompt, .. } => menu::reads(prompt, f),
        NodeKind::DataAction { inputs, .. } => data_action::reads(inputs, f),
        NodeKind::TableLookup { key, .. } => table_lookup::reads(key, f),
        NodeKind::SetParticipantData { attributes } => set_participant_data::reads(attributes, f),
        NodeKind::Archy(a) => archy::reads(a, f),
        NodeKind::SetLanguage { language } => set_language::reads(language, f),
        NodeKind::PlayPrompt { .. }
        | NodeKind::GetParticipantData { .. }
        | NodeKind::Schedule { .. }
        | NodeKind::Voicemail { .. }
        | NodeKind::Route { .. }
        | NodeKind::End { .. }
        | NodeKind::Disconnect => {}
    }
}

/// Calls `w` with every variable node `i` writes, with its type when the node gives one.
pub(super) fn writes(c: &Compiler<'_>, i: usize, w: &mut dyn FnMut(&str, Option<VarType>)) {
    let n = c.nodes[i];
    match &n.kind {
        NodeKind::Gather { into, .. } => gather::writes(into, w),
        NodeKind::Set { assignments } => set::writes(assignments, w),
        NodeKind::CallModule {
            module, outputs, ..
        } => flow::writes(c, module, outputs, w),
        NodeKind::Menu { .. } => menu::writes(c, i, w),
        NodeKind::DataAction { outputs, .. } => data_action::writes(outputs, w),
        NodeKind::TableLookup { outputs, .. } => table_lookup::writes(outputs, w),
        NodeKind::GetParticipantData { attributes } => get_participant_data::writes(attributes, w),
        NodeKind::Archy(a) => archy::writes(a, w),
        NodeKind::Say { .. }
        | NodeKind::PlayPrompt { .. }
        | NodeKind::If { .. }
        | NodeKind::Switch { .. }
        | NodeKind::SetParticipantData { .. }
        | NodeKind::SetLanguage { .. }
        | NodeKind::Schedule { .. }
        | NodeKind::Voicemail { .. }
        | NodeKind::Route { .. }
        | NodeKind::End { .. }
        | NodeKind::Disconnect => {}
    }
}

/// The actions of node `i`, with its branches' blocks.
pub(super) fn emit(c: &mut Compiler<'_>, i: usize, blocks: &[Block], out: &mut Vec<Y>) {
    let n = c.nodes[i];
    match &n.kind {
        NodeKind::Say { text, .. } => say::emit(c, n, text, out),
        NodeKind::PlayPrompt { prompt } => say::emit_prompt(n, prompt, out),
        NodeKind::Gather { .. } => gather::emit(c, n, blocks, out),
        NodeKind::Set { assignments } => set::emit(c, n, assignments, out),
        NodeKind::If { branches, .. } => if_node::emit(c, n, branches, blocks, out),
        NodeKind::Route { .. } => route::emit(c, n, out),
        NodeKind::CallModule { .. } => flow::emit(c, n, out),
        NodeKind::Menu { .. } => menu::emit(c, n, blocks, out),
        NodeKind::DataAction { .. } => data_action::emit(c, n, blocks, out),
        NodeKind::TableLookup { .. } => table_lookup::emit(c, n, blocks, out),
        NodeKind::Switch { branches, .. } => out.push(switch::emit(c, n, branches, blocks)),
        NodeKind::SetParticipantData { attributes } => {
            set_participant_data::emit(c, n, attributes, out);
        }
        NodeKind::GetParticipantData { attributes } => {
            get_participant_data::emit(c, n, attributes, out);
        }
        NodeKind::Schedule { group, .. } => schedule::emit(c, n, group, blocks, out),
        NodeKind::Voicemail { queue } => voicemail::emit(n, queue, out),
        NodeKind::SetLanguage { language } => set_language::emit(c, n, language, out),
        NodeKind::End { .. } => end::emit(c, n, out),
        NodeKind::Disconnect => disconnect::emit(n, out),
        NodeKind::Archy(a) => archy::emit(c, a, blocks, out),
    }
}

/// The Archy declaration kind of every variable a kept Archy action declares with a kind
/// flowsmith does not model (`queueVariable`, `stringCollectionVariable`, ...).
pub(super) fn declared_kinds(nodes: &[&Node]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for n in nodes {
        if let NodeKind::Archy(a) = &n.kind {
            for (v, k) in &a.variables {
                if archy::basic_type(k).is_none() {
                    out.insert(v.clone(), k.clone());
                }
            }
        }
    }
    out
}

/// The outputs a node gives a template called as a module that declares none (see
/// [`crate::compile::effective_outputs`]).
pub(super) fn implicit_outputs(n: &Node, out: &mut BTreeMap<String, VarType>) {
    match &n.kind {
        NodeKind::Set { assignments } => set::implicit_outputs(assignments, out),
        NodeKind::Say { .. }
        | NodeKind::PlayPrompt { .. }
        | NodeKind::Gather { .. }
        | NodeKind::If { .. }
        | NodeKind::Route { .. }
        | NodeKind::CallModule { .. }
        | NodeKind::Menu { .. }
        | NodeKind::DataAction { .. }
        | NodeKind::TableLookup { .. }
        | NodeKind::Switch { .. }
        | NodeKind::SetParticipantData { .. }
        | NodeKind::GetParticipantData { .. }
        | NodeKind::SetLanguage { .. }
        | NodeKind::Schedule { .. }
        | NodeKind::Voicemail { .. }
        | NodeKind::End { .. }
        | NodeKind::Archy(_)
        | NodeKind::Disconnect => {}
    }
}
