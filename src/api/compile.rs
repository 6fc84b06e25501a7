//! Compile a stored template to Archy YAML, draw it, and simulate calls through it and the
//! modules it calls — all from the stored templates, with no Genesys involved.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::{AppState, TAG_TEMPLATES};
use crate::compile::{self, CompileContext, Compiled, ModuleTarget};
use crate::diagram::{self, DiagramFormat};
use crate::error::{ApiError, ApiResult, Problem};
use crate::simulate::{self, SimInput, Simulation};
use crate::store::Store;
use crate::template::model::{ModuleRef, NodeKind};
use crate::template::{self, Finding, Flow, FlowType, ModuleInterface};

pub const TAG_SIMULATION: &str = "simulation";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(compile_template))
        .routes(routes!(diagram_template))
        .routes(routes!(run_simulation))
}

/// A template as a validated flow, plus the stored modules it calls.
pub struct Loaded {
    pub flow: Flow,
    pub modules: BTreeMap<String, Flow>,
}

/// The names of the modules a flow calls by name.
fn called_modules(flow: &Flow) -> Vec<String> {
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

/// Only the parameters a document uses or declares, so a caller's parameters can be handed
/// to its modules without tripping their checks.
fn params_for(doc: &Value, params: &Map<String, Value>) -> Map<String, Value> {
    let text = doc.to_string();
    params
        .iter()
        .filter(|(k, _)| {
            doc.pointer(&template::pointer(["parameters", k.as_str()]))
                .is_some()
                || text.contains(&format!("{{{{{k}}}}}"))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Loads a stored template (a version, or the latest), instantiates it with `params` (or
/// store-time samples when `None`), validates it against the stored modules it calls, and
/// loads those modules too.
pub async fn load(
    store: &Store,
    name: &str,
    version: Option<i64>,
    params: Option<&Map<String, Value>>,
) -> ApiResult<Loaded> {
    let row = match version {
        Some(v) => store.template_version(name, v).await?,
        None => store.latest_template(name).await?,
    }
    .ok_or_else(|| match version {
        Some(v) => ApiError::NotFound(format!("template {name:?} has no version {v}")),
        None => ApiError::NotFound(format!("no template named {name:?}")),
    })?;
    let doc: Value = serde_json::from_str(&row.document)
        .map_err(|e| ApiError::Internal(format!("stored document of {name} is not JSON: {e}")))?;

    // Modules first: the caller's validation needs their interfaces.
    let header = template::header(&doc);
    let mut modules = BTreeMap::new();
    let mut catalog: BTreeMap<String, ModuleInterface> = BTreeMap::new();
    for mrow in store.latest_templates(&header.called_modules).await? {
        let mdoc: Value = serde_json::from_str(&mrow.document).map_err(|e| {
            ApiError::Internal(format!("stored document of {} is not JSON: {e}", mrow.name))
        })?;
        let report = match params {
            Some(p) => {
                template::validate_with_params(&mdoc, &params_for(&mdoc, p), &template::NoModules)
            }
            None => template::validate(&mdoc, &template::NoModules),
        };
        let Some(mflow) = report
            .flow
            .filter(|_| report.findings.iter().all(|f| !f.is_error()))
        else {
            let findings = report
                .findings
                .into_iter()
                .map(|f| Finding {
                    message: format!("module {:?}: {}", mrow.name, f.message),
                    ..f
                })
                .collect();
            return Err(ApiError::Validation { findings });
        };
        catalog.insert(mrow.name.clone(), template::interface(&mflow));
        modules.insert(mrow.name.clone(), mflow);
    }
    let report = match params {
        Some(p) => template::validate_with_params(&doc, p, &catalog),
        None => template::validate(&doc, &catalog),
    };
    match report.flow {
        Some(flow) if !report.has_errors() => {
            // Keep only modules the validated flow really calls.
            let called = called_modules(&flow);
            modules.retain(|k, _| called.contains(k));
            Ok(Loaded { flow, modules })
        }
        _ => Err(ApiError::Validation {
            findings: report.findings,
        }),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompileRequest {
    /// Template version (default: the latest).
    pub version: Option<i64>,
    /// Parameter values by name.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: Map<String, Value>,
    /// Genesys flow name (default: the template name).
    pub flow_name: Option<String>,
    /// Compile as this type (default: the template's; a seed `inbound` template that other
    /// flows call is provisioned as `module`).
    #[serde(rename = "type")]
    pub flow_type: Option<FlowType>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct NamePath {
    /// Template name.
    name: String,
}

/// Compile a stored template to Archy YAML (JSON answer, or the YAML file with
/// `Accept: application/yaml`).
#[utoipa::path(post, path = "/v1/templates/{name}/compile", tag = TAG_TEMPLATES, security(("bearer" = [])),
    params(NamePath),
    request_body = CompileRequest,
    responses(
        (status = 200, description = "the compiled flow", content(
            (Compiled = "application/json"),
            (String = "application/yaml")
        )),
        (status = 400, description = "the body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such template or version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "missing or mistyped parameter, or the instantiated template has errors", body = Problem, content_type = "application/problem+json")
    ))]
async fn compile_template(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<NamePath>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CompileRequest>,
) -> ApiResult<Response> {
    let loaded = load(&state.store, &p.name, req.version, Some(&req.params)).await?;
    let targets: BTreeMap<String, ModuleTarget> = loaded
        .modules
        .iter()
        .map(|(name, flow)| (name.clone(), ModuleTarget::of(flow, name)))
        .collect();
    let flow_name = req.flow_name.as_deref().unwrap_or(&loaded.flow.name);
    // Compile what a job would deploy: an "inbound" template that other templates call (or
    // that a target holds as a module) is provisioned as a common module.
    let mut as_module_warning = None;
    let as_type = match req.flow_type {
        Some(t) => t,
        None if loaded.flow.flow_type == FlowType::Inbound => {
            match called_as_module(&state.store, &p.name).await? {
                Some(why) => {
                    as_module_warning = Some(
                        Finding::warning(
                            "inbound_as_module",
                            "/type",
                            format!(
                                "'{}' is compiled as a common module, as a job provisions it: {why}",
                                p.name
                            ),
                        )
                        .with_hint("pass \"type\": \"inbound\" to compile it as an inbound call flow"),
                    );
                    FlowType::Module
                }
                None => FlowType::Inbound,
            }
        }
        None => loaded.flow.flow_type,
    };
    let compiled = compile::compile(
        &loaded.flow,
        &CompileContext {
            flow_name,
            as_type,
            modules: &targets,
            queue_names: &BTreeMap::new(),
        },
    )
    .map_err(|e| {
        ApiError::invalid(
            format!("the template cannot be compiled: {e}"),
            Finding::error(e.code(), "", e.to_string()),
        )
    })?;
    let mut compiled = compiled;
    compiled.warnings.extend(as_module_warning);
    if wants_yaml(&headers) {
        return Ok(([(header::CONTENT_TYPE, "application/yaml")], compiled.yaml).into_response());
    }
    Ok(Json(compiled).into_response())
}

/// Why a template is provisioned as a common module, if it is: a stored template calls it,
/// or a target records it as one (the job planner's rules).
async fn called_as_module(store: &Store, name: &str) -> ApiResult<Option<String>> {
    let needle = serde_json::to_string(name).unwrap_or_default();
    for doc in store.latest_documents_containing(name, &needle).await? {
        let Ok(doc) = serde_json::from_str::<Value>(&doc) else {
            continue;
        };
        let h = template::header(&doc);
        if h.called_modules.iter().any(|m| m == name) {
            let caller = doc.get("name").and_then(Value::as_str).unwrap_or("?");
            return Ok(Some(format!("template '{caller}' calls it")));
        }
    }
    if store.has_module_record(name).await? {
        return Ok(Some("a target holds it as a common module".into()));
    }
    Ok(None)
}

fn wants_yaml(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| {
            a.split(',').any(|m| {
                let m = m.split(';').next().unwrap_or("").trim();
                matches!(m, "application/yaml" | "application/x-yaml" | "text/yaml")
            })
        })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DiagramQuery {
    /// mermaid (default) or dot.
    format: Option<DiagramFormat>,
}

/// Draw a stored template's node graph, with Flow nodes as calls into the stored modules.
#[utoipa::path(get, path = "/v1/templates/{name}/diagram", tag = TAG_TEMPLATES, security(("bearer" = [])),
    params(NamePath, DiagramQuery),
    responses(
        (status = 200, description = "Mermaid or Graphviz DOT text", content_type = "text/plain", body = String),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such template", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "bad format, or the template no longer validates", body = Problem, content_type = "application/problem+json")
    ))]
async fn diagram_template(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<NamePath>,
    ApiQuery(q): ApiQuery<DiagramQuery>,
) -> ApiResult<Response> {
    let loaded = load(&state.store, &p.name, None, None).await?;
    let format = q.format.unwrap_or(DiagramFormat::Mermaid);
    let text = diagram::render(&loaded.flow, &loaded.modules, format);
    let ct = match format {
        DiagramFormat::Mermaid => "text/plain; charset=utf-8",
        DiagramFormat::Dot => "text/vnd.graphviz; charset=utf-8",
    };
    Ok(([(header::CONTENT_TYPE, ct)], text).into_response())
}

/// One caller input for a Gather: digits, or a timeout (no input).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulationInput {
    /// Keys pressed, e.g. "1" (0-9, * and #).
    pub digits: Option<String>,
    /// True for no input (the Gather's error exit).
    pub timeout: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulationRequest {
    /// The entry template (usually an inbound flow).
    pub template: String,
    pub version: Option<i64>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: Map<String, Value>,
    #[serde(default)]
    pub inputs: Vec<SimulationInput>,
    /// Step limit (default 10,000, Genesys's limit of actions per call; at most 1,000,000).
    pub max_steps: Option<usize>,
    /// The org objects the call meets: data action answers, data table rows, schedule
    /// group states, participant data. A node needing an object missing here ends the call
    /// with outcome `error` naming it.
    #[serde(default)]
    pub org: simulate::SimOrg,
}

/// Largest accepted `max_steps`: a simulation runs inside a request.
const MAX_STEPS_LIMIT: usize = 1_000_000;

/// Run a call through a stored template and every module it calls.
#[utoipa::path(post, path = "/v1/simulations", tag = TAG_SIMULATION, security(("bearer" = [])),
    request_body = SimulationRequest,
    responses(
        (status = 200, description = "how the call went", body = Simulation),
        (status = 400, description = "the body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such template or version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "bad input, missing parameter, or the template has errors", body = Problem, content_type = "application/problem+json")
    ))]
async fn run_simulation(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<SimulationRequest>,
) -> ApiResult<Json<Simulation>> {
    let mut inputs = Vec::with_capacity(req.inputs.len());
    for (i, input) in req.inputs.iter().enumerate() {
        let at = template::pointer(["inputs".to_owned(), i.to_string()]);
        let parsed = match (&input.digits, input.timeout) {
            (Some(d), None | Some(false)) => {
                SimInput::parse(d).filter(|s| matches!(s, SimInput::Digits(_)))
            }
            (None, Some(true)) => Some(SimInput::Timeout),
            _ => None,
        };
        match parsed {
            Some(p) => inputs.push(p),
            None => {
                return Err(ApiError::invalid(
                    "each input is {\"digits\": \"<0-9*#>\"} or {\"timeout\": true}",
                    Finding::error(
                        "invalid_input",
                        at,
                        "expected digits (0-9, *, #) or timeout: true",
                    ),
                ));
            }
        }
    }
    let max_steps = req.max_steps.unwrap_or(simulate::DEFAULT_MAX_STEPS);
    if max_steps == 0 || max_steps > MAX_STEPS_LIMIT {
        return Err(ApiError::invalid(
            format!("max_steps must be between 1 and {MAX_STEPS_LIMIT}"),
            Finding::error("invalid_request", "/max_steps", "out of range"),
        ));
    }
    let loaded = load(&state.store, &req.template, req.version, Some(&req.params)).await?;
    // Bounded CPU work: run it off the async workers.
    let org = req.org;
    let sim = tokio::task::spawn_blocking(move || {
        simulate::simulate_with_org(&loaded.flow, &loaded.modules, &inputs, max_steps, &org)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("simulation task failed: {e}")))?;
    Ok(Json(sim))
}
