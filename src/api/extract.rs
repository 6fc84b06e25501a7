//! Request extractors whose rejections are problem documents with JSON Pointers, so bad
//! input is always a clear 4xx and never axum's plain-text default.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use super::AppState;
use crate::error::ApiError;
use crate::template::document::{self, Decoded, DocumentLimits, LimitError};
use crate::template::{self, DocumentError, Finding};

/// Request body formats the API reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    Json,
    Yaml,
}

/// Reads the body format from `Content-Type` (JSON when absent).
pub fn body_format(headers: &HeaderMap, yaml_allowed: bool) -> Result<BodyFormat, ApiError> {
    let Some(ct) = headers.get(CONTENT_TYPE) else {
        return Ok(BodyFormat::Json);
    };
    let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
    let essence = ct.split(';').next().unwrap_or("").trim();
    match essence {
        "application/json" | "" => Ok(BodyFormat::Json),
        e if e.ends_with("+json") => Ok(BodyFormat::Json),
        "application/yaml" | "application/x-yaml" | "text/yaml" | "text/x-yaml" if yaml_allowed => {
            Ok(BodyFormat::Yaml)
        }
        other => Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type {other:?} is not supported; send application/json{}",
            if yaml_allowed {
                " or application/yaml"
            } else {
                ""
            }
        ))),
    }
}

pub(super) async fn read_bytes(req: Request, state: &AppState) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state)
        .await
        .map_err(|e: BytesRejection| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge {
                    limit: state.settings.max_body_bytes,
                }
            } else {
                ApiError::MalformedBody {
                    detail: format!("cannot read the request body: {e}"),
                }
            }
        })
}

/// A template document (JSON, or YAML with `Content-Type: application/yaml`).
pub struct DocumentBody(pub serde_json::Value);

impl FromRequest<AppState> for DocumentBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let format = body_format(req.headers(), true)?;
        let bytes = read_bytes(req, state).await?;
        let hint = syntax_hint(&bytes, format);
        let limits = document_limits(&state.settings.limits);
        // Decoding is CPU work proportional to the body: off the async workers.
        let parsed = super::cpu(state, move || {
            template::parse_document_with(&bytes, format == BodyFormat::Yaml, limits)
        })
        .await?;
        parsed.map(DocumentBody).map_err(|e| match e {
            DocumentError::NotAnObject => ApiError::invalid(
                "a template document must be a JSON object",
                Finding::error("invalid_type", "", "expected an object"),
            ),
            DocumentError::Limit(l) => limit_error(&l),
            other => ApiError::MalformedBody {
                detail: format!("{other}{}", hint.unwrap_or_default()),
            },
        })
    }
}

/// What a body that does not parse probably got wrong, said after the parser's message: YAML
/// sent as JSON (the default Content-Type), or a tab where YAML wants spaces.
fn syntax_hint(bytes: &[u8], format: BodyFormat) -> Option<&'static str> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    match format {
        BodyFormat::Json if first.is_some_and(|b| b != b'{' && b != b'[') => {
            Some(" (this looks like YAML: send it with Content-Type: application/yaml)")
        }
        BodyFormat::Yaml if bytes.contains(&b'\t') => {
            Some(" (the document has a tab: YAML indents with spaces only)")
        }
        _ => None,
    }
}

/// A broken document limit or text rule: 422 naming it and the place.
fn limit_error(l: &LimitError) -> ApiError {
    ApiError::invalid(
        l.to_string(),
        Finding::error(l.code(), l.pointer(), l.to_string()),
    )
}

/// A typed JSON body. Syntax errors are 400; unknown fields and wrong types are 422 with a
/// pointer to the offending member.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        body_format(req.headers(), false)?;
        let bytes = read_bytes(req, state).await?;
        parse_json_with(&bytes, document_limits(&state.settings.limits)).map(ApiJson)
    }
}

/// [`parse_json_with`] under the default document limits.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    parse_json_with(bytes, DocumentLimits::default())
}

/// Reads a typed JSON body under the document limits (depth, size, duplicate keys, control
/// characters), then into `T` with a pointer to any member that does not fit.
pub fn parse_json_with<T: DeserializeOwned>(
    bytes: &[u8],
    limits: DocumentLimits,
) -> Result<T, ApiError> {
    let value = match document::from_json(bytes, limits) {
        Ok(v) => v,
        Err(Decoded::Limit(l)) => return Err(limit_error(&l)),
        Err(Decoded::Syntax(m)) => {
            return Err(ApiError::MalformedBody {
                detail: format!("invalid JSON: {m}"),
            });
        }
    };
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let pointer = path_to_pointer(e.path());
        let inner = e.into_inner();
        ApiError::invalid(
            format!("the request body does not match the schema: {inner}"),
            Finding::error(
                "invalid_request",
                pointer,
                strip_position(&inner.to_string()),
            ),
        )
    })
}

fn strip_position(s: &str) -> String {
    match s.find(" at line ") {
        Some(i) => s[..i].to_owned(),
        None => s.to_owned(),
    }
}

fn path_to_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let tokens: Vec<String> = path
        .iter()
        .filter_map(|seg| match seg {
            Segment::Seq { index } => Some(index.to_string()),
            Segment::Map { key } => Some(key.clone()),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .collect();
    template::pointer(tokens)
}

/// Query string parameters, rejected as a 400 problem naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| ApiError::InvalidRequest {
                detail: format!("invalid query string: {}", e.body_text()),
                errors: Vec::new(),
            })
    }
}

/// Path parameters, rejected as a 400/404 problem.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e: PathRejection| {
                ApiError::NotFound(format!("no such resource: {}", e.body_text()))
            })
    }
}

/// The document limits of [`crate::template::document`] from the `[limits]` settings.
fn document_limits(limits: &crate::config::Limits) -> crate::template::document::DocumentLimits {
    crate::template::document::DocumentLimits {
        max_depth: limits.max_document_depth,
        max_bytes: limits.max_document_bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Req {
        flows: Vec<Flow>,
    }
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Flow {
        template: String,
    }

    #[test]
    fn data_errors_point_at_the_member() {
        let err = parse_json::<Req>(br#"{"flows":[{"template":1}]}"#).unwrap_err();
        match err {
            ApiError::InvalidRequest { errors, .. } => {
                assert_eq!(errors[0].pointer, "/flows/0/template")
            }
            other => panic!("{other:?}"),
        }
        let err = parse_json::<Req>(br#"{"flows":[],"extra":1}"#).unwrap_err();
        assert!(matches!(err, ApiError::InvalidRequest { .. }));
    }

    #[test]
    fn syntax_errors_are_malformed() {
        assert!(matches!(
            parse_json::<Req>(b"{\"flows\":"),
            Err(ApiError::MalformedBody { .. })
        ));
        assert!(matches!(
            parse_json::<Req>(b"{\"flows\":[]} x"),
            Err(ApiError::MalformedBody { .. })
        ));
    }
}

#[cfg(test)]
mod syntax_hint_tests {
    use super::*;

    #[test]
    fn yaml_sent_as_json_and_tabs_in_yaml_are_named() {
        let yaml_as_json =
            syntax_hint(b"name: Support_Line\ntype: inboundcall\n", BodyFormat::Json);
        assert!(yaml_as_json.unwrap().contains("application/yaml"));
        assert_eq!(syntax_hint(b" {\"name\": ", BodyFormat::Json), None);
        let tab = syntax_hint(b"name: X\ndraft:\n\tstartNode: A\n", BodyFormat::Yaml);
        assert!(tab.unwrap().contains("tab"));
        assert_eq!(syntax_hint(b"name: X\n", BodyFormat::Yaml), None);
    }
}
