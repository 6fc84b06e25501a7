//! Provisioning jobs, their steps and their events: the rows and the use-case writes (create,
//! cancel, retry).
//!
//! Every state change is one transaction that also appends the event describing it; the
//! changes of one job are serialised across replicas by [`Lock::Job`] (on SQLite every
//! write is, by `BEGIN IMMEDIATE`). Writes by the worker are fenced: the claim
//! (`store/lease.rs`) returns a `Lease`, whose methods are the only writes a worker makes.
//!
//! States and actions are typed ([`JobStatus`], [`StepState`], [`Action`]): the TEXT columns
//! are decoded as strings and parsed (`try_from = "String"`), so an unknown value fails the
//! read instead of passing as text. JSON columns stay TEXT; their typed readers
//! ([`StepRow::depends_on`], ...) fail with [`Corrupt`] instead of defaulting.

use serde_json::{Map, Value};
use sqlx::FromRow;

use super::{Lock, Store, Tx, now};
use crate::job_model::{Action, Corrupt, JobStatus, StepError, StepState, decode_json};
use crate::template::FlowType;

#[derive(Debug, Clone, FromRow)]
pub struct JobRow {
    pub id: String,
    pub target: String,
    #[sqlx(try_from = "String")]
    pub status: JobStatus,
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
    #[sqlx(try_from = "String")]
    pub flow_type: FlowType,
    #[sqlx(try_from = "String")]
    pub action: Action,
    #[sqlx(try_from = "String")]
    pub state: StepState,
    /// JSON array of step indices: read it with [`StepRow::depends_on`].
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

impl StepRow {
    fn key(&self) -> String {
        format!("job {} step {}", self.job_id, self.idx)
    }

    /// The module steps this step waits for.
    pub fn depends_on(&self) -> Result<Vec<usize>, Corrupt> {
        decode_json("job_steps", "depends_on", self.key(), &self.depends_on)
    }

    /// The template parameters the step was planned with.
    pub fn params(&self) -> Result<Map<String, Value>, Corrupt> {
        decode_json("job_steps", "params", self.key(), &self.params)
    }

    /// Another JSON column (`context`, `warnings`, `error`, `note`) as `T`.
    pub fn decode<T: serde::de::DeserializeOwned>(
        &self,
        column: &'static str,
        text: &str,
    ) -> Result<T, Corrupt> {
        decode_json("job_steps", column, self.key(), text)
    }
}

const STEP_COLUMNS: &str = "job_id, idx, flow_name, template_name, template_version, flow_type, action, state, depends_on, yaml, content_hash, plan_hash, params, context, warnings, genesys_job_id, uploaded_at, flow_id, published_version, error, attempt, started_at, finished_at, note";

/// How many steps of a job are in one (state, action).
#[derive(Debug, Clone, FromRow)]
pub struct StepCount {
    pub job_id: String,
    #[sqlx(try_from = "String")]
    pub state: StepState,
    #[sqlx(try_from = "String")]
    pub action: Action,
    pub n: i64,
}

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
    pub status: JobStatus,
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
    pub flow_type: FlowType,
    pub action: Action,
    pub state: StepState,
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

/// Jobs by status, and unfinished jobs' steps by state.
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

#[derive(Debug, Default, Clone)]
pub struct JobFilter {
    pub status: Option<JobStatus>,
    pub target: Option<String>,
    /// Ids strictly before this one (newest first).
    pub before: Option<String>,
    pub limit: i64,
}

pub enum CancelOutcome {
    NotFound,
    /// Already final: nothing to cancel.
    Terminal(JobStatus),
    /// The job was queued and is now cancelled.
    Cancelled,
    /// The job is running: no new step starts; it ends cancelled.
    Requested,
}

pub enum RetryOutcome {
    NotFound,
    /// Only failed and cancelled jobs can be retried.
    NotApplicable(JobStatus),
    Requeued,
}

/// Appends an event to a job inside the caller's transaction.
/// The query of [`Store::list_jobs`] and its parameters: only the filters given. With
/// `($3 IS NULL OR id < $3)` a prepared statement could not seek the cursor in the index
/// of ids; it read every newer id first (a page halfway down a year scanned half of it).
fn list_jobs_sql<'f>(columns: &str, f: &'f JobFilter) -> (String, Vec<&'f str>) {
    let mut conditions: Vec<String> = Vec::new();
    let mut keys: Vec<&str> = Vec::new();
    for (column, op, value) in [
        ("status", "=", f.status.map(JobStatus::as_str)),
        ("target", "=", f.target.as_deref()),
        ("id", "<", f.before.as_deref()),
    ] {
        if let Some(v) = value {
            keys.push(v);
            conditions.push(format!("{column} {op} ${}", keys.len()));
        }
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {} ", conditions.join(" AND "))
    };
    (
        format!(
            "SELECT {columns} FROM jobs {filter}ORDER BY id DESC LIMIT {}",
            f.limit.max(0)
        ),
        keys,
    )
}

/// Steps inserted per statement: 19 parameters a row stays far below both backends'
/// limits (SQLite 32,766, PostgreSQL 65,535).
const STEP_ROWS: usize = 100;

/// `INSERT INTO job_steps ... VALUES (...), (...)` of `rows` rows, numbered `$1`... in order.
fn insert_steps_sql(rows: usize) -> String {
    const COLUMNS: usize = 19;
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let marks: Vec<String> = (1..=COLUMNS)
                .map(|c| format!("${}", r * COLUMNS + c))
                .collect();
            format!("({})", marks.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO job_steps (job_id, idx, flow_name, template_name, template_version, flow_type, action, state, depends_on, yaml, content_hash, plan_hash, params, context, warnings, flow_id, published_version, error, finished_at) \
         VALUES {}",
        values.join(", ")
    )
}

pub(super) async fn append_event(
    tx: &mut Tx,
    job_id: &str,
    kind: &str,
    data: &serde_json::Value,
) -> Result<(), sqlx::Error> {
    tx.execute(
        "INSERT INTO job_events (job_id, seq, at, kind, data) \
         SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4 FROM job_events WHERE job_id = $1",
        &[job_id, &now(), kind, &data.to_string()],
    )
    .await?;
    Ok(())
}

impl Store {
    /// Inserts a job, its steps and its first event(s) in one transaction, unless a job with
    /// the same idempotency key exists.
    /// Two replicas may both find no job with the key and both insert: the second insert
    /// violates the key's uniqueness, and that request is answered with the job the other
    /// created, as if it had come second.
    pub async fn create_job(&self, job: &NewJob) -> Result<CreateOutcome, sqlx::Error> {
        match self.insert_job(job).await {
            Err(e) if super::is_unique_violation(&e) => match &job.idempotency_key {
                Some(key) => match self.job_by_idempotency_key(key).await? {
                    Some(existing) => Ok(CreateOutcome::Existing(existing)),
                    None => Err(e),
                },
                None => Err(e),
            },
            r => r,
        }
    }

    async fn insert_job(&self, job: &NewJob) -> Result<CreateOutcome, sqlx::Error> {
        self.tracked(async {
            let mut tx = self.begin().await?;
            if let Some(key) = &job.idempotency_key
                && let Some(existing) = job_by_key(&mut tx, key).await?
            {
                tx.commit().await?;
                return Ok(CreateOutcome::Existing(existing));
            }
            let created_at = now();
            let finished = (job.status != JobStatus::Queued).then(|| created_at.clone());
            on_tx!(&mut tx, |c| sqlx::query(
                "INSERT INTO jobs (id, target, status, dry_run, description, request, plan, idempotency_key, request_hash, created_at, finished_at, request_id, error) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(&job.id)
            .bind(&job.target)
            .bind(job.status.as_str())
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
            .execute(c)
            .await.map(|r| r.rows_affected()))?;
            // A statement per chunk of steps, not per step: each statement is a round trip
            // (to PostgreSQL, or to SQLite's connection thread), and a 40-flow job's 40 of
            // them were the bulk of a dry run's time on PostgreSQL.
            for (n, chunk) in job.steps.chunks(STEP_ROWS).enumerate() {
                let sql = insert_steps_sql(chunk.len());
                on_tx!(&mut tx, |c| {
                    let mut q = sqlx::query(&sql);
                    for (k, s) in chunk.iter().enumerate() {
                        let done = (s.state != StepState::Pending).then(|| created_at.clone());
                        q = q
                            .bind(&job.id)
                            .bind((n * STEP_ROWS + k) as i64)
                            .bind(&s.flow_name)
                            .bind(&s.template_name)
                            .bind(s.template_version)
                            .bind(s.flow_type.as_str())
                            .bind(s.action.as_str())
                            .bind(s.state.as_str())
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
                            .bind(done);
                    }
                    q.execute(c).await.map(|r| r.rows_affected())
                })?;
            }
            append_event(
                &mut tx,
                &job.id,
                "job.created",
                &serde_json::json!({"status": JobStatus::Queued, "steps": job.steps.len(), "dry_run": job.dry_run}),
            )
            .await?;
            if job.status != JobStatus::Queued {
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

    /// Jobs by status, and the steps of unfinished (queued or running) jobs by state, for
    /// the scrape-time gauges of `/metrics`. The steps of finished jobs are not counted: a
    /// year of history is millions of them (a full count reads every one of them on every scrape), they
    /// only change by pruning, and `flowsmith_steps_total` counts them as they end. The
    /// unfinished jobs come from the `jobs_claim (status, created_at)` index and their
    /// steps from the primary key, so the count reads only the work in progress. (The
    /// jobs' count reads one index entry per job: 2 ms per 20,000 jobs on SQLite.)
    pub async fn state_counts(&self) -> Result<StateCounts, sqlx::Error> {
        let jobs: Vec<(String, i64)> = on_reads!(self, |p| sqlx::query_as(
            "SELECT status, COUNT(*) FROM jobs GROUP BY status ORDER BY status"
        )
        .fetch_all(p)
        .await)?;
        let steps: Vec<(String, i64)> = on_reads!(self, |p| sqlx::query_as(
            "SELECT state, COUNT(*) FROM job_steps WHERE job_id IN \
             (SELECT id FROM jobs WHERE status IN ('queued', 'running')) \
             GROUP BY state ORDER BY state"
        )
        .fetch_all(p)
        .await)?;
        Ok(StateCounts { jobs, steps })
    }

    pub async fn job_by_idempotency_key(&self, key: &str) -> Result<Option<JobRow>, sqlx::Error> {
        self.read_row(&job_where("idempotency_key"), &[key]).await
    }

    pub async fn job(&self, id: &str) -> Result<Option<JobRow>, sqlx::Error> {
        self.read_row(&job_where("id"), &[id]).await
    }

    pub async fn job_steps(&self, id: &str) -> Result<Vec<StepRow>, sqlx::Error> {
        self.read_rows(&steps_of_job(STEP_COLUMNS), &[id]).await
    }

    /// A job's steps without their YAML and compile context (empty strings): what the API
    /// shows. The YAML is the bulk of a step row; reading it for every `GET /v1/jobs/{id}`
    /// made that read several times slower.
    pub async fn job_step_views(&self, id: &str) -> Result<Vec<StepRow>, sqlx::Error> {
        let columns = STEP_COLUMNS
            .replace(" yaml,", " '' AS yaml,")
            .replace(" context,", " '' AS context,");
        self.read_rows(&steps_of_job(&columns), &[id]).await
    }

    /// Jobs newest first, after the cursor, at most `limit`, without their request (an
    /// empty `request`: a list shows none, and it is the bulk of a job's row).
    pub async fn list_jobs(&self, f: &JobFilter) -> Result<Vec<JobRow>, sqlx::Error> {
        let columns = JOB_COLUMNS.replace(" request,", " '' AS request,");
        let (sql, keys) = list_jobs_sql(&columns, f);
        self.read_rows(&sql, &keys).await
    }

    /// How many steps of each of the jobs `ids` are in each (state, action): what a list
    /// shows of their steps, in one query for a whole page (not one per job).
    pub async fn step_counts(&self, ids: &[String]) -> Result<Vec<StepCount>, sqlx::Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT job_id, state, action, COUNT(*) AS n FROM job_steps \
             WHERE job_id IN ({}) GROUP BY job_id, state, action",
            marks.join(", ")
        );
        let keys: Vec<&str> = ids.iter().map(String::as_str).collect();
        self.read_rows(&sql, &keys).await
    }

    /// The sequence number of a job's last event: every change a job's view shows appends
    /// an event, so this is the view's version. `None` when there is no such job.
    pub async fn job_version(&self, id: &str) -> Result<Option<i64>, sqlx::Error> {
        on_reads!(self, |p| sqlx::query_scalar(
            "SELECT MAX(seq) FROM job_events WHERE job_id = $1"
        )
        .bind(id)
        .fetch_one(p)
        .await)
    }

    /// Events of a job after `seq`, oldest first.
    pub async fn job_events(
        &self,
        id: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<EventRow>, sqlx::Error> {
        on_reads!(self, |p| {
            sqlx::query_as(
            "SELECT job_id, seq, at, kind, data FROM job_events WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(id)
        .bind(after)
        .bind(limit)
        .fetch_all(p)
        .await
        })
    }

    pub async fn cancel_requested(&self, id: &str) -> Result<bool, sqlx::Error> {
        let v: Option<bool> = on_reads!(self, |p| sqlx::query_scalar(
            "SELECT cancel_requested FROM jobs WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(p)
        .await)?;
        Ok(v.unwrap_or(false))
    }

    /// `POST /v1/jobs/{id}/cancel`.
    pub async fn cancel_job(&self, id: &str) -> Result<CancelOutcome, sqlx::Error> {
        self.tracked(async {
            let mut tx = self.begin_locked(Lock::Job(id)).await?;
            let Some(job) = fetch_job(&mut tx, id).await? else {
                return Ok(CancelOutcome::NotFound);
            };
            let at = now();
            let outcome = match job.status {
                JobStatus::Queued => {
                    tx.execute(
                        "UPDATE jobs SET status = 'cancelled', cancel_requested = TRUE, finished_at = $1 WHERE id = $2",
                        &[&at, id],
                    )
                    .await?;
                    let reason = StepError::cancelled().to_json().to_string();
                    tx.execute(
                        "UPDATE job_steps SET state = 'cancelled', error = $1, finished_at = $2 WHERE job_id = $3 AND state IN ('pending', 'running')",
                        &[&reason, &at, id],
                    )
                    .await?;
                    append_event(
                        &mut tx,
                        id,
                        "job.cancelled",
                        &serde_json::json!({"status": JobStatus::Cancelled}),
                    )
                    .await?;
                    CancelOutcome::Cancelled
                }
                JobStatus::Running => {
                    tx.execute("UPDATE jobs SET cancel_requested = TRUE WHERE id = $1", &[id])
                        .await?;
                    append_event(&mut tx, id, "job.cancel_requested", &serde_json::json!({})).await?;
                    CancelOutcome::Requested
                }
                other => CancelOutcome::Terminal(other),
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
            let mut tx = self.begin_locked(Lock::Job(id)).await?;
            let Some(job) = fetch_job(&mut tx, id).await? else {
                return Ok(RetryOutcome::NotFound);
            };
            if !matches!(job.status, JobStatus::Failed | JobStatus::Cancelled) || job.dry_run {
                return Ok(RetryOutcome::NotApplicable(job.status));
            }
            tx.execute(
                "UPDATE jobs SET status = 'queued', cancel_requested = FALSE, error = NULL, finished_at = NULL, lease_owner = NULL, lease_expires_at = NULL WHERE id = $1",
                &[id],
            )
            .await?;
            let n = tx
                .execute(
                    "UPDATE job_steps SET state = 'pending', error = NULL, genesys_job_id = NULL, uploaded_at = NULL, started_at = NULL, finished_at = NULL \
                     WHERE job_id = $1 AND state IN ('failed', 'skipped', 'cancelled')",
                    &[id],
                )
                .await?;
            append_event(
                &mut tx,
                id,
                "job.retried",
                &serde_json::json!({"status": JobStatus::Queued, "steps_requeued": n}),
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
        on_reads!(self, |p| sqlx::query_scalar(
            "SELECT document FROM template_versions WHERE name = $1 AND version = $2",
        )
        .bind(name)
        .bind(version)
        .fetch_optional(p)
        .await)
    }
}

/// The query of the job whose `column` is `$1`.
fn job_where(column: &str) -> String {
    format!("SELECT {JOB_COLUMNS} FROM jobs WHERE {column} = $1")
}

/// The query of the steps of job `$1` in order, with `columns`.
fn steps_of_job(columns: &str) -> String {
    format!("SELECT {columns} FROM job_steps WHERE job_id = $1 ORDER BY idx")
}

async fn fetch_job(tx: &mut Tx, id: &str) -> Result<Option<JobRow>, sqlx::Error> {
    tx.row(&job_where("id"), &[id]).await
}

async fn job_by_key(tx: &mut Tx, key: &str) -> Result<Option<JobRow>, sqlx::Error> {
    tx.row(&job_where("idempotency_key"), &[key]).await
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
const RELEASED: &str = "s.state = 'succeeded' AND s.action IN ('create', 'update', 'republish', 'delete') AND j.dry_run = FALSE";

impl Store {
    /// The releases of flow (target, name), newest first, at most `limit`.
    pub async fn flow_releases(
        &self,
        target: &str,
        name: &str,
        limit: i64,
    ) -> Result<Vec<ReleaseRow>, sqlx::Error> {
        on_reads!(self, |p| sqlx::query_as(&format!(
            "SELECT j.target, {} FROM job_steps s JOIN jobs j ON j.id = s.job_id \
             WHERE s.flow_name = $1 AND j.target = $2 AND {RELEASED} \
             ORDER BY s.finished_at DESC, s.job_id DESC LIMIT $3",
            step_columns_of_s()
        ))
        .bind(name)
        .bind(target)
        .bind(limit)
        .fetch_all(p)
        .await)
    }

    /// The steps of job `id` that changed a flow.
    pub async fn job_releases(&self, id: &str) -> Result<Vec<ReleaseRow>, sqlx::Error> {
        let sql = format!(
            "SELECT j.target, {} FROM job_steps s JOIN jobs j ON j.id = s.job_id \
             WHERE s.job_id = $1 AND {RELEASED} ORDER BY s.idx",
            step_columns_of_s()
        );
        self.read_rows(&sql, &[id]).await
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
        on_reads!(self, |p| sqlx::query_as(&format!(
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
        .fetch_optional(p)
        .await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_list_filters_on_what_is_given_only() {
        let all = JobFilter {
            status: None,
            target: None,
            before: None,
            limit: 51,
        };
        let (sql, keys) = list_jobs_sql("id", &all);
        assert_eq!(sql, "SELECT id FROM jobs ORDER BY id DESC LIMIT 51");
        assert!(keys.is_empty());
        let deep = JobFilter {
            target: Some("t".into()),
            before: Some("b".into()),
            ..all
        };
        let (sql, keys) = list_jobs_sql("id", &deep);
        assert_eq!(
            sql,
            "SELECT id FROM jobs WHERE target = $1 AND id < $2 ORDER BY id DESC LIMIT 51"
        );
        assert_eq!(keys, ["t", "b"]);
        let every = JobFilter {
            status: Some(JobStatus::Failed),
            ..deep
        };
        let (sql, keys) = list_jobs_sql("id", &every);
        assert!(
            sql.contains("WHERE status = $1 AND target = $2 AND id < $3 "),
            "{sql}"
        );
        assert_eq!(keys, ["failed", "t", "b"]);
    }

    #[test]
    fn the_steps_insert_numbers_each_rows_parameters_after_the_last_rows() {
        let sql = super::insert_steps_sql(2);
        assert!(sql.contains("VALUES ($1, $2, "), "{sql}");
        assert!(sql.contains(", $19), ($20, $21, "), "{sql}");
        assert!(sql.ends_with(", $38)"), "{sql}");
        assert_eq!(sql.matches('$').count(), 38);
    }
}
