//! `/v1/templates` and `/v1/validate`: store, list, version, delete and check templates.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiPath, ApiQuery, DocumentBody};
use super::paging::{Page, flow_type_param};
use super::{AppState, TAG_TEMPLATES};
use crate::error::{ApiError, ApiResult, Problem};
use crate::store::{DeleteOutcome, ListFilter, StoreOutcome, TemplateRow};
use crate::template::{self, Finding, FlowType};
use crate::templates::{TemplateError, Templates};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_template, list_templates))
        .routes(routes!(get_template, delete_template))
        .routes(routes!(list_versions))
        .routes(routes!(get_version))
        .routes(routes!(validate_document))
}

/// One stored template version.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TemplateVersion {
    pub name: String,
    pub version: i64,
    #[serde(rename = "type")]
    pub flow_type: FlowType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// SHA-256 of the canonical document.
    pub content_hash: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Warnings found when this version was stored.
    pub warnings: Vec<Finding>,
    /// The document as stored (canonical JSON).
    #[schema(value_type = TemplateDocument)]
    pub document: Value,
}

/// A template version without its document.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TemplateSummary {
    pub name: String,
    pub version: i64,
    #[serde(rename = "type")]
    pub flow_type: FlowType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub content_hash: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TemplatePage {
    pub items: Vec<TemplateSummary>,
    /// Pass as `page_token` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VersionList {
    pub name: String,
    pub items: Vec<TemplateSummary>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ValidationResult {
    /// True when there is no error (warnings allowed).
    pub valid: bool,
    pub findings: Vec<Finding>,
}

/// The template document of spec section 3 (for clients; the service validates it fully
/// and answers every problem with a JSON Pointer).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TemplateDocument {
    /// 1-200 characters; the default Genesys flow name.
    name: String,
    /// "module" or "inbound" (aliases "commonmodule", "inboundcall", any case).
    #[schema(rename = "type")]
    flow_type: String,
    description: Option<String>,
    /// Genesys division name (default "Home").
    division: Option<String>,
    /// Default "en-us".
    language: Option<String>,
    /// Inbound flows: what the caller hears first (Archy `initialGreeting`); silent when
    /// absent. Ignored (with a warning) on a module.
    greeting: Option<String>,
    /// Flow types besides `inboundcall` that may call this template compiled as a common
    /// module (its `settingsCommonModule.compatibleFlowTypes`, which always has
    /// `inboundcall`): `inqueuecall`, `inboundshortmessage`, `inboundemail`, `workflow`.
    #[schema(rename = "compatibleFlowTypes")]
    compatible_flow_types: Option<Vec<String>>,
    /// Variables' initial values as Archy writes a declaration's `initialValue`
    /// (`{"lit": value}` or `{"exp": "expression"}`), by variable name: what an import
    /// carries over; the compiled declaration starts the variable with it.
    #[schema(rename = "initialValues")]
    initial_values: Option<BTreeMap<String, Value>>,
    parameters: Option<BTreeMap<String, ParameterSpec>>,
    /// Module input variables.
    inputs: Option<BTreeMap<String, VariableSpec>>,
    /// Module output variables (default: every variable a Set node writes).
    outputs: Option<BTreeMap<String, VariableSpec>>,
    draft: Draft,
    /// Seed field: accepted, kept, not used.
    inbound: Option<BTreeMap<String, Value>>,
    /// Seed field: accepted, kept, not used.
    outbound: Option<BTreeMap<String, Value>>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct ParameterSpec {
    /// string | integer | boolean
    #[schema(rename = "type")]
    param_type: String,
    required: Option<bool>,
    default: Option<Value>,
    description: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct VariableSpec {
    /// string | integer | boolean
    #[schema(rename = "type")]
    var_type: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "camelCase")]
struct Draft {
    start_node: String,
    nodes: BTreeMap<String, NodeDocument>,
    edges: Option<BTreeMap<String, Value>>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "camelCase")]
struct NodeDocument {
    /// Must equal the key in `nodes`.
    id: String,
    /// Say | Gather | Set | If | Route | Flow | End | Disconnect
    #[schema(rename = "type")]
    node_type: String,
    properties: Option<BTreeMap<String, Value>>,
    on_complete: Option<CompleteExit>,
    on_error: Option<ErrorExit>,
}

/// `onComplete`: where the node goes next.
#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "camelCase")]
struct CompleteExit {
    next_node: Option<String>,
    /// Seed style: the same as `onError.nextNode`.
    on_error: Option<String>,
}

/// `onError`: where the node goes when it fails (it has no `onError` of its own).
#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "camelCase")]
struct ErrorExit {
    next_node: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only templates of this type.
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<FlowType>)]
    flow_type: Option<String>,
    /// Only names starting with this text.
    name_prefix: Option<String>,
    /// 1-500, default 50.
    #[param(minimum = 1, maximum = 500)]
    page_size: Option<u32>,
    /// `next_page_token` of the previous page.
    page_token: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct NamePath {
    /// Template name.
    pub(super) name: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct VersionPath {
    /// Template name.
    name: String,
    /// Version number, from 1.
    version: i64,
}

fn summary(row: &TemplateRow) -> TemplateSummary {
    TemplateSummary {
        name: row.name.clone(),
        version: row.version,
        flow_type: row.flow_type,
        description: row.description.clone(),
        content_hash: row.content_hash.clone(),
        created_at: row.created_at.clone(),
    }
}

fn full(row: TemplateRow) -> ApiResult<TemplateVersion> {
    let s = summary(&row);
    let document = row.document()?;
    let warnings = row.warnings()?;
    Ok(TemplateVersion {
        name: s.name,
        version: s.version,
        flow_type: s.flow_type,
        description: s.description,
        content_hash: s.content_hash,
        created_at: s.created_at,
        warnings,
        document,
    })
}

/// The template use cases, with this service's store and work limit.
pub(super) fn templates(state: &AppState) -> Templates<'_> {
    Templates {
        store: &state.store,
        work_limit: state.settings.limits.work(),
    }
}

impl From<TemplateError> for ApiError {
    fn from(e: TemplateError) -> ApiError {
        use TemplateError as E;
        match e {
            E::NotFound(what) => ApiError::NotFound(what),
            E::InvalidRequest { detail, errors } => ApiError::InvalidRequest { detail, errors },
            E::Invalid(findings) => ApiError::Validation { findings },
            E::Uncompilable(e) => ApiError::invalid(
                format!("the template cannot be compiled: {e}"),
                Finding::error(e.code(), "", e.to_string()),
            ),
            E::SimulationStopped {
                template: name,
                stop,
            } => {
                let at = template::pointer(["draft", "nodes", stop.node.as_str()]);
                let finding = Finding::error("simulation_limit", at, stop.what.clone()).with_hint(
                    format!("raise {} if this flow really needs it", stop.setting),
                );
                ApiError::invalid(
                    format!("the simulation of {name:?} was stopped: {stop}"),
                    finding,
                )
            }
            E::WorkLimit(limit) => ApiError::work_limit(limit),
            E::Internal(what) => ApiError::Internal(what),
            E::Store(e) => e.into(),
            E::Corrupt(e) => e.into(),
        }
    }
}

/// Store a template: a new version, or the latest one when the document is unchanged.
#[utoipa::path(post, path = "/v1/templates", tag = TAG_TEMPLATES, security(("bearer" = [])),
    request_body(content(
        (TemplateDocument = "application/json"),
        (String = "application/yaml")
    )),
    responses(
        (status = 201, description = "stored as a new version", body = TemplateVersion,
            headers(("Location" = String, description = "the new version"))),
        (status = 200, description = "identical to the latest version, which is returned", body = TemplateVersion),
        (status = 400, description = "the body is not JSON/YAML", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "unsupported Content-Type", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation errors, each with a JSON Pointer", body = Problem, content_type = "application/problem+json")
    ))]
async fn create_template(
    State(state): State<AppState>,
    DocumentBody(doc): DocumentBody,
) -> ApiResult<Response> {
    let outcome = templates(&state).store_version(doc).await?;
    Ok(match outcome {
        StoreOutcome::Created(row) => {
            let location = format!(
                "/v1/templates/{}/versions/{}",
                crate::diagram::path_segment(&row.name),
                row.version
            );
            let mut resp = (StatusCode::CREATED, Json(full(row)?)).into_response();
            if let Ok(v) = HeaderValue::from_str(&location) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            resp
        }
        StoreOutcome::Unchanged(row) => (StatusCode::OK, Json(full(row)?)).into_response(),
    })
}

/// List the latest version of every template, by name, a page at a time.
#[utoipa::path(get, path = "/v1/templates", tag = TAG_TEMPLATES, security(("bearer" = [])),
    params(ListParams),
    responses(
        (status = 200, description = "a page of templates", body = TemplatePage),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "bad query parameter", body = Problem, content_type = "application/problem+json")
    ))]
async fn list_templates(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<TemplatePage>> {
    let flow_type = flow_type_param(q.flow_type.as_deref())?;
    let page = Page::parse(q.page_size, q.page_token.as_deref())?;
    let mut rows = state
        .store
        .list_templates(&ListFilter {
            flow_type,
            name_prefix: q.name_prefix,
            after: page.after.clone(),
            limit: page.limit(),
        })
        .await?;
    let next_page_token = page.finish(&mut rows, |r| r.name.clone());
    Ok(Json(TemplatePage {
        items: rows.iter().map(summary).collect(),
        next_page_token,
    }))
}

fn no_template(name: &str) -> ApiError {
    ApiError::NotFound(format!("no template named {name:?}"))
}

/// The latest version of a template.
#[utoipa::path(get, path = "/v1/templates/{name}", tag = TAG_TEMPLATES, security(("bearer" = [])),
    params(NamePath),
    responses(
        (status = 200, description = "the latest version", body = TemplateVersion),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such template", body = Problem, content_type = "application/problem+json")
    ))]
async fn get_template(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<NamePath>,
) -> ApiResult<Json<TemplateVersion>> {
    let row = state
        .store
        .latest_template(&p.name)
        .await?
        .ok_or_else(|| no_template(&p.name))?;
    Ok(Json(full(row)?))
}

/// Delete a template (all versions). Refused while a flow record was provisioned from it.
#[utoipa::path(delete, path = "/v1/templates/{name}", tag = TAG_TEMPLATES, security(("bearer" = [])),
    params(NamePath),
    responses(
        (status = 204, description = "deleted"),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such template", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "flows were provisioned from it", body = Problem, content_type = "application/problem+json")
    ))]
async fn delete_template(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<NamePath>,
) -> ApiResult<StatusCode> {
    match state.store.delete_template(&p.name).await? {
        DeleteOutcome::Deleted => Ok(StatusCode::NO_CONTENT),
        DeleteOutcome::NotFound => Err(no_template(&p.name)),
        DeleteOutcome::InUse(users) => {
            let list: Vec<String> = users.iter().map(|(t, n)| format!("{n} in {t}")).collect();
            Err(ApiError::Conflict(format!(
                "template {:?} was provisioned as {}; it cannot be deleted while those flow records exist",
                p.name,
                list.join(", ")
            )))
        }
    }
}

/// Every version of a template, oldest first.
#[utoipa::path(get, path = "/v1/templates/{name}/versions", tag = TAG_TEMPLATES, security(("bearer" = [])),
    params(NamePath),
    responses(
        (status = 200, description = "all versions", body = VersionList),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such template", body = Problem, content_type = "application/problem+json")
    ))]
async fn list_versions(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<NamePath>,
) -> ApiResult<Json<VersionList>> {
    let rows = state
        .store
        .template_versions(&p.name)
        .await?
        .ok_or_else(|| no_template(&p.name))?;
    Ok(Json(VersionList {
        name: p.name,
        items: rows.iter().map(summary).collect(),
    }))
}

/// One version of a template.
#[utoipa::path(get, path = "/v1/templates/{name}/versions/{version}", tag = TAG_TEMPLATES, security(("bearer" = [])),
    params(VersionPath),
    responses(
        (status = 200, description = "the version", body = TemplateVersion),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such template or version", body = Problem, content_type = "application/problem+json")
    ))]
async fn get_version(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<VersionPath>,
) -> ApiResult<Json<TemplateVersion>> {
    let row = state
        .store
        .template_version(&p.name, p.version)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "template {:?} has no version {}",
                p.name, p.version
            ))
        })?;
    Ok(Json(full(row)?))
}

/// Validate a document without storing it. Always 200 when the body is a document: the
/// findings say whether it would be stored.
#[utoipa::path(post, path = "/v1/validate", tag = TAG_TEMPLATES, security(("bearer" = [])),
    request_body(content(
        (TemplateDocument = "application/json"),
        (String = "application/yaml")
    )),
    responses(
        (status = 200, description = "the findings", body = ValidationResult),
        (status = 400, description = "the body is not JSON/YAML", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "unsupported Content-Type", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "the body is JSON/YAML but not an object", body = Problem, content_type = "application/problem+json")
    ))]
async fn validate_document(
    State(state): State<AppState>,
    DocumentBody(doc): DocumentBody,
) -> ApiResult<Json<ValidationResult>> {
    let (_, report) = templates(&state).check(doc).await?;
    Ok(Json(ValidationResult {
        valid: !report.has_errors(),
        findings: template::answer_findings(&report.findings),
    }))
}
