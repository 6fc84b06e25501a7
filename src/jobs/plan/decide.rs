//! What a step does to its flow: compare the plan hash with the flow record, and whether the
//! org still runs a caller against a module's previous version.

use super::request::Drift;
use super::step::RecordSource;
use crate::jobs::model::{Action, caller_behind_module};
use crate::template::FlowType;

/// The action for a flow given its record and plan hash.
pub(super) fn decide(
    record: Option<&RecordSource>,
    plan_hash: &str,
    module_changed: bool,
) -> (Action, Option<String>, Option<String>) {
    match record {
        None
        | Some(RecordSource {
            drift: Some(Drift::Deleted),
            ..
        }) => (Action::Create, None, None),
        Some(r)
            if r.plan_hash != plan_hash || r.published_version.is_none() || r.drift.is_some() =>
        {
            (Action::Update, None, None)
        }
        Some(_) if module_changed => (Action::Republish, None, None),
        Some(r) => (
            Action::Unchanged,
            r.flow_id.clone(),
            r.published_version.clone(),
        ),
    }
}

/// Whether a recorded caller was written before the current record of a module it calls:
/// the org runs it against that module's previous version until it is published again.
pub(super) fn published_before_its_modules(
    caller: &RecordSource,
    records: &[RecordSource],
) -> bool {
    caller.flow_type == FlowType::Inbound
        && records.iter().any(|m| {
            m.flow_type == FlowType::Module
                && caller.calls.contains(&m.name)
                && caller_behind_module(&caller.updated_at, &m.updated_at)
        })
}
