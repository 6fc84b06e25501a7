//! What the jobs layer shares between its use cases, the worker and the API: the Genesys
//! clients per target, the signals that wake event followers and the worker, and the
//! worker's liveness. A leaf: it imports nothing from the jobs layer.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// One Genesys client per target, shared by the worker and the use cases that read the org
/// (one rate limiter and one token per target).
pub type Clients = Arc<std::collections::BTreeMap<String, Arc<crate::genesys::GenesysClient>>>;

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
