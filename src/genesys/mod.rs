//! The Genesys Cloud Platform API v2 client: one per target. OAuth client-credentials token
//! cache, a GCRA limiter at the target's rate, `Retry-After`-honouring 429 handling that
//! pauses the whole target, capped exponential backoff with jitter for 5xx/timeouts/resets,
//! and typed errors carrying Genesys's status, code, message and correlation id.
//!
//! Layout: `auth` (token cache), `limiter` (GCRA pacing and the 429 pause), `retry`
//! (classification, backoff, `Retry-After`).

mod auth;
mod limiter;
mod retry;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use url::Url;

use auth::{Bearer, TokenCache};
use limiter::Pacer;
pub use limiter::Priority;
use retry::Class;
pub use retry::RetryPolicy;

use crate::config::TargetConfig;
use crate::template::FlowType;

/// Why a Genesys call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GenesysError {
    /// Genesys answered an error that retrying will not fix (4xx other than 401/408/409/429).
    #[error("Genesys {status} {code}: {message} (correlation id {})", correlation_id.as_deref().unwrap_or("-"))]
    Api {
        status: u16,
        code: String,
        message: String,
        correlation_id: Option<String>,
    },
    /// The OAuth client credentials were refused.
    #[error("OAuth token request refused: {0}")]
    Auth(String),
    /// Retries were exhausted on 5xx, timeouts or connection errors; worth retrying later.
    #[error("Genesys unavailable: {0}")]
    Unavailable(String),
    /// An answer that does not have the documented shape.
    #[error("unexpected Genesys response: {0}")]
    Protocol(String),
}

impl GenesysError {
    /// Whether a later attempt may succeed (the step can be retried).
    pub fn is_retryable(&self) -> bool {
        matches!(self, GenesysError::Unavailable(_))
    }
}

/// `RegisterArchitectJobResponse`. Its presigned URL is a credential: not printed by `Debug`.
#[derive(Clone)]
pub struct RegisteredJob {
    pub id: String,
    pub presigned_url: String,
    pub headers: BTreeMap<String, String>,
}

impl std::fmt::Debug for RegisteredJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisteredJob")
            .field("id", &self.id)
            .field("presigned_url", &"[REDACTED]")
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Registered,
    Started,
    Success,
    Failure,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobMessage {
    /// "Error" or "Warning".
    pub kind: String,
    pub text: String,
}

/// `ArchitectJobStateResponse` (with `expand=messages`).
#[derive(Debug, Clone)]
pub struct ArchitectJob {
    pub id: String,
    pub status: JobStatus,
    pub flow: Option<FlowRef>,
    pub messages: Vec<JobMessage>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRef {
    pub id: String,
    pub name: String,
}

/// The parts of a Genesys `Flow` flowsmith uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowInfo {
    pub id: String,
    pub name: String,
    /// Upper case as Genesys answers: `COMMONMODULE`, `INBOUNDCALL`.
    pub flow_type: String,
    /// `publishedVersion.id`, e.g. "3.0".
    pub published_version: Option<String>,
    /// Who holds the flow checked out (`lockedUser`, else `lockedClient`; PySDK `Flow`
    /// `locked_user: User`, `locked_client: DomainEntityRef`), as "user NAME (ID)" or
    /// "client NAME (ID)".
    pub locked_by: Option<String>,
}

/// Counters of one client, for metrics and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Platform API requests sent (not counting OAuth and presigned uploads).
    pub api_requests: u64,
    pub uploads: u64,
    pub token_requests: u64,
    pub rate_limited: u64,
    pub retries: u64,
}

/// Tunables of a client. `Default` is what production uses; tests shorten the backoff.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub connect_timeout: Duration,
    /// Whole-request timeout (connect, send, and read the answer).
    pub request_timeout: Duration,
    /// Backoff for 5xx, 408, timeouts and connection errors (also of the token endpoint and
    /// of presigned uploads).
    pub retry: RetryPolicy,
    /// Retries of a 409 (lock conflict) before it becomes an `Api` error.
    pub conflict_retries: u32,
    /// Give up (`Unavailable`) once one request has waited this long in 429 pauses.
    pub max_rate_limited_wait: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            conflict_retries: 3,
            max_rate_limited_wait: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Debug, Default)]
struct Stats {
    api_requests: AtomicU64,
    uploads: AtomicU64,
    token_requests: AtomicU64,
    rate_limited: AtomicU64,
    retries: AtomicU64,
}

/// A client for one target.
pub struct GenesysClient {
    target: String,
    api_base: Url,
    http: reqwest::Client,
    options: ClientOptions,
    tokens: TokenCache,
    pacer: Pacer,
    stats: Stats,
}

impl std::fmt::Debug for GenesysClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenesysClient")
            .field("target", &self.target)
            .field("api_base", &self.api_base.as_str())
            .field("tokens", &self.tokens)
            .field("pacer", &self.pacer)
            .field("options", &self.options)
            .finish()
    }
}

/// A successful Platform API answer.
struct Answer {
    body: Vec<u8>,
}

/// A one-line description of a transport error (never contains a URL's query string, which
/// for presigned URLs is a credential).
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "reading the answer failed"
    } else if e.is_request() {
        "request failed"
    } else {
        "HTTP error"
    };
    let mut msg = kind.to_owned();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

fn correlation_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("inin-correlation-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Genesys `ErrorBody` (the parts flowsmith reports).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    message: Option<String>,
    code: Option<String>,
    context_id: Option<String>,
}

/// The `Api` error of a non-retryable answer, from its `ErrorBody` (or raw text when it is not
/// JSON).
fn api_error(status: u16, correlation: Option<String>, body: &[u8]) -> GenesysError {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let code = parsed.code.unwrap_or_else(|| default_code(status));
    let message = parsed.message.unwrap_or_else(|| snippet(body));
    GenesysError::Api {
        status,
        code,
        message,
        correlation_id: correlation.or(parsed.context_id),
    }
}

fn default_code(status: u16) -> String {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map(|r| r.to_lowercase().replace(' ', "."))
        .unwrap_or_else(|| format!("http.{status}"))
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.chars().count() > 300 {
        format!("{}…", text.chars().take(300).collect::<String>())
    } else {
        text.to_owned()
    }
}

/// The text of the first `<tag>…</tag>` in an S3-style XML error (loosely: no XML parser).
fn xml_tag(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = body.find(&open)? + open.len();
    let len = body[start..].find(&format!("</{tag}>"))?;
    Some(body[start..start + len].trim().to_owned())
}

fn upload_error(status: u16, headers: &HeaderMap, body: &[u8]) -> GenesysError {
    let text = String::from_utf8_lossy(body);
    let correlation = headers
        .get("x-amz-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| xml_tag(&text, "RequestId"));
    GenesysError::Api {
        status,
        code: xml_tag(&text, "Code").unwrap_or_else(|| default_code(status)),
        message: xml_tag(&text, "Message").unwrap_or_else(|| snippet(body)),
        correlation_id: correlation,
    }
}

fn parse<T: DeserializeOwned>(endpoint: &str, body: &[u8]) -> Result<T, GenesysError> {
    serde_json::from_slice(body).map_err(|e| GenesysError::Protocol(format!("{endpoint}: {e}")))
}

fn invalid_url(what: &str, value: &str, e: impl std::fmt::Display) -> GenesysError {
    GenesysError::Protocol(format!("invalid {what} {value:?}: {e}"))
}

fn base_url(what: &str, value: &str) -> Result<Url, GenesysError> {
    let url = Url::parse(value).map_err(|e| invalid_url(what, value, e))?;
    if url.cannot_be_a_base() || !matches!(url.scheme(), "http" | "https") {
        return Err(invalid_url(what, value, "not an http(s) base URL"));
    }
    Ok(url)
}

/// `base` with `segments` appended (each percent-encoded as one path segment).
fn join(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    if let Ok(mut p) = url.path_segments_mut() {
        p.pop_if_empty().extend(segments);
    }
    url
}

// ----- response shapes -----------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegisterResponse {
    id: String,
    presigned_url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobResponse {
    id: String,
    status: String,
    flow: Option<EntityRef>,
    #[serde(default)]
    messages: Vec<JobMessageResponse>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobMessageResponse {
    #[serde(rename = "type")]
    kind: Option<String>,
    text: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EntityRef {
    id: String,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Listing<T> {
    #[serde(default = "Vec::new")]
    entities: Vec<T>,
    page_count: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FlowResponse {
    id: String,
    name: String,
    #[serde(rename = "type")]
    flow_type: Option<String>,
    published_version: Option<VersionRef>,
    locked_user: Option<EntityName>,
    locked_client: Option<EntityName>,
}

/// `User` / `DomainEntityRef`: the fields a lock holder is named by.
#[derive(Deserialize)]
struct EntityName {
    id: Option<String>,
    name: Option<String>,
}

impl EntityName {
    fn describe(&self, what: &str) -> String {
        match (&self.name, &self.id) {
            (Some(n), Some(id)) => format!("{what} {n} ({id})"),
            (Some(n), None) => format!("{what} {n}"),
            (None, Some(id)) => format!("{what} {id}"),
            (None, None) => format!("an unnamed {what}"),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VersionRef {
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueueResponse {
    name: String,
}

impl From<FlowResponse> for FlowInfo {
    fn from(f: FlowResponse) -> FlowInfo {
        FlowInfo {
            id: f.id,
            name: f.name,
            flow_type: f.flow_type.unwrap_or_default().to_uppercase(),
            published_version: f.published_version.map(|v| v.id),
            locked_by: f
                .locked_user
                .map(|u| u.describe("user"))
                .or_else(|| f.locked_client.map(|c| c.describe("client"))),
        }
    }
}

fn job_status(s: &str) -> Result<JobStatus, GenesysError> {
    match s {
        "Registered" => Ok(JobStatus::Registered),
        "Started" => Ok(JobStatus::Started),
        "Success" => Ok(JobStatus::Success),
        "Failure" => Ok(JobStatus::Failure),
        other => Err(GenesysError::Protocol(format!(
            "unknown Architect job status {other:?}"
        ))),
    }
}

/// The `type` query value of a flow type (lower case, as the query enum).
fn flow_type_query(t: FlowType) -> &'static str {
    match t {
        FlowType::Module => "commonmodule",
        FlowType::Inbound => "inboundcall",
    }
}

/// Upper bound on pages read from one listing (a guard against a server that never ends).
/// A data action as the preflight needs it: `Action.category`, `name` and the property
/// names of its contract's input and success schemas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataActionInfo {
    pub category: String,
    pub name: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
}

/// A data table as the preflight needs it: its name and columns (schema properties
/// other than `key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataTableInfo {
    pub name: String,
    pub columns: Vec<String>,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

#[derive(Deserialize, Default)]
struct SchemaDoc {
    #[serde(default)]
    properties: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActionResponse {
    name: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    contract: Option<ContractResponse>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContractResponse {
    input: Option<ContractInput>,
    output: Option<ContractOutput>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContractInput {
    input_schema: Option<SchemaDoc>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContractOutput {
    success_schema: Option<SchemaDoc>,
}

#[derive(Deserialize)]
struct DataTableResponse {
    name: String,
    #[serde(default)]
    schema: Option<SchemaDoc>,
}

const MAX_PAGES: u32 = 1000;
const PAGE_SIZE: &str = "100";
/// Flow ids per `GET /api/v2/flows?id=…` request: within the documented page sizes (25 by
/// default; Terraform asks for 500) and a query string of ~4 KB.
pub const IDS_PER_PAGE: usize = 100;

impl GenesysClient {
    pub fn new(target: &TargetConfig) -> Result<GenesysClient, GenesysError> {
        GenesysClient::with_options(target, ClientOptions::default())
    }

    pub fn with_options(
        target: &TargetConfig,
        options: ClientOptions,
    ) -> Result<GenesysClient, GenesysError> {
        let api_base = base_url("api_base_url", &target.api_base_url)?;
        let login_base = base_url("login_base_url", &target.login_base_url)?;
        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout)
            .user_agent(concat!("flowsmith/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| GenesysError::Protocol(format!("cannot build the HTTP client: {e}")))?;
        Ok(GenesysClient {
            target: target.name.clone(),
            tokens: TokenCache::new(
                join(&login_base, &["oauth", "token"]),
                target.client_id.clone(),
                target.client_secret.clone(),
            ),
            api_base,
            http,
            pacer: Pacer::new(target.rate_limit_per_minute),
            options,
            stats: Stats::default(),
        })
    }

    pub fn target(&self) -> &str {
        &self.target
    }

    /// How much longer the target is paused by a 429's `Retry-After`, if it is. Every request
    /// of this client waits for it anyway; a worker may use it to postpone new work.
    pub fn paused_for(&self) -> Option<Duration> {
        self.pacer.paused_for()
    }

    fn api_url(&self, segments: &[&str]) -> Url {
        join(&self.api_base, segments)
    }

    async fn token(&self) -> Result<Bearer, GenesysError> {
        let count = || {
            self.stats.token_requests.fetch_add(1, Ordering::Relaxed);
        };
        let ctx = auth::Ctx {
            http: &self.http,
            retry: &self.options.retry,
            target: &self.target,
            on_request: &count,
        };
        self.tokens.token(&ctx).await
    }

    async fn token_after_401(&self, rejected: &Bearer) -> Result<Bearer, GenesysError> {
        let count = || {
            self.stats.token_requests.fetch_add(1, Ordering::Relaxed);
        };
        let ctx = auth::Ctx {
            http: &self.http,
            retry: &self.options.retry,
            target: &self.target,
            on_request: &count,
        };
        self.tokens.after_unauthorized(&ctx, rejected).await
    }

    fn count_request(&self, endpoint: &'static str, status: Option<u16>) {
        self.stats.api_requests.fetch_add(1, Ordering::Relaxed);
        let status = status.map_or_else(|| "error".to_owned(), |s| s.to_string());
        metrics::counter!(
            crate::metrics::names::GENESYS_REQUESTS,
            "target" => self.target.clone(),
            "endpoint" => endpoint,
            "status" => status
        )
        .increment(1);
    }

    /// Sends one Platform API request with the whole policy: pause, limiter, token, retries.
    /// `endpoint` is the route template used in metrics and logs.
    async fn call(
        &self,
        method: Method,
        endpoint: &'static str,
        url: Url,
    ) -> Result<Answer, GenesysError> {
        self.call_at(Priority::Normal, method, endpoint, url).await
    }

    /// [`GenesysClient::call`] waiting its turn in the limiter at `priority`.
    async fn call_at(
        &self,
        priority: Priority,
        method: Method,
        endpoint: &'static str,
        url: Url,
    ) -> Result<Answer, GenesysError> {
        let retry = &self.options.retry;
        let mut transient_attempts = 0u32;
        let mut conflicts = 0u32;
        let mut rate_limited = 0u32;
        let mut refreshed = false;
        let mut paused_total = Duration::ZERO;
        let mut bearer = self.token().await?;
        loop {
            // Pause (a 429 anywhere on this target), then the limiter; a pause that began while
            // waiting on the limiter is honoured too.
            loop {
                paused_total += self.pacer.wait_unpaused().await;
                let waited = self.pacer.until_ready_at(priority).await;
                metrics::histogram!(crate::metrics::names::GENESYS_LIMITER_WAIT, "target" => self.target.clone())
                    .record(waited.as_secs_f64());
                if self.pacer.paused_for().is_none() {
                    break;
                }
            }
            if paused_total > self.options.max_rate_limited_wait {
                return Err(GenesysError::Unavailable(format!(
                    "{endpoint}: rate limited for {}s in all",
                    paused_total.as_secs()
                )));
            }
            // The cached token may have been refreshed meanwhile (or be due for a refresh).
            if !refreshed {
                bearer = self.token().await?;
            }
            let started = Instant::now();
            let sent = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(bearer.token.expose_secret())
                .header(reqwest::header::ACCEPT, "application/json")
                .send()
                .await;
            let (status, headers, body) = match sent {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    match resp.bytes().await {
                        Ok(b) => (Ok(status), headers, b.to_vec()),
                        Err(e) => (Err(describe(&e)), headers, Vec::new()),
                    }
                }
                Err(e) => (Err(describe(&e)), HeaderMap::new(), Vec::new()),
            };
            let correlation = correlation_id(&headers);
            let elapsed_ms = started.elapsed().as_millis() as u64;
            self.count_request(endpoint, status.as_ref().ok().copied());
            tracing::debug!(
                target_name = %self.target,
                endpoint,
                status = ?status.as_ref().ok(),
                correlation_id = correlation.as_deref().unwrap_or("-"),
                duration_ms = elapsed_ms,
                "Genesys request"
            );
            let class = match &status {
                Ok(s) => retry::classify(*s),
                Err(_) => Class::Transient,
            };
            let why = match &status {
                Ok(s) => format!("HTTP {s}"),
                Err(e) => e.clone(),
            };
            match class {
                Class::Success => return Ok(Answer { body }),
                Class::Unauthorized if !refreshed => {
                    refreshed = true;
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        target_name = %self.target,
                        endpoint,
                        correlation_id = correlation.as_deref().unwrap_or("-"),
                        "Genesys answered 401; refreshing the token and retrying once"
                    );
                    bearer = self.token_after_401(&bearer).await?;
                }
                Class::Unauthorized | Class::Fatal => {
                    return Err(api_error(status.unwrap_or(0), correlation, &body));
                }
                Class::RateLimited => {
                    rate_limited += 1;
                    self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
                    metrics::counter!(crate::metrics::names::GENESYS_RATE_LIMITED, "target" => self.target.clone())
                        .increment(1);
                    let delay = retry::retry_after(&headers, chrono::Utc::now())
                        .unwrap_or_else(|| {
                            let backoff = RetryPolicy {
                                base: Duration::from_secs(1),
                                cap: Duration::from_secs(60),
                                max_attempts: u32::MAX,
                            };
                            backoff.ceiling(rate_limited)
                        })
                        .max(Duration::from_millis(200));
                    if paused_total + delay > self.options.max_rate_limited_wait {
                        return Err(GenesysError::Unavailable(format!(
                            "{endpoint}: rate limited (429) for longer than {}s (correlation id {})",
                            self.options.max_rate_limited_wait.as_secs(),
                            correlation.as_deref().unwrap_or("-")
                        )));
                    }
                    tracing::warn!(
                        target_name = %self.target,
                        endpoint,
                        correlation_id = correlation.as_deref().unwrap_or("-"),
                        pause_ms = delay.as_millis() as u64,
                        "Genesys answered 429; pausing the target"
                    );
                    self.pacer.pause_until(Instant::now() + delay);
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                }
                Class::Conflict => {
                    conflicts += 1;
                    if conflicts > self.options.conflict_retries {
                        return Err(api_error(409, correlation, &body));
                    }
                    let delay = retry.delay(conflicts + 1, &mut rand::thread_rng());
                    self.backoff(endpoint, &why, correlation.as_deref(), conflicts, delay)
                        .await;
                }
                Class::Transient => {
                    transient_attempts += 1;
                    if !retry.may_retry(transient_attempts) {
                        return Err(GenesysError::Unavailable(format!(
                            "{endpoint}: {why} after {transient_attempts} attempts (correlation id {})",
                            correlation.as_deref().unwrap_or("-")
                        )));
                    }
                    let delay = retry.delay(transient_attempts, &mut rand::thread_rng());
                    self.backoff(
                        endpoint,
                        &why,
                        correlation.as_deref(),
                        transient_attempts,
                        delay,
                    )
                    .await;
                }
            }
        }
    }

    async fn backoff(
        &self,
        endpoint: &str,
        why: &str,
        correlation: Option<&str>,
        attempt: u32,
        delay: Duration,
    ) {
        self.stats.retries.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            target_name = %self.target,
            endpoint,
            correlation_id = correlation.unwrap_or("-"),
            attempt,
            delay_ms = delay.as_millis() as u64,
            error = why,
            "retrying Genesys request"
        );
        tokio::time::sleep(delay).await;
    }

    /// `call`, with a 404 answered as `None`.
    async fn call_opt(
        &self,
        method: Method,
        endpoint: &'static str,
        url: Url,
    ) -> Result<Option<Answer>, GenesysError> {
        match self.call(method, endpoint, url).await {
            Ok(a) => Ok(Some(a)),
            Err(GenesysError::Api { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST /api/v2/flows/jobs`, for an upload right after: ahead of other requests in the
    /// limiter (the job's clock starts with the upload; polls can wait).
    pub async fn register_job(&self) -> Result<RegisteredJob, GenesysError> {
        self.register_job_at(Priority::High).await
    }

    /// `POST /api/v2/flows/jobs` waiting its turn at `priority`: [`Priority::Low`] for a job
    /// registered ahead of an upload that must wait (for the modules the flow calls).
    pub async fn register_job_at(&self, priority: Priority) -> Result<RegisteredJob, GenesysError> {
        const EP: &str = "POST /api/v2/flows/jobs";
        let url = self.api_url(&["api", "v2", "flows", "jobs"]);
        let a = self.call_at(priority, Method::POST, EP, url).await?;
        let r: RegisterResponse = parse(EP, &a.body)?;
        Url::parse(&r.presigned_url)
            .map_err(|_| GenesysError::Protocol(format!("{EP}: presignedUrl is not a URL")))?;
        Ok(RegisteredJob {
            id: r.id,
            presigned_url: r.presigned_url,
            headers: r.headers,
        })
    }

    /// `PUT` the Archy YAML to the presigned URL with the returned headers, no bearer token.
    /// Not paced by the limiter (Genesys does not count it); 5xx and transport errors are
    /// retried with backoff.
    pub async fn upload(&self, job: &RegisteredJob, yaml: &str) -> Result<(), GenesysError> {
        const EP: &str = "PUT presignedUrl";
        let url = Url::parse(&job.presigned_url).map_err(|_| {
            GenesysError::Protocol(format!("job {}: presignedUrl is not a URL", job.id))
        })?;
        let mut headers = HeaderMap::new();
        for (k, v) in &job.headers {
            let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
                GenesysError::Protocol(format!("job {}: invalid upload header name {k:?}", job.id))
            })?;
            let value = HeaderValue::from_str(v).map_err(|_| {
                GenesysError::Protocol(format!(
                    "job {}: invalid value of upload header {k}",
                    job.id
                ))
            })?;
            headers.insert(name, value);
        }
        let retry = &self.options.retry;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            self.stats.uploads.fetch_add(1, Ordering::Relaxed);
            let started = Instant::now();
            let sent = self
                .http
                .put(url.clone())
                .headers(headers.clone())
                .body(yaml.as_bytes().to_vec())
                .send()
                .await;
            let why = match sent {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let resp_headers = resp.headers().clone();
                    tracing::debug!(
                        target_name = %self.target,
                        endpoint = EP,
                        job_id = %job.id,
                        status,
                        duration_ms = started.elapsed().as_millis() as u64,
                        "Genesys upload"
                    );
                    if resp.status().is_success() {
                        return Ok(());
                    }
                    let body = resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
                    if status < 500 && status != 408 && status != 429 {
                        return Err(upload_error(status, &resp_headers, &body));
                    }
                    format!("HTTP {status}")
                }
                Err(e) => describe(&e),
            };
            if !retry.may_retry(attempt) {
                return Err(GenesysError::Unavailable(format!(
                    "upload of job {}: {why} after {attempt} attempts",
                    job.id
                )));
            }
            let delay = retry.delay(attempt, &mut rand::thread_rng());
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                target_name = %self.target,
                endpoint = EP,
                job_id = %job.id,
                attempt,
                delay_ms = delay.as_millis() as u64,
                error = %why,
                "retrying Genesys upload"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// `GET /api/v2/flows/jobs/{id}?expand=messages`.
    pub async fn job(&self, job_id: &str) -> Result<ArchitectJob, GenesysError> {
        const EP: &str = "GET /api/v2/flows/jobs/{jobId}";
        let mut url = self.api_url(&["api", "v2", "flows", "jobs", job_id]);
        url.query_pairs_mut().append_pair("expand", "messages");
        let a = self.call(Method::GET, EP, url).await?;
        let j: JobResponse = parse(EP, &a.body)?;
        Ok(ArchitectJob {
            status: job_status(&j.status)?,
            id: j.id,
            flow: j.flow.map(|f| FlowRef {
                id: f.id,
                name: f.name.unwrap_or_default(),
            }),
            messages: j
                .messages
                .into_iter()
                .map(|m| JobMessage {
                    kind: m.kind.unwrap_or_default(),
                    text: m.text.unwrap_or_default(),
                })
                .collect(),
        })
    }

    /// `GET /api/v2/flows?name=&type=`, matching the name exactly on this side.
    pub async fn find_flow(
        &self,
        name: &str,
        flow_type: FlowType,
    ) -> Result<Option<FlowInfo>, GenesysError> {
        const EP: &str = "GET /api/v2/flows";
        let type_q = flow_type_query(flow_type);
        let mut page = 1u32;
        loop {
            let mut url = self.api_url(&["api", "v2", "flows"]);
            url.query_pairs_mut()
                .append_pair("name", name)
                .append_pair("type", type_q)
                .append_pair("pageSize", PAGE_SIZE)
                .append_pair("pageNumber", &page.to_string());
            let a = self.call(Method::GET, EP, url).await?;
            let l: Listing<FlowResponse> = parse(EP, &a.body)?;
            let found = l.entities.into_iter().find(|f| {
                f.name == name
                    && f.flow_type
                        .as_deref()
                        .is_none_or(|t| t.eq_ignore_ascii_case(type_q))
            });
            if let Some(f) = found {
                return Ok(Some(f.into()));
            }
            if page >= l.page_count.unwrap_or(1).min(MAX_PAGES) {
                return Ok(None);
            }
            page += 1;
        }
    }

    /// `GET /api/v2/flows/{id}`; `None` on 404.
    pub async fn flow(&self, id: &str) -> Result<Option<FlowInfo>, GenesysError> {
        const EP: &str = "GET /api/v2/flows/{flowId}";
        let url = self.api_url(&["api", "v2", "flows", id]);
        match self.call_opt(Method::GET, EP, url).await? {
            None => Ok(None),
            Some(a) => Ok(Some(parse::<FlowResponse>(EP, &a.body)?.into())),
        }
    }

    /// Every page of a Platform API listing (`pageSize`/`pageNumber`, `pageCount`).
    async fn list_all<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        path: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Vec<T>, GenesysError> {
        let mut out = Vec::new();
        let mut page = 1u32;
        loop {
            let mut url = self.api_url(path);
            {
                let mut q = url.query_pairs_mut();
                for (k, v) in query {
                    q.append_pair(k, v);
                }
                q.append_pair("pageSize", PAGE_SIZE)
                    .append_pair("pageNumber", &page.to_string());
            }
            let a = self.call(Method::GET, endpoint, url).await?;
            let l: Listing<T> = parse(endpoint, &a.body)?;
            out.extend(l.entities);
            if page >= l.page_count.unwrap_or(1).min(MAX_PAGES) {
                return Ok(out);
            }
            page += 1;
        }
    }

    /// `GET /api/v2/integrations/actions` (every page) with each action's contract.
    pub async fn data_actions(&self) -> Result<Vec<DataActionInfo>, GenesysError> {
        const EP: &str = "GET /api/v2/integrations/actions";
        let list: Vec<ActionResponse> = self
            .list_all(EP, &["api", "v2", "integrations", "actions"], &[])
            .await?;
        let keys = |s: Option<SchemaDoc>| -> Vec<String> {
            s.unwrap_or_default()
                .properties
                .into_iter()
                .map(|(k, _)| k)
                .collect()
        };
        Ok(list
            .into_iter()
            .map(|a| {
                let (input, output) = match a.contract {
                    Some(c) => (
                        c.input.and_then(|i| i.input_schema),
                        c.output.and_then(|o| o.success_schema),
                    ),
                    None => (None, None),
                };
                DataActionInfo {
                    category: a.category,
                    name: a.name,
                    inputs: keys(input),
                    outputs: keys(output),
                }
            })
            .collect())
    }

    /// `GET /api/v2/flows/datatables?expand=schema` (every page).
    pub async fn data_tables(&self) -> Result<Vec<DataTableInfo>, GenesysError> {
        const EP: &str = "GET /api/v2/flows/datatables";
        let list: Vec<DataTableResponse> = self
            .list_all(
                EP,
                &["api", "v2", "flows", "datatables"],
                &[("expand", "schema")],
            )
            .await?;
        Ok(list
            .into_iter()
            .map(|t| DataTableInfo {
                name: t.name,
                columns: t
                    .schema
                    .unwrap_or_default()
                    .properties
                    .into_iter()
                    .map(|(k, _)| k)
                    .filter(|k| k != "key")
                    .collect(),
            })
            .collect())
    }

    /// Names of every schedule group (`GET /api/v2/architect/schedulegroups`).
    pub async fn schedule_group_names(&self) -> Result<Vec<String>, GenesysError> {
        const EP: &str = "GET /api/v2/architect/schedulegroups";
        let l: Vec<Named> = self
            .list_all(EP, &["api", "v2", "architect", "schedulegroups"], &[])
            .await?;
        Ok(l.into_iter().map(|n| n.name).collect())
    }

    /// Names of every Architect prompt (`GET /api/v2/architect/prompts`).
    pub async fn prompt_names(&self) -> Result<Vec<String>, GenesysError> {
        const EP: &str = "GET /api/v2/architect/prompts";
        let l: Vec<Named> = self
            .list_all(EP, &["api", "v2", "architect", "prompts"], &[])
            .await?;
        Ok(l.into_iter().map(|n| n.name).collect())
    }

    /// Names of every queue (`GET /api/v2/routing/queues`).
    pub async fn queue_names(&self) -> Result<Vec<String>, GenesysError> {
        const EP: &str = "GET /api/v2/routing/queues";
        let l: Vec<Named> = self
            .list_all(EP, &["api", "v2", "routing", "queues"], &[])
            .await?;
        Ok(l.into_iter().map(|n| n.name).collect())
    }

    /// `GET /api/v2/flows?id=a&id=b&…`: the flows with these ids, one request per
    /// [`IDS_PER_PAGE`] ids (`id` is repeatable and overrides every other filter; PySDK
    /// `ArchitectApi.get_flows`, `FlowEntityListing`). Ids Genesys does not know are simply
    /// absent from the answer.
    pub async fn flows_by_ids(&self, ids: &[String]) -> Result<Vec<FlowInfo>, GenesysError> {
        const EP: &str = "GET /api/v2/flows";
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_PAGE) {
            let mut page = 1u32;
            loop {
                let mut url = self.api_url(&["api", "v2", "flows"]);
                {
                    let mut q = url.query_pairs_mut();
                    for id in chunk {
                        q.append_pair("id", id);
                    }
                    q.append_pair("pageSize", &IDS_PER_PAGE.to_string())
                        .append_pair("pageNumber", &page.to_string());
                }
                let a = self.call(Method::GET, EP, url).await?;
                let l: Listing<FlowResponse> = parse(EP, &a.body)?;
                out.extend(l.entities.into_iter().map(FlowInfo::from));
                // One page holds the whole chunk; follow `pageCount` should a server page
                // smaller than asked.
                if page >= l.page_count.unwrap_or(1).min(MAX_PAGES) {
                    break;
                }
                page += 1;
            }
        }
        Ok(out)
    }

    /// `DELETE /api/v2/flows/{id}`; `false` when the flow was already gone (404).
    pub async fn delete_flow(&self, id: &str) -> Result<bool, GenesysError> {
        const EP: &str = "DELETE /api/v2/flows/{flowId}";
        let url = self.api_url(&["api", "v2", "flows", id]);
        Ok(self.call_opt(Method::DELETE, EP, url).await?.is_some())
    }

    /// `POST /api/v2/flows/actions/unlock?flow={id}`: force-unlock a checked-out flow
    /// (permission `architect:flow:unlock`; Terraform's `force_unlock` sends the same).
    pub async fn unlock_flow(&self, id: &str) -> Result<(), GenesysError> {
        const EP: &str = "POST /api/v2/flows/actions/unlock";
        let mut url = self.api_url(&["api", "v2", "flows", "actions", "unlock"]);
        url.query_pairs_mut().append_pair("flow", id);
        self.call(Method::POST, EP, url).await.map(|_| ())
    }

    /// `GET /api/v2/routing/queues/{id}` → the queue's name; `None` on 404.
    pub async fn queue_name(&self, id: &str) -> Result<Option<String>, GenesysError> {
        const EP: &str = "GET /api/v2/routing/queues/{queueId}";
        let url = self.api_url(&["api", "v2", "routing", "queues", id]);
        match self.call_opt(Method::GET, EP, url).await? {
            None => Ok(None),
            Some(a) => Ok(Some(parse::<QueueResponse>(EP, &a.body)?.name)),
        }
    }

    /// `GET /api/v2/architect/dependencytracking/consumingresources?id=&objectType=COMMONMODULEFLOW`.
    pub async fn consuming_flows(&self, module_id: &str) -> Result<Vec<FlowRef>, GenesysError> {
        const EP: &str = "GET /api/v2/architect/dependencytracking/consumingresources";
        let mut out = Vec::new();
        let mut page = 1u32;
        loop {
            let mut url = self.api_url(&[
                "api",
                "v2",
                "architect",
                "dependencytracking",
                "consumingresources",
            ]);
            url.query_pairs_mut()
                .append_pair("id", module_id)
                .append_pair("objectType", "COMMONMODULEFLOW")
                .append_pair("pageSize", PAGE_SIZE)
                .append_pair("pageNumber", &page.to_string());
            let a = self.call(Method::GET, EP, url).await?;
            let l: Listing<EntityRef> = parse(EP, &a.body)?;
            out.extend(l.entities.into_iter().map(|e| FlowRef {
                id: e.id,
                name: e.name.unwrap_or_default(),
            }));
            if page >= l.page_count.unwrap_or(1).min(MAX_PAGES) {
                return Ok(out);
            }
            page += 1;
        }
    }

    pub fn stats(&self) -> ClientStats {
        let s = &self.stats;
        ClientStats {
            api_requests: s.api_requests.load(Ordering::Relaxed),
            uploads: s.uploads.load(Ordering::Relaxed),
            token_requests: s.token_requests.load(Ordering::Relaxed),
            rate_limited: s.rate_limited.load(Ordering::Relaxed),
            retries: s.retries.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_encode_segments_and_keep_a_base_path() {
        let base = Url::parse("https://api.mypurecloud.com").unwrap();
        assert_eq!(
            join(&base, &["api", "v2", "flows", "a/b c?"]).as_str(),
            "https://api.mypurecloud.com/api/v2/flows/a%2Fb%20c%3F"
        );
        let base = Url::parse("http://127.0.0.1:9090/prefix/").unwrap();
        assert_eq!(
            join(&base, &["oauth", "token"]).as_str(),
            "http://127.0.0.1:9090/prefix/oauth/token"
        );
    }

    #[test]
    fn error_body_is_parsed() {
        let body = br#"{"message":"The requested operation failed with status 404","code":"not.found","status":404,"contextId":"ctx-1","details":[],"errors":[]}"#;
        match api_error(404, None, body) {
            GenesysError::Api {
                status,
                code,
                message,
                correlation_id,
            } => {
                assert_eq!(status, 404);
                assert_eq!(code, "not.found");
                assert!(message.contains("404"));
                assert_eq!(correlation_id.as_deref(), Some("ctx-1"));
            }
            e => panic!("{e:?}"),
        }
        match api_error(400, Some("hdr".into()), b"<html>bad</html>") {
            GenesysError::Api {
                code,
                message,
                correlation_id,
                ..
            } => {
                assert_eq!(code, "bad.request");
                assert_eq!(message, "<html>bad</html>");
                assert_eq!(correlation_id.as_deref(), Some("hdr"));
            }
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn s3_errors_are_parsed_loosely() {
        let body = b"<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message><RequestId>r-1</RequestId></Error>";
        match upload_error(403, &HeaderMap::new(), body) {
            GenesysError::Api {
                status,
                code,
                message,
                correlation_id,
            } => {
                assert_eq!(status, 403);
                assert_eq!(code, "AccessDenied");
                assert_eq!(message, "Request has expired");
                assert_eq!(correlation_id.as_deref(), Some("r-1"));
            }
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn job_statuses() {
        assert_eq!(job_status("Success").unwrap(), JobStatus::Success);
        assert_eq!(job_status("Registered").unwrap(), JobStatus::Registered);
        assert!(matches!(
            job_status("Exploded"),
            Err(GenesysError::Protocol(_))
        ));
    }

    #[test]
    fn client_debug_redacts_the_secret() {
        let t = TargetConfig {
            name: "t1".into(),
            api_base_url: "https://api.example.com".into(),
            login_base_url: "https://login.example.com".into(),
            client_id: "cid".into(),
            client_secret: secrecy::SecretString::from("super-secret-value"),
            rate_limit_per_minute: 300,
            concurrency: 4,
        };
        let c = GenesysClient::new(&t).unwrap();
        let s = format!("{c:?}");
        assert!(s.contains("t1") && s.contains("cid"), "{s}");
        assert!(!s.contains("super-secret-value"), "{s}");
        let job = RegisteredJob {
            id: "j".into(),
            presigned_url: "https://s3.example.com/x?X-Amz-Signature=abc".into(),
            headers: BTreeMap::new(),
        };
        assert!(!format!("{job:?}").contains("X-Amz-Signature"));
    }
}
