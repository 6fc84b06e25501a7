//! The worker's options: its defaults, with the timing the settings give
//! (`config::WorkerSettings`: `[worker]`, `FLOWSMITH_LEASE_SECS`, ...).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::WorkerSettings;

/// How the worker runs. [`WorkerOptions::from_settings`] applies the settings' timing to the
/// defaults; tests set fields directly.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Identifies this process in `lease_owner`.
    pub owner: String,
    /// How long a claim holds without a heartbeat.
    pub lease: Duration,
    /// How often the lease is extended (well under `lease`).
    pub heartbeat: Duration,
    /// How often an idle worker looks for jobs.
    pub poll_interval: Duration,
    /// First wait before polling a Genesys job (when no duration was learnt yet). Every
    /// poll counts against the rate limit and Architect jobs take seconds, so not shorter.
    pub first_poll: Duration,
    /// Growth of the polling interval.
    pub poll_factor: f64,
    /// Longest polling interval.
    pub max_poll: Duration,
    /// Give up on a Genesys job after this long.
    pub job_timeout: Duration,
    /// A resumed step whose Genesys job stays `Registered` this long registers a new one.
    pub registered_timeout: Duration,
    /// Re-registrations of a step's Architect job that was lost (unknown, or never got its
    /// upload) or whose pre-registered upload was refused. (A Genesys call itself is
    /// retried by the client's `RetryPolicy` only, not again by the worker.)
    pub max_call_attempts: u32,
    /// Re-registrations after an Architect job failed with a backend rate limit (exit code 107).
    pub max_rate_limit_retries: u32,
    /// First backoff of those retries (doubles each time).
    pub retry_backoff: Duration,
    /// Caps on the steps of one job in flight, per target; a target not listed has as many
    /// as keep its rate limiter busy (`schedule::slots`).
    pub concurrency: BTreeMap<String, usize>,
    /// First pause before a job write the database refused (disk full, ...) is tried again;
    /// it doubles up to `store_retry_max`.
    pub store_retry_first: Duration,
    pub store_retry_max: Duration,
    /// How long a step with `on_locked: wait` waits for someone else's lock to go.
    pub lock_wait: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            owner: format!("flowsmith-{}", uuid::Uuid::new_v4()),
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(10),
            poll_interval: Duration::from_millis(500),
            first_poll: Duration::from_secs(1),
            poll_factor: 1.5,
            max_poll: Duration::from_secs(3),
            job_timeout: Duration::from_secs(16 * 60),
            registered_timeout: Duration::from_secs(60),
            max_call_attempts: 3,
            max_rate_limit_retries: 3,
            retry_backoff: Duration::from_secs(2),
            concurrency: BTreeMap::new(),
            store_retry_first: Duration::from_millis(100),
            store_retry_max: Duration::from_secs(5),
            lock_wait: Duration::from_secs(120),
        }
    }
}

impl WorkerOptions {
    /// The defaults, with the timing the settings give (checked positive by `Settings`).
    pub fn from_settings(w: &WorkerSettings) -> Self {
        let mut o = WorkerOptions::default();
        if let Some(s) = w.lease_secs {
            o.lease = Duration::from_secs(s);
            o.heartbeat = o.heartbeat.min(o.lease / 3);
        }
        if let Some(s) = w.heartbeat_secs {
            o.heartbeat = Duration::from_secs(s);
        }
        if let Some(ms) = w.poll_ms {
            o.poll_interval = Duration::from_millis(ms);
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_from_settings() {
        let o = WorkerOptions::from_settings(&WorkerSettings {
            lease_secs: Some(6),
            poll_ms: Some(50),
            ..Default::default()
        });
        assert_eq!(o.lease, Duration::from_secs(6));
        assert_eq!(o.heartbeat, Duration::from_secs(2));
        assert_eq!(o.poll_interval, Duration::from_millis(50));
    }
}
