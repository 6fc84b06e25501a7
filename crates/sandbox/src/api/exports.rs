//! Architect export jobs: register an export of one flow's version as YAML, report the job
//! with its `downloadUrl`, and serve the download (a presigned URL: no bearer token).
//!
//! Shapes: the Python SDK's `RegisterArchitectExportJob` (`flows`: `ExportDetails` with
//! `flow` (`ArchitectFlowReference`: `id`, `name`, `type`, `version`), `fileName`,
//! `exportType`), `RegisterArchitectExportJobResponse` (`id`, `status`, `totalFlows`,
//! `selfUri`) and `ArchitectExportJobStateResponse` (`id`, `status`, `command`,
//! `downloadUrl`, `messages`, `selfUri`). What the SDK leaves open is in
//! [`crate::archy::unverified`] (`EXPORT_*`).

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use rand::Rng;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::super::archy::unverified::{EXPORT_CONTENT_TYPE, EXPORT_TYPE_YAML};
use super::super::state::{ExportRec, FlowRec, JobMessage, JobStatus, State};
use super::super::{ApiError, Caller, Sandbox};
use super::jobs::{request_host, s3_error};
use super::{ApiResult, Query, json_ok, parse_id};

/// `RegisterArchitectExportJob`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Register {
    flows: Vec<ExportDetails>,
}

/// `ExportDetails`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportDetails {
    flow: FlowReference,
    #[serde(default)]
    file_name: Option<String>,
    #[serde(default)]
    export_type: Option<String>,
}

/// `ArchitectFlowReference`.
#[derive(Debug, Deserialize)]
struct FlowReference {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, rename = "type")]
    flow_type: Option<String>,
    #[serde(default)]
    version: Option<String>,
}

pub(super) async fn export_register(
    AxState(sb): AxState<Sandbox>,
    Extension(Caller(client)): Extension<Caller>,
    body: Bytes,
) -> ApiResult {
    let req: Register = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("Invalid export job request: {e}")))?;
    let [details] = req.flows.as_slice() else {
        return Err(ApiError::bad_request(
            "the sandbox exports exactly one flow per export job",
        ));
    };
    if let Some(t) = details.export_type.as_deref()
        && t != EXPORT_TYPE_YAML
    {
        return Err(ApiError::bad_request(format!(
            "exportType '{t}' is not supported by the sandbox (only '{EXPORT_TYPE_YAML}')"
        )));
    }
    if let Some(f) = details.file_name.as_deref()
        && (f.is_empty()
            || !f
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    {
        return Err(ApiError::bad_request(
            "fileName must contain only alphanumeric characters, underscores, or hyphens",
        ));
    }
    let id = Uuid::new_v4();
    let generation;
    let outcome;
    {
        let mut st = sb.lock();
        generation = st.generation;
        outcome = exported_yaml(&st, &details.flow)?;
        st.exports.insert(
            id,
            ExportRec {
                id,
                status: JobStatus::Started,
                client_id: client,
                yaml: None,
                signature: hex::encode(rand::thread_rng().r#gen::<[u8; 16]>()),
                messages: Vec::new(),
            },
        );
    }
    // Like an Architect job, the export ends after `job_duration_ms`.
    let duration = sb.faults().job_duration_ms;
    let sb2 = sb.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(duration)).await;
        let mut st = sb2.lock();
        if st.generation != generation {
            return;
        }
        let Some(job) = st.exports.get_mut(&id) else {
            return;
        };
        match outcome {
            Ok(yaml) => {
                job.yaml = Some(yaml);
                job.status = JobStatus::Success;
            }
            Err(text) => {
                job.status = JobStatus::Failure;
                job.messages.push(JobMessage {
                    at: Utc::now(),
                    kind: "Error",
                    text,
                });
            }
        }
    });
    json_ok(json!({
        "id": id.to_string(),
        "status": JobStatus::Registered.as_str(),
        "totalFlows": 1,
        "selfUri": format!("/api/v2/flows/export/jobs/{id}"),
    }))
}

/// The YAML of the referenced flow's version (the published one when no version is
/// given), or the message of a failed export. A flow that does not exist is a 404 at
/// registration.
fn exported_yaml(st: &State, r: &FlowReference) -> Result<Result<String, String>, ApiError> {
    let flow: &FlowRec = match (&r.id, &r.name, &r.flow_type) {
        (Some(id), _, _) => {
            let uuid = parse_id(id, "Flow")?;
            st.flows
                .get(&uuid)
                .ok_or_else(|| ApiError::not_found(format!("Flow '{id}' was not found")))?
        }
        (None, Some(name), Some(ty)) => st
            .find_flow(name, &ty.to_ascii_uppercase())
            .ok_or_else(|| ApiError::not_found(format!("Flow '{name}' was not found")))?,
        _ => {
            return Err(ApiError::bad_request(
                "flow needs an id, or both a name and a type",
            ));
        }
    };
    let version = match &r.version {
        Some(v) => flow.versions.iter().find(|x| &x.id == v),
        None => flow.published_version(),
    };
    let Some(version) = version else {
        return Ok(Err(format!(
            "Error: Flow '{}' has no version '{}' to export",
            flow.name,
            r.version.as_deref().unwrap_or("published")
        )));
    };
    Ok(version.yaml.clone().ok_or_else(|| {
        format!(
            "Error: Flow '{}' version {} has no Archy YAML in the sandbox (it was made through the flows API, not an Architect job)",
            flow.name, version.id
        )
    }))
}

pub(super) async fn export_get(
    AxState(sb): AxState<Sandbox>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> ApiResult {
    let q = Query::parse(raw);
    let with_messages = q.all("expand").contains(&"messages");
    let uuid = parse_id(&id, "Architect export job")?;
    let st = sb.lock();
    let job = st
        .exports
        .get(&uuid)
        .ok_or_else(|| ApiError::not_found(format!("Architect export job '{id}' was not found")))?;
    let mut v = json!({
        "id": job.id.to_string(),
        "status": job.status.as_str(),
        "command": "Export",
        "selfUri": format!("/api/v2/flows/export/jobs/{id}"),
    });
    if job.status == JobStatus::Success {
        let host = request_host(&headers, &uri);
        v["downloadUrl"] = Value::String(format!(
            "http://{host}/sandbox-downloads/{id}?signature={}",
            job.signature
        ));
    }
    if with_messages {
        v["messages"] = job
            .messages
            .iter()
            .map(|m| json!({"type": m.kind, "text": m.text}))
            .collect();
    }
    json_ok(v)
}

/// The presigned download: the signature must match; no Authorization header.
pub(super) async fn download(
    AxState(sb): AxState<Sandbox>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    if headers.contains_key(header::AUTHORIZATION) {
        return s3_error(
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
        );
    }
    let q = Query::parse(raw);
    let st = sb.lock();
    let job = Uuid::parse_str(&id).ok().and_then(|u| st.exports.get(&u));
    match job {
        Some(j) if q.one("signature") == Some(j.signature.as_str()) => match &j.yaml {
            Some(yaml) => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, EXPORT_CONTENT_TYPE)],
                yaml.clone(),
            )
                .into_response(),
            None => s3_error("NoSuchKey", "The specified key does not exist."),
        },
        _ => s3_error(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        ),
    }
}
