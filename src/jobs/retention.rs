//! The background pruning of old job details (`retention_days`): a pass at start-up and
//! then every hour, a batch at a time, stopping at shutdown. Requests never wait for it
//! beyond one job's transaction.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::store::Store;
use crate::store::retention::Pruned;

/// Time between pruning passes.
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);

/// The cut-off of a retention of `days`, from `now`: finished before it is pruned.
pub fn cutoff(now: chrono::DateTime<chrono::Utc>, days: u64) -> String {
    let days = i64::try_from(days).unwrap_or(i64::MAX / 86_400_000);
    let back = chrono::Duration::try_days(days).unwrap_or(chrono::Duration::MAX);
    now.checked_sub_signed(back)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Prunes everything that finished before `cutoff`, a batch at a time, until nothing is
/// left or `shutdown` is cancelled.
pub async fn prune(
    store: &Store,
    cutoff: &str,
    shutdown: &CancellationToken,
) -> Result<Pruned, sqlx::Error> {
    let mut total = Pruned::default();
    while !shutdown.is_cancelled() {
        let p = store.prune_batch(cutoff).await?;
        if p.jobs == 0 {
            break;
        }
        total.jobs += p.jobs;
        total.steps += p.steps;
        total.events += p.events;
        // Requests' writes queue behind the pruning ones; let them go first.
        tokio::task::yield_now().await;
    }
    Ok(total)
}

/// Prunes details older than `days` now and every [`PRUNE_INTERVAL`], until `shutdown`.
pub async fn prune_periodically(store: Store, days: u64, shutdown: CancellationToken) {
    loop {
        let before = cutoff(chrono::Utc::now(), days);
        match prune(&store, &before, &shutdown).await {
            Ok(p) if p.jobs > 0 => tracing::info!(
                jobs = p.jobs,
                steps = p.steps,
                events = p.events,
                before = %before,
                "pruned old job details (retention_days)"
            ),
            Ok(_) => {}
            // A database fault passes; the next pass carries on where this one stopped.
            Err(e) => tracing::warn!(error = %e, "pruning old job details failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(PRUNE_INTERVAL) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cutoff_is_the_retention_before_now() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-06T10:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(cutoff(now, 90), "2026-09-07T10:00:00.000Z");
        assert_eq!(cutoff(now, 0), "2026-12-06T10:00:00.000Z");
        assert!(
            cutoff(now, u64::MAX).starts_with('-'),
            "{}",
            cutoff(now, u64::MAX)
        );
    }
}
