//! Compiling, drawing and simulating a stored template with the modules it calls — all from
//! the stored templates, with no Genesys involved.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::as_module::{AsModule, as_module};
use super::{TemplateError, Templates};
use crate::compile::{self, CompileContext, Compiled, ModuleTarget};
use crate::diagram::{self, DiagramFormat};
use crate::simulate::{self, SimInput, SimLimits, SimOrg, Simulation};
use crate::template::{self, Finding, FlowType};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompileRequest {
    /// Template version (default: the latest).
    pub version: Option<i64>,
    /// Parameter values by name.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, Value>)]
    pub params: Map<String, Value>,
    /// Genesys flow name (default: the template name).
    pub flow_name: Option<String>,
    /// Compile as this type (default: the template's; a seed `inbound` template that other
    /// flows call is provisioned as `module`).
    #[serde(rename = "type")]
    pub flow_type: Option<FlowType>,
}

impl Templates<'_> {
    /// Compiles a stored template as a job would deploy it, against the stored modules it
    /// calls.
    pub async fn compile(
        &self,
        name: &str,
        req: CompileRequest,
    ) -> Result<Compiled, TemplateError> {
        let mut loaded = self.load(name, req.version, Some(&req.params)).await?;
        // The template's findings first, then what only compiling finds: each rule once.
        let mut warnings = std::mem::take(&mut loaded.warnings);
        let targets: BTreeMap<String, ModuleTarget> = loaded
            .modules
            .iter()
            .map(|(name, flow)| (name.clone(), ModuleTarget::of(flow, name)))
            .collect();
        let flow_name = req.flow_name.unwrap_or_else(|| loaded.flow.name.clone());
        let (as_type, as_module_warning) = match req.flow_type {
            Some(t) => (t, None),
            None => self.provisioned_type(name, loaded.flow.flow_type).await?,
        };
        let mut compiled = self
            .cpu(move || {
                compile::compile(
                    &loaded.flow,
                    &CompileContext {
                        flow_name: &flow_name,
                        as_type,
                        modules: &targets,
                        queue_names: &BTreeMap::new(),
                    },
                )
            })
            .await?
            .map_err(TemplateError::Uncompilable)?;
        warnings.append(&mut compiled.warnings);
        warnings.extend(as_module_warning);
        compiled.warnings = warnings;
        Ok(compiled)
    }

    /// What a job provisions a stored template of `declared` type as ([`as_module`]), with
    /// the warning that says so when that is not its declared type. The stored callers are
    /// looked up first; the flow records only when no template calls it.
    async fn provisioned_type(
        &self,
        name: &str,
        declared: FlowType,
    ) -> Result<(FlowType, Option<Finding>), TemplateError> {
        let caller = match declared {
            FlowType::Module => None,
            FlowType::Inbound => self.stored_caller(name).await?,
        };
        let recorded = declared == FlowType::Inbound
            && caller.is_none()
            && self.store.has_module_record(name).await?;
        let why = match as_module(Some(declared), caller.as_deref(), recorded) {
            None => return Ok((FlowType::Inbound, None)),
            Some(AsModule::Declared) => return Ok((FlowType::Module, None)),
            Some(AsModule::Called(caller)) => format!("template '{caller}' calls it"),
            Some(AsModule::Recorded) => "a target holds it as a common module".to_owned(),
        };
        let warning = Finding::warning(
            "inbound_as_module",
            "/type",
            format!("'{name}' is compiled as a common module, as a job provisions it: {why}"),
        )
        .with_hint("pass \"type\": \"inbound\" to compile it as an inbound call flow");
        Ok((FlowType::Module, Some(warning)))
    }

    /// The name of a stored template (the first by name) whose latest version calls
    /// template `name`.
    async fn stored_caller(&self, name: &str) -> Result<Option<String>, TemplateError> {
        let needle = serde_json::to_string(name).unwrap_or_default();
        for row in self
            .store
            .latest_templates_containing(name, &needle)
            .await?
        {
            // The text search only finds candidates; a caller is confirmed by its header.
            let doc = row.document()?;
            if template::header(&doc)
                .called_modules
                .iter()
                .any(|m| m == name)
            {
                let caller = doc.get("name").and_then(Value::as_str).unwrap_or("?");
                return Ok(Some(caller.to_owned()));
            }
        }
        Ok(None)
    }

    /// Draws a stored template's node graph, with Flow nodes as calls into the stored
    /// modules.
    pub async fn draw(&self, name: &str, format: DiagramFormat) -> Result<String, TemplateError> {
        let loaded = self.load(name, None, None).await?;
        self.cpu(move || diagram::render(&loaded.flow, &loaded.modules, format))
            .await
    }

    /// Draws a stored template as SVG, each Flow node linking to `link(module)`.
    pub async fn draw_svg(
        &self,
        name: &str,
        link: fn(&str) -> String,
    ) -> Result<String, TemplateError> {
        let loaded = self.load(name, None, None).await?;
        self.cpu(move || {
            diagram::render_linked(&loaded.flow, &loaded.modules, DiagramFormat::Svg, &link)
        })
        .await
    }

    /// Runs a call through a stored template and every module it calls. `limits` has no
    /// deadline yet: the work limit, counted from the end of loading, is set here.
    pub async fn simulate(
        &self,
        name: &str,
        version: Option<i64>,
        params: &Map<String, Value>,
        inputs: Vec<SimInput>,
        mut limits: SimLimits,
        org: SimOrg,
    ) -> Result<Simulation, TemplateError> {
        let mut loaded = self.load(name, version, Some(params)).await?;
        // What the call cannot show by itself: a called module that is not stored (the
        // call ends in an error there) and the stored name it was probably meant to be.
        let warnings: Vec<Finding> = std::mem::take(&mut loaded.warnings)
            .into_iter()
            .filter(|f| f.code == "module_not_stored")
            .collect();
        // The simulator stops itself at the deadline; `cpu`'s own timer is a backstop.
        limits.deadline = Some(std::time::Instant::now() + self.work_limit);
        let mut sim = self
            .cpu(move || {
                simulate::simulate_limited_with_org(
                    &loaded.flow,
                    &loaded.modules,
                    &inputs,
                    &limits,
                    &org,
                )
            })
            .await?
            .map_err(|stop| TemplateError::SimulationStopped {
                template: name.to_owned(),
                stop,
            })?;
        sim.warnings = warnings;
        Ok(sim)
    }
}
