//! What the plan's read of the org adds to each step: the recorded flow id, the drift a step
//! repairs, and who holds the flow checked out.

use super::request::{Drift, JobRequest, OnLocked};
use super::step::{PlannedStep, RecordSource};
use crate::jobs::model::Action;
use crate::template::Finding;

/// What the plan's read of the org says about each step: the recorded flow id, why a
/// recorded flow is planned again, and who holds it checked out.
pub(super) fn annotate(req: &JobRequest, records: &[RecordSource], steps: &mut [PlannedStep]) {
    for (idx, step) in steps.iter_mut().enumerate() {
        step.context.on_locked = req.on_locked;
        let Some(r) = records
            .iter()
            .find(|r| r.name == step.flow_name && r.flow_type == step.flow_type)
        else {
            continue;
        };
        let at = format!("/steps/{idx}");
        step.context.org_flow_id = r.flow_id.clone();
        if step.action.changes()
            && step.action != Action::Delete
            && let Some(d) = &r.drift
        {
            step.context.drift = Some(d.clone());
            step.warnings.push(d.finding(&step.flow_name, &at));
        }
        if step.action.changes()
            && r.drift != Some(Drift::Deleted)
            && let Some(holder) = &r.locked_by
        {
            step.context.locked_by = Some(holder.clone());
            step.warnings.push(Finding::warning(
                "flow_locked",
                &at,
                format!(
                    "flow '{}' is checked out by {holder}; on_locked is {}",
                    step.flow_name,
                    match req.on_locked {
                        OnLocked::Fail =>
                            "fail: the step fails unless the lock is gone when it runs",
                        OnLocked::Wait => "wait: the step waits for the lock to go",
                        OnLocked::Unlock => "unlock: the step unlocks the flow first",
                    }
                ),
            ));
        }
    }
}
