//! Health, readiness, the API description, and the target list.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AppState, TAG_OPERATIONS, TAG_TARGETS, TargetView};
use crate::error::{ApiError, ApiResult, Problem};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(openapi_json))
        .routes(routes!(openapi_yaml))
}

pub fn v1_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_targets))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// "ok"
    pub status: String,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = TAG_OPERATIONS,
    responses((status = 200, description = "alive", body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// Readiness: the database answers and accepts writes, and the job worker is alive.
///
/// After a write the database refused (a full disk, a read-only file, an I/O error), a write
/// probe decides: not ready until one succeeds.
#[utoipa::path(get, path = "/readyz", tag = TAG_OPERATIONS,
    responses(
        (status = 200, description = "ready", body = Health),
        (status = 503, description = "not ready", body = Problem, content_type = "application/problem+json")
    ))]
async fn readyz(State(state): State<AppState>) -> ApiResult<Json<Health>> {
    // The pool gives up after the acquire timeout; this bounds a connect that hangs too.
    let bound = std::time::Duration::from_millis(state.settings.database_acquire_timeout_ms);
    match tokio::time::timeout(bound, state.store.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(ApiError::Unavailable(database_fault(&e))),
        Err(_) => {
            return Err(ApiError::Unavailable(format!(
                "the database cannot be reached: no answer within {} ms \
                 (database_acquire_timeout_ms)",
                bound.as_millis()
            )));
        }
    }
    if let Err(f) = state.store.check_writes().await {
        return Err(ApiError::Unavailable(format!(
            "the database refuses writes ({}) since {} s ago: {}; a write probe failed too",
            f.fault.as_str(),
            f.since.elapsed().as_secs(),
            f.message
        )));
    }
    if let Some(worker) = &state.worker {
        // The worker loop goes round at least every poll interval (default 500 ms).
        match worker.age_ms() {
            Some(age) if age < 30_000 => {}
            Some(age) => {
                return Err(ApiError::Unavailable(format!(
                    "the job worker has not run for {age} ms"
                )));
            }
            None => {
                return Err(ApiError::Unavailable(
                    "the job worker has not started".into(),
                ));
            }
        }
    }
    Ok(Json(Health {
        status: "ok".into(),
    }))
}

/// What readiness says of a database that does not answer: the fault and its cause.
fn database_fault(e: &sqlx::Error) -> String {
    match (crate::store::StorageFault::of(e), e) {
        (_, sqlx::Error::PoolTimedOut) => {
            "the database cannot be reached: no connection within the acquire timeout \
             (database_acquire_timeout_ms; the server is down, unreachable or out of connections)"
                .to_owned()
        }
        (Some(fault), _) => format!("the database cannot be reached ({}): {e}", fault.as_str()),
        (None, _) => format!("the database does not answer: {e}"),
    }
}

/// This API's OpenAPI 3.1 document, as JSON.
#[utoipa::path(get, path = "/openapi.json", tag = TAG_OPERATIONS,
    responses((status = 200, description = "OpenAPI document", content_type = "application/json", body = std::collections::BTreeMap<String, serde_json::Value>)))]
async fn openapi_json(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.spec.json.clone(),
    )
}

/// This API's OpenAPI 3.1 document, as YAML.
#[utoipa::path(get, path = "/openapi.yaml", tag = TAG_OPERATIONS,
    responses((status = 200, description = "OpenAPI document", content_type = "application/yaml", body = std::collections::BTreeMap<String, serde_json::Value>)))]
async fn openapi_yaml(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/yaml")],
        state.spec.yaml.clone(),
    )
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TargetList {
    pub items: Vec<TargetView>,
}

/// Configured targets (Genesys Cloud orgs), without secrets.
#[utoipa::path(get, path = "/v1/targets", tag = TAG_TARGETS, security(("bearer" = [])),
    responses(
        (status = 200, description = "configured targets", body = TargetList),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json")
    ))]
async fn list_targets(State(state): State<AppState>) -> Json<TargetList> {
    Json(TargetList {
        items: state
            .settings
            .targets
            .iter()
            .map(TargetView::from)
            .collect(),
    })
}
