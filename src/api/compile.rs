//! Compile a stored template to Archy YAML, draw it, and simulate calls through it and the
//! modules it calls — all from the stored templates, with no Genesys involved.

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
use super::templates::{NamePath, templates};
use super::{AppState, TAG_TEMPLATES};
use crate::compile::Compiled;
use crate::diagram::DiagramFormat;
use crate::error::{ApiError, ApiResult, Problem};
use crate::simulate::{self, SimInput, SimLimits, Simulation};
use crate::template::{self, Finding};
pub use crate::templates::CompileRequest;

pub const TAG_SIMULATION: &str = "simulation";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(compile_template))
        .routes(routes!(diagram_template))
        .routes(routes!(run_simulation))
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
    let compiled = templates(&state).compile(&p.name, req).await?;
    Ok(compiled_response(&compiled, wants_yaml(&headers)))
}

/// The compiled flow as JSON, or as the YAML file; its hash and warnings also in headers.
fn compiled_response(compiled: &Compiled, yaml: bool) -> Response {
    let mut resp = if yaml {
        (
            [(header::CONTENT_TYPE, "application/yaml")],
            compiled.yaml.clone(),
        )
            .into_response()
    } else {
        Json(compiled).into_response()
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
    resp
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

fn wants_yaml(headers: &HeaderMap) -> bool {
    accepts(
        headers,
        &["application/yaml", "application/x-yaml", "text/yaml"],
    )
}

/// Whether `Accept` names one of `types`.
pub(super) fn accepts(headers: &HeaderMap, types: &[&str]) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| {
            a.split(',').any(|m| {
                let m = m.split(';').next().unwrap_or("").trim();
                types.iter().any(|t| m.eq_ignore_ascii_case(t))
            })
        })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DiagramQuery {
    /// mermaid (default, or svg when `Accept` names `image/svg+xml`), dot or svg.
    format: Option<DiagramFormat>,
}

/// Draw a stored template's node graph, with Flow nodes as calls into the stored modules:
/// Mermaid or DOT text, or a standalone SVG picture (laid out by the service; Flow nodes
/// link to their module's SVG diagram) that a page can embed.
#[utoipa::path(get, path = "/v1/templates/{name}/diagram", tag = TAG_TEMPLATES, security(("bearer" = [])),
    params(NamePath, DiagramQuery),
    responses(
        (status = 200, description = "Mermaid text (`format=mermaid`, the default), Graphviz DOT (`format=dot`) or SVG (`format=svg`, or `Accept: image/svg+xml`)", content(
            (String = "text/plain"),
            (String = "text/vnd.graphviz"),
            (String = "image/svg+xml")
        )),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such template", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "bad format, or the template no longer validates", body = Problem, content_type = "application/problem+json")
    ))]
async fn diagram_template(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<NamePath>,
    ApiQuery(q): ApiQuery<DiagramQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let format = q
        .format
        .unwrap_or(if accepts(&headers, &["image/svg+xml"]) {
            DiagramFormat::Svg
        } else {
            DiagramFormat::Mermaid
        });
    let text = templates(&state).draw(&p.name, format).await?;
    let ct = match format {
        DiagramFormat::Mermaid => "text/plain; charset=utf-8",
        DiagramFormat::Dot => "text/vnd.graphviz; charset=utf-8",
        DiagramFormat::Svg => "image/svg+xml",
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
    let inputs = sim_inputs(&req.inputs)?;
    let limits = sim_limits(&state, req.max_steps)?;
    let sim = templates(&state)
        .simulate(
            &req.template,
            req.version,
            &req.params,
            inputs,
            limits,
            req.org,
        )
        .await?;
    Ok(Json(sim))
}

/// The caller inputs of a simulation request.
fn sim_inputs(requested: &[SimulationInput]) -> ApiResult<Vec<SimInput>> {
    let mut inputs = Vec::with_capacity(requested.len());
    for (i, input) in requested.iter().enumerate() {
        let at = template::pointer(["inputs".to_owned(), i.to_string()]);
        let max_digits = crate::validate::MAX_DIGITS_LIMIT as usize;
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
    Ok(inputs)
}

/// The limits of a simulation: the request's step limit, within the settings (the
/// deadline is set when the call starts).
fn sim_limits(state: &AppState, max_steps: Option<usize>) -> ApiResult<SimLimits> {
    let limits = state.settings.limits;
    let max_steps = max_steps.unwrap_or(simulate::DEFAULT_MAX_STEPS);
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
    Ok(SimLimits {
        max_steps,
        max_transcript_bytes: limits.max_transcript_bytes,
        max_value_bytes: limits.max_value_bytes,
        deadline: None,
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
