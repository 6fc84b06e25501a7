//! Module interfaces: what a caller's validation needs to know about the modules it calls.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{ModuleInterface, NoModules, interface};

/// A catalog of every document that validates on its own, by template name.
pub fn catalog_of<'a>(docs: impl IntoIterator<Item = &'a Value>) -> BTreeMap<String, ModuleInterface> {
    docs.into_iter()
        .filter_map(|d| super::validate(d, &NoModules).flow)
        .map(|f| (f.name.clone(), interface(&f)))
        .collect()
}
