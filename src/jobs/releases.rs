//! Releases: what is really deployed (the drift report and its periodic check), the history
//! of every version flowsmith published, rollback of a job, and retiring a flow.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

use super::plan::{Action, Drift, FlowRequest, JobRequest, OnLocked};
use super::signals::Clients;
use super::submit::{Origin, Submit, SubmitError, drift_of, read_org};
use crate::genesys::{FlowInfo, GenesysError};
use crate::store::{CreateOutcome, JobRow, ReleaseRow, Store};
use crate::template::{Finding, FlowType};

/// Why a release use case failed.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("target '{target}' could not be read: {source}")]
    Org {
        target: String,
        source: GenesysError,
    },
    #[error(transparent)]
    Submit(#[from] SubmitError),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
    /// A stored value does not read back (500).
    #[error(transparent)]
    Corrupt(#[from] crate::jobs::Corrupt),
}

/// A flow's state in the org compared with flowsmith's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DriftState {
    /// The org publishes the version flowsmith recorded, and nobody holds it checked out.
    InSync,
    /// The org's published version is another one (published outside flowsmith).
    PublishedElsewhere,
    /// The recorded flow is gone from the org.
    Deleted,
    /// In sync, but checked out by a user or client (a publish by flowsmith would fail).
    Locked,
    /// A flow in the org with the name a template provisions, of which flowsmith has no
    /// record (made outside flowsmith, or its record lost).
    MissingRecord,
}

impl DriftState {
    pub fn is_drift(self) -> bool {
        self != DriftState::InSync
    }
}

/// One flow of a drift report.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DriftEntry {
    pub name: String,
    #[serde(rename = "type")]
    pub flow_type: FlowType,
    pub state: DriftState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_version: Option<String>,
    /// The user or client holding the flow checked out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_by: Option<String>,
    /// With `?diff=true`, for a flow published elsewhere: the unified diff from the YAML
    /// flowsmith deployed (`flowsmith`) to the org's published version (`org`), read
    /// through an Architect export job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// Why the diff could not be made (the export failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff_error: Option<String>,
}

/// How long one export for a drift diff may take.
pub const DIFF_EXPORT_WITHIN: Duration = Duration::from_secs(60);

/// The unified diff from what flowsmith deployed to what the org publishes (pure).
pub fn yaml_diff(deployed: &str, live: &str) -> String {
    similar::TextDiff::from_lines(deployed, live)
        .unified_diff()
        .context_radius(3)
        .header("flowsmith", "org")
        .to_string()
}

/// `GET /v1/targets/{target}/drift`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DriftReport {
    pub checked_at: String,
    pub flows: Vec<DriftEntry>,
}

/// The state of a recorded flow given the org's flow with its id.
pub fn classify(recorded_version: Option<&str>, org: Option<&FlowInfo>) -> DriftState {
    match drift_of(recorded_version, org) {
        Some(Drift::Deleted) => DriftState::Deleted,
        Some(Drift::PublishedElsewhere { .. }) => DriftState::PublishedElsewhere,
        None if org.is_some_and(|f| f.locked_by.is_some()) => DriftState::Locked,
        None => DriftState::InSync,
    }
}

/// At most this many templates without a record are looked up by name per report (one
/// `GET /api/v2/flows?name=` each).
pub const MAX_MISSING_RECORD_LOOKUPS: i64 = 100;

/// Compares the target's flow records with the org (one batched read for the records, one
/// lookup by name per template without a record) and sets the target's drift gauge.
pub async fn drift_report(
    store: &Store,
    clients: &Clients,
    target: &str,
) -> Result<DriftReport, ReleaseError> {
    drift_report_with(store, clients, target, false).await
}

/// [`drift_report`], with `diff`: the difference of every flow published elsewhere.
pub async fn drift_report_with(
    store: &Store,
    clients: &Clients,
    target: &str,
    diff: bool,
) -> Result<DriftReport, ReleaseError> {
    let client = clients
        .get(target)
        .ok_or_else(|| ReleaseError::NotFound(format!("no target named '{target}'")))?;
    let org_err = |source| ReleaseError::Org {
        target: target.to_owned(),
        source,
    };
    let records = store.records_for_planning(target).await?;
    let org = read_org(
        client,
        records.iter().filter_map(|r| r.record.flow_id.clone()),
    )
    .await
    .map_err(org_err)?;
    let mut flows: Vec<DriftEntry> = records
        .iter()
        .map(|r| {
            let r = &r.record;
            let f = r.flow_id.as_ref().and_then(|id| org.get(id));
            DriftEntry {
                name: r.name.clone(),
                flow_type: r.flow_type,
                state: classify(r.published_version.as_deref(), f),
                recorded_version: r.published_version.clone(),
                org_version: f.and_then(|f| f.published_version.clone()),
                locked_by: f.and_then(|f| f.locked_by.clone()),
                diff: None,
                diff_error: None,
            }
        })
        .collect();
    if diff {
        let max = crate::import::ImportLimits::default().document.max_bytes;
        for (entry, r) in flows.iter_mut().zip(&records) {
            let (Some(id), Some(version)) = (&r.record.flow_id, &entry.org_version) else {
                continue;
            };
            if entry.state != DriftState::PublishedElsewhere {
                continue;
            }
            match client
                .export_flow(id, version, DIFF_EXPORT_WITHIN, max)
                .await
            {
                Ok(live) => entry.diff = Some(yaml_diff(&r.record.yaml, &live)),
                Err(e) => entry.diff_error = Some(e.to_string()),
            }
        }
    }
    let templates = store
        .list_templates(&crate::store::ListFilter {
            flow_type: None,
            name_prefix: None,
            after: None,
            limit: MAX_MISSING_RECORD_LOOKUPS,
        })
        .await?;
    for t in templates {
        if records.iter().any(|r| r.record.name == t.name) {
            continue;
        }
        let ty = t.flow_type;
        if let Some(f) = client.find_flow(&t.name, ty).await.map_err(org_err)? {
            flows.push(DriftEntry {
                name: f.name,
                flow_type: ty,
                state: DriftState::MissingRecord,
                recorded_version: None,
                org_version: f.published_version,
                locked_by: f.locked_by,
                diff: None,
                diff_error: None,
            });
        }
    }
    let drifted = flows.iter().filter(|f| f.state.is_drift()).count();
    metrics::gauge!(crate::metrics::names::DRIFTED_FLOWS, "target" => target.to_owned())
        .set(drifted as f64);
    Ok(DriftReport {
        checked_at: crate::store::now(),
        flows,
    })
}

/// Checks every target's drift every `every` until `token` is cancelled (the gauge is the
/// output; a failing check is logged and tried again next time).
pub async fn check_drift_periodically(
    store: Store,
    clients: Clients,
    every: Duration,
    token: CancellationToken,
) {
    loop {
        tokio::select! {
            () = token.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        for target in clients.keys() {
            match drift_report(&store, &clients, target).await {
                Ok(r) => tracing::info!(
                    target = %target,
                    drifted = r.flows.iter().filter(|f| f.state.is_drift()).count(),
                    "drift checked"
                ),
                Err(e) => tracing::warn!(target = %target, error = %e, "drift check failed"),
            }
        }
    }
}

/// One version of a flow that flowsmith published (or its deletion).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Release {
    /// The job whose step published it.
    pub job_id: String,
    /// create | update | republish | delete
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_id: Option<String>,
    /// The Genesys version it published (unknown when the read after the job failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_version: Option<String>,
    pub template_name: String,
    pub template_version: i64,
    pub plan_hash: String,
    pub content_hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
    /// The Archy YAML it published (empty for a delete).
    pub yaml: String,
}

/// `GET /v1/flows/{target}/{name}/history`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FlowHistory {
    pub target: String,
    pub name: String,
    /// Newest first, at most [`MAX_HISTORY`].
    pub releases: Vec<Release>,
}

/// The most releases a history lists.
pub const MAX_HISTORY: i64 = 100;

fn release(r: ReleaseRow) -> Release {
    let s = r.step;
    Release {
        job_id: s.job_id,
        action: s.action,
        flow_id: s.flow_id,
        published_version: s.published_version,
        template_name: s.template_name,
        template_version: s.template_version,
        plan_hash: s.plan_hash,
        content_hash: s.content_hash,
        published_at: s.finished_at,
        yaml: s.yaml,
    }
}

pub async fn history(store: &Store, target: &str, name: &str) -> Result<FlowHistory, ReleaseError> {
    let releases: Vec<Release> = store
        .flow_releases(target, name, MAX_HISTORY)
        .await?
        .into_iter()
        .map(release)
        .collect();
    if releases.is_empty() && store.flow_record(target, name).await?.is_none() {
        return Err(ReleaseError::NotFound(format!(
            "flowsmith never published a flow named '{name}' in target '{target}'"
        )));
    }
    Ok(FlowHistory {
        target: target.to_owned(),
        name: name.to_owned(),
        releases,
    })
}

/// The request that puts back, for every flow job `job` changed, the file it had before
/// (template version and parameters of the previous release), and the warnings naming the
/// flows the job created, which stay in place. The planner orders modules before callers
/// and republishes recorded callers of every module it changes.
pub async fn rollback_request(
    store: &Store,
    job: &JobRow,
) -> Result<(JobRequest, Vec<Finding>), ReleaseError> {
    if job.dry_run {
        return Err(ReleaseError::Conflict(format!(
            "job {} is a dry run: it changed nothing",
            job.id
        )));
    }
    if !job.status.is_terminal() {
        return Err(ReleaseError::Conflict(format!(
            "job {} is {}; roll back a finished job",
            job.id, job.status
        )));
    }
    let mut flows: BTreeMap<String, FlowRequest> = BTreeMap::new();
    let mut warnings = Vec::new();
    for r in store.job_releases(&job.id).await? {
        let s = &r.step;
        let before = s.finished_at.as_deref().unwrap_or("");
        match store
            .release_before(&r.target, &s.flow_name, &job.id, before)
            .await?
        {
            Some(prev) => {
                let params: Map<String, Value> = prev.step.params().map_err(sqlx::Error::from)?;
                flows.insert(
                    s.flow_name.clone(),
                    FlowRequest {
                        template: prev.step.template_name.clone(),
                        version: Some(prev.step.template_version),
                        name: Some(s.flow_name.clone()),
                        params,
                    },
                );
            }
            None => warnings.push(
                Finding::warning(
                    "created_by_rolled_back_job",
                    format!("/steps/{}", s.idx),
                    format!(
                        "flow '{}' was created by job {}; a rollback leaves it in place",
                        s.flow_name, job.id
                    ),
                )
                .with_hint(format!(
                    "DELETE /v1/flows/{}/{} retires it",
                    r.target, s.flow_name
                )),
            ),
        }
    }
    if flows.is_empty() {
        return Err(ReleaseError::Conflict(format!(
            "job {} changed no flow that had an earlier version{}",
            job.id,
            if warnings.is_empty() {
                String::new()
            } else {
                format!(
                    "; {}",
                    warnings
                        .iter()
                        .map(|w| w.message.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            }
        )));
    }
    Ok((
        JobRequest {
            target: job.target.clone(),
            flows: flows.into_values().collect(),
            publish: true,
            dry_run: false,
            cascade: true,
            description: Some(format!("rollback of job {}", job.id)),
            delete: Vec::new(),
            on_locked: OnLocked::Fail,
        },
        warnings,
    ))
}

/// `POST /v1/jobs/{id}/rollback`: a new job from [`rollback_request`].
pub async fn rollback(
    submit: &Submit<'_>,
    job_id: &str,
    request_id: Option<String>,
) -> Result<JobRow, ReleaseError> {
    let job = submit
        .store
        .job(job_id)
        .await?
        .ok_or_else(|| ReleaseError::NotFound(format!("no job with id {job_id:?}")))?;
    let (req, warnings) = rollback_request(submit.store, &job).await?;
    created(submit, &req, request_id, warnings).await
}

/// `DELETE /v1/flows/{target}/{name}`: a job that deletes the flow.
pub async fn retire(
    submit: &Submit<'_>,
    target: &str,
    name: &str,
    on_locked: OnLocked,
    request_id: Option<String>,
) -> Result<JobRow, ReleaseError> {
    if submit.store.flow_record(target, name).await?.is_none() {
        return Err(ReleaseError::NotFound(format!(
            "flowsmith has no record of a flow named '{name}' in target '{target}'"
        )));
    }
    let req = JobRequest {
        target: target.to_owned(),
        flows: Vec::new(),
        publish: true,
        dry_run: false,
        cascade: true,
        description: Some(format!("retire '{name}'")),
        delete: vec![name.to_owned()],
        on_locked,
    };
    created(submit, &req, request_id, Vec::new())
        .await
        .map_err(|e| match e {
            ReleaseError::Submit(s) => ReleaseError::Submit(without_body_pointers(s)),
            other => other,
        })
}

/// Findings about the job `retire` made up point into its request (`/delete/0`), which the
/// caller of `DELETE /v1/flows/{target}/{name}` never sent: they point at the request as a
/// whole (their messages name the flow).
fn without_body_pointers(e: SubmitError) -> SubmitError {
    let clear = |errors: Vec<Finding>| {
        errors
            .into_iter()
            .map(|f| Finding {
                pointer: String::new(),
                ..f
            })
            .collect()
    };
    match e {
        SubmitError::Invalid { detail, errors } => SubmitError::Invalid {
            detail,
            errors: clear(errors),
        },
        SubmitError::InUse { detail, errors } => SubmitError::InUse {
            detail,
            errors: clear(errors),
        },
        other => other,
    }
}

async fn created(
    submit: &Submit<'_>,
    req: &JobRequest,
    request_id: Option<String>,
    warnings: Vec<Finding>,
) -> Result<JobRow, ReleaseError> {
    let origin = Origin {
        idempotency_key: None,
        request_hash: String::new(),
        request_id,
        warnings,
    };
    match submit.submit(req, origin).await? {
        CreateOutcome::Created(row) | CreateOutcome::Existing(row) => Ok(row),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diff_reads_from_deployed_to_live() {
        let d = yaml_diff("a: 1\nb: 2\n", "a: 1\nb: 3\n");
        assert!(d.starts_with("--- flowsmith\n+++ org\n"), "{d}");
        assert!(d.contains("-b: 2\n+b: 3\n"), "{d}");
        assert_eq!(yaml_diff("a\n", "a\n"), "");
    }

    fn flow(version: Option<&str>, locked: Option<&str>) -> FlowInfo {
        FlowInfo {
            id: "f".into(),
            name: "F".into(),
            flow_type: "COMMONMODULE".into(),
            published_version: version.map(str::to_owned),
            locked_by: locked.map(str::to_owned),
        }
    }

    #[test]
    fn states_of_a_recorded_flow() {
        assert_eq!(
            classify(Some("1.0"), Some(&flow(Some("1.0"), None))),
            DriftState::InSync
        );
        assert_eq!(
            classify(Some("1.0"), Some(&flow(Some("2.0"), None))),
            DriftState::PublishedElsewhere
        );
        assert_eq!(classify(Some("1.0"), None), DriftState::Deleted);
        assert_eq!(
            classify(Some("1.0"), Some(&flow(Some("1.0"), Some("client x")))),
            DriftState::Locked
        );
        // Published elsewhere wins over locked: the version is what differs.
        assert_eq!(
            classify(Some("1.0"), Some(&flow(Some("2.0"), Some("client x")))),
            DriftState::PublishedElsewhere
        );
    }
}
