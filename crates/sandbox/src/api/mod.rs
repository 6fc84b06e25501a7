//! Handlers of `/oauth/token`, `/api/v2/*` and the presigned upload URL.

//!
//! One file per resource: [`oauth`], [`flows`], [`jobs`] (Architect jobs and the upload), [`exports`] (export jobs and the download),
//! [`queues`], [`org_objects`], [`dependencies`]; this file holds the routes and the query
//! and paging helpers they share.

mod dependencies;
mod exports;
mod flows;
mod jobs;
mod oauth;
mod org_objects;
mod queues;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post, put};
use serde_json::Value;
use uuid::Uuid;

use super::{ApiError, Sandbox};
use dependencies::consuming_resources;
use exports::{download, export_get, export_register};
use flows::{
    action_checkin, action_checkout, action_publish, action_unlock, flow_delete, flow_get,
    flow_put, flow_versions, flows_create, flows_list,
};
use jobs::{flow_publish, job_get, jobs_register, upload};
use oauth::oauth_token;
use org_objects::{actions_list, datatables_list, prompts_list, schedule_groups_list};
use queues::{queue_get, queues_list};

type ApiResult = Result<Response, ApiError>;

pub(crate) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/oauth/token", post(oauth_token))
        .route("/api/v2/flows", get(flows_list).post(flows_create))
        .route(
            "/api/v2/flows/{flowId}",
            get(flow_get).put(flow_put).delete(flow_delete),
        )
        .route("/api/v2/flows/{flowId}/versions", get(flow_versions))
        .route("/api/v2/flows/actions/publish", post(action_publish))
        .route("/api/v2/flows/actions/checkin", post(action_checkin))
        .route("/api/v2/flows/actions/checkout", post(action_checkout))
        .route("/api/v2/flows/actions/unlock", post(action_unlock))
        .route("/api/v2/flows/jobs", post(jobs_register))
        .route("/api/v2/flows/jobs/{jobId}", get(job_get))
        .route("/api/v2/flows/export/jobs", post(export_register))
        .route("/api/v2/flows/export/jobs/{jobId}", get(export_get))
        .route("/api/v2/routing/queues", get(queues_list))
        .route("/api/v2/integrations/actions", get(actions_list))
        .route("/api/v2/flows/datatables", get(datatables_list))
        .route(
            "/api/v2/architect/schedulegroups",
            get(schedule_groups_list),
        )
        .route("/api/v2/architect/prompts", get(prompts_list))
        .route("/api/v2/routing/queues/{queueId}", get(queue_get))
        .route(
            "/api/v2/architect/dependencytracking/consumingresources",
            get(consuming_resources),
        )
        .route("/sandbox-uploads/{jobId}", put(upload))
        .route("/sandbox/publish", post(flow_publish))
        .route("/sandbox-downloads/{jobId}", get(download))
}

/// Fallback: 404 with an `ErrorBody`.
pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("The requested operation failed with status 404")
}

struct Query(Vec<(String, String)>);

impl Query {
    fn parse(raw: Option<String>) -> Query {
        Query(
            url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .into_owned()
                .collect(),
        )
    }
    fn one(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    }
    /// `pageNumber`/`pageSize` with Genesys defaults and bounds.
    fn paging(&self, default_size: usize) -> Result<(usize, usize), ApiError> {
        let num = |key: &str, default: usize| -> Result<usize, ApiError> {
            match self.one(key) {
                None | Some("") => Ok(default),
                Some(v) => v.parse::<usize>().map_err(|_| {
                    ApiError::bad_request(format!("Invalid value '{v}' for parameter {key}"))
                }),
            }
        };
        let number = num("pageNumber", 1)?;
        let size = num("pageSize", default_size)?;
        if number < 1 {
            return Err(ApiError::bad_request("pageNumber must be at least 1"));
        }
        if !(1..=500).contains(&size) {
            return Err(ApiError::bad_request("pageSize must be between 1 and 500"));
        }
        Ok((number, size))
    }
    /// The query without paging parameters, for the listing URIs.
    fn extra(&self) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.0 {
            if k != "pageNumber" && k != "pageSize" {
                s.append_pair(k, v);
            }
        }
        s.finish()
    }
}

fn page<T>(items: Vec<T>, number: usize, size: usize) -> (Vec<T>, usize) {
    let total = items.len();
    let start = (number - 1).saturating_mul(size);
    (items.into_iter().skip(start).take(size).collect(), total)
}

fn parse_id(id: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::not_found(format!("{what} '{id}' was not found")))
}

fn flow_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Flow '{id}' was not found"))
}

fn json_ok(v: Value) -> ApiResult {
    Ok((StatusCode::OK, Json(v)).into_response())
}
