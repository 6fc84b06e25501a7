//! `/v1/jobs`: plan and queue provisioning jobs, follow them, cancel and retry them.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::paging::{Page, optional_param};
use super::{AppState, TAG_JOBS};
use crate::error::{ApiError, ApiResult, Problem};
use crate::job_model::{Corrupt, JobStatus, StepError, StepState, decode_json};
use crate::jobs::plan::JobRequest;
use crate::jobs::{IdempotencyKey, Submitted, control, releases};
use crate::store::{JobFilter, JobRow, StepCount, StepRow};
use crate::template::{Finding, FlowType};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_job, list_jobs))
        .routes(routes!(get_job))
        .routes(routes!(job_events))
        .routes(routes!(cancel_job))
        .routes(routes!(retry_job))
        .routes(routes!(rollback_job))
}

/// Counts of a job's steps by outcome.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct Progress {
    pub total: usize,
    /// Steps that reached a final state.
    pub done: usize,
    /// Steps that provisioned their flow (not counting `unchanged`).
    pub succeeded: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Steps whose flow was already deployed as planned.
    pub unchanged: usize,
    pub cancelled: usize,
    pub running: usize,
    pub pending: usize,
}

// The API's view of a stored `StepError`: the fields clients know (not, e.g., `retries`).
// The doc line below is the schema's description in openapi.yaml.
/// A step's error: `kind` and `message`, plus what Genesys said.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = StepError)]
pub struct StepErrorView {
    /// e.g. architect_job_failed, genesys_api, unknown_queue, dependency_failed, cancelled.
    pub kind: String,
    pub message: String,
    /// Architect job messages (`{type, text}`), every one of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<std::collections::BTreeMap<String, serde_json::Value>>)]
    pub messages: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genesys_job_id: Option<String>,
    /// Index of the module step whose failure skipped this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<usize>,
}

impl From<&StepError> for StepErrorView {
    fn from(e: &StepError) -> StepErrorView {
        let mut view = StepErrorView {
            kind: e.kind().to_owned(),
            message: e.message().to_owned(),
            messages: Vec::new(),
            status: None,
            code: None,
            correlation_id: None,
            genesys_job_id: None,
            depends_on: None,
        };
        match e {
            StepError::ArchitectJobFailed {
                messages,
                genesys_job_id,
                ..
            } => {
                view.messages.clone_from(messages);
                view.genesys_job_id = Some(genesys_job_id.clone());
            }
            StepError::Timeout { genesys_job_id, .. } => {
                view.genesys_job_id = Some(genesys_job_id.clone());
            }
            StepError::GenesysApi {
                status,
                code,
                correlation_id,
                ..
            } => {
                view.status = Some(*status);
                view.code = Some(code.clone());
                view.correlation_id.clone_from(correlation_id);
            }
            StepError::DependencyFailed { depends_on, .. } => view.depends_on = Some(*depends_on),
            _ => {}
        }
        view
    }
}

/// Why a step ended as it did when its planned action did not say so.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StepNote {
    /// `unchanged_at_run_time`: planned `create` or `update`, but when the step ran an earlier
    /// job had already deployed the same content (same plan hash, published), so nothing was
    /// sent to Genesys and the action became `unchanged`.
    pub kind: String,
    pub message: String,
    /// The job that deployed the content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
}

/// One flow of a job.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StepView {
    pub idx: usize,
    pub flow_name: String,
    pub template_name: String,
    pub template_version: i64,
    /// As provisioned: module (common module) or inbound (inbound call flow).
    pub flow_type: FlowType,
    pub action: crate::jobs::Action,
    pub state: StepState,
    /// Indices of the module steps this step waits for.
    pub depends_on: Vec<usize>,
    /// SHA-256 of the YAML (the deployed one once the step ran).
    pub content_hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub genesys_job_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_id: Option<String>,
    /// Genesys `publishedVersion.id`. Absent while unknown: the worker reads the versions of
    /// a job's succeeded steps together, in one request per 100 flows, when its steps are
    /// done; absent after the job ended only if that read failed (the next plan of the flow
    /// then updates it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<StepErrorView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<StepNote>,
    #[schema(value_type = std::collections::BTreeMap<String, serde_json::Value>)]
    pub params: Map<String, Value>,
    pub warnings: Vec<Finding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub finished_at: Option<String>,
}

/// A provisioning job.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobView {
    pub id: String,
    pub target: String,
    pub status: JobStatus,
    pub dry_run: bool,
    pub cancel_requested: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// The `x-request-id` of the `POST /v1/jobs` that created the job (the worker's log lines
    /// for the job and its steps carry it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// How many times a worker claimed it.
    pub attempt: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub finished_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub progress: Progress,
    /// Plan warnings (e.g. an inbound template provisioned as a module).
    pub warnings: Vec<Finding>,
    /// The steps (absent in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<StepView>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobPage {
    pub items: Vec<JobView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JobListParams {
    /// Only jobs with this status.
    #[param(value_type = Option<JobStatus>)]
    status: Option<String>,
    target: Option<String>,
    /// 1-500, default 50.
    #[param(minimum = 1, maximum = 500)]
    page_size: Option<u32>,
    /// `next_page_token` of the previous page.
    page_token: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct JobPath {
    /// Job id.
    id: String,
}

/// Progress from step counts by (state, action).
fn progress(counts: impl Iterator<Item = (StepState, crate::jobs::Action, usize)>) -> Progress {
    let mut p = Progress::default();
    for (state, action, n) in counts {
        p.total += n;
        let slot = match (state, action) {
            (StepState::Succeeded, crate::jobs::Action::Unchanged) => &mut p.unchanged,
            (StepState::Succeeded, _) => &mut p.succeeded,
            (StepState::Failed, _) => &mut p.failed,
            (StepState::Skipped, _) => &mut p.skipped,
            (StepState::Cancelled, _) => &mut p.cancelled,
            (StepState::Running, _) => &mut p.running,
            (StepState::Pending, _) => &mut p.pending,
        };
        *slot += n;
    }
    p.done = p.total - p.running - p.pending;
    p
}

/// A stored step as the API shows it; a JSON column that does not read back is an error
/// naming the row, never an empty value.
fn step_view(s: &StepRow) -> Result<StepView, Corrupt> {
    Ok(StepView {
        idx: s.idx as usize,
        flow_name: s.flow_name.clone(),
        template_name: s.template_name.clone(),
        template_version: s.template_version,
        flow_type: s.flow_type,
        action: s.action,
        state: s.state,
        depends_on: s.depends_on()?,
        content_hash: s.content_hash.clone(),
        genesys_job_id: s.genesys_job_id.clone(),
        flow_id: s.flow_id.clone(),
        published_version: s.published_version.clone(),
        error: s
            .error
            .as_deref()
            .map(|e| s.decode::<StepError>("error", e))
            .transpose()?
            .as_ref()
            .map(StepErrorView::from),
        note: s.note.as_deref().map(|n| s.decode("note", n)).transpose()?,
        params: s.params()?,
        warnings: s.decode("warnings", &s.warnings)?,
        started_at: s.started_at.clone(),
        finished_at: s.finished_at.clone(),
    })
}

/// What a view reads of a job's stored plan.
#[derive(Deserialize)]
struct StoredPlan {
    #[serde(default)]
    warnings: Vec<Finding>,
}

/// A job with its steps.
fn job_view(j: &JobRow, steps: &[StepRow]) -> Result<JobView, Corrupt> {
    let progress = progress(steps.iter().map(|s| (s.state, s.action, 1)));
    let steps = steps.iter().map(step_view).collect::<Result<_, _>>()?;
    job_summary(j, progress, Some(steps))
}

/// A job as lists show it (`steps` absent) or with its steps.
fn job_summary(
    j: &JobRow,
    progress: Progress,
    steps: Option<Vec<StepView>>,
) -> Result<JobView, Corrupt> {
    let plan: StoredPlan = decode_json("jobs", "plan", format!("job {}", j.id), &j.plan)?;
    Ok(JobView {
        id: j.id.clone(),
        target: j.target.clone(),
        status: j.status,
        dry_run: j.dry_run,
        cancel_requested: j.cancel_requested,
        description: j.description.clone(),
        idempotency_key: j.idempotency_key.clone(),
        request_id: j.request_id.clone(),
        attempt: j.attempt,
        created_at: j.created_at.clone(),
        started_at: j.started_at.clone(),
        finished_at: j.finished_at.clone(),
        error: j.error.clone(),
        progress,
        warnings: plan.warnings,
        steps,
    })
}

pub(super) async fn load_view(state: &AppState, id: &str) -> ApiResult<JobView> {
    let job = state.store.job(id).await?.ok_or_else(|| no_job(id))?;
    let steps = state.store.job_step_views(id).await?;
    Ok(job_view(&job, &steps)?)
}

/// One event of a job's stream, as an SSE client parses it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // The schema of the stream's events; axum's `Event` writes them.
pub(super) struct SseEvent {
    /// The event's sequence number in its job: send it back as `Last-Event-ID` to resume.
    id: String,
    /// What happened, e.g. `job.created`, `step.succeeded`, `job.failed`.
    event: String,
    /// The event's details, JSON.
    data: String,
}

/// Where a reconnecting client resumes: after `Last-Event-ID`, else from the start. An id
/// that is not an integer cannot be one this stream sent: 422 rather than a silent replay.
fn last_event_id(headers: &HeaderMap) -> Result<i64, ApiError> {
    let Some(v) = headers.get("last-event-id") else {
        return Ok(0);
    };
    v.to_str()
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map(|id| id.max(0))
        .ok_or_else(|| ApiError::InvalidRequest {
            detail: "the Last-Event-ID header is not an event id: send back the `id` of the \
                     last event received (an integer)"
                .into(),
            errors: Vec::new(),
        })
}

fn no_job(id: &str) -> ApiError {
    ApiError::NotFound(format!("no job with id {id:?}"))
}

pub(super) fn with_location(status: StatusCode, view: JobView) -> Response {
    let location = format!("/v1/jobs/{}", view.id);
    let mut resp = (status, Json(view)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// Plan a provisioning job and queue it. The plan is made before answering, so a request
/// that cannot be provisioned is a 422 naming the flow, parameter or node at fault.
#[utoipa::path(post, path = "/v1/jobs", tag = TAG_JOBS, security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "replays return the same job")),
    request_body = JobRequest,
    responses(
        (status = 202, description = "planned and queued (a dry run: planned and finished)", body = JobView,
            headers(("Location" = String, description = "the job"))),
        (status = 200, description = "the job created earlier with this Idempotency-Key", body = JobView,
            headers(("Location" = String, description = "the job"))),
        (status = 400, description = "the body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "unsupported Content-Type", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "a module in `delete` is still called by published flows outside the request; `errors` name the callers", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "unknown target, template, flow or field; missing parameter; unresolved module; invalid template; Idempotency-Key reused with another request", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "the org's dependency tracking could not be read for a delete", body = Problem, content_type = "application/problem+json")
    ))]
async fn create_job(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<JobRequest>,
) -> ApiResult<Response> {
    let key = match headers.get("idempotency-key") {
        Some(v) => Some(IdempotencyKey::parse(v.to_str().unwrap_or(""))?),
        None => None,
    };
    let request_id = crate::telemetry::request_id(&headers).map(str::to_owned);
    let (status, row) = match state.submitter().create(&req, key, request_id).await? {
        Submitted::Created(row) => (StatusCode::ACCEPTED, row),
        Submitted::Replayed(row) => (StatusCode::OK, row),
    };
    Ok(with_location(status, load_view(&state, &row.id).await?))
}

/// Roll back a finished job: a new job republishes, for every flow the job changed, the file
/// it had before (modules first, their callers after). Flows the job created stay in place
/// and are named in the new job's warnings.
#[utoipa::path(post, path = "/v1/jobs/{id}/rollback", tag = TAG_JOBS, security(("bearer" = [])),
    params(JobPath),
    responses(
        (status = 202, description = "the rollback job, planned and queued", body = JobView,
            headers(("Location" = String, description = "the new job"))),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such job", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the job is not finished, is a dry run, or changed no flow that had an earlier version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "an earlier version cannot be planned again (e.g. its template version is gone)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "the org could not be read", body = Problem, content_type = "application/problem+json")
    ))]
async fn rollback_job(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(p): ApiPath<JobPath>,
) -> ApiResult<Response> {
    let request_id = crate::telemetry::request_id(&headers).map(str::to_owned);
    let row = releases::rollback(&state.submitter(), &p.id, request_id).await?;
    Ok(with_location(
        StatusCode::ACCEPTED,
        load_view(&state, &row.id).await?,
    ))
}

/// List jobs, newest first, a page at a time.
#[utoipa::path(get, path = "/v1/jobs", tag = TAG_JOBS, security(("bearer" = [])),
    params(JobListParams),
    responses(
        (status = 200, description = "a page of jobs (without their steps)", body = JobPage),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "bad query parameter", body = Problem, content_type = "application/problem+json")
    ))]
async fn list_jobs(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<JobListParams>,
) -> ApiResult<Json<JobPage>> {
    let status = optional_param(
        q.status.as_deref(),
        |s| s.parse::<JobStatus>().ok(),
        "status must be queued, running, succeeded, failed or cancelled",
    )?;
    let page = Page::parse(q.page_size, q.page_token.as_deref())?;
    let mut rows = state
        .store
        .list_jobs(&JobFilter {
            status,
            target: q.target,
            before: page.after.clone(),
            limit: page.limit(),
        })
        .await?;
    let next_page_token = page.finish(&mut rows, |r| r.id.clone());
    // The steps of the whole page in one query: their counts are all a list shows.
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut counts: HashMap<String, Vec<StepCount>> = HashMap::new();
    for c in state.store.step_counts(&ids).await? {
        counts.entry(c.job_id.clone()).or_default().push(c);
    }
    let mut items = Vec::with_capacity(rows.len());
    for r in &rows {
        let of_job = counts.remove(&r.id).unwrap_or_default();
        let n = |c: &StepCount| usize::try_from(c.n).unwrap_or(0);
        let progress = progress(of_job.iter().map(|c| (c.state, c.action, n(c))));
        items.push(job_summary(r, progress, None)?);
    }
    Ok(Json(JobPage {
        items,
        next_page_token,
    }))
}

/// One job with its steps: actions, states, Genesys job ids, flow ids, published versions
/// and errors.
#[utoipa::path(get, path = "/v1/jobs/{id}", tag = TAG_JOBS, security(("bearer" = [])),
    params(JobPath),
    responses(
        (status = 200, description = "the job", body = JobView),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such job", body = Problem, content_type = "application/problem+json")
    ))]
async fn get_job(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<JobPath>,
) -> ApiResult<Response> {
    // Every change the view shows appends an event, so the last event's number versions
    // the rendered JSON: a poll of an unchanged job is one indexed lookup, not a read of
    // every step and a new rendering.
    let Some(version) = state.store.job_version(&p.id).await? else {
        return Err(no_job(&p.id));
    };
    if let Some(body) = state.job_views.get(&p.id, version) {
        return Ok(json_bytes(body));
    }
    // One rendering per job at a time: when the job changes under many polls at once, the
    // others wait for it and take its body, instead of each reading every step and
    // rendering the same view (work that grew with the backlog and kept it growing).
    let render = state.job_views.render_lock(&p.id);
    let _rendering = render.lock().await;
    if let Some(body) = state.job_views.get(&p.id, version) {
        return Ok(json_bytes(body));
    }
    let view = load_view(&state, &p.id).await?;
    let body = axum::body::Bytes::from(serde_json::to_vec(&view).unwrap_or_default());
    state.job_views.put(&p.id, version, body.clone());
    Ok(json_bytes(body))
}

fn json_bytes(body: axum::body::Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// Rendered `GET /v1/jobs/{id}` bodies by job id and version (the last event's number).
#[derive(Default)]
pub struct JobViewCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, CachedView>>,
}

#[derive(Default)]
struct CachedView {
    body: Option<(i64, axum::body::Bytes)>,
    /// Held while the job's view is rendered.
    render: Arc<tokio::sync::Mutex<()>>,
}

impl JobViewCache {
    /// Bound on cached jobs; the cache is emptied when it is reached (jobs being polled
    /// come back at once).
    const CAPACITY: usize = 256;

    /// The cached body if it is of `version` or later (versions only grow: a later body is
    /// as fresh as the request asked for).
    fn get(&self, id: &str, version: i64) -> Option<axum::body::Bytes> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(id)
            .and_then(|e| e.body.as_ref())
            .filter(|(v, _)| *v >= version)
            .map(|(_, b)| b.clone())
    }

    fn render_lock(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        match self.entries.lock() {
            Ok(mut entries) => {
                if entries.len() >= Self::CAPACITY && !entries.contains_key(id) {
                    entries.clear();
                }
                entries.entry(id.to_owned()).or_default().render.clone()
            }
            // A poisoned map only costs the single rendering.
            Err(_) => Arc::default(),
        }
    }

    fn put(&self, id: &str, version: i64, body: axum::body::Bytes) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= Self::CAPACITY && !entries.contains_key(id) {
                entries.clear();
            }
            let e = entries.entry(id.to_owned()).or_default();
            if e.body.as_ref().is_none_or(|(v, _)| *v <= version) {
                e.body = Some((version, body));
            }
        }
    }
}

/// Server-Sent Events of a job: every stored event after `Last-Event-ID` (or from the
/// start), then new ones as they happen; the stream ends after the job's final event (or
/// when the service shuts down: reconnect with `Last-Event-ID`).
/// Each event has `id` (sequence number), `event` (e.g. `step.succeeded`, `job.failed`)
/// and JSON `data`.
#[utoipa::path(get, path = "/v1/jobs/{id}/events", tag = TAG_JOBS, security(("bearer" = [])),
    params(JobPath, ("Last-Event-ID" = Option<i64>, Header, description = "resume after this event")),
    responses(
        (status = 200, description = "an event stream", content_type = "text/event-stream", body = SseEvent),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such job", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`Last-Event-ID` is not an event id (an integer)", body = Problem, content_type = "application/problem+json")
    ))]
async fn job_events(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<JobPath>,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    if state.store.job(&p.id).await?.is_none() {
        return Err(no_job(&p.id));
    }
    let after = last_event_id(&headers)?;
    struct Follow {
        state: AppState,
        id: String,
        last: i64,
        buffer: VecDeque<crate::store::EventRow>,
        rx: tokio::sync::watch::Receiver<u64>,
        /// Shutdown: the last events stored are being sent, then the stream ends.
        draining: bool,
    }
    let follow = Follow {
        draining: false,
        rx: state.signals.subscribe(),
        state,
        id: p.id,
        last: after,
        buffer: VecDeque::new(),
    };
    let stream = futures::stream::unfold(follow, |mut f| async move {
        loop {
            if let Some(e) = f.buffer.pop_front() {
                f.last = e.seq;
                let ev = Event::default()
                    .id(e.seq.to_string())
                    .event(e.kind)
                    .data(e.data);
                return Some((Ok(ev), f));
            }
            if f.draining {
                return None;
            }
            // Shutdown ends the stream, so it does not hold the drain, after sending what is
            // stored by then (one read): the client reconnects with Last-Event-ID to the next
            // instance.
            if f.state.shutdown.is_cancelled() {
                f.draining = true;
                if let Ok(rows) = f.state.store.job_events(&f.id, f.last, 500).await {
                    f.buffer.extend(rows);
                }
                continue;
            }
            f.rx.borrow_and_update();
            // Status first: if it is final, every event up to the final one is stored.
            let status = match f.state.store.job(&f.id).await {
                Ok(Some(j)) => j.status,
                _ => return None,
            };
            match f.state.store.job_events(&f.id, f.last, 500).await {
                Ok(rows) if !rows.is_empty() => {
                    f.buffer.extend(rows);
                    continue;
                }
                Ok(_) if status.is_terminal() => return None,
                Ok(_) => {}
                Err(_) => return None,
            }
            tokio::select! {
                _ = f.rx.changed() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                () = f.state.shutdown.cancelled() => {}
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Cancel a job: no new step starts; running steps finish; the rest end `cancelled`.
#[utoipa::path(post, path = "/v1/jobs/{id}/cancel", tag = TAG_JOBS, security(("bearer" = [])),
    params(JobPath),
    responses(
        (status = 202, description = "cancelled (a queued job) or cancelling (a running one)", body = JobView),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such job", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the job already ended", body = Problem, content_type = "application/problem+json")
    ))]
async fn cancel_job(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<JobPath>,
) -> ApiResult<Response> {
    control::cancel(&state.store, &state.signals, &p.id).await?;
    Ok((StatusCode::ACCEPTED, Json(load_view(&state, &p.id).await?)).into_response())
}

/// Retry a failed or cancelled job: its failed, skipped and cancelled steps run again.
#[utoipa::path(post, path = "/v1/jobs/{id}/retry", tag = TAG_JOBS, security(("bearer" = [])),
    params(JobPath),
    responses(
        (status = 202, description = "queued again", body = JobView),
        (status = 401, description = "missing or unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such job", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the job is not failed or cancelled", body = Problem, content_type = "application/problem+json")
    ))]
async fn retry_job(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<JobPath>,
) -> ApiResult<Response> {
    control::retry(&state.store, &state.signals, &p.id).await?;
    Ok((StatusCode::ACCEPTED, Json(load_view(&state, &p.id).await?)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_cache_answers_a_version_or_a_later_one_and_never_goes_back() {
        let cache = JobViewCache::default();
        assert!(cache.get("j", 1).is_none());
        cache.put("j", 5, "five".into());
        assert_eq!(cache.get("j", 5).unwrap(), "five");
        // A poll that read version 3 may be answered with the newer view.
        assert_eq!(cache.get("j", 3).unwrap(), "five");
        assert!(cache.get("j", 6).is_none());
        // A slower rendering of an older version does not replace a newer one.
        cache.put("j", 4, "four".into());
        assert_eq!(cache.get("j", 5).unwrap(), "five");
        cache.put("j", 6, "six".into());
        assert_eq!(cache.get("j", 6).unwrap(), "six");
        assert!(cache.get("k", 1).is_none());
    }

    #[test]
    fn one_job_has_one_render_lock() {
        let cache = JobViewCache::default();
        let a = cache.render_lock("j");
        assert!(Arc::ptr_eq(&a, &cache.render_lock("j")));
        assert!(!Arc::ptr_eq(&a, &cache.render_lock("k")));
        let _held = a.try_lock().unwrap();
        assert!(cache.render_lock("j").try_lock().is_err());
    }
}
