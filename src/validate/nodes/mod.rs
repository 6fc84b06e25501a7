//! One file per node type: its [`Rules`] and its parser. This file only lists the types and
//! dispatches on the type name; a new node type adds its file, its name to [`NODE_TYPES`]
//! and one arm to each match here.

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
mod set_participant_data;
mod switch;
mod table_lookup;
mod voicemail;

use serde_json::{Map, Value};

use super::rules::Rules;
use super::validator::{PNode, Validator};
use crate::template::model::NodeKind;

/// The node types of the template language.
pub(super) const NODE_TYPES: [&str; 16] = [
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
        "End" => &end::RULES,
        "Disconnect" => &disconnect::RULES,
        _ => &Rules::PLAIN,
    }
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
        match p.ty.as_str() {
            "Say" => self.say(props, pat, p),
            "Gather" => self.gather(props, pat, p),
            "Set" => self.set(props, pat, p),
            "If" | "Switch" => self.if_node(props, pat, p),
            "Route" => self.route(props, pat),
            "Flow" => self.flow_call(props, pat, p, is_module),
            "Menu" => self.menu(props, pat, p),
            "DataAction" => self.data_action(props, pat, p, extra),
            "TableLookup" => self.table_lookup(props, pat, p, extra),
            "SetParticipantData" => self.set_participant_data(props, pat, p),
            "GetParticipantData" => self.get_participant_data(props, pat, p),
            "Schedule" => self.schedule(props, pat, p),
            "Voicemail" => self.voicemail(props, pat),
            "End" => self.end(props, pat),
            // Disconnect, the one type left.
            _ => self.disconnect(),
        }
    }
}
