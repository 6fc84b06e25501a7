//! Validation of template documents (spec section 3): every rule yields a [`Finding`] with a
//! JSON Pointer into the submitted document; a document with no errors yields a [`Flow`].
//!
//! The document is walked as raw JSON (not through serde derives) so that every finding has
//! an exact pointer and all findings are collected, not just the first. Parameters are
//! substituted first ([`crate::template::params`]); substitution only replaces string values, so
//! pointers into the instantiated document are pointers into the submitted one.
//!
//! Finding codes (stable): see [`CODES`].

mod catalog;
mod declarations;
mod document;
mod fields;
mod graph;
mod loops;
mod node;
mod nodes;
mod prompts;
mod read_before_write;
mod rules;
mod structure;
mod validator;
mod variables;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

pub use catalog::{Catalog, NoModules, catalog};
pub(crate) use nodes::gather::MAX_DIGITS_LIMIT;
use prompts::prompt_findings;
use structure::structure_finding;
use validator::Validator;

use crate::template::model::NodeKind;
use crate::template::{Finding, Flow, ModuleInterface, params};

/// Every finding code validation can produce.
pub const CODES: &[&str] = &[
    // document shape
    "invalid_type",
    "invalid_value",
    "missing_field",
    "unknown_field",
    "unknown_property",
    "missing_property",
    "invalid_name",
    "invalid_variable_name",
    "invalid_node_id",
    "inputs_on_inbound",
    // parameters
    "invalid_parameter",
    "missing_parameter",
    "parameter_type",
    "undeclared_parameter",
    "unused_parameter",
    // nodes and graph
    "unknown_node_type",
    "id_mismatch",
    "missing_start_node",
    "unknown_start_node",
    "unknown_next_node",
    "conflicting_on_error",
    "on_error_not_compiled",
    "ignored_exit",
    "no_exit",
    "unreachable_node",
    "loop_without_gather",
    "if_without_conditions",
    "gather_digits",
    "invalid_route_queue",
    "invalid_flow_reference",
    "flow_timeout_ignored",
    "module_calls_module",
    "unknown_module_input",
    "unknown_module_output",
    "output_never_set",
    // expressions and variables
    "expression_syntax",
    "expression_type",
    "text_syntax",
    "invalid_set_value",
    "set_type_mismatch",
    "variable_type_conflict",
    "undefined_variable",
    "unverified_variable",
    "read_before_write",
    "unused_initial_value",
    // limits
    "analysis_skipped",
    // the IVR vocabulary
    "duplicate_choice",
    "prompt_variable",
];

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

    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.is_error())
    }
}

/// Store-time validation: parameters are not known yet, so each `{{name}}` is checked with
/// its declared default or a sample value of its type.
pub fn validate(doc: &Value, catalog: &dyn Catalog) -> Report {
    run(doc, &Map::new(), true, catalog)
}

/// Validation of a document instantiated with `params` (a job, a compile or a simulation):
/// a required parameter without a value is an error.
pub fn validate_with_params(
    doc: &Value,
    params: &Map<String, Value>,
    catalog: &dyn Catalog,
) -> Report {
    run(doc, params, false, catalog)
}

fn run(
    doc: &Value,
    params: &Map<String, Value>,
    store_time: bool,
    catalog: &dyn Catalog,
) -> Report {
    let (doc, mut findings) = params::instantiate_borrowed(doc, params, store_time);
    let mut v = Validator {
        findings: Vec::new(),
        catalog,
        hint_work: crate::findings::HINT_WORK,
    };
    let flow = v.document(&doc);
    findings.append(&mut v.findings);
    if let Some(f) = &flow
        && !findings.iter().any(Finding::is_error)
    {
        findings.extend(structure_finding(&doc, f));
        findings.extend(prompt_findings(f));
    }
    let flow = if findings.iter().any(Finding::is_error) {
        None
    } else {
        flow
    };
    Report { findings, flow }
}

/// What other templates need to know about a validated flow when they call it.
pub fn interface(flow: &Flow) -> ModuleInterface {
    ModuleInterface {
        name: flow.name.clone(),
        declared_type: Some(flow.flow_type),
        inputs: flow.inputs.clone(),
        outputs: flow.outputs.clone(),
        calls_modules: flow
            .nodes
            .values()
            .any(|n| matches!(n.kind, NodeKind::CallModule { .. })),
    }
}

/// A catalog of every document that validates on its own, by template name.
pub fn catalog_of<'a>(
    docs: impl IntoIterator<Item = &'a Value>,
) -> BTreeMap<String, ModuleInterface> {
    catalog(
        docs.into_iter()
            .filter_map(|d| validate(d, &NoModules).flow)
            .map(|f| interface(&f)),
    )
}

#[cfg(test)]
mod tests;
