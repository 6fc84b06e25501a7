//! An adopt step (`POST /v1/targets/{target}/adoptions`): once the modules it calls are
//! adopted, export the flow's published version as YAML (an Architect export job), import it
//! with the files of those modules, store the template, plan it as the next job would, and
//! record the flow as flowsmith's: its id, the exported version, the export's hash, and the
//! plan hash that makes the next job for the template plan `unchanged`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::step::{Ran, StepTask, corrupt_row};
use super::{Stop, db, sleep_or_stop};
use crate::genesys::JobStatus as ExportStatus;
use crate::import::{ArchyFile, ImportLimits};
use crate::jobs::model::StepError;
use crate::jobs::plan::{self, FlowRequest, JobRequest, OnLocked, StepContext, TemplateSource};
use crate::jobs::submit::planning_records;
use crate::store::{FlowRecordRow, StepSuccess, StoreOutcome};
use crate::template::FlowType;
use crate::templates::{TemplateError, Templates};

/// Checking and storing an adopted template runs on the blocking pool with this backstop
/// (the service's default `request_work_ms` is well under it).
const ADOPT_WORK_LIMIT: Duration = Duration::from_secs(30);

impl StepTask {
    /// The adopt phases: wait for the modules, export, import, store, plan, record.
    pub(super) async fn adopt(&mut self, ctx: &StepContext) -> Result<Ran, Stop> {
        let (job_id, idx) = (self.step.job_id.clone(), self.step.idx);
        self.starting.requesting();
        self.waits.until_ready(&job_id, idx, &self.token).await?;
        let name = self.step.flow_name.clone();
        let (Some(flow_id), Some(version)) =
            (ctx.org_flow_id.clone(), self.step.published_version.clone())
        else {
            return Err(Stop::Failed(StepError::CorruptRow {
                message: format!("adopt step {idx} has no flow id or published version"),
            }));
        };
        let yaml = self.export(&flow_id, &version).await?;
        let files = self.module_files(ctx, &name, yaml.clone()).await?;
        let templates = Templates {
            store: &self.worker.inner.store,
            work_limit: ADOPT_WORK_LIMIT,
        };
        let imports = templates
            .import(files, false)
            .await
            .map_err(|e| import_error(&name, e))?;
        let Some(imported) = imports
            .templates
            .iter()
            .find(|t| t.name == name && t.flow_type == ctx.as_type)
        else {
            return Err(Stop::Failed(StepError::ImportRefused {
                message: format!(
                    "the export of '{name}' did not import as a {} named '{name}'",
                    ctx.as_type.as_str()
                ),
                findings: Vec::new(),
            }));
        };
        let row = match templates.store_version(imported.document.clone()).await {
            Ok(StoreOutcome::Created(r) | StoreOutcome::Unchanged(r)) => r,
            Err(TemplateError::Store(e)) => return Err(db(e)),
            Err(e) => return Err(Stop::Failed(invalid_template(&name, e))),
        };
        let document = row.document().map_err(corrupt_row)?;
        let planned = self
            .plan_adopted(&name, &row.name, row.version, document)
            .await?;
        let content_hash = hex::encode(Sha256::digest(yaml.as_bytes()));
        let record = FlowRecordRow {
            target: self.lease.target.clone(),
            name: name.clone(),
            flow_type: planned.flow_type,
            flow_id: Some(flow_id.clone()),
            template_name: row.name.clone(),
            template_version: row.version,
            content_hash: content_hash.clone(),
            plan_hash: planned.plan_hash.clone(),
            published_version: Some(version.clone()),
            yaml: yaml.clone(),
            params: "{}".to_owned(),
            module_interface: planned
                .interface
                .as_ref()
                .map(|io| serde_json::to_string(io).unwrap_or_default()),
            calls: serde_json::to_string(&calls_of(ctx, &planned)).unwrap_or_default(),
            job_id: Some(job_id.clone()),
            updated_at: crate::store::now(),
        };
        let ok = StepSuccess {
            flow_id,
            published_version: Some(version.clone()),
            yaml,
            content_hash,
        };
        let note = json!({
            "kind": "adopted",
            "message": format!(
                "published version {version} of '{name}' exported and imported as template '{}' version {}; flowsmith now manages it",
                row.name, row.version
            ),
            "template": row.name,
            "template_version": row.version,
            "report": imported.report,
            "findings": imports.findings,
        });
        self.worker
            .persist(&self.token, || {
                self.lease
                    .step_adopted(idx, (&row.name, row.version), &ok, &record, &note)
            })
            .await?;
        Ok(Ran::Deployed)
    }

    /// The published version's YAML, through an export job: register, poll until it ends
    /// (waits as the Architect job polls grow), download.
    async fn export(&self, flow_id: &str, version: &str) -> Result<String, Stop> {
        let client = &self.client;
        let token = &self.token;
        let opts = &self.worker.inner.opts;
        let gid = self
            .worker
            .call(token, || client.register_export(flow_id, version))
            .await?;
        let started = Instant::now();
        let mut wait = opts.first_poll.min(Duration::from_millis(500));
        loop {
            sleep_or_stop(wait, token).await?;
            let job = self.worker.call(token, || client.export_job(&gid)).await?;
            match job.status {
                ExportStatus::Success => {
                    let Some(url) = job.download_url else {
                        return Err(Stop::Failed(StepError::GenesysProtocol {
                            message: format!("export job {gid} succeeded without a downloadUrl"),
                        }));
                    };
                    let max = ImportLimits::default().document.max_bytes;
                    return self.worker.call(token, || client.download(&url, max)).await;
                }
                ExportStatus::Failure => {
                    let texts: Vec<&str> = job.messages.iter().map(|m| m.text.as_str()).collect();
                    return Err(Stop::Failed(StepError::ExportFailed {
                        message: if texts.is_empty() {
                            format!("export job {gid} failed without messages")
                        } else {
                            texts.join("\n")
                        },
                        messages: job
                            .messages
                            .iter()
                            .map(|m| json!({"type": m.kind, "text": m.text}))
                            .collect(),
                        genesys_job_id: gid,
                    }));
                }
                ExportStatus::Registered | ExportStatus::Started => {}
            }
            if started.elapsed() > opts.job_timeout {
                return Err(Stop::Failed(StepError::ExportFailed {
                    message: format!(
                        "export job {gid} did not finish within {:?}",
                        opts.job_timeout
                    ),
                    messages: Vec::new(),
                    genesys_job_id: gid,
                }));
            }
            wait = wait.mul_f64(opts.poll_factor).min(opts.max_poll);
        }
    }

    /// The files to import: the YAML flowsmith recorded for each module the flow calls (the
    /// importer needs a caller's modules), then the flow's own export.
    async fn module_files(
        &self,
        ctx: &StepContext,
        name: &str,
        yaml: String,
    ) -> Result<Vec<ArchyFile>, Stop> {
        let target = &self.lease.target;
        let mut files = Vec::new();
        for m in ctx.modules.values() {
            let record = self
                .worker
                .inner
                .store
                .flow_record(target, &m.flow_name)
                .await
                .map_err(db)?
                .filter(|r| r.flow_type == FlowType::Module);
            let Some(r) = record else {
                return Err(Stop::Failed(StepError::ModuleNotAdopted {
                    message: format!(
                        "'{name}' calls the common module '{}', of which flowsmith has no record in target '{target}': adopt the module first (with its callers, or before them)",
                        m.flow_name
                    ),
                }));
            };
            files.push(ArchyFile {
                name: m.flow_name.clone(),
                yaml: r.yaml,
            });
        }
        files.push(ArchyFile {
            name: name.to_owned(),
            yaml,
        });
        Ok(files)
    }

    /// Plans the stored template as a job of it alone would, against the target's records
    /// (the modules adopted before it among them): its step's plan hash, interface and
    /// modules.
    async fn plan_adopted(
        &self,
        flow_name: &str,
        template: &str,
        version: i64,
        document: Value,
    ) -> Result<plan::PlannedStep, Stop> {
        let target = self.lease.target.clone();
        let records = planning_records(&self.worker.inner.store, &target)
            .await
            .map_err(db)?;
        let req = JobRequest {
            target,
            flows: vec![FlowRequest {
                template: template.to_owned(),
                version: Some(version),
                name: Some(flow_name.to_owned()),
                params: Map::new(),
            }],
            publish: true,
            dry_run: false,
            cascade: false,
            description: None,
            delete: Vec::new(),
            on_locked: OnLocked::Fail,
        };
        let src = TemplateSource {
            name: template.to_owned(),
            version,
            document,
        };
        let name = flow_name.to_owned();
        let planned = tokio::task::spawn_blocking(move || {
            plan::plan(&req, &[Some(src)], &records).map(|p| {
                p.steps
                    .into_iter()
                    .find(|s| s.flow_name == name && s.action != plan::Action::Delete)
            })
        })
        .await
        .map_err(|e| {
            Stop::Failed(StepError::Other {
                kind: "internal".into(),
                message: format!("planning the adopted template failed: {e}"),
            })
        })?;
        match planned {
            Ok(Some(step)) => Ok(step),
            Ok(None) => Err(Stop::Failed(StepError::Other {
                kind: "internal".into(),
                message: format!("the plan of the adopted template has no step for '{flow_name}'"),
            })),
            Err(findings) => Err(Stop::Failed(StepError::InvalidTemplate {
                message: format!("the template imported from '{flow_name}' cannot be planned"),
                findings: findings
                    .iter()
                    .map(|f| serde_json::to_value(f).unwrap_or(Value::Null))
                    .collect(),
            })),
        }
    }
}

/// The modules an adopted flow calls: those its template's Flow nodes name, and those
/// Genesys' dependency tracking named when the job was planned (a module call the importer
/// keeps as written is no Flow node, but the caller must still be republished when the
/// module changes).
fn calls_of(ctx: &StepContext, planned: &plan::PlannedStep) -> Vec<String> {
    let mut calls = plan::called_flow_names(&planned.context, &BTreeMap::new());
    calls.extend(ctx.modules.values().map(|m| m.flow_name.clone()));
    calls.sort();
    calls.dedup();
    calls
}

/// A refused import as the step's error: the importer's findings.
fn import_error(name: &str, e: TemplateError) -> Stop {
    match e {
        TemplateError::Store(e) => db(e),
        TemplateError::Invalid(findings) => {
            let errors: Vec<String> = findings
                .iter()
                .filter(|f| f.is_error())
                .map(|f| format!("{} at {}: {}", f.code, f.pointer, f.message))
                .collect();
            Stop::Failed(StepError::ImportRefused {
                message: format!(
                    "the published version of '{name}' cannot be imported: {}",
                    errors.join("; ")
                ),
                findings: findings
                    .iter()
                    .map(|f| serde_json::to_value(f).unwrap_or(Value::Null))
                    .collect(),
            })
        }
        other => Stop::Failed(StepError::ImportRefused {
            message: format!("the published version of '{name}' cannot be imported: {other}"),
            findings: Vec::new(),
        }),
    }
}

/// A stored template refused by validation.
fn invalid_template(name: &str, e: TemplateError) -> StepError {
    let findings = match &e {
        TemplateError::Invalid(f) => f
            .iter()
            .map(|f| serde_json::to_value(f).unwrap_or(Value::Null))
            .collect(),
        _ => Vec::new(),
    };
    StepError::InvalidTemplate {
        message: format!("the template imported from '{name}' cannot be stored: {e}"),
        findings,
    }
}
