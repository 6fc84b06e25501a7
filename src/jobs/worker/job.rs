//! One claimed job: the preflight, the step loop (which starts steps as
//! [`schedule::next`] says and records the skipped ones), the batched read of published
//! versions, and the job's end.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::schedule::{self, Gate, Pacing, Skip};
use super::step::{Queues, Starting, StepEnd, StepTask, Waits};
use super::{Stop, Worker, applied};
use crate::genesys::GenesysClient;
use crate::jobs::model::{Action, JobStatus, StepError, StepState};
use crate::jobs::plan::StepContext;
use crate::jobs::preflight;
use crate::metrics::count_job;
use crate::store::{Lease, StepRow};

/// How often the step loop reads the job's cancel flag while no step ends.
const CANCEL_CHECK: Duration = Duration::from_millis(500);

/// The step loop's view of a job.
struct Steps<'a> {
    rows: &'a [StepRow],
    deps: &'a [Vec<usize>],
    states: Vec<StepState>,
    started: Vec<bool>,
    cancel: bool,
}

/// What the step loop left: whether it ran to the end (false: the lease was lost).
enum Looped {
    Done,
    Lost,
}

impl Worker {
    /// Runs the job's steps; true when the job reached its final status.
    pub(super) async fn execute(
        &self,
        c: &Lease,
        token: &CancellationToken,
    ) -> Result<bool, sqlx::Error> {
        if c.dry_run {
            return self.end_job(c, token, JobStatus::Succeeded, None).await;
        }
        let Some(client) = self.inner.clients.get(&c.target).cloned() else {
            let error = format!("target {:?} is not configured", c.target);
            return applied(
                self.persist(token, || c.finish(JobStatus::Failed, Some(error.as_str())))
                    .await,
            );
        };
        let rows = self.inner.store.job_steps(&c.job_id).await?;
        // The order of the steps: a corrupt `depends_on` must never read as "waits for
        // nothing" (a caller would publish before its module), so it fails the job.
        let deps: Vec<Vec<usize>> = match rows.iter().map(StepRow::depends_on).collect() {
            Ok(deps) => deps,
            Err(corrupt) => {
                tracing::error!(job_id = %c.job_id, error = %corrupt, "a stored step is corrupt; the job fails");
                let error = corrupt.to_string();
                return self.end_job(c, token, JobStatus::Failed, Some(error)).await;
            }
        };
        // Before anything is published (not on a resumed job), resolve every org object.
        // (`unchanged` steps are created succeeded: they publish nothing.)
        if rows
            .iter()
            .all(|s| s.state == StepState::Pending || s.action == Action::Unchanged)
        {
            match self.preflight(&rows, &client, token).await {
                Ok(None) => {}
                Ok(Some(error)) => {
                    tracing::warn!(job_id = %c.job_id, %error, "preflight failed");
                    return self.end_job(c, token, JobStatus::Failed, Some(error)).await;
                }
                Err(Stop::Interrupted | Stop::Withdrawn) => return Ok(false),
                Err(Stop::Failed(e)) => {
                    let error = format!(
                        "preflight: could not list the org's objects: {}",
                        e.message()
                    );
                    tracing::warn!(job_id = %c.job_id, %error, "preflight failed");
                    return self.end_job(c, token, JobStatus::Failed, Some(error)).await;
                }
            }
        }
        let mut steps = Steps {
            rows: &rows,
            deps: &deps,
            states: rows.iter().map(|s| s.state).collect(),
            started: vec![false; rows.len()],
            cancel: false,
        };
        if let Looped::Lost = self.run_steps(c, &mut steps, &client, token).await? {
            return Ok(false);
        }
        if token.is_cancelled() || !self.read_versions(c, &client, token).await? {
            return Ok(false);
        }
        self.conclude(c, &mut steps, token).await
    }

    /// Starts the steps as [`schedule::next`] says, as many at a time as keep the target's
    /// limiter busy ([`schedule::slots`]), until none is in flight; records the skipped ones.
    async fn run_steps(
        &self,
        c: &Lease,
        steps: &mut Steps<'_>,
        client: &Arc<GenesysClient>,
        token: &CancellationToken,
    ) -> Result<Looped, sqlx::Error> {
        let cap = self.inner.opts.concurrency.get(&c.target).copied();
        let queues = Queues::default();
        let starting = Arc::new(AtomicUsize::new(0));
        let mut limiter = client.watch_queue();
        let mut in_flight: JoinSet<(usize, StepEnd)> = JoinSet::new();
        let (gate, _) = watch::channel(Gate {
            states: steps.states.clone(),
            cancelled: false,
        });
        // The cancel flag is read when a step ends, and at most every CANCEL_CHECK otherwise
        // (the limiter wakes this loop several times a request).
        let mut checked: Option<Instant> = None;
        loop {
            if !steps.cancel
                && checked.is_none_or(|t| t.elapsed() >= CANCEL_CHECK)
                && self.inner.store.cancel_requested(&c.job_id).await?
            {
                steps.cancel = true;
            }
            checked = checked.or_else(|| Some(Instant::now()));
            gate.send_if_modified(|g| {
                let changed = g.states != steps.states || g.cancelled != steps.cancel;
                if changed {
                    g.states.clone_from(&steps.states);
                    g.cancelled = steps.cancel;
                }
                changed
            });
            if !steps.cancel && !token.is_cancelled() {
                let first = schedule::next_priority(steps.deps, &steps.states, &steps.started);
                let pacing = Pacing {
                    paced: client.paced(),
                    paused: client.paused_for().is_some(),
                    queued: first.map_or(0, |p| client.queued_at_least(p)),
                    starting: starting.load(Ordering::Relaxed),
                };
                let slots = schedule::slots(in_flight.len(), cap, &pacing);
                let next = schedule::next(steps.deps, &steps.states, &steps.started, slots);
                for skip in next.skip {
                    if !self.skip(c, steps, skip, token).await? {
                        return Ok(Looped::Lost);
                    }
                }
                for i in next.start {
                    steps.started[i] = true;
                    let task = StepTask {
                        worker: self.clone(),
                        lease: c.clone(),
                        step: steps.rows[i].clone(),
                        client: client.clone(),
                        token: token.clone(),
                        queues: queues.clone(),
                        waits: Waits {
                            gate: gate.subscribe(),
                            deps: steps.deps[i].clone(),
                        },
                        starting: Starting::new(&starting),
                        awaited: steps.deps.iter().any(|d| d.contains(&i)),
                    };
                    spawn_step(&mut in_flight, i, task);
                }
            }
            if in_flight.is_empty() {
                return Ok(Looped::Done);
            }
            tokio::select! {
                biased;
                Some(r) = in_flight.join_next() => {
                    steps.ended(r, token);
                    checked = None;
                }
                () = token.cancelled(), if !token.is_cancelled() => {}
                Ok(()) = limiter.changed() => {}
                // A 429 pause ending, or the cancel flag: nothing else wakes the loop then.
                () = tokio::time::sleep(CANCEL_CHECK) => {}
            }
        }
    }

    /// Records a step skipped because a module step it waits for did not succeed; false when
    /// the lease is lost.
    async fn skip(
        &self,
        c: &Lease,
        steps: &mut Steps<'_>,
        skip: Skip,
        token: &CancellationToken,
    ) -> Result<bool, sqlx::Error> {
        let Skip {
            step,
            because: d,
            state,
        } = skip;
        let reason = StepError::DependencyFailed {
            message: format!(
                "module step {d} ('{}') did not succeed ({state})",
                steps.rows[d].flow_name
            ),
            depends_on: d,
        };
        let ended = self
            .end_step(c, steps, step, StepState::Skipped, &reason, token)
            .await?;
        if ended {
            self.inner.signals.notify();
        }
        Ok(ended)
    }

    /// Ends step `i` as `state` (skipped or cancelled: it did not run) with `reason`, and
    /// counts it; false when the lease is lost.
    async fn end_step(
        &self,
        c: &Lease,
        steps: &mut Steps<'_>,
        i: usize,
        state: StepState,
        reason: &StepError,
        token: &CancellationToken,
    ) -> Result<bool, sqlx::Error> {
        let idx = i as i64;
        if !applied(
            self.persist(token, || c.step_ended(idx, state, reason))
                .await,
        )? {
            return Ok(false);
        }
        let action = steps.rows[i].action;
        self.count(&c.target, action, state.as_str());
        steps.states[i] = state;
        Ok(true)
    }

    /// The job's end: the steps a cancel left open are cancelled, and the job gets its
    /// final status.
    async fn conclude(
        &self,
        c: &Lease,
        steps: &mut Steps<'_>,
        token: &CancellationToken,
    ) -> Result<bool, sqlx::Error> {
        if steps.cancel {
            let reason = StepError::cancelled();
            for i in 0..steps.rows.len() {
                if !steps.states[i].is_open() {
                    continue;
                }
                if !self
                    .end_step(c, steps, i, StepState::Cancelled, &reason, token)
                    .await?
                {
                    return Ok(false);
                }
            }
        }
        let states = &steps.states;
        let status = if steps.cancel {
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
        let done = self.end_job(c, token, status, error).await?;
        tracing::info!(job_id = %c.job_id, status = status.as_str(), "job finished");
        Ok(done)
    }

    /// Writes the job's final status (and counts it); false when the lease is lost.
    async fn end_job(
        &self,
        c: &Lease,
        token: &CancellationToken,
        status: JobStatus,
        error: Option<String>,
    ) -> Result<bool, sqlx::Error> {
        let done = applied(
            self.persist(token, || c.finish(status, error.as_deref()))
                .await,
        )?;
        if done {
            count_job(&c.target, status);
        }
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
            let Ok(doc) = crate::store::decode_template_document(
                &step.template_name,
                step.template_version,
                &doc,
            ) else {
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
        let unknown: Vec<(i64, String, String)> = self
            .inner
            .store
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
                tracing::warn!(job_id = %c.job_id, error = %e.to_json(), flows = ids.len(), "reading the published versions failed; they stay unknown");
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
        let ours = applied(c.steps_published(&versions).await)?;
        if ours {
            self.inner.signals.notify();
        }
        Ok(ours)
    }
}

/// Runs a step as a task of the job, in a span naming it.
fn spawn_step(in_flight: &mut JoinSet<(usize, StepEnd)>, i: usize, task: StepTask) {
    let span = tracing::info_span!(
        "step",
        job_id = %task.lease.job_id,
        request_id = task.lease.request_id.as_deref().unwrap_or(""),
        idx = i,
        flow = %task.step.flow_name,
    );
    in_flight.spawn(async move { (i, task.run().await) }.instrument(span));
}

impl Steps<'_> {
    /// A step task ended (or panicked).
    fn ended(
        &mut self,
        r: Result<(usize, StepEnd), tokio::task::JoinError>,
        token: &CancellationToken,
    ) {
        match r {
            Ok((i, StepEnd::Succeeded | StepEnd::AlreadyDeployed)) => {
                self.states[i] = StepState::Succeeded;
            }
            Ok((i, StepEnd::Failed)) => self.states[i] = StepState::Failed,
            // Not started after all: the next pass records it skipped or cancelled.
            Ok((i, StepEnd::Withdrawn)) => self.started[i] = false,
            Ok((_, StepEnd::Interrupted)) => token.cancel(),
            Err(e) => {
                tracing::error!(error = %e, "a step task panicked");
                token.cancel();
            }
        }
    }
}
