//! Importing Archy files as templates (`POST /v1/imports`): the import (pure, on the
//! blocking pool), then, when asked, every document through the same check as
//! `POST /v1/templates` before any is stored (so a refused import stores nothing), modules
//! first.

use super::{TemplateError, Templates};
use crate::import::{self, ArchyFile, ImportLimits, Imports};
use crate::template::FlowType;

impl Templates<'_> {
    /// Imports `files`; with `store`, stores each template as a new version (or finds it
    /// unchanged).
    pub async fn import(
        &self,
        files: Vec<ArchyFile>,
        store: bool,
    ) -> Result<Imports, TemplateError> {
        let imports = self
            .cpu(move || import::import(&files, ImportLimits::default()))
            .await?
            .map_err(|e| TemplateError::Invalid(e.findings))?;
        if !store {
            return Ok(imports);
        }
        let mut order: Vec<&import::Imported> = imports.templates.iter().collect();
        order.sort_by_key(|t| t.flow_type != FlowType::Module);
        for t in &order {
            let (_, report) = self.check(t.document.clone()).await?;
            if report.has_errors() {
                return Err(TemplateError::Invalid(report.findings));
            }
        }
        for t in order {
            self.store_version(t.document.clone()).await?;
        }
        Ok(imports)
    }
}
