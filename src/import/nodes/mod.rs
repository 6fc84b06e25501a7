//! One file per node kind an action can become (named as in `compile/nodes/`); `archy.rs`
//! keeps any other action as written. This module only dispatches on the action type.

mod archy;
mod disconnect;
mod end;
mod say;

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
    let native = match kind {
        "playAudio" => say::import(body, next.as_deref()),
        "disconnect" => disconnect::import(body),
        "endTask" if b.ty() == FlowType::Module => end::import(body),
        _ => None,
    };
    match native {
        Some(n) => n,
        None => ("Archy", archy::import(b, kind, body, at, next)),
    }
}

/// `{"nextNode": next}` when there is a next node.
pub(super) fn on_complete(node: &mut Value, next: Option<&str>) {
    if let (Some(n), Some(o)) = (next, node.as_object_mut()) {
        o.insert("onComplete".into(), serde_json::json!({ "nextNode": n }));
    }
}
