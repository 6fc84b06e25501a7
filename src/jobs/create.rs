//! The job-creation use case behind `POST /v1/jobs`: idempotent replay, the request's own
//! rules (publish, a configured target), then [`Submit::submit`] (plan and store).
//!
//! The handler only reads the headers and the body, calls [`Submit::create`] and maps
//! [`Submitted`] to 202 (created) or 200 (replayed).

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::plan::JobRequest;
use super::submit::{Origin, Submit, SubmitError};
use crate::store::{CreateOutcome, JobRow};
use crate::template::Finding;

/// An `Idempotency-Key`: 1 to 255 visible ASCII characters (surrounding quotes dropped, as
/// the IETF draft's examples quote it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<IdempotencyKey, SubmitError> {
        let key = raw.trim().trim_matches('"');
        if key.is_empty() || key.len() > 255 || !key.chars().all(|c| c.is_ascii_graphic()) {
            return Err(SubmitError::Invalid {
                detail: "Idempotency-Key must be 1 to 255 visible ASCII characters".into(),
                errors: vec![Finding::error(
                    "invalid_header",
                    "",
                    "Idempotency-Key is not valid",
                )],
            });
        }
        Ok(IdempotencyKey(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What [`Submit::create`] did.
#[derive(Debug)]
pub enum Submitted {
    /// Planned and stored (queued, or finished for a dry run).
    Created(JobRow),
    /// The job created earlier with the same key and the same request.
    Replayed(JobRow),
}

impl Submit<'_> {
    /// Creates a job from an API request: the job of the same idempotency key and request if
    /// there is one (the same key with another request is refused, as the IETF
    /// Idempotency-Key draft says), else a new one planned and stored.
    pub async fn create(
        &self,
        req: &JobRequest,
        key: Option<IdempotencyKey>,
        request_id: Option<String>,
    ) -> Result<Submitted, SubmitError> {
        let hash = request_hash(req);
        if let Some(k) = &key
            && let Some(existing) = self.store.job_by_idempotency_key(k.as_str()).await?
        {
            return replay(existing, &hash);
        }
        if !req.publish {
            return Err(invalid(
                "flowsmith provisions through the Architect job API, which always publishes",
                Finding::error("publish_required", "/publish", "publish must be true")
                    .with_hint("omit publish, or use dry_run to plan without provisioning"),
            ));
        }
        if !self.clients.contains_key(&req.target) {
            let known: Vec<&str> = self.clients.keys().map(String::as_str).collect();
            return Err(invalid(
                format!("unknown target {:?}", req.target),
                Finding::error(
                    "unknown_target",
                    "/target",
                    format!("no target named '{}'", req.target),
                )
                .with_hint(format!("configured targets: {}", known.join(", "))),
            ));
        }
        let origin = Origin {
            idempotency_key: key.map(|k| k.0),
            request_hash: hash.clone(),
            request_id,
            warnings: Vec::new(),
        };
        match self.submit(req, origin).await? {
            CreateOutcome::Created(row) => Ok(Submitted::Created(row)),
            // Another request with the key was stored while this one was planned.
            CreateOutcome::Existing(existing) => replay(existing, &hash),
        }
    }
}

fn invalid(detail: impl Into<String>, finding: Finding) -> SubmitError {
    SubmitError::Invalid {
        detail: detail.into(),
        errors: vec![finding],
    }
}

/// Same key and same request: the existing job. Same key and another request: refused.
fn replay(existing: JobRow, hash: &str) -> Result<Submitted, SubmitError> {
    if existing.request_hash == hash {
        Ok(Submitted::Replayed(existing))
    } else {
        Err(invalid(
            format!(
                "Idempotency-Key was already used for job {} with a different request",
                existing.id
            ),
            Finding::error(
                "idempotency_key_reused",
                "",
                "this Idempotency-Key belongs to another request",
            )
            .with_hint("use a new key for a new request"),
        ))
    }
}

/// SHA-256 of the request as JSON with object keys sorted at every level: the hash does not
/// depend on key order or whitespace.
pub fn request_hash(req: &JobRequest) -> String {
    // Serialising a key-sorted value by hand keeps the hash stable whatever map type
    // serde_json was built with.
    fn write(v: &Value, out: &mut String) {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    write(&m[k], out);
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(x, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let v = serde_json::to_value(req).unwrap_or(Value::Null);
    let mut s = String::new();
    write(&v, &mut s);
    hex::encode(Sha256::digest(s.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_hash_ignores_key_order() {
        let a: JobRequest = serde_json::from_str(
            r#"{"target":"t","flows":[{"template":"m","params":{"a":1,"b":2}}]}"#,
        )
        .unwrap();
        let b: JobRequest = serde_json::from_str(
            r#"{"flows":[{"params":{"b":2,"a":1},"template":"m"}],"target":"t","cascade":true}"#,
        )
        .unwrap();
        assert_eq!(request_hash(&a), request_hash(&b));
        let c: JobRequest =
            serde_json::from_str(r#"{"target":"t","flows":[{"template":"m"}],"dry_run":true}"#)
                .unwrap();
        assert_ne!(request_hash(&a), request_hash(&c));
    }

    #[test]
    fn idempotency_keys_are_visible_ascii_up_to_255() {
        assert_eq!(IdempotencyKey::parse(" \"k-1\" ").unwrap().as_str(), "k-1");
        for bad in ["", "\"\"", "a b", "é", &"k".repeat(256)] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
    }
}
