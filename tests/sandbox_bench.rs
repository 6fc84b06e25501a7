//! The sandbox load figure: `GET /api/v2/flows/{id}` per second with limits off.
//! Ignored by default; run with
//! `cargo test --test sandbox_bench -- --ignored --nocapture`
//! (env `BENCH_CONCURRENCY`, `BENCH_SECONDS` to change the defaults 32 and 5).

use std::time::Duration;

use flowsmith::sandbox::bench::get_flow_load;

fn env_or(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "load measurement; run explicitly"]
async fn get_flow_requests_per_second() {
    let concurrency = env_or("BENCH_CONCURRENCY", 32) as usize;
    let seconds = env_or("BENCH_SECONDS", 5);
    let report = get_flow_load(concurrency, Duration::from_secs(seconds)).await;
    println!("sandbox GET /api/v2/flows/{{id}}: {report}");
    assert_eq!(report.errors, 0);
    assert_eq!(
        report.statuses.keys().copied().collect::<Vec<_>>(),
        vec![200]
    );
}

/// A quick smoke run of the same path, so the bench code stays working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_flow_load_smoke() {
    let report = get_flow_load(4, Duration::from_millis(300)).await;
    assert!(report.requests > 10, "{report}");
    assert_eq!(report.errors, 0, "{report}");
    assert!(report.p50 <= report.p99 && report.p99 <= report.max);
}
