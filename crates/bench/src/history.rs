//! `flowsmith bench history`: the service on a year of job history.
//!
//! Runs two real jobs (a module and its callers, then the same request again, every step
//! `unchanged`) against an in-process sandbox org, so the rows to copy are exactly what the
//! worker writes; then copies them in bulk SQL (`INSERT ... SELECT` over a table of seeded
//! ids, in one transaction) into a year of jobs: each job's steps are the unchanged ones
//! except one `update` that published a flow, and its events. Then starts the service on
//! that database and measures start-up, size, reads, drift and planning, prunes with the
//! service's own retention pass (default 90 days) while reading, and measures again.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::Args;
use serde_json::{Value, json};
use sqlx::{Connection, Executor};
use tokio_util::sync::CancellationToken;

use flowsmith::app::Application;
use flowsmith::config::{DEFAULT_RETENTION_DAYS, Settings, TargetConfig};
use flowsmith::jobs::retention;
use flowsmith_sandbox::{self as sandbox, SandboxOptions};

use super::database::{DatabaseArgs, FreshDatabase};

/// Start-up target.
const STARTUP_TARGET: Duration = Duration::from_secs(2);
/// p99 target of every measured request.
const P99_TARGET: Duration = Duration::from_millis(50);
/// The bench's target name in the service.
const TARGET: &str = "bench";
/// Seeded ids go through this table (dropped at the end of seeding).
const SEED_TABLE: &str = "bench_history_seed";

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Jobs seeded over the year (500 a day is 182,500; the target is at least 200,000).
    #[arg(long, default_value_t = 200_000)]
    pub jobs: usize,
    /// Flows per job: one module and its callers (steps per job).
    #[arg(long, default_value_t = 40)]
    pub flows: usize,
    /// Days the history spans, ending now.
    #[arg(long, default_value_t = 365)]
    pub days: u32,
    /// Requests per measured endpoint (sequential: the latency of one client).
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("sandbox: {0}")]
    Sandbox(String),
    #[error("database: {0}")]
    Database(String),
    #[error("service: {0}")]
    Service(String),
    #[error("{what}: unexpected answer {status}: {body}")]
    Http {
        what: String,
        status: u16,
        body: String,
    },
    #[error("request failed: {0}")]
    Request(#[from] reqwest::Error),
    #[error("SQL: {0}")]
    Sql(#[from] sqlx::Error),
}

/// One seeded job: its ordinal, id (UUID v7 of its creation time, as the service's) and times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedJob {
    pub n: usize,
    pub id: String,
    pub created_at: String,
    pub finished_at: String,
}

/// `jobs` jobs spread evenly over the `days` before `now`, oldest first; each finishes
/// 30 s after it was created.
pub fn seed_plan(jobs: usize, days: u32, now: chrono::DateTime<chrono::Utc>) -> Vec<SeedJob> {
    let span_ms = i64::from(days) * 86_400_000;
    let jobs_i = i64::try_from(jobs.max(1)).unwrap_or(i64::MAX);
    (0..jobs)
        .map(|n| {
            let n_i = i64::try_from(n).unwrap_or(i64::MAX);
            let created = now - chrono::Duration::milliseconds(span_ms - span_ms * n_i / jobs_i);
            let finished = created + chrono::Duration::seconds(30);
            let ms = u64::try_from(created.timestamp_millis()).unwrap_or(0);
            let ts = uuid::Timestamp::from_unix(
                uuid::NoContext,
                ms / 1000,
                u32::try_from((ms % 1000) * 1_000_000).unwrap_or(0),
            );
            SeedJob {
                n,
                id: uuid::Uuid::new_v7(ts).to_string(),
                created_at: created.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                finished_at: finished.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            }
        })
        .collect()
}

/// The `p`th percentile (0..=100) of sorted `times`, nearest rank.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The service's page token after job `id` (its paging encodes the last id so).
pub fn page_token_after(id: &str) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

/// p50/p99 of one measured request, with the ratio to the target.
fn report(what: &str, times: &mut [Duration]) -> Duration {
    times.sort();
    let (p50, p99) = (percentile(times, 50.0), percentile(times, 99.0));
    println!(
        "{what}: p50 {p50:.2?}, p99 {p99:.2?} over {} requests; p99 ratio to the 50 ms target: {:.2}",
        times.len(),
        p99.as_secs_f64() / P99_TARGET.as_secs_f64()
    );
    p99
}

/// What a run found, for its test.
#[derive(Debug)]
pub struct Summary {
    /// Jobs, steps and events after seeding.
    pub seeded: (i64, i64, i64),
    /// The slower of the two start-ups.
    pub startup: Duration,
    /// The worst p99 of all measured requests.
    pub worst_p99: Duration,
}

impl Summary {
    fn within_targets(&self) -> bool {
        self.startup < STARTUP_TARGET && self.worst_p99 < P99_TARGET
    }
}

pub async fn run(a: HistoryArgs) -> bool {
    match bench(&a).await {
        Ok(s) => s.within_targets(),
        Err(e) => {
            println!("bench history failed: {e}");
            false
        }
    }
}

/// The service's settings on `db` with the sandbox org as target `bench`; everything else
/// the defaults unless `retention_days` says otherwise.
fn settings(db: &str, org: &str, retention_days: u64) -> Settings {
    let mut s = Settings {
        listen: ([127, 0, 0, 1], 0).into(),
        database_url: db.to_owned(),
        retention_days,
        ..Default::default()
    };
    s.targets.push(TargetConfig {
        name: TARGET.into(),
        api_base_url: org.to_owned(),
        login_base_url: org.to_owned(),
        client_id: sandbox::DEFAULT_CLIENT_ID.into(),
        client_secret: sandbox::DEFAULT_CLIENT_SECRET.to_owned().into(),
        rate_limit_per_minute: 0,
        concurrency: None,
    });
    s
}

/// A running in-process service.
struct Running {
    base: String,
    store: flowsmith::store::Store,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(s: Settings) -> Result<(Running, Duration), HistoryError> {
    let t0 = Instant::now();
    let app = Application::build(s)
        .await
        .map_err(|e| HistoryError::Service(e.to_string()))?;
    let took = t0.elapsed();
    let base = format!("http://{}", app.local_addr());
    let store = app.store();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    Ok((
        Running {
            base,
            store,
            stop,
            server,
        },
        took,
    ))
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.server.await;
    }
}

async fn json_ok(what: &str, r: reqwest::Response) -> Result<Value, HistoryError> {
    let status = r.status().as_u16();
    if !(200..300).contains(&status) {
        let body = r.text().await.unwrap_or_default();
        return Err(HistoryError::Http {
            what: what.into(),
            status,
            body,
        });
    }
    Ok(r.json().await?)
}

/// The request of the prototype jobs: the seed module and `flows - 1` callers.
fn job_request(flows: usize, queue_id: &str, dry_run: bool) -> Value {
    let mut list = vec![json!({"template": "Shared_Module_Language_Select"})];
    list.extend((1..flows.max(1)).map(|i| {
        json!({"template": "Inbound_Flow_A", "name": format!("Caller_{i:04}"),
               "params": {"queue_id": queue_id}})
    }));
    json!({"target": TARGET, "flows": list, "dry_run": dry_run})
}

/// Runs a job to its end; answers its id.
async fn run_job(http: &reqwest::Client, base: &str, req: &Value) -> Result<String, HistoryError> {
    let job = json_ok(
        "POST /v1/jobs",
        http.post(format!("{base}/v1/jobs"))
            .json(req)
            .send()
            .await?,
    )
    .await?;
    let id = job["id"].as_str().unwrap_or_default().to_owned();
    loop {
        let j = json_ok(
            "GET /v1/jobs/{id}",
            http.get(format!("{base}/v1/jobs/{id}")).send().await?,
        )
        .await?;
        match j["status"].as_str() {
            Some("succeeded") => return Ok(id),
            Some("failed" | "cancelled") => {
                return Err(HistoryError::Service(format!("prototype job ended: {j}")));
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// The two prototype jobs (all `create`, then all `unchanged`), run by the real worker.
async fn prototypes(
    http: &reqwest::Client,
    base: &str,
    org: &str,
    flows: usize,
) -> Result<(String, String, Value), HistoryError> {
    for doc in [
        include_str!("../../../tests/fixtures/seed_shared_module.json"),
        include_str!("../../../tests/fixtures/seed_inbound_flow.json"),
    ] {
        let v: Value = serde_json::from_str(doc).unwrap_or_default();
        json_ok(
            "POST /v1/templates",
            http.post(format!("{base}/v1/templates"))
                .json(&v)
                .send()
                .await?,
        )
        .await?;
    }
    let queues = json_ok(
        "sandbox queues",
        http.get(format!("{org}/sandbox/queues")).send().await?,
    )
    .await?;
    let general = queues
        .as_array()
        .and_then(|qs| qs.iter().find(|q| q["name"] == "General"))
        .and_then(|q| q["id"].as_str())
        .unwrap_or_default()
        .to_owned();
    let req = job_request(flows, &general, false);
    let created = run_job(http, base, &req).await?;
    let unchanged = run_job(http, base, &req).await?;
    Ok((created, unchanged, req))
}

/// Seeded jobs per transaction: a SQLite WAL (and PostgreSQL's) holds one batch at a time,
/// not the whole year.
const SEED_BATCH: usize = 5_000;

/// The SQL that copies the prototypes into the seeded jobs of [`SEED_TABLE`] numbered
/// `range`.
fn copy_sql(
    created: &str,
    unchanged: &str,
    steps: usize,
    range: std::ops::Range<usize>,
) -> [String; 4] {
    let (lo, hi) = (range.start, range.end);
    let seeded = format!("b.n >= {lo} AND b.n < {hi}");
    const STEP_COLS: &str = "idx, flow_name, template_name, template_version, flow_type, state, depends_on, yaml, content_hash, plan_hash, params, context, warnings, genesys_job_id, uploaded_at, flow_id, published_version, error, attempt, note";
    let prefixed = |p: &str| {
        STEP_COLS
            .split(", ")
            .map(|c| format!("{p}.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    [
        format!(
            "INSERT INTO jobs (id, target, status, dry_run, cancel_requested, description, request, plan, \
             request_hash, attempt, created_at, started_at, finished_at) \
             SELECT b.id, p.target, p.status, p.dry_run, p.cancel_requested, p.description, p.request, p.plan, \
             p.request_hash, p.attempt, b.created_at, b.created_at, b.finished_at \
             FROM {SEED_TABLE} b CROSS JOIN jobs p WHERE p.id = '{unchanged}' AND {seeded}"
        ),
        // Every step but one as the unchanged prototype's...
        format!(
            "INSERT INTO job_steps (job_id, action, started_at, finished_at, {STEP_COLS}) \
             SELECT b.id, s.action, b.created_at, b.finished_at, {} \
             FROM {SEED_TABLE} b CROSS JOIN job_steps s \
             WHERE s.job_id = '{unchanged}' AND s.idx <> b.n % {steps} AND {seeded}",
            prefixed("s")
        ),
        // ...and one that published a new version of its flow, as the first job's did.
        format!(
            "INSERT INTO job_steps (job_id, action, started_at, finished_at, {STEP_COLS}) \
             SELECT b.id, 'update', b.created_at, b.finished_at, {} \
             FROM {SEED_TABLE} b CROSS JOIN job_steps s \
             WHERE s.job_id = '{created}' AND s.idx = b.n % {steps} AND {seeded}",
            prefixed("s")
        ),
        format!(
            "INSERT INTO job_events (job_id, seq, at, kind, data) \
             SELECT b.id, e.seq, b.finished_at, e.kind, e.data \
             FROM {SEED_TABLE} b CROSS JOIN job_events e WHERE e.job_id = '{unchanged}' AND {seeded}"
        ),
    ]
}

/// Seeds the plan's jobs: their ids in one transaction, then the copies of [`copy_sql`] a
/// batch of [`SEED_BATCH`] jobs per transaction.
async fn seed<C>(
    c: &mut C,
    plan: &[SeedJob],
    copies: impl Fn(std::ops::Range<usize>) -> [String; 4],
) -> Result<(), HistoryError>
where
    C: Connection,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
{
    let mut tx = c.begin().await?;
    (&mut *tx)
        .execute(
            format!(
                "CREATE TABLE {SEED_TABLE} (id TEXT PRIMARY KEY, n INTEGER NOT NULL, \
                 created_at TEXT NOT NULL, finished_at TEXT NOT NULL)"
            )
            .as_str(),
        )
        .await?;
    for chunk in plan.chunks(1000) {
        // Our own ids and timestamps: nothing to quote.
        let values: Vec<String> = chunk
            .iter()
            .map(|j| {
                format!(
                    "('{}', {}, '{}', '{}')",
                    j.id, j.n, j.created_at, j.finished_at
                )
            })
            .collect();
        (&mut *tx)
            .execute(format!("INSERT INTO {SEED_TABLE} VALUES {}", values.join(", ")).as_str())
            .await?;
    }
    tx.commit().await?;
    for lo in (0..plan.len()).step_by(SEED_BATCH) {
        let mut tx = c.begin().await?;
        for sql in copies(lo..(lo + SEED_BATCH).min(plan.len())) {
            (&mut *tx).execute(sql.as_str()).await?;
        }
        tx.commit().await?;
    }
    c.execute(format!("DROP TABLE {SEED_TABLE}").as_str())
        .await?;
    Ok(())
}

/// Bytes of the database: the file and its WAL on SQLite, `pg_database_size` on PostgreSQL.
async fn db_size(url: &str) -> Result<u64, HistoryError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or(path);
        let len = |p: String| std::fs::metadata(p).map_or(0, |m| m.len());
        return Ok(len(path.to_owned()) + len(format!("{path}-wal")));
    }
    let mut c = sqlx::PgConnection::connect(url).await?;
    let (n,): (i64,) = sqlx::query_as("SELECT pg_database_size(current_database())")
        .fetch_one(&mut c)
        .await?;
    c.close().await.ok();
    Ok(u64::try_from(n).unwrap_or(0))
}

async fn count_rows(url: &str) -> Result<(i64, i64, i64), HistoryError> {
    let q = "SELECT (SELECT COUNT(*) FROM jobs), (SELECT COUNT(*) FROM job_steps), \
             (SELECT COUNT(*) FROM job_events)";
    let counts = if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await?;
        sqlx::query_as(q).fetch_one(&mut c).await?
    } else {
        let mut c = sqlx::PgConnection::connect(url).await?;
        sqlx::query_as(q).fetch_one(&mut c).await?
    };
    Ok(counts)
}

async fn seed_database(
    url: &str,
    plan: &[SeedJob],
    copies: impl Fn(std::ops::Range<usize>) -> [String; 4],
) -> Result<(), HistoryError> {
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await?;
        seed(&mut c, plan, copies).await?;
        c.close().await?;
    } else {
        let mut c = sqlx::PgConnection::connect(url).await?;
        seed(&mut c, plan, copies).await?;
        // Fresh statistics, as autovacuum would have after a year.
        c.execute("ANALYZE").await?;
        c.close().await?;
    }
    Ok(())
}

/// Times `n` sequential requests made by `req`; every answer must be a success.
async fn time_requests(
    n: usize,
    what: &str,
    mut req: impl FnMut(usize) -> reqwest::RequestBuilder,
) -> Result<Vec<Duration>, HistoryError> {
    let mut times = Vec::with_capacity(n);
    for i in 0..n.max(1) {
        let t = Instant::now();
        let r = req(i).send().await?;
        let status = r.status().as_u16();
        let body = r.bytes().await?;
        times.push(t.elapsed());
        if !(200..300).contains(&status) {
            return Err(HistoryError::Http {
                what: what.into(),
                status,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
    }
    Ok(times)
}

/// Everything measured on a running service; answers the worst p99.
async fn measure_requests(
    http: &reqwest::Client,
    base: &str,
    n: usize,
    deep_token: &str,
    plan_request: &Value,
    label: &str,
) -> Result<Duration, HistoryError> {
    let mut worst = Duration::ZERO;
    let cases: [(&str, String); 4] = [
        ("GET /v1/jobs (first page)", format!("{base}/v1/jobs")),
        (
            "GET /v1/jobs (deep page, page_token halfway)",
            format!("{base}/v1/jobs?page_token={deep_token}"),
        ),
        (
            "GET /v1/flows/{target}/{name}/history",
            format!("{base}/v1/flows/{TARGET}/Caller_0001/history"),
        ),
        (
            "GET /v1/targets/{target}/drift",
            format!("{base}/v1/targets/{TARGET}/drift"),
        ),
    ];
    for (what, url) in cases {
        let mut t = time_requests(n, what, |_| http.get(&url)).await?;
        worst = worst.max(report(&format!("{label} {what}"), &mut t));
    }
    let url = format!("{base}/v1/jobs");
    let what = "POST /v1/jobs (dry_run planning)";
    let mut t = time_requests(n, what, |_| http.post(&url).json(plan_request)).await?;
    worst = worst.max(report(&format!("{label} {what}"), &mut t));
    Ok(worst)
}

/// `GET /v1/jobs` in a loop while the service's retention pass prunes up to `cutoff`.
async fn measure_pruning(
    http: &reqwest::Client,
    run: &Running,
    cutoff: &str,
) -> Result<Duration, HistoryError> {
    let store = run.store.clone();
    let cutoff = cutoff.to_owned();
    let t0 = Instant::now();
    // The service's default pacing (`retention_batch_jobs`, `retention_pause_ms`).
    let pacing = retention::Pacing::default();
    let pass = tokio::spawn(async move {
        retention::prune(&store, &cutoff, pacing, &CancellationToken::new()).await
    });
    let url = format!("{}/v1/jobs", run.base);
    let mut times = Vec::new();
    while !pass.is_finished() {
        times.extend(time_requests(1, "GET /v1/jobs during pruning", |_| http.get(&url)).await?);
    }
    let pruned = pass
        .await
        .map_err(|e| HistoryError::Service(e.to_string()))??;
    println!(
        "retention pass (cut-off {}; {} jobs a batch, {:?} pause after each): {pruned:?} in {:.1?}",
        run_cutoff_label(),
        pacing.batch_jobs,
        pacing.pause,
        t0.elapsed()
    );
    Ok(report(
        "during pruning GET /v1/jobs (first page)",
        &mut times,
    ))
}

fn run_cutoff_label() -> String {
    format!("{DEFAULT_RETENTION_DAYS} days, the default retention_days")
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

/// Bytes of a SQLite file's free pages (what pruning freed, reused by later writes).
async fn sqlite_free(url: &str) -> Result<Option<u64>, HistoryError> {
    if !url.starts_with("sqlite:") {
        return Ok(None);
    }
    let mut c = sqlx::SqliteConnection::connect(url).await?;
    let free: i64 = sqlx::query_scalar("PRAGMA freelist_count")
        .fetch_one(&mut c)
        .await?;
    let page: i64 = sqlx::query_scalar("PRAGMA page_size")
        .fetch_one(&mut c)
        .await?;
    c.close().await.ok();
    Ok(Some(u64::try_from(free * page).unwrap_or(0)))
}

async fn print_size(url: &str, label: &str) -> Result<(i64, i64, i64), HistoryError> {
    let size = db_size(url).await?;
    let (jobs, steps, events) = count_rows(url).await?;
    let free = match sqlite_free(url).await? {
        Some(free) => format!(
            " ({:.1} MB of it free pages, {:.1} KB per job in use)",
            mb(free),
            size.saturating_sub(free) as f64 / 1024.0 / jobs.max(1) as f64
        ),
        None => String::new(),
    };
    println!(
        "{label} database: {:.1} MB for {jobs} jobs, {steps} steps, {events} events: {:.1} KB per job{free}",
        mb(size),
        size as f64 / 1024.0 / jobs.max(1) as f64
    );
    Ok((jobs, steps, events))
}

fn startup_line(label: &str, took: Duration) {
    println!(
        "{label} start-up (Application::build: migrations, pools, listening): {took:.2?}; ratio to the 2 s target: {:.2}",
        took.as_secs_f64() / STARTUP_TARGET.as_secs_f64()
    );
}

pub async fn bench(a: &HistoryArgs) -> Result<Summary, HistoryError> {
    let (org, _sandbox) = sandbox::spawn_local(SandboxOptions {
        queues: vec!["General".into()],
        rate_limit: 0,
        job_duration_ms: 10,
        ..Default::default()
    })
    .await
    .map_err(|e| HistoryError::Sandbox(e.to_string()))?;
    let db = FreshDatabase::create(&a.database)
        .await
        .map_err(HistoryError::Database)?;
    println!("database: {}", db.describe().await);
    let result = bench_on(a, &org, db.url()).await;
    db.remove().await;
    result
}

async fn bench_on(a: &HistoryArgs, org: &str, url: &str) -> Result<Summary, HistoryError> {
    let http = reqwest::Client::new();
    let flows = a.flows.max(2);
    // 1. The prototypes, by the real worker.
    let (run, _) = start(settings(url, org, 0)).await?;
    let (created, unchanged, request) = prototypes(&http, &run.base, org, flows).await?;
    run.stop().await;

    // 2. A year of copies.
    let plan = seed_plan(a.jobs, a.days, chrono::Utc::now());
    let t0 = Instant::now();
    seed_database(url, &plan, |range| {
        copy_sql(&created, &unchanged, flows, range)
    })
    .await?;
    println!(
        "seeded {} jobs x {flows} steps with events over {} days in {:.1?}",
        a.jobs,
        a.days,
        t0.elapsed()
    );
    let seeded = print_size(url, "seeded").await?;

    // 3. The service on the whole year. Retention off for this run only, so the year is
    //    whole while it is measured; otherwise the defaults.
    let (run, took) = start(settings(url, org, 0)).await?;
    startup_line("year (retention off)", took);
    let deep = plan
        .get(plan.len() / 2)
        .map_or_else(String::new, |j| page_token_after(&j.id));
    // The prototypes' own request, as a dry run: every step plans as `unchanged`.
    let mut plan_request = request;
    plan_request["dry_run"] = json!(true);
    let mut worst =
        measure_requests(&http, &run.base, a.requests, &deep, &plan_request, "year").await?;

    // 4. The default retention pass, with reads during it; then the same figures.
    let cutoff = retention::cutoff(chrono::Utc::now(), DEFAULT_RETENTION_DAYS);
    worst = worst.max(measure_pruning(&http, &run, &cutoff).await?);
    print_size(url, "pruned").await?;
    worst = worst
        .max(measure_requests(&http, &run.base, a.requests, &deep, &plan_request, "pruned").await?);
    run.stop().await;

    // 5. Start-up with the default settings (retention on) on the pruned year.
    let (run, took2) = start(settings(url, org, DEFAULT_RETENTION_DAYS)).await?;
    startup_line("pruned (default settings)", took2);
    run.stop().await;
    Ok(Summary {
        seeded,
        startup: took.max(took2),
        worst_p99: worst,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339("2026-12-06T10:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc)
    }

    #[test]
    fn the_plan_spreads_the_jobs_over_the_year_oldest_first_with_sorted_ids() {
        let plan = seed_plan(1000, 365, now());
        assert_eq!(plan.len(), 1000);
        assert_eq!(plan[0].created_at, "2025-12-06T10:00:00.000Z");
        assert_eq!(plan[0].finished_at, "2025-12-06T10:00:30.000Z");
        assert!(plan[999].created_at.as_str() < "2026-12-06T10:00:00.000Z");
        assert!(plan[999].created_at.as_str() > "2026-12-05T10:00:00.000Z");
        assert!(
            plan.windows(2)
                .all(|w| w[0].id < w[1].id && w[0].created_at < w[1].created_at)
        );
        assert!(plan.iter().enumerate().all(|(i, j)| j.n == i));
        let v7 = uuid::Uuid::parse_str(&plan[0].id).unwrap();
        assert_eq!(v7.get_version_num(), 7);
        assert!(seed_plan(0, 365, now()).is_empty());
    }

    #[test]
    fn the_copies_put_one_update_in_each_job_and_copy_every_event() {
        let [jobs, unchanged, update, events] = copy_sql("C", "U", 40, 5000..10000);
        assert!(jobs.contains("p.id = 'U'"));
        assert!(unchanged.contains("s.job_id = 'U' AND s.idx <> b.n % 40"));
        assert!(
            update.contains("'update'") && update.contains("s.job_id = 'C' AND s.idx = b.n % 40")
        );
        assert!(events.contains("e.job_id = 'U'"));
        for sql in [jobs, unchanged, update, events] {
            assert!(sql.ends_with("AND b.n >= 5000 AND b.n < 10000"), "{sql}");
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let ms: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&ms, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&ms, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&ms, 100.0), Duration::from_millis(100));
        assert_eq!(percentile(&ms[..1], 99.0), Duration::from_millis(1));
        assert_eq!(percentile(&[], 99.0), Duration::ZERO);
        let ten: Vec<Duration> = (1..=10).map(Duration::from_millis).collect();
        assert_eq!(percentile(&ten, 99.0), Duration::from_millis(10));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_small_history_runs_end_to_end_on_sqlite() {
        let a = HistoryArgs {
            jobs: 200,
            flows: 4,
            days: 365,
            requests: 5,
            database: DatabaseArgs::default(),
        };
        let s = bench(&a).await.unwrap();
        // 200 seeded jobs plus the two prototypes, 4 steps each.
        assert_eq!((s.seeded.0, s.seeded.1), (202, 202 * 4), "{s:?}");
        assert!(s.seeded.2 >= 202, "{s:?}");
        assert!(
            s.startup > Duration::ZERO && s.worst_p99 > Duration::ZERO,
            "{s:?}"
        );
    }

    #[test]
    fn the_deep_page_token_is_the_services_encoding_of_the_last_id() {
        assert_eq!(page_token_after("ab"), "YWI");
    }
}
