//! Submitting a job: read the org's state of every recorded flow of the target (one batched
//! `GET /api/v2/flows?id=…` per page), plan against records corrected by that read, refuse
//! retiring a module that is still called, and store the job. The API's `POST /v1/jobs`,
//! `DELETE /v1/flows/{target}/{name}` and `POST /v1/jobs/{id}/rollback` all come here.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::model::{Corrupt, JobStatus, StepError, StepState};
use super::plan::{self, Action, Drift, JobRequest, ModuleIo, RecordSource, TemplateSource};
use super::preflight::{self, StepFlow};
use super::signals::{Clients, Signals};
use crate::genesys::{FlowInfo, GenesysClient, GenesysError};
use crate::store::{CreateOutcome, NewJob, NewStep, RecordWithDocument, Store};
use crate::template::{Finding, FlowType};

/// Longest a submission waits to read the org before it plans from records alone (with the
/// warning `org_not_verified`).
pub const ORG_READ_BUDGET: std::time::Duration = std::time::Duration::from_secs(3);

/// Why a job could not be submitted.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The request names something that does not exist or cannot be planned (422).
    #[error("{detail}")]
    Invalid {
        detail: String,
        errors: Vec<Finding>,
    },
    /// A module to retire is still called by published flows (409).
    #[error("{detail}")]
    InUse {
        detail: String,
        errors: Vec<Finding>,
    },
    /// The org could not be read where the answer decides (503).
    #[error("target '{target}' could not be read: {source}")]
    Org {
        target: String,
        source: GenesysError,
    },
    /// Planning took longer than the request work limit (422).
    #[error("planning passed the work limit of {} ms", .0.as_millis())]
    WorkLimit(std::time::Duration),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
    /// A stored value does not read back (500, logged naming the row).
    #[error(transparent)]
    Corrupt(#[from] Corrupt),
}

/// What the submitter needs besides the request.
pub struct Submit<'a> {
    pub store: &'a Store,
    pub signals: &'a Signals,
    pub clients: &'a Clients,
    /// `request_work_ms`: planning validates every template, on the blocking pool, and
    /// twice this is its backstop.
    pub work_limit: std::time::Duration,
}

/// A new job's identity and provenance.
pub struct Origin {
    pub idempotency_key: Option<String>,
    pub request_hash: String,
    pub request_id: Option<String>,
    /// Warnings to add to the plan's (e.g. what a rollback leaves in place).
    pub warnings: Vec<Finding>,
}

/// How a record differs from the org's flow with its id (`None`: not in the org).
pub fn drift_of(recorded_version: Option<&str>, org: Option<&FlowInfo>) -> Option<Drift> {
    match org {
        None => Some(Drift::Deleted),
        // A record whose version was never read (the read after the job failed) is planned
        // `update` anyway; it is not called drift.
        Some(f)
            if recorded_version.is_some() && f.published_version.as_deref() != recorded_version =>
        {
            Some(Drift::PublishedElsewhere {
                recorded_version: recorded_version.map(str::to_owned),
                org_version: f.published_version.clone(),
            })
        }
        Some(_) => None,
    }
}

/// The org's flows with the records' ids, by id. Records without an id are not asked for.
pub async fn read_org(
    client: &GenesysClient,
    ids: impl Iterator<Item = String>,
) -> Result<BTreeMap<String, FlowInfo>, GenesysError> {
    let ids: BTreeSet<String> = ids.collect();
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let ids: Vec<String> = ids.into_iter().collect();
    Ok(client
        .flows_by_ids(&ids)
        .await?
        .into_iter()
        .map(|f| (f.id.clone(), f))
        .collect())
}

/// A planned job and the org objects its dry run names (empty unless a dry run).
type Planned = (plan::Plan, Vec<(String, crate::template::OrgObjectRef)>);

impl Submit<'_> {
    /// Plans and stores a job. `Existing` when the idempotency key was used before.
    pub async fn submit(
        &self,
        req: &JobRequest,
        origin: Origin,
    ) -> Result<CreateOutcome, SubmitError> {
        let templates = self.templates(req).await?;
        let mut warnings = origin.warnings;
        let client = self.clients.get(&req.target);
        let records = self.verified_records(req, client, &mut warnings).await?;
        if !req.delete.is_empty() {
            self.refuse_called_modules(req, &records, client).await?;
        }
        let (planned, uses) = self.plan(req, templates, records).await?;
        warnings.extend(planned.warnings.iter().cloned());

        // A dry run reports the preflight the real job would fail on (read-only listings).
        let mut failed = None;
        if let Some(client) = client.filter(|_| !uses.is_empty()) {
            match preflight::inventory(client, &uses).await {
                Ok(inv) => failed = preflight::check(&uses, &inv),
                Err(e) => warnings.push(Finding::warning(
                    "preflight_not_run",
                    "/target",
                    format!(
                        "the org's objects could not be listed ({e}); the preflight did not run"
                    ),
                )),
            }
        }

        let steps = new_steps(req, &planned);
        let nothing_to_do = steps.iter().all(|s| s.state == StepState::Succeeded);
        let job = NewJob {
            id: uuid::Uuid::now_v7().to_string(),
            target: req.target.clone(),
            status: if failed.is_some() {
                JobStatus::Failed
            } else if req.dry_run || nothing_to_do {
                JobStatus::Succeeded
            } else {
                JobStatus::Queued
            },
            error: failed,
            dry_run: req.dry_run,
            description: req.description.clone(),
            request: to_json(req),
            plan: json!({ "warnings": warnings }).to_string(),
            idempotency_key: origin.idempotency_key,
            request_hash: origin.request_hash,
            request_id: origin.request_id,
            steps,
        };
        let outcome = self.store.create_job(&job).await?;
        if let CreateOutcome::Created(row) = &outcome {
            self.signals.job_queued();
            if row.status.is_terminal() {
                crate::metrics::count_job(&row.target, row.status);
            }
            tracing::info!(job_id = %row.id, target = %row.target, steps = job.steps.len(), dry_run = row.dry_run, "job planned");
        }
        Ok(outcome)
    }

    /// The template versions the request names (`None`: no such template or version).
    async fn templates(
        &self,
        req: &JobRequest,
    ) -> Result<Vec<Option<TemplateSource>>, SubmitError> {
        let mut templates = Vec::with_capacity(req.flows.len());
        // Many flows of a request share a template (forty callers of one): each template
        // version is read and decoded once.
        let mut seen: BTreeMap<(&str, Option<i64>), Option<TemplateSource>> = BTreeMap::new();
        for f in &req.flows {
            if let Some(t) = seen.get(&(f.template.as_str(), f.version)) {
                templates.push(t.clone());
                continue;
            }
            let row = match f.version {
                Some(v) => self.store.template_version(&f.template, v).await?,
                None => self.store.latest_template(&f.template).await?,
            };
            let source = match row {
                Some(r) => Some(TemplateSource {
                    document: r.document()?,
                    name: r.name,
                    version: r.version,
                }),
                None => None,
            };
            seen.insert((f.template.as_str(), f.version), source.clone());
            templates.push(source);
        }
        Ok(templates)
    }

    /// Verified plans: the target's records, corrected by what the org really has of every
    /// recorded flow. When the org cannot be read, the records as they are, and a warning.
    async fn verified_records(
        &self,
        req: &JobRequest,
        client: Option<&std::sync::Arc<GenesysClient>>,
        warnings: &mut Vec<Finding>,
    ) -> Result<Vec<RecordSource>, SubmitError> {
        let mut records = self.records(&req.target).await?;
        let Some(client) = client else {
            return Ok(records);
        };
        let read = read_org(client, records.iter().filter_map(|r| r.flow_id.clone()));
        // The Genesys client retries an org that fails for a while; a submission does not wait
        // that long: the worker reads the org again when the job runs.
        let read = match tokio::time::timeout(ORG_READ_BUDGET, read).await {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(_) => Err(format!("no answer within {} s", ORG_READ_BUDGET.as_secs())),
        };
        match read {
            Ok(org) => {
                for r in records.iter_mut().filter(|r| r.flow_id.is_some()) {
                    let f = r.flow_id.as_ref().and_then(|id| org.get(id));
                    r.drift = drift_of(r.published_version.as_deref(), f);
                    r.locked_by = f.and_then(|f| f.locked_by.clone());
                }
            }
            Err(e) => {
                tracing::warn!(target = %req.target, error = %e, "the plan could not read the org; planning from records");
                warnings.push(Finding::warning(
                    "org_not_verified",
                    "/target",
                    format!("the org could not be read ({e}); the plan trusts flowsmith's records"),
                ));
            }
        }
        Ok(records)
    }

    /// Plans the job. Planning validates every template: CPU work, off the async workers,
    /// bounded by twice the request work limit.
    async fn plan(
        &self,
        req: &JobRequest,
        templates: Vec<Option<TemplateSource>>,
        records: Vec<RecordSource>,
    ) -> Result<Planned, SubmitError> {
        let planning = {
            let req = req.clone();
            tokio::task::spawn_blocking(move || {
                let planned = plan::plan(&req, &templates, &records)?;
                let uses = if req.dry_run {
                    dry_run_uses(&planned, &templates, &records)
                } else {
                    Vec::new()
                };
                Ok((planned, uses))
            })
        };
        let planned = match tokio::time::timeout(self.work_limit * 2, planning).await {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => std::panic::resume_unwind(e.into_panic()),
            Err(_) => return Err(SubmitError::WorkLimit(self.work_limit)),
        };
        let mut errors: Vec<Finding> = match planned {
            Ok(p) => return Ok(p),
            Err(errors) => errors,
        };
        if errors.iter().any(|f| plan::unresolved_name(f).is_some()) {
            let stored = self.store.template_names().await?;
            for f in &mut errors {
                plan::refine_unresolved(f, &stored);
            }
        }
        Err(SubmitError::Invalid {
            detail: format!("the job cannot be planned: {} problem(s)", errors.len()),
            errors,
        })
    }

    /// This target's flow records as the planner sees them.
    pub async fn records(&self, target: &str) -> Result<Vec<RecordSource>, sqlx::Error> {
        planning_records(self.store, target).await
    }

    /// A module to retire that flows outside the request still call: 409 naming them. The
    /// callers come from Genesys' dependency tracking (`consumingresources`) and from the
    /// records (a caller published moments ago may not be indexed yet).
    async fn refuse_called_modules(
        &self,
        req: &JobRequest,
        records: &[RecordSource],
        client: Option<&std::sync::Arc<GenesysClient>>,
    ) -> Result<(), SubmitError> {
        let deleting: BTreeSet<&str> = req.delete.iter().map(String::as_str).collect();
        let mut errors = Vec::new();
        let mut all = BTreeSet::new();
        for (i, name) in req.delete.iter().enumerate() {
            let Some(m) = records
                .iter()
                .find(|r| &r.name == name && r.flow_type == FlowType::Module)
            else {
                continue;
            };
            let mut callers: BTreeSet<String> = records
                .iter()
                .filter(|r| r.calls.contains(name))
                .map(|r| r.name.clone())
                .collect();
            if let (Some(client), Some(id)) = (client, m.flow_id.as_deref())
                && m.drift != Some(Drift::Deleted)
            {
                let consumers =
                    client
                        .consuming_flows(id)
                        .await
                        .map_err(|source| SubmitError::Org {
                            target: req.target.clone(),
                            source,
                        })?;
                callers.extend(consumers.into_iter().map(|f| f.name));
            }
            callers.retain(|c| !deleting.contains(c.as_str()));
            if !callers.is_empty() {
                let list: Vec<String> = callers.iter().cloned().collect();
                errors.push(
                    Finding::error(
                        "module_in_use",
                        format!("/delete/{i}"),
                        format!(
                            "common module '{name}' is called by {}",
                            list.iter()
                                .map(|c| format!("'{c}'"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                    .with_hint("delete the callers in the same request, or change them to stop calling the module first"),
                );
                all.extend(list);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(SubmitError::InUse {
                detail: format!(
                    "modules still called by published flows cannot be deleted; callers: {}",
                    all.into_iter().collect::<Vec<_>>().join(", ")
                ),
                errors,
            })
        }
    }
}

/// The steps to store: pending, or succeeded when unchanged; a dry run's are skipped.
fn new_steps(req: &JobRequest, planned: &plan::Plan) -> Vec<NewStep> {
    planned
        .steps
        .iter()
        .map(|s| {
            let (state, error) = if req.dry_run {
                let dry_run = StepError::DryRun {
                    message: "dry run: planned, not provisioned".to_owned(),
                };
                (StepState::Skipped, Some(dry_run.to_json().to_string()))
            } else if s.action == Action::Unchanged {
                (StepState::Succeeded, None)
            } else {
                (StepState::Pending, None)
            };
            NewStep {
                flow_name: s.flow_name.clone(),
                template_name: s.template_name.clone(),
                template_version: s.template_version,
                flow_type: s.flow_type,
                action: s.action,
                state,
                depends_on: to_json(&s.depends_on),
                // Only a step that may publish keeps its YAML (the release history reads
                // it); an unchanged or dry-run step's is the bulk of a job's rows and is
                // never read again, so a year of history is kept without it.
                yaml: if req.dry_run || s.action == Action::Unchanged {
                    String::new()
                } else {
                    s.yaml.clone()
                },
                plan_hash: s.plan_hash.clone(),
                params: to_json(&s.params),
                context: to_json(&s.context),
                warnings: to_json(&s.warnings),
                flow_id: s.flow_id.clone(),
                published_version: s.published_version.clone(),
                error,
            }
        })
        .collect()
}

/// The org objects a dry run's provisioning steps name (what the worker's preflight would
/// look up): each step's template document comes from the request's templates or, for a
/// cascaded caller, from its record.
fn dry_run_uses(
    planned: &plan::Plan,
    templates: &[Option<TemplateSource>],
    records: &[RecordSource],
) -> Vec<(String, crate::template::OrgObjectRef)> {
    let document = |name: &str, version: i64| {
        templates
            .iter()
            .flatten()
            .find(|t| t.name == name && t.version == version)
            .map(|t| &t.document)
            .or_else(|| {
                records
                    .iter()
                    .find(|r| r.template_name == name && r.template_version == version)
                    .and_then(|r| r.document.as_ref())
            })
    };
    preflight::uses(
        planned
            .steps
            .iter()
            .filter(|s| s.action != Action::Unchanged)
            .filter_map(|s| {
                Some(StepFlow {
                    flow_name: &s.flow_name,
                    document: document(&s.template_name, s.template_version)?,
                    params: &s.params,
                    context: &s.context,
                })
            }),
    )
}

/// A plan part as stored JSON.
fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A target's flow records as the planner sees them (not yet compared with the org).
pub async fn planning_records(
    store: &Store,
    target: &str,
) -> Result<Vec<RecordSource>, sqlx::Error> {
    // Records of one template version share its document: decoded once.
    let mut documents: BTreeMap<(String, i64), serde_json::Value> = BTreeMap::new();
    let decoded = |r: RecordWithDocument| -> Result<RecordSource, Corrupt> {
        let document = match r.document.as_deref() {
            Some(d) => {
                let key = (r.record.template_name.clone(), r.record.template_version);
                Some(match documents.get(&key) {
                    Some(doc) => doc.clone(),
                    None => {
                        let doc = crate::store::decode_template_document(
                            &r.record.template_name,
                            r.record.template_version,
                            d,
                        )?;
                        documents.insert(key, doc.clone());
                        doc
                    }
                })
            }
            None => None,
        };
        Ok(RecordSource {
            params: r.record.params()?,
            calls: r.record.calls()?,
            interface: match r.record.module_interface.as_deref() {
                Some(i) => Some(r.record.decode::<ModuleIo>("module_interface", i)?),
                None => None,
            },
            document,
            name: r.record.name,
            flow_type: r.record.flow_type,
            flow_id: r.record.flow_id,
            template_name: r.record.template_name,
            template_version: r.record.template_version,
            plan_hash: r.record.plan_hash,
            published_version: r.record.published_version,
            updated_at: r.record.updated_at,
            drift: None,
            locked_by: None,
        })
    };
    let records = store.records_for_planning(target).await?;
    Ok(records.into_iter().map(decoded).collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(version: Option<&str>) -> FlowInfo {
        FlowInfo {
            id: "f".into(),
            name: "F".into(),
            flow_type: "INBOUNDCALL".into(),
            published_version: version.map(str::to_owned),
            locked_by: None,
        }
    }

    #[test]
    fn drift_is_read_from_the_published_version() {
        assert_eq!(drift_of(Some("2.0"), Some(&flow(Some("2.0")))), None);
        assert_eq!(
            drift_of(Some("2.0"), Some(&flow(Some("3.0")))),
            Some(Drift::PublishedElsewhere {
                recorded_version: Some("2.0".into()),
                org_version: Some("3.0".into()),
            })
        );
        assert_eq!(drift_of(Some("2.0"), None), Some(Drift::Deleted));
        assert_eq!(drift_of(None, Some(&flow(Some("3.0")))), None);
    }
}
