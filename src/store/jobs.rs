//! Provisioning jobs, their steps and their events.
//!
//! Every state change is one `BEGIN IMMEDIATE` transaction that also appends the event
//! describing it. Writes by the worker are fenced: they only apply while the job is
//! `running` under the attempt that claimed it, so a worker whose lease was reclaimed cannot
//! overwrite its successor's work.

use sqlx::{FromRow, Sqlite, SqliteConnection, Transaction};

use super::flows::{FlowRecordRow, record_in, upsert_record};
use super::{Store, now};

pub const QUEUED: &str = "queued";
pub const RUNNING: &str = "running";
pub const SUCCEEDED: &str = "succeeded";
pub const FAILED: &str = "failed";
pub const CANCELLED: &str = "cancelled";

/// Whether a job status is final (until a retry).
pub fn is_terminal(status: &str) -> bool {
    matches!(status, SUCCEEDED | FAILED | CANCELLED)
}

#[derive(Debug, Clone, FromRow)]
pub struct JobRow {
    pub id: String,
    pub target: String,
    pub status: String,
    pub dry_run: bool,
    pub cancel_requested: bool,
    pub description: Option<String>,
    pub request: String,
    pub plan: String,
    pub idempotency_key: Option<String>,
    pub request_hash: String,
    pub attempt: i64,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub error: Option<String>,
    /// The `x-request-id` of the request that created the job.
    pub request_id: Option<String>,
}

const JOB_COLUMNS: &str = "id, target, status, dry_run, cancel_requested, description, request, plan, idempotency_key, request_hash, attempt, lease_owner, lease_expires_at, created_at, started_at, finished_at, error, request_id";

#[derive(Debug, Clone, FromRow)]
pub struct StepRow {
    pub job_id: String,
    pub idx: i64,
    pub flow_name: String,
    pub template_name: String,
    pub template_version: i64,
    pub flow_type: String,
    pub action: String,
    pub state: String,
    pub depends_on: String,
    pub yaml: String,
    pub content_hash: String,
    pub plan_hash: String,
    pub params: String,
    pub context: String,
    pub warnings: String,
    pub genesys_job_id: Option<String>,
    pub uploaded_at: Option<String>,
    pub flow_id: Option<String>,
    pub published_version: Option<String>,
    pub error: Option<String>,
    pub attempt: i64,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// JSON `{kind, message}`: why the step ended as it did when the plan did not say so.
    pub note: Option<String>,
}

const STEP_COLUMNS: &str = "job_id, idx, flow_name, template_name, template_version, flow_type, action, state, depends_on, yaml, content_hash, plan_hash, params, context, warnings, genesys_job_id, uploaded_at, flow_id, published_version, error, attempt, started_at, finished_at, note";

#[derive(Debug, Clone, FromRow)]
pub struct EventRow {
    pub job_id: String,
    pub seq: i64,
    pub at: String,
    pub kind: String,
    pub data: String,
}

/// A job to insert with its steps.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub id: String,
    pub target: String,
    /// `queued`, or final: `succeeded` (a dry run, or nothing to do) or `failed` (a dry run
    /// whose preflight found missing org objects).
    pub status: String,
    /// Why a job created final as `failed` failed.
    pub error: Option<String>,
    pub dry_run: bool,
    pub description: Option<String>,
    pub request: String,
    pub plan: String,
    pub idempotency_key: Option<String>,
    pub request_hash: String,
    /// The `x-request-id` of the creating request.
    pub request_id: Option<String>,
    pub steps: Vec<NewStep>,
}

#[derive(Debug, Clone)]
pub struct NewStep {
    pub flow_name: String,
    pub template_name: String,
    pub template_version: i64,
    pub flow_type: String,
    pub action: String,
    pub state: String,
    pub depends_on: String,
    pub yaml: String,
    pub plan_hash: String,
    pub params: String,
    pub context: String,
    pub warnings: String,
    pub flow_id: Option<String>,
    pub published_version: Option<String>,
    pub error: Option<String>,
}

/// Jobs by status and steps by state.
#[derive(Debug, Clone, Default)]
pub struct StateCounts {
    pub jobs: Vec<(String, i64)>,
    pub steps: Vec<(String, i64)>,
}

pub enum CreateOutcome {
    Created(JobRow),
    /// A job with the same idempotency key exists (compare its `request_hash`).
    Existing(JobRow),
}

/// What the worker got by claiming.
#[derive(Debug, Clone, FromRow)]
pub struct Claimed {
    pub id: String,
    pub target: String,
    pub attempt: i64,
    pub dry_run: bool,
    /// The `x-request-id` of the request that created the job (for the worker's spans).
    pub request_id: Option<String>,
}

#[derive(Debug, Default, Clone)]
pub struct JobFilter {
    pub status: Option<String>,
    pub target: Option<String>,
    /// Ids strictly before this one (newest first).
    pub before: Option<String>,
    pub limit: i64,
}

pub enum CancelOutcome {
    NotFound,
    /// Already final: nothing to cancel.
    Terminal(String),
    /// The job was queued and is now cancelled.
    Cancelled,
    /// The job is running: no new step starts; it ends cancelled.
    Requested,
}

pub enum RetryOutcome {
    NotFound,
    /// Only failed and cancelled jobs can be retried.
    NotApplicable(String),
    Requeued,
}

/// What [`Store::step_started`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStart {
    /// The step is running under this attempt.
    Started,
    /// The org already had the step's content: the step ended as succeeded, `unchanged`.
    AlreadyDeployed,
    /// The job is no longer this attempt's (reclaimed, cancelled or finished).
    Lost,
}

/// How a step ended.
#[derive(Debug, Clone)]
pub struct StepSuccess {
    pub flow_id: String,
    pub published_version: Option<String>,
    pub yaml: String,
    pub content_hash: String,
}

/// Appends an event to a job inside the caller's transaction.
pub async fn append_event(
    conn: &mut SqliteConnection,
    job_id: &str,
    kind: &str,
    data: &serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO job_events (job_id, seq, at, kind, data) \
         SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4 FROM job_events WHERE job_id = $1",
    )
    .bind(job_id)
    .bind(now())
    .bind(kind)
    .bind(data.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// The fence of every worker write: the job is running under this attempt.
const FENCE: &str = "EXISTS (SELECT 1 FROM jobs WHERE jobs.id = job_steps.job_id AND jobs.attempt = $ATTEMPT AND jobs.status = 'running')";

fn fenced(sql: &str, attempt_param: &str) -> String {
    sql.replace("$FENCE", &FENCE.replace("$ATTEMPT", attempt_param))
}

impl Store {
    /// Inserts a job, its steps and its first event(s) in one transaction, unless a job with
    /// the same idempotency key exists.
    pub async fn create_job(&self, job: &NewJob) -> Result<CreateOutcome, sqlx::Error> {
        self.tracked(async {
            let mut tx = self.begin_write().await?;
            if let Some(key) = &job.idempotency_key
                && let Some(existing) = job_by_key(&mut tx, key).await?
            {
                tx.commit().await?;
                return Ok(CreateOutcome::Existing(existing));
            }
            let created_at = now();
            let finished = (job.status != QUEUED).then(|| created_at.clone());
            sqlx::query(
                "INSERT INTO jobs (id, target, status, dry_run, description, request, plan, idempotency_key, request_hash, created_at, finished_at, request_id, error) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(&job.id)
            .bind(&job.target)
            .bind(&job.status)
            .bind(job.dry_run)
            .bind(&job.description)
            .bind(&job.request)
            .bind(&job.plan)
            .bind(&job.idempotency_key)
            .bind(&job.request_hash)
            .bind(&created_at)
            .bind(&finished)
            .bind(&job.request_id)
            .bind(&job.error)
            .execute(&mut *tx)
            .await?;
            for (idx, s) in job.steps.iter().enumerate() {
                let done = (s.state != "pending").then(|| created_at.clone());
                sqlx::query(
                    "INSERT INTO job_steps (job_id, idx, flow_name, template_name, template_version, flow_type, action, state, depends_on, yaml, content_hash, plan_hash, params, context, warnings, flow_id, published_version, error, finished_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
                )
                .bind(&job.id)
                .bind(idx as i64)
                .bind(&s.flow_name)
                .bind(&s.template_name)
                .bind(s.template_version)
                .bind(&s.flow_type)
                .bind(&s.action)
                .bind(&s.state)
                .bind(&s.depends_on)
                .bind(&s.yaml)
                .bind(&s.plan_hash)
                .bind(&s.plan_hash)
                .bind(&s.params)
                .bind(&s.context)
                .bind(&s.warnings)
                .bind(&s.flow_id)
                .bind(&s.published_version)
                .bind(&s.error)
                .bind(&done)
                .execute(&mut *tx)
                .await?;
            }
            append_event(
                &mut tx,
                &job.id,
                "job.created",
                &serde_json::json!({"status": QUEUED, "steps": job.steps.len(), "dry_run": job.dry_run}),
            )
            .await?;
            if job.status != QUEUED {
                append_event(
                    &mut tx,
                    &job.id,
                    &format!("job.{}", job.status),
                    &serde_json::json!({"status": job.status, "dry_run": job.dry_run, "error": job.error}),
                )
                .await?;
            }
            let row = fetch_job(&mut tx, &job.id)
                .await?
                .ok_or(sqlx::Error::RowNotFound)?;
            tx.commit().await?;
            Ok(CreateOutcome::Created(row))
        })
        .await
    }

    /// Jobs and steps by state (`SELECT state, COUNT(*) ... GROUP BY state`), for the
    /// scrape-time gauges of `/metrics`.
    pub async fn state_counts(&self) -> Result<StateCounts, sqlx::Error> {
        let jobs: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM jobs GROUP BY status ORDER BY status")
                .fetch_all(self.reader())
                .await?;
        let steps: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM job_steps GROUP BY state ORDER BY state")
                .fetch_all(self.reader())
                .await?;
        Ok(StateCounts { jobs, steps })
    }

    pub async fn job_by_idempotency_key(&self, key: &str) -> Result<Option<JobRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE idempotency_key = $1"
        ))
        .bind(key)
        .fetch_optional(self.reader())
        .await
    }

    pub async fn job(&self, id: &str) -> Result<Option<JobRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await
    }

    pub async fn job_steps(&self, id: &str) -> Result<Vec<StepRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {STEP_COLUMNS} FROM job_steps WHERE job_id = $1 ORDER BY idx"
        ))
        .bind(id)
        .fetch_all(self.reader())
        .await
    }

    /// A job's steps without their YAML and compile context (empty strings): what the API
    /// shows. The YAML is the bulk of a step row; reading it for every `GET /v1/jobs/{id}`
    /// made that read several times slower.
    pub async fn job_step_views(&self, id: &str) -> Result<Vec<StepRow>, sqlx::Error> {
        let columns = STEP_COLUMNS
            .replace(" yaml,", " '' AS yaml,")
            .replace(" context,", " '' AS context,");
        sqlx::query_as(&format!(
            "SELECT {columns} FROM job_steps WHERE job_id = $1 ORDER BY idx"
        ))
        .bind(id)
        .fetch_all(self.reader())
        .await
    }

    /// Jobs newest first, after the cursor, at most `limit`.
    pub async fn list_jobs(&self, f: &JobFilter) -> Result<Vec<JobRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs \
             WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR target = $2) AND ($3 IS NULL OR id < $3) \
             ORDER BY id DESC LIMIT $4"
        ))
        .bind(f.status.as_deref())
        .bind(f.target.as_deref())
        .bind(f.before.as_deref())
        .bind(f.limit)
        .fetch_all(self.reader())
        .await
    }

    /// The sequence number of a job's last event: every change a job's view shows appends
    /// an event, so this is the view's version. `None` when there is no such job.
    pub async fn job_version(&self, id: &str) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar("SELECT MAX(seq) FROM job_events WHERE job_id = $1")
            .bind(id)
            .fetch_one(self.reader())
            .await
    }

    /// Events of a job after `seq`, oldest first.
    pub async fn job_events(
        &self,
        id: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<EventRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT job_id, seq, at, kind, data FROM job_events WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(id)
        .bind(after)
        .bind(limit)
        .fetch_all(self.reader())
        .await
    }

    /// Claims the oldest job that is queued, or running with an expired lease, whose target
    /// has no other job under a live lease (one job per target at a time, in order). The
    /// guarded `UPDATE ... WHERE id = (SELECT ...)` runs inside `BEGIN IMMEDIATE`, so two
    /// workers can never claim the same job.
    pub async fn claim_job(
        &self,
        owner: &str,
        lease: std::time::Duration,
        targets: &[String],
    ) -> Result<Option<Claimed>, sqlx::Error> {
        self.tracked(async {
            let now_ts = now();
            let until = lease_until(lease);
            let targets_json = serde_json::to_string(targets).unwrap_or_else(|_| "[]".into());
            let mut tx = self.begin_write().await?;
            let claimed: Option<Claimed> = sqlx::query_as(
                "UPDATE jobs SET status = 'running', lease_owner = $1, lease_expires_at = $2, attempt = attempt + 1, \
                     started_at = COALESCE(started_at, $3) \
                 WHERE id = ( \
                     SELECT j.id FROM jobs j \
                     WHERE (j.status = 'queued' OR (j.status = 'running' AND j.lease_expires_at < $3)) \
                       AND j.target IN (SELECT value FROM json_each($4)) \
                       AND NOT EXISTS (SELECT 1 FROM jobs k WHERE k.target = j.target AND k.id <> j.id \
                                       AND k.status = 'running' AND k.lease_expires_at >= $3) \
                     ORDER BY j.created_at, j.id LIMIT 1) \
                 RETURNING id, target, attempt, dry_run, request_id",
            )
            .bind(owner)
            .bind(&until)
            .bind(&now_ts)
            .bind(&targets_json)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(c) = &claimed {
                append_event(
                    &mut tx,
                    &c.id,
                    "job.started",
                    &serde_json::json!({"status": RUNNING, "attempt": c.attempt, "worker": owner}),
                )
                .await?;
            }
            tx.commit().await?;
            Ok(claimed)
        })
        .await
    }

    /// Extends the lease; false when the job is no longer ours (reclaimed or finished).
    pub async fn heartbeat(
        &self,
        id: &str,
        attempt: i64,
        lease: std::time::Duration,
    ) -> Result<bool, sqlx::Error> {
        self.tracked(async {
            let mut tx = self.begin_write().await?;
            let n = sqlx::query(
                "UPDATE jobs SET lease_expires_at = $1 WHERE id = $2 AND attempt = $3 AND status = 'running'",
            )
            .bind(lease_until(lease))
            .bind(id)
            .bind(attempt)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            Ok(n == 1)
        })
        .await
    }

    /// Gives the lease up at once (graceful shutdown), so the next start resumes the job
    /// without waiting for it to expire.
    pub async fn release_job(&self, id: &str, attempt: i64) -> Result<bool, sqlx::Error> {
        self.tracked(async {
            let mut tx = self.begin_write().await?;
            let n = sqlx::query(
                "UPDATE jobs SET lease_expires_at = $1, lease_owner = NULL WHERE id = $2 AND attempt = $3 AND status = 'running'",
            )
            .bind("1970-01-01T00:00:00.000Z")
            .bind(id)
            .bind(attempt)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            Ok(n == 1)
        })
        .await
    }

    pub async fn cancel_requested(&self, id: &str) -> Result<bool, sqlx::Error> {
        let v: Option<bool> = sqlx::query_scalar("SELECT cancel_requested FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        Ok(v.unwrap_or(false))
    }

    /// Checkpoint: the step is running under this attempt — unless the org already has what
    /// it would deploy. Jobs are planned concurrently but run one at a time per target, so a
    /// step planned `create` or `update` may find, when it starts, that an earlier step (of
    /// another job) deployed the same content since: the flow record, written in the same
    /// transaction as that step's success, has the same plan hash and a published version
    /// no older than the modules it calls ([`FlowRecordRow::deploys`]). The step then ends
    /// here as succeeded and `unchanged`, with a note saying so, without a Genesys request.
    pub async fn step_started(
        &self,
        id: &str,
        attempt: i64,
        idx: i64,
    ) -> Result<StepStart, sqlx::Error> {
        self.step_check(id, attempt, idx, false).await
    }

    /// The run-time re-check again, for a step that waited for the modules it calls: they
    /// have ended now, so their records say whether this job changed them (a module whose
    /// own re-check found it deployed is `unchanged`; one it published is newer than the
    /// step's record, which then does not count as deployed). `AlreadyDeployed` ends the
    /// step as `unchanged`; its registered Architect job is abandoned, never uploaded.
    pub async fn step_rechecked(
        &self,
        id: &str,
        attempt: i64,
        idx: i64,
    ) -> Result<StepStart, sqlx::Error> {
        self.step_check(id, attempt, idx, true).await
    }

    async fn step_check(
        &self,
        id: &str,
        attempt: i64,
        idx: i64,
        modules_ended: bool,
    ) -> Result<StepStart, sqlx::Error> {
        self.tracked(async {
            let mut tx = self.begin_write().await?;
            // Not re-checked: a step waiting for a module this job changes (its module's
            // record is only written when that step succeeds, possibly after this one
            // started: the worker registers callers ahead) and a step planned to repair
            // drift (the record is what the org no longer has); and a delete.
            // (`$3`: after the modules ended, their records decide, see `step_rechecked`.)
            let planned: Option<(String, String, String, String)> = sqlx::query_as(
                "SELECT j.target, s.flow_name, s.flow_type, s.plan_hash FROM job_steps s JOIN jobs j ON j.id = s.job_id \
                 WHERE s.job_id = $1 AND s.idx = $2 AND s.action != 'delete' AND json_extract(s.context, '$.drift') IS NULL \
                 AND ($3 OR NOT EXISTS (SELECT 1 FROM json_each(s.depends_on) e JOIN job_steps d ON d.job_id = s.job_id AND d.idx = e.value \
                                 WHERE d.action != 'unchanged'))",
            )
            .bind(id)
            .bind(idx)
            .bind(modules_ended)
            .fetch_optional(&mut *tx)
            .await?;
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
                    let n = sqlx::query(&fenced(
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
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if n == 1 {
                        append_event(
                            &mut tx,
                            id,
                            "step.succeeded",
                            &serde_json::json!({"idx": idx, "flow_name": r.name, "flow_id": r.flow_id, "published_version": r.published_version, "note": note}),
                        )
                        .await?;
                    }
                    (n, StepStart::AlreadyDeployed)
                }
                None => {
                    let n = sqlx::query(&fenced(
                        "UPDATE job_steps SET state = 'running', attempt = $1, started_at = COALESCE(started_at, $2), error = NULL \
                         WHERE job_id = $3 AND idx = $4 AND state IN ('pending', 'running') AND $FENCE",
                        "$1",
                    ))
                    .bind(attempt)
                    .bind(&at)
                    .bind(id)
                    .bind(idx)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if n == 1 {
                        append_event(
                            &mut tx,
                            id,
                            "step.started",
                            &serde_json::json!({"idx": idx, "attempt": attempt}),
                        )
                        .await?;
                    }
                    (n, StepStart::Started)
                }
            };
            tx.commit().await?;
            Ok(if n == 1 { outcome } else { StepStart::Lost })
        })
        .await
    }

    /// Checkpoint: an Architect job was registered for the step (before the upload).
    pub async fn step_registered(
        &self,
        id: &str,
        attempt: i64,
        idx: i64,
        genesys_job_id: &str,
        yaml: &str,
        content_hash: &str,
    ) -> Result<bool, sqlx::Error> {
        self.tracked(async {
            let mut tx = self.begin_write().await?;
            let n = sqlx::query(&fenced(
                "UPDATE job_steps SET genesys_job_id = $1, uploaded_at = NULL, yaml = $2, content_hash = $3 \
                 WHERE job_id = $4 AND idx = $5 AND state = 'running' AND $FENCE",
                "$6",
            ))
            .bind(genesys_job_id)
            .bind(yaml)
            .bind(content_hash)
            .bind(id)
            .bind(idx)
            .bind(attempt)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                append_event(
                    &mut tx,
                    id,
                    "step.registered",
                    &serde_json::json!({"idx": idx, "genesys_job_id": genesys_job_id}),
                )
                .await?;
            }
            tx.commit().await?;
            Ok(n == 1)
        })
        .await
    }

    /// Checkpoint: the YAML was uploaded (a resumed step may poll the Genesys job).
    pub async fn step_uploaded(
        &self,
        id: &str,
        attempt: i64,
        idx: i64,
    ) -> Result<bool, sqlx::Error> {
        self.tracked(async {
            let mut tx = self.begin_write().await?;
            let n = sqlx::query(&fenced(
                "UPDATE job_steps SET uploaded_at = $1 WHERE job_id = $2 AND idx = $3 AND state = 'running' AND $FENCE",
                "$4",
            ))
            .bind(now())
            .bind(id)
            .bind(idx)
            .bind(attempt)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            Ok(n == 1)
        })
        .await
    }

    /// The step succeeded: its result and the flow record, in one transaction.
    pub async fn step_succeeded(
        &self,
        id: &str,
        attempt: i64,
        idx: i64,
        ok: &StepSuccess,
        record: &FlowRecordRow,
    ) -> Result<bool, sqlx::Error> {
        self.tracked(async {
            let mut tx = self.begin_write().await?;
            let at = now();
            let n = sqlx::query(&fenced(
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
            .bind(id)
            .bind(idx)
            .bind(attempt)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                upsert_record(&mut tx, record).await?;
                append_event(
                    &mut tx,
                    id,
                    "step.succeeded",
                    &serde_json::json!({"idx": idx, "flow_name": record.name, "flow_id": ok.flow_id, "published_version": ok.published_version}),
                )
                .await?;
            }
            tx.commit().await?;
            Ok(n == 1)
        })
        .await
    }

    /// Published versions read after the steps succeeded (`(idx, flow name, version)`),
    /// written to the steps and to the flow records this job wrote, in one transaction
    /// (fenced). Returns false when the job is no longer ours.
    pub async fn steps_published(
        &self,
        id: &str,
        attempt: i64,
        target: &str,
        versions: &[(i64, String, String)],
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.begin_write().await?;
        let mut written = Vec::new();
        for (idx, name, version) in versions {
            let n = sqlx::query(&fenced(
                "UPDATE job_steps SET published_version = $1 \
                 WHERE job_id = $2 AND idx = $3 AND state = 'succeeded' AND $FENCE",
                "$4",
            ))
            .bind(version)
            .bind(id)
            .bind(idx)
            .bind(attempt)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                continue;
            }
            // Only the record this job wrote: a later job's record keeps its own version.
            sqlx::query(
                "UPDATE flow_records SET published_version = $1 \
                 WHERE target = $2 AND name = $3 AND job_id = $4",
            )
            .bind(version)
            .bind(target)
            .bind(name)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            written.push(
                serde_json::json!({"idx": idx, "flow_name": name, "published_version": version}),
            );
        }
        let fenced_ok = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM jobs WHERE id = $1 AND attempt = $2 AND status = 'running'",
        )
        .bind(id)
        .bind(attempt)
        .fetch_one(&mut *tx)
        .await?
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
        id: &str,
        attempt: i64,
        idx: i64,
        state: &str,
        error: &serde_json::Value,
    ) -> Result<bool, sqlx::Error> {
        self.tracked(async {
            let mut tx = self.begin_write().await?;
            let n = sqlx::query(&fenced(
                "UPDATE job_steps SET state = $1, error = $2, finished_at = $3 \
                 WHERE job_id = $4 AND idx = $5 AND state IN ('pending', 'running') AND $FENCE",
                "$6",
            ))
            .bind(state)
            .bind(error.to_string())
            .bind(now())
            .bind(id)
            .bind(idx)
            .bind(attempt)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                append_event(
                    &mut tx,
                    id,
                    &format!("step.{state}"),
                    &serde_json::json!({"idx": idx, "error": error}),
                )
                .await?;
            }
            tx.commit().await?;
            Ok(n == 1)
        })
        .await
    }

    /// Ends a running job (fenced) with its final status; clears the lease.
    pub async fn finish_job(
        &self,
        id: &str,
        attempt: i64,
        status: &str,
        error: Option<&str>,
    ) -> Result<bool, sqlx::Error> {
        self.tracked(async {
            let mut tx = self.begin_write().await?;
            let n = sqlx::query(
                "UPDATE jobs SET status = $1, error = $2, finished_at = $3, lease_owner = NULL, lease_expires_at = NULL \
                 WHERE id = $4 AND attempt = $5 AND status = 'running'",
            )
            .bind(status)
            .bind(error)
            .bind(now())
            .bind(id)
            .bind(attempt)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                append_event(
                    &mut tx,
                    id,
                    &format!("job.{status}"),
                    &serde_json::json!({"status": status, "error": error}),
                )
                .await?;
            }
            tx.commit().await?;
            Ok(n == 1)
        })
        .await
    }

    /// `POST /v1/jobs/{id}/cancel`.
    pub async fn cancel_job(&self, id: &str) -> Result<CancelOutcome, sqlx::Error> {
        self.tracked(async {
            let mut tx = self.begin_write().await?;
            let Some(job) = fetch_job(&mut tx, id).await? else {
                return Ok(CancelOutcome::NotFound);
            };
            let at = now();
            let outcome = match job.status.as_str() {
                QUEUED => {
                    sqlx::query("UPDATE jobs SET status = 'cancelled', cancel_requested = 1, finished_at = $1 WHERE id = $2")
                        .bind(&at)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    let reason = serde_json::json!({"kind": "cancelled", "message": "the job was cancelled before this step started"});
                    sqlx::query(
                        "UPDATE job_steps SET state = 'cancelled', error = $1, finished_at = $2 WHERE job_id = $3 AND state IN ('pending', 'running')",
                    )
                    .bind(reason.to_string())
                    .bind(&at)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    append_event(
                        &mut tx,
                        id,
                        "job.cancelled",
                        &serde_json::json!({"status": CANCELLED}),
                    )
                    .await?;
                    CancelOutcome::Cancelled
                }
                RUNNING => {
                    sqlx::query("UPDATE jobs SET cancel_requested = 1 WHERE id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    append_event(&mut tx, id, "job.cancel_requested", &serde_json::json!({})).await?;
                    CancelOutcome::Requested
                }
                other => CancelOutcome::Terminal(other.to_owned()),
            };
            tx.commit().await?;
            Ok(outcome)
        })
        .await
    }

    /// `POST /v1/jobs/{id}/retry`: failed, skipped and cancelled steps back to pending, the
    /// job back to queued. Succeeded steps stay as they are.
    pub async fn retry_job(&self, id: &str) -> Result<RetryOutcome, sqlx::Error> {
        self.tracked(async {
            let mut tx = self.begin_write().await?;
            let Some(job) = fetch_job(&mut tx, id).await? else {
                return Ok(RetryOutcome::NotFound);
            };
            if !matches!(job.status.as_str(), FAILED | CANCELLED) || job.dry_run {
                return Ok(RetryOutcome::NotApplicable(job.status));
            }
            sqlx::query(
                "UPDATE jobs SET status = 'queued', cancel_requested = 0, error = NULL, finished_at = NULL, lease_owner = NULL, lease_expires_at = NULL WHERE id = $1",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
            let n = sqlx::query(
                "UPDATE job_steps SET state = 'pending', error = NULL, genesys_job_id = NULL, uploaded_at = NULL, started_at = NULL, finished_at = NULL \
                 WHERE job_id = $1 AND state IN ('failed', 'skipped', 'cancelled')",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            append_event(
                &mut tx,
                id,
                "job.retried",
                &serde_json::json!({"status": QUEUED, "steps_requeued": n}),
            )
            .await?;
            tx.commit().await?;
            Ok(RetryOutcome::Requeued)
        })
        .await
    }

    /// The template version a step was planned from, even if the template was deleted since.
    pub async fn template_document(
        &self,
        name: &str,
        version: i64,
    ) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT document FROM template_versions WHERE name = $1 AND version = $2",
        )
        .bind(name)
        .bind(version)
        .fetch_optional(self.reader())
        .await
    }
}

fn lease_until(lease: std::time::Duration) -> String {
    let until = chrono::Utc::now()
        + chrono::Duration::from_std(lease).unwrap_or_else(|_| chrono::Duration::seconds(60));
    until.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The flow record of (target, name) if it deploys this plan hash as this flow type, with
/// modules no newer than it (see [`FlowRecordRow::deploys`]).
async fn deployed_record(
    tx: &mut Transaction<'static, Sqlite>,
    target: &str,
    name: &str,
    flow_type: &str,
    plan_hash: &str,
) -> Result<Option<FlowRecordRow>, sqlx::Error> {
    let Some(record) = record_in(tx, target, name).await? else {
        return Ok(None);
    };
    let modules: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, updated_at FROM flow_records WHERE target = $1 AND name IN (SELECT value FROM json_each($2))",
    )
    .bind(target)
    .bind(&record.calls)
    .fetch_all(&mut **tx)
    .await?;
    Ok(record
        .deploys(plan_hash, flow_type, &modules)
        .then_some(record))
}

async fn fetch_job(
    tx: &mut Transaction<'static, Sqlite>,
    id: &str,
) -> Result<Option<JobRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

async fn job_by_key(
    tx: &mut Transaction<'static, Sqlite>,
    key: &str,
) -> Result<Option<JobRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE idempotency_key = $1"
    ))
    .bind(key)
    .fetch_optional(&mut **tx)
    .await
}

/// A step that changed a flow in the org (published it, or deleted it), with its target:
/// one entry of a flow's release history.
#[derive(Debug, Clone, FromRow)]
pub struct ReleaseRow {
    pub target: String,
    #[sqlx(flatten)]
    pub step: StepRow,
}

/// The step columns qualified with `s.` (for joins with `jobs`).
fn step_columns_of_s() -> String {
    STEP_COLUMNS
        .split(", ")
        .map(|c| format!("s.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Succeeded, not dry-run steps whose action changed the flow.
const RELEASED: &str = "s.state = 'succeeded' AND s.action IN ('create', 'update', 'republish', 'delete') AND j.dry_run = 0";

impl Store {
    /// The releases of flow (target, name), newest first, at most `limit`.
    pub async fn flow_releases(
        &self,
        target: &str,
        name: &str,
        limit: i64,
    ) -> Result<Vec<ReleaseRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT j.target, {} FROM job_steps s JOIN jobs j ON j.id = s.job_id \
             WHERE s.flow_name = $1 AND j.target = $2 AND {RELEASED} \
             ORDER BY s.finished_at DESC, s.job_id DESC LIMIT $3",
            step_columns_of_s()
        ))
        .bind(name)
        .bind(target)
        .bind(limit)
        .fetch_all(self.reader())
        .await
    }

    /// The steps of job `id` that changed a flow.
    pub async fn job_releases(&self, id: &str) -> Result<Vec<ReleaseRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT j.target, {} FROM job_steps s JOIN jobs j ON j.id = s.job_id \
             WHERE s.job_id = $1 AND {RELEASED} ORDER BY s.idx",
            step_columns_of_s()
        ))
        .bind(id)
        .fetch_all(self.reader())
        .await
    }

    /// The last publish of flow (target, name) that finished before `before` (a step's
    /// `finished_at`) in another job: the file the flow had before that step.
    pub async fn release_before(
        &self,
        target: &str,
        name: &str,
        job_id: &str,
        before: &str,
    ) -> Result<Option<ReleaseRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT j.target, {} FROM job_steps s JOIN jobs j ON j.id = s.job_id \
             WHERE s.flow_name = $1 AND j.target = $2 AND s.job_id != $3 AND s.finished_at <= $4 \
               AND {RELEASED} AND s.action != 'delete' \
             ORDER BY s.finished_at DESC, s.job_id DESC LIMIT 1",
            step_columns_of_s()
        ))
        .bind(name)
        .bind(target)
        .bind(job_id)
        .bind(before)
        .fetch_optional(self.reader())
        .await
    }

    /// A delete step succeeded: the step and the removal of the flow's record in one
    /// transaction (fenced). False when the job is no longer ours.
    pub async fn step_deleted(
        &self,
        id: &str,
        attempt: i64,
        idx: i64,
        target: &str,
        name: &str,
        note: Option<&serde_json::Value>,
    ) -> Result<bool, sqlx::Error> {
        self.tracked(async {
            let mut tx = self.begin_write().await?;
            let at = now();
            let n = sqlx::query(&fenced(
                "UPDATE job_steps SET state = 'succeeded', finished_at = $1, error = NULL, note = COALESCE($2, note) \
                 WHERE job_id = $3 AND idx = $4 AND state = 'running' AND $FENCE",
                "$5",
            ))
            .bind(&at)
            .bind(note.map(|n| n.to_string()))
            .bind(id)
            .bind(idx)
            .bind(attempt)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                sqlx::query("DELETE FROM flow_records WHERE target = $1 AND name = $2")
                    .bind(target)
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
                append_event(
                    &mut tx,
                    id,
                    "step.succeeded",
                    &serde_json::json!({"idx": idx, "flow_name": name, "deleted": true}),
                )
                .await?;
            }
            tx.commit().await?;
            Ok(n == 1)
        })
        .await
    }

    /// Records why a running step did something the plan did not say (e.g. it unlocked the
    /// flow first).
    pub async fn step_note(
        &self,
        id: &str,
        idx: i64,
        note: &serde_json::Value,
    ) -> Result<(), sqlx::Error> {
        self.tracked(async {
            let mut tx = self.begin_write().await?;
            sqlx::query("UPDATE job_steps SET note = $1 WHERE job_id = $2 AND idx = $3")
                .bind(note.to_string())
                .bind(id)
                .bind(idx)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        })
        .await
    }
}
