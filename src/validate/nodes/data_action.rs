//! DataAction: call an integration's action, with an onTimeout exit.

use serde_json::{Map, Value};

use crate::template::model::NodeKind;
use crate::validate::rules::Rules;
use crate::validate::validator::{PNode, Validator};

pub(super) const RULES: Rules = Rules {
    properties: &[
        "integration",
        "action",
        "inputs",
        "outputs",
        "timeoutSeconds",
    ],
    extra_exit: Some("onTimeout"),
    ..Rules::PLAIN
};

impl Validator<'_> {
    pub(super) fn data_action(
        &mut self,
        props: &Map<String, Value>,
        pat: &str,
        p: &mut PNode,
        on_timeout: Option<String>,
    ) -> Option<NodeKind> {
        let integration = self.object_name(props, "integration", pat, "DataAction");
        let action = self.object_name(props, "action", pat, "DataAction");
        let inputs = self.text_map(props, "inputs", pat, p);
        let outputs = self.var_map(props, "outputs", pat, p, true);
        let timeout_seconds = self.opt_seconds(props, "timeoutSeconds", pat);
        Some(NodeKind::DataAction {
            integration: integration?,
            action: action?,
            inputs: inputs?,
            outputs: outputs?,
            timeout_seconds,
            on_timeout,
        })
    }
}
