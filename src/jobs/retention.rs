//! The background pruning of old job details (`retention_days`): a pass at start-up and
//! then every hour, in batches of `retention_batch_jobs` with a pause of
//! `retention_pause_ms` after each, stopping at shutdown. A request's write waits at most
//! one job's transaction behind it, and between batches requests have the database (and,
//! on a small machine, the CPU) to themselves: the first pass over a year of history is
//! long, and must not be what every request waits on meanwhile.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::Settings;
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

/// How a pass goes: jobs per batch, and the pause after each batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    /// Jobs per batch (at least 1).
    pub batch_jobs: u32,
    /// Pause after a batch when more are left.
    pub pause: Duration,
}

impl Pacing {
    /// The pacing `retention_batch_jobs` and `retention_pause_ms` set.
    pub fn of(s: &Settings) -> Pacing {
        Pacing {
            batch_jobs: u32::try_from(s.retention_batch_jobs)
                .unwrap_or(u32::MAX)
                .max(1),
            pause: Duration::from_millis(s.retention_pause_ms),
        }
    }
}

impl Default for Pacing {
    /// The service's defaults.
    fn default() -> Self {
        Pacing::of(&Settings::default())
    }
}

/// Prunes everything that finished before `cutoff`, a batch at a time with `pacing`'s
/// pause between batches, until nothing is left or `shutdown` is cancelled.
pub async fn prune(
    store: &Store,
    cutoff: &str,
    pacing: Pacing,
    shutdown: &CancellationToken,
) -> Result<Pruned, sqlx::Error> {
    let mut total = Pruned::default();
    while !shutdown.is_cancelled() {
        let batch = store.prune_batch(cutoff, pacing.batch_jobs).await?;
        total.jobs += batch.pruned.jobs;
        total.steps += batch.pruned.steps;
        total.events += batch.pruned.events;
        if batch.chosen < pacing.batch_jobs as usize {
            break;
        }
        tokio::select! {
            () = tokio::time::sleep(pacing.pause) => {}
            () = shutdown.cancelled() => break,
        }
    }
    Ok(total)
}

/// Prunes details older than `days` now and every [`PRUNE_INTERVAL`], until `shutdown`.
pub async fn prune_periodically(
    store: Store,
    days: u64,
    pacing: Pacing,
    shutdown: CancellationToken,
) {
    loop {
        let before = cutoff(chrono::Utc::now(), days);
        match prune(&store, &before, pacing, &shutdown).await {
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
    fn the_pacing_is_the_settings_with_at_least_one_job_a_batch() {
        let d = Pacing::default();
        assert_eq!((d.batch_jobs, d.pause), (50, Duration::from_millis(250)));
        let s = Settings {
            retention_batch_jobs: 0,
            retention_pause_ms: 5,
            ..Settings::default()
        };
        assert_eq!(
            Pacing::of(&s),
            Pacing {
                batch_jobs: 1,
                pause: Duration::from_millis(5)
            }
        );
        let huge = Settings {
            retention_batch_jobs: u64::MAX,
            ..Settings::default()
        };
        assert_eq!(Pacing::of(&huge).batch_jobs, u32::MAX);
    }

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
