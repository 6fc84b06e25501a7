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
            "{} requests in {:.2?} {}: {:.0} req/s; errors {}; statuses {{{}}}; latency p50 {:.2?}, p90 {:.2?}, p99 {:.2?}, max {:.2?}",
            self.requests,
            self.elapsed,
            match self.concurrency {
                0 => "open loop".to_owned(),
                n => format!("with {n} workers"),
            },
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

/// Sends a request and reads a JSON answer; errors as text (what benchmark drivers report).
pub async fn fetch_json(req: reqwest::RequestBuilder) -> Result<serde_json::Value, String> {
    req.send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())
}

/// Sends one request and reads its body: the status, or `None` on a transport error.
async fn send(req: reqwest::RequestBuilder) -> Option<u16> {
    let resp = req.send().await.ok()?;
    let status = resp.status().as_u16();
    resp.bytes().await.ok().map(|_| status)
}

impl WorkerResult {
    fn record(&mut self, status: Option<u16>, latency: Duration) {
        match status {
            Some(s) => *self.statuses.entry(s).or_default() += 1,
            None => self.errors += 1,
        }
        self.latencies.push(latency);
    }
}

/// Merges worker results into a report.
fn report(concurrency: usize, start: Instant, results: Vec<WorkerResult>) -> LoadReport {
    let mut all = Vec::new();
    let mut report = LoadReport {
        concurrency,
        ..LoadReport::default()
    };
    for r in results {
        all.extend(r.latencies);
        report.errors += r.errors;
        for (s, n) in r.statuses {
            *report.statuses.entry(s).or_default() += n;
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

/// Runs `concurrency` workers until `duration` has passed (closed loop). `make(n)` builds
/// the n-th request (n counts from 0 across all workers).
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
                let status = send(req).await;
                r.record(status, t0.elapsed());
            }
            r
        }));
    }
    let mut results = Vec::new();
    for h in handles {
        if let Ok(r) = h.await {
            results.push(r);
        }
    }
    report(concurrency.max(1), start, results)
}

/// Sends `rate` requests per second for `duration` whatever the answers take (open loop),
/// so a slow server cannot slow the load down and hide its own latency. Latency counts from
/// the moment each request was due. The report's `concurrency` is 0 (open loop).
pub async fn run_rate<F>(rate: u32, duration: Duration, make: F) -> LoadReport
where
    F: Fn(u64) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let rate = rate.max(1);
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let total = (duration.as_secs_f64() * f64::from(rate)).round() as u64;
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..total {
        let due = start + interval.mul_f64(n as f64);
        tokio::time::sleep_until(due.into()).await;
        let req = make(n);
        tasks.spawn(async move {
            let status = send(req).await;
            (status, due.elapsed())
        });
    }
    let mut r = WorkerResult::default();
    while let Some(done) = tasks.join_next().await {
        if let Ok((status, latency)) = done {
            r.record(status, latency);
        }
    }
    report(0, start, vec![r])
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn server() -> String {
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/")
    }

    #[tokio::test]
    async fn open_loop_sends_exactly_rate_times_duration() {
        let url = server().await;
        let client = reqwest::Client::new();
        let r = run_rate(200, Duration::from_millis(500), move |_| client.get(&url)).await;
        assert_eq!(r.requests, 100, "{r}");
        assert_eq!(r.statuses.get(&200), Some(&100));
        assert!(r.to_string().contains("open loop"));
    }

    #[tokio::test]
    async fn closed_loop_counts_every_answer() {
        let url = server().await;
        let client = reqwest::Client::new();
        let r = run(2, Duration::from_millis(200), move |_| client.get(&url)).await;
        assert!(r.requests > 0);
        assert_eq!(r.errors, 0);
        assert_eq!(r.statuses.values().sum::<u64>(), r.requests);
        assert!(r.p50 <= r.p99 && r.p99 <= r.max);
    }
}
