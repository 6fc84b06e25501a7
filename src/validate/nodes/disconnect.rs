//! Disconnect: hang up.

use super::NodeIn;
use crate::template::model::NodeKind;
use crate::validate::rules::Rules;
use crate::validate::validator::Validator;

pub(super) const RULES: Rules = Rules {
    ignores_exits: Some("remove it"),
    terminal: true,
    leaves_call: true,
    ..Rules::PLAIN
};

impl Validator<'_> {
    pub(super) fn disconnect(&mut self, _: NodeIn<'_>) -> Option<NodeKind> {
        Some(NodeKind::Disconnect)
    }
}
