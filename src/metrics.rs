//! Prometheus metrics: one recorder per process, the metric names, and the text of the
//! gauges read at scrape time. A leaf (it imports only [`crate::job_model`]): the Genesys
//! client, the store and the worker record through it, and the HTTP side (the middleware
//! and `GET /metrics`) lives in `api/metrics.rs`.
//!
//! Any code in the process records with the `metrics` macros (`metrics::counter!`,
//! `metrics::histogram!`); the names other modules emit are listed in [`names`] so they are
//! described (HELP lines) and get suitable histogram buckets. Without [`handle`] having been
//! called the macros are no-ops, so library code never needs to know whether metrics are on.
//!
//! Counts that live in the database (jobs and steps by state) are not kept in the recorder: they
//! are read at scrape time (`api/metrics.rs`), formatted by [`state_gauges`] and appended to
//! the rendered text, so two services in one process (tests) never report each other's rows.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::job_model::{JobStatus, StepState};

/// Metric names; the other modules' names are contracts with dashboards, keep them stable.
pub mod names {
    /// Counter `{method, route, status}`; `route` is the route template or `unmatched`.
    pub const HTTP_REQUESTS: &str = "flowsmith_http_requests_total";
    /// Histogram `{method, route}`, seconds.
    pub const HTTP_DURATION: &str = "flowsmith_http_request_duration_seconds";
    /// Histogram `{target, action}`, seconds: one provisioning step (emitted by the worker).
    pub const STEP_DURATION: &str = "flowsmith_step_duration_seconds";
    /// Counter `{target, action, outcome}`: steps ended (succeeded, failed, skipped,
    /// cancelled, or interrupted by shutdown or a lost lease and left to resume).
    pub const STEPS_TOTAL: &str = "flowsmith_steps_total";
    /// Counter `{target, status}`: jobs that reached a final status (succeeded, failed,
    /// cancelled); a dry run counts when it is stored.
    pub const JOBS_TOTAL: &str = "flowsmith_jobs_total";
    /// Counter `{target, endpoint, status}` (emitted by the Genesys client).
    pub const GENESYS_REQUESTS: &str = "flowsmith_genesys_requests_total";
    /// Counter `{target}`: 429 answers received (emitted by the Genesys client).
    pub const GENESYS_RATE_LIMITED: &str = "flowsmith_genesys_rate_limited_total";
    /// Histogram `{target}`, seconds waited for the client-side rate limiter.
    pub const GENESYS_LIMITER_WAIT: &str = "flowsmith_genesys_limiter_wait_seconds";
    /// Counter `{target}`: OAuth tokens fetched.
    pub const GENESYS_TOKEN_REFRESHES: &str = "flowsmith_genesys_token_refreshes_total";
    /// Counter `{fault}`: writes the database refused for a storage fault (full, read_only,
    /// io, busy); readiness probes are not counted.
    pub const STORE_WRITE_FAULTS: &str = "flowsmith_store_write_faults_total";
    /// Counter `{action}`: connections past `max_connections` (`evicted`: an idle
    /// connection was closed to make room; `refused`: none was idle, the new one was closed).
    pub const HTTP_CONNECTION_LIMIT: &str = "flowsmith_http_connection_limit_total";
    /// Gauge: HTTP connections open.
    pub const HTTP_CONNECTIONS: &str = "flowsmith_http_connections";
    /// Gauge `{state}`: jobs by state, read from the database at scrape time.
    pub const JOBS: &str = "flowsmith_jobs";
    /// Gauge `{state}`: steps by state, read from the database at scrape time.
    pub const STEPS: &str = "flowsmith_steps";
    /// Gauge `{target}`: flows not in sync with flowsmith's records at the last drift check
    /// (`GET /v1/targets/{target}/drift`, or the periodic check).
    pub const DRIFTED_FLOWS: &str = "flowsmith_drifted_flows";
}

/// Buckets for request latencies: most answers take milliseconds.
const HTTP_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Buckets for waits on the Genesys rate limiter: zero when idle, up to a minute when saturated.
const WAIT_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];
/// Buckets for provisioning steps: several Genesys calls, a publish job that may take minutes.
const STEP_BUCKETS: &[f64] = &[
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// The Prometheus text exposition content type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide recorder, installed on first use. Several services in one process (tests)
/// share it.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(install)
}

fn install() -> PrometheusHandle {
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(names::HTTP_DURATION.into()), HTTP_BUCKETS)
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full(names::GENESYS_LIMITER_WAIT.into()),
                WAIT_BUCKETS,
            )
        })
        .and_then(|b| {
            b.set_buckets_for_metric(Matcher::Full(names::STEP_DURATION.into()), STEP_BUCKETS)
        })
        .expect("bucket lists are not empty");
    let handle = match builder.install_recorder() {
        Ok(h) => h,
        // Someone else installed a global recorder first: keep a private one so /metrics still
        // answers (with HTTP metrics missing) rather than failing the service.
        Err(e) => {
            tracing::warn!(error = %e, "a metrics recorder was already installed; /metrics will be partial");
            PrometheusBuilder::new().build_recorder().handle()
        }
    };
    describe();
    // The handle does not clean up histogram samples by itself when installed this way; a
    // plain thread does it so it outlives any one runtime (tests run several).
    let upkeep = handle.clone();
    let _ = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            }
        });
    handle
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_histogram};
    describe_counter!(
        names::HTTP_REQUESTS,
        "HTTP requests answered, by method, route template and status"
    );
    describe_histogram!(
        names::HTTP_DURATION,
        Unit::Seconds,
        "Time to answer an HTTP request (until the response head), by method and route template"
    );
    describe_histogram!(
        names::STEP_DURATION,
        Unit::Seconds,
        "Duration of one provisioning step"
    );
    describe_counter!(
        names::STEPS_TOTAL,
        "Provisioning steps ended, by target, action and outcome"
    );
    describe_counter!(
        names::JOBS_TOTAL,
        "Provisioning jobs that reached a final status, by target and status"
    );
    describe_counter!(
        names::GENESYS_REQUESTS,
        "Requests sent to Genesys Cloud, by target, endpoint and status"
    );
    describe_counter!(
        names::GENESYS_RATE_LIMITED,
        "429 Too Many Requests answers received from Genesys Cloud"
    );
    describe_histogram!(
        names::GENESYS_LIMITER_WAIT,
        Unit::Seconds,
        "Time spent waiting for the client-side Genesys rate limiter"
    );
    describe_counter!(
        names::STORE_WRITE_FAULTS,
        "Writes the database refused for a storage fault (disk full, read-only file, I/O error, busy)"
    );
    describe_counter!(
        names::HTTP_CONNECTION_LIMIT,
        "Connections past max_connections: an idle one closed to make room (evicted) or the new one closed (refused)"
    );
    metrics::describe_gauge!(names::HTTP_CONNECTIONS, "HTTP connections open");
    describe_counter!(
        names::GENESYS_TOKEN_REFRESHES,
        "OAuth access tokens fetched from Genesys Cloud"
    );
}

/// Renders every recorded metric, then `extra` (more exposition text, e.g. from
/// [`state_gauges`]).
pub fn render(extra: &str) -> String {
    let mut out = handle().render();
    if !extra.is_empty() {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(extra);
    }
    out
}

/// Counts a job that reached a final status (`flowsmith_jobs_total{target, status}`).
pub fn count_job(target: &str, status: JobStatus) {
    metrics::counter!(
        names::JOBS_TOTAL,
        "target" => target.to_owned(),
        "status" => status.as_str()
    )
    .increment(1);
}

/// The gauges of jobs by status and steps by state, from `(state, count)` rows
/// (`SELECT state, COUNT(*) ... GROUP BY state`). Every known state is reported (as 0 when
/// absent), so a gauge drops to 0 instead of vanishing; an unknown one is reported as is.
pub fn state_gauges(jobs: &[(String, i64)], steps: &[(String, i64)]) -> String {
    fn samples(known: &[&'static str], rows: &[(String, i64)]) -> Vec<(String, i64)> {
        let mut out: Vec<(String, i64)> = known.iter().map(|s| ((*s).to_owned(), 0)).collect();
        for (state, n) in rows {
            match out.iter_mut().find(|(s, _)| s == state) {
                Some(slot) => slot.1 = *n,
                None => out.push((state.clone(), *n)),
            }
        }
        out
    }
    fn as_refs(v: &[(String, i64)]) -> Vec<(&str, i64)> {
        v.iter().map(|(s, n)| (s.as_str(), *n)).collect()
    }
    let job_states: Vec<&str> = JobStatus::ALL.iter().map(|s| s.as_str()).collect();
    let step_states: Vec<&str> = StepState::ALL.iter().map(|s| s.as_str()).collect();
    let jobs = samples(&job_states, jobs);
    let steps = samples(&step_states, steps);
    let mut out = gauge_family(names::JOBS, "Provisioning jobs by status", &as_refs(&jobs));
    out.push_str(&gauge_family(
        names::STEPS,
        "Steps of unfinished (queued or running) provisioning jobs by state",
        &as_refs(&steps),
    ));
    out
}

/// Formats one gauge family in the text exposition format, one sample per `(state, value)`.
pub fn gauge_family(name: &str, help: &str, samples: &[(&str, i64)]) -> String {
    let mut out = format!("# HELP {name} {help}\n# TYPE {name} gauge\n");
    for (state, value) in samples {
        let state = state.replace('\\', "\\\\").replace('"', "\\\"");
        out.push_str(&format!("{name}{{state=\"{state}\"}} {value}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauge_family_is_exposition_text() {
        let text = gauge_family(names::JOBS, "Jobs by state", &[("queued", 2), ("a\"b", 0)]);
        assert_eq!(
            text,
            "# HELP flowsmith_jobs Jobs by state\n# TYPE flowsmith_jobs gauge\nflowsmith_jobs{state=\"queued\"} 2\nflowsmith_jobs{state=\"a\\\"b\"} 0\n"
        );
    }

    #[test]
    fn state_gauges_report_every_known_state_and_unknown_ones() {
        let text = state_gauges(&[("running".into(), 2)], &[("mystery".into(), 1)]);
        assert!(
            text.starts_with(
                "# HELP flowsmith_jobs Provisioning jobs by status\n# TYPE flowsmith_jobs gauge\n"
            ),
            "{text}"
        );
        for line in [
            "flowsmith_jobs{state=\"queued\"} 0",
            "flowsmith_jobs{state=\"running\"} 2",
            "flowsmith_jobs{state=\"cancelled\"} 0",
            "# TYPE flowsmith_steps gauge",
            "flowsmith_steps{state=\"pending\"} 0",
            "flowsmith_steps{state=\"skipped\"} 0",
            "flowsmith_steps{state=\"mystery\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing: {text}");
        }
    }

    #[test]
    fn recorder_is_installed_once_and_histograms_have_buckets() {
        assert!(std::ptr::eq(handle(), handle()));
        metrics::histogram!(names::GENESYS_LIMITER_WAIT, "target" => "unit").record(0.002);
        let text = render("extra_metric 1\n");
        assert!(
            text.contains(
                "flowsmith_genesys_limiter_wait_seconds_bucket{target=\"unit\",le=\"0.005\"} 1"
            ),
            "{text}"
        );
        assert!(text.ends_with("extra_metric 1\n"), "{text}");
    }
}
