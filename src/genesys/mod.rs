//! The Genesys Cloud Platform API v2 client: one per target. OAuth client-credentials token
//! cache, a GCRA limiter at the target's rate, `Retry-After`-honouring 429 handling that
//! pauses the whole target, capped exponential backoff with jitter for 5xx/timeouts/resets,
//! and typed errors carrying Genesys's status, code, message and correlation id.
//!
//! Layout: `auth` (token cache), `limiter` (GCRA pacing and the 429 pause), `retry`
//! (classification, backoff, `Retry-After`), `transport` (one request with the whole
//! policy), `wire` (Genesys's JSON and error bodies), and the endpoints by what they reach:
//! `flows` (Architect jobs and flows) and `objects` (data actions, tables, schedule groups,
//! prompts, queues).

mod auth;
pub mod budget;
mod flows;
mod limiter;
mod objects;
mod retry;
mod transport;
mod wire;

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
pub use limiter::{Priority, Urgency};
use retry::Class;
pub use retry::RetryPolicy;
use wire::*;
pub use wire::{DataActionInfo, DataTableInfo, IDS_PER_PAGE};

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

/// `ArchitectExportJobStateResponse` (with `expand=messages`). Its `downloadUrl` is a
/// presigned URL, a credential: not printed by `Debug`.
#[derive(Clone)]
pub struct ExportJob {
    pub id: String,
    pub status: JobStatus,
    pub download_url: Option<String>,
    pub messages: Vec<JobMessage>,
}

impl std::fmt::Debug for ExportJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportJob")
            .field("id", &self.id)
            .field("status", &self.status)
            .field(
                "download_url",
                &self.download_url.as_ref().map(|_| "[REDACTED]"),
            )
            .field("messages", &self.messages)
            .finish()
    }
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

impl GenesysClient {
    pub fn new(target: &TargetConfig) -> Result<GenesysClient, GenesysError> {
        GenesysClient::with_options(target, ClientOptions::default())
    }

    pub fn with_options(
        target: &TargetConfig,
        options: ClientOptions,
    ) -> Result<GenesysClient, GenesysError> {
        GenesysClient::with_budget(target, options, None)
    }

    /// A client whose rate budget is shared through `ledger` with every other replica on
    /// it (`None`: this process paces the target alone). With a ledger, needs a Tokio
    /// runtime.
    pub fn with_budget(
        target: &TargetConfig,
        options: ClientOptions,
        ledger: Option<std::sync::Arc<dyn budget::BudgetLedger>>,
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
            pacer: match ledger {
                Some(l) => Pacer::shared(target.rate_limit_per_minute, &target.name, l),
                None => Pacer::new(target.rate_limit_per_minute),
            },
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

    /// Whether this client paces its requests (a rate limit of 0 does not).
    pub fn paced(&self) -> bool {
        self.pacer.limited()
    }

    /// The spacing of this target's requests at its rate (`None`: not paced).
    pub fn spacing(&self) -> Option<Duration> {
        self.pacer.spacing()
    }

    /// Requests waiting for this target's limiter now.
    pub fn queued(&self) -> usize {
        self.pacer.queued()
    }

    /// Requests waiting for this target's limiter now that a request of priority `p` would
    /// not overtake.
    pub fn queued_at_least(&self, p: Priority) -> usize {
        self.pacer.queued_at_least(p)
    }

    /// Sees every change of [`GenesysClient::queued`] from now on.
    pub fn watch_queue(&self) -> tokio::sync::watch::Receiver<u64> {
        self.pacer.watch_queue()
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
mod tests;
