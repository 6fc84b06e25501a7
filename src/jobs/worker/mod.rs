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
//!
//! Layout: this file is the loop (claim, heartbeat, the store's and Genesys' call
//! wrappers); `options.rs` its settings; `job.rs` one job (preflight, the step loop, the
//! end); `schedule.rs` the pure rule of which steps start or are skipped; `step.rs` one
//! step in phases (start, prepare, register, upload, poll, publish, or delete); `lock.rs`
//! a flow someone else holds checked out; `architect.rs` polling an Architect job;
//! `learnt.rs` the first wait learnt from recent jobs.

mod adopt;
mod architect;
mod job;
mod learnt;
mod lock;
mod options;
mod schedule;
mod step;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::signals::{Liveness, Signals};
use crate::genesys::{GenesysClient, GenesysError};
use crate::jobs::model::{Action, StepError};
use crate::store::{Lease, LeaseError, StorageFault, Store};

pub use options::WorkerOptions;

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
    /// The first wait before polling an Architect job, learnt per target.
    learnt: Mutex<HashMap<String, learnt::Learnt>>,
}

/// Why a step stopped without a result of its own.
enum Stop {
    /// The step failed; the error is recorded.
    Failed(StepError),
    /// Shutdown or a lost lease: leave the step for the next claim.
    Interrupted,
    /// A module it calls did not succeed, or the job was cancelled, while the step waited
    /// to upload: the job loop records why (skipped or cancelled).
    Withdrawn,
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
                learnt: Mutex::new(HashMap::new()),
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
                        Ok(()) => {}
                        Err(LeaseError::Lost) => {
                            tracing::warn!(job_id = %id, attempt, "lease lost; stopping");
                            token.cancel();
                            return;
                        }
                        Err(LeaseError::Db(e)) => {
                            tracing::warn!(job_id = %id, error = %e, "heartbeat failed")
                        }
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

    fn count(&self, target: &str, action: Action, outcome: &'static str) {
        metrics::counter!(
            crate::metrics::names::STEPS_TOTAL,
            "target" => target.to_owned(),
            "action" => action.as_str(),
            "outcome" => outcome
        )
        .increment(1);
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
    ) -> Result<T, LeaseError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, LeaseError>>,
    {
        let mut wait = self.inner.opts.store_retry_first;
        loop {
            match write().await {
                Err(LeaseError::Db(e))
                    if StorageFault::of(&e).is_some() && !token.is_cancelled() =>
                {
                    tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "the database refused a job write; trying again");
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = token.cancelled() => return Err(LeaseError::Db(e)),
                    }
                    wait = (wait * 2).min(self.inner.opts.store_retry_max);
                }
                r => return r,
            }
        }
    }

    /// Calls Genesys once, unless `token` stops the job. The client already retried what is
    /// worth retrying (its `RetryPolicy`: 5xx, timeouts, 429 pauses), so an error here fails
    /// the step; retrying again here would multiply the client's attempts.
    async fn call<T, F, Fut>(&self, token: &CancellationToken, f: F) -> Result<T, Stop>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, GenesysError>>,
    {
        if token.is_cancelled() {
            return Err(Stop::Interrupted);
        }
        tokio::select! {
            r = f() => r.map_err(|e| Stop::Failed(genesys_error(&e))),
            () = token.cancelled() => Err(Stop::Interrupted),
        }
    }
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

/// A lease write that did not happen stops the step: the lease lost (the next claim resumes
/// the job), or the database failing.
impl From<LeaseError> for Stop {
    fn from(e: LeaseError) -> Stop {
        match e {
            LeaseError::Lost => Stop::Interrupted,
            LeaseError::Db(e) => db(e),
        }
    }
}

/// Whether a lease write of the job loop applied: false when the lease is lost.
fn applied(r: Result<(), LeaseError>) -> Result<bool, sqlx::Error> {
    match r {
        Ok(()) => Ok(true),
        Err(LeaseError::Lost) => Ok(false),
        Err(LeaseError::Db(e)) => Err(e),
    }
}

/// A Genesys client error as a step error: status, code, message, correlation id.
fn genesys_error(e: &GenesysError) -> StepError {
    match e.clone() {
        GenesysError::Api {
            status,
            code,
            message,
            correlation_id,
        } => StepError::GenesysApi {
            message,
            status,
            code,
            correlation_id,
        },
        GenesysError::Auth(message) => StepError::GenesysAuth { message },
        GenesysError::Unavailable(message) => StepError::GenesysUnavailable { message },
        GenesysError::Protocol(message) => StepError::GenesysProtocol { message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_keep_status_code_and_correlation_id() {
        let v = genesys_error(&GenesysError::Api {
            status: 400,
            code: "bad.request".into(),
            message: "nope".into(),
            correlation_id: Some("c-1".into()),
        })
        .to_json();
        assert_eq!(v["status"], 400);
        assert_eq!(v["code"], "bad.request");
        assert_eq!(v["correlation_id"], "c-1");
    }
}
