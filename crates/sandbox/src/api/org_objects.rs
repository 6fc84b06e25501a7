//! Org objects: data actions, data tables, schedule groups, prompts (listings).

use axum::extract::{RawQuery, State as AxState};
use serde_json::Value;

use super::super::Sandbox;
use super::super::org;
use super::super::state::listing;
use super::queues::queue_name_matches;
use super::{ApiResult, Query, json_ok, page};

/// Whether `name` passes every `name` filter (exact, case-insensitive; `*` wildcards at
/// either end); no filter passes everything.
pub(super) fn names_match(filters: &[&str], name: &str) -> bool {
    filters.is_empty() || filters.iter().any(|f| queue_name_matches(f, name))
}

/// Sorts by name (`sortOrder=desc` reverses) and renders one page.
pub(super) fn org_listing<T>(
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
pub(super) async fn actions_list(
    AxState(sb): AxState<Sandbox>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
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
pub(super) async fn datatables_list(
    AxState(sb): AxState<Sandbox>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
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
pub(super) async fn schedule_groups_list(
    AxState(sb): AxState<Sandbox>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
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
pub(super) async fn prompts_list(
    AxState(sb): AxState<Sandbox>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
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
