//! One file per node kind an action can become (named as in `compile/nodes/`); `archy.rs`
//! keeps any other action as written. This module only dispatches on the action type.

mod archy;
mod disconnect;
mod end;
mod say;

use serde_json::{Map, Value};

use super::actions::Builder;
use crate::template::FlowType;

/// The node for action `kind` (body `body`, at `at`) moving to `next`: `(node type,
/// node JSON without its id)`.
pub(super) fn node(
    b: &mut Builder<'_>,
    kind: &str,
    body: &Map<String, Value>,
    at: &str,
    next: Option<String>,
) -> (&'static str, Value) {
    let native = match kind {
        "playAudio" => say::import(body, next.as_deref()),
        "disconnect" => disconnect::import(body),
        "endTask" if b.ty == FlowType::Module => end::import(body),
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
