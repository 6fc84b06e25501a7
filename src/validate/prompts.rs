//! Prompts that must be literal text because the action they compile to takes no
//! expression.

use crate::template::model::{NodeKind, Prompt};
use crate::template::{Finding, Flow, pointer};

/// Prompts with a variable where the compiled action cannot take one: a `collectInput`'s
/// `inputAudio` is `tts` (literal text) in every published flow, never `exp`
/// (`archy-catalogue.json`), so a Gather prompt, and a Menu prompt that compiles to
/// `collectInput` (modules; see `compile::menu::entries`), must be literal. `playAudio` and a
/// `menus` entry take `exp` [corpus].
pub(super) fn prompt_findings(flow: &Flow) -> Vec<Finding> {
    let mut out = Vec::new();
    let menus = crate::compile::menu::entries(flow, flow.flow_type);
    for n in flow.nodes.values() {
        let (field, text) = match &n.kind {
            NodeKind::Gather { prompt, .. } => ("promptText", prompt),
            NodeKind::Menu {
                prompt: Prompt::Text(t),
                ..
            } if !menus.contains_key(n.id.as_str()) => ("prompt", t),
            _ => continue,
        };
        if let Some(v) = text.vars().next() {
            out.push(
                Finding::error(
                    "prompt_variable",
                    pointer(["draft", "nodes", n.id.as_str(), "properties", field]),
                    format!(
                        "the {} prompt reads {{{}}}: it compiles to Archy's collectInput, whose \
                         prompt is literal text in every published flow (no evidence that \
                         Genesys accepts an expression there)",
                        n.kind.type_name(),
                        v.name()
                    ),
                )
                .with_hint(
                    "say the part with the variable in a Say node just before, and keep this \
                     prompt literal",
                ),
            );
        }
    }
    out
}
