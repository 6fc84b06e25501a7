//! SetParticipantData: write participant attributes from text.

use serde_json::{Map, Value};

use crate::template::model::NodeKind;
use crate::validate::rules::Rules;
use crate::validate::validator::{PNode, Validator};

pub(super) const RULES: Rules = Rules {
    properties: &["attributes"],
    uncompiled_on_error: Some("setParticipantData"),
    ..Rules::PLAIN
};

impl Validator<'_> {
    pub(super) fn set_participant_data(
        &mut self,
        props: &Map<String, Value>,
        pat: &str,
        p: &mut PNode,
    ) -> Option<NodeKind> {
        let attributes = self.text_map(props, "attributes", pat, p)?;
        let attributes = self.nonempty_attributes(
            attributes,
            pat,
            "SetParticipantData nodes need 'attributes': {name: text}",
        )?;
        Some(NodeKind::SetParticipantData { attributes })
    }
}
