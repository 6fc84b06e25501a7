//! Admin API under `/sandbox/` (no auth, not counted, not rate-limited).

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::calls::{self, CallError, CallRequest};
use super::org::{
    DataActionSpec, DataTableSpec, OrgFile, PromptSpec, ScheduleGroupSpec, SpecError,
};
use super::shapes::iso;
use super::state::{Faults, FaultsPatch, State, flow_json, new_queue, queue_json};
use super::{ApiError, Sandbox};

pub(crate) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/sandbox/flows", get(flows))
        .route("/sandbox/counters", get(counters))
        .route("/sandbox/faults", get(faults_get).put(faults_put))
        .route("/sandbox/reset", post(reset))
        .route("/sandbox/queues", post(queue_add).get(queues))
        .route("/sandbox/tokens/expire", post(tokens_expire))
        .route("/sandbox/calls", post(place_call))
        .route("/sandbox/org", get(org_get))
        .route("/sandbox/data-actions", post(data_action_add))
        .route("/sandbox/data-tables", post(data_table_add))
        .route("/sandbox/schedule-groups", post(schedule_group_add))
        .route("/sandbox/prompts", post(prompt_add))
}

/// Every flow with every version and its YAML.
async fn flows(AxState(sb): AxState<Sandbox>) -> Json<Value> {
    let st = sb.lock();
    let mut flows: Vec<_> = st.flows.values().collect();
    flows.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    let out: Vec<Value> = flows
        .into_iter()
        .map(|f| {
            let versions: Vec<Value> = f
                .versions
                .iter()
                .map(|v| {
                    json!({
                        "id": v.id,
                        "dateCreated": iso(v.created),
                        "client": v.client_id,
                        "calls": v.modules,
                        "yaml": v.yaml,
                    })
                })
                .collect();
            json!({
                "id": f.id.to_string(),
                "name": f.name,
                "type": f.flow_type,
                "publishedVersion": f.published_version().map(|v| v.id.clone()),
                "lockedBy": f.locked_by,
                "versions": versions,
                "flow": flow_json(f),
            })
        })
        .collect();
    Json(json!({ "total": out.len(), "flows": out }))
}

/// Requests per route template and status, plus totals and 429s served.
async fn counters(AxState(sb): AxState<Sandbox>) -> Json<Value> {
    let st = sb.lock();
    Json(counters_json(&st))
}

pub(crate) fn counters_json(st: &State) -> Value {
    let mut endpoints = serde_json::Map::new();
    let mut by_status: BTreeMap<u16, u64> = BTreeMap::new();
    let mut total = 0u64;
    for (route, statuses) in &st.counters {
        let t: u64 = statuses.values().sum();
        total += t;
        for (s, n) in statuses {
            *by_status.entry(*s).or_default() += n;
        }
        let s: BTreeMap<String, u64> = statuses.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        endpoints.insert(
            route.clone(),
            json!({"total": t, "byStatus": s, "rateLimited": statuses.get(&429).copied().unwrap_or(0)}),
        );
    }
    let s: BTreeMap<String, u64> = by_status.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    json!({
        "total": total,
        "rateLimited": by_status.get(&429).copied().unwrap_or(0),
        "byStatus": s,
        "endpoints": endpoints,
    })
}

async fn faults_get(AxState(sb): AxState<Sandbox>) -> Json<Faults> {
    Json(sb.faults())
}

async fn faults_put(AxState(sb): AxState<Sandbox>, body: Bytes) -> Result<Json<Faults>, ApiError> {
    let patch: FaultsPatch = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("Invalid faults: {e}")))?;
    let mut st = sb.lock();
    st.faults.apply(&patch);
    Ok(Json(st.faults.clone()))
}

/// Clears flows, jobs, counters and tokens and restores the start-up faults; keeps clients,
/// queues and the other org objects (including those added at run time).
async fn reset(AxState(sb): AxState<Sandbox>) -> Response {
    let opts = sb.options().clone();
    let mut st = sb.lock();
    st.flows.clear();
    st.jobs.clear();
    st.counters.clear();
    st.tokens.clear();
    st.faults = Faults::from(&opts);
    st.generation += 1;
    StatusCode::NO_CONTENT.into_response()
}

async fn queue_add(AxState(sb): AxState<Sandbox>, body: Bytes) -> Result<Response, ApiError> {
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("Expected {{\"name\": ...}}: {e}")))?;
    let name = v["name"]
        .as_str()
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("A queue name is required"))?;
    let mut st = sb.lock();
    if let Some(q) = st.find_queue(name) {
        return Ok((StatusCode::OK, Json(queue_json(q))).into_response());
    }
    let q = new_queue(name.to_owned());
    let out = queue_json(&q);
    st.queues.push(q);
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

async fn queues(AxState(sb): AxState<Sandbox>) -> Json<Value> {
    let st = sb.lock();
    Json(json!(st.queues.iter().map(queue_json).collect::<Vec<_>>()))
}

/// Every data action, data table, schedule group and prompt, in the `--org FILE` shape.
async fn org_get(AxState(sb): AxState<Sandbox>) -> Json<OrgFile> {
    Json(sb.lock().org.to_file())
}

/// Parses and checks an admin body; a refusal names the place (JSON pointer).
fn org_body<T: serde::de::DeserializeOwned>(
    body: &Bytes,
    what: &str,
    check: impl Fn(&T) -> Result<(), SpecError>,
) -> Result<T, ApiError> {
    let spec: T = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("Invalid {what}: {e}")))?;
    check(&spec).map_err(|e| {
        ApiError::bad_request(format!("Invalid {what} at {}: {}", e.pointer, e.message))
    })?;
    Ok(spec)
}

fn created(new: bool, v: Value) -> Response {
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, Json(v)).into_response()
}

async fn data_action_add(AxState(sb): AxState<Sandbox>, body: Bytes) -> Result<Response, ApiError> {
    let spec = org_body(&body, "data action", DataActionSpec::check)?;
    let (new, v) = sb.lock().org.add_data_action(spec);
    Ok(created(new, v))
}

async fn data_table_add(AxState(sb): AxState<Sandbox>, body: Bytes) -> Result<Response, ApiError> {
    let spec = org_body(&body, "data table", DataTableSpec::check)?;
    let (new, v) = sb.lock().org.add_data_table(spec);
    Ok(created(new, v))
}

async fn schedule_group_add(
    AxState(sb): AxState<Sandbox>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let spec = org_body(&body, "schedule group", ScheduleGroupSpec::check)?;
    let (new, v) = sb.lock().org.add_schedule_group(spec);
    Ok(created(new, v))
}

async fn prompt_add(AxState(sb): AxState<Sandbox>, body: Bytes) -> Result<Response, ApiError> {
    let spec = org_body(&body, "prompt", PromptSpec::check)?;
    let (new, v) = sb.lock().org.add_prompt(spec);
    Ok(created(new, v))
}

/// Expires every token issued so far.
async fn tokens_expire(AxState(sb): AxState<Sandbox>) -> Json<Value> {
    let now = std::time::Instant::now();
    let mut st = sb.lock();
    for t in st.tokens.values_mut() {
        t.expires_at = now;
    }
    Json(json!({"expired": st.tokens.len()}))
}

/// Places a call through a published flow (and the published modules it calls) with the
/// Archy interpreter: `{flow, inputs, maxActions}` → `{outcome, transcript, variables,
/// actions}`.
async fn place_call(
    AxState(sb): AxState<Sandbox>,
    body: Bytes,
) -> Result<Json<crate::archy::interpret::Call>, ApiError> {
    let req: CallRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "Expected {{\"flow\": ..., \"inputs\": [...]}}: {e}"
        ))
    })?;
    let snap = calls::snapshot(&sb.lock(), &req.flow).map_err(call_error)?;
    let call = calls::place(&req, &snap).map_err(call_error)?;
    Ok(Json(call))
}

fn call_error(e: CallError) -> ApiError {
    match e {
        CallError::NoFlow(_) => ApiError::not_found(e.to_string()),
        // Only a file the judge accepted is published, so this is the sandbox's own fault.
        CallError::Unreadable(_) => ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal.server.error",
            e.to_string(),
        ),
        CallError::BadInput { .. } | CallError::BadLimit => ApiError::bad_request(e.to_string()),
    }
}
