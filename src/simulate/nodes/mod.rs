//! One file per node kind: how the kind is pre-resolved (`build`, from the validated model)
//! and what one step of it does (`step`). This file only dispatches.

mod archy;
mod data_action;
mod disconnect;
mod end;
pub(super) mod flow;
mod gather;
mod get_participant_data;
mod if_node;
mod menu;
mod route;
mod say;
mod schedule;
mod set;
mod set_language;
mod set_participant_data;
mod switch;
mod table_lookup;
mod voicemail;

use super::LimitError;
use super::machine::{At, Cx, Frame, Machine, Step};
use super::program::Builder;
use crate::template::model::{Node, NodeKind};

/// A pre-resolved node kind. A Switch runs as an If (first true branch, else the default).
pub(super) enum Kind<'a> {
    Say(say::Say<'a>),
    Gather(gather::Gather<'a>),
    Set(set::Set<'a>),
    If(if_node::If<'a>),
    Route(route::Route<'a>),
    Call(flow::Call<'a>),
    Menu(menu::Menu<'a>),
    DataAction(data_action::DataAction<'a>),
    TableLookup(table_lookup::TableLookup<'a>),
    SetParticipant(set_participant_data::SetParticipant<'a>),
    GetParticipant(get_participant_data::GetParticipant<'a>),
    Schedule(schedule::Schedule<'a>),
    Voicemail(voicemail::Voicemail<'a>),
    Archy(archy::Archy<'a>),
    SetLanguage(set_language::SetLanguage<'a>),
    End,
    Disconnect,
}

pub(super) fn build<'a>(b: &mut Builder<'a, '_>, node: &'a Node) -> Kind<'a> {
    match &node.kind {
        NodeKind::Say { text, .. } => say::build(b, text),
        NodeKind::PlayPrompt { prompt } => say::build_prompt(prompt),
        NodeKind::Gather {
            prompt,
            min_digits,
            max_digits,
            into,
            ..
        } => gather::build(b, prompt, *min_digits, *max_digits, into),
        NodeKind::Set { assignments } => set::build(b, assignments),
        NodeKind::If { branches, default } => if_node::build(b, branches, default),
        NodeKind::Switch { branches, default } => switch::build(b, branches, default),
        NodeKind::Route { queue, .. } => route::build(queue),
        NodeKind::CallModule {
            module,
            inputs,
            outputs,
            ..
        } => flow::build(b, module, inputs, outputs),
        NodeKind::Menu {
            prompt,
            choices,
            repeat,
            ..
        } => menu::build(b, node, prompt, choices, *repeat),
        NodeKind::DataAction {
            integration,
            action,
            inputs,
            outputs,
            on_timeout,
            ..
        } => data_action::build(b, integration, action, inputs, outputs, on_timeout),
        NodeKind::TableLookup {
            table,
            key,
            outputs,
            on_not_found,
        } => table_lookup::build(b, table, key, outputs, on_not_found),
        NodeKind::SetParticipantData { attributes } => set_participant_data::build(b, attributes),
        NodeKind::GetParticipantData { attributes } => get_participant_data::build(b, attributes),
        NodeKind::Schedule { group, exits } => schedule::build(b, group, exits),
        NodeKind::Voicemail { queue } => voicemail::build(queue),
        NodeKind::Archy(a) => archy::build(a),
        NodeKind::SetLanguage { language } => set_language::build(b, language),
        NodeKind::End { .. } => end::build(),
        NodeKind::Disconnect => disconnect::build(),
    }
}

/// One step of the node `at` (node index `cur` of the top frame's flow).
pub(super) fn step<'a>(
    m: &mut Machine<'_, 'a>,
    at: At<'_, 'a>,
    stack: &mut Vec<Frame>,
    cur: usize,
) -> Result<Step, LimitError> {
    let fi = stack.len() - 1;
    let cx = &mut Cx {
        m,
        at,
        vars: &mut stack[fi].vars,
    };
    match &at.node.kind {
        Kind::Say(k) => say::step(cx, k),
        Kind::Gather(k) => gather::step(cx, k),
        Kind::Set(k) => set::step(cx, k),
        Kind::If(k) => if_node::step(cx, k),
        Kind::Route(k) => Ok(route::step(k)),
        Kind::Call(k) => flow::step(m, at, stack, cur, k),
        Kind::Menu(k) => menu::step(cx, k),
        Kind::DataAction(k) => data_action::step(cx, k),
        Kind::TableLookup(k) => table_lookup::step(cx, k),
        Kind::SetParticipant(k) => set_participant_data::step(cx, k),
        Kind::GetParticipant(k) => Ok(get_participant_data::step(cx, k)),
        Kind::Schedule(k) => Ok(schedule::step(cx, k)),
        Kind::Voicemail(k) => Ok(voicemail::step(k)),
        Kind::Archy(k) => archy::step(cx, k),
        Kind::SetLanguage(k) => set_language::step(cx, k),
        Kind::End => Ok(end::step()),
        Kind::Disconnect => Ok(disconnect::step()),
    }
}
