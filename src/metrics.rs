//! Prometheus metrics: one recorder per process, an HTTP middleware, and `GET /metrics`.
//!
//! Any code in the process records with the `metrics` macros (`metrics::counter!`,
//! `metrics::histogram!`); the names other modules emit are listed in [`names`] so they are
//! described (HELP lines) and get suitable histogram buckets. Without [`handle`] having been
//! called the macros are no-ops, so library code never needs to know whether metrics are on.
//!
//! Counts that live in the database (jobs and steps by state) are not kept in the recorder: they
//! are read at scrape time by [`state_gauges`] and appended to the rendered text, so two
//! services in one process (tests) never report each other's rows.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::{AppState, TAG_OPERATIONS};
use crate::jobs::model::{JobStatus, StepState};
use crate::store::Store;

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

/// Job statuses and step states always reported (as 0 when absent), so a gauge drops to 0
/// instead of vanishing.
fn job_states() -> Vec<&'static str> {
    JobStatus::ALL.iter().map(|s| s.as_str()).collect()
}

fn step_states() -> Vec<&'static str> {
    StepState::ALL.iter().map(|s| s.as_str()).collect()
}

/// Gauges read from the database at scrape time: jobs and steps by state
/// (`SELECT state, COUNT(*) ... GROUP BY state`). A failing query is logged and the gauges
/// are left out: a scrape never fails because of it.
pub async fn state_gauges(store: &Store) -> String {
    let counts = match store.state_counts().await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "reading job and step counts for /metrics failed");
            return String::new();
        }
    };
    let samples = |known: &[&'static str], rows: &[(String, i64)]| -> Vec<(String, i64)> {
        let mut out: Vec<(String, i64)> = known.iter().map(|s| ((*s).to_owned(), 0)).collect();
        for (state, n) in rows {
            match out.iter_mut().find(|(s, _)| s == state) {
                Some(slot) => slot.1 = *n,
                None => out.push((state.clone(), *n)),
            }
        }
        out
    };
    let jobs = samples(&job_states(), &counts.jobs);
    let steps = samples(&step_states(), &counts.steps);
    let mut out = gauge_family(names::JOBS, "Provisioning jobs by status", &as_refs(&jobs));
    out.push_str(&gauge_family(
        names::STEPS,
        "Provisioning steps by state",
        &as_refs(&steps),
    ));
    out
}

fn as_refs(v: &[(String, i64)]) -> Vec<(&str, i64)> {
    v.iter().map(|(s, n)| (s.as_str(), *n)).collect()
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

/// Records `flowsmith_http_requests_total` and `flowsmith_http_request_duration_seconds`.
/// Installed with `Router::layer`, so it runs after routing and sees the route template.
pub async fn track_http(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(req).await;
    let elapsed = start.elapsed().as_secs_f64();
    let status = response.status().as_u16().to_string();
    metrics::counter!(names::HTTP_REQUESTS, "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!(names::HTTP_DURATION, "method" => method, "route" => route).record(elapsed);
    response
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics_text))
}

/// Metrics in the Prometheus text format: HTTP requests and latencies, jobs and steps by state,
/// step durations, Genesys requests, 429s, rate-limiter waits and token refreshes.
#[utoipa::path(get, path = "/metrics", tag = TAG_OPERATIONS,
    responses((status = 200, description = "Prometheus text exposition format 0.0.4",
        content_type = "text/plain; version=0.0.4", body = String)))]
async fn metrics_text(State(state): State<AppState>) -> impl IntoResponse {
    let extra = state_gauges(&state.store).await;
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], render(&extra))
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

    #[tokio::test]
    async fn state_gauges_report_every_state_of_this_database() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("m.db").display());
        let store = Store::open(&url).await.unwrap();
        let text = state_gauges(&store).await;
        store.close().await;
        assert!(
            text.starts_with(
                "# HELP flowsmith_jobs Provisioning jobs by status\n# TYPE flowsmith_jobs gauge\n"
            ),
            "{text}"
        );
        for line in [
            "flowsmith_jobs{state=\"queued\"} 0",
            "flowsmith_jobs{state=\"cancelled\"} 0",
            "# TYPE flowsmith_steps gauge",
            "flowsmith_steps{state=\"pending\"} 0",
            "flowsmith_steps{state=\"skipped\"} 0",
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
