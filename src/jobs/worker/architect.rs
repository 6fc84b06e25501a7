//! Polling an Architect job until it ends, and the first wait learnt per target (every poll
//! counts against the rate limit: the learnt wait aims at one poll per job).

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::learnt::{PolledJob, after_miss, spare_from, spare_tick};
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
    /// Other steps of the job wait for it (a module with callers): it is also polled on the
    /// limiter's idle slots (`learnt::spare_tick`).
    pub awaited: bool,
}

/// What one poll answered: the job's end, or poll again.
enum Answer {
    Ended(Polled),
    Again,
    /// The poll failed (the client gave up on 5xx, timeouts or 429s): poll again, and this
    /// job teaches nothing (`Learnt::teach`).
    Unanswered,
}

impl Worker {
    /// Polls an Architect job until it ends. A freshly uploaded job first waits what this
    /// target's jobs were learnt to need (`learnt.rs`), so most jobs take one poll; a
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
        let spare_after = spare_from(wait);
        // The next poll of the regular schedule; idle-slot polls come in between.
        let mut due = Instant::now() + wait;
        let (mut polls, mut regular, mut clean, mut busy) = (0u32, 0u32, true, false);
        loop {
            let early = self.sleep_or_spare(p, due, spare_after, token).await?;
            let needed = p.since.elapsed();
            if polls == 0 {
                busy = !early && p.client.queued() > 0;
            }
            polls += 1;
            let answered = match self.poll_once(p, token).await? {
                Answer::Ended(Polled::Success(flow)) => {
                    if p.fresh {
                        let job = PolledJob {
                            learnt,
                            polls,
                            needed,
                            clean,
                            busy,
                        };
                        self.learn(p.target, &job);
                    }
                    return Ok(Polled::Success(flow));
                }
                Answer::Ended(end) => return Ok(end),
                Answer::Again => true,
                Answer::Unanswered => {
                    clean = false;
                    false
                }
            };
            if early {
                continue;
            }
            regular += 1;
            wait = match learnt {
                // The learnt wait just missed: the job is about to end.
                Some(l) if regular == 1 && answered => after_miss(l, o.first_poll),
                _ => next_wait(wait, o),
            };
            due = Instant::now() + wait;
        }
    }

    /// Sleeps until `due`, the next regular poll (false); or returns true earlier, on an idle
    /// slot of the limiter, to poll a job other steps wait for (`Poll::awaited`, on a paced
    /// target, from `spare_after` after the upload on).
    async fn sleep_or_spare(
        &self,
        p: &Poll<'_>,
        due: Instant,
        spare_after: Duration,
        token: &CancellationToken,
    ) -> Result<bool, Stop> {
        let spacing = p.client.spacing().filter(|_| p.awaited);
        let Some(spacing) = spacing else {
            sleep_or_stop(due.saturating_duration_since(Instant::now()), token).await?;
            return Ok(false);
        };
        loop {
            let left = due.saturating_duration_since(Instant::now());
            let tick = spare_tick(p.since.elapsed(), spacing);
            if left <= tick {
                sleep_or_stop(left, token).await?;
                return Ok(false);
            }
            sleep_or_stop(tick, token).await?;
            if p.since.elapsed() >= spare_after
                && p.client.queued() == 0
                && p.client.paused_for().is_none()
            {
                return Ok(true);
            }
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
                return Ok(Answer::Unanswered);
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

    /// The first wait learnt for `target`'s jobs (`Learnt::wait`).
    fn learnt(&self, target: &str) -> Option<Duration> {
        let floor = self.inner.opts.first_poll;
        self.inner
            .learnt
            .lock()
            .ok()
            .and_then(|m| m.get(target).and_then(|l| l.wait(floor)))
    }

    fn learn(&self, target: &str, job: &PolledJob) {
        if let Ok(mut m) = self.inner.learnt.lock() {
            m.entry(target.to_owned()).or_default().teach(job);
        }
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
}
