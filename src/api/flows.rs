//! `/v1/flows`: flow records, what flowsmith knows is deployed in each target.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiPath, ApiQuery};
use super::paging::{Page, flow_type_param};
use super::{AppState, TAG_FLOWS};
use crate::error::{ApiError, ApiResult, Problem};
use crate::store::{FlowFilter, FlowRecordRow};
use crate::template::FlowType;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_flows))
        .routes(routes!(get_flow))
        .routes(routes!(get_flow_yaml))
}

/// A deployed flow.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FlowRecord {
    pub target: String,
    /// Genesys flow name.
    pub name: String,
    /// module (common module) or inbound (inbound call flow).
    #[serde(rename = "type")]
    pub flow_type: FlowType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_id: Option<String>,
    pub template_name: String,
    pub template_version: i64,
    #[schema(value_type = std::collections::BTreeMap<String, serde_json::Value>)]
    pub params: Map<String, Value>,
    /// SHA-256 of the deployed YAML.
    pub content_hash: String,
    /// SHA-256 of the plan-time YAML (queue ids in place of names), compared by plans.
    pub plan_hash: String,
    /// Genesys `publishedVersion.id`. Absent while unknown: the worker reads the versions of
    /// a job's succeeded steps together, in one request per 100 flows, when its steps are
    /// done; absent after the job ended only if that read failed (the next plan of the flow
    /// then updates it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_version: Option<String>,
    /// Flow names of the modules it calls.
    pub calls: Vec<String>,
    /// The job that deployed this version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FlowPage {
    pub items: Vec<FlowRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FlowListParams {
    target: Option<String>,
    /// Only flows of this type.
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<FlowType>)]
    flow_type: Option<String>,
    /// 1-500, default 50.
    #[param(minimum = 1, maximum = 500)]
    page_size: Option<u32>,
    /// `next_page_token` of the previous page.
    page_token: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct FlowPath {
    /// Target name.
    pub target: String,
    /// Genesys flow name.
    pub name: String,
}

fn view(r: FlowRecordRow) -> Result<FlowRecord, crate::jobs::Corrupt> {
    Ok(FlowRecord {
        flow_type: r.flow_type,
        params: r.params()?,
        calls: r.calls()?,
        target: r.target,
        name: r.name,
        flow_id: r.flow_id,
        template_name: r.template_name,
        template_version: r.template_version,
        content_hash: r.content_hash,
        plan_hash: r.plan_hash,
        published_version: r.published_version,
        job_id: r.job_id,
        updated_at: r.updated_at,
    })
}

/// Flow records by target and name, a page at a time.
#[utoipa::path(get, path = "/v1/flows", tag = TAG_FLOWS, security(("bearer" = [])),
    params(FlowListParams),
    responses(
        (status = 200, description = "a page of flow records", body = FlowPage),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "bad query parameter", body = Problem, content_type = "application/problem+json")
    ))]
async fn list_flows(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<FlowListParams>,
) -> ApiResult<Json<FlowPage>> {
    let flow_type = flow_type_param(q.flow_type.as_deref())?;
    let page = Page::parse(q.page_size, q.page_token.as_deref())?;
    // The key is `target\nname`; a key without the newline is the position before the
    // target's first name (any token the spec allows names a position).
    let after = page.after.as_deref().map(|key| {
        let (t, n) = key.split_once('\n').unwrap_or((key, ""));
        (t.to_owned(), n.to_owned())
    });
    let mut rows = state
        .store
        .list_flow_records(&FlowFilter {
            target: q.target,
            flow_type,
            after,
            limit: page.limit(),
        })
        .await?;
    let next_page_token = page.finish(&mut rows, |r| format!("{}\n{}", r.target, r.name));
    Ok(Json(FlowPage {
        items: rows.into_iter().map(view).collect::<Result<_, _>>()?,
        next_page_token,
    }))
}

async fn record(state: &AppState, target: &str, name: &str) -> ApiResult<FlowRecordRow> {
    state.store.flow_record(target, name).await?.ok_or_else(|| {
        ApiError::NotFound(format!("no flow {name:?} recorded in target {target:?}"))
    })
}

/// One flow record.
#[utoipa::path(get, path = "/v1/flows/{target}/{name}", tag = TAG_FLOWS, security(("bearer" = [])),
    params(FlowPath),
    responses(
        (status = 200, description = "the flow record", body = FlowRecord),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such flow record", body = Problem, content_type = "application/problem+json")
    ))]
async fn get_flow(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<FlowPath>,
) -> ApiResult<Json<FlowRecord>> {
    Ok(Json(view(record(&state, &p.target, &p.name).await?)?))
}

/// The Archy YAML file deployed for a flow.
#[utoipa::path(get, path = "/v1/flows/{target}/{name}/yaml", tag = TAG_FLOWS, security(("bearer" = [])),
    params(FlowPath),
    responses(
        (status = 200, description = "the deployed file", content_type = "application/yaml", body = String),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such flow record", body = Problem, content_type = "application/problem+json")
    ))]
async fn get_flow_yaml(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<FlowPath>,
) -> ApiResult<Response> {
    let r = record(&state, &p.target, &p.name).await?;
    Ok(([(header::CONTENT_TYPE, "application/yaml")], r.yaml).into_response())
}
