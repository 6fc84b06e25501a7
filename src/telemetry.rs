//! Logging with tracing: human-readable by default, JSON on request.
//!
//! Every HTTP request runs in a `request` span carrying `request_id` (the `x-request-id` header,
//! set by `SetRequestIdLayer` when the client sent none), `method`, `route` (the template, e.g.
//! `/v1/templates/{name}`) and `path`; one line per response gives `status` and `latency`.
//! Code that starts work on behalf of a request (a provisioning job, Genesys calls) should keep
//! [`request_id`] with that work and open its own spans with it, so one id finds every line.
//!
//! Secrets never reach the log: request headers are not logged at all, `Authorization` is
//! additionally marked sensitive, and configuration secrets are `SecretString`s.

use std::io::IsTerminal;

use axum::extract::MatchedPath;
use axum::http::{HeaderMap, Request};
use tracing::Span;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The request id header, set on every request and echoed on every response.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Keeps the log writer thread alive; dropping it flushes what is buffered.
pub type LogGuard = tracing_appender::non_blocking::WorkerGuard;

/// Installs the global subscriber; `RUST_LOG` overrides the default filter. Lines are
/// written to stderr by a background thread, so a request never waits for the terminal or
/// the container runtime; none is dropped (the writer applies back-pressure when its large
/// buffer is full). Keep the guard until the process ends.
pub fn init(format: LogFormat) -> LogGuard {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(256 * 1024)
        .finish(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        // Colour codes only for a person at a terminal, never in files or container logs.
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    guard
}

/// The request id of a request (or of the request that caused some work), if any.
pub fn request_id(headers: &HeaderMap) -> Option<&str> {
    headers.get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok())
}

/// The span of one HTTP request (for `TraceLayer::make_span_with`). It must run after
/// `SetRequestIdLayer` so the id is there.
pub fn request_span<B>(req: &Request<B>) -> Span {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    tracing::info_span!(
        "request",
        request_id = request_id(req.headers()).unwrap_or(""),
        method = %req.method(),
        route,
        path = req.uri().path(),
    )
}
