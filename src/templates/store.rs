//! Checking a document sent to the service, and storing it as a template version.

use serde_json::Value;

use super::check::{self, BadModule, Params, Report};
use super::{TemplateError, Templates};
use crate::store::{NewTemplate, StoreOutcome};
use crate::template;

impl Templates<'_> {
    /// Validates a document against the stored modules it calls, as storing it would; a
    /// stored module that no longer validates on its own is left out of the catalog. Hands
    /// the document back with the report.
    pub(crate) async fn check(&self, doc: Value) -> Result<(Value, Report), TemplateError> {
        let modules = self.called_documents(&doc).await?;
        let unstored = self.unstored_modules(&doc, &modules).await?;
        let (doc, mut report) = self
            .cpu(move || {
                // `Skip` refuses no module: the `Err` arm is not taken.
                check::check_with_modules(&doc, modules, Params::Samples, BadModule::Skip)
                    .map(|(report, _)| (doc, report))
                    .map_err(TemplateError::Invalid)
            })
            .await??;
        report.findings.extend(unstored);
        Ok((doc, report))
    }

    /// Stores a document as a new version of its template, or answers the latest version
    /// when the document is unchanged. A document with errors is refused with its findings.
    pub(crate) async fn store_version(&self, doc: Value) -> Result<StoreOutcome, TemplateError> {
        let (doc, report) = self.check(doc).await?;
        let Some(flow) = report.flow.as_ref().filter(|_| !report.has_errors()) else {
            return Err(TemplateError::Invalid(report.findings));
        };
        let internal = |e: serde_json::Error| TemplateError::Internal(e.to_string());
        let document = serde_json::to_string(&doc).map_err(internal)?;
        let warnings = template::answer_findings(&report.findings);
        let warnings = serde_json::to_string(&warnings).map_err(internal)?;
        let hash = template::content_hash(&doc);
        Ok(self
            .store
            .store_template(NewTemplate {
                name: &flow.name,
                flow_type: flow.flow_type,
                description: flow.description.as_deref(),
                content_hash: &hash,
                document: &document,
                warnings: &warnings,
            })
            .await?)
    }
}
