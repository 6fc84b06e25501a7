//! Releases: the drift report of a target, a flow's history, and retiring a flow. Thin:
//! the use cases are in [`crate::jobs::releases`].

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiPath, ApiQuery};
use super::flows::FlowPath;
use super::jobs::{load_view, with_location};
use super::{AppState, TAG_FLOWS, TAG_TARGETS};
use crate::diagram::composition::{Composition, render_svg};
use crate::diagram::path_segment;
use crate::error::{ApiResult, Problem};
use crate::jobs::composition::composition;
use crate::jobs::plan::OnLocked;
use crate::jobs::releases::{self, DriftReport, FlowHistory};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(target_drift))
        .routes(routes!(target_composition))
        .routes(routes!(flow_history))
        .routes(routes!(retire_flow))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TargetPath {
    /// Target name.
    pub(super) target: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DriftQuery {
    /// For each flow published elsewhere, the unified diff from the YAML flowsmith deployed
    /// to the org's published version (one Architect export job per such flow).
    diff: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RetireParams {
    /// The flow is checked out by someone else: `fail` (default), `wait` or `unlock`.
    #[param(inline)]
    on_locked: Option<OnLocked>,
}

/// What the org really has of every flow flowsmith recorded in the target (one batched read
/// of the recorded flow ids), plus flows named like a template of which flowsmith has no
/// record. Also sets the `flowsmith_drifted_flows{target}` gauge.
#[utoipa::path(get, path = "/v1/targets/{target}/drift", tag = TAG_TARGETS, security(("bearer" = [])),
    params(TargetPath, DriftQuery),
    responses(
        (status = 200, description = "each flow's state: in_sync, published_elsewhere, deleted, locked or missing_record (with `diff=true`, the diff of each flow published elsewhere)", body = DriftReport),
        (status = 422, description = "a query parameter that is not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such target", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "the org could not be read", body = Problem, content_type = "application/problem+json")
    ))]
async fn target_drift(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<TargetPath>,
    ApiQuery(q): ApiQuery<DriftQuery>,
) -> ApiResult<Json<DriftReport>> {
    Ok(Json(
        releases::drift_report_with(
            &state.store,
            &state.clients,
            &p.target,
            q.diff.unwrap_or(false),
        )
        .await?,
    ))
}

/// How a composition is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CompositionFormat {
    Json,
    Svg,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CompositionQuery {
    /// json (default, or svg when `Accept` names `image/svg+xml`) or svg.
    #[param(inline)]
    format: Option<CompositionFormat>,
}

/// The composition of a target: every flow flowsmith recorded there (and every stored
/// template never deployed there), the modules each calls, and each one's state in the org
/// (`in_sync`, `drifted`, `deleted`, `never_deployed`, `deploying`), as JSON or as an SVG
/// picture coloured by state. Reads the org as the drift report does.
#[utoipa::path(get, path = "/v1/targets/{target}/composition", tag = TAG_TARGETS, security(("bearer" = [])),
    params(TargetPath, CompositionQuery),
    responses(
        (status = 200, description = "the flows, callers first, or their SVG picture", content(
            (Composition = "application/json"),
            (String = "image/svg+xml")
        )),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such target", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "bad format", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "the org could not be read", body = Problem, content_type = "application/problem+json")
    ))]
async fn target_composition(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<TargetPath>,
    ApiQuery(q): ApiQuery<CompositionQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let svg = match q.format {
        Some(f) => f == CompositionFormat::Svg,
        None => super::compile::accepts(&headers, &["image/svg+xml"]),
    };
    let c = composition(&state.store, &state.clients, &p.target).await?;
    if !svg {
        return Ok(Json(c).into_response());
    }
    let picture = super::cpu(&state, move || {
        render_svg(&c, &|f| {
            Some(format!(
                "/v1/templates/{}/diagram?format=svg",
                path_segment(&f.template)
            ))
        })
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], picture).into_response())
}

/// Every version of the flow that flowsmith published (and its deletion), newest first:
/// the job, the Genesys version, the plan hash and the YAML.
#[utoipa::path(get, path = "/v1/flows/{target}/{name}/history", tag = TAG_FLOWS, security(("bearer" = [])),
    params(FlowPath),
    responses(
        (status = 200, description = "the releases, newest first (at most 100)", body = FlowHistory),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "flowsmith never published this flow", body = Problem, content_type = "application/problem+json")
    ))]
async fn flow_history(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<FlowPath>,
) -> ApiResult<Json<FlowHistory>> {
    Ok(Json(
        releases::history(&state.store, &p.target, &p.name).await?,
    ))
}

/// Retire a flow: a job whose step deletes it in the org (`DELETE /api/v2/flows/{id}`) and
/// removes its record. A common module that published flows still call is refused.
#[utoipa::path(delete, path = "/v1/flows/{target}/{name}", tag = TAG_FLOWS, security(("bearer" = [])),
    params(FlowPath, RetireParams),
    responses(
        (status = 202, description = "the delete job, planned and queued", body = super::jobs::JobView,
            headers(("Location" = String, description = "the job"))),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such flow record", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "a common module still called by published flows; `errors` name the callers (Genesys dependency tracking and flowsmith's records)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a query parameter that is not allowed (`on_locked` other than fail, wait or unlock)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "the org's dependency tracking could not be read", body = Problem, content_type = "application/problem+json")
    ))]
async fn retire_flow(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(p): ApiPath<FlowPath>,
    ApiQuery(q): ApiQuery<RetireParams>,
) -> ApiResult<Response> {
    let request_id = crate::telemetry::request_id(&headers).map(str::to_owned);
    let row = releases::retire(
        &state.submitter(),
        &p.target,
        &p.name,
        q.on_locked.unwrap_or_default(),
        request_id,
    )
    .await?;
    Ok(with_location(
        StatusCode::ACCEPTED,
        load_view(&state, &row.id).await?,
    ))
}
