//! Architect jobs: register a job, take the presigned upload, judge the YAML (the
//! sandbox's Archy stand-in) and publish, report the job.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use rand::Rng;
use serde_json::json;
use uuid::Uuid;

use super::super::archy::{self, Analysis, unverified::*};
use super::super::state::{FlowRec, JobMessage, JobRec, JobStatus, State, job_json};
use super::super::{ApiError, Caller, Sandbox, context_id};
use super::{ApiResult, Query, json_ok, parse_id};

pub(super) fn request_host(headers: &HeaderMap, uri: &axum::http::Uri) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| uri.authority().map(|a| a.to_string()))
        .unwrap_or_else(|| "127.0.0.1".to_owned())
}

pub(super) async fn jobs_register(
    AxState(sb): AxState<Sandbox>,
    Extension(Caller(client)): Extension<Caller>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> ApiResult {
    let id = Uuid::new_v4();
    let signature = hex::encode(rand::thread_rng().r#gen::<[u8; 16]>());
    let upload_headers: BTreeMap<String, String> = [
        ("Content-Type".to_owned(), UPLOAD_CONTENT_TYPE.to_owned()),
        (UPLOAD_SSE_HEADER.to_owned(), "AES256".to_owned()),
        (UPLOAD_SIGNATURE_HEADER.to_owned(), signature),
    ]
    .into();
    let job = JobRec {
        id,
        status: JobStatus::Registered,
        client_id: client,
        upload_headers: upload_headers.clone(),
        flow: None,
        messages: Vec::new(),
    };
    sb.lock().jobs.insert(id, job);
    let host = request_host(&headers, &uri);
    json_ok(json!({
        "id": id.to_string(),
        "presignedUrl": format!("http://{host}/sandbox-uploads/{id}"),
        "headers": upload_headers,
        "selfUri": format!("/api/v2/flows/jobs/{id}"),
    }))
}

pub(super) async fn job_get(
    AxState(sb): AxState<Sandbox>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let q = Query::parse(raw);
    let with_messages = q.all("expand").contains(&"messages");
    let uuid = parse_id(&id, "Architect job")?;
    let st = sb.lock();
    let job = st
        .jobs
        .get(&uuid)
        .ok_or_else(|| ApiError::not_found(format!("Architect job '{id}' was not found")))?;
    json_ok(job_json(job, with_messages))
}

pub(super) fn s3_error(code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{}</RequestId><HostId>sandbox</HostId></Error>",
        context_id()
    );
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "application/xml")],
        body,
    )
        .into_response()
}

/// The presigned URL: one-shot, requires every returned header, refuses an Authorization.
pub(super) async fn upload(
    AxState(sb): AxState<Sandbox>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if headers.contains_key(header::AUTHORIZATION) {
        return s3_error(
            "AccessDenied",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
        );
    }
    let Ok(uuid) = Uuid::parse_str(&id) else {
        return s3_error(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        );
    };
    let generation;
    {
        let mut st = sb.lock();
        generation = st.generation;
        let Some(job) = st.jobs.get_mut(&uuid) else {
            return s3_error(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            );
        };
        let all_present = job.upload_headers.iter().all(|(k, v)| {
            headers
                .get(k.as_str())
                .and_then(|h| h.to_str().ok())
                .is_some_and(|h| h == v)
        });
        if !all_present {
            return s3_error(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            );
        }
        if job.status != JobStatus::Registered {
            return s3_error("AccessDenied", "Request has expired");
        }
        job.status = JobStatus::Started;
    }
    let yaml = String::from_utf8_lossy(&body).into_owned();
    let sb = sb.clone();
    tokio::spawn(async move {
        process_job(sb.clone(), uuid, yaml, generation).await;
        sb.persist().await;
    });
    let etag = format!("\"{}\"", hex::encode(&Uuid::new_v4().as_bytes()[..]));
    (StatusCode::OK, [(header::ETAG, etag)]).into_response()
}

/// The background half of a job: wait `job_duration_ms`, run the checks, publish or fail.
pub(super) async fn process_job(sb: Sandbox, job_id: Uuid, yaml: String, generation: u64) {
    let duration = sb.faults().job_duration_ms;
    tokio::time::sleep(Duration::from_millis(duration)).await;
    let analysis = archy::analyze(&yaml);
    let mut st = sb.lock();
    if st.generation != generation {
        return;
    }
    let rate = st.faults.job_failure_rate;
    let random_failure = rate > 0.0 && rand::thread_rng().r#gen::<f64>() < rate;
    let Some(client) = st.jobs.get(&job_id).map(|j| j.client_id.clone()) else {
        return;
    };
    let outcome =
        analysis.and_then(|a| publish_checked(&mut st, &a, yaml, &client, random_failure));
    let Some(job) = st.jobs.get_mut(&job_id) else {
        return;
    };
    let now = Utc::now();
    match outcome {
        Ok(flow) => {
            job.flow = Some(flow);
            job.status = JobStatus::Success;
        }
        Err(msgs) => {
            job.status = JobStatus::Failure;
            job.messages.extend(msgs.into_iter().map(|text| JobMessage {
                at: now,
                kind: "Error",
                text,
            }));
        }
    }
}

/// Why the published module `m` may not be called from a flow of type `flow_type` by
/// `action`, if it may not: its `compatibleFlowTypes` lack the caller's type (none when the
/// file has no `settingsCommonModule`).
fn incompatible(
    name: &str,
    flow_type: &str,
    m: &crate::state::FlowRec,
    action: &str,
) -> Option<String> {
    let yaml = m
        .published
        .and_then(|i| m.versions.get(i))
        .and_then(|v| v.yaml.as_deref())?;
    let types = archy::compatible_flow_types(yaml);
    let caller = flow_type.to_ascii_lowercase();
    if types.contains(&caller) {
        return None;
    }
    Some(format!(
        "Error: Flow '{name}': common module flow '{}' called by action '{action}' is not compatible with flow type '{caller}' (its settingsCommonModule.compatibleFlowTypes: [{}])",
        m.name,
        types.join(", ")
    ))
}

/// Org-level checks of an analysed flow, then the upsert by (name, type) and a new
/// published version.
pub(super) fn publish_checked(
    st: &mut State,
    a: &Analysis,
    yaml: String,
    client: &str,
    random_failure: bool,
) -> Result<(Uuid, String), Vec<String>> {
    let name = &a.name;
    let mut errors = Vec::new();
    let compatibility = st.faults.module_compatibility;
    for (module, action) in &a.modules {
        match st.find_flow(module, "COMMONMODULE") {
            None => errors.push(format!(
                "Error: Flow '{name}': Unable to find common module flow '{module}' called by action '{action}'"
            )),
            Some(m) if m.published.is_none() => errors.push(format!(
                "Error: Flow '{name}': common module flow '{module}' called by action '{action}' has no published version"
            )),
            Some(m) if compatibility => {
                if let Some(e) = incompatible(name, a.flow_type, m, action) {
                    errors.push(e);
                }
            }
            Some(_) => {}
        }
    }
    for (queue, action) in &a.queues {
        if st.find_queue(queue).is_none() {
            errors.push(format!(
                "Error: Flow '{name}': Unable to find queue '{queue}' referenced by action '{action}'"
            ));
        }
    }
    errors.extend(st.org.refusals(name, &a.objects));
    let existing = st.find_flow(name, a.flow_type).map(|f| f.id);
    if let Some(f) = existing.and_then(|id| st.flows.get(&id))
        && let Some(other) = f.locked_by.as_ref().filter(|c| *c != client)
    {
        errors.push(format!(
            "Error: Flow '{name}' is locked by client '{other}' and cannot be published"
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if random_failure {
        let id = existing.unwrap_or_else(Uuid::new_v4);
        return Err(vec![
            RETRYABLE_FAILURE
                .replace("{name}", name)
                .replace("{id}", &id.to_string()),
        ]);
    }
    let id = match existing {
        Some(id) => id,
        None => {
            let f = FlowRec::new(name.clone(), a.flow_type.to_owned(), None);
            let id = f.id;
            st.flows.insert(id, f);
            id
        }
    };
    let mut modules: Vec<String> = Vec::new();
    for (m, _) in &a.modules {
        if !modules.iter().any(|x| x.eq_ignore_ascii_case(m)) {
            modules.push(m.clone());
        }
    }
    let f = st.flows.get_mut(&id).expect("inserted above");
    f.name = name.clone();
    f.publish(Some(yaml), modules, client);
    Ok((id, f.name.clone()))
}

/// `POST /sandbox/publish?client=ID` (admin: no token): publishes an Archy file as the OAuth client `ID` (the
/// default client when absent), judged as an Architect job would, at once: what a person
/// in Architect (or Archy) does to the org, for demos and for adopting an org. 200 with
/// the flow's id, name and version, or 422 with the job's messages.
pub(super) async fn flow_publish(
    AxState(sb): AxState<Sandbox>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let client = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "client")
        .map_or_else(
            || super::super::DEFAULT_CLIENT_ID.to_owned(),
            |(_, v)| v.into_owned(),
        );
    let yaml = String::from_utf8(body.to_vec())
        .map_err(|_| ApiError::bad_request("the body is not UTF-8"))?;
    let outcome = archy::analyze(&yaml).and_then(|a| {
        let mut st = sb.lock();
        publish_checked(&mut st, &a, yaml.clone(), &client, false).map(|(id, name)| {
            let version = st
                .flows
                .get(&id)
                .and_then(|f| f.published_version())
                .map(|v| v.id.clone());
            json!({"id": id.to_string(), "name": name, "version": version, "client": client})
        })
    });
    sb.persist().await;
    match outcome {
        Ok(v) => Ok((StatusCode::OK, axum::Json(v)).into_response()),
        Err(messages) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({"messages": messages})),
        )
            .into_response()),
    }
}
