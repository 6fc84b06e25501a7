//! SetParticipantData: write participant attributes from text.

use super::NodeIn;
use crate::template::model::NodeKind;
use crate::validate::rules::Rules;
use crate::validate::validator::Validator;

pub(super) const RULES: Rules = Rules {
    properties: &["attributes"],
    uncompiled_on_error: Some("setParticipantData"),
    ..Rules::PLAIN
};

impl Validator<'_> {
    pub(super) fn set_participant_data(&mut self, n: NodeIn<'_>) -> Option<NodeKind> {
        let NodeIn { props, pat, p, .. } = n;
        let attributes = self.text_map(props, "attributes", pat, p)?;
        let attributes = self.nonempty_attributes(attributes, pat, &p.ty, "{name: text}")?;
        Some(NodeKind::SetParticipantData { attributes })
    }
}
