//! Whether a module's graph has a structured Archy form: validation asks the compiler
//! (`compile::structure`) and points the finding at the edge that breaks it.

use serde_json::Value;

use crate::compile::{CompileError, ExitField, exit_field, structured};
use crate::template::{Finding, Flow, FlowType, pointer};

/// A module whose graph has no structured Archy form (see `compile::structure`): an error
/// pointing at the edge that causes it.
pub(super) fn structure_finding(doc: &Value, flow: &Flow) -> Option<Finding> {
    if flow.flow_type != FlowType::Module {
        return None;
    }
    let Err(CompileError::NotStructurable { node, exit, reason }) =
        structured(flow, FlowType::Module)
    else {
        return None;
    };
    let n = flow.nodes.get(&node)?;
    let base = ["draft", "nodes", node.as_str()];
    let p = match exit_field(n, exit) {
        ExitField::Next => pointer(base.iter().copied().chain(["onComplete", "nextNode"])),
        ExitField::OnError => {
            let on_error = pointer(base.iter().copied().chain(["onError", "nextNode"]));
            if doc.pointer(&on_error).is_some_and(|v| !v.is_null()) {
                on_error
            } else {
                pointer(base.iter().copied().chain(["onComplete", "onError"]))
            }
        }
        ExitField::Condition(k) => {
            let k = k.to_string();
            pointer(base.iter().copied().chain([
                "properties",
                "conditions",
                k.as_str(),
                "nextNode",
            ]))
        }
        ExitField::Default => pointer(
            base.iter()
                .copied()
                .chain(["properties", "defaultNextNode"]),
        ),
    };
    Some(
        Finding::error(
            "module_not_structurable",
            p,
            format!(
                "the module has no structured Archy form at node '{node}': {}",
                reason.message()
            ),
        )
        .with_hint(reason.hint()),
    )
}
