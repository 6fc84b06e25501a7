//! A small closed-loop HTTP load generator: `concurrency` workers each send one request,
//! wait for the whole answer, and send the next, until the deadline.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a load run measured.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    pub concurrency: usize,
    /// Requests completed (with any status) or failed at the transport level.
    pub requests: u64,
    /// Transport errors (connection refused, reset, timeout...).
    pub errors: u64,
    pub statuses: BTreeMap<u16, u64>,
    pub elapsed: Duration,
    /// Requests per second over `elapsed`.
    pub rps: f64,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect();
        write!(
            f,
            "{} requests in {:.2?} with {} workers: {:.0} req/s; errors {}; statuses {{{}}}; latency p50 {:.2?}, p90 {:.2?}, p99 {:.2?}, max {:.2?}",
            self.requests,
            self.elapsed,
            self.concurrency,
            self.rps,
            self.errors,
            statuses.join(", "),
            self.p50,
            self.p90,
            self.p99,
            self.max
        )
    }
}

#[derive(Default)]
struct WorkerResult {
    latencies: Vec<Duration>,
    errors: u64,
    statuses: BTreeMap<u16, u64>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// Runs `concurrency` workers until `duration` has passed. `make(n)` builds the n-th request
/// (n counts from 0 across all workers).
pub async fn run<F>(concurrency: usize, duration: Duration, make: F) -> LoadReport
where
    F: Fn(u64) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let seq = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let mut handles = Vec::with_capacity(concurrency.max(1));
    for _ in 0..concurrency.max(1) {
        let make = make.clone();
        let seq = seq.clone();
        handles.push(tokio::spawn(async move {
            let mut r = WorkerResult::default();
            while Instant::now() < deadline {
                let n = seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let req = make(n);
                let t0 = Instant::now();
                match req.send().await {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        match resp.bytes().await {
                            Ok(_) => *r.statuses.entry(status).or_default() += 1,
                            Err(_) => r.errors += 1,
                        }
                    }
                    Err(_) => r.errors += 1,
                }
                r.latencies.push(t0.elapsed());
            }
            r
        }));
    }
    let mut all = Vec::new();
    let mut report = LoadReport {
        concurrency: concurrency.max(1),
        ..LoadReport::default()
    };
    for h in handles {
        if let Ok(r) = h.await {
            all.extend(r.latencies);
            report.errors += r.errors;
            for (s, n) in r.statuses {
                *report.statuses.entry(s).or_default() += n;
            }
        }
    }
    report.elapsed = start.elapsed();
    report.requests = all.len() as u64;
    report.rps = report.requests as f64 / report.elapsed.as_secs_f64().max(1e-9);
    all.sort_unstable();
    report.p50 = percentile(&all, 0.50);
    report.p90 = percentile(&all, 0.90);
    report.p99 = percentile(&all, 0.99);
    report.max = all.last().copied().unwrap_or_default();
    report
}
