//! The first wait before polling an Architect job, learnt per target from its recent jobs:
//! a pure estimator, unit-tested here; `architect.rs` feeds it and reads it.
//!
//! Every poll counts against the rate limit, so the wait aims at the first poll finding the
//! job done. What a job teaches is the time that worked (an upper bound of what was
//! needed): when it had to be polled again, the time from the upload to the poll that found
//! it done; when the first poll was on time, a little less than the learnt wait (it may have
//! been early enough with less). The learnt wait is the second highest of the last
//! [`WINDOW`] lessons: a single slow job does not move it, two do; and it follows the recent
//! jobs down by the probe per window.
//!
//! How far an on-time poll probes down depends on what a miss would cost. When requests
//! wait at the target's limiter, its budget is the bottleneck: a miss costs a request slot
//! of the job's rate bound, while a late poll only delays that one step (the limiter has
//! other work meanwhile), so the wait creeps down by [`PROBE_BUSY`] only. When the limiter
//! is idle, a miss costs nothing that was needed and a late poll is time lost, so it
//! probes by [`PROBE`].
//!
//! Only Architect jobs that completed with every poll answered teach it: a poll that failed
//! (5xx, timeouts, a 429 the client gave up on) says nothing about how long a job takes, and
//! the waits after it grew for the fault, not for the job. So an outage of Genesys never
//! lengthens it, and the pace after an outage is the pace before.
//!
//! A job that other steps of its job wait for (a module whose callers are registered) is
//! also polled in between, whenever the limiter has nothing waiting ([`spare_tick`]): its
//! end starts every caller's Architect job, and a poll that takes an idle slot costs no
//! other request anything. So the first job of a target is seen done soon after it ended,
//! and teaches a wait close to the job's duration.

use std::collections::VecDeque;
use std::time::Duration;

/// Lessons kept per target.
pub(super) const WINDOW: usize = 8;

/// How much shorter than the learnt wait an on-time first poll teaches, when the target's
/// limiter was idle as it was sent.
pub(super) const PROBE: f64 = 0.1;

/// The same when requests were waiting at the limiter (a miss would cost a slot).
pub(super) const PROBE_BUSY: f64 = 0.005;

/// Longest learnt first wait.
pub(super) const MAX_LEARNT_WAIT: Duration = Duration::from_secs(120);

/// Shortest time between two polls of a job others wait for, sent on idle slots.
pub(super) const SPARE_MIN: Duration = Duration::from_millis(100);

/// The same, as a share of the time the job has run: its end is seen within about this much
/// of its duration, in a few dozen polls at most, however long it takes.
pub(super) const SPARE_SHARE: f64 = 0.05;

/// The wait before polling again after the learnt wait just missed: the job is about to end
/// (the learnt wait is an upper bound of recent jobs, probed down by a few percent), so a
/// short one, never longer than `first_poll`.
pub(super) fn after_miss(learnt: Duration, first_poll: Duration) -> Duration {
    learnt
        .mul_f64(PROBE)
        .max(Duration::from_millis(100))
        .min(first_poll)
}

/// When a job others wait for is next looked at for an idle-slot poll, `elapsed` after its
/// upload, at a target whose requests are `spacing` apart: never more often than the rate,
/// [`SPARE_MIN`], or [`SPARE_SHARE`] of the time it has run.
pub(super) fn spare_tick(elapsed: Duration, spacing: Duration) -> Duration {
    elapsed.mul_f64(SPARE_SHARE).max(SPARE_MIN).max(spacing)
}

/// From when after its upload such a job is polled on idle slots: half its first wait (the
/// learnt one, or `first_poll`), as no job is expected to end much sooner.
pub(super) fn spare_from(first_wait: Duration) -> Duration {
    first_wait / 2
}

/// How one Architect job's polling went, as far as the learnt wait is concerned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct PolledJob {
    /// The learnt wait its first poll used (`None`: nothing was learnt when it started).
    pub learnt: Option<Duration>,
    /// Polls sent, the one that found it done included.
    pub polls: u32,
    /// From the start of polling to the start of the poll that found it done.
    pub needed: Duration,
    /// Every poll was answered (no 5xx, timeout or give-up on the way).
    pub clean: bool,
    /// Requests were waiting at the target's limiter when its first poll was sent.
    pub busy: bool,
}

/// The recent lessons of one target, newest last (seconds).
#[derive(Debug, Clone, Default)]
pub(super) struct Learnt {
    lessons: VecDeque<f64>,
}

impl Learnt {
    /// The first wait to use, within `floor` and [`MAX_LEARNT_WAIT`]; `None` before any
    /// lesson.
    pub(super) fn wait(&self, floor: Duration) -> Option<Duration> {
        let mut sorted: Vec<f64> = self.lessons.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        // The second highest: one outlier (a job Genesys was slow with) is ignored.
        let pick = sorted.len().saturating_sub(2);
        let secs = *sorted.get(pick)?;
        Some(Duration::from_secs_f64(secs.max(0.0)).clamp(floor, MAX_LEARNT_WAIT.max(floor)))
    }

    /// Learns from a job that ended with success; a job whose polling met a fault, or that
    /// started before anything was learnt while something is now, teaches nothing.
    pub(super) fn teach(&mut self, job: &PolledJob) {
        if !job.clean || job.polls == 0 {
            return;
        }
        let probe = if job.busy { PROBE_BUSY } else { PROBE };
        let lesson = match job.learnt {
            // On time (perhaps sooner than the learnt wait, on an idle slot).
            Some(w) if job.polls == 1 => w.min(job.needed).as_secs_f64() * (1.0 - probe),
            Some(_) => job.needed.as_secs_f64(),
            // Its growing waits overshoot: only the very first lessons come from such jobs.
            None if !self.lessons.is_empty() => return,
            None => job.needed.as_secs_f64(),
        };
        if self.lessons.len() == WINDOW {
            self.lessons.pop_front();
        }
        self.lessons.push_back(lesson);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLOOR: Duration = Duration::from_secs(1);

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    fn job(learnt: Option<f64>, polls: u32, needed: f64, clean: bool) -> PolledJob {
        PolledJob {
            learnt: learnt.map(secs),
            polls,
            needed: secs(needed),
            clean,
            busy: false,
        }
    }

    fn close(d: Option<Duration>, s: f64) -> bool {
        d.is_some_and(|d| (d.as_secs_f64() - s).abs() < 0.01)
    }

    #[test]
    fn the_first_job_teaches_the_wait_that_worked() {
        let mut l = Learnt::default();
        assert_eq!(l.wait(FLOOR), None);
        l.teach(&job(None, 2, 2.5, true));
        assert!(close(l.wait(FLOOR), 2.5), "{:?}", l.wait(FLOOR));
        // A job that started before that lesson, with its overshooting waits: ignored.
        l.teach(&job(None, 4, 6.0, true));
        assert!(close(l.wait(FLOOR), 2.5));
    }

    #[test]
    fn on_time_polls_bring_the_wait_down_and_misses_bring_it_up() {
        let mut l = Learnt::default();
        l.teach(&job(None, 2, 2.5, true));
        for _ in 0..20 {
            let w = l.wait(FLOOR).unwrap().as_secs_f64();
            l.teach(&job(Some(w), 1, w, true));
        }
        let low = l.wait(FLOOR).unwrap().as_secs_f64();
        assert!(low < 2.0, "20 on-time jobs should bring 2.5 s down: {low}");
        // One miss is an outlier; the second moves the wait to what worked.
        l.teach(&job(Some(low), 2, low + 1.0, true));
        assert!(l.wait(FLOOR).unwrap().as_secs_f64() < low + 0.5);
        l.teach(&job(Some(low), 2, low + 1.0, true));
        assert!(close(l.wait(FLOOR), low + 1.0), "{:?}", l.wait(FLOOR));
    }

    #[test]
    fn faults_never_lengthen_the_wait() {
        let mut l = Learnt::default();
        l.teach(&job(None, 2, 2.5, true));
        let before = l.wait(FLOOR);
        // A 120 s outage during polling: many failed polls and long waits, then success.
        for _ in 0..50 {
            l.teach(&job(before.map(|d| d.as_secs_f64()), 40, 121.0, false));
        }
        assert_eq!(l.wait(FLOOR), before);
    }

    #[test]
    fn the_wait_follows_recent_jobs_within_a_window() {
        // Jobs got slower (8 s): two misses and the wait is there.
        let mut l = Learnt::default();
        l.teach(&job(None, 2, 2.5, true));
        l.teach(&job(Some(2.5), 4, 8.3, true));
        l.teach(&job(Some(2.5), 4, 8.3, true));
        assert!(close(l.wait(FLOOR), 8.3));
        // Slow jobs leave the window: after WINDOW lessons of 2.5 s jobs it is back.
        for _ in 0..WINDOW {
            l.teach(&job(Some(2.5), 2, 2.5, true));
        }
        assert!(close(l.wait(FLOOR), 2.5), "{:?}", l.wait(FLOOR));
    }

    #[test]
    fn a_miss_polls_again_soon() {
        assert_eq!(after_miss(secs(2.0), FLOOR), secs(0.2));
        assert_eq!(after_miss(secs(0.2), FLOOR), secs(0.1));
        assert_eq!(after_miss(secs(60.0), FLOOR), FLOOR);
    }

    #[test]
    fn a_busy_limiter_probes_down_slowly() {
        // Jobs need 2.0 s; the first one taught 2.5 s.
        let run = |busy: bool| {
            let mut l = Learnt::default();
            l.teach(&job(None, 2, 2.5, true));
            let mut misses = 0;
            for _ in 0..500 {
                let w = l.wait(FLOOR).unwrap().as_secs_f64();
                let polls = if w >= 2.0 { 1 } else { 2 };
                misses += polls - 1;
                let needed = if polls == 1 { w } else { w + w * PROBE };
                l.teach(&PolledJob {
                    busy,
                    ..job(Some(w), polls, needed, true)
                });
            }
            (misses, l.wait(FLOOR).unwrap().as_secs_f64())
        };
        let (busy_misses, busy_wait) = run(true);
        let (idle_misses, idle_wait) = run(false);
        // Busy: a miss costs a slot of the rate bound, so few (2% of the jobs at most);
        // idle: it follows the jobs down closely, missing more often.
        assert!(busy_misses <= 10, "{busy_misses} misses in 500 busy jobs");
        assert!(busy_wait < 2.5, "{busy_wait}");
        assert!(idle_misses > busy_misses, "{idle_misses} vs {busy_misses}");
        assert!(idle_wait < 2.3, "{idle_wait}");
    }

    #[test]
    fn an_idle_slot_poll_teaches_what_it_found() {
        let mut l = Learnt::default();
        // The first job, polled on idle slots, found done 2.05 s after its upload.
        l.teach(&job(None, 9, 2.05, true));
        assert!(close(l.wait(FLOOR), 2.05));
        // A job found done on an idle slot before the learnt wait teaches that time.
        let mut l = Learnt::default();
        l.teach(&job(None, 2, 2.5, true));
        l.teach(&job(Some(2.5), 1, 2.1, true));
        l.teach(&job(Some(2.5), 1, 2.1, true));
        assert!(
            close(l.wait(FLOOR), 2.1 * (1.0 - PROBE)),
            "{:?}",
            l.wait(FLOOR)
        );
    }

    #[test]
    fn idle_slot_polls_are_spaced_by_the_rate_and_the_time_run() {
        let ms = Duration::from_millis;
        assert_eq!(spare_tick(ms(500), ms(51)), SPARE_MIN);
        assert_eq!(spare_tick(ms(500), ms(201)), ms(201));
        assert_eq!(spare_tick(secs(60.0), ms(201)), secs(3.0));
        assert_eq!(spare_from(secs(1.0)), ms(500));
    }

    #[test]
    fn the_wait_stays_within_its_bounds() {
        let mut l = Learnt::default();
        l.teach(&job(None, 1, 0.2, true));
        assert_eq!(l.wait(FLOOR), Some(FLOOR));
        let mut l = Learnt::default();
        l.teach(&job(None, 90, 600.0, true));
        assert_eq!(l.wait(FLOOR), Some(MAX_LEARNT_WAIT));
    }
}
