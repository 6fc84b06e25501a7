//! Cancelling and retrying a job (`POST /v1/jobs/{id}/cancel`, `/retry`): the store's
//! transition, then what the rest of the service must learn of it (event followers, the
//! worker, the job counter).

use super::model::JobStatus;
use super::signals::Signals;
use crate::store::{CancelOutcome, RetryOutcome, Store};

/// Why a job could not be cancelled or retried.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("no job with id {0:?}")]
    NotFound(String),
    /// The job's status does not allow it (409).
    #[error("job {id} is {status}: {why}")]
    Conflict {
        id: String,
        status: JobStatus,
        why: &'static str,
    },
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

/// What [`cancel`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancelled {
    /// The job was queued and is now cancelled.
    Now,
    /// The job is running: no new step starts; it ends cancelled.
    Requested,
}

/// Cancels a queued job at once, or asks the worker running it to stop starting steps.
pub async fn cancel(store: &Store, signals: &Signals, id: &str) -> Result<Cancelled, ControlError> {
    let outcome = match store.cancel_job(id).await? {
        CancelOutcome::NotFound => return Err(ControlError::NotFound(id.to_owned())),
        CancelOutcome::Terminal(status) => {
            return Err(ControlError::Conflict {
                id: id.to_owned(),
                status,
                why: "there is nothing to cancel",
            });
        }
        CancelOutcome::Cancelled => Cancelled::Now,
        CancelOutcome::Requested => Cancelled::Requested,
    };
    signals.notify();
    if outcome == Cancelled::Now
        && let Some(job) = store.job(id).await?
    {
        crate::metrics::count_job(&job.target, JobStatus::Cancelled);
    }
    Ok(outcome)
}

/// Queues a failed or cancelled job again: its failed, skipped and cancelled steps run again.
pub async fn retry(store: &Store, signals: &Signals, id: &str) -> Result<(), ControlError> {
    match store.retry_job(id).await? {
        RetryOutcome::NotFound => Err(ControlError::NotFound(id.to_owned())),
        RetryOutcome::NotApplicable(status) => Err(ControlError::Conflict {
            id: id.to_owned(),
            status,
            why: "only failed or cancelled jobs (not dry runs) can be retried",
        }),
        RetryOutcome::Requeued => {
            signals.job_queued();
            Ok(())
        }
    }
}
