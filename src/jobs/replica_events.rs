//! Job events from the other replicas (PostgreSQL only).
//!
//! [`Signals`] fans events out inside one process. Replicas on one PostgreSQL database hear
//! each other through `LISTEN/NOTIFY`: triggers (`migrations/postgres/0006_notify.sql`)
//! notify [`JOB_EVENTS_CHANNEL`] when a job event is stored or a job's status changes, and
//! [`JOBS_QUEUED_CHANNEL`] when a job becomes queued or stops running (which may free its
//! target for a queued one). Every replica runs [`forward`], which turns those
//! notifications into [`Signals::notify`] and [`Signals::job_queued`]: an SSE stream on
//! replica B follows a job that replica A runs, and B's worker wakes for a job queued on A.
//!
//! Notifications are not stored: those sent while the listening connection is down are
//! lost. So after every reconnect [`forward`] signals once, and every follower re-reads
//! the tables (they hold the truth; a signal only says "look again").

use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

use super::signals::Signals;

/// Payload: the job's id.
pub const JOB_EVENTS_CHANNEL: &str = "flowsmith_job_events";
/// Payload: empty.
pub const JOBS_QUEUED_CHANNEL: &str = "flowsmith_jobs_queued";

/// What one notification means for this replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Followers look again.
    Followers,
    /// Followers look again, and the worker looks for a job to claim.
    Worker,
}

/// The meaning of a notification on `channel` (`None`: not ours).
pub fn wake_for(channel: &str) -> Option<Wake> {
    match channel {
        JOB_EVENTS_CHANNEL => Some(Wake::Followers),
        JOBS_QUEUED_CHANNEL => Some(Wake::Worker),
        _ => None,
    }
}

fn signal(signals: &Signals, wake: Wake) {
    match wake {
        Wake::Followers => signals.notify(),
        Wake::Worker => signals.job_queued(),
    }
}

/// Listens on both channels of the database at `url` until `shutdown`, turning
/// notifications into `signals`. Connection failures are retried (100 ms, doubling to 5 s);
/// after each reconnect everything is signalled once.
pub async fn forward(url: String, signals: Signals, shutdown: CancellationToken) {
    let mut backoff = Backoff::default();
    loop {
        let connected = tokio::select! {
            r = listen(&url) => r,
            () = shutdown.cancelled() => return,
        };
        let mut listener = match connected {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for other replicas' job events; retrying");
                tokio::select! {
                    () = tokio::time::sleep(backoff.next()) => continue,
                    () = shutdown.cancelled() => return,
                }
            }
        };
        tracing::debug!("listening for other replicas' job events");
        // Anything sent before the LISTEN took effect (at start-up, or while reconnecting).
        signal(&signals, Wake::Worker);
        loop {
            let next = tokio::select! {
                r = listener.try_recv() => r,
                () = shutdown.cancelled() => return,
            };
            match next {
                Ok(Some(n)) => {
                    backoff = Backoff::default();
                    if let Some(wake) = wake_for(n.channel()) {
                        signal(&signals, wake);
                    }
                }
                // Lost and already reconnected (sqlx's eager reconnect): what was sent
                // meanwhile is gone, so everyone looks again.
                Ok(None) => {
                    tracing::warn!("the job events connection was lost and re-established");
                    signal(&signals, Wake::Worker);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the job events connection failed; reconnecting");
                    tokio::select! {
                        () = tokio::time::sleep(backoff.next()) => break,
                        () = shutdown.cancelled() => return,
                    }
                }
            }
        }
    }
}

async fn listen(url: &str) -> Result<PgListener, sqlx::Error> {
    let mut l = PgListener::connect(url).await?;
    l.listen_all([JOB_EVENTS_CHANNEL, JOBS_QUEUED_CHANNEL])
        .await?;
    Ok(l)
}

/// Delays between reconnection attempts.
#[derive(Debug)]
struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Self {
        Backoff(Duration::from_millis(100))
    }
}

impl Backoff {
    fn next(&mut self) -> Duration {
        let d = self.0;
        self.0 = (self.0 * 2).min(Duration::from_secs(5));
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_wake_followers_or_the_worker() {
        assert_eq!(wake_for("flowsmith_job_events"), Some(Wake::Followers));
        assert_eq!(wake_for("flowsmith_jobs_queued"), Some(Wake::Worker));
        assert_eq!(wake_for("something_else"), None);
    }

    #[test]
    fn backoff_doubles_up_to_five_seconds() {
        let mut b = Backoff::default();
        let seq: Vec<u64> = (0..8).map(|_| b.next().as_millis() as u64).collect();
        assert_eq!(seq, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    }

    /// The migration's triggers notify the channels this module listens on.
    #[test]
    fn the_migration_notifies_the_channels_listened_on() {
        let sql = include_str!("../../migrations/postgres/0006_notify.sql");
        for channel in [JOB_EVENTS_CHANNEL, JOBS_QUEUED_CHANNEL] {
            assert!(sql.contains(&format!("'{channel}'")), "{channel}");
        }
    }
}
