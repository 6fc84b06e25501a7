//! The fence as a type: a [`Lease`] is what a worker gets by claiming a job
//! ([`Store::claim_job`]), and its methods are the only writes a worker makes to the job.
//!
//! Each applies only while the job is `running` under the attempt that claimed it (the
//! fence), and appends the event describing it in the same transaction; so a worker whose
//! lease was reclaimed cannot overwrite its successor's work. Every method that returns
//! `bool` answers `false` for one reason only: the lease is lost (the job was reclaimed,
//! cancelled or finished by someone else), and the worker must stop.

use super::flows::{FlowRecordRow, upsert_record};
use super::jobs::{StepStart, StepSuccess, append_event, deployed_record, fenced, lease_until};
use super::{Lock, Store, Tx, now};
use crate::jobs::model::{JobStatus, StepState};

/// A claimed job: the job, the attempt that claimed it and the owner (this worker).
#[derive(Debug, Clone)]
pub struct Lease {
    pub(super) store: Store,
    pub job_id: String,
    pub target: String,
    pub attempt: i64,
    /// `lease_owner`: the claiming worker.
    pub owner: String,
    pub dry_run: bool,
    /// The `x-request-id` of the request that created the job (for the worker's spans).
    pub request_id: Option<String>,
}

/// Appends `event` if the fenced write applied (one row), commits, and says whether it did.
async fn settle(
    mut tx: Tx,
    job_id: &str,
    rows: u64,
    event: Option<(&str, serde_json::Value)>,
) -> Result<bool, sqlx::Error> {
    let applied = rows == 1;
    if applied && let Some((kind, data)) = event {
        append_event(&mut tx, job_id, kind, &data).await?;
    }
    tx.commit().await?;
    Ok(applied)
}

/// Whether a step's compile context says it repairs drift (a `drift` member, not null).
fn repairs_drift(context: &str) -> Result<bool, sqlx::Error> {
    let v: serde_json::Value =
        serde_json::from_str(context).map_err(|e| sqlx::Error::Decode(e.into()))?;
    Ok(v.get("drift").is_some_and(|d| !d.is_null()))
}

/// Whether one of the steps a step depends on (`depends_on`, a JSON array of step indices
/// of the same job) changes its module (its action is not `unchanged`).
async fn changes_a_module(
    tx: &mut Tx,
    job_id: &str,
    depends_on: &str,
) -> Result<bool, sqlx::Error> {
    let idx: Vec<i64> =
        serde_json::from_str(depends_on).map_err(|e| sqlx::Error::Decode(e.into()))?;
    if idx.is_empty() {
        return Ok(false);
    }
    let sql = format!(
        "SELECT COUNT(*) FROM job_steps WHERE job_id = $1 AND action != 'unchanged' AND idx IN ({})",
        super::jobs::placeholders(2, idx.len())
    );
    let n: i64 = on_tx!(tx, |c| {
        let mut q = sqlx::query_scalar(&sql).bind(job_id);
        for i in &idx {
            q = q.bind(*i);
        }
        q.fetch_one(c).await?
    });
    Ok(n > 0)
}

impl Lease {
    /// Extends the lease; false when the job is no longer ours (reclaimed or finished).
    pub async fn heartbeat(&self, lease: std::time::Duration) -> Result<bool, sqlx::Error> {
        self.store
            .tracked(async {
                let mut tx = self.store.begin_locked(Lock::Job(&self.job_id)).await?;
                let n = on_tx!(&mut tx, |c| sqlx::query(
                    "UPDATE jobs SET lease_expires_at = $1 WHERE id = $2 AND attempt = $3 AND status = 'running'",
                )
                .bind(lease_until(lease))
                .bind(&self.job_id)
                .bind(self.attempt)
                .execute(c)
                .await.map(|r| r.rows_affected()))?;
                settle(tx, &self.job_id, n, None).await
            })
            .await
    }

    /// Gives the lease up at once (graceful shutdown), so the next start resumes the job
    /// without waiting for it to expire.
    pub async fn release(&self) -> Result<bool, sqlx::Error> {
        self.store
            .tracked(async {
                let mut tx = self.store.begin_locked(Lock::Job(&self.job_id)).await?;
                let n = on_tx!(&mut tx, |c| sqlx::query(
                    "UPDATE jobs SET lease_expires_at = $1, lease_owner = NULL WHERE id = $2 AND attempt = $3 AND status = 'running'",
                )
                .bind("1970-01-01T00:00:00.000Z")
                .bind(&self.job_id)
                .bind(self.attempt)
                .execute(c)
                .await.map(|r| r.rows_affected()))?;
                settle(tx, &self.job_id, n, None).await
            })
            .await
    }

    /// Ends the job with its final status; clears the lease.
    pub async fn finish(
        &self,
        status: JobStatus,
        error: Option<&str>,
    ) -> Result<bool, sqlx::Error> {
        self.store
            .tracked(async {
                let mut tx = self.store.begin_locked(Lock::Job(&self.job_id)).await?;
                let n = on_tx!(&mut tx, |c| sqlx::query(
                    "UPDATE jobs SET status = $1, error = $2, finished_at = $3, lease_owner = NULL, lease_expires_at = NULL \
                     WHERE id = $4 AND attempt = $5 AND status = 'running'",
                )
                .bind(status.as_str())
                .bind(error)
                .bind(now())
                .bind(&self.job_id)
                .bind(self.attempt)
                .execute(c)
                .await.map(|r| r.rows_affected()))?;
                let kind = format!("job.{status}");
                let data = serde_json::json!({"status": status, "error": error});
                settle(tx, &self.job_id, n, Some((&kind, data))).await
            })
            .await
    }

    /// Checkpoint: the step is running under this attempt — unless the org already has what
    /// it would deploy. Jobs are planned concurrently but run one at a time per target, so a
    /// step planned `create` or `update` may find, when it starts, that an earlier step (of
    /// another job) deployed the same content since: the flow record, written in the same
    /// transaction as that step's success, has the same plan hash and a published version
    /// no older than the modules it calls ([`FlowRecordRow::deploys`]). The step then ends
    /// here as succeeded and `unchanged`, with a note saying so, without a Genesys request.
    pub async fn step_started(&self, idx: i64) -> Result<StepStart, sqlx::Error> {
        self.step_check(idx, false).await
    }

    /// The run-time re-check again, for a step that waited for the modules it calls: they
    /// have ended now, so their records say whether this job changed them (a module whose
    /// own re-check found it deployed is `unchanged`; one it published is newer than the
    /// step's record, which then does not count as deployed). `AlreadyDeployed` ends the
    /// step as `unchanged`; its registered Architect job is abandoned, never uploaded.
    pub async fn step_rechecked(&self, idx: i64) -> Result<StepStart, sqlx::Error> {
        self.step_check(idx, true).await
    }

    async fn step_check(&self, idx: i64, modules_ended: bool) -> Result<StepStart, sqlx::Error> {
        let (id, attempt) = (self.job_id.as_str(), self.attempt);
        self.store.tracked(async {
            let mut tx = self.store.begin_locked(Lock::Job(&self.job_id)).await?;
            // Not re-checked: a step waiting for a module this job changes (its module's
            // record is only written when that step succeeds, possibly after this one
            // started: the worker registers callers ahead) and a step planned to repair
            // drift (the record is what the org no longer has); and a delete.
            // (`$3`: after the modules ended, their records decide, see `step_rechecked`.)
            type Planned = (String, String, String, String, String, String, String);
            let step: Option<Planned> = on_tx!(&mut tx, |c| sqlx::query_as(
                "SELECT j.target, s.flow_name, s.flow_type, s.plan_hash, s.action, s.context, s.depends_on \
                 FROM job_steps s JOIN jobs j ON j.id = s.job_id WHERE s.job_id = $1 AND s.idx = $2",
            )
            .bind(id)
            .bind(idx)
            .fetch_optional(c)
            .await)?;
            let planned = match step {
                Some((target, name, flow_type, plan_hash, action, context, depends_on))
                    if action != "delete" && !repairs_drift(&context)? =>
                {
                    let waits = !modules_ended && changes_a_module(&mut tx, id, &depends_on).await?;
                    (!waits).then_some((target, name, flow_type, plan_hash))
                }
                _ => None,
            };
            let deployed = match &planned {
                Some((target, name, flow_type, plan_hash)) => {
                    deployed_record(&mut tx, target, name, flow_type, plan_hash).await?
                }
                None => None,
            };
            let at = now();
            let (n, outcome) = match deployed {
                Some(r) => {
                    let note = serde_json::json!({
                        "kind": "unchanged_at_run_time",
                        "message": format!(
                            "flow '{}' already had this content when the step ran (published version {}, deployed by job {}); nothing was sent to Genesys",
                            r.name,
                            r.published_version.as_deref().unwrap_or("?"),
                            r.job_id.as_deref().unwrap_or("?"),
                        ),
                        "job_id": r.job_id,
                    });
                    let n = on_tx!(&mut tx, |c| sqlx::query(&fenced(
                        "UPDATE job_steps SET state = 'succeeded', action = 'unchanged', note = $1, flow_id = $2, published_version = $3, \
                             yaml = $4, content_hash = $5, attempt = $6, started_at = COALESCE(started_at, $7), finished_at = $7, error = NULL \
                         WHERE job_id = $8 AND idx = $9 AND state IN ('pending', 'running') AND $FENCE",
                        "$6",
                    ))
                    .bind(note.to_string())
                    .bind(&r.flow_id)
                    .bind(&r.published_version)
                    .bind(&r.yaml)
                    .bind(&r.content_hash)
                    .bind(attempt)
                    .bind(&at)
                    .bind(id)
                    .bind(idx)
                    .execute(c)
                    .await.map(|r| r.rows_affected()))?;
                    let event = serde_json::json!({"idx": idx, "flow_name": r.name, "flow_id": r.flow_id, "published_version": r.published_version, "note": note});
                    (settle(tx, id, n, Some(("step.succeeded", event))).await?, StepStart::AlreadyDeployed)
                }
                None => {
                    let n = on_tx!(&mut tx, |c| sqlx::query(&fenced(
                        "UPDATE job_steps SET state = 'running', attempt = $1, started_at = COALESCE(started_at, $2), error = NULL \
                         WHERE job_id = $3 AND idx = $4 AND state IN ('pending', 'running') AND $FENCE",
                        "$1",
                    ))
                    .bind(attempt)
                    .bind(&at)
                    .bind(id)
                    .bind(idx)
                    .execute(c)
                    .await.map(|r| r.rows_affected()))?;
                    let event = serde_json::json!({"idx": idx, "attempt": attempt});
                    (settle(tx, id, n, Some(("step.started", event))).await?, StepStart::Started)
                }
            };
            Ok(if n { outcome } else { StepStart::Lost })
        })
        .await
    }

    /// Checkpoint: an Architect job was registered for the step (before the upload).
    pub async fn step_registered(
        &self,
        idx: i64,
        genesys_job_id: &str,
        yaml: &str,
        content_hash: &str,
    ) -> Result<bool, sqlx::Error> {
        self.store
            .tracked(async {
                let mut tx = self.store.begin_locked(Lock::Job(&self.job_id)).await?;
                let n = on_tx!(&mut tx, |c| sqlx::query(&fenced(
                    "UPDATE job_steps SET genesys_job_id = $1, uploaded_at = NULL, yaml = $2, content_hash = $3 \
                     WHERE job_id = $4 AND idx = $5 AND state = 'running' AND $FENCE",
                    "$6",
                ))
                .bind(genesys_job_id)
                .bind(yaml)
                .bind(content_hash)
                .bind(&self.job_id)
                .bind(idx)
                .bind(self.attempt)
                .execute(c)
                .await.map(|r| r.rows_affected()))?;
                let event = serde_json::json!({"idx": idx, "genesys_job_id": genesys_job_id});
                settle(tx, &self.job_id, n, Some(("step.registered", event))).await
            })
            .await
    }

    /// Checkpoint: the YAML was uploaded (a resumed step may poll the Genesys job).
    pub async fn step_uploaded(&self, idx: i64) -> Result<bool, sqlx::Error> {
        self.store
            .tracked(async {
                let mut tx = self.store.begin_locked(Lock::Job(&self.job_id)).await?;
                let n = on_tx!(&mut tx, |c| sqlx::query(&fenced(
                    "UPDATE job_steps SET uploaded_at = $1 WHERE job_id = $2 AND idx = $3 AND state = 'running' AND $FENCE",
                    "$4",
                ))
                .bind(now())
                .bind(&self.job_id)
                .bind(idx)
                .bind(self.attempt)
                .execute(c)
                .await.map(|r| r.rows_affected()))?;
                settle(tx, &self.job_id, n, None).await
            })
            .await
    }

    /// The step succeeded: its result and the flow record, in one transaction.
    pub async fn step_succeeded(
        &self,
        idx: i64,
        ok: &StepSuccess,
        record: &FlowRecordRow,
    ) -> Result<bool, sqlx::Error> {
        self.store
            .tracked(async {
                let mut tx = self.store.begin_locked(Lock::Job(&self.job_id)).await?;
                let at = now();
                let n = on_tx!(&mut tx, |c| sqlx::query(&fenced(
                    "UPDATE job_steps SET state = 'succeeded', flow_id = $1, published_version = $2, yaml = $3, content_hash = $4, \
                         finished_at = $5, error = NULL \
                     WHERE job_id = $6 AND idx = $7 AND state = 'running' AND $FENCE",
                    "$8",
                ))
                .bind(&ok.flow_id)
                .bind(&ok.published_version)
                .bind(&ok.yaml)
                .bind(&ok.content_hash)
                .bind(&at)
                .bind(&self.job_id)
                .bind(idx)
                .bind(self.attempt)
                .execute(c)
                .await.map(|r| r.rows_affected()))?;
                if n == 1 {
                    upsert_record(&mut tx, record).await?;
                }
                let event = serde_json::json!({"idx": idx, "flow_name": record.name, "flow_id": ok.flow_id, "published_version": ok.published_version});
                settle(tx, &self.job_id, n, Some(("step.succeeded", event))).await
            })
            .await
    }

    /// Published versions read after the steps succeeded (`(idx, flow name, version)`),
    /// written to the steps and to the flow records this job wrote, in one transaction
    /// (fenced). Returns false when the job is no longer ours.
    pub async fn steps_published(
        &self,
        versions: &[(i64, String, String)],
    ) -> Result<bool, sqlx::Error> {
        let (id, attempt, target) = (self.job_id.as_str(), self.attempt, self.target.as_str());
        let mut tx = self.store.begin_locked(Lock::Job(&self.job_id)).await?;
        let mut written = Vec::new();
        for (idx, name, version) in versions {
            let n = on_tx!(&mut tx, |c| sqlx::query(&fenced(
                "UPDATE job_steps SET published_version = $1 \
                 WHERE job_id = $2 AND idx = $3 AND state = 'succeeded' AND $FENCE",
                "$4",
            ))
            .bind(version)
            .bind(id)
            .bind(idx)
            .bind(attempt)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
            if n == 0 {
                continue;
            }
            // Only the record this job wrote: a later job's record keeps its own version.
            on_tx!(&mut tx, |c| sqlx::query(
                "UPDATE flow_records SET published_version = $1 \
                 WHERE target = $2 AND name = $3 AND job_id = $4",
            )
            .bind(version)
            .bind(target)
            .bind(name)
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
            written.push(
                serde_json::json!({"idx": idx, "flow_name": name, "published_version": version}),
            );
        }
        let fenced_ok = on_tx!(&mut tx, |c| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM jobs WHERE id = $1 AND attempt = $2 AND status = 'running'",
        )
        .bind(id)
        .bind(attempt)
        .fetch_one(c)
        .await)?
            == 1;
        if !written.is_empty() {
            append_event(
                &mut tx,
                id,
                "steps.versions_read",
                &serde_json::json!({"steps": written}),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(fenced_ok)
    }

    /// The step ended without success: `failed`, `skipped` or `cancelled`, with its error.
    pub async fn step_ended(
        &self,
        idx: i64,
        state: StepState,
        error: &serde_json::Value,
    ) -> Result<bool, sqlx::Error> {
        self.store
            .tracked(async {
                let mut tx = self.store.begin_locked(Lock::Job(&self.job_id)).await?;
                let n = on_tx!(&mut tx, |c| sqlx::query(&fenced(
                    "UPDATE job_steps SET state = $1, error = $2, finished_at = $3 \
                     WHERE job_id = $4 AND idx = $5 AND state IN ('pending', 'running') AND $FENCE",
                    "$6",
                ))
                .bind(state.as_str())
                .bind(error.to_string())
                .bind(now())
                .bind(&self.job_id)
                .bind(idx)
                .bind(self.attempt)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?;
                let kind = format!("step.{state}");
                let event = serde_json::json!({"idx": idx, "error": error});
                settle(tx, &self.job_id, n, Some((&kind, event))).await
            })
            .await
    }

    /// A delete step succeeded: the step and the removal of the flow's record in one
    /// transaction (fenced). False when the job is no longer ours.
    pub async fn step_deleted(
        &self,
        idx: i64,
        name: &str,
        note: Option<&serde_json::Value>,
    ) -> Result<bool, sqlx::Error> {
        self.store
            .tracked(async {
                let mut tx = self.store.begin_locked(Lock::Job(&self.job_id)).await?;
                let at = now();
                let n = on_tx!(&mut tx, |c| sqlx::query(&fenced(
                    "UPDATE job_steps SET state = 'succeeded', finished_at = $1, error = NULL, note = COALESCE($2, note) \
                     WHERE job_id = $3 AND idx = $4 AND state = 'running' AND $FENCE",
                    "$5",
                ))
                .bind(&at)
                .bind(note.map(|n| n.to_string()))
                .bind(&self.job_id)
                .bind(idx)
                .bind(self.attempt)
                .execute(c)
                .await.map(|r| r.rows_affected()))?;
                if n == 1 {
                    on_tx!(&mut tx, |c| sqlx::query("DELETE FROM flow_records WHERE target = $1 AND name = $2")
                        .bind(&self.target)
                        .bind(name)
                        .execute(c)
                        .await.map(|r| r.rows_affected()))?;
                }
                let event = serde_json::json!({"idx": idx, "flow_name": name, "deleted": true});
                settle(tx, &self.job_id, n, Some(("step.succeeded", event))).await
            })
            .await
    }

    /// Records why a running step did something the plan did not say (e.g. it unlocked the
    /// flow first).
    pub async fn step_note(&self, idx: i64, note: &serde_json::Value) -> Result<bool, sqlx::Error> {
        self.store
            .tracked(async {
                let mut tx = self.store.begin_locked(Lock::Job(&self.job_id)).await?;
                let n = on_tx!(&mut tx, |c| sqlx::query(&fenced(
                    "UPDATE job_steps SET note = $1 WHERE job_id = $2 AND idx = $3 AND $FENCE",
                    "$4",
                ))
                .bind(note.to_string())
                .bind(&self.job_id)
                .bind(idx)
                .bind(self.attempt)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?;
                settle(tx, &self.job_id, n, None).await
            })
            .await
    }
}
