//! Pacing of Platform API requests for one target: a GCRA limiter with burst 1 (requests
//! evenly spaced at the target's rate) and a shared "paused until" instant set by a 429.

use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;

/// Spacing of a limiter at `per_minute` requests per minute, or `None` for no limit (0).
///
/// One millisecond is added to the exact spacing so that `per_minute + 1` evenly spaced
/// requests never fit in one 60-second window, even with a few milliseconds of network jitter
/// (Genesys counts per token in a window that starts with its first request).
pub fn spacing(per_minute: u32) -> Option<Duration> {
    if per_minute == 0 {
        return None;
    }
    Some(Duration::from_secs(60) / per_minute + Duration::from_millis(1))
}

/// The target's pacing: `until_ready` on the limiter, and the pause of a 429.
pub struct Pacer {
    limiter: Option<DefaultDirectRateLimiter>,
    paused_until: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("limited", &self.limiter.is_some())
            .field("paused_for", &self.paused_for())
            .finish()
    }
}

impl Pacer {
    pub fn new(per_minute: u32) -> Pacer {
        let limiter = spacing(per_minute)
            .and_then(Quota::with_period)
            .map(|q| RateLimiter::direct(q.allow_burst(NonZeroU32::MIN)));
        Pacer {
            limiter,
            paused_until: Mutex::new(None),
        }
    }

    /// Waits for the limiter to allow one request; returns how long that took.
    pub async fn until_ready(&self) -> Duration {
        let start = Instant::now();
        if let Some(l) = &self.limiter {
            l.until_ready().await;
        }
        start.elapsed()
    }

    /// Pauses the whole target until `until` (never shortens a longer pause already set).
    pub fn pause_until(&self, until: Instant) {
        let mut p = self
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if p.is_none_or(|cur| cur < until) {
            *p = Some(until);
        }
    }

    /// How much longer the target is paused, if it is.
    pub fn paused_for(&self) -> Option<Duration> {
        let p = *self
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        p.and_then(|until| until.checked_duration_since(Instant::now()))
            .filter(|d| !d.is_zero())
    }

    /// Waits until no pause is in force; returns how long that took.
    pub async fn wait_unpaused(&self) -> Duration {
        let start = Instant::now();
        while let Some(d) = self.paused_for() {
            tokio::time::sleep(d).await;
        }
        start.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spacing_of_rates() {
        assert_eq!(spacing(0), None);
        assert_eq!(spacing(300), Some(Duration::from_millis(201)));
        assert_eq!(spacing(60), Some(Duration::from_millis(1001)));
        // per_minute + 1 spaced requests span more than a minute.
        for rate in [1u32, 7, 120, 300, 3000] {
            let s = spacing(rate).unwrap();
            assert!(s * rate > Duration::from_secs(60));
        }
    }

    #[tokio::test]
    async fn limiter_spaces_requests_evenly() {
        let p = Pacer::new(600); // 101 ms apart
        let start = Instant::now();
        for _ in 0..4 {
            p.until_ready().await;
        }
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(1000), "{elapsed:?}");
    }

    #[tokio::test]
    async fn unlimited_does_not_wait() {
        let p = Pacer::new(0);
        for _ in 0..1000 {
            assert!(p.until_ready().await < Duration::from_millis(50));
        }
    }

    #[tokio::test]
    async fn pause_is_shared_and_only_extended() {
        let p = Pacer::new(0);
        assert_eq!(p.paused_for(), None);
        let now = Instant::now();
        p.pause_until(now + Duration::from_millis(200));
        p.pause_until(now + Duration::from_millis(50));
        let left = p.paused_for().unwrap();
        assert!(left > Duration::from_millis(100), "{left:?}");
        let waited = p.wait_unpaused().await;
        assert!(waited >= Duration::from_millis(150), "{waited:?}");
        assert_eq!(p.paused_for(), None);
    }
}
