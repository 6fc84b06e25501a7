//! Provisioning jobs: the use cases the API calls, the pure rules they apply, and the
//! crash-safe worker.
//!
//! - Use cases: [`create`] (`POST /v1/jobs`: idempotency, then [`submit`]: read the org,
//!   plan, store), [`control`] (cancel, retry), [`releases`] (drift, history, rollback,
//!   retiring flows).
//! - Rules, pure and unit-tested: [`model`] (statuses, states, actions and their text),
//!   [`plan`] (what a request does to each flow, in which order), [`preflight`] (the org
//!   objects a job needs).
//! - The worker ([`worker`]) runs a claimed job under a [`crate::store::Lease`].

pub mod control;
pub mod create;
pub mod model;
pub mod plan;
pub mod preflight;
pub mod releases;
pub mod replica_events;
pub mod submit;
pub mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

pub use create::{IdempotencyKey, Submitted};
pub use model::{Action, Corrupt, JobStatus, StepState};
pub use plan::{FlowRequest, JobRequest};
pub use submit::{Submit, SubmitError};

/// One Genesys client per target, shared by the worker and the use cases that read the org
/// (one rate limiter and one token per target).
pub type Clients = Arc<std::collections::BTreeMap<String, Arc<crate::genesys::GenesysClient>>>;
pub use worker::{Outcome, Worker, WorkerOptions};

/// Tells event followers (SSE streams) that some job's events changed. A `watch` channel:
/// a follower that marks the value seen before reading the table never misses a change.
/// Also wakes the worker when a job is queued, so a new job is claimed at once rather than
/// at the worker's next look.
#[derive(Clone, Debug)]
pub struct Signals {
    tx: Arc<tokio::sync::watch::Sender<u64>>,
    queued: Arc<tokio::sync::Notify>,
}

impl Default for Signals {
    fn default() -> Self {
        Signals {
            tx: Arc::new(tokio::sync::watch::channel(0).0),
            queued: Arc::new(tokio::sync::Notify::new()),
        }
    }
}

impl Signals {
    pub fn notify(&self) {
        self.tx.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// A job was queued (created or retried): [`Signals::notify`], and wake the worker.
    pub fn job_queued(&self) {
        self.notify();
        self.queued.notify_one();
    }

    /// Resolves at the next [`Signals::job_queued`] (or at once if one came unawaited).
    pub async fn queued(&self) {
        self.queued.notified().await;
    }

    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.tx.subscribe()
    }
}

/// When the worker loop last went round (milliseconds since the epoch; 0 = not started),
/// for `/readyz`.
#[derive(Clone, Debug, Default)]
pub struct Liveness(Arc<AtomicI64>);

impl Liveness {
    pub fn beat(&self) {
        self.0
            .store(chrono::Utc::now().timestamp_millis(), Ordering::Relaxed);
    }

    /// Milliseconds since the last beat, `None` if the worker never ran.
    pub fn age_ms(&self) -> Option<i64> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            t => Some(chrono::Utc::now().timestamp_millis() - t),
        }
    }
}
