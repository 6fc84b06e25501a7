//! TableLookup: look a key up in a data table, with an onNotFound exit.

use super::NodeIn;
use crate::template::model::NodeKind;
use crate::validate::rules::Rules;
use crate::validate::validator::Validator;

pub(super) const RULES: Rules = Rules {
    properties: &["table", "key", "outputs"],
    extra_exit: Some("onNotFound"),
    ..Rules::PLAIN
};

impl Validator<'_> {
    pub(super) fn table_lookup(&mut self, n: NodeIn<'_>) -> Option<NodeKind> {
        let NodeIn {
            props,
            pat,
            p,
            extra: on_not_found,
            ..
        } = n;
        let table = self.object_name(props, "table", pat, "TableLookup");
        let key = self.text_prop(props, "key", pat, p, true);
        let outputs = self.var_map(props, "outputs", pat, p, true);
        Some(NodeKind::TableLookup {
            table: table?,
            key: key?,
            outputs: outputs?,
            on_not_found,
        })
    }
}
