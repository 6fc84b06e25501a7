//! Retry classification and delays: capped exponential backoff with full jitter for transient
//! failures, and the server-directed wait of a 429 (`Retry-After`, else `inin-ratelimit-reset`).

use std::time::Duration;

use rand::Rng;
use reqwest::header::HeaderMap;

/// Capped exponential backoff with full jitter: attempt `n` (1-based) waits a uniformly random
/// time in `[0, min(cap, base * 2^(n-1))]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub cap: Duration,
    /// Attempts in all (the first try included) before giving up on a transient failure.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_millis(200),
            cap: Duration::from_secs(10),
            max_attempts: 8,
        }
    }
}

impl RetryPolicy {
    /// The longest delay attempt `attempt` (1-based) may wait: `min(cap, base * 2^(attempt-1))`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(31);
        self.base
            .checked_mul(1u32 << exp)
            .map_or(self.cap, |d| d.min(self.cap))
    }

    /// The delay before retrying after failed attempt `attempt` (1-based), with full jitter.
    pub fn delay<R: Rng + ?Sized>(&self, attempt: u32, rng: &mut R) -> Duration {
        let ceiling = self.ceiling(attempt).as_millis() as u64;
        Duration::from_millis(rng.gen_range(0..=ceiling))
    }

    /// Whether another attempt is allowed after `attempts` have been made.
    pub fn may_retry(&self, attempts: u32) -> bool {
        attempts < self.max_attempts
    }
}

/// How long a 429 asks to wait: `Retry-After` (integer seconds, or an HTTP date), else
/// `inin-ratelimit-reset` (seconds until the window resets). Not capped: Genesys may ask for
/// minutes. `None` when neither header is usable.
pub fn retry_after(headers: &HeaderMap, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(v) = header("retry-after") {
        if let Some(d) = parse_seconds(v) {
            return Some(d);
        }
        if let Ok(at) = chrono::DateTime::parse_from_rfc2822(v) {
            let secs = (at.with_timezone(&chrono::Utc) - now)
                .num_milliseconds()
                .max(0);
            return Some(Duration::from_millis(secs as u64));
        }
    }
    header("inin-ratelimit-reset").and_then(parse_seconds)
}

fn parse_seconds(v: &str) -> Option<Duration> {
    if let Ok(n) = v.parse::<u64>() {
        return Some(Duration::from_secs(n));
    }
    // Be lenient with "1.5".
    v.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite() && *f >= 0.0)
        .map(Duration::from_secs_f64)
}

/// What to do with an HTTP status of a Platform API answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Success,
    /// 401: refresh the token and try once more.
    Unauthorized,
    /// 429: pause the target for `Retry-After`.
    RateLimited,
    /// 408 and 5xx: back off and retry.
    Transient,
    /// 409: a lock conflict, retried a few times.
    Conflict,
    /// Any other 4xx (or an unexpected 1xx/3xx).
    Fatal,
}

pub fn classify(status: u16) -> Class {
    match status {
        200..=299 => Class::Success,
        401 => Class::Unauthorized,
        429 => Class::RateLimited,
        408 | 500..=599 => Class::Transient,
        409 => Class::Conflict,
        _ => Class::Fatal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use reqwest::header::HeaderValue;

    #[test]
    fn ceiling_doubles_then_caps() {
        let p = RetryPolicy::default();
        assert_eq!(p.ceiling(1), Duration::from_millis(200));
        assert_eq!(p.ceiling(2), Duration::from_millis(400));
        assert_eq!(p.ceiling(3), Duration::from_millis(800));
        assert_eq!(p.ceiling(6), Duration::from_millis(6400));
        assert_eq!(p.ceiling(7), Duration::from_secs(10));
        assert_eq!(p.ceiling(1000), Duration::from_secs(10));
        assert_eq!(p.ceiling(0), Duration::from_millis(200));
    }

    #[test]
    fn delay_is_full_jitter_within_the_ceiling() {
        let p = RetryPolicy::default();
        let mut rng = StdRng::seed_from_u64(7);
        for attempt in 1..=12 {
            let mut max = Duration::ZERO;
            let mut min = Duration::MAX;
            for _ in 0..500 {
                let d = p.delay(attempt, &mut rng);
                assert!(d <= p.ceiling(attempt), "{d:?} > ceiling at {attempt}");
                max = max.max(d);
                min = min.min(d);
            }
            // Full jitter spreads over the whole range.
            assert!(
                min < p.ceiling(attempt) / 4,
                "attempt {attempt}: min {min:?}"
            );
            assert!(
                max > p.ceiling(attempt) * 3 / 4,
                "attempt {attempt}: max {max:?}"
            );
        }
    }

    #[test]
    fn attempts_are_capped() {
        let p = RetryPolicy::default();
        assert!(p.may_retry(7));
        assert!(!p.may_retry(8));
    }

    #[test]
    fn classification() {
        assert_eq!(classify(200), Class::Success);
        assert_eq!(classify(204), Class::Success);
        assert_eq!(classify(401), Class::Unauthorized);
        assert_eq!(classify(429), Class::RateLimited);
        assert_eq!(classify(408), Class::Transient);
        assert_eq!(classify(502), Class::Transient);
        assert_eq!(classify(409), Class::Conflict);
        assert_eq!(classify(404), Class::Fatal);
        assert_eq!(classify(400), Class::Fatal);
        assert_eq!(classify(403), Class::Fatal);
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn retry_after_seconds_are_not_capped() {
        let now = chrono::Utc::now();
        assert_eq!(
            retry_after(&headers(&[("retry-after", "42")]), now),
            Some(Duration::from_secs(42))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", " 300 ")]), now),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", "1.5")]), now),
            Some(Duration::from_millis(1500))
        );
    }

    #[test]
    fn retry_after_http_date() {
        let now = chrono::DateTime::parse_from_rfc2822("Wed, 21 Oct 2015 07:28:00 GMT")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let h = headers(&[("retry-after", "Wed, 21 Oct 2015 07:30:00 GMT")]);
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(120)));
        let past = headers(&[("retry-after", "Wed, 21 Oct 2015 07:00:00 GMT")]);
        assert_eq!(retry_after(&past, now), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_falls_back_to_ratelimit_reset() {
        let now = chrono::Utc::now();
        let h = headers(&[("inin-ratelimit-reset", "17")]);
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(17)));
        let h = headers(&[("retry-after", "soon"), ("inin-ratelimit-reset", "3")]);
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(&headers(&[]), now), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "-4")]), now), None);
    }
}
