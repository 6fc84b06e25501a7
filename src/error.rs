//! The service's error type and its one mapping to HTTP: RFC 9457 problem documents.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::store::fault::{RETRY_AFTER, StorageFault};
use crate::template::Finding;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Longest `detail` a problem carries: a rejected 1 MB value is never echoed back whole.
const MAX_DETAIL_CHARS: usize = 1000;

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the problem type.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Findings, each with a JSON Pointer into the submitted document.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<Finding>,
}

/// Every way a request can fail. Each variant's status is in [`ApiError::status`]; that and
/// `IntoResponse` are the only places errors meet HTTP.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the body is not JSON/YAML at all.
    #[error("{detail}")]
    MalformedBody { detail: String },
    /// 400 or 422: the request is readable but wrong; findings say where.
    #[error("{detail}")]
    InvalidRequest {
        detail: String,
        errors: Vec<Finding>,
    },
    /// 422: a template document failed validation.
    #[error("the template has {} error(s)", .findings.iter().filter(|f| f.is_error()).count())]
    Validation { findings: Vec<Finding> },
    /// 401
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// 404
    #[error("{0}")]
    NotFound(String),
    /// 405
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409
    #[error("{0}")]
    Conflict(String),
    /// 409 with findings: e.g. a module to delete that published flows still call (one
    /// finding per module, naming its callers).
    #[error("{detail}")]
    InUse {
        detail: String,
        errors: Vec<Finding>,
    },
    /// 408: the client did not send its body within `body_read_timeout_secs`.
    #[error("the request body did not arrive within {secs} s ([limits] body_read_timeout_secs)")]
    BodyTimeout { secs: u64 },
    /// 413
    #[error("request body exceeds the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// 415
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 406
    #[error("{0}")]
    NotAcceptable(String),
    /// 503 with `Retry-After`: something the request needs (the database, a Genesys org) does
    /// not answer now.
    #[error("{0}")]
    Unavailable(String),
    /// 503 with `Retry-After`: the database refuses writes for now (a full disk, a file that
    /// cannot be written, an I/O error); nothing was stored.
    #[error("{fault}; nothing was stored, retry in {} s", RETRY_AFTER.as_secs())]
    Storage {
        fault: StorageFault,
        source: sqlx::Error,
    },
    /// 503 with `Retry-After: 1`: `max_requests_in_flight` requests are being handled.
    #[error(
        "the service is handling {limit} requests ([limits] max_requests_in_flight); retry in {} s",
        OVERLOAD_RETRY_AFTER.as_secs()
    )]
    Overloaded { limit: usize },
    /// 500, logged and answered opaquely.
    #[error("database error")]
    Database(sqlx::Error),
    /// 500, logged (naming the row) and answered opaquely: a stored value does not read back.
    #[error(transparent)]
    Corrupt(#[from] crate::jobs::Corrupt),
    /// 500, logged and answered opaquely.
    #[error("internal error: {0}")]
    Internal(String),
}

/// `Retry-After` of a shed request: the backlog that made it is gone within a second or so.
pub const OVERLOAD_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// The 422 of a request whose work passed `request_work_ms`.
    pub fn work_limit(limit: std::time::Duration) -> ApiError {
        let msg = format!(
            "the request needs more work than the limit of {} ms (request_work_ms)",
            limit.as_millis()
        );
        ApiError::invalid(msg.clone(), Finding::error("work_limit", "", msg))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MalformedBody { .. } => StatusCode::BAD_REQUEST,
            ApiError::InvalidRequest { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) | ApiError::InUse { .. } => StatusCode::CONFLICT,
            ApiError::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::Unavailable(_) | ApiError::Storage { .. } | ApiError::Overloaded { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Database(_) | ApiError::Corrupt(_) | ApiError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn slug(&self) -> &'static str {
        match self {
            ApiError::MalformedBody { .. } => "malformed-body",
            ApiError::InvalidRequest { .. } => "invalid-request",
            ApiError::Validation { .. } => "validation-failed",
            ApiError::Unauthorized => "unauthorized",
            ApiError::NotFound(_) => "not-found",
            ApiError::MethodNotAllowed => "method-not-allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::InUse { .. } => "in-use",
            ApiError::BodyTimeout { .. } => "request-timeout",
            ApiError::PayloadTooLarge { .. } => "payload-too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::NotAcceptable(_) => "not-acceptable",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Storage { .. } => "storage-unavailable",
            ApiError::Overloaded { .. } => "overloaded",
            ApiError::Database(_) | ApiError::Corrupt(_) | ApiError::Internal(_) => "internal",
        }
    }

    pub fn invalid(detail: impl Into<String>, finding: Finding) -> ApiError {
        ApiError::InvalidRequest {
            detail: detail.into(),
            errors: vec![finding],
        }
    }

    pub fn to_problem(&self) -> Problem {
        let status = self.status();
        let detail = if status.is_server_error()
            && !matches!(
                self,
                ApiError::Unavailable(_) | ApiError::Storage { .. } | ApiError::Overloaded { .. }
            ) {
            // Internals stay in the log; the client gets an opaque message.
            "the service failed to handle the request; see the service log".to_owned()
        } else {
            self.to_string()
        };
        let errors = match self {
            ApiError::InvalidRequest { errors, .. } | ApiError::InUse { errors, .. } => {
                crate::template::answer_findings(errors)
            }
            ApiError::Validation { findings } => crate::template::answer_findings(findings),
            _ => Vec::new(),
        };
        Problem {
            problem_type: format!("/problems/{}", self.slug()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: crate::template::excerpt(&detail, MAX_DETAIL_CHARS).into_owned(),
            errors,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            ApiError::Storage { fault, source } => {
                tracing::warn!(fault = fault.as_str(), error = %source, "write refused by the database");
            }
            // Shedding is the service working as configured; the 503 is already in the
            // request's log line and metrics, and an error line each would flood the log.
            ApiError::Overloaded { .. } => {}
            _ if status.is_server_error() => {
                tracing::error!(error = %self, cause = ?self, "request failed");
            }
            _ => {}
        }
        let mut resp = problem_response(&self.to_problem());
        if matches!(self, ApiError::Unauthorized) {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"flowsmith\""),
            );
        }
        // Every 503 says when to come back: a database or an org that cannot be reached
        // now may be back in a few seconds; shed load in one.
        let retry_after = match self {
            ApiError::Storage { .. } | ApiError::Unavailable(_) => Some(RETRY_AFTER),
            ApiError::Overloaded { .. } => Some(OVERLOAD_RETRY_AFTER),
            _ => None,
        };
        if let Some(after) = retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(after.as_secs()));
        }
        resp
    }
}

impl From<crate::jobs::SubmitError> for ApiError {
    fn from(e: crate::jobs::SubmitError) -> ApiError {
        use crate::jobs::SubmitError as E;
        match e {
            E::Invalid { detail, errors } => ApiError::InvalidRequest { detail, errors },
            E::InUse { detail, errors } => ApiError::InUse { detail, errors },
            e @ E::Org { .. } => ApiError::Unavailable(e.to_string()),
            E::WorkLimit(limit) => ApiError::work_limit(limit),
            E::Store(e) => e.into(),
            E::Corrupt(e) => e.into(),
        }
    }
}

impl From<crate::jobs::control::ControlError> for ApiError {
    fn from(e: crate::jobs::control::ControlError) -> ApiError {
        use crate::jobs::control::ControlError as E;
        match e {
            e @ E::NotFound(_) => ApiError::NotFound(e.to_string()),
            e @ E::Conflict { .. } => ApiError::Conflict(e.to_string()),
            E::Store(e) => e.into(),
        }
    }
}

impl From<crate::jobs::releases::ReleaseError> for ApiError {
    fn from(e: crate::jobs::releases::ReleaseError) -> ApiError {
        use crate::jobs::releases::ReleaseError as E;
        match e {
            E::NotFound(m) => ApiError::NotFound(m),
            E::Conflict(m) => ApiError::Conflict(m),
            e @ E::Org { .. } => ApiError::Unavailable(e.to_string()),
            E::Submit(e) => e.into(),
            E::Store(e) => e.into(),
            E::Corrupt(e) => e.into(),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    /// A refusal of the storage that may pass is a 503 to retry; anything else is ours (500).
    fn from(e: sqlx::Error) -> Self {
        match StorageFault::of(&e) {
            Some(fault) => ApiError::Storage { fault, source: e },
            None => ApiError::Database(e),
        }
    }
}

pub fn problem_response(p: &Problem) -> Response {
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(p).unwrap_or_default();
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_are_opaque() {
        let p = ApiError::Internal("secret path /etc/x".into()).to_problem();
        assert_eq!(p.status, 500);
        assert!(!p.detail.contains("/etc/x"));
    }

    #[test]
    fn a_full_disk_is_a_503_with_retry_after_and_a_plain_detail() {
        let full = ApiError::from(sqlx::Error::PoolTimedOut);
        assert!(matches!(full, ApiError::Storage { .. }), "{full:?}");
        let resp = full.into_response();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "5");
        let org = ApiError::Unavailable("the org does not answer".into()).into_response();
        assert_eq!(org.headers()[header::RETRY_AFTER], "5");
        let other = ApiError::from(sqlx::Error::RowNotFound);
        assert_eq!(other.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn echoed_values_are_cut() {
        let huge = "n".repeat(1 << 20);
        let p = ApiError::Validation {
            findings: vec![Finding::error(
                "invalid_name",
                format!("/{huge}"),
                huge.clone(),
            )],
        }
        .to_problem();
        assert!(p.errors[0].message.len() < 2000);
        assert!(p.errors[0].pointer.len() < 2000);
        let many = vec![Finding::error("x", "", "m"); 10_000];
        let p = ApiError::Validation { findings: many }.to_problem();
        assert_eq!(p.errors.len(), crate::template::MAX_FINDINGS + 1);
        assert!(
            p.errors
                .last()
                .unwrap()
                .message
                .starts_with("9800 more findings")
        );
        let p = ApiError::NotFound(huge).to_problem();
        assert!(p.detail.len() < 2000 && p.detail.ends_with('…'));
    }

    #[test]
    fn validation_problem_carries_findings() {
        let f = Finding::error("x", "/a", "bad");
        let p = ApiError::Validation {
            findings: vec![f.clone()],
        }
        .to_problem();
        assert_eq!(p.status, 422);
        assert_eq!(p.errors, vec![f]);
        assert_eq!(p.problem_type, "/problems/validation-failed");
    }
}
