//! `/api/v2/flows`: list, create, get, update, delete, versions, and the publish,
//! check-in, check-out and unlock actions.

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State as AxState};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::Value;

use super::super::archy::unverified::*;
use super::super::state::{
    FlowRec, OperationRec, State, flow_json, listing, operation_json, version_json,
};
use super::super::{ApiError, Caller, Sandbox};
use super::{ApiResult, Query, flow_not_found, json_ok, page, parse_id};

pub(super) async fn flows_list(
    AxState(sb): AxState<Sandbox>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
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

pub(super) fn check_type(t: &str) -> Result<String, ApiError> {
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

pub(super) fn parse_json_body(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("The request body could not be parsed: {e}")))
}

pub(super) async fn flows_create(
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

pub(super) fn get_flow<'a>(st: &'a State, id: &str) -> Result<&'a FlowRec, ApiError> {
    let uuid = parse_id(id, "Flow")?;
    st.flows.get(&uuid).ok_or_else(|| flow_not_found(id))
}

pub(super) fn get_flow_mut<'a>(st: &'a mut State, id: &str) -> Result<&'a mut FlowRec, ApiError> {
    let uuid = parse_id(id, "Flow")?;
    st.flows.get_mut(&uuid).ok_or_else(|| flow_not_found(id))
}

pub(super) fn locked_by_other(f: &FlowRec, client: &str) -> Result<(), ApiError> {
    match &f.locked_by {
        Some(other) if other != client => Err(ApiError::new(
            StatusCode::CONFLICT,
            CODE_FLOW_LOCKED,
            format!("Flow '{}' is locked by client '{other}'", f.name),
        )),
        _ => Ok(()),
    }
}

pub(super) async fn flow_get(AxState(sb): AxState<Sandbox>, Path(id): Path<String>) -> ApiResult {
    let st = sb.lock();
    json_ok(flow_json(get_flow(&st, &id)?))
}

pub(super) async fn flow_put(
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

pub(super) async fn flow_delete(
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

pub(super) async fn flow_versions(
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

pub(super) fn flow_param(q: &Query) -> Result<String, ApiError> {
    q.one("flow")
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| ApiError::bad_request("The 'flow' query parameter is required"))
}

pub(super) async fn action_publish(
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

pub(super) async fn action_checkin(
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

pub(super) async fn action_checkout(
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

pub(super) async fn action_unlock(
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
