//! Module interfaces: what a caller's validation needs to know about the modules it calls.

use std::collections::BTreeMap;

use serde_json::Value;

use super::model::NodeKind;
use super::{Flow, ModuleInterface, NoModules};

/// The interface a validated flow offers when it is called as a module.
pub fn interface(flow: &Flow) -> ModuleInterface {
    ModuleInterface {
        name: flow.name.clone(),
        declared_type: Some(flow.flow_type),
        inputs: flow.inputs.clone(),
        outputs: flow.outputs.clone(),
        calls_modules: flow
            .nodes
            .values()
            .any(|n| matches!(n.kind, NodeKind::CallModule { .. })),
    }
}

/// A catalog of every document that validates on its own, by template name.
pub fn catalog_of<'a>(docs: impl IntoIterator<Item = &'a Value>) -> BTreeMap<String, ModuleInterface> {
    docs.into_iter()
        .filter_map(|d| super::validate(d, &NoModules).flow)
        .map(|f| (f.name.clone(), interface(&f)))
        .collect()
}
