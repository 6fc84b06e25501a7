//! Delete steps: retiring recorded flows, callers before the modules they call.

use std::collections::BTreeMap;

use super::request::JobRequest;
use super::step::{PlannedStep, RecordSource, StepContext};
use crate::jobs::model::Action;
use crate::template::{Finding, FlowType};

/// Delete steps for `req.delete`, callers first: a module's delete waits for the deletes of
/// the recorded callers in the same job. A name without a record, or one also provisioned by
/// this job, is an error.
pub(super) fn plan_deletes(
    req: &JobRequest,
    records: &[RecordSource],
    steps: &mut Vec<PlannedStep>,
) -> Result<(), Vec<Finding>> {
    let mut errors = Vec::new();
    let mut targets: Vec<(usize, &RecordSource)> = Vec::new();
    for (i, name) in req.delete.iter().enumerate() {
        let at = format!("/delete/{i}");
        if steps.iter().any(|s| &s.flow_name == name) {
            errors.push(Finding::error(
                "delete_and_provision",
                at,
                format!("flow '{name}' is both provisioned and deleted by this job"),
            ));
        } else if targets.iter().any(|(_, r)| &r.name == name) {
            errors.push(Finding::error(
                "duplicate_flow_name",
                at,
                format!("flow '{name}' is listed twice"),
            ));
        } else if let Some(r) = records.iter().find(|r| &r.name == name) {
            targets.push((i, r));
        } else {
            errors.push(
                Finding::error(
                    "unknown_flow",
                    at,
                    format!(
                        "flowsmith has no record of a flow named '{name}' in target '{}'",
                        req.target
                    ),
                )
                .with_hint("GET /v1/flows lists the flows flowsmith provisioned"),
            );
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // Callers (inbound) first, then modules, each module after its callers' deletes.
    targets.sort_by_key(|(_, r)| r.flow_type == FlowType::Module);
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, r) in targets {
        let depends_on = if r.flow_type == FlowType::Module {
            records
                .iter()
                .filter(|c| c.calls.contains(&r.name))
                .filter_map(|c| index.get(c.name.as_str()).copied())
                .collect()
        } else {
            Vec::new()
        };
        index.insert(r.name.as_str(), steps.len());
        let mut context = StepContext::of(r.flow_type);
        context.org_flow_id = r.flow_id.clone();
        steps.push(PlannedStep {
            flow_name: r.name.clone(),
            template_name: r.template_name.clone(),
            template_version: r.template_version,
            flow_type: r.flow_type,
            action: Action::Delete,
            depends_on,
            yaml: String::new(),
            plan_hash: r.plan_hash.clone(),
            params: r.params.clone(),
            context,
            interface: None,
            warnings: Vec::new(),
            flow_id: None,
            published_version: None,
        });
    }
    Ok(())
}
