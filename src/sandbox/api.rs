//! Handlers of `/oauth/token`, `/api/v2/*` and the presigned upload URL.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post, put};
use base64::Engine;
use chrono::Utc;
use rand::Rng;
use serde_json::{Value, json};
use uuid::Uuid;

use super::archy::{self, Analysis, unverified::*};
use super::org;
use super::state::{
    FlowRec, JobMessage, JobRec, JobStatus, OperationRec, State, Token, flow_json, job_json,
    listing, operation_json, queue_json, version_json,
};
use super::{ApiError, Caller, Sandbox, context_id};

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
}

/// Fallback: 404 with an `ErrorBody`.
pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("The requested operation failed with status 404")
}

// ---------------------------------------------------------------------------------------
// Query helpers

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

// ---------------------------------------------------------------------------------------
// OAuth

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "error": error,
            "description": description,
            "error_description": description,
        })),
    )
        .into_response()
}

async fn oauth_token(AxState(sb): AxState<Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    match field("grant_type").as_deref() {
        None | Some("") => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            );
        }
        Some("client_credentials") => {}
        Some(other) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("grant type '{other}' is not supported"),
            );
        }
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, b64)| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
        })
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|s| s.split_once(':').map(|(a, b)| (a.to_owned(), b.to_owned())));
    let creds = basic.or_else(|| Some((field("client_id")?, field("client_secret")?)));
    let Some((id, secret)) = creds else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication is required",
        );
    };
    if sb.client_secret(&id) != Some(secret.as_str()) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client not found or authentication failed",
        );
    }
    let token = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
    let ttl = {
        let mut st = sb.lock();
        let ttl = st.faults.token_ttl;
        let now = Instant::now();
        if st.tokens.len() >= 10_000 {
            // Keep memory bounded under long runs: forget tokens that can no longer be used.
            st.tokens.retain(|_, t| t.expires_at > now);
        }
        st.tokens.insert(
            token.clone(),
            Token {
                client_id: id,
                expires_at: now + Duration::from_secs(ttl),
                window_start: now,
                count: 0,
            },
        );
        ttl
    };
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({"access_token": token, "token_type": "bearer", "expires_in": ttl})),
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------
// Flows

async fn flows_list(AxState(sb): AxState<Sandbox>, RawQuery(raw): RawQuery) -> ApiResult {
    let q = Query::parse(raw);
    let (number, size) = q.paging(25)?;
    let ids = q.all("id");
    let types: Vec<String> = q.all("type").iter().map(|t| t.to_lowercase()).collect();
    let name = q.one("name").map(str::to_lowercase);
    let name_or_desc = q.one("nameOrDescription").map(str::to_lowercase);
    let desc_order = match q.one("sortOrder").map(str::to_lowercase).as_deref() {
        None | Some("asc") | Some("ascending") => false,
        Some("desc") | Some("descending") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Invalid sortOrder '{other}'"
            )));
        }
    };
    let sort_by = q.one("sortBy").unwrap_or("name").to_owned();
    let st = sb.lock();
    let mut flows: Vec<&FlowRec> = st
        .flows
        .values()
        .filter(|f| {
            if !ids.is_empty() {
                return ids.iter().any(|i| *i == f.id.to_string());
            }
            let lname = f.name.to_lowercase();
            let ok_name = name.as_ref().is_none_or(|n| lname.contains(n.as_str()));
            let ok_nd = name_or_desc.as_ref().is_none_or(|n| {
                lname.contains(n.as_str())
                    || f.description
                        .as_ref()
                        .is_some_and(|d| d.to_lowercase().contains(n.as_str()))
            });
            let ok_type = types.is_empty() || types.contains(&f.flow_type.to_lowercase());
            ok_name && ok_nd && ok_type
        })
        .collect();
    match sort_by.as_str() {
        "id" => flows.sort_by_key(|f| f.id),
        "type" => flows.sort_by(|a, b| a.flow_type.cmp(&b.flow_type).then(a.name.cmp(&b.name))),
        _ => flows.sort_by(|a, b| {
            a.name
                .to_lowercase()
                .cmp(&b.name.to_lowercase())
                .then(a.id.cmp(&b.id))
        }),
    }
    if desc_order {
        flows.reverse();
    }
    let (items, total) = page(flows, number, size);
    let entities = items.into_iter().map(flow_json).collect();
    json_ok(listing(
        entities,
        total,
        number,
        size,
        "/api/v2/flows",
        &q.extra(),
    ))
}

fn check_type(t: &str) -> Result<String, ApiError> {
    let upper = t.to_uppercase();
    const TYPES: &[&str] = &[
        "BOT",
        "COMMONMODULE",
        "DIGITALBOT",
        "EMAILSEND",
        "INBOUNDCALL",
        "INBOUNDCHAT",
        "INBOUNDEMAIL",
        "INBOUNDSHORTMESSAGE",
        "INQUEUECALL",
        "INQUEUEEMAIL",
        "INQUEUESHORTMESSAGE",
        "OUTBOUNDCALL",
        "SECURECALL",
        "SPEECH",
        "SURVEYINVITE",
        "VOICE",
        "VOICEMAIL",
        "VOICESURVEY",
        "WORKFLOW",
        "WORKITEM",
    ];
    if TYPES.contains(&upper.as_str()) {
        Ok(upper)
    } else {
        Err(ApiError::bad_request(format!("Invalid flow type '{t}'")))
    }
}

fn parse_json_body(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("The request body could not be parsed: {e}")))
}

async fn flows_create(
    AxState(sb): AxState<Sandbox>,
    Extension(Caller(client)): Extension<Caller>,
    body: Bytes,
) -> ApiResult {
    let v = parse_json_body(&body)?;
    let name = v["name"]
        .as_str()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("A flow name is required"))?
        .to_owned();
    let flow_type = check_type(
        v["type"]
            .as_str()
            .ok_or_else(|| ApiError::bad_request("A flow type is required"))?,
    )?;
    let description = v["description"].as_str().map(str::to_owned);
    let mut st = sb.lock();
    if st.find_flow(&name, &flow_type).is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            CODE_FLOW_EXISTS,
            format!("A flow named '{name}' of type {flow_type} already exists"),
        ));
    }
    let mut f = FlowRec::new(name, flow_type, description);
    f.operation = Some(OperationRec::success("CREATE", &client));
    let out = flow_json(&f);
    st.flows.insert(f.id, f);
    json_ok(out)
}

fn get_flow<'a>(st: &'a State, id: &str) -> Result<&'a FlowRec, ApiError> {
    let uuid = parse_id(id, "Flow")?;
    st.flows.get(&uuid).ok_or_else(|| flow_not_found(id))
}

fn get_flow_mut<'a>(st: &'a mut State, id: &str) -> Result<&'a mut FlowRec, ApiError> {
    let uuid = parse_id(id, "Flow")?;
    st.flows.get_mut(&uuid).ok_or_else(|| flow_not_found(id))
}

fn locked_by_other(f: &FlowRec, client: &str) -> Result<(), ApiError> {
    match &f.locked_by {
        Some(other) if other != client => Err(ApiError::new(
            StatusCode::CONFLICT,
            CODE_FLOW_LOCKED,
            format!("Flow '{}' is locked by client '{other}'", f.name),
        )),
        _ => Ok(()),
    }
}

async fn flow_get(AxState(sb): AxState<Sandbox>, Path(id): Path<String>) -> ApiResult {
    let st = sb.lock();
    json_ok(flow_json(get_flow(&st, &id)?))
}

async fn flow_put(
    AxState(sb): AxState<Sandbox>,
    Extension(Caller(client)): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let v = parse_json_body(&body)?;
    let mut st = sb.lock();
    let (uuid, flow_type) = {
        let f = get_flow(&st, &id)?;
        locked_by_other(f, &client)?;
        (f.id, f.flow_type.clone())
    };
    if let Some(t) = v["type"].as_str()
        && check_type(t)? != flow_type
    {
        return Err(ApiError::bad_request(
            "The type of a flow cannot be changed",
        ));
    }
    if let Some(name) = v["name"].as_str() {
        if name.trim().is_empty() {
            return Err(ApiError::bad_request("A flow name is required"));
        }
        if st
            .find_flow(name, &flow_type)
            .is_some_and(|other| other.id != uuid)
        {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                CODE_FLOW_EXISTS,
                format!("A flow named '{name}' of type {flow_type} already exists"),
            ));
        }
    }
    let f = st.flows.get_mut(&uuid).expect("checked above");
    if let Some(name) = v["name"].as_str() {
        f.name = name.to_owned();
    }
    if let Some(d) = v.get("description") {
        f.description = d.as_str().map(str::to_owned);
    }
    f.operation = Some(OperationRec::success("UPDATE", &client));
    json_ok(flow_json(f))
}

async fn flow_delete(
    AxState(sb): AxState<Sandbox>,
    Extension(Caller(client)): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult {
    let mut st = sb.lock();
    let f = get_flow(&st, &id)?;
    locked_by_other(f, &client)?;
    if f.flow_type == "COMMONMODULE" {
        let consumers: Vec<String> = st
            .consumers_of(&f.name)
            .iter()
            .map(|c| format!("'{}'", c.name))
            .collect();
        if !consumers.is_empty() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                CODE_FLOW_IN_USE,
                format!(
                    "Common module flow '{}' cannot be deleted: it is used by the published flow(s) {}",
                    f.name,
                    consumers.join(", ")
                ),
            ));
        }
    }
    let uuid = f.id;
    st.flows.remove(&uuid);
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn flow_versions(
    AxState(sb): AxState<Sandbox>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let q = Query::parse(raw);
    let (number, size) = q.paging(25)?;
    let st = sb.lock();
    let f = get_flow(&st, &id)?;
    // Newest first, as Architect lists them.
    let all: Vec<Value> = f
        .versions
        .iter()
        .rev()
        .map(|v| version_json(f, v))
        .collect();
    let (items, total) = page(all, number, size);
    json_ok(listing(
        items,
        total,
        number,
        size,
        &format!("/api/v2/flows/{}/versions", f.id),
        &q.extra(),
    ))
}

fn flow_param(q: &Query) -> Result<String, ApiError> {
    q.one("flow")
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| ApiError::bad_request("The 'flow' query parameter is required"))
}

async fn action_publish(
    AxState(sb): AxState<Sandbox>,
    Extension(Caller(client)): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let q = Query::parse(raw);
    let id = flow_param(&q)?;
    let mut st = sb.lock();
    let f = get_flow_mut(&mut st, &id)?;
    locked_by_other(f, &client)?;
    let Some(latest) = f.versions.last().cloned() else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            CODE_NO_CONFIGURATION,
            format!("Flow '{}' has no configuration to publish", f.name),
        ));
    };
    f.publish(latest.yaml, latest.modules, &client);
    f.locked_by = None;
    json_ok(operation_json(
        f.operation.as_ref().expect("set by publish"),
    ))
}

async fn action_checkin(
    AxState(sb): AxState<Sandbox>,
    Extension(Caller(client)): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let q = Query::parse(raw);
    let id = flow_param(&q)?;
    let mut st = sb.lock();
    let f = get_flow_mut(&mut st, &id)?;
    locked_by_other(f, &client)?;
    if f.locked_by.is_none() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            CODE_FLOW_NOT_LOCKED,
            format!("Flow '{}' is not checked out", f.name),
        ));
    }
    f.locked_by = None;
    let op = OperationRec::success("CHECKIN", &client);
    let out = operation_json(&op);
    f.operation = Some(op);
    json_ok(out)
}

async fn action_checkout(
    AxState(sb): AxState<Sandbox>,
    Extension(Caller(client)): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let q = Query::parse(raw);
    let id = flow_param(&q)?;
    let mut st = sb.lock();
    let f = get_flow_mut(&mut st, &id)?;
    locked_by_other(f, &client)?;
    f.locked_by = Some(client.clone());
    f.operation = Some(OperationRec::success("CHECKOUT", &client));
    json_ok(flow_json(f))
}

async fn action_unlock(
    AxState(sb): AxState<Sandbox>,
    Extension(Caller(client)): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let q = Query::parse(raw);
    let id = flow_param(&q)?;
    let mut st = sb.lock();
    let f = get_flow_mut(&mut st, &id)?;
    f.locked_by = None;
    let mut op = OperationRec::success("CHECKIN", &client);
    op.status = "UNLOCKED";
    f.operation = Some(op);
    json_ok(flow_json(f))
}

// ---------------------------------------------------------------------------------------
// Architect jobs

fn request_host(headers: &HeaderMap, uri: &axum::http::Uri) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| uri.authority().map(|a| a.to_string()))
        .unwrap_or_else(|| "127.0.0.1".to_owned())
}

async fn jobs_register(
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

async fn job_get(
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

fn s3_error(code: &str, message: &str) -> Response {
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
async fn upload(
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
async fn process_job(sb: Sandbox, job_id: Uuid, yaml: String, generation: u64) {
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

/// Org-level checks of an analysed flow, then the upsert by (name, type) and a new
/// published version.
fn publish_checked(
    st: &mut State,
    a: &Analysis,
    yaml: String,
    client: &str,
    random_failure: bool,
) -> Result<(Uuid, String), Vec<String>> {
    let name = &a.name;
    let mut errors = Vec::new();
    for (module, action) in &a.modules {
        match st.find_flow(module, "COMMONMODULE") {
            None => errors.push(format!(
                "Error: Flow '{name}': Unable to find common module flow '{module}' called by action '{action}'"
            )),
            Some(m) if m.published.is_none() => errors.push(format!(
                "Error: Flow '{name}': common module flow '{module}' called by action '{action}' has no published version"
            )),
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

// ---------------------------------------------------------------------------------------
// Routing queues

fn queue_name_matches(pattern: &str, name: &str) -> bool {
    let p = pattern.to_lowercase();
    let n = name.to_lowercase();
    let lead = p.starts_with('*');
    let trail = p.ends_with('*') && p.len() > 1 || (p == "*");
    let core = p.trim_matches('*');
    match (lead, trail) {
        (true, true) => n.contains(core),
        (true, false) => n.ends_with(core),
        (false, true) => n.starts_with(core),
        (false, false) => n == core,
    }
}

async fn queues_list(AxState(sb): AxState<Sandbox>, RawQuery(raw): RawQuery) -> ApiResult {
    let q = Query::parse(raw);
    let (number, size) = q.paging(25)?;
    let ids = q.all("id");
    let name = q.one("name").filter(|n| !n.is_empty());
    let desc = matches!(
        q.one("sortOrder").map(str::to_lowercase).as_deref(),
        Some("desc") | Some("descending")
    );
    let st = sb.lock();
    let mut queues: Vec<_> = st
        .queues
        .iter()
        .filter(|qu| ids.is_empty() || ids.iter().any(|i| *i == qu.id.to_string()))
        .filter(|qu| name.is_none_or(|n| queue_name_matches(n, &qu.name)))
        .collect();
    queues.sort_by_key(|q| q.name.to_lowercase());
    if desc {
        queues.reverse();
    }
    let (items, total) = page(queues, number, size);
    let entities = items.into_iter().map(queue_json).collect();
    json_ok(listing(
        entities,
        total,
        number,
        size,
        "/api/v2/routing/queues",
        &q.extra(),
    ))
}

async fn queue_get(AxState(sb): AxState<Sandbox>, Path(id): Path<String>) -> ApiResult {
    let uuid = parse_id(&id, "Queue")?;
    let st = sb.lock();
    let q = st
        .queues
        .iter()
        .find(|q| q.id == uuid)
        .ok_or_else(|| ApiError::not_found(format!("Queue '{id}' was not found")))?;
    json_ok(queue_json(q))
}

// ---------------------------------------------------------------------------------------
// Org objects: data actions, data tables, schedule groups, prompts

/// Whether `name` passes every `name` filter (exact, case-insensitive; `*` wildcards at
/// either end); no filter passes everything.
fn names_match(filters: &[&str], name: &str) -> bool {
    filters.is_empty() || filters.iter().any(|f| queue_name_matches(f, name))
}

/// Sorts by name (`sortOrder=desc` reverses) and renders one page.
fn org_listing<T>(
    q: &Query,
    mut items: Vec<T>,
    name_of: impl Fn(&T) -> &str,
    render: impl Fn(T) -> Value,
    path: &str,
) -> ApiResult {
    let (number, size) = q.paging(25)?;
    items.sort_by_key(|x| name_of(x).to_lowercase());
    if matches!(
        q.one("sortOrder").map(str::to_lowercase).as_deref(),
        Some("desc") | Some("descending")
    ) {
        items.reverse();
    }
    let (items, total) = page(items, number, size);
    let entities = items.into_iter().map(render).collect();
    json_ok(listing(entities, total, number, size, path, &q.extra()))
}

/// `GET /api/v2/integrations/actions` → `ActionEntityListing`, filters `name`, `category`;
/// each `Action` carries its contract.
async fn actions_list(AxState(sb): AxState<Sandbox>, RawQuery(raw): RawQuery) -> ApiResult {
    let q = Query::parse(raw);
    let names: Vec<&str> = q
        .one("name")
        .into_iter()
        .filter(|n| !n.is_empty())
        .collect();
    let category = q.one("category").filter(|c| !c.is_empty());
    let st = sb.lock();
    let items: Vec<_> = st
        .org
        .data_actions
        .iter()
        .filter(|a| names_match(&names, &a.spec.name))
        .filter(|a| category.is_none_or(|c| a.spec.integration.eq_ignore_ascii_case(c)))
        .collect();
    org_listing(
        &q,
        items,
        |a| &a.spec.name,
        org::action_json,
        "/api/v2/integrations/actions",
    )
}

/// `GET /api/v2/flows/datatables` → `DataTablesDomainEntityListing`, filter `name`;
/// `expand=schema` adds each table's schema.
async fn datatables_list(AxState(sb): AxState<Sandbox>, RawQuery(raw): RawQuery) -> ApiResult {
    let q = Query::parse(raw);
    let names: Vec<&str> = q
        .one("name")
        .into_iter()
        .filter(|n| !n.is_empty())
        .collect();
    let with_schema = q.all("expand").contains(&"schema");
    let st = sb.lock();
    let items: Vec<_> = st
        .org
        .data_tables
        .iter()
        .filter(|t| names_match(&names, &t.spec.name))
        .collect();
    org_listing(
        &q,
        items,
        |t| &t.spec.name,
        |t| org::data_table_json(t, with_schema),
        "/api/v2/flows/datatables",
    )
}

/// `GET /api/v2/architect/schedulegroups` → `ScheduleGroupEntityListing`, filter `name`.
async fn schedule_groups_list(AxState(sb): AxState<Sandbox>, RawQuery(raw): RawQuery) -> ApiResult {
    let q = Query::parse(raw);
    let names: Vec<&str> = q
        .one("name")
        .into_iter()
        .filter(|n| !n.is_empty())
        .collect();
    let st = sb.lock();
    let items: Vec<_> = st
        .org
        .schedule_groups
        .iter()
        .filter(|g| names_match(&names, &g.spec.name))
        .collect();
    org_listing(
        &q,
        items,
        |g| &g.spec.name,
        org::schedule_group_json,
        "/api/v2/architect/schedulegroups",
    )
}

/// `GET /api/v2/architect/prompts` → `PromptEntityListing`, filter `name` (repeatable).
async fn prompts_list(AxState(sb): AxState<Sandbox>, RawQuery(raw): RawQuery) -> ApiResult {
    let q = Query::parse(raw);
    let names = q.all("name");
    let st = sb.lock();
    let items: Vec<_> = st
        .org
        .prompts
        .iter()
        .filter(|p| names_match(&names, &p.spec.name))
        .collect();
    org_listing(
        &q,
        items,
        |p| &p.spec.name,
        org::prompt_json,
        "/api/v2/architect/prompts",
    )
}

// ---------------------------------------------------------------------------------------
// Dependency tracking

async fn consuming_resources(AxState(sb): AxState<Sandbox>, RawQuery(raw): RawQuery) -> ApiResult {
    let q = Query::parse(raw);
    let (number, size) = q.paging(25)?;
    let id = q
        .one("id")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad_request("The 'id' query parameter is required"))?;
    let object_type = q
        .one("objectType")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad_request("The 'objectType' query parameter is required"))?
        .to_uppercase();
    let st = sb.lock();
    let module = Uuid::parse_str(id)
        .ok()
        .and_then(|u| st.flows.get(&u))
        .filter(|f| object_type == "COMMONMODULEFLOW" && f.flow_type == "COMMONMODULE");
    let consumers: Vec<Value> = match module {
        None => Vec::new(),
        Some(m) => st
            .consumers_of(&m.name)
            .into_iter()
            .map(|c| {
                json!({
                    "id": c.id.to_string(),
                    "name": c.name,
                    "version": c.published_version().map(|v| v.id.clone()),
                    "type": archy::dependency_type(&c.flow_type),
                    "deleted": false,
                    "updated": false,
                    "stateUnknown": false,
                    "selfUri": format!("/api/v2/flows/{}", c.id),
                })
            })
            .collect(),
    };
    let (items, total) = page(consumers, number, size);
    json_ok(listing(
        items,
        total,
        number,
        size,
        "/api/v2/architect/dependencytracking/consumingresources",
        &q.extra(),
    ))
}

#[cfg(test)]
mod tests {
    use super::queue_name_matches;

    #[test]
    fn queue_names() {
        assert!(queue_name_matches("general", "General"));
        assert!(!queue_name_matches("Gen", "General"));
        assert!(queue_name_matches("Gen*", "General"));
        assert!(queue_name_matches("*eral", "General"));
        assert!(queue_name_matches("*ner*", "General"));
    }
}
