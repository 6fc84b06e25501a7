//! The fence as a type: a [`Lease`] is what a worker gets by claiming a job
//! ([`Store::claim_job`]), and its methods are the only writes a worker makes to the job.
//!
//! Each applies only while the job is `running` under the attempt that claimed it (the
//! fence), and appends the event describing it in the same transaction; so a worker whose
//! lease was reclaimed cannot overwrite its successor's work. Every write goes through one
//! helper ([`super::fenced`]); one that finds the job no longer this attempt's (reclaimed,
//! cancelled or finished by someone else) answers [`LeaseError::Lost`], and the worker must
//! stop.

use serde_json::json;
use sqlx::FromRow;

use super::fenced::{Also, Arg, Fence, Write, settle};
use super::flows::{FlowRecordRow, record_in};
use super::jobs::append_event;
use super::{Lock, Store, Tx, now};
use crate::job_model::{JobStatus, StepError, StepState};

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

/// Why a lease write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// The job is no longer this attempt's (reclaimed, cancelled or finished by someone
    /// else): nothing was written, and the worker must stop.
    #[error("the lease is lost: the job is no longer this attempt's")]
    Lost,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// What [`Lease::step_started`] did (a lost lease is [`LeaseError::Lost`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStart {
    /// The step is running under this attempt.
    Started,
    /// The org already had the step's content: the step ended as succeeded, `unchanged`.
    AlreadyDeployed,
}

/// How a step ended.
#[derive(Debug, Clone)]
pub struct StepSuccess {
    pub flow_id: String,
    pub published_version: Option<String>,
    pub yaml: String,
    pub content_hash: String,
}

/// The claim's row, made into a [`Lease`].
#[derive(Debug, Clone, FromRow)]
struct Claimed {
    pub id: String,
    pub target: String,
    pub attempt: i64,
    pub dry_run: bool,
    /// The `x-request-id` of the request that created the job (for the worker's spans).
    pub request_id: Option<String>,
}

/// `Ok` when the write applied, [`LeaseError::Lost`] when the fence kept it out.
fn applied(applied: bool) -> Result<(), LeaseError> {
    if applied {
        Ok(())
    } else {
        Err(LeaseError::Lost)
    }
}

/// The oldest claimable job on one of `targets` (bound from `$2` on, `$1` being now): queued,
/// or running with an expired lease, on a target without a live lease.
///
/// `status IN (...)` comes first so that the index seeks to the unfinished jobs: with only
/// the OR, SQLite read every job of the target (60-80 ms at 200,000 jobs, on every wake of
/// the worker, holding the write lock).
pub(super) fn claim_candidate_sql(targets: usize) -> String {
    format!(
        "SELECT j.id FROM jobs j \
         WHERE j.status IN ('queued', 'running') \
           AND (j.status = 'queued' OR j.lease_expires_at < $1) \
           AND j.target IN ({}) \
           AND NOT EXISTS (SELECT 1 FROM jobs k WHERE k.target = j.target AND k.id <> j.id \
                           AND k.status = 'running' AND k.lease_expires_at >= $1) \
         ORDER BY j.created_at, j.id LIMIT 1",
        placeholders(2, targets)
    )
}

impl Store {
    /// Claims the oldest job that is queued, or running with an expired lease, whose target
    /// has no other job under a live lease (one job per target at a time, in order). The
    /// claim holds [`Lock::Claims`] (SQLite: `BEGIN IMMEDIATE`), so claims across replicas
    /// happen one at a time; the chosen job's row is updated only if it is still claimable,
    /// so two workers can never claim the same job.
    pub async fn claim_job(
        &self,
        owner: &str,
        lease: std::time::Duration,
        targets: &[String],
    ) -> Result<Option<Lease>, sqlx::Error> {
        self.tracked(async {
            let now_ts = now();
            let until = lease_until(lease);
            if targets.is_empty() {
                return Ok(None);
            }
            let mut tx = self.begin_locked(Lock::Claims).await?;
            let candidate_sql = claim_candidate_sql(targets.len());
            let candidate: Option<String> = on_tx!(&mut tx, |c| {
                let mut q = sqlx::query_scalar(&candidate_sql).bind(&now_ts);
                for t in targets {
                    q = q.bind(t);
                }
                q.fetch_optional(c).await?
            });
            let Some(id) = candidate else {
                tx.commit().await?;
                return Ok(None);
            };
            // The job's own writes (a previous attempt's worker, a cancel) finish first; the
            // guard is checked again on the row as it then is.
            tx.lock(Lock::Job(&id)).await?;
            let claimed: Option<Claimed> = on_tx!(&mut tx, |c| sqlx::query_as(
                "UPDATE jobs SET status = 'running', lease_owner = $1, lease_expires_at = $2, attempt = attempt + 1, \
                     started_at = COALESCE(started_at, $3) \
                 WHERE id = $4 AND (status = 'queued' OR (status = 'running' AND lease_expires_at < $3)) \
                 RETURNING id, target, attempt, dry_run, request_id",
            )
            .bind(owner)
            .bind(&until)
            .bind(&now_ts)
            .bind(&id)
            .fetch_optional(c)
            .await)?;
            if let Some(c) = &claimed {
                append_event(
                    &mut tx,
                    &c.id,
                    "job.started",
                    &json!({"status": JobStatus::Running, "attempt": c.attempt, "worker": owner}),
                )
                .await?;
            }
            tx.commit().await?;
            Ok(claimed.map(|c| Lease {
                store: self.clone(),
                job_id: c.id,
                target: c.target,
                attempt: c.attempt,
                owner: owner.to_owned(),
                dry_run: c.dry_run,
                request_id: c.request_id,
            }))
        })
        .await
    }
}

impl Lease {
    /// Runs one fenced write in its own transaction (holding the job's lock).
    async fn write(&self, write: Write<'_>) -> Result<(), LeaseError> {
        let done = self
            .store
            .tracked(async {
                let tx = self.store.begin_locked(Lock::Job(&self.job_id)).await?;
                settle(tx, &self.job_id, self.attempt, &write).await
            })
            .await?;
        applied(done)
    }

    /// The job id as a statement parameter.
    fn job_arg(&self) -> Arg<'_> {
        self.job_id.as_str().into()
    }

    /// Extends the lease; [`LeaseError::Lost`] when the job is no longer ours (reclaimed or
    /// finished).
    pub async fn heartbeat(&self, lease: std::time::Duration) -> Result<(), LeaseError> {
        let until = lease_until(lease);
        self.write(Write::new(
            Fence::Job,
            "UPDATE jobs SET lease_expires_at = $1 WHERE id = $2",
            vec![until.as_str().into(), self.job_arg()],
        ))
        .await
    }

    /// Gives the lease up at once (graceful shutdown), so the next start resumes the job
    /// without waiting for it to expire.
    pub async fn release(&self) -> Result<(), LeaseError> {
        self.write(Write::new(
            Fence::Job,
            "UPDATE jobs SET lease_expires_at = $1, lease_owner = NULL WHERE id = $2",
            vec!["1970-01-01T00:00:00.000Z".into(), self.job_arg()],
        ))
        .await
    }

    /// Ends the job with its final status; clears the lease.
    pub async fn finish(&self, status: JobStatus, error: Option<&str>) -> Result<(), LeaseError> {
        self.write(
            Write::new(
                Fence::Job,
                "UPDATE jobs SET status = $1, error = $2, finished_at = $3, lease_owner = NULL, lease_expires_at = NULL \
                 WHERE id = $4",
                vec![status.as_str().into(), error.into(), Arg::Now, self.job_arg()],
            )
            .event(format!("job.{status}"), json!({"status": status, "error": error})),
        )
        .await
    }

    /// Checkpoint: the step is running under this attempt — unless the org already has what
    /// it would deploy. Jobs are planned concurrently but run one at a time per target, so a
    /// step planned `create` or `update` may find, when it starts, that an earlier step (of
    /// another job) deployed the same content since: the flow record, written in the same
    /// transaction as that step's success, has the same plan hash and a published version
    /// no older than the modules it calls ([`FlowRecordRow::deploys`]). The step then ends
    /// here as succeeded and `unchanged`, with a note saying so, without a Genesys request.
    pub async fn step_started(&self, idx: i64) -> Result<StepStart, LeaseError> {
        self.step_check(idx, false).await
    }

    /// The run-time re-check again, for a step that waited for the modules it calls: they
    /// have ended now, so their records say whether this job changed them (a module whose
    /// own re-check found it deployed is `unchanged`; one it published is newer than the
    /// step's record, which then does not count as deployed). `AlreadyDeployed` ends the
    /// step as `unchanged`; its registered Architect job is abandoned, never uploaded.
    pub async fn step_rechecked(&self, idx: i64) -> Result<StepStart, LeaseError> {
        self.step_check(idx, true).await
    }

    async fn step_check(&self, idx: i64, modules_ended: bool) -> Result<StepStart, LeaseError> {
        let (done, outcome) = self
            .store
            .tracked(async {
                let mut tx = self.store.begin_locked(Lock::Job(&self.job_id)).await?;
                match self.deployed_for(&mut tx, idx, modules_ended).await? {
                    Some(r) => {
                        let note = unchanged_note(&r);
                        let note_text = note.to_string();
                        let write = Write::new(
                            Fence::Steps,
                            "UPDATE job_steps SET state = 'succeeded', action = 'unchanged', note = $1, flow_id = $2, published_version = $3, \
                                 yaml = '', content_hash = $4, attempt = $5, started_at = COALESCE(started_at, $6), finished_at = $6, error = NULL \
                             WHERE job_id = $7 AND idx = $8 AND state IN ('pending', 'running')",
                            // An unchanged step keeps no YAML (the release that deployed it has it).
                            vec![
                                note_text.as_str().into(),
                                r.flow_id.as_deref().into(),
                                r.published_version.as_deref().into(),
                                r.content_hash.as_str().into(),
                                self.attempt.into(),
                                Arg::Now,
                                self.job_arg(),
                                idx.into(),
                            ],
                        )
                        .event("step.succeeded", json!({"idx": idx, "flow_name": r.name, "flow_id": r.flow_id, "published_version": r.published_version, "note": note}));
                        let done = settle(tx, &self.job_id, self.attempt, &write).await?;
                        Ok((done, StepStart::AlreadyDeployed))
                    }
                    None => {
                        let write = Write::new(
                            Fence::Steps,
                            "UPDATE job_steps SET state = 'running', attempt = $1, started_at = COALESCE(started_at, $2), error = NULL \
                             WHERE job_id = $3 AND idx = $4 AND state IN ('pending', 'running')",
                            vec![self.attempt.into(), Arg::Now, self.job_arg(), idx.into()],
                        );
                        // The re-check of a step that is running already starts nothing.
                        let write = if modules_ended {
                            write
                        } else {
                            write.event("step.started", json!({"idx": idx, "attempt": self.attempt}))
                        };
                        let done = settle(tx, &self.job_id, self.attempt, &write).await?;
                        Ok((done, StepStart::Started))
                    }
                }
            })
            .await?;
        applied(done).map(|()| outcome)
    }

    /// The flow record that already deploys step `idx` as planned, if the step is one the
    /// run-time re-check applies to.
    async fn deployed_for(
        &self,
        tx: &mut Tx,
        idx: i64,
        modules_ended: bool,
    ) -> Result<Option<FlowRecordRow>, sqlx::Error> {
        // Not re-checked: a step waiting for a module this job changes (its module's
        // record is only written when that step succeeds, possibly after this one
        // started: the worker registers callers ahead) and a step planned to repair
        // drift (the record is what the org no longer has); and a delete.
        // (After the modules ended, their records decide, see `step_rechecked`.)
        type Planned = (String, String, String, String, String, String, String);
        let step: Option<Planned> = on_tx!(&mut *tx, |c| {
            sqlx::query_as(
            "SELECT j.target, s.flow_name, s.flow_type, s.plan_hash, s.action, s.context, s.depends_on \
             FROM job_steps s JOIN jobs j ON j.id = s.job_id WHERE s.job_id = $1 AND s.idx = $2",
        )
        .bind(&self.job_id)
        .bind(idx)
        .fetch_optional(c)
        .await
        })?;
        let Some((target, name, flow_type, plan_hash, action, context, depends_on)) = step else {
            return Ok(None);
        };
        // An adopt step publishes nothing: it always exports and imports again.
        if action == "delete" || action == "adopt" || repairs_drift(&context)? {
            return Ok(None);
        }
        if !modules_ended && changes_a_module(tx, &self.job_id, &depends_on).await? {
            return Ok(None);
        }
        deployed_record(tx, &target, &name, &flow_type, &plan_hash).await
    }

    /// Checkpoint: an Architect job was registered for the step (before the upload).
    pub async fn step_registered(
        &self,
        idx: i64,
        genesys_job_id: &str,
        yaml: &str,
        content_hash: &str,
    ) -> Result<(), LeaseError> {
        self.write(
            Write::new(
                Fence::Steps,
                "UPDATE job_steps SET genesys_job_id = $1, uploaded_at = NULL, yaml = $2, content_hash = $3 \
                 WHERE job_id = $4 AND idx = $5 AND state = 'running'",
                vec![genesys_job_id.into(), yaml.into(), content_hash.into(), self.job_arg(), idx.into()],
            )
            .event("step.registered", json!({"idx": idx, "genesys_job_id": genesys_job_id})),
        )
        .await
    }

    /// Checkpoint: the YAML was uploaded (a resumed step may poll the Genesys job).
    pub async fn step_uploaded(&self, idx: i64) -> Result<(), LeaseError> {
        self.write(Write::new(
            Fence::Steps,
            "UPDATE job_steps SET uploaded_at = $1 WHERE job_id = $2 AND idx = $3 AND state = 'running'",
            vec![Arg::Now, self.job_arg(), idx.into()],
        ))
        .await
    }

    /// The step succeeded: its result and the flow record, in one transaction.
    pub async fn step_succeeded(
        &self,
        idx: i64,
        ok: &StepSuccess,
        record: &FlowRecordRow,
    ) -> Result<(), LeaseError> {
        self.write(
            Write::new(
                Fence::Steps,
                "UPDATE job_steps SET state = 'succeeded', flow_id = $1, published_version = $2, yaml = $3, content_hash = $4, \
                     finished_at = $5, error = NULL \
                 WHERE job_id = $6 AND idx = $7 AND state = 'running'",
                vec![
                    ok.flow_id.as_str().into(),
                    ok.published_version.as_deref().into(),
                    ok.yaml.as_str().into(),
                    ok.content_hash.as_str().into(),
                    Arg::Now,
                    self.job_arg(),
                    idx.into(),
                ],
            )
            .also(Also::UpsertRecord(record))
            .event("step.succeeded", json!({"idx": idx, "flow_name": record.name, "flow_id": ok.flow_id, "published_version": ok.published_version})),
        )
        .await
    }

    /// An adopt step succeeded: the template it became (name and version), its result, its
    /// note (the import's report) and the flow record, in one transaction.
    pub async fn step_adopted(
        &self,
        idx: i64,
        template: (&str, i64),
        ok: &StepSuccess,
        record: &FlowRecordRow,
        note: &serde_json::Value,
    ) -> Result<(), LeaseError> {
        let note = note.to_string();
        self.write(
            Write::new(
                Fence::Steps,
                "UPDATE job_steps SET state = 'succeeded', template_name = $1, template_version = $2, flow_id = $3, published_version = $4, \
                     yaml = $5, content_hash = $6, plan_hash = $7, note = $8, finished_at = $9, error = NULL \
                 WHERE job_id = $10 AND idx = $11 AND state = 'running'",
                vec![
                    template.0.into(),
                    template.1.into(),
                    ok.flow_id.as_str().into(),
                    ok.published_version.as_deref().into(),
                    ok.yaml.as_str().into(),
                    ok.content_hash.as_str().into(),
                    record.plan_hash.as_str().into(),
                    note.as_str().into(),
                    Arg::Now,
                    self.job_arg(),
                    idx.into(),
                ],
            )
            .also(Also::UpsertRecord(record))
            .event("step.succeeded", json!({"idx": idx, "flow_name": record.name, "flow_id": ok.flow_id, "published_version": ok.published_version, "adopted": {"template": template.0, "version": template.1}})),
        )
        .await
    }

    /// Published versions read after the steps succeeded (`(idx, flow name, version)`),
    /// written to the steps and to the flow records this job wrote, in one transaction
    /// (fenced). [`LeaseError::Lost`] when the job is no longer ours.
    pub async fn steps_published(
        &self,
        versions: &[(i64, String, String)],
    ) -> Result<(), LeaseError> {
        let (id, attempt, target) = (self.job_id.as_str(), self.attempt, self.target.as_str());
        let mut tx = self.store.begin_locked(Lock::Job(&self.job_id)).await?;
        let mut written = Vec::new();
        for (idx, name, version) in versions {
            let write = Write::new(
                Fence::Steps,
                "UPDATE job_steps SET published_version = $1 \
                 WHERE job_id = $2 AND idx = $3 AND state = 'succeeded'",
                vec![version.as_str().into(), self.job_arg(), (*idx).into()],
            );
            if !write.execute(&mut tx, attempt).await? {
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
            written.push(json!({"idx": idx, "flow_name": name, "published_version": version}));
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
                &json!({"steps": written}),
            )
            .await?;
        }
        tx.commit().await?;
        applied(fenced_ok)
    }

    /// The step ended without success: `failed`, `skipped` or `cancelled`, with its error.
    pub async fn step_ended(
        &self,
        idx: i64,
        state: StepState,
        error: &StepError,
    ) -> Result<(), LeaseError> {
        let error = error.to_json();
        let text = error.to_string();
        self.write(
            Write::new(
                Fence::Steps,
                "UPDATE job_steps SET state = $1, error = $2, finished_at = $3 \
                 WHERE job_id = $4 AND idx = $5 AND state IN ('pending', 'running')",
                vec![
                    state.as_str().into(),
                    text.as_str().into(),
                    Arg::Now,
                    self.job_arg(),
                    idx.into(),
                ],
            )
            .event(format!("step.{state}"), json!({"idx": idx, "error": error})),
        )
        .await
    }

    /// A delete step succeeded: the step and the removal of the flow's record in one
    /// transaction (fenced). [`LeaseError::Lost`] when the job is no longer ours.
    pub async fn step_deleted(
        &self,
        idx: i64,
        name: &str,
        note: Option<&serde_json::Value>,
    ) -> Result<(), LeaseError> {
        let note = note.map(|n| n.to_string());
        self.write(
            Write::new(
                Fence::Steps,
                "UPDATE job_steps SET state = 'succeeded', finished_at = $1, error = NULL, note = COALESCE($2, note) \
                 WHERE job_id = $3 AND idx = $4 AND state = 'running'",
                vec![Arg::Now, note.as_deref().into(), self.job_arg(), idx.into()],
            )
            .also(Also::DeleteRecord { target: &self.target, name })
            .event("step.succeeded", json!({"idx": idx, "flow_name": name, "deleted": true})),
        )
        .await
    }

    /// Records why a running step did something the plan did not say (e.g. it unlocked the
    /// flow first).
    pub async fn step_note(&self, idx: i64, note: &serde_json::Value) -> Result<(), LeaseError> {
        let note = note.to_string();
        self.write(Write::new(
            Fence::Steps,
            "UPDATE job_steps SET note = $1 WHERE job_id = $2 AND idx = $3",
            vec![note.as_str().into(), self.job_arg(), idx.into()],
        ))
        .await
    }
}

/// The note of a step the run-time re-check found deployed by an earlier job.
fn unchanged_note(r: &FlowRecordRow) -> serde_json::Value {
    json!({
        "kind": "unchanged_at_run_time",
        "message": format!(
            "flow '{}' already had this content when the step ran (published version {}, deployed by job {}); nothing was sent to Genesys",
            r.name,
            r.published_version.as_deref().unwrap_or("?"),
            r.job_id.as_deref().unwrap_or("?"),
        ),
        "job_id": r.job_id,
    })
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
        placeholders(2, idx.len())
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

/// The flow record of (target, name) if it deploys this plan hash as this flow type, with
/// modules no newer than it (see [`FlowRecordRow::deploys`]).
async fn deployed_record(
    tx: &mut Tx,
    target: &str,
    name: &str,
    flow_type: &str,
    plan_hash: &str,
) -> Result<Option<FlowRecordRow>, sqlx::Error> {
    let Some(record) = record_in(tx, target, name).await? else {
        return Ok(None);
    };
    let calls: Vec<String> =
        serde_json::from_str(&record.calls).map_err(|e| sqlx::Error::Decode(e.into()))?;
    let modules: Vec<(String, String)> = if calls.is_empty() {
        Vec::new()
    } else {
        let sql = format!(
            "SELECT name, updated_at FROM flow_records WHERE target = $1 AND name IN ({})",
            placeholders(2, calls.len())
        );
        on_tx!(tx, |c| {
            let mut q = sqlx::query_as(&sql).bind(target);
            for name in &calls {
                q = q.bind(name);
            }
            q.fetch_all(c).await?
        })
    };
    Ok(record
        .deploys(plan_hash, flow_type, &modules)
        .then_some(record))
}

/// `$first, $first+1, ...`: `n` parameters for an `IN (...)` list (the same text on both
/// backends, where SQLite's `json_each` or PostgreSQL's `= ANY` would differ).
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn lease_until(lease: std::time::Duration) -> String {
    let until = chrono::Utc::now()
        + chrono::Duration::from_std(lease).unwrap_or_else(|_| chrono::Duration::seconds(60));
    until.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
