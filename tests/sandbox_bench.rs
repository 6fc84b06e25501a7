//! The sandbox load path stays working; the figure itself comes from
//! `flowsmith bench sandbox` (see BENCHMARKS.md).

// Test code: a panic is a failed assertion, and a scenario may read top to bottom.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use std::time::Duration;

use flowsmith_sandbox::bench::get_flow_load;

/// A quick smoke run of the same path, so the bench code stays working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_flow_load_smoke() {
    let report = get_flow_load(4, Duration::from_millis(300)).await;
    assert!(report.requests > 10, "{report}");
    assert_eq!(report.errors, 0, "{report}");
    assert!(report.p50 <= report.p99 && report.p99 <= report.max);
}
