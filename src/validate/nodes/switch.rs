//! Switch: an If whose branches are `cases` (see [`super::if_node`]).

use serde_json::{Map, Value};

use crate::template::model::NodeKind;
use crate::validate::rules::Rules;
use crate::validate::validator::{PNode, Validator};

pub(super) const RULES: Rules = Rules {
    properties: &["cases", "defaultNextNode"],
    ignores_exits: Some("use the conditions' nextNode and defaultNextNode"),
    ..Rules::PLAIN
};

impl Validator<'_> {
    pub(super) fn switch(
        &mut self,
        props: &Map<String, Value>,
        pat: &str,
        p: &mut PNode,
    ) -> Option<NodeKind> {
        let (branches, default) = self.conditions(props, pat, p)?;
        Some(NodeKind::Switch { branches, default })
    }
}
