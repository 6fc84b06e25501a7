//! One file per node kind an action can become (named as in `compile/nodes/`); `archy.rs`
//! keeps any other action as written. This module only dispatches on the action type.

mod archy;
mod data_action;
mod disconnect;
mod end;
mod flow;
mod gather;
mod get_participant_data;
mod if_node;
pub(super) mod loops;
pub(super) mod menu;
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

use crate::template::FlowType;

/// What a node kind's import needs of the flow being built (the builder in `actions.rs`
/// implements it; the kinds do not import it, so the recursion has no import cycle).
pub(super) trait Lists {
    /// The flow's type.
    fn ty(&self) -> FlowType;
    /// Imports an action list at `at` whose end moves to `cont`; returns where it starts.
    fn list(&mut self, actions: &Value, at: &str, cont: Option<String>) -> Option<String>;
    /// Renames the variables `body` names to their flow variables; lists each with its kind.
    fn rename_variables(
        &self,
        body: &mut Value,
        named: &mut std::collections::BTreeMap<String, String>,
    );
    /// Records a call of the common module `name`.
    fn calls(&mut self, name: &str);
    /// A fresh node id from an action's name (or `kind`), made unique.
    fn fresh_id(&mut self, name: Option<&str>, kind: &str) -> String;
    /// Adds node `id` made of the action `action` at `at`, and reports it as `node_type`.
    fn add(&mut self, id: String, node: Value, at: &str, action: &str, node_type: &str);
    /// Reports the action at `at` as an edge (a jump).
    fn report_edge(&mut self, at: &str, action: &str);
    /// Where a `targetTaskRef` (at `at`) leads: a marker resolved once every task is read.
    fn task_target(&mut self, r: Option<&str>, at: &str) -> Option<String>;
    fn error(&mut self, code: &str, at: &str, message: String);
    /// The flow's declared variables, for expressions.
    fn vars(&self) -> &dyn crate::import::expr::Vars;
    /// Whether the action at `at` may become a native node (an earlier try's native node
    /// there did not validate: it is kept as written).
    fn native_allowed(&self, at: &str) -> bool;
    fn warn(&mut self, code: &str, at: &str, message: String);
    /// A loop kept as written begins: a `loopExit` inside it is kept too.
    fn enter_kept_loop(&mut self);
    /// The innermost loop ends.
    fn leave_loop(&mut self);
}

/// The node for action `kind` (body `body`, at `at`) moving to `next`: `(node type,
/// node JSON without its id)`.
pub(super) fn node(
    b: &mut dyn Lists,
    kind: &str,
    body: &Map<String, Value>,
    at: &str,
    next: Option<String>,
) -> (&'static str, Value) {
    let native = if b.native_allowed(at) {
        match kind {
            "playAudio" => say::import(body, next.as_deref()),
            "disconnect" => disconnect::import(body),
            "endTask" if b.ty() == FlowType::Module => end::import(body),
            "transferToAcd" => route::import(body, next.as_deref()),
            "decision" => if_node::import(b, body, at, next.as_deref()),
            "updateData" => set::import(b, body, next.as_deref()),
            "callData" => data_action::import(b, body, at, next.as_deref()),
            "transferToVoicemail" => voicemail::import(body, next.as_deref()),
            "setLanguage" => set_language::import(body, next.as_deref()),
            "switch" => switch::import(b, body, at, next.as_deref()),
            "dataTableLookup" => table_lookup::import(b, body, at, next.as_deref()),
            "collectInput" => gather::import(b, body, at, next.as_deref()),
            "evaluateScheduleGroup" => schedule::import(b, body, at, next.as_deref()),
            "callCommonModule" => flow::import(b, body, next.as_deref()),
            "setParticipantData" => set_participant_data::import(b, body, next.as_deref()),
            "getParticipantData" => get_participant_data::import(b, body, next.as_deref()),
            _ => None,
        }
    } else {
        None
    };
    match native {
        Some(n) => n,
        None => ("Archy", archy::import(b, kind, body, at, next)),
    }
}

/// `{"noValue": true}` (Archy's way of leaving an input or output unset), beside other keys
/// or not.
pub(super) fn no_value(v: &Value) -> bool {
    v.get("noValue").and_then(Value::as_bool) == Some(true)
}

/// Exactly `{"noValue": true}`.
pub(super) fn only_no_value(v: &Value) -> bool {
    v.as_object().is_some_and(|m| m.len() == 1) && no_value(v)
}

/// An input's text: a literal string, or one declared string variable.
pub(super) fn text(b: &dyn Lists, v: &Value) -> Option<String> {
    let m = v.as_object().filter(|m| m.len() == 1)?;
    match (m.get("lit"), m.get("exp")) {
        (Some(Value::String(s)), None) if !s.contains(['{', '}']) => Some(s.clone()),
        (None, Some(Value::String(e))) => {
            let (name, kind) = b.vars().var(e.trim())?;
            (kind == "stringVariable").then(|| format!("{{{name}}}"))
        }
        _ => None,
    }
}

/// `{"nextNode": next}` when there is a next node.
pub(super) fn on_complete(node: &mut Value, next: Option<&str>) {
    if let (Some(n), Some(o)) = (next, node.as_object_mut()) {
        o.insert("onComplete".into(), serde_json::json!({ "nextNode": n }));
    }
}
