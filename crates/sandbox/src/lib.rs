//! The sandbox: an in-memory emulator of the slice of the Genesys Cloud Platform API v2 that
//! flowsmith uses (design section 9). OAuth, Architect flows and jobs, routing queues,
//! dependency tracking, per-token rate limits and injectable faults, plus an admin API under
//! `/sandbox/`. Its Architect job judges the uploaded Archy YAML from the evidence
//! ([`archy`]), and `POST /sandbox/calls` places calls through the published flows with the
//! Archy interpreter ([`calls`], [`crate::archy::interpret`]).
//!
//! Rate limiting is a fixed window per token (60 s, as Genesys; `--rate-window-secs` and the
//! `rate_window_secs` fault shorten it for tests), started by the token's first request
//! in the window; `inin-ratelimit-reset` is the number of seconds until the window ends and
//! `Retry-After` on a 429 is the same number (at least 1). When the limit is off (0) the
//! headers are still sent, with `inin-ratelimit-allowed` = 2147483647.
//!
//! The presigned upload (`PUT /sandbox-uploads/{jobId}`) is one-shot: after a successful
//! upload a second PUT on the same URL gets `403 AccessDenied` ("Request has expired"), as an
//! expired presigned URL would. It is not rate-limited and takes no bearer token.
//!
//! A crate of the workspace (issue 20): the service library does not depend on it; the
//! `flowsmith` binary (feature `cli`) and the tests do. [`loadgen`] is the HTTP load
//! generator of the benchmarks.

mod admin;
mod api;
pub mod archy;
pub mod bench;
pub mod calls;
pub mod loadgen;
pub mod org;
mod shapes;
pub mod snapshot;
pub mod state;

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State as AxState};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde_json::json;
use uuid::Uuid;

use archy::unverified::{CODE_BAD_TOKEN, CODE_MISSING_TOKEN};
use state::{Faults, State, Token};

/// Options of `flowsmith sandbox` (and of the in-process sandbox of `serve --sandbox`).
#[derive(clap::Args, Debug, Clone)]
pub struct SandboxOptions {
    /// OAuth client as ID:SECRET (repeatable). Default: sandbox:sandbox-secret
    #[arg(long = "client", value_name = "ID:SECRET")]
    pub clients: Vec<String>,
    /// Queue to seed (repeatable). Default: General
    #[arg(long = "queue", value_name = "NAME")]
    pub queues: Vec<String>,
    /// Requests per window per token (fixed window, 60 s by default: per minute); 0 = off
    #[arg(long, default_value_t = 300)]
    pub rate_limit: u32,
    /// Length of the fixed rate-limit window, seconds (Genesys: 60; tests use a few)
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub rate_window_secs: u64,
    /// Added latency of every API and OAuth request, milliseconds
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Fraction (0..=1) of /api/v2 requests answered with 503/502
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Time an Architect job stays Started before it ends, milliseconds
    #[arg(long, default_value_t = 500)]
    pub job_duration_ms: u64,
    /// Fraction (0..=1) of valid Architect jobs failed with a retryable backend error
    #[arg(long, default_value_t = 0.0)]
    pub job_failure_rate: f64,
    /// Lifetime of access tokens (expires_in), seconds
    #[arg(long, default_value_t = 86400)]
    pub token_ttl: u64,
    /// Publish calls into common modules whatever their `compatibleFlowTypes` (Genesys
    /// refuses a module not compatible with the caller's flow type; so does the sandbox
    /// without this flag)
    #[arg(long)]
    pub no_module_compatibility: bool,
    /// JSON file of org objects to seed: {dataActions, dataTables, scheduleGroups, prompts},
    /// each entry the body of the matching `POST /sandbox/...` admin call
    #[arg(long = "org", value_name = "FILE", value_parser = parse_org_file)]
    pub org: Option<org::OrgFile>,
    /// Schedule group to seed, with what it evaluates to (repeatable)
    #[arg(long = "schedule-group", value_name = "NAME=open|closed|holiday|emergency", value_parser = parse_schedule_group)]
    pub schedule_groups: Vec<org::ScheduleGroupSpec>,
    /// Architect prompt to seed (repeatable)
    #[arg(long = "prompt", value_name = "NAME", value_parser = parse_prompt)]
    pub prompts: Vec<org::PromptSpec>,
}

/// The org objects the shipped examples name (examples/sandbox-org.json, built in):
/// what `serve --sandbox` seeds unless `--sandbox-org` is given.
pub fn demo_org() -> org::OrgFile {
    let f: org::OrgFile = serde_json::from_str(include_str!("../../../examples/sandbox-org.json"))
        .expect("examples/sandbox-org.json parses (unit-tested)");
    f
}

/// Reads and checks an `--org` file.
pub fn parse_org_file(path: &str) -> Result<org::OrgFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let f: org::OrgFile = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    f.check().map_err(|e| format!("{path}: {e}"))?;
    Ok(f)
}

fn parse_schedule_group(s: &str) -> Result<org::ScheduleGroupSpec, String> {
    let (name, state) = s
        .rsplit_once('=')
        .ok_or_else(|| "expected NAME=open|closed|holiday|emergency".to_owned())?;
    let spec = org::ScheduleGroupSpec {
        name: name.to_owned(),
        state: serde_json::from_value(serde_json::Value::String(state.to_owned()))
            .map_err(|_| format!("unknown state '{state}': open, closed, holiday or emergency"))?,
    };
    spec.check().map_err(|e| e.to_string())?;
    Ok(spec)
}

fn parse_prompt(s: &str) -> Result<org::PromptSpec, String> {
    let spec = org::PromptSpec { name: s.to_owned() };
    spec.check().map_err(|e| e.to_string())?;
    Ok(spec)
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            clients: Vec::new(),
            queues: Vec::new(),
            rate_limit: 300,
            rate_window_secs: 60,
            latency_ms: 0,
            error_rate: 0.0,
            job_duration_ms: 500,
            job_failure_rate: 0.0,
            token_ttl: 86400,
            no_module_compatibility: false,
            org: None,
            schedule_groups: Vec::new(),
            prompts: Vec::new(),
        }
    }
}

/// `flowsmith sandbox`: where to listen, plus the sandbox options.
#[derive(clap::Args, Debug, Clone)]
pub struct SandboxCommand {
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1:9090", value_name = "ADDR")]
    pub listen: String,
    /// Keep the org (flows, versions, queues, ended jobs) in this file across restarts
    /// [default: in memory only]
    #[arg(long, value_name = "FILE")]
    pub state: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub options: SandboxOptions,
}

/// Runs `flowsmith sandbox` until `shutdown` resolves (e.g. `tokio::signal::ctrl_c()`).
pub async fn run_command(
    cmd: SandboxCommand,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sandbox = match cmd.state {
        Some(path) => Sandbox::open(cmd.options, path).map_err(std::io::Error::other)?,
        None => Sandbox::new(cmd.options),
    };
    let listener = tokio::net::TcpListener::bind(&cmd.listen).await?;
    tracing::info!(addr = %listener.local_addr()?, "sandbox listening");
    serve(listener, sandbox, shutdown).await
}

/// Default OAuth client when no `--client` is given.
pub const DEFAULT_CLIENT_ID: &str = "sandbox";
pub const DEFAULT_CLIENT_SECRET: &str = "sandbox-secret";

struct Inner {
    opts: SandboxOptions,
    /// (client id, secret).
    clients: Vec<(String, String)>,
    state: Mutex<State>,
    /// Where the org is kept across restarts, if anywhere.
    file: Option<snapshot::StateFile>,
}

/// A running sandbox org. Cheap to clone.
#[derive(Clone)]
pub struct Sandbox(Arc<Inner>);

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("opts", &self.0.opts)
            .finish()
    }
}

impl Sandbox {
    /// An org in memory only.
    pub fn new(opts: SandboxOptions) -> Sandbox {
        let state = State::new(&opts);
        Sandbox::with_state(opts, state, None)
    }

    /// An org kept in `path`: loaded from it if it exists, saved to it as it changes.
    pub fn open(
        opts: SandboxOptions,
        path: std::path::PathBuf,
    ) -> Result<Sandbox, snapshot::SnapshotError> {
        let mut state = State::new(&opts);
        snapshot::load(&path, &mut state)?;
        Ok(Sandbox::with_state(
            opts,
            state,
            Some(snapshot::StateFile::new(path)),
        ))
    }

    fn with_state(
        opts: SandboxOptions,
        state: State,
        file: Option<snapshot::StateFile>,
    ) -> Sandbox {
        let mut clients: Vec<(String, String)> = opts
            .clients
            .iter()
            .map(|c| match c.split_once(':') {
                Some((id, secret)) => (id.to_owned(), secret.to_owned()),
                None => (c.clone(), String::new()),
            })
            .collect();
        if clients.is_empty() {
            clients.push((DEFAULT_CLIENT_ID.into(), DEFAULT_CLIENT_SECRET.into()));
        }
        Sandbox(Arc::new(Inner {
            opts,
            clients,
            state: Mutex::new(state),
            file,
        }))
    }

    /// Every route: `/oauth/token`, `/api/v2/*`, `/sandbox-uploads/*` and `/sandbox/*`.
    pub fn router(&self) -> Router {
        api::routes()
            .merge(admin::routes())
            .fallback(api::not_found)
            .layer(middleware::from_fn_with_state(self.clone(), gate))
            .with_state(self.clone())
    }

    /// The lock on the state. Never held across an `.await`; a panic while holding it does
    /// not make the sandbox unusable.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Saves the org to its state file, if it has one.
    pub(crate) async fn persist(&self) {
        if let Some(file) = &self.0.file {
            file.save(self).await;
        }
    }

    pub fn faults(&self) -> Faults {
        self.lock().faults.clone()
    }

    pub(crate) fn client_secret(&self, id: &str) -> Option<&str> {
        self.0
            .clients
            .iter()
            .find(|(c, _)| c == id)
            .map(|(_, s)| s.as_str())
    }

    pub(crate) fn options(&self) -> &SandboxOptions {
        &self.0.opts
    }
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    sandbox: Sandbox,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, sandbox.router())
        .with_graceful_shutdown(shutdown)
        .await
}

/// Starts a sandbox on 127.0.0.1:0 in a background task; returns its base URL
/// ("http://127.0.0.1:PORT") and the handle.
pub async fn spawn_local(opts: SandboxOptions) -> std::io::Result<(String, Sandbox)> {
    spawn_sandbox(Sandbox::new(opts)).await
}

/// [`spawn_local`] with the org kept in the file `state` across restarts, on the port it
/// had last time when that is free (kept in `<state>` with the extension `addr`), so the
/// URLs a user copied from its start-up line keep working after a restart.
pub async fn spawn_local_kept(
    opts: SandboxOptions,
    state: std::path::PathBuf,
) -> std::io::Result<(String, Sandbox)> {
    let port_file = state.with_extension("addr");
    let sandbox = Sandbox::open(opts, state).map_err(std::io::Error::other)?;
    let last: Option<u16> = std::fs::read_to_string(&port_file)
        .ok()
        .and_then(|s| s.trim().parse().ok());
    let listener = match last {
        Some(port) => match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(port, error = %e, "the sandbox's last port is taken; it moves");
                tokio::net::TcpListener::bind("127.0.0.1:0").await?
            }
        },
        None => tokio::net::TcpListener::bind("127.0.0.1:0").await?,
    };
    let port = listener.local_addr()?.port();
    if last != Some(port) {
        std::fs::write(&port_file, format!("{port}\n"))?;
    }
    serve_in_background(listener, sandbox)
}

async fn spawn_sandbox(sandbox: Sandbox) -> std::io::Result<(String, Sandbox)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    serve_in_background(listener, sandbox)
}

fn serve_in_background(
    listener: tokio::net::TcpListener,
    sandbox: Sandbox,
) -> std::io::Result<(String, Sandbox)> {
    let addr = listener.local_addr()?;
    let sb = sandbox.clone();
    tokio::spawn(async move {
        if let Err(e) = serve(listener, sb, std::future::pending()).await {
            tracing::error!(error = %e, "sandbox server stopped");
        }
    });
    Ok((format!("http://{addr}"), sandbox))
}

tokio::task_local! {
    static CONTEXT_ID: String;
}

/// The correlation id of the request being handled (also `contextId` in error bodies).
pub(crate) fn context_id() -> String {
    CONTEXT_ID.try_with(|c| c.clone()).unwrap_or_default()
}

/// A Genesys `ErrorBody` response.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_owned(),
            message: message.into(),
        }
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not.found", message)
    }
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad.request", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "message": self.message,
            "code": self.code,
            "status": self.status.as_u16(),
            "contextId": context_id(),
            "details": [],
            "errors": [],
        });
        (self.status, axum::Json(body)).into_response()
    }
}

/// The client id behind the bearer token of an authorised `/api/v2` request.
#[derive(Debug, Clone)]
pub(crate) struct Caller(pub String);

const UNLIMITED: u32 = i32::MAX as u32;

enum Gate {
    Pass {
        client: String,
        allowed: u32,
        count: u32,
        reset: u64,
    },
    Limited {
        allowed: u32,
        count: u32,
        reset: u64,
    },
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get("authorization")?.to_str().ok()?;
    let (scheme, tok) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| tok.trim())
}

/// Checks the bearer token and counts the request against its window.
fn admit(sb: &Sandbox, headers: &HeaderMap) -> Result<Gate, ApiError> {
    let Some(tok) = bearer(headers) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            CODE_MISSING_TOKEN,
            "No authentication bearer token specified in authorization header.",
        ));
    };
    let now = Instant::now();
    let mut st = sb.lock();
    let limit = st.faults.rate_limit;
    let window = Duration::from_secs(st.faults.rate_window_secs.max(1));
    let invalid = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            CODE_BAD_TOKEN,
            "Invalid login credentials.",
        )
    };
    let token: &mut Token = st.tokens.get_mut(tok).ok_or_else(invalid)?;
    if token.expires_at <= now {
        return Err(invalid());
    }
    if now.duration_since(token.window_start) >= window {
        token.window_start = now;
        token.count = 0;
    }
    let remaining = window.saturating_sub(now.duration_since(token.window_start));
    let reset = remaining.as_secs_f64().ceil().max(1.0) as u64;
    if limit == 0 {
        token.count = token.count.saturating_add(1);
        return Ok(Gate::Pass {
            client: token.client_id.clone(),
            allowed: UNLIMITED,
            count: token.count,
            reset,
        });
    }
    if token.count >= limit {
        return Ok(Gate::Limited {
            allowed: limit,
            count: token.count,
            reset,
        });
    }
    token.count += 1;
    Ok(Gate::Pass {
        client: token.client_id.clone(),
        allowed: limit,
        count: token.count,
        reset,
    })
}

/// The one middleware: correlation id, latency, auth, rate limit, 5xx injection, counters.
async fn gate(AxState(sb): AxState<Sandbox>, mut req: Request, next: Next) -> Response {
    let cid = Uuid::new_v4().to_string();
    let path = req.uri().path().to_owned();
    let route = match req.extensions().get::<MatchedPath>() {
        Some(m) => format!("{} {}", req.method(), m.as_str()),
        None => format!("{} (unmatched)", req.method()),
    };
    let is_api = path == "/api/v2" || path.starts_with("/api/v2/");
    let is_oauth = path == "/oauth/token";
    let is_admin = path.starts_with("/sandbox/");
    // What a GET cannot change needs no save.
    let may_change = !matches!(*req.method(), Method::GET | Method::HEAD);
    CONTEXT_ID
        .scope(cid.clone(), async move {
            let faults = sb.faults();
            if (is_api || is_oauth) && faults.latency_ms > 0 {
                tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
            }
            let mut rate = None;
            let mut resp = if is_api {
                match admit(&sb, req.headers()) {
                    Err(e) => e.into_response(),
                    Ok(Gate::Limited {
                        allowed,
                        count,
                        reset,
                    }) => {
                        rate = Some((allowed, count, reset));
                        let mut r = ApiError::new(
                            StatusCode::TOO_MANY_REQUESTS,
                            "too.many.requests.retry.after",
                            format!(
                                "Rate limit exceeded the maximum. Retry the request in [{reset}] seconds"
                            ),
                        )
                        .into_response();
                        r.headers_mut()
                            .insert("retry-after", HeaderValue::from(reset));
                        r
                    }
                    Ok(Gate::Pass {
                        client,
                        allowed,
                        count,
                        reset,
                    }) => {
                        rate = Some((allowed, count, reset));
                        let roll: f64 = rand::thread_rng().r#gen();
                        if faults.error_rate > 0.0 && roll < faults.error_rate {
                            if rand::thread_rng().gen_bool(0.5) {
                                ApiError::new(
                                    StatusCode::SERVICE_UNAVAILABLE,
                                    "service.unavailable",
                                    "The service is currently unavailable",
                                )
                                .into_response()
                            } else {
                                ApiError::new(
                                    StatusCode::BAD_GATEWAY,
                                    "bad.gateway",
                                    "The server received an invalid response from an upstream server",
                                )
                                .into_response()
                            }
                        } else {
                            req.extensions_mut().insert(Caller(client));
                            next.run(req).await
                        }
                    }
                }
            } else {
                next.run(req).await
            };
            let h = resp.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&cid) {
                h.insert("inin-correlation-id", v);
            }
            if let Some((allowed, count, reset)) = rate {
                h.insert("inin-ratelimit-allowed", HeaderValue::from(allowed));
                h.insert("inin-ratelimit-count", HeaderValue::from(count));
                h.insert("inin-ratelimit-reset", HeaderValue::from(reset));
            }
            if !is_admin {
                let status = resp.status().as_u16();
                let mut st = sb.lock();
                *st.counters
                    .entry(route)
                    .or_default()
                    .entry(status)
                    .or_default() += 1;
            }
            if may_change {
                sb.persist().await;
            }
            resp
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        cmd: SandboxCommand,
    }

    #[test]
    fn options_parse_and_default() {
        let cli = Cli::parse_from([
            "x",
            "--listen",
            "0.0.0.0:1",
            "--client",
            "a:b",
            "--client",
            "c:d",
            "--queue",
            "Q1",
            "--rate-limit",
            "0",
            "--latency-ms",
            "5",
            "--error-rate",
            "0.5",
            "--job-duration-ms",
            "10",
            "--job-failure-rate",
            "0.25",
            "--token-ttl",
            "60",
            "--rate-window-secs",
            "2",
        ]);
        let o = &cli.cmd.options;
        assert_eq!(cli.cmd.listen, "0.0.0.0:1");
        assert_eq!(o.clients, vec!["a:b", "c:d"]);
        assert_eq!(o.queues, vec!["Q1"]);
        assert_eq!(
            (o.rate_limit, o.latency_ms, o.job_duration_ms, o.token_ttl),
            (0, 5, 10, 60)
        );
        assert_eq!((o.error_rate, o.job_failure_rate), (0.5, 0.25));
        assert_eq!(o.rate_window_secs, 2);
        let d = Cli::parse_from(["x"]).cmd;
        assert_eq!(d.listen, "127.0.0.1:9090");
        assert_eq!(d.state, None, "in memory unless asked");
        let kept = Cli::parse_from(["x", "--state", "org.json"]).cmd;
        assert_eq!(
            kept.state.as_deref(),
            Some(std::path::Path::new("org.json"))
        );
        let (a, b) = (d.options, SandboxOptions::default());
        assert_eq!(
            (
                a.rate_limit,
                a.latency_ms,
                a.job_duration_ms,
                a.token_ttl,
                a.clients.len()
            ),
            (
                b.rate_limit,
                b.latency_ms,
                b.job_duration_ms,
                b.token_ttl,
                b.clients.len()
            )
        );
        assert_eq!(
            (a.error_rate, a.job_failure_rate),
            (b.error_rate, b.job_failure_rate)
        );
        assert_eq!((a.rate_window_secs, b.rate_window_secs), (60, 60));
    }
}
