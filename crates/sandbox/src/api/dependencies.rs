//! Dependency tracking: the consuming resources of a flow.

use axum::extract::{RawQuery, State as AxState};
use serde_json::{Value, json};
use uuid::Uuid;

use super::super::archy::{self};
use super::super::state::listing;
use super::super::{ApiError, Sandbox};
use super::{ApiResult, Query, json_ok, page};

pub(super) async fn consuming_resources(
    AxState(sb): AxState<Sandbox>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
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
