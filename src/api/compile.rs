//! Compile a stored template to Archy YAML, draw it, and simulate calls through it and the
//! modules it calls — all from the stored templates, with no Genesys involved.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
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
use crate::simulate::{self, SimInput, SimLimits, Simulation};
use crate::store::Store;
use crate::template::model::{ModuleRef, NodeKind};
use crate::template::{self, Finding, Flow, FlowType, ModuleInterface};
use crate::validate;

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
    // One walk of the document, not one text search per parameter.
    let known = template::params::known_names(doc);
    params
        .iter()
        .filter(|(k, _)| known.contains(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Loads a stored template (a version, or the latest), instantiates it with `params` (or
/// store-time samples when `None`), validates it against the stored modules it calls, and
/// loads those modules too. The reading is async; the checking runs on the blocking pool
/// (see [`super::cpu`]).
pub async fn load(
    state: &AppState,
    name: &str,
    version: Option<i64>,
    params: Option<&Map<String, Value>>,
) -> ApiResult<Loaded> {
    let store: &Store = &state.store;
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
    let header = template::header(&doc);
    let module_rows = store.latest_templates(&header.called_modules).await?;
    let mut modules = Vec::with_capacity(module_rows.len());
    for mrow in module_rows {
        let mdoc: Value = serde_json::from_str(&mrow.document).map_err(|e| {
            ApiError::Internal(format!("stored document of {} is not JSON: {e}", mrow.name))
        })?;
        modules.push((mrow.name, mdoc));
    }
    let (name, params) = (name.to_owned(), params.cloned());
    super::cpu(state, move || check(&name, doc, modules, params.as_ref())).await?
}

/// The checking half of [`load`]: pure CPU work.
fn check(
    name: &str,
    doc: Value,
    module_docs: Vec<(String, Value)>,
    params: Option<&Map<String, Value>>,
) -> ApiResult<Loaded> {
    // Modules first: the caller's validation needs their interfaces.
    let mut modules = BTreeMap::new();
    let mut catalog: BTreeMap<String, ModuleInterface> = BTreeMap::new();
    if let Some(p) = params {
        // A parameter neither the template nor a module it calls knows is a typo.
        let mut known = template::params::known_names(&doc);
        for (_, mdoc) in &module_docs {
            known.extend(template::params::known_names(mdoc));
        }
        let errors = template::params::unknown_parameters(p, &known, "/params");
        if !errors.is_empty() {
            return Err(ApiError::InvalidRequest {
                detail: format!("unknown parameter(s) for template {name:?}"),
                errors,
            });
        }
    }
    for (mname, mdoc) in module_docs {
        let report = match params {
            Some(p) => {
                validate::validate_with_params(&mdoc, &params_for(&mdoc, p), &validate::NoModules)
            }
            None => validate::validate(&mdoc, &validate::NoModules),
        };
        let Some(mflow) = report
            .flow
            .filter(|_| report.findings.iter().all(|f| !f.is_error()))
        else {
            let findings = report
                .findings
                .into_iter()
                .map(|f| Finding {
                    message: format!("module {mname:?}: {}", f.message),
                    ..f
                })
                .collect();
            return Err(ApiError::Validation { findings });
        };
        catalog.insert(mname.clone(), validate::interface(&mflow));
        modules.insert(mname, mflow);
    }
    let report = match params {
        Some(p) => validate::validate_with_params(&doc, p, &catalog),
        None => validate::validate(&doc, &catalog),
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
    #[schema(value_type = BTreeMap<String, Value>)]
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
/// `Accept: application/yaml`, its hash and warnings then in the `X-Content-Hash`, `ETag` and
/// `X-Warnings` headers).
#[utoipa::path(post, path = "/v1/templates/{name}/compile", tag = TAG_TEMPLATES, security(("bearer" = [])),
    params(NamePath),
    request_body = CompileRequest,
    responses(
        (status = 200, description = "the compiled flow", content(
            (Compiled = "application/json"),
            (String = "application/yaml")
        ), headers(
            ("X-Content-Hash" = String, description = "SHA-256 (hex) of the YAML, as `content_hash` in the JSON form"),
            ("ETag" = String, description = "the content hash, quoted"),
            ("X-Warnings" = String, description = "the compiler's warnings as a JSON array of findings (ASCII, non-ASCII characters escaped as \\uXXXX; `[]` when there is none), the first ones that fit in 4 KiB"),
            ("X-Warning-Count" = u32, description = "how many warnings there are (more than `X-Warnings` holds when it was cut; the JSON answer has them all)")
        )),
        (status = 400, description = "the body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such template or version", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "unsupported Content-Type (send application/json)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "missing or mistyped parameter, or the instantiated template has errors", body = Problem, content_type = "application/problem+json")
    ))]
async fn compile_template(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<NamePath>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CompileRequest>,
) -> ApiResult<Response> {
    let loaded = load(&state, &p.name, req.version, Some(&req.params)).await?;
    let targets: BTreeMap<String, ModuleTarget> = loaded
        .modules
        .iter()
        .map(|(name, flow)| (name.clone(), ModuleTarget::of(flow, name)))
        .collect();
    let flow_name = req.flow_name.unwrap_or_else(|| loaded.flow.name.clone());
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
    let compiled = super::cpu(&state, move || {
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
    .map_err(|e| {
        ApiError::invalid(
            format!("the template cannot be compiled: {e}"),
            Finding::error(e.code(), "", e.to_string()),
        )
    })?;
    let mut compiled = compiled;
    compiled.warnings.extend(as_module_warning);
    let mut resp = if wants_yaml(&headers) {
        (
            [(header::CONTENT_TYPE, "application/yaml")],
            compiled.yaml.clone(),
        )
            .into_response()
    } else {
        Json(&compiled).into_response()
    };
    let h = resp.headers_mut();
    for (name, value) in [
        ("x-content-hash", compiled.content_hash.clone()),
        (
            header::ETAG.as_str(),
            format!("\"{}\"", compiled.content_hash),
        ),
        ("x-warnings", warnings_header(&compiled.warnings)),
        ("x-warning-count", compiled.warnings.len().to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    Ok(resp)
}

/// Headers have no set limit, but clients refuse large ones: the warnings that fit in 4 KiB.
const MAX_WARNINGS_HEADER: usize = 4096;

fn warnings_header(warnings: &[Finding]) -> String {
    let mut n = warnings.len();
    loop {
        let json = ascii_json(&warnings[..n]);
        if json.len() <= MAX_WARNINGS_HEADER || n == 0 {
            return json;
        }
        n /= 2;
    }
}

/// JSON with every non-ASCII or control character escaped (`\uXXXX`), so it fits in a header.
fn ascii_json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    let json = serde_json::to_string(value).unwrap_or_else(|_| "[]".to_owned());
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() && !c.is_ascii_control() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
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
        (status = 200, description = "Mermaid text (`format=mermaid`, the default) or Graphviz DOT (`format=dot`)", content(
            (String = "text/plain"),
            (String = "text/vnd.graphviz")
        )),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such template", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "bad format, or the template no longer validates", body = Problem, content_type = "application/problem+json")
    ))]
async fn diagram_template(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<NamePath>,
    ApiQuery(q): ApiQuery<DiagramQuery>,
) -> ApiResult<Response> {
    let loaded = load(&state, &p.name, None, None).await?;
    let format = q.format.unwrap_or(DiagramFormat::Mermaid);
    let text = super::cpu(&state, move || {
        diagram::render(&loaded.flow, &loaded.modules, format)
    })
    .await?;
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
    #[schema(value_type = BTreeMap<String, Value>)]
    pub params: Map<String, Value>,
    #[serde(default)]
    pub inputs: Vec<SimulationInput>,
    /// Step limit (default 10,000, Genesys's limit of actions per call; at most the
    /// `max_simulation_steps` setting, 1,000,000 by default).
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub max_steps: Option<usize>,
    /// The org objects the call meets: data action answers, data table rows, schedule
    /// group states, participant data. A node needing an object missing here ends the call
    /// with outcome `error` naming it.
    #[serde(default)]
    pub org: simulate::SimOrg,
}

/// Run a call through a stored template and every module it calls.
#[utoipa::path(post, path = "/v1/simulations", tag = TAG_SIMULATION, security(("bearer" = [])),
    request_body = SimulationRequest,
    responses(
        (status = 200, description = "how the call went", body = Simulation),
        (status = 400, description = "the body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such template or version", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "unsupported Content-Type (send application/json)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "bad input, missing parameter, or the template has errors", body = Problem, content_type = "application/problem+json")
    ))]
async fn run_simulation(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<SimulationRequest>,
) -> ApiResult<Json<Simulation>> {
    let mut inputs = Vec::with_capacity(req.inputs.len());
    for (i, input) in req.inputs.iter().enumerate() {
        let at = template::pointer(["inputs".to_owned(), i.to_string()]);
        let max_digits = validate::MAX_DIGITS_LIMIT as usize;
        if input.digits.as_ref().is_some_and(|d| d.len() > max_digits) {
            return Err(ApiError::invalid(
                format!(
                    "an input has more digits than any Gather takes (maxDigits is at most {max_digits})"
                ),
                Finding::error(
                    "invalid_input",
                    format!("{at}/digits"),
                    format!("at most {max_digits} digits"),
                ),
            ));
        }
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
    let limits = state.settings.limits;
    let max_steps = req.max_steps.unwrap_or(simulate::DEFAULT_MAX_STEPS);
    if max_steps == 0 || max_steps > limits.max_simulation_steps {
        let msg = format!(
            "max_steps must be between 1 and {} (max_simulation_steps)",
            limits.max_simulation_steps
        );
        return Err(ApiError::invalid(
            msg.clone(),
            Finding::error("invalid_request", "/max_steps", msg),
        ));
    }
    let loaded = load(&state, &req.template, req.version, Some(&req.params)).await?;
    let started = std::time::Instant::now();
    let sim_limits = SimLimits {
        max_steps,
        max_transcript_bytes: limits.max_transcript_bytes,
        max_value_bytes: limits.max_value_bytes,
        // The simulator stops itself at the deadline; `cpu`'s own timer is a backstop.
        deadline: Some(started + limits.work()),
    };
    let org = req.org;
    let sim = super::cpu(&state, move || {
        simulate::simulate_limited_with_org(
            &loaded.flow,
            &loaded.modules,
            &inputs,
            &sim_limits,
            &org,
        )
    })
    .await?;
    sim.map(Json).map_err(|e| {
        let at = template::pointer(["draft", "nodes", e.node.as_str()]);
        ApiError::invalid(
            format!("the simulation of {:?} was stopped: {e}", req.template),
            Finding::error("simulation_limit", at, e.what.clone())
                .with_hint(format!("raise {} if this flow really needs it", e.setting)),
        )
    })
}

#[cfg(test)]
mod header_tests {
    use super::*;

    #[test]
    fn the_warnings_header_is_ascii_json_and_bounded() {
        let one = vec![Finding::error("w", "/draft/nodes/Café", "naïve → ok")];
        let h = warnings_header(&one);
        assert!(h.is_ascii() && HeaderValue::from_str(&h).is_ok(), "{h}");
        let back: Vec<Finding> = serde_json::from_str(&h).unwrap();
        assert_eq!(back, one);

        let many: Vec<Finding> = (0..500)
            .map(|i| Finding::error("w", format!("/draft/nodes/N{i}"), "x".repeat(100)))
            .collect();
        let h = warnings_header(&many);
        assert!(h.len() <= MAX_WARNINGS_HEADER);
        let back: Vec<Finding> = serde_json::from_str(&h).unwrap();
        assert!(!back.is_empty() && back.len() < many.len());
        assert_eq!(back[0], many[0]);
        assert_eq!(warnings_header(&[]), "[]");
    }
}
