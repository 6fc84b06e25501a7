//! Loading a stored template with the stored modules it calls, checked: what compiling,
//! drawing and simulating a stored template start from.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::check::{self, BadModule, Params};
use super::{TemplateError, Templates};
use crate::findings::Finding;
use crate::template::{self, Flow};

/// A stored template as a validated flow, plus the stored modules it calls.
pub(crate) struct Loaded {
    pub(crate) flow: Flow,
    pub(crate) modules: BTreeMap<String, Flow>,
    /// The template's own warnings (its validation), reported once with what is done with it.
    pub(crate) warnings: Vec<Finding>,
}

impl Templates<'_> {
    /// Loads a stored template (a version, or the latest), instantiates it with `params` (or
    /// store-time samples when `None`), validates it against the stored modules it calls,
    /// and loads those modules too. The reading is async; the checking runs on the blocking
    /// pool.
    pub(crate) async fn load(
        &self,
        name: &str,
        version: Option<i64>,
        params: Option<&Map<String, Value>>,
    ) -> Result<Loaded, TemplateError> {
        let row = match version {
            Some(v) => self.store.template_version(name, v).await?,
            None => self.store.latest_template(name).await?,
        }
        .ok_or_else(|| match version {
            Some(v) => TemplateError::NotFound(format!("template {name:?} has no version {v}")),
            None => TemplateError::NotFound(format!("no template named {name:?}")),
        })?;
        let doc = row.document()?;
        let modules = self.called_documents(&doc).await?;
        let unstored = self.unstored_modules(&doc, &modules).await?;
        let (name, params) = (name.to_owned(), params.cloned());
        let mut loaded = self
            .cpu(move || check_loaded(&name, &doc, modules, params.as_ref()))
            .await??;
        loaded.warnings.extend(unstored);
        Ok(loaded)
    }

    /// A `module_not_stored` warning for each Flow node of `doc` that calls a module not
    /// among `found` (its stored modules), naming the closest stored template.
    pub(crate) async fn unstored_modules(
        &self,
        doc: &Value,
        found: &[(String, Value)],
    ) -> Result<Vec<Finding>, TemplateError> {
        let missing = check::unstored_calls(doc, found);
        if missing.is_empty() {
            return Ok(Vec::new());
        }
        let stored = self.store.template_names().await?;
        Ok(check::unstored_module_warnings(doc, &missing, &stored))
    }

    /// The latest stored documents of the modules `doc` calls by name, by template name
    /// (missing or deleted ones are left out).
    pub(crate) async fn called_documents(
        &self,
        doc: &Value,
    ) -> Result<Vec<(String, Value)>, TemplateError> {
        let header = template::header(doc);
        let rows = self.store.latest_templates(&header.called_modules).await?;
        let mut modules = Vec::with_capacity(rows.len());
        for row in rows {
            let mdoc = row.document()?;
            modules.push((row.name, mdoc));
        }
        Ok(modules)
    }
}

/// The checking half of [`Templates::load`]: pure CPU work. A module that does not validate
/// refuses the template, as does a parameter that neither it nor a module knows.
fn check_loaded(
    name: &str,
    doc: &Value,
    module_docs: Vec<(String, Value)>,
    params: Option<&Map<String, Value>>,
) -> Result<Loaded, TemplateError> {
    let params = match params {
        Some(p) => {
            let errors = check::unknown_parameters(doc, &module_docs, p, "/params");
            if !errors.is_empty() {
                return Err(TemplateError::InvalidRequest {
                    detail: format!("unknown parameter(s) for template {name:?}"),
                    errors,
                });
            }
            Params::Given(p)
        }
        None => Params::Samples,
    };
    let (report, modules) = check::check_with_modules(doc, module_docs, params, BadModule::Refuse)
        .map_err(TemplateError::Invalid)?;
    let (flow, warnings) = check::accepted(report).map_err(TemplateError::Invalid)?;
    // Keep only modules the validated flow really calls.
    let called = check::called_modules(&flow);
    let mut modules = modules.into_flows();
    modules.retain(|k, _| called.contains(k));
    Ok(Loaded {
        flow,
        modules,
        warnings,
    })
}
