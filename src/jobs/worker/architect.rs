//! Polling an Architect job until it ends, and the first wait learnt per target (every poll
//! counts against the rate limit: the learnt wait aims at one poll per job).

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::{Stop, Worker, WorkerOptions, genesys_error, sleep_or_stop};
use crate::genesys::{GenesysClient, GenesysError, JobStatus as ArchitectJobStatus};

/// How an Architect job ended.
pub(super) enum Polled {
    Success(Option<String>),
    Failure(Vec<Value>),
    /// Register a new Architect job (this one is unknown or never got its upload).
    Renew(String),
    TimedOut,
}

/// One Architect job being polled.
pub(super) struct Poll<'a> {
    pub target: &'a str,
    pub client: &'a GenesysClient,
    /// The Genesys job id.
    pub gid: &'a str,
    /// When it was uploaded (or, resumed, when polling started).
    pub since: Instant,
    /// Uploaded by this step just now: it uses and teaches the learnt wait.
    pub fresh: bool,
}

/// What one poll answered: the job's end, or poll again.
enum Answer {
    Ended(Polled),
    Again,
}

impl Worker {
    /// Polls an Architect job until it ends. A freshly uploaded job first waits what this
    /// target's jobs were learnt to need ([`learnt_wait`]), so most jobs take one poll; a
    /// miss then polls again soon. Otherwise waits start at `first_poll` and grow by
    /// `poll_factor` up to `max_poll`.
    pub(super) async fn poll(
        &self,
        p: &Poll<'_>,
        token: &CancellationToken,
    ) -> Result<Polled, Stop> {
        let o = &self.inner.opts;
        let learnt = self.learnt(p.target).filter(|_| p.fresh);
        let mut wait = learnt.unwrap_or(o.first_poll);
        let (mut slept, mut polls) = (Duration::ZERO, 0u32);
        loop {
            sleep_or_stop(wait, token).await?;
            slept += wait;
            polls += 1;
            match self.poll_once(p, token).await? {
                Answer::Ended(Polled::Success(flow)) => {
                    if p.fresh {
                        self.learn(p.target, learnt.is_some(), polls, slept);
                    }
                    return Ok(Polled::Success(flow));
                }
                Answer::Ended(end) => return Ok(end),
                Answer::Again => {}
            }
            wait = match learnt {
                // The learnt wait just missed: the job is about to end.
                Some(_) if polls == 1 => o.first_poll,
                _ => next_wait(wait, o),
            };
        }
    }

    /// One `GET` of the Architect job, and what it says.
    async fn poll_once(&self, p: &Poll<'_>, token: &CancellationToken) -> Result<Answer, Stop> {
        let o = &self.inner.opts;
        let (gid, since) = (p.gid, p.since);
        let job = match tokio::select! {
            r = p.client.job(gid) => r,
            () = token.cancelled() => return Err(Stop::Interrupted),
        } {
            Ok(j) => j,
            Err(GenesysError::Api { status: 404, .. }) => {
                let why = format!("Genesys does not know Architect job {gid}");
                return Ok(Answer::Ended(Polled::Renew(why)));
            }
            Err(e) if e.is_retryable() => {
                tracing::warn!(error = %e, genesys_job_id = gid, "polling failed; will poll again");
                if since.elapsed() > o.job_timeout {
                    return Ok(Answer::Ended(Polled::TimedOut));
                }
                return Ok(Answer::Again);
            }
            Err(e) => return Err(Stop::Failed(genesys_error(&e))),
        };
        Ok(match job.status {
            ArchitectJobStatus::Success => Answer::Ended(Polled::Success(job.flow.map(|f| f.id))),
            ArchitectJobStatus::Failure => Answer::Ended(Polled::Failure(
                job.messages
                    .iter()
                    .map(|m| json!({"type": m.kind, "text": m.text}))
                    .collect(),
            )),
            ArchitectJobStatus::Registered if since.elapsed() > o.registered_timeout => {
                Answer::Ended(Polled::Renew(format!(
                    "Architect job {gid} stayed Registered for {:?} (the upload never arrived)",
                    since.elapsed()
                )))
            }
            _ if since.elapsed() > o.job_timeout => Answer::Ended(Polled::TimedOut),
            _ => Answer::Again,
        })
    }

    /// The first wait learnt for `target`'s jobs, within `first_poll` and
    /// [`MAX_LEARNT_WAIT`].
    fn learnt(&self, target: &str) -> Option<Duration> {
        let o = &self.inner.opts;
        self.inner
            .typical_ms
            .lock()
            .ok()
            .and_then(|m| m.get(target).copied())
            .map(|ms| Duration::from_secs_f64(ms / 1000.0).clamp(o.first_poll, MAX_LEARNT_WAIT))
    }

    fn learn(&self, target: &str, used_learnt: bool, polls: u32, slept: Duration) {
        if let Ok(mut m) = self.inner.typical_ms.lock() {
            let current = m.get(target).copied();
            let slept_ms = slept.as_secs_f64() * 1000.0;
            if let Some(next) = learnt_wait(current, used_learnt, polls, slept_ms) {
                m.insert(target.to_owned(), next);
            }
        }
    }
}

/// Longest learnt first wait.
const MAX_LEARNT_WAIT: Duration = Duration::from_secs(120);

/// How much earlier the next job tries its first poll after a first poll that was on time
/// (slowly: a miss costs a request, waiting a little long only costs latency).
const LEARNT_PROBE: f64 = 0.0005;

/// The next learnt first wait (ms) of a target, from a job that succeeded after `polls`
/// polls and `slept_ms` of waiting in all; `None` keeps the current one.
///
/// Every request counts against the rate limit, so the estimate aims at the first poll
/// succeeding: it is the wait that worked (an upper bound) when a job had to be polled
/// again, and creeps down by [`LEARNT_PROBE`] after each job whose first poll was on time
/// (it may have been early enough with less). A miss costs one more request and resets it.
/// Waiting in the rate limiter only ever makes a poll later, so it needs no correction.
pub(super) fn learnt_wait(
    current: Option<f64>,
    used_learnt: bool,
    polls: u32,
    slept_ms: f64,
) -> Option<f64> {
    match (current, used_learnt) {
        (None, _) => Some(slept_ms),
        (Some(c), true) if polls <= 1 => Some(c * (1.0 - LEARNT_PROBE)),
        (Some(_), true) => Some(slept_ms),
        // Started before anything was learnt: its growing waits overshoot; keep the estimate.
        (Some(_), false) => None,
    }
}

fn next_wait(wait: Duration, o: &WorkerOptions) -> Duration {
    wait.mul_f64(o.poll_factor).min(o.max_poll)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_grows_and_caps() {
        let o = WorkerOptions::default();
        let mut w = o.first_poll;
        let mut seen = vec![w];
        for _ in 0..8 {
            w = next_wait(w, &o);
            seen.push(w);
        }
        assert_eq!(seen[1], Duration::from_millis(1500));
        assert_eq!(*seen.last().unwrap(), o.max_poll);
    }

    #[test]
    fn the_learnt_wait_aims_at_one_poll_per_job() {
        // The first job teaches the wait that worked.
        assert_eq!(learnt_wait(None, false, 4, 2030.0), Some(2030.0));
        // On time: try a little earlier next time.
        let w = learnt_wait(Some(2000.0), true, 1, 2000.0).unwrap();
        assert!((w - 1999.0).abs() < 0.01, "{w}");
        // Missed: the wait that worked (the learnt one plus the short retry).
        assert_eq!(learnt_wait(Some(1900.0), true, 2, 2150.0), Some(2150.0));
        // A job that started before anything was learnt does not overwrite the estimate.
        assert_eq!(learnt_wait(Some(2000.0), false, 5, 3300.0), None);
    }
}
