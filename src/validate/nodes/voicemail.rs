//! Voicemail: leave a message for a queue (ends the flow).

use super::NodeIn;
use crate::template::model::NodeKind;
use crate::validate::rules::Rules;
use crate::validate::validator::Validator;

pub(super) const RULES: Rules = Rules {
    properties: &["queue"],
    terminal: true,
    ..Rules::PLAIN
};

impl Validator<'_> {
    pub(super) fn voicemail(&mut self, n: NodeIn<'_>) -> Option<NodeKind> {
        let NodeIn { props, pat, .. } = n;
        Some(NodeKind::Voicemail {
            queue: self.object_name(props, "queue", pat, "Voicemail")?,
        })
    }
}
