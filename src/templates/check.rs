//! Checking a template against the modules it calls: the one place that runs the validator.
//!
//! Every caller (the API, the job planner, the offline CLI) gathers the modules a document
//! may call into [`Modules`] and checks the document with [`Modules::check`]; only where
//! the modules come from differs (stored templates, a plan's module specs, files).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::template::model::{ModuleRef, NodeKind};
use crate::template::{self, Finding, Flow, ModuleInterface};
/// The validator's answer, as the use cases hand it on.
pub(crate) use crate::validate::Report;

/// The parameter values a check instantiates a document with.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Params<'a> {
    /// Store time (and `flowsmith validate`): each `{{name}}` is checked with its declared
    /// default or a sample value of its type.
    Samples,
    /// A job, a compile or a simulation: these values; a required one missing is an error.
    Given(&'a Map<String, Value>),
}

/// The modules a document may call: their validated flows (when known) and their
/// interfaces, the catalog the validator looks Flow nodes up in.
#[derive(Debug, Default)]
pub(crate) struct Modules {
    flows: BTreeMap<String, Flow>,
    interfaces: BTreeMap<String, ModuleInterface>,
}

impl Modules {
    /// Modules known only by their interfaces (a job step's modules, recorded or planned).
    pub(crate) fn from_interfaces(
        interfaces: impl IntoIterator<Item = (String, ModuleInterface)>,
    ) -> Modules {
        Modules {
            flows: BTreeMap::new(),
            interfaces: interfaces.into_iter().collect(),
        }
    }

    /// Adds a validated module under the template name callers use.
    pub(crate) fn add(&mut self, name: String, flow: Flow) {
        self.interfaces
            .insert(name.clone(), crate::validate::interface(&flow));
        self.flows.insert(name, flow);
    }

    /// Adds the interface of a validated module, without keeping its flow.
    pub(crate) fn add_interface_of(&mut self, name: String, flow: &Flow) {
        self.interfaces
            .insert(name, crate::validate::interface(flow));
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.interfaces.contains_key(name)
    }

    /// Validates `doc` against these modules.
    pub(crate) fn check(&self, doc: &Value, params: Params<'_>) -> Report {
        match params {
            Params::Samples => crate::validate::validate(doc, &self.interfaces),
            Params::Given(p) => crate::validate::validate_with_params(doc, p, &self.interfaces),
        }
    }

    /// The validated flows, by template name.
    pub(crate) fn into_flows(self) -> BTreeMap<String, Flow> {
        self.flows
    }
}

/// A validated flow and its warnings, or every finding of a report that has errors (or,
/// which the validator never does, no flow).
pub(crate) fn accepted(report: Report) -> Result<(Flow, Vec<Finding>), Vec<Finding>> {
    match report.flow {
        Some(flow) if !report.has_errors() => Ok((flow, report.findings)),
        _ => Err(report.findings),
    }
}

/// What to do with a called module that does not validate on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BadModule {
    /// Refuse the caller with the module's findings (compiling, drawing, simulating: the
    /// module's flow is needed).
    Refuse,
    /// Leave it out of the catalog: the caller's Flow node then names an unknown module
    /// (storing or validating a document).
    Skip,
}

/// Checks `doc` against the modules it calls (`module_docs`, by template name): each module
/// is validated on its own first (with the parameters it knows, when `params` are given),
/// and those that validate are the catalog of `doc`'s check. Returns the caller's report
/// and the modules; `Err` holds the findings of a module refused by [`BadModule::Refuse`],
/// each message naming the module.
pub(crate) fn check_with_modules(
    doc: &Value,
    module_docs: Vec<(String, Value)>,
    params: Params<'_>,
    bad: BadModule,
) -> Result<(Report, Modules), Vec<Finding>> {
    // Modules first: the caller's validation needs their interfaces.
    let mut modules = Modules::default();
    for (name, mdoc) in module_docs {
        let own;
        let mparams = match params {
            Params::Given(p) => {
                own = params_for(&mdoc, p);
                Params::Given(&own)
            }
            Params::Samples => Params::Samples,
        };
        match accepted(Modules::default().check(&mdoc, mparams)) {
            Ok((flow, _)) => modules.add(name, flow),
            Err(_) if bad == BadModule::Skip => {}
            Err(findings) => {
                return Err(findings
                    .into_iter()
                    .map(|f| Finding {
                        message: format!("module {name:?}: {}", f.message),
                        ..f
                    })
                    .collect());
            }
        }
    }
    let report = modules.check(doc, params);
    Ok((report, modules))
}

/// Only the parameters a document uses or declares, so a caller's parameters can be handed
/// to its modules without tripping their checks.
fn params_for(doc: &Value, params: &Map<String, Value>) -> Map<String, Value> {
    // One walk of the document, not one text search per parameter.
    let known = template::params::known_names(doc);
    params
        .iter()
        .filter(|(k, _)| known.contains(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The findings of parameters that neither `doc` nor a module it calls knows (a typo);
/// empty when every one is known.
pub(crate) fn unknown_parameters(
    doc: &Value,
    module_docs: &[(String, Value)],
    params: &Map<String, Value>,
    base: &str,
) -> Vec<Finding> {
    let mut known = template::params::known_names(doc);
    for (_, mdoc) in module_docs {
        known.extend(template::params::known_names(mdoc));
    }
    template::params::unknown_parameters(params, &known, base)
}

/// The names of the modules a validated flow calls by name.
pub(crate) fn called_modules(flow: &Flow) -> Vec<String> {
    let mut names: Vec<String> = flow
        .nodes
        .values()
        .filter_map(|n| match &n.kind {
            NodeKind::CallModule {
                module: ModuleRef::Name(m),
                ..
            } => Some(m.clone()),
            _ => None,
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The called module names of `doc` that are not among `found` (placeholders left out:
/// their value is known only with parameters).
pub(crate) fn unstored_calls(doc: &Value, found: &[(String, Value)]) -> Vec<String> {
    template::header(doc)
        .called_modules
        .into_iter()
        .filter(|m| !m.contains("{{") && !found.iter().any(|(n, _)| n == m))
        .collect()
}

/// A warning at each Flow node of `doc` that calls one of `missing` (modules that are not
/// stored), naming the closest of the `stored` template names. Storing is order-free, so
/// this is no error; a job that provisions the caller needs the module.
pub(crate) fn unstored_module_warnings(
    doc: &Value,
    missing: &[String],
    stored: &[String],
) -> Vec<Finding> {
    let Some(nodes) = doc.pointer("/draft/nodes").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (id, n) in nodes {
        let called = n.pointer("/properties/flowName").and_then(Value::as_str);
        let Some(m) = called.filter(|m| missing.iter().any(|x| x == m)) else {
            continue;
        };
        if n.get("type").and_then(Value::as_str) != Some("Flow") {
            continue;
        }
        let f = Finding::warning(
            "module_not_stored",
            template::pointer(["draft", "nodes", id.as_str(), "properties", "flowName"]),
            format!(
                "node '{id}' calls module '{}', which is not stored",
                template::excerpt(m, 100)
            ),
        );
        out.push(match module_hint(m, stored) {
            Some(hint) => f.with_hint(hint),
            None => f.with_hint(format!(
                "store template '{}' before a job provisions this flow",
                template::excerpt(m, 100)
            )),
        });
    }
    out
}

/// "did you mean 'X'?" for a module name that is not stored, when a stored name is close.
pub(crate) fn module_hint(name: &str, stored: &[String]) -> Option<String> {
    crate::findings::did_you_mean(name, stored.iter().map(String::as_str))
        .map(|close| format!("did you mean '{close}'?"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_call_to_an_unstored_module_names_the_closest() {
        let doc = json!({"name": "Main", "draft": {"nodes": {
            "Lang": {"id": "Lang", "type": "Flow", "properties": {"flowName": "Language_Selekt"}},
            "Other": {"id": "Other", "type": "Flow", "properties": {"flowName": "Zzz"}},
            "Ok": {"id": "Ok", "type": "Flow", "properties": {"flowName": "Hours"}},
            "P": {"id": "P", "type": "Flow", "properties": {"flowName": "{{m}}"}}
        }}});
        let found = vec![("Hours".to_owned(), json!({}))];
        let missing = unstored_calls(&doc, &found);
        assert_eq!(missing, ["Language_Selekt", "Zzz"]);
        let stored = ["Hours".to_owned(), "Language_Select".to_owned()];
        let w = unstored_module_warnings(&doc, &missing, &stored);
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].code, "module_not_stored");
        assert!(!w[0].is_error());
        assert_eq!(w[0].pointer, "/draft/nodes/Lang/properties/flowName");
        assert_eq!(
            w[0].hint.as_deref(),
            Some("did you mean 'Language_Select'?")
        );
        assert!(
            w[1].hint
                .as_deref()
                .unwrap()
                .contains("store template 'Zzz'")
        );
    }
}
