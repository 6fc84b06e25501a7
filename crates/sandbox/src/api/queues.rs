//! `/api/v2/routing/queues`: list (with name patterns) and get.

use axum::extract::{Path, RawQuery, State as AxState};

use super::super::state::{listing, queue_json};
use super::super::{ApiError, Sandbox};
use super::{ApiResult, Query, json_ok, page, parse_id};

pub(super) fn queue_name_matches(pattern: &str, name: &str) -> bool {
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

pub(super) async fn queues_list(
    AxState(sb): AxState<Sandbox>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
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

pub(super) async fn queue_get(AxState(sb): AxState<Sandbox>, Path(id): Path<String>) -> ApiResult {
    let uuid = parse_id(&id, "Queue")?;
    let st = sb.lock();
    let q = st
        .queues
        .iter()
        .find(|q| q.id == uuid)
        .ok_or_else(|| ApiError::not_found(format!("Queue '{id}' was not found")))?;
    json_ok(queue_json(q))
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
