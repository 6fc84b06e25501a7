//! Stored modules as validation sees them: a [`Catalog`] answers, by template name, what a
//! called module takes and hands back.

use std::collections::BTreeMap;

use crate::template::ModuleInterface;

/// Stored modules, looked up by template name while validating or loading a caller.
pub trait Catalog {
    fn module(&self, name: &str) -> Option<ModuleInterface>;
}

/// A catalog of stored modules keyed by template name (what [`Catalog::module`] looks up),
/// e.g. from [`super::interface`] of each stored template's validated flow.
pub fn catalog<I: IntoIterator<Item = ModuleInterface>>(
    modules: I,
) -> BTreeMap<String, ModuleInterface> {
    modules.into_iter().map(|m| (m.name.clone(), m)).collect()
}

/// A catalog that knows no modules (validation of a template on its own).
pub struct NoModules;

impl Catalog for NoModules {
    fn module(&self, _name: &str) -> Option<ModuleInterface> {
        None
    }
}

impl Catalog for BTreeMap<String, ModuleInterface> {
    fn module(&self, name: &str) -> Option<ModuleInterface> {
        self.get(name).cloned()
    }
}
