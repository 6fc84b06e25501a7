//! GetParticipantData: read participant attributes into variables.

use serde_json::{Map, Value};

use crate::template::model::NodeKind;
use crate::validate::rules::Rules;
use crate::validate::validator::{PNode, Validator};

pub(super) const RULES: Rules = Rules {
    properties: &["attributes"],
    uncompiled_on_error: Some("getParticipantData"),
    ..Rules::PLAIN
};

impl Validator<'_> {
    pub(super) fn get_participant_data(
        &mut self,
        props: &Map<String, Value>,
        pat: &str,
        p: &mut PNode,
    ) -> Option<NodeKind> {
        let attributes = self.var_map(props, "attributes", pat, p, false)?;
        let attributes = self.nonempty_attributes(
            attributes,
            pat,
            "GetParticipantData nodes need 'attributes': {name: variable}",
        )?;
        Some(NodeKind::GetParticipantData { attributes })
    }
}
