//! The composition of a target (`GET /v1/targets/{target}/composition`): the drift report
//! (what the org has of each recorded flow), the open steps of queued and running jobs
//! (what is being deployed), and the stored templates never deployed there.

use std::collections::{BTreeMap, BTreeSet};

use super::model::JobStatus;
use super::releases::{DriftReport, DriftState, ReleaseError, drift_report};
use super::signals::Clients;
use crate::diagram::composition::{ComposedFlow, Composition, DeployState};
use crate::store::{JobFilter, ListFilter, Store};
use crate::template::{self, FlowType};

/// At most this many queued and running jobs of the target are read for their open steps.
const MAX_OPEN_JOBS: i64 = 100;
/// At most this many stored templates are listed as never deployed.
const MAX_TEMPLATES: i64 = 500;

/// The state of a recorded flow from its drift state.
fn deploy_state(drift: DriftState) -> DeployState {
    match drift {
        DriftState::InSync | DriftState::Locked => DeployState::InSync,
        DriftState::PublishedElsewhere | DriftState::MissingRecord => DeployState::Drifted,
        DriftState::Deleted => DeployState::Deleted,
    }
}

/// Every flow of `target` with the modules it calls and its state.
pub async fn composition(
    store: &Store,
    clients: &Clients,
    target: &str,
) -> Result<Composition, ReleaseError> {
    Ok(composition_with_drift(store, clients, target).await?.0)
}

/// [`composition`], with the drift report it was made from (one read of the org for both).
pub async fn composition_with_drift(
    store: &Store,
    clients: &Clients,
    target: &str,
) -> Result<(Composition, DriftReport), ReleaseError> {
    let drift = drift_report(store, clients, target).await?;
    let records = store.records_for_planning(target).await?;
    let deploying = deploying(store, target).await?;
    let mut flows: BTreeMap<String, ComposedFlow> = BTreeMap::new();
    for r in &records {
        let r = &r.record;
        flows.insert(
            r.name.clone(),
            ComposedFlow {
                name: r.name.clone(),
                flow_type: r.flow_type,
                template: r.template_name.clone(),
                state: DeployState::InSync,
                calls: r.calls()?,
            },
        );
    }
    for d in &drift.flows {
        let state = deploy_state(d.state);
        flows
            .entry(d.name.clone())
            .and_modify(|f| f.state = state)
            .or_insert_with(|| ComposedFlow {
                name: d.name.clone(),
                flow_type: d.flow_type,
                template: d.name.clone(),
                state,
                calls: Vec::new(),
            });
    }
    let deployed_templates: BTreeSet<&str> = records
        .iter()
        .map(|r| r.record.template_name.as_str())
        .collect();
    let templates = store
        .list_templates(&ListFilter {
            flow_type: None,
            name_prefix: None,
            after: None,
            limit: MAX_TEMPLATES,
        })
        .await?;
    let mut never = Vec::new();
    for t in templates {
        if deployed_templates.contains(t.name.as_str()) || flows.contains_key(&t.name) {
            continue;
        }
        let header = template::header(&t.document()?);
        let called = header.called_modules;
        never.push(ComposedFlow {
            state: DeployState::NeverDeployed,
            // A template another calls is provisioned as a module.
            flow_type: t.flow_type,
            name: t.name.clone(),
            template: t.name,
            calls: called,
        });
    }
    for f in never {
        flows.entry(f.name.clone()).or_insert(f);
    }
    let called: BTreeSet<String> = flows.values().flat_map(|f| f.calls.clone()).collect();
    let mut flows: Vec<ComposedFlow> = flows
        .into_values()
        .map(|mut f| {
            if deploying.contains(&f.name) {
                f.state = DeployState::Deploying;
            }
            if called.contains(&f.name) {
                f.flow_type = FlowType::Module;
            }
            f
        })
        .collect();
    // Callers first, then modules; by name within each (the map's order).
    flows.sort_by_key(|f| f.flow_type == FlowType::Module);
    let c = Composition {
        target: target.to_owned(),
        checked_at: drift.checked_at.clone(),
        flows,
    };
    Ok((c, drift))
}

/// The flow names of the open steps of the target's queued and running jobs (dry runs
/// deploy nothing).
async fn deploying(store: &Store, target: &str) -> Result<BTreeSet<String>, ReleaseError> {
    let mut names = BTreeSet::new();
    for status in [JobStatus::Queued, JobStatus::Running] {
        let jobs = store
            .list_jobs(&JobFilter {
                status: Some(status),
                target: Some(target.to_owned()),
                before: None,
                limit: MAX_OPEN_JOBS,
            })
            .await?;
        for job in jobs.iter().filter(|j| !j.dry_run) {
            for step in store.job_steps(&job.id).await? {
                if step.state.is_open() {
                    names.insert(step.flow_name);
                }
            }
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_states_map_to_the_five_deploy_states() {
        assert_eq!(deploy_state(DriftState::InSync), DeployState::InSync);
        assert_eq!(deploy_state(DriftState::Locked), DeployState::InSync);
        assert_eq!(
            deploy_state(DriftState::PublishedElsewhere),
            DeployState::Drifted
        );
        assert_eq!(
            deploy_state(DriftState::MissingRecord),
            DeployState::Drifted
        );
        assert_eq!(deploy_state(DriftState::Deleted), DeployState::Deleted);
    }
}
