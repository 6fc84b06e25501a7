//! The first wait before polling an Architect job, learnt per target from its recent jobs:
//! a pure estimator, unit-tested here; `architect.rs` feeds it and reads it.
//!
//! Every poll counts against the rate limit, so the wait aims at the first poll finding the
//! job done. What a job teaches is the sleep that worked (an upper bound of what was
//! needed): the whole sleep when it had to be polled again, a little less than the learnt
//! wait when the first poll was on time (it may have been early enough with less). The
//! learnt wait is the second highest of the last [`WINDOW`] lessons: a single slow job does
//! not move it, two do; and it follows the recent jobs down at [`PROBE`] per window.
//!
//! Only Architect jobs that completed with every poll answered teach it: a poll that failed
//! (5xx, timeouts, a 429 the client gave up on) says nothing about how long a job takes, and
//! the waits after it grew for the fault, not for the job. So an outage of Genesys never
//! lengthens it, and the pace after an outage is the pace before.

use std::collections::VecDeque;
use std::time::Duration;

/// Lessons kept per target.
pub(super) const WINDOW: usize = 8;

/// How much shorter than the learnt wait an on-time first poll teaches.
pub(super) const PROBE: f64 = 0.1;

/// Longest learnt first wait.
pub(super) const MAX_LEARNT_WAIT: Duration = Duration::from_secs(120);

/// The wait before polling again after the learnt wait just missed: the job is about to end
/// (the wait that worked before was at most `1 / (1 - PROBE)` longer), so a short one, never
/// longer than `first_poll`.
pub(super) fn after_miss(learnt: Duration, first_poll: Duration) -> Duration {
    learnt
        .mul_f64(2.0 * PROBE)
        .max(Duration::from_millis(100))
        .min(first_poll)
}

/// How one Architect job's polling went, as far as the learnt wait is concerned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct PolledJob {
    /// The learnt wait its first poll used (`None`: nothing was learnt when it started).
    pub learnt: Option<Duration>,
    /// Polls sent, the one that found it done included.
    pub polls: u32,
    /// Sleeps before those polls, in all.
    pub slept: Duration,
    /// Every poll was answered (no 5xx, timeout or give-up on the way).
    pub clean: bool,
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
        let lesson = match job.learnt {
            Some(w) if job.polls == 1 => w.as_secs_f64() * (1.0 - PROBE),
            Some(_) => job.slept.as_secs_f64(),
            // Its growing waits overshoot: only the very first lessons come from such jobs.
            None if !self.lessons.is_empty() => return,
            None => job.slept.as_secs_f64(),
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

    fn job(learnt: Option<f64>, polls: u32, slept: f64, clean: bool) -> PolledJob {
        PolledJob {
            learnt: learnt.map(secs),
            polls,
            slept: secs(slept),
            clean,
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
        assert_eq!(after_miss(secs(2.0), FLOOR), secs(0.4));
        assert_eq!(after_miss(secs(0.2), FLOOR), secs(0.1));
        assert_eq!(after_miss(secs(60.0), FLOOR), FLOOR);
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
