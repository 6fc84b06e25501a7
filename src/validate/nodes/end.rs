//! End: end the flow (a module returns to its caller).

use super::NodeIn;
use crate::template::model::NodeKind;
use crate::validate::rules::Rules;
use crate::validate::validator::Validator;

pub(super) const RULES: Rules = Rules {
    properties: &["endType"],
    ignores_exits: Some("remove it"),
    terminal: true,
    ..Rules::PLAIN
};

impl Validator<'_> {
    pub(super) fn end(&mut self, n: NodeIn<'_>) -> Option<NodeKind> {
        let NodeIn { props, pat, .. } = n;
        Some(NodeKind::End {
            end_type: self.opt_str(props, "endType", pat),
        })
    }
}
