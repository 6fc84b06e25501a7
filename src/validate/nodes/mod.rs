//! One file per node type: its [`Rules`] and its parser. This file only lists the types and
//! dispatches on the type name; a new node type adds its file, its name to [`NODE_TYPES`]
//! and one arm to each match here.

mod archy;
mod data_action;
mod disconnect;
mod end;
mod flow;
pub(super) mod gather;
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

use serde_json::{Map, Value};

use super::rules::Rules;
use super::validator::{PNode, Validator};
use crate::template::model::NodeKind;

/// The node types of the template language.
pub(super) const NODE_TYPES: [&str; 18] = [
    "Say",
    "Gather",
    "Set",
    "If",
    "Route",
    "Flow",
    "End",
    "Disconnect",
    "Menu",
    "DataAction",
    "TableLookup",
    "Switch",
    "SetParticipantData",
    "GetParticipantData",
    "Schedule",
    "Voicemail",
    "Archy",
    "SetLanguage",
];

/// The rules of node type `ty` (one of [`NODE_TYPES`]).
pub(super) fn rules(ty: &str) -> &'static Rules {
    match ty {
        "Say" => &say::RULES,
        "Gather" => &gather::RULES,
        "Set" => &set::RULES,
        "If" => &if_node::RULES,
        "Route" => &route::RULES,
        "Flow" => &flow::RULES,
        "Menu" => &menu::RULES,
        "DataAction" => &data_action::RULES,
        "TableLookup" => &table_lookup::RULES,
        "Switch" => &switch::RULES,
        "SetParticipantData" => &set_participant_data::RULES,
        "GetParticipantData" => &get_participant_data::RULES,
        "Schedule" => &schedule::RULES,
        "Voicemail" => &voicemail::RULES,
        "Archy" => &archy::RULES,
        "SetLanguage" => &set_language::RULES,
        "End" => &end::RULES,
        "Disconnect" => &disconnect::RULES,
        _ => &Rules::PLAIN,
    }
}

/// A node being parsed: its properties (at pointer `pat`), what the parse records on it,
/// whether its flow is a module, and the target of its type's extra exit.
pub(super) struct NodeIn<'n> {
    props: &'n Map<String, Value>,
    pat: &'n str,
    p: &'n mut PNode,
    is_module: bool,
    extra: Option<String>,
}

impl Validator<'_> {
    /// The model of node `p` from its properties (at `pat`), by its type; `extra` is the
    /// target of the type's extra exit (see [`Rules::extra_exit`]).
    pub(super) fn kind(
        &mut self,
        props: &Map<String, Value>,
        pat: &str,
        p: &mut PNode,
        is_module: bool,
        extra: Option<String>,
    ) -> Option<NodeKind> {
        let parse: fn(&mut Self, NodeIn<'_>) -> Option<NodeKind> = match p.ty.as_str() {
            "Say" => Self::say,
            "Gather" => Self::gather,
            "Set" => Self::set,
            "If" | "Switch" => Self::if_node,
            "Route" => Self::route,
            "Flow" => Self::flow_call,
            "Menu" => Self::menu,
            "DataAction" => Self::data_action,
            "TableLookup" => Self::table_lookup,
            "SetParticipantData" => Self::set_participant_data,
            "GetParticipantData" => Self::get_participant_data,
            "Schedule" => Self::schedule,
            "Voicemail" => Self::voicemail,
            "Archy" => Self::archy,
            "SetLanguage" => Self::set_language,
            "End" => Self::end,
            // Disconnect, the one type left.
            _ => Self::disconnect,
        };
        parse(
            self,
            NodeIn {
                props,
                pat,
                p,
                is_module,
                extra,
            },
        )
    }
}
