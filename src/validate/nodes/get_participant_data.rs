//! GetParticipantData: read participant attributes into variables.

use super::NodeIn;
use crate::template::model::NodeKind;
use crate::validate::rules::Rules;
use crate::validate::validator::Validator;

pub(super) const RULES: Rules = Rules {
    properties: &["attributes"],
    uncompiled_on_error: Some("getParticipantData"),
    ..Rules::PLAIN
};

impl Validator<'_> {
    pub(super) fn get_participant_data(&mut self, n: NodeIn<'_>) -> Option<NodeKind> {
        let NodeIn { props, pat, p, .. } = n;
        let attributes = self.var_map(props, "attributes", pat, p, false)?;
        let attributes = self.nonempty_attributes(attributes, pat, &p.ty, "{name: variable}")?;
        Some(NodeKind::GetParticipantData { attributes })
    }
}
