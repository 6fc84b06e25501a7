//! DataAction: call an integration's action, with an onTimeout exit.

use super::NodeIn;
use crate::template::model::NodeKind;
use crate::validate::rules::Rules;
use crate::validate::validator::Validator;

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
    pub(super) fn data_action(&mut self, n: NodeIn<'_>) -> Option<NodeKind> {
        let NodeIn {
            props,
            pat,
            p,
            extra: on_timeout,
            ..
        } = n;
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
