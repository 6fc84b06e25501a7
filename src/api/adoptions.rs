//! `POST /v1/targets/{target}/adoptions`: take over the flows an org already runs. Thin:
//! the use case is [`crate::jobs::adopt`].

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, ApiPath};
use super::jobs::{load_view, with_location};
use super::releases::TargetPath;
use super::{AppState, TAG_TARGETS};
use crate::error::{ApiResult, Problem};
use crate::jobs::adopt::{self, AdoptionRequest};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(adopt_flows))
}

/// Adopt the org's published inbound call flows and common modules (by name, or all): a job
/// with one `adopt` step per flow, modules first, each caller after the modules it calls.
/// A step exports the flow's published version as YAML (Architect export job), imports it
/// as a template (stored), and records the flow as flowsmith's, so that the next job for
/// the template plans `unchanged` and a changed template updates the same flow. Follow it
/// with `GET /v1/jobs/{id}` and its events; a file the importer refuses fails its own step.
#[utoipa::path(post, path = "/v1/targets/{target}/adoptions", tag = TAG_TARGETS, security(("bearer" = [])),
    params(TargetPath),
    request_body = AdoptionRequest,
    responses(
        (status = 202, description = "the adoption job, planned and queued (its `warnings` name callers whose module is not adopted, and flows left out)", body = super::jobs::JobView,
            headers(("Location" = String, description = "the job"))),
        (status = 400, description = "the body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such target", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "unsupported Content-Type", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "neither flows nor all, both, a repeated name, or a name the org does not have published", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "the org could not be read", body = Problem, content_type = "application/problem+json")
    ))]
async fn adopt_flows(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(p): ApiPath<TargetPath>,
    ApiJson(req): ApiJson<AdoptionRequest>,
) -> ApiResult<Response> {
    let request_id = crate::telemetry::request_id(&headers).map(str::to_owned);
    let row = adopt::adopt(&state.submitter(), &p.target, &req, request_id).await?;
    Ok(with_location(
        StatusCode::ACCEPTED,
        load_view(&state, &row.id).await?,
    ))
}
