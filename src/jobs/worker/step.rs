//! One step, in phases: start (the run-time re-check), prepare (compile again with the
//! org's queue and module names), then the Architect job protocol — register, upload (after
//! the modules it calls succeeded), poll ([`super::architect`]) — and publish (the step's
//! result and the flow record in one transaction). A delete step deletes its flow instead.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::architect::{Poll, Polled};
use super::schedule::Gate;
use super::{Stop, Worker};
use crate::compile::{CompileError, Compiled, ModuleTarget};
use crate::genesys::{GenesysClient, Priority, RegisteredJob, Urgency};
use crate::jobs::model::{Action, Corrupt, StepError, StepState};
use crate::jobs::plan::{self, ModuleIo, StepContext};
use crate::store::{FlowRecordRow, Lease, StepRow, StepStart, StepSuccess};
use crate::template::{Flow, FlowType};

/// Queue names already looked up in this job, by id (`None`: no such queue).
pub(super) type Queues = Arc<tokio::sync::Mutex<BTreeMap<String, Option<String>>>>;

/// How a step that did not fail ended.
pub(super) enum Ran {
    /// Its flow was published (or deleted).
    Deployed,
    /// The org already had its content.
    AlreadyDeployed,
}

/// How a step ended, for the job loop.
pub(super) enum StepEnd {
    Succeeded,
    /// Found deployed by an earlier job when it started: succeeded without a Genesys request.
    AlreadyDeployed,
    Failed,
    Interrupted,
    Withdrawn,
}

/// One step being run: everything its phases use.
pub(super) struct StepTask {
    pub worker: Worker,
    pub lease: Lease,
    pub step: StepRow,
    pub client: Arc<GenesysClient>,
    pub token: CancellationToken,
    pub queues: Queues,
    pub waits: Waits,
    pub starting: Starting,
    /// Other steps of the job wait for this one (it is a module they call).
    pub awaited: bool,
}

/// A step counted among the job's steps that have not yet asked the target's limiter for
/// anything ([`super::schedule::Pacing::starting`]), until it does or ends.
pub(super) struct Starting {
    count: Arc<AtomicUsize>,
    counted: AtomicBool,
}

impl Starting {
    pub(super) fn new(count: &Arc<AtomicUsize>) -> Starting {
        count.fetch_add(1, Ordering::Relaxed);
        Starting {
            count: count.clone(),
            counted: AtomicBool::new(true),
        }
    }

    /// The step is about to send a rate-limited request: the limiter counts it from now.
    pub(super) fn requesting(&self) {
        if self.counted.swap(false, Ordering::Relaxed) {
            self.count.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Drop for Starting {
    fn drop(&mut self) {
        self.requesting();
    }
}

/// A step compiled for the org: what the protocol uploads and the record keeps.
struct Prepared {
    ctx: StepContext,
    flow: Flow,
    compiled: Compiled,
    /// Module flow ids to the names they have in the org.
    resolved: BTreeMap<String, String>,
}

/// What the upload phase did.
enum Upload {
    Done,
    /// The modules' re-check found the content deployed: the registered job is abandoned.
    AlreadyDeployed,
    /// Register a new Architect job (the presigned URL expired while the step waited).
    Renew,
}

/// What the protocol ended with.
enum Deployed {
    Flow(String),
    Already,
}

impl StepTask {
    /// Runs the step and records how it ended (a failure is written here; a withdrawn step
    /// is left to the job loop).
    pub(super) async fn run(mut self) -> StepEnd {
        let started = Instant::now();
        let end = match self.phases().await {
            Ok(Ran::Deployed) => StepEnd::Succeeded,
            Ok(Ran::AlreadyDeployed) => StepEnd::AlreadyDeployed,
            Err(Stop::Interrupted) => StepEnd::Interrupted,
            Err(Stop::Withdrawn) => {
                // Not an end: the job loop records it skipped or cancelled (and counts it).
                tracing::info!(job_id = %self.step.job_id, idx = self.step.idx, "a module did not succeed or the job was cancelled: its registered Architect job is abandoned");
                return StepEnd::Withdrawn;
            }
            Err(Stop::Failed(error)) => self.failed(&error).await,
        };
        let outcome = match end {
            StepEnd::Succeeded => "succeeded",
            StepEnd::AlreadyDeployed => "unchanged",
            StepEnd::Failed => "failed",
            StepEnd::Interrupted | StepEnd::Withdrawn => "interrupted",
        };
        let (target, action) = (self.lease.target.as_str(), self.step.action);
        self.worker.count(target, action, outcome);
        metrics::histogram!(crate::metrics::names::STEP_DURATION, "target" => target.to_owned(), "action" => action.as_str())
            .record(started.elapsed().as_secs_f64());
        tracing::info!(
            outcome,
            duration_ms = started.elapsed().as_millis() as u64,
            "step ended"
        );
        self.worker.inner.signals.notify();
        end
    }

    async fn failed(&self, error: &StepError) -> StepEnd {
        let step = &self.step;
        tracing::warn!(job_id = %step.job_id, idx = step.idx, flow = %step.flow_name, error = %error.to_json(), "step failed");
        let ended = self
            .worker
            .persist(&self.token, || {
                self.lease.step_ended(step.idx, StepState::Failed, error)
            })
            .await;
        match ended {
            Ok(()) => StepEnd::Failed,
            Err(_) => StepEnd::Interrupted,
        }
    }

    /// The phases of the step, in order.
    async fn phases(&mut self) -> Result<Ran, Stop> {
        if self.start().await? == StepStart::AlreadyDeployed {
            return Ok(Ran::AlreadyDeployed);
        }
        let ctx: StepContext = self
            .step
            .decode("context", &self.step.context)
            .map_err(corrupt_row)?;
        if self.step.action == Action::Delete {
            return self.delete(&ctx).await;
        }
        if self.step.action == Action::Adopt {
            return self.adopt(&ctx).await;
        }
        self.respect_lock(&ctx).await?;
        let prepared = self.prepare(ctx).await?;
        match self.deploy(&prepared.compiled).await? {
            Deployed::Flow(flow_id) => self.publish(prepared, flow_id).await,
            Deployed::Already => Ok(Ran::AlreadyDeployed),
        }
    }

    /// Checkpoint `running`, unless an earlier job already deployed this content.
    async fn start(&self) -> Result<StepStart, Stop> {
        let (job_id, idx) = (self.step.job_id.as_str(), self.step.idx);
        let start = self
            .worker
            .persist(&self.token, || self.lease.step_started(idx))
            .await?;
        match start {
            StepStart::Started => self.worker.inner.signals.notify(),
            StepStart::AlreadyDeployed => {
                tracing::info!(job_id, idx, flow = %self.step.flow_name, "an earlier job already deployed this content; nothing to do");
            }
        }
        Ok(start)
    }

    /// Compiles the step again, now with queue names and run-time module names.
    async fn prepare(&self, ctx: StepContext) -> Result<Prepared, Stop> {
        let flow = self.instantiate(&ctx).await?;
        let queue_names = self.queue_names(&flow).await?;
        let resolved = self.resolve_modules(&ctx).await?;
        let compiled =
            plan::compile_step(&flow, &self.step.flow_name, &ctx, &queue_names, &resolved)
                .map_err(|e| Stop::Failed(compile_error(&e)))?;
        Ok(Prepared {
            ctx,
            flow,
            compiled,
            resolved,
        })
    }

    /// The step's template version with its parameters, validated again.
    async fn instantiate(&self, ctx: &StepContext) -> Result<Flow, Stop> {
        let step = &self.step;
        let (name, version) = (&step.template_name, step.template_version);
        let text = self
            .worker
            .inner
            .store
            .template_document(name, version)
            .await
            .map_err(super::db)?
            .ok_or_else(|| {
                Stop::Failed(StepError::TemplateMissing {
                    message: format!("template '{name}' version {version} is gone"),
                })
            })?;
        let doc =
            crate::store::decode_template_document(name, version, &text).map_err(corrupt_row)?;
        let params = step.params().map_err(corrupt_row)?;
        let (flow, _) = plan::prepare(&doc, &params, ctx).map_err(|findings| {
            Stop::Failed(StepError::InvalidTemplate {
                message: "the template no longer validates with these parameters".to_owned(),
                findings: findings
                    .iter()
                    .map(|f| serde_json::to_value(f).unwrap_or(Value::Null))
                    .collect(),
            })
        })?;
        Ok(flow)
    }

    /// The names of the queues the flow routes to, by id (looked up once per job).
    async fn queue_names(&self, flow: &Flow) -> Result<BTreeMap<String, String>, Stop> {
        let mut queue_names = BTreeMap::new();
        for qid in plan::queue_ids(flow) {
            let mut cache = self.queues.lock().await;
            let name = match cache.get(&qid) {
                Some(n) => n.clone(),
                None => {
                    self.starting.requesting();
                    let client = &self.client;
                    let n = self
                        .worker
                        .call(&self.token, || client.queue_name(&qid))
                        .await?;
                    cache.insert(qid.clone(), n.clone());
                    n
                }
            };
            let Some(n) = name else {
                let target = &self.lease.target;
                return Err(Stop::Failed(StepError::UnknownQueue {
                    message: format!("queue id '{qid}' does not exist in target '{target}'"),
                }));
            };
            queue_names.insert(qid, n);
        }
        Ok(queue_names)
    }

    /// The org names of the modules the step calls by flow id: each must be a published
    /// common module.
    async fn resolve_modules(&self, ctx: &StepContext) -> Result<BTreeMap<String, String>, Stop> {
        let (client, target) = (&self.client, &self.lease.target);
        let mut resolved = BTreeMap::new();
        for fid in plan::module_ids(ctx) {
            self.starting.requesting();
            let info = self.worker.call(&self.token, || client.flow(&fid)).await?;
            let f = match info {
                Some(f)
                    if f.flow_type.eq_ignore_ascii_case("COMMONMODULE")
                        && f.published_version.is_some() =>
                {
                    f
                }
                Some(f) => {
                    let published = if f.published_version.is_some() {
                        "published"
                    } else {
                        "unpublished"
                    };
                    return Err(Stop::Failed(StepError::ModuleNotUsable {
                        message: format!(
                            "flow id '{fid}' is '{}' of type {} ({published}), not a published common module",
                            f.name, f.flow_type,
                        ),
                    }));
                }
                None => {
                    return Err(Stop::Failed(StepError::ModuleNotFound {
                        message: format!("flow id '{fid}' does not exist in target '{target}'"),
                    }));
                }
            };
            resolved.insert(fid, f.name);
        }
        Ok(resolved)
    }

    /// The Architect job protocol: register, upload, poll; a resumed step whose upload was
    /// checkpointed polls its known job. Failed jobs hit by a backend rate limit, and jobs
    /// lost (unknown, or never uploaded), are registered again, a bounded number of times.
    async fn deploy(&mut self, compiled: &Compiled) -> Result<Deployed, Stop> {
        let (job_id, idx) = (self.step.job_id.clone(), self.step.idx);
        let mut resume = (self.step.uploaded_at.is_some() && self.step.state == StepState::Running)
            .then(|| self.step.genesys_job_id.clone())
            .flatten();
        let (mut rate_retries, mut renewals) = (0, 0);
        let max_renewals = self.worker.inner.opts.max_call_attempts;
        loop {
            // A resumed job's age is unknown: it neither uses nor teaches the learnt wait.
            let (gid, fresh) = match resume.take() {
                Some(gid) => {
                    tracing::info!(job_id, idx, genesys_job_id = %gid, "resuming: polling the known Architect job");
                    (gid, false)
                }
                None => {
                    let reg = self.register(compiled).await?;
                    match self.upload(&reg, compiled, &mut renewals).await? {
                        Upload::Done => (reg.id, true),
                        Upload::AlreadyDeployed => return Ok(Deployed::Already),
                        Upload::Renew => continue,
                    }
                }
            };
            let polled = match self.poll(&gid, fresh).await? {
                Polled::Failure(m) if lost_to_a_restart(&m) => Polled::Renew(format!(
                    "the org lost Architect job {gid} when it restarted"
                )),
                other => other,
            };
            match polled {
                Polled::Success(Some(fid)) => return Ok(Deployed::Flow(fid)),
                Polled::Success(None) => {
                    return Err(Stop::Failed(StepError::GenesysProtocol {
                        message: format!("Architect job {gid} succeeded without a flow id"),
                    }));
                }
                Polled::Failure(messages) => {
                    self.after_failure(gid, messages, &mut rate_retries).await?;
                }
                Polled::Renew(why) => {
                    renewals += 1;
                    if renewals > max_renewals {
                        return Err(Stop::Failed(StepError::ArchitectJobLost { message: why }));
                    }
                    tracing::warn!(job_id, idx, genesys_job_id = %gid, why, "registering a new Architect job");
                    self.note_renewal(&why, renewals, max_renewals).await?;
                }
                Polled::TimedOut => {
                    let within = self.worker.inner.opts.job_timeout;
                    return Err(Stop::Failed(StepError::Timeout {
                        message: format!("Architect job {gid} did not finish within {within:?}"),
                        genesys_job_id: gid,
                    }));
                }
            }
        }
    }

    /// Notes on the step that a lost Architect job is being registered again (the same
    /// content: nothing for the user to do, but worth seeing).
    async fn note_renewal(&self, why: &str, renewal: u32, max: u32) -> Result<(), Stop> {
        let note = json!({
            "kind": "architect_job_renewed",
            "message": format!("{why}; flowsmith registered a new Architect job and uploaded the same YAML again ({renewal} of at most {max})"),
        });
        self.worker
            .persist(&self.token, || self.lease.step_note(self.step.idx, &note))
            .await?;
        Ok(())
    }

    /// Register phase: a new Architect job, checkpointed with the YAML it will get.
    async fn register(&self, compiled: &Compiled) -> Result<RegisteredJob, Stop> {
        let urgency = self.waits.urgency();
        let client = &self.client;
        self.starting.requesting();
        let reg = self
            .worker
            .call(&self.token, || client.register_job_at(urgency.clone()))
            .await?;
        let (yaml, hash) = (&compiled.yaml, &compiled.content_hash);
        self.worker
            .persist(&self.token, || {
                self.lease
                    .step_registered(self.step.idx, &reg.id, yaml, hash)
            })
            .await?;
        self.worker.inner.signals.notify();
        Ok(reg)
    }

    /// Upload phase: once the modules it calls succeeded (and, when it waited for them, the
    /// content is still not deployed), `PUT` the YAML and checkpoint it.
    async fn upload(
        &mut self,
        reg: &RegisteredJob,
        compiled: &Compiled,
        renewals: &mut u32,
    ) -> Result<Upload, Stop> {
        let (job_id, idx) = (self.step.job_id.as_str(), self.step.idx);
        let waited = self.waits.until_ready(job_id, idx, &self.token).await?;
        if !self.waits.deps.is_empty() {
            // Identical jobs queued together all plan to publish; the modules' own
            // re-checks have now told whether this one's content is live.
            let lease = &self.lease;
            let check = self
                .worker
                .persist(&self.token, || lease.step_rechecked(idx))
                .await?;
            if check == StepStart::AlreadyDeployed {
                tracing::info!(job_id, idx, genesys_job_id = %reg.id, "its modules unchanged, an earlier job already deployed this content; the registered Architect job is abandoned");
                return Ok(Upload::AlreadyDeployed);
            }
        }
        let client = &self.client;
        match self
            .worker
            .call(&self.token, || client.upload(reg, &compiled.yaml))
            .await
        {
            Ok(()) => {}
            // A presigned URL may expire while the step waits for its modules; a fresh
            // registration gets a new one.
            Err(Stop::Failed(e @ StepError::GenesysApi { status: 403, .. })) if waited => {
                *renewals += 1;
                if *renewals > self.worker.inner.opts.max_call_attempts {
                    return Err(Stop::Failed(e));
                }
                tracing::warn!(job_id, idx, genesys_job_id = %reg.id, "the upload of a pre-registered Architect job was refused; registering a new one");
                return Ok(Upload::Renew);
            }
            Err(e) => return Err(e),
        }
        self.worker
            .persist(&self.token, || self.lease.step_uploaded(idx))
            .await?;
        Ok(Upload::Done)
    }

    /// Poll phase: until the Architect job ends.
    async fn poll(&self, gid: &str, fresh: bool) -> Result<Polled, Stop> {
        let poll = Poll {
            target: &self.lease.target,
            client: &self.client,
            gid,
            since: Instant::now(),
            fresh,
            awaited: self.awaited,
        };
        self.worker.poll(&poll, &self.token).await
    }

    /// A failed Architect job: registered again after a backend rate limit (exit code 107),
    /// with a doubling pause, a bounded number of times; otherwise the step fails with its
    /// messages.
    async fn after_failure(
        &self,
        gid: String,
        messages: Vec<Value>,
        rate_retries: &mut u32,
    ) -> Result<(), Stop> {
        let opts = &self.worker.inner.opts;
        let texts: Vec<&str> = messages.iter().filter_map(|m| m["text"].as_str()).collect();
        let rate_limited = texts.iter().any(|t| t.contains("exit code: 107"));
        if rate_limited && *rate_retries < opts.max_rate_limit_retries {
            let wait = opts.retry_backoff * 2u32.pow(*rate_retries);
            *rate_retries += 1;
            let (job_id, idx) = (self.step.job_id.as_str(), self.step.idx);
            tracing::warn!(job_id, idx, genesys_job_id = %gid, retry = *rate_retries, "Architect job hit a backend rate limit; registering again");
            return super::sleep_or_stop(wait, &self.token).await;
        }
        let message = if texts.is_empty() {
            "the Architect job failed without messages".to_owned()
        } else {
            texts.join("\n")
        };
        Err(Stop::Failed(StepError::ArchitectJobFailed {
            message,
            messages,
            genesys_job_id: gid,
            retries: *rate_retries,
        }))
    }

    /// Publish phase: the step's result and its flow record, in one transaction. The
    /// published version is read later, in a batch with the job's other steps.
    async fn publish(&self, p: Prepared, flow_id: String) -> Result<Ran, Stop> {
        let step = &self.step;
        let module_interface = (p.ctx.as_type == FlowType::Module).then(|| {
            let t = ModuleTarget::of(&p.flow, &step.flow_name);
            let io = ModuleIo {
                inputs: t.inputs,
                outputs: t.outputs,
            };
            serde_json::to_string(&io).unwrap_or_default()
        });
        let calls = plan::called_flow_names(&p.ctx, &p.resolved);
        let record = FlowRecordRow {
            target: self.lease.target.clone(),
            name: step.flow_name.clone(),
            flow_type: p.ctx.as_type,
            flow_id: Some(flow_id.clone()),
            template_name: step.template_name.clone(),
            template_version: step.template_version,
            content_hash: p.compiled.content_hash.clone(),
            plan_hash: step.plan_hash.clone(),
            published_version: None,
            yaml: p.compiled.yaml.clone(),
            params: step.params.clone(),
            module_interface,
            calls: serde_json::to_string(&calls).unwrap_or_default(),
            job_id: Some(step.job_id.clone()),
            updated_at: crate::store::now(),
        };
        let ok = StepSuccess {
            flow_id,
            published_version: None,
            yaml: p.compiled.yaml,
            content_hash: p.compiled.content_hash,
        };
        self.worker
            .persist(&self.token, || {
                self.lease.step_succeeded(step.idx, &ok, &record)
            })
            .await?;
        Ok(Ran::Deployed)
    }

    /// A delete step: once the steps it waits for (the callers' deletes) succeeded,
    /// `DELETE /api/v2/flows/{id}` (a flow already gone is fine) and the record removed.
    async fn delete(&mut self, ctx: &StepContext) -> Result<Ran, Stop> {
        let (job_id, idx) = (self.step.job_id.as_str(), self.step.idx);
        // Waiting for the callers' deletes is not starting: the loop may start others.
        self.starting.requesting();
        self.waits.until_ready(job_id, idx, &self.token).await?;
        let mut note = None;
        if let Some(id) = ctx.org_flow_id.as_deref() {
            self.respect_lock(ctx).await?;
            let client = &self.client;
            if !self
                .worker
                .call(&self.token, || client.delete_flow(id))
                .await?
            {
                note = Some(json!({
                    "kind": "already_deleted",
                    "message": format!("flow '{}' ({id}) was already gone from the org; its record was removed", self.step.flow_name),
                }));
            }
        }
        let name = &self.step.flow_name;
        self.worker
            .persist(&self.token, || {
                self.lease.step_deleted(idx, name, note.as_ref())
            })
            .await?;
        Ok(Ran::Deployed)
    }
}

/// What a step waits for before its upload: its dependencies' success.
pub(super) struct Waits {
    pub gate: tokio::sync::watch::Receiver<Gate>,
    pub deps: Vec<usize>,
}

impl Waits {
    /// True while a dependency has not ended: a registration now is ahead of its upload.
    fn ahead(&self) -> bool {
        self.gate.borrow().verdict(&self.deps).is_none()
    }

    /// The registration's place in the limiter: registered ahead of its modules, it yields
    /// to every other request (a poll telling that a module succeeded above all) until they
    /// succeed; from then on its job's clock can start, and it goes before the polls.
    fn urgency(&self) -> Urgency {
        if !self.ahead() {
            return Priority::High.into();
        }
        let (gate, deps) = (self.gate.clone(), self.deps.clone());
        Urgency::Rising(Arc::new(move || {
            if gate.borrow().verdict(&deps) == Some(true) {
                Priority::High
            } else {
                Priority::Low
            }
        }))
    }

    /// Returns once every dependency succeeded (true when it had to wait);
    /// [`Stop::Withdrawn`] when one ended otherwise or the job was cancelled.
    pub(super) async fn until_ready(
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

/// What the sandbox org says of an Architect job it was running when it stopped (its
/// `INTERRUPTED_JOB`): the upload is gone, as with a job Genesys no longer knows (404).
const LOST_JOB_SAYS: &str = "restarted while this job ran";

/// Whether a failed Architect job's messages say only that the org lost it to a restart:
/// the same content registered again will do.
fn lost_to_a_restart(messages: &[Value]) -> bool {
    !messages.is_empty()
        && messages.iter().all(|m| {
            m["text"]
                .as_str()
                .is_some_and(|t| t.contains(LOST_JOB_SAYS))
        })
}

/// A stored value of the step that does not read back.
pub(super) fn corrupt_row(e: Corrupt) -> Stop {
    Stop::Failed(StepError::CorruptRow {
        message: e.to_string(),
    })
}

/// A compile error as a step error: its kind is the error's code.
fn compile_error(e: &CompileError) -> StepError {
    let message = e.to_string();
    match e {
        CompileError::NameCollision { .. } => StepError::NameCollision { message },
        CompileError::UnresolvedModuleId { .. } => StepError::ModuleIdUnresolved { message },
        CompileError::UnknownNode { .. } => StepError::UnknownNode { message },
        CompileError::ModuleCallsModule { .. } => StepError::ModuleCallsModule { message },
        CompileError::NotStructurable { .. } => StepError::ModuleNotStructurable { message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_job_lost_to_a_restart_is_registered_again() {
        let lost = json!({"type": "Error", "text": "The sandbox restarted while this job ran; register a new job."});
        let real = json!({"type": "Error", "text": "Flow validation failed"});
        assert!(lost_to_a_restart(std::slice::from_ref(&lost)));
        assert!(!lost_to_a_restart(&[lost, real.clone()]));
        assert!(!lost_to_a_restart(&[real]));
        assert!(!lost_to_a_restart(&[]));
    }
}
