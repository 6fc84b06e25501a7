//! The Genesys Cloud Platform API v2 client: one per target. OAuth client-credentials token
//! cache, a GCRA limiter at the target's rate, `Retry-After`-honouring 429 handling that
//! pauses the whole target, capped exponential backoff with jitter for 5xx/timeouts/resets,
//! and typed errors carrying Genesys's status, code, message and correlation id.
//!
//! INTERFACE STUB: the signatures below are the contract the job worker codes against; the
//! bodies are being written (they fail with `GenesysError::Unavailable` until then).

use std::collections::BTreeMap;

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

/// A client for one target.
#[derive(Debug)]
pub struct GenesysClient {
    target: String,
}

impl GenesysClient {
    pub fn new(target: &TargetConfig) -> Result<GenesysClient, GenesysError> {
        Ok(GenesysClient {
            target: target.name.clone(),
        })
    }

    pub fn target(&self) -> &str {
        &self.target
    }

    fn pending() -> GenesysError {
        GenesysError::Unavailable("the Genesys client is not implemented yet".into())
    }

    /// `POST /api/v2/flows/jobs`.
    pub async fn register_job(&self) -> Result<RegisteredJob, GenesysError> {
        Err(Self::pending())
    }

    /// `PUT` the Archy YAML to the presigned URL with the returned headers, no bearer token.
    pub async fn upload(&self, _job: &RegisteredJob, _yaml: &str) -> Result<(), GenesysError> {
        Err(Self::pending())
    }

    /// `GET /api/v2/flows/jobs/{id}?expand=messages`.
    pub async fn job(&self, _job_id: &str) -> Result<ArchitectJob, GenesysError> {
        Err(Self::pending())
    }

    /// `GET /api/v2/flows?name=&type=`, matching the name exactly on this side.
    pub async fn find_flow(
        &self,
        _name: &str,
        _flow_type: FlowType,
    ) -> Result<Option<FlowInfo>, GenesysError> {
        Err(Self::pending())
    }

    /// `GET /api/v2/flows/{id}`; `None` on 404.
    pub async fn flow(&self, _id: &str) -> Result<Option<FlowInfo>, GenesysError> {
        Err(Self::pending())
    }

    /// `GET /api/v2/routing/queues/{id}` → the queue's name; `None` on 404.
    pub async fn queue_name(&self, _id: &str) -> Result<Option<String>, GenesysError> {
        Err(Self::pending())
    }

    /// `GET /api/v2/architect/dependencytracking/consumingresources?id=&objectType=COMMONMODULEFLOW`.
    pub async fn consuming_flows(&self, _module_id: &str) -> Result<Vec<FlowRef>, GenesysError> {
        Err(Self::pending())
    }

    pub fn stats(&self) -> ClientStats {
        ClientStats::default()
    }
}
