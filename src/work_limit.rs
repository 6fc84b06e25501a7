//! CPU work of a request (decoding, validating, compiling, simulating), run on the blocking
//! pool under the request's work limit (`request_work_ms`), so the async workers keep
//! answering. A leaf: the API and the template use cases map its error to their own.

use std::time::Duration;

/// Why bounded work has no result.
#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    /// The blocking task panicked or was cancelled.
    #[error("{0}")]
    Failed(String),
    /// It ran past twice the limit.
    #[error("the work passed its limit of {} ms", .0.as_millis())]
    OverLimit(Duration),
}

/// Runs `work` on the blocking pool. The deadline is twice `limit`: work that checks the
/// deadline itself (the simulator) reports first; this is the backstop.
pub async fn run_bounded<T: Send + 'static>(
    limit: Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, WorkError> {
    match tokio::time::timeout(limit * 2, tokio::task::spawn_blocking(work)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(WorkError::Failed(e.to_string())),
        Err(_) => Err(WorkError::OverLimit(limit)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_answers_or_names_its_limit() {
        // Generous limits where the work must finish (a loaded machine may start the blocking
        // thread late); a short one where it must not.
        let ample = Duration::from_secs(30);
        assert_eq!(run_bounded(ample, || 7).await.unwrap(), 7);
        let limit = Duration::from_millis(10);
        let slow = run_bounded(limit, || std::thread::sleep(Duration::from_millis(200))).await;
        assert!(matches!(slow, Err(WorkError::OverLimit(l)) if l == limit));
        // A generous limit: printing the panic (and its backtrace) takes time of its own.
        let failed = run_bounded(ample, || panic!("boom")).await;
        assert!(matches!(failed, Err(WorkError::Failed(_))));
    }
}
