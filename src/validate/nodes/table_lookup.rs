//! TableLookup: look a key up in a data table, with an onNotFound exit.

use serde_json::{Map, Value};

use crate::template::model::NodeKind;
use crate::validate::rules::Rules;
use crate::validate::validator::{PNode, Validator};

pub(super) const RULES: Rules = Rules {
    properties: &["table", "key", "outputs"],
    uncompiled_on_error: Some("dataTableLookup"),
    extra_exit: Some("onNotFound"),
    ..Rules::PLAIN
};

impl Validator<'_> {
    pub(super) fn table_lookup(
        &mut self,
        props: &Map<String, Value>,
        pat: &str,
        p: &mut PNode,
        on_not_found: Option<String>,
    ) -> Option<NodeKind> {
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
