//! The job worker: claims one job per target under a lease, runs its steps through the
//! Architect job protocol, and checkpoints every side effect so a crash at any instant is
//! resumed by the next claim.
//!
//! Per step: checkpoint `running` → `POST /flows/jobs` → checkpoint the Genesys job id →
//! wait until the modules it calls succeeded → `PUT` the YAML → checkpoint `uploaded` → poll
//! the Genesys job → on `Success` write the step result and the flow record in one
//! transaction. A resumed step whose upload was checkpointed polls its Genesys job; otherwise
//! it registers a new one (safe: the Architect job upserts by name; a registered job that
//! never gets its upload is simply abandoned).
//!
//! The `running` checkpoint first looks at the flow record (`Lease::step_started`): when an
//! earlier job already deployed the step's content, the step ends there as `unchanged`,
//! without a Genesys request. A write the database refuses for a storage fault (a full disk)
//! is tried again until it works (`Worker::persist`), so the job waits where it is.
//!
//! Two things keep the rate budget (the bound of a provisioning job) at two requests per
//! flow, register and one poll:
//! - a caller's Architect job is registered while its modules' jobs still run (its upload
//!   waits for their success: the caller's publish snapshots the module);
//! - published versions are not read per step: when the steps are done, one
//!   `GET /api/v2/flows?id=…` per page of ids reads them for every succeeded step still
//!   without one, and writes them to the steps and flow records in one transaction. A crash
//!   before that leaves those steps `succeeded` without a version, and the resumed job reads
//!   them; the job only finishes after the read.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::model::{JobStatus, StepState};
use super::plan::{self, Action, ModuleIo, OnLocked, StepContext};
use super::preflight;
use super::{Liveness, Signals};
use crate::compile::ModuleTarget;
use crate::genesys::{GenesysClient, GenesysError, JobStatus as ArchitectJobStatus, Priority};
use crate::store::{FlowRecordRow, Lease, StepRow, StepStart, StepSuccess, StorageFault, Store};
use crate::template::FlowType;

/// Worker settings. `from_env` reads `FLOWSMITH_LEASE_SECS`, `FLOWSMITH_HEARTBEAT_SECS` and
/// `FLOWSMITH_WORKER_POLL_MS`.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Identifies this process in `lease_owner`.
    pub owner: String,
    /// How long a claim holds without a heartbeat.
    pub lease: Duration,
    /// How often the lease is extended (well under `lease`).
    pub heartbeat: Duration,
    /// How often an idle worker looks for jobs.
    pub poll_interval: Duration,
    /// First wait before polling a Genesys job (when no duration was learnt yet). Every
    /// poll counts against the rate limit and Architect jobs take seconds, so not shorter.
    pub first_poll: Duration,
    /// Growth of the polling interval.
    pub poll_factor: f64,
    /// Longest polling interval.
    pub max_poll: Duration,
    /// Give up on a Genesys job after this long.
    pub job_timeout: Duration,
    /// A resumed step whose Genesys job stays `Registered` this long registers a new one.
    pub registered_timeout: Duration,
    /// Attempts of one Genesys call that fails with a retryable error.
    pub max_call_attempts: u32,
    /// Re-registrations after an Architect job failed with a backend rate limit (exit code 107).
    pub max_rate_limit_retries: u32,
    /// First backoff of those retries (doubles each time).
    pub retry_backoff: Duration,
    /// Steps of one job in flight per target (default when a target is not listed: 4).
    pub concurrency: BTreeMap<String, usize>,
    /// First pause before a job write the database refused (disk full, ...) is tried again;
    /// it doubles up to `store_retry_max`.
    pub store_retry_first: Duration,
    pub store_retry_max: Duration,
    /// How long a step with `on_locked: wait` waits for someone else's lock to go.
    pub lock_wait: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            owner: format!("flowsmith-{}", uuid::Uuid::new_v4()),
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(10),
            poll_interval: Duration::from_millis(500),
            first_poll: Duration::from_secs(1),
            poll_factor: 1.5,
            max_poll: Duration::from_secs(3),
            job_timeout: Duration::from_secs(16 * 60),
            registered_timeout: Duration::from_secs(60),
            max_call_attempts: 3,
            max_rate_limit_retries: 3,
            retry_backoff: Duration::from_secs(2),
            concurrency: BTreeMap::new(),
            store_retry_first: Duration::from_millis(100),
            store_retry_max: Duration::from_secs(5),
            lock_wait: Duration::from_secs(120),
        }
    }
}

impl WorkerOptions {
    /// Defaults with the environment's overrides.
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(env: impl Fn(&str) -> Option<String>) -> Self {
        let mut o = WorkerOptions::default();
        let num = |k: &str| env(k).and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(s) = num("FLOWSMITH_LEASE_SECS").filter(|s| *s > 0) {
            o.lease = Duration::from_secs(s);
            o.heartbeat = o.heartbeat.min(o.lease / 3);
        }
        if let Some(s) = num("FLOWSMITH_HEARTBEAT_SECS").filter(|s| *s > 0) {
            o.heartbeat = Duration::from_secs(s);
        }
        if let Some(ms) = num("FLOWSMITH_WORKER_POLL_MS").filter(|s| *s > 0) {
            o.poll_interval = Duration::from_millis(ms);
        }
        o
    }
}

/// What one call of [`Worker::try_run_next`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A job was claimed and run until it finished or was interrupted.
    Ran { job_id: String },
    /// Nothing to claim.
    Empty,
}

#[derive(Clone)]
pub struct Worker {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    clients: BTreeMap<String, Arc<GenesysClient>>,
    opts: WorkerOptions,
    signals: Signals,
    liveness: Liveness,
    /// Learnt duration of Architect jobs per target (ms, moving average).
    typical_ms: Mutex<HashMap<String, f64>>,
}

/// How a step that did not fail ended.
enum Ran {
    /// Its flow was published.
    Deployed,
    /// The org already had its content.
    AlreadyDeployed,
    /// A fenced write found the job no longer this attempt's.
    Lost,
}

/// Why a step stopped without a result of its own.
enum Stop {
    /// The step failed; the error is recorded.
    Failed(Value),
    /// Shutdown or a lost lease: leave the step for the next claim.
    Interrupted,
    /// A module it calls did not succeed, or the job was cancelled, while the step waited
    /// to upload: the job loop records why (skipped or cancelled).
    Withdrawn,
}

enum StepEnd {
    Succeeded,
    /// Found deployed by an earlier job when it started: succeeded without a Genesys request.
    AlreadyDeployed,
    Failed,
    Interrupted,
    Withdrawn,
}

/// What a step waiting to upload watches: the job's step states and its cancellation.
#[derive(Debug, Clone)]
struct Gate {
    states: Vec<StepState>,
    cancelled: bool,
}

impl Gate {
    /// `Some(true)` when every dependency succeeded, `Some(false)` when the step cannot
    /// upload (a dependency ended otherwise, or the job was cancelled), `None` to wait.
    fn verdict(&self, deps: &[usize]) -> Option<bool> {
        let state = |d: usize| self.states.get(d).copied();
        if self.cancelled
            || deps
                .iter()
                .any(|&d| state(d).is_none_or(StepState::is_unsuccessful))
        {
            Some(false)
        } else if deps.iter().all(|&d| state(d) == Some(StepState::Succeeded)) {
            Some(true)
        } else {
            None
        }
    }
}

impl Worker {
    pub fn new(
        store: Store,
        clients: BTreeMap<String, Arc<GenesysClient>>,
        opts: WorkerOptions,
    ) -> Worker {
        Worker::with_signals(
            store,
            clients,
            opts,
            Signals::default(),
            Liveness::default(),
        )
    }

    pub fn with_signals(
        store: Store,
        clients: BTreeMap<String, Arc<GenesysClient>>,
        opts: WorkerOptions,
        signals: Signals,
        liveness: Liveness,
    ) -> Worker {
        Worker {
            inner: Arc::new(Inner {
                store,
                clients,
                opts,
                signals,
                liveness,
                typical_ms: Mutex::new(HashMap::new()),
            }),
        }
    }

    fn targets(&self) -> Vec<String> {
        self.inner.clients.keys().cloned().collect()
    }

    /// Claims one job and runs it until it ends (or `shutdown` interrupts it).
    pub async fn try_run_next(&self, shutdown: &CancellationToken) -> Result<Outcome, sqlx::Error> {
        let Some(claimed) = self.claim().await? else {
            return Ok(Outcome::Empty);
        };
        let id = claimed.job_id.clone();
        self.run_claimed(claimed, shutdown.clone()).await;
        Ok(Outcome::Ran { job_id: id })
    }

    async fn claim(&self) -> Result<Option<Lease>, sqlx::Error> {
        let c = self
            .inner
            .store
            .claim_job(
                &self.inner.opts.owner,
                self.inner.opts.lease,
                &self.targets(),
            )
            .await?;
        if let Some(c) = &c {
            tracing::info!(job_id = %c.job_id, target = %c.target, attempt = c.attempt, "job claimed");
            self.inner.signals.notify();
        }
        Ok(c)
    }

    /// The worker loop: claims jobs (one per target at a time, targets in parallel) until
    /// `shutdown`; then stops claiming and waits for running jobs to reach a checkpoint.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut running: JoinSet<()> = JoinSet::new();
        loop {
            self.inner.liveness.beat();
            if shutdown.is_cancelled() {
                break;
            }
            match self.claim().await {
                Ok(Some(c)) => {
                    let w = self.clone();
                    let token = shutdown.clone();
                    running.spawn(async move { w.run_claimed(c, token).await });
                    continue;
                }
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "claiming a job failed"),
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(self.inner.opts.poll_interval) => {}
                () = self.inner.signals.queued() => {}
                Some(_) = running.join_next() => {}
            }
        }
        while running.join_next().await.is_some() {}
        tracing::info!("job worker stopped");
    }

    /// Runs a claimed job with a heartbeat; on shutdown gives the lease back.
    async fn run_claimed(&self, c: Lease, shutdown: CancellationToken) {
        let token = shutdown.child_token();
        // Dropped mid-job (the process "crashes" in tests): stop the heartbeat too.
        let _stop_heartbeat = token.clone().drop_guard();
        let beat = {
            let held = c.clone();
            let (id, attempt) = (c.job_id.clone(), c.attempt);
            let (every, lease) = (self.inner.opts.heartbeat, self.inner.opts.lease);
            let token = token.clone();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        () = token.cancelled() => return,
                        () = tokio::time::sleep(every) => {}
                    }
                    match held.heartbeat(lease).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::warn!(job_id = %id, attempt, "lease lost; stopping");
                            token.cancel();
                            return;
                        }
                        Err(e) => tracing::warn!(job_id = %id, error = %e, "heartbeat failed"),
                    }
                }
            })
        };
        // Every line of this job (and, through the step spans, of its Genesys calls) carries
        // the id of the request that created it.
        let span = tracing::info_span!(
            "job",
            job_id = %c.job_id,
            request_id = c.request_id.as_deref().unwrap_or(""),
            target = %c.target,
            attempt = c.attempt,
        );
        let finished = match self.execute(&c, &token).instrument(span).await {
            Ok(done) => done,
            Err(e) => {
                tracing::error!(job_id = %c.job_id, error = %e, "job interrupted by a database error");
                false
            }
        };
        beat.abort();
        if !finished && shutdown.is_cancelled() {
            let _ = c.release().await;
        }
        self.inner.signals.notify();
    }

    /// Runs the job's steps; true when the job reached its final status.
    async fn execute(&self, c: &Lease, token: &CancellationToken) -> Result<bool, sqlx::Error> {
        let store = &self.inner.store;
        if c.dry_run {
            let done = self
                .persist(token, || c.finish(JobStatus::Succeeded, None))
                .await?;
            if done {
                count_job(&c.target, JobStatus::Succeeded);
            }
            return Ok(done);
        }
        let Some(client) = self.inner.clients.get(&c.target).cloned() else {
            let error = format!("target {:?} is not configured", c.target);
            return self
                .persist(token, || c.finish(JobStatus::Failed, Some(error.as_str())))
                .await;
        };
        let steps = store.job_steps(&c.job_id).await?;
        // The order of the steps: a corrupt `depends_on` must never read as "waits for
        // nothing" (a caller would publish before its module), so it fails the job.
        let deps: Vec<Vec<usize>> = match steps.iter().map(StepRow::depends_on).collect() {
            Ok(deps) => deps,
            Err(corrupt) => {
                tracing::error!(job_id = %c.job_id, error = %corrupt, "a stored step is corrupt; the job fails");
                let error = corrupt.to_string();
                let done = self
                    .persist(token, || c.finish(JobStatus::Failed, Some(error.as_str())))
                    .await?;
                if done {
                    count_job(&c.target, JobStatus::Failed);
                }
                return Ok(done);
            }
        };
        // Before anything is published (not on a resumed job), resolve every org object.
        // (`unchanged` steps are created succeeded: they publish nothing.)
        if steps
            .iter()
            .all(|s| s.state == StepState::Pending || s.action == Action::Unchanged)
        {
            let found = match self.preflight(&steps, &client, token).await {
                Ok(found) => found,
                Err(Stop::Interrupted | Stop::Withdrawn) => return Ok(false),
                Err(Stop::Failed(e)) => Some(format!(
                    "preflight: could not list the org's objects: {}",
                    e["message"].as_str().unwrap_or("Genesys call failed")
                )),
            };
            if let Some(error) = found {
                tracing::warn!(job_id = %c.job_id, %error, "preflight failed");
                let done = self
                    .persist(token, || c.finish(JobStatus::Failed, Some(error.as_str())))
                    .await?;
                if done {
                    count_job(&c.target, JobStatus::Failed);
                }
                return Ok(done);
            }
        }
        let mut states: Vec<StepState> = steps.iter().map(|s| s.state).collect();
        let limit = self
            .inner
            .opts
            .concurrency
            .get(&c.target)
            .copied()
            .unwrap_or(4)
            .max(1);
        let queues: Arc<tokio::sync::Mutex<BTreeMap<String, Option<String>>>> = Arc::default();
        let mut in_flight: JoinSet<(usize, StepEnd)> = JoinSet::new();
        let mut started = vec![false; steps.len()];
        let mut cancel = false;
        let (gate, _) = tokio::sync::watch::channel(Gate {
            states: states.clone(),
            cancelled: false,
        });
        loop {
            if !cancel && store.cancel_requested(&c.job_id).await? {
                cancel = true;
            }
            gate.send_replace(Gate {
                states: states.clone(),
                cancelled: cancel,
            });
            if !cancel && !token.is_cancelled() {
                for i in 0..steps.len() {
                    if started[i] || !states[i].is_open() {
                        continue;
                    }
                    if let Some(&d) = deps[i]
                        .iter()
                        .find(|&&d| states.get(d).is_some_and(|s| s.is_unsuccessful()))
                    {
                        let reason = json!({
                            "kind": "dependency_failed",
                            "message": format!("module step {d} ('{}') did not succeed ({})", steps[d].flow_name, states[d]),
                            "depends_on": d,
                        });
                        if !self
                            .persist(token, || {
                                c.step_ended(i as i64, StepState::Skipped, &reason)
                            })
                            .await?
                        {
                            return Ok(false);
                        }
                        self.count(&c.target, steps[i].action, StepState::Skipped.as_str());
                        self.inner.signals.notify();
                        states[i] = StepState::Skipped;
                    }
                }
                for i in 0..steps.len() {
                    if in_flight.len() >= limit {
                        break;
                    }
                    if started[i] || !states[i].is_open() {
                        continue;
                    }
                    // A caller starts (registers its Architect job) once its modules are
                    // under way; its upload waits for their success.
                    if deps[i]
                        .iter()
                        .all(|&d| states.get(d) == Some(&StepState::Succeeded) || started[d])
                    {
                        started[i] = true;
                        let w = self.clone();
                        let (step, client, token, queues) = (
                            steps[i].clone(),
                            client.clone(),
                            token.clone(),
                            queues.clone(),
                        );
                        let waits = Waits {
                            gate: gate.subscribe(),
                            deps: deps[i].clone(),
                        };
                        let lease = c.clone();
                        let span = tracing::info_span!(
                            "step",
                            job_id = %c.job_id,
                            request_id = c.request_id.as_deref().unwrap_or(""),
                            idx = i,
                            flow = %step.flow_name,
                        );
                        in_flight.spawn(
                            async move {
                                let end = w
                                    .run_step(&lease, &step, &client, &token, &queues, waits)
                                    .await;
                                (i, end)
                            }
                            .instrument(span),
                        );
                    }
                }
            }
            if in_flight.is_empty() {
                break;
            }
            tokio::select! {
                biased;
                Some(r) = in_flight.join_next() => match r {
                    Ok((i, StepEnd::Succeeded | StepEnd::AlreadyDeployed)) => {
                        states[i] = StepState::Succeeded
                    }
                    Ok((i, StepEnd::Failed)) => states[i] = StepState::Failed,
                    // Not started after all: the next pass records it skipped or cancelled.
                    Ok((i, StepEnd::Withdrawn)) => started[i] = false,
                    Ok((_, StepEnd::Interrupted)) => token.cancel(),
                    Err(e) => {
                        tracing::error!(error = %e, "a step task panicked");
                        token.cancel();
                    }
                },
                () = token.cancelled(), if !token.is_cancelled() => {}
            }
        }
        if token.is_cancelled() {
            return Ok(false);
        }
        if !self.read_versions(c, &client, token).await? {
            return Ok(false);
        }
        if cancel {
            let reason = json!({"kind": "cancelled", "message": "the job was cancelled before this step started"});
            for i in 0..steps.len() {
                if states[i].is_open() {
                    if !self
                        .persist(token, || {
                            c.step_ended(i as i64, StepState::Cancelled, &reason)
                        })
                        .await?
                    {
                        return Ok(false);
                    }
                    self.count(&c.target, steps[i].action, StepState::Cancelled.as_str());
                    states[i] = StepState::Cancelled;
                }
            }
        }
        let status = if cancel {
            JobStatus::Cancelled
        } else if states.iter().all(|s| *s == StepState::Succeeded) {
            JobStatus::Succeeded
        } else {
            JobStatus::Failed
        };
        let error = (status == JobStatus::Failed).then(|| {
            let failed = states.iter().filter(|s| **s == StepState::Failed).count();
            let skipped = states.iter().filter(|s| **s == StepState::Skipped).count();
            format!("{failed} step(s) failed, {skipped} skipped")
        });
        let done = self
            .persist(token, || c.finish(status, error.as_deref()))
            .await?;
        if done {
            count_job(&c.target, status);
        }
        tracing::info!(job_id = %c.job_id, status = status.as_str(), "job finished");
        Ok(done)
    }

    /// The org objects every step's flow names, looked up once per kind; the one error of
    /// [`preflight::check`], or the look-up failure, or `None` when all resolve.
    async fn preflight(
        &self,
        steps: &[StepRow],
        client: &GenesysClient,
        token: &CancellationToken,
    ) -> Result<Option<String>, Stop> {
        let store = &self.inner.store;
        let mut held = Vec::new();
        for step in steps.iter().filter(|s| s.action != Action::Unchanged) {
            // A step whose template cannot be read fails on its own, with its reason.
            let Ok(Some(doc)) = store
                .template_document(&step.template_name, step.template_version)
                .await
            else {
                continue;
            };
            let Ok(doc) = serde_json::from_str::<Value>(&doc) else {
                continue;
            };
            let Ok(params) = step.params() else {
                continue;
            };
            let Ok(ctx) = step.decode::<StepContext>("context", &step.context) else {
                continue;
            };
            held.push((step.flow_name.as_str(), doc, params, ctx));
        }
        let uses = preflight::uses(held.iter().map(|(flow_name, document, params, context)| {
            preflight::StepFlow {
                flow_name,
                document,
                params,
                context,
            }
        }));
        if uses.is_empty() {
            return Ok(None);
        }
        let inv = self
            .call(token, || preflight::inventory(client, &uses))
            .await?;
        Ok(preflight::check(&uses, &inv))
    }

    /// Reads the published version of every succeeded step still without one (this run's
    /// and, after a crash, an earlier run's), one `GET /api/v2/flows?id=…` per page of ids,
    /// and writes them in one transaction. False when the job is no longer ours or the
    /// worker stops; a read that fails leaves the versions unknown (a later plan of those
    /// flows then updates them) and the job goes on to finish.
    async fn read_versions(
        &self,
        c: &Lease,
        client: &GenesysClient,
        token: &CancellationToken,
    ) -> Result<bool, sqlx::Error> {
        let store = &self.inner.store;
        let unknown: Vec<(i64, String, String)> = store
            .job_step_views(&c.job_id)
            .await?
            .into_iter()
            .filter(|s| s.state == StepState::Succeeded && s.published_version.is_none())
            .filter_map(|s| Some((s.idx, s.flow_name, s.flow_id?)))
            .collect();
        if unknown.is_empty() {
            return Ok(true);
        }
        let ids: Vec<String> = unknown.iter().map(|(_, _, id)| id.clone()).collect();
        let found = match self.call(token, || client.flows_by_ids(&ids)).await {
            Ok(f) => f,
            Err(Stop::Failed(e)) => {
                tracing::warn!(job_id = %c.job_id, error = %e, flows = ids.len(), "reading the published versions failed; they stay unknown");
                return Ok(true);
            }
            Err(Stop::Interrupted | Stop::Withdrawn) => return Ok(false),
        };
        let by_id: HashMap<&str, &str> = found
            .iter()
            .filter_map(|f| Some((f.id.as_str(), f.published_version.as_deref()?)))
            .collect();
        let versions: Vec<(i64, String, String)> = unknown
            .iter()
            .filter_map(|(idx, name, id)| {
                Some((*idx, name.clone(), (*by_id.get(id.as_str())?).to_owned()))
            })
            .collect();
        if versions.len() < unknown.len() {
            tracing::warn!(job_id = %c.job_id, unknown = unknown.len() - versions.len(), "some flows have no published version in Genesys");
        }
        let ours = c.steps_published(&versions).await?;
        if ours {
            self.inner.signals.notify();
        }
        Ok(ours)
    }

    fn count(&self, target: &str, action: Action, outcome: &'static str) {
        metrics::counter!(
            crate::metrics::names::STEPS_TOTAL,
            "target" => target.to_owned(),
            "action" => action.as_str(),
            "outcome" => outcome
        )
        .increment(1);
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_step(
        &self,
        lease: &Lease,
        step: &StepRow,
        client: &GenesysClient,
        token: &CancellationToken,
        queues: &tokio::sync::Mutex<BTreeMap<String, Option<String>>>,
        waits: Waits,
    ) -> StepEnd {
        let started = Instant::now();
        let end = match self
            .step_inner(lease, step, client, token, queues, waits)
            .await
        {
            Ok(Ran::Deployed) => StepEnd::Succeeded,
            Ok(Ran::AlreadyDeployed) => StepEnd::AlreadyDeployed,
            Ok(Ran::Lost) => StepEnd::Interrupted,
            Err(Stop::Interrupted) => StepEnd::Interrupted,
            Err(Stop::Withdrawn) => {
                // Not an end: the job loop records it skipped or cancelled (and counts it).
                tracing::info!(job_id = %step.job_id, idx = step.idx, "a module did not succeed or the job was cancelled: its registered Architect job is abandoned");
                return StepEnd::Withdrawn;
            }
            Err(Stop::Failed(error)) => {
                tracing::warn!(job_id = %step.job_id, idx = step.idx, flow = %step.flow_name, error = %error, "step failed");
                match self
                    .persist(token, || {
                        lease.step_ended(step.idx, StepState::Failed, &error)
                    })
                    .await
                {
                    Ok(true) => StepEnd::Failed,
                    _ => StepEnd::Interrupted,
                }
            }
        };
        let outcome = match end {
            StepEnd::Succeeded => "succeeded",
            StepEnd::AlreadyDeployed => "unchanged",
            StepEnd::Failed => "failed",
            StepEnd::Interrupted | StepEnd::Withdrawn => "interrupted",
        };
        let target = lease.target.as_str();
        self.count(target, step.action, outcome);
        metrics::histogram!(crate::metrics::names::STEP_DURATION, "target" => target.to_owned(), "action" => step.action.as_str())
            .record(started.elapsed().as_secs_f64());
        tracing::info!(
            outcome,
            duration_ms = started.elapsed().as_millis() as u64,
            "step ended"
        );
        self.inner.signals.notify();
        end
    }

    /// One step.
    #[allow(clippy::too_many_arguments)]
    async fn step_inner(
        &self,
        lease: &Lease,
        step: &StepRow,
        client: &GenesysClient,
        token: &CancellationToken,
        queues: &tokio::sync::Mutex<BTreeMap<String, Option<String>>>,
        mut waits: Waits,
    ) -> Result<Ran, Stop> {
        let store = &self.inner.store;
        let (job_id, idx, target) = (step.job_id.as_str(), step.idx, lease.target.as_str());
        match self
            .persist(token, || lease.step_started(idx))
            .await
            .map_err(db)?
        {
            StepStart::Started => {}
            StepStart::AlreadyDeployed => {
                tracing::info!(job_id, idx, flow = %step.flow_name, "an earlier job already deployed this content; nothing to do");
                return Ok(Ran::AlreadyDeployed);
            }
            StepStart::Lost => return Ok(Ran::Lost),
        }
        self.inner.signals.notify();
        let ctx: StepContext = step
            .decode("context", &step.context)
            .map_err(|e| fail("corrupt_row", e.to_string()))?;
        if step.action == Action::Delete {
            return self
                .delete_step(lease, step, &ctx, client, token, &mut waits)
                .await;
        }
        self.respect_lock(lease, step, &ctx, client, token).await?;

        // Compile again, now with queue names and run-time module names.
        let text = store
            .template_document(&step.template_name, step.template_version)
            .await
            .map_err(db)?
            .ok_or_else(|| {
                fail(
                    "template_missing",
                    format!(
                        "template '{}' version {} is gone",
                        step.template_name, step.template_version
                    ),
                )
            })?;
        let doc: Value = super::model::decode_json(
            "template_versions",
            "document",
            format_args!(
                "template {} version {}",
                step.template_name, step.template_version
            ),
            &text,
        )
        .map_err(|e| fail("corrupt_row", e.to_string()))?;
        let params = step
            .params()
            .map_err(|e| fail("corrupt_row", e.to_string()))?;
        let (flow, _) = plan::prepare(&doc, &params, &ctx).map_err(|findings| {
            Stop::Failed(json!({
                "kind": "invalid_template",
                "message": "the template no longer validates with these parameters",
                "findings": findings,
            }))
        })?;
        let mut queue_names = BTreeMap::new();
        for qid in plan::queue_ids(&flow) {
            let mut cache = queues.lock().await;
            let name = match cache.get(&qid) {
                Some(n) => n.clone(),
                None => {
                    let n = self.call(token, || client.queue_name(&qid)).await?;
                    cache.insert(qid.clone(), n.clone());
                    n
                }
            };
            match name {
                Some(n) => {
                    queue_names.insert(qid, n);
                }
                None => {
                    return Err(fail(
                        "unknown_queue",
                        format!("queue id '{qid}' does not exist in target '{target}'"),
                    ));
                }
            }
        }
        let mut resolved = BTreeMap::new();
        for fid in plan::module_ids(&ctx) {
            let info = self.call(token, || client.flow(&fid)).await?;
            match info {
                Some(f)
                    if f.flow_type.eq_ignore_ascii_case("COMMONMODULE")
                        && f.published_version.is_some() =>
                {
                    resolved.insert(fid, f.name);
                }
                Some(f) => {
                    return Err(fail(
                        "module_not_usable",
                        format!(
                            "flow id '{fid}' is '{}' of type {} ({}), not a published common module",
                            f.name,
                            f.flow_type,
                            if f.published_version.is_some() {
                                "published"
                            } else {
                                "unpublished"
                            }
                        ),
                    ));
                }
                None => {
                    return Err(fail(
                        "module_not_found",
                        format!("flow id '{fid}' does not exist in target '{target}'"),
                    ));
                }
            }
        }
        let compiled = plan::compile_step(&flow, &step.flow_name, &ctx, &queue_names, &resolved)
            .map_err(|e| fail(e.code(), e.to_string()))?;

        // The Architect job protocol.
        let mut resume = step
            .genesys_job_id
            .clone()
            .filter(|_| step.uploaded_at.is_some() && step.state == StepState::Running);
        let mut rate_retries = 0;
        let mut renewals = 0;
        let flow_id = loop {
            // A resumed job's age is unknown: it neither uses nor teaches the learnt wait.
            let (gid, uploaded_at, fresh) = match resume.take() {
                Some(gid) => {
                    tracing::info!(job_id, idx, genesys_job_id = %gid, "resuming: polling the known Architect job");
                    (gid, Instant::now(), false)
                }
                None => {
                    // Registered ahead of its modules, it yields to every other request in
                    // the limiter (a poll telling that a module succeeded above all).
                    let priority = if waits.ahead() {
                        Priority::Low
                    } else {
                        Priority::High
                    };
                    let reg = self
                        .call(token, || client.register_job_at(priority))
                        .await?;
                    if !self
                        .persist(token, || {
                            lease.step_registered(
                                idx,
                                &reg.id,
                                &compiled.yaml,
                                &compiled.content_hash,
                            )
                        })
                        .await
                        .map_err(db)?
                    {
                        return Ok(Ran::Lost);
                    }
                    self.inner.signals.notify();
                    let waited = waits.until_ready(job_id, idx, token).await?;
                    if !waits.deps.is_empty() {
                        // Identical jobs queued together all plan to publish; the modules'
                        // own re-checks have now told whether this one's content is live.
                        match self
                            .persist(token, || lease.step_rechecked(idx))
                            .await
                            .map_err(db)?
                        {
                            StepStart::Started => {}
                            StepStart::AlreadyDeployed => {
                                tracing::info!(job_id, idx, genesys_job_id = %reg.id, "its modules unchanged, an earlier job already deployed this content; the registered Architect job is abandoned");
                                return Ok(Ran::AlreadyDeployed);
                            }
                            StepStart::Lost => return Ok(Ran::Lost),
                        }
                    }
                    match self
                        .call(token, || client.upload(&reg, &compiled.yaml))
                        .await
                    {
                        Ok(()) => {}
                        // A presigned URL may expire while the step waits for its modules;
                        // a fresh registration gets a new one.
                        Err(Stop::Failed(e)) if waited && e["status"] == 403 => {
                            renewals += 1;
                            if renewals > self.inner.opts.max_call_attempts {
                                return Err(Stop::Failed(e));
                            }
                            tracing::warn!(job_id, idx, genesys_job_id = %reg.id, "the upload of a pre-registered Architect job was refused; registering a new one");
                            continue;
                        }
                        Err(e) => return Err(e),
                    }
                    if !self
                        .persist(token, || lease.step_uploaded(idx))
                        .await
                        .map_err(db)?
                    {
                        return Ok(Ran::Lost);
                    }
                    (reg.id, Instant::now(), true)
                }
            };
            match self
                .poll(target, client, &gid, uploaded_at, fresh, token)
                .await?
            {
                Polled::Success(Some(fid)) => break fid,
                Polled::Success(None) => {
                    return Err(fail(
                        "genesys_protocol",
                        format!("Architect job {gid} succeeded without a flow id"),
                    ));
                }
                Polled::Failure(messages) => {
                    let texts: Vec<&str> =
                        messages.iter().filter_map(|m| m["text"].as_str()).collect();
                    let rate_limited = texts.iter().any(|t| t.contains("exit code: 107"));
                    if rate_limited && rate_retries < self.inner.opts.max_rate_limit_retries {
                        let wait = self.inner.opts.retry_backoff * 2u32.pow(rate_retries);
                        rate_retries += 1;
                        tracing::warn!(job_id, idx, genesys_job_id = %gid, retry = rate_retries, "Architect job hit a backend rate limit; registering again");
                        sleep_or_stop(wait, token).await?;
                        continue;
                    }
                    let message = if texts.is_empty() {
                        "the Architect job failed without messages".to_owned()
                    } else {
                        texts.join("\n")
                    };
                    return Err(Stop::Failed(json!({
                        "kind": "architect_job_failed",
                        "message": message,
                        "messages": messages,
                        "genesys_job_id": gid,
                        "retries": rate_retries,
                    })));
                }
                Polled::Renew(why) => {
                    renewals += 1;
                    if renewals > self.inner.opts.max_call_attempts {
                        return Err(fail("architect_job_lost", why));
                    }
                    tracing::warn!(job_id, idx, genesys_job_id = %gid, why, "registering a new Architect job");
                }
                Polled::TimedOut => {
                    return Err(Stop::Failed(json!({
                        "kind": "timeout",
                        "message": format!("Architect job {gid} did not finish within {:?}", self.inner.opts.job_timeout),
                        "genesys_job_id": gid,
                    })));
                }
            }
        };
        // Read later, in a batch with the job's other steps (see the module docs).
        let published_version = None;
        let module_interface = (ctx.as_type == FlowType::Module).then(|| {
            let t = ModuleTarget::of(&flow, &step.flow_name);
            serde_json::to_string(&ModuleIo {
                inputs: t.inputs,
                outputs: t.outputs,
            })
            .unwrap_or_default()
        });
        let record = FlowRecordRow {
            target: target.to_owned(),
            name: step.flow_name.clone(),
            flow_type: ctx.as_type,
            flow_id: Some(flow_id.clone()),
            template_name: step.template_name.clone(),
            template_version: step.template_version,
            content_hash: compiled.content_hash.clone(),
            plan_hash: step.plan_hash.clone(),
            published_version: published_version.clone(),
            yaml: compiled.yaml.clone(),
            params: step.params.clone(),
            module_interface,
            calls: serde_json::to_string(&plan::called_flow_names(&ctx, &resolved))
                .unwrap_or_default(),
            job_id: Some(job_id.to_owned()),
            updated_at: crate::store::now(),
        };
        let ok = StepSuccess {
            flow_id,
            published_version,
            yaml: compiled.yaml,
            content_hash: compiled.content_hash,
        };
        let done = self
            .persist(token, || lease.step_succeeded(idx, &ok, &record))
            .await
            .map_err(db)?;
        Ok(if done { Ran::Deployed } else { Ran::Lost })
    }

    /// A delete step: once the steps it waits for (the callers' deletes) succeeded,
    /// `DELETE /api/v2/flows/{id}` (a flow already gone is fine) and the record removed.
    #[allow(clippy::too_many_arguments)]
    async fn delete_step(
        &self,
        lease: &Lease,
        step: &StepRow,
        ctx: &StepContext,
        client: &GenesysClient,
        token: &CancellationToken,
        waits: &mut Waits,
    ) -> Result<Ran, Stop> {
        let (job_id, idx) = (step.job_id.as_str(), step.idx);
        waits.until_ready(job_id, idx, token).await?;
        let mut note = None;
        if let Some(id) = ctx.org_flow_id.as_deref() {
            self.respect_lock(lease, step, ctx, client, token).await?;
            if !self.call(token, || client.delete_flow(id)).await? {
                note = Some(json!({
                    "kind": "already_deleted",
                    "message": format!("flow '{}' ({id}) was already gone from the org; its record was removed", step.flow_name),
                }));
            }
        }
        let done = self
            .persist(token, || {
                lease.step_deleted(idx, &step.flow_name, note.as_ref())
            })
            .await
            .map_err(db)?;
        Ok(if done { Ran::Deployed } else { Ran::Lost })
    }

    /// Before a step changes a flow someone else holds checked out: fail naming the holder,
    /// wait (bounded by `lock_wait`) or unlock first, as the job's `on_locked` says. The
    /// flow is read only when the plan saw a lock or the job asked to wait or unlock; a lock
    /// taken after the plan with `fail` makes Genesys refuse the publish instead.
    async fn respect_lock(
        &self,
        lease: &Lease,
        step: &StepRow,
        ctx: &StepContext,
        client: &GenesysClient,
        token: &CancellationToken,
    ) -> Result<(), Stop> {
        let Some(id) = ctx.org_flow_id.as_deref() else {
            return Ok(());
        };
        if ctx.locked_by.is_none() && ctx.on_locked == OnLocked::Fail {
            return Ok(());
        }
        let deadline = Instant::now() + self.inner.opts.lock_wait;
        let mut pause = self.inner.opts.first_poll;
        loop {
            let Some(holder) = self
                .call(token, || client.flow(id))
                .await?
                .and_then(|f| f.locked_by)
            else {
                return Ok(());
            };
            let flow = &step.flow_name;
            match ctx.on_locked {
                OnLocked::Fail => {
                    return Err(Stop::Failed(json!({
                        "kind": "flow_locked",
                        "message": format!("flow '{flow}' is checked out by {holder}; flowsmith does not publish over someone else's draft (on_locked: fail)"),
                    })));
                }
                OnLocked::Unlock => {
                    self.call(token, || client.unlock_flow(id)).await?;
                    let note = json!({
                        "kind": "unlocked",
                        "message": format!("flow '{flow}' was checked out by {holder}; flowsmith unlocked it before its step (on_locked: unlock)"),
                    });
                    tracing::warn!(flow = %flow, holder = %holder, "unlocked a flow checked out by someone else");
                    if !self
                        .persist(token, || lease.step_note(step.idx, &note))
                        .await
                        .map_err(db)?
                    {
                        return Err(Stop::Interrupted);
                    }
                    return Ok(());
                }
                OnLocked::Wait => {
                    if Instant::now() >= deadline {
                        return Err(Stop::Failed(json!({
                            "kind": "flow_locked",
                            "message": format!("flow '{flow}' is still checked out by {holder} after waiting {} s (on_locked: wait)", self.inner.opts.lock_wait.as_secs()),
                        })));
                    }
                    tracing::info!(flow = %flow, holder = %holder, "flow checked out by someone else; waiting");
                    tokio::select! {
                        () = tokio::time::sleep(pause) => {}
                        () = token.cancelled() => return Err(Stop::Interrupted),
                    }
                    pause = (pause * 2).min(self.inner.opts.max_poll);
                }
            }
        }
    }

    /// Runs one store write, and while the database refuses writes for a storage fault (a
    /// full disk, a read-only file, an I/O error) tries it again with a growing pause: the
    /// job waits where it is, holding what Genesys already did, and carries on as soon as
    /// writes work again. Gives the error back when `token` stops the job (shutdown or a lost
    /// lease: the next claim resumes from the last checkpoint).
    async fn persist<T, F, Fut>(
        &self,
        token: &CancellationToken,
        mut write: F,
    ) -> Result<T, sqlx::Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, sqlx::Error>>,
    {
        let mut wait = self.inner.opts.store_retry_first;
        loop {
            match write().await {
                Err(e) if StorageFault::of(&e).is_some() && !token.is_cancelled() => {
                    tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "the database refused a job write; trying again");
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = token.cancelled() => return Err(e),
                    }
                    wait = (wait * 2).min(self.inner.opts.store_retry_max);
                }
                r => return r,
            }
        }
    }

    /// Calls Genesys, retrying retryable errors with backoff; other errors fail the step.
    async fn call<T, F, Fut>(&self, token: &CancellationToken, mut f: F) -> Result<T, Stop>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, GenesysError>>,
    {
        let mut n = 0;
        loop {
            if token.is_cancelled() {
                return Err(Stop::Interrupted);
            }
            let r = tokio::select! {
                r = f() => r,
                () = token.cancelled() => return Err(Stop::Interrupted),
            };
            match r {
                Ok(v) => return Ok(v),
                Err(e) if e.is_retryable() && n + 1 < self.inner.opts.max_call_attempts => {
                    let wait = self.inner.opts.retry_backoff * 2u32.pow(n);
                    n += 1;
                    tracing::warn!(error = %e, retry = n, "Genesys call failed; retrying");
                    sleep_or_stop(wait, token).await?;
                }
                Err(e) => return Err(Stop::Failed(genesys_error(&e))),
            }
        }
    }

    /// Polls an Architect job until it ends. A freshly uploaded job first waits what this
    /// target's jobs were learnt to need ([`learnt_wait`]), so most jobs take one poll; a
    /// miss then polls again soon. Otherwise waits start at `first_poll` and grow by
    /// `poll_factor` up to `max_poll`.
    async fn poll(
        &self,
        target: &str,
        client: &GenesysClient,
        gid: &str,
        since: Instant,
        fresh: bool,
        token: &CancellationToken,
    ) -> Result<Polled, Stop> {
        let o = &self.inner.opts;
        let learnt = self
            .inner
            .typical_ms
            .lock()
            .ok()
            .and_then(|m| m.get(target).copied())
            .filter(|_| fresh)
            .map(|ms| Duration::from_secs_f64(ms / 1000.0).clamp(o.first_poll, MAX_LEARNT_WAIT));
        let mut wait = learnt.unwrap_or(o.first_poll);
        let (mut slept, mut polls) = (Duration::ZERO, 0u32);
        let after = |wait: Duration, polls: u32| match learnt {
            // The learnt wait just missed: the job is about to end.
            Some(_) if polls == 1 => o.first_poll,
            _ => next_wait(wait, o),
        };
        loop {
            sleep_or_stop(wait, token).await?;
            slept += wait;
            polls += 1;
            let job = match tokio::select! {
                r = client.job(gid) => r,
                () = token.cancelled() => return Err(Stop::Interrupted),
            } {
                Ok(j) => j,
                Err(GenesysError::Api { status: 404, .. }) => {
                    return Ok(Polled::Renew(format!(
                        "Genesys does not know Architect job {gid}"
                    )));
                }
                Err(e) if e.is_retryable() => {
                    tracing::warn!(error = %e, genesys_job_id = gid, "polling failed; will poll again");
                    if since.elapsed() > o.job_timeout {
                        return Ok(Polled::TimedOut);
                    }
                    wait = after(wait, polls);
                    continue;
                }
                Err(e) => return Err(Stop::Failed(genesys_error(&e))),
            };
            match job.status {
                ArchitectJobStatus::Success => {
                    if fresh {
                        self.learn(target, learnt.is_some(), polls, slept);
                    }
                    return Ok(Polled::Success(job.flow.map(|f| f.id)));
                }
                ArchitectJobStatus::Failure => {
                    return Ok(Polled::Failure(
                        job.messages
                            .iter()
                            .map(|m| json!({"type": m.kind, "text": m.text}))
                            .collect(),
                    ));
                }
                ArchitectJobStatus::Registered if since.elapsed() > o.registered_timeout => {
                    return Ok(Polled::Renew(format!(
                        "Architect job {gid} stayed Registered for {:?} (the upload never arrived)",
                        since.elapsed()
                    )));
                }
                _ if since.elapsed() > o.job_timeout => return Ok(Polled::TimedOut),
                _ => wait = after(wait, polls),
            }
        }
    }

    fn learn(&self, target: &str, used_learnt: bool, polls: u32, slept: Duration) {
        if let Ok(mut m) = self.inner.typical_ms.lock() {
            let current = m.get(target).copied();
            let slept_ms = slept.as_secs_f64() * 1000.0;
            if let Some(next) = learnt_wait(current, used_learnt, polls, slept_ms) {
                m.insert(target.to_owned(), next);
            }
        }
    }
}

/// What a step waits for before its upload: its dependencies' success.
struct Waits {
    gate: tokio::sync::watch::Receiver<Gate>,
    deps: Vec<usize>,
}

impl Waits {
    /// True while a dependency has not ended: a registration now is ahead of its upload.
    fn ahead(&self) -> bool {
        self.gate.borrow().verdict(&self.deps).is_none()
    }

    /// Returns once every dependency succeeded (true when it had to wait);
    /// [`Stop::Withdrawn`] when one ended otherwise or the job was cancelled.
    async fn until_ready(
        &mut self,
        job_id: &str,
        idx: i64,
        token: &CancellationToken,
    ) -> Result<bool, Stop> {
        let deps = self.deps.clone();
        let first = self.gate.borrow().verdict(&deps);
        match first {
            Some(true) => return Ok(false),
            Some(false) => return Err(Stop::Withdrawn),
            None => {}
        }
        tracing::info!(
            job_id,
            idx,
            "Architect job registered; waiting for the modules it calls before the upload"
        );
        let verdict = tokio::select! {
            r = self.gate.wait_for(|g| g.verdict(&deps).is_some()) => {
                r.ok().and_then(|g| g.verdict(&deps)).unwrap_or(false)
            }
            () = token.cancelled() => return Err(Stop::Interrupted),
        };
        if verdict {
            Ok(true)
        } else {
            Err(Stop::Withdrawn)
        }
    }
}

enum Polled {
    Success(Option<String>),
    Failure(Vec<Value>),
    /// Register a new Architect job (this one is unknown or never got its upload).
    Renew(String),
    TimedOut,
}

/// Longest learnt first wait.
const MAX_LEARNT_WAIT: Duration = Duration::from_secs(120);

/// How much earlier the next job tries its first poll after a first poll that was on time
/// (slowly: a miss costs a request, waiting a little long only costs latency).
const LEARNT_PROBE: f64 = 0.0005;

/// The next learnt first wait (ms) of a target, from a job that succeeded after `polls`
/// polls and `slept_ms` of waiting in all; `None` keeps the current one.
///
/// Every request counts against the rate limit, so the estimate aims at the first poll
/// succeeding: it is the wait that worked (an upper bound) when a job had to be polled
/// again, and creeps down by [`LEARNT_PROBE`] after each job whose first poll was on time
/// (it may have been early enough with less). A miss costs one more request and resets it.
/// Waiting in the rate limiter only ever makes a poll later, so it needs no correction.
pub fn learnt_wait(
    current: Option<f64>,
    used_learnt: bool,
    polls: u32,
    slept_ms: f64,
) -> Option<f64> {
    match (current, used_learnt) {
        (None, _) => Some(slept_ms),
        (Some(c), true) if polls <= 1 => Some(c * (1.0 - LEARNT_PROBE)),
        (Some(_), true) => Some(slept_ms),
        // Started before anything was learnt: its growing waits overshoot; keep the estimate.
        (Some(_), false) => None,
    }
}

fn next_wait(wait: Duration, o: &WorkerOptions) -> Duration {
    wait.mul_f64(o.poll_factor).min(o.max_poll)
}

async fn sleep_or_stop(d: Duration, token: &CancellationToken) -> Result<(), Stop> {
    tokio::select! {
        () = tokio::time::sleep(d) => Ok(()),
        () = token.cancelled() => Err(Stop::Interrupted),
    }
}

fn db(e: sqlx::Error) -> Stop {
    tracing::error!(error = %e, "database error while running a step");
    Stop::Interrupted
}

fn fail(kind: &str, message: impl Into<String>) -> Stop {
    Stop::Failed(json!({"kind": kind, "message": message.into()}))
}

pub use crate::metrics::count_job;

/// A Genesys client error as a step error: status, code, message, correlation id.
pub fn genesys_error(e: &GenesysError) -> Value {
    match e {
        GenesysError::Api {
            status,
            code,
            message,
            correlation_id,
        } => json!({
            "kind": "genesys_api",
            "message": message,
            "status": status,
            "code": code,
            "correlation_id": correlation_id,
        }),
        GenesysError::Auth(m) => json!({"kind": "genesys_auth", "message": m}),
        GenesysError::Unavailable(m) => json!({"kind": "genesys_unavailable", "message": m}),
        GenesysError::Protocol(m) => json!({"kind": "genesys_protocol", "message": m}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_from_env() {
        let o = WorkerOptions::from_lookup(|k| match k {
            "FLOWSMITH_LEASE_SECS" => Some("6".into()),
            "FLOWSMITH_WORKER_POLL_MS" => Some("50".into()),
            _ => None,
        });
        assert_eq!(o.lease, Duration::from_secs(6));
        assert_eq!(o.heartbeat, Duration::from_secs(2));
        assert_eq!(o.poll_interval, Duration::from_millis(50));
    }

    #[test]
    fn polling_grows_and_caps() {
        let o = WorkerOptions::default();
        let mut w = o.first_poll;
        let mut seen = vec![w];
        for _ in 0..8 {
            w = next_wait(w, &o);
            seen.push(w);
        }
        assert_eq!(seen[1], Duration::from_millis(1500));
        assert_eq!(*seen.last().unwrap(), o.max_poll);
    }

    #[test]
    fn the_learnt_wait_aims_at_one_poll_per_job() {
        // The first job teaches the wait that worked.
        assert_eq!(learnt_wait(None, false, 4, 2030.0), Some(2030.0));
        // On time: try a little earlier next time.
        let w = learnt_wait(Some(2000.0), true, 1, 2000.0).unwrap();
        assert!((w - 1999.0).abs() < 0.01, "{w}");
        // Missed: the wait that worked (the learnt one plus the short retry).
        assert_eq!(learnt_wait(Some(1900.0), true, 2, 2150.0), Some(2150.0));
        // A job that started before anything was learnt does not overwrite the estimate.
        assert_eq!(learnt_wait(Some(2000.0), false, 5, 3300.0), None);
    }

    #[test]
    fn api_errors_keep_status_code_and_correlation_id() {
        let v = genesys_error(&GenesysError::Api {
            status: 400,
            code: "bad.request".into(),
            message: "nope".into(),
            correlation_id: Some("c-1".into()),
        });
        assert_eq!(v["status"], 400);
        assert_eq!(v["code"], "bad.request");
        assert_eq!(v["correlation_id"], "c-1");
    }
}
