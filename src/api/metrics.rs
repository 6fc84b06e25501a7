//! The HTTP side of the metrics: the middleware that counts and times every request, and
//! `GET /metrics`, which reads the job and step counts from the database at scrape time and
//! appends them to the recorder's text ([`crate::metrics`] stays a leaf).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AppState, TAG_OPERATIONS};
use crate::metrics::{CONTENT_TYPE, names, render};
use crate::store::Store;

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

/// Jobs and steps by state, read from the database at scrape time. A failing query is logged
/// and the gauges are left out: a scrape never fails because of it.
pub async fn state_gauges(store: &Store) -> String {
    match store.state_counts().await {
        Ok(c) => crate::metrics::state_gauges(&c.jobs, &c.steps),
        Err(e) => {
            tracing::warn!(error = %e, "reading job and step counts for /metrics failed");
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn state_gauges_report_every_state_of_this_database() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("m.db").display());
        let store = Store::open(&url).await.unwrap();
        let text = state_gauges(&store).await;
        store.close().await;
        for line in [
            "flowsmith_jobs{state=\"queued\"} 0",
            "flowsmith_jobs{state=\"cancelled\"} 0",
            "flowsmith_steps{state=\"pending\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing: {text}");
        }
    }
}
