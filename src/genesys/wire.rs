//! What Genesys sends and how its errors read: response bodies, error bodies (JSON and S3
//! XML), URLs.

use super::*;

/// A successful Platform API answer.
pub(super) struct Answer {
    pub(super) body: Vec<u8>,
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

pub(super) fn correlation_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("inin-correlation-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Genesys `ErrorBody` (the parts flowsmith reports).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct ErrorBody {
    pub(super) message: Option<String>,
    pub(super) code: Option<String>,
    pub(super) context_id: Option<String>,
}

/// The `Api` error of a non-retryable answer, from its `ErrorBody` (or raw text when it is not
/// JSON).
pub(super) fn api_error(status: u16, correlation: Option<String>, body: &[u8]) -> GenesysError {
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

pub(super) fn default_code(status: u16) -> String {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map(|r| r.to_lowercase().replace(' ', "."))
        .unwrap_or_else(|| format!("http.{status}"))
}

pub(super) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.chars().count() > 300 {
        format!("{}…", text.chars().take(300).collect::<String>())
    } else {
        text.to_owned()
    }
}

/// The text of the first `<tag>…</tag>` in an S3-style XML error (loosely: no XML parser).
pub(super) fn xml_tag(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = body.find(&open)? + open.len();
    let len = body[start..].find(&format!("</{tag}>"))?;
    Some(body[start..start + len].trim().to_owned())
}

pub(super) fn upload_error(status: u16, headers: &HeaderMap, body: &[u8]) -> GenesysError {
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

pub(super) fn parse<T: DeserializeOwned>(endpoint: &str, body: &[u8]) -> Result<T, GenesysError> {
    serde_json::from_slice(body).map_err(|e| GenesysError::Protocol(format!("{endpoint}: {e}")))
}

pub(super) fn invalid_url(what: &str, value: &str, e: impl std::fmt::Display) -> GenesysError {
    GenesysError::Protocol(format!("invalid {what} {value:?}: {e}"))
}

pub(super) fn base_url(what: &str, value: &str) -> Result<Url, GenesysError> {
    let url = Url::parse(value).map_err(|e| invalid_url(what, value, e))?;
    if url.cannot_be_a_base() || !matches!(url.scheme(), "http" | "https") {
        return Err(invalid_url(what, value, "not an http(s) base URL"));
    }
    Ok(url)
}

/// `base` with `segments` appended (each percent-encoded as one path segment).
pub(super) fn join(base: &Url, segments: &[&str]) -> Url {
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
pub(super) struct RegisterResponse {
    pub(super) id: String,
    pub(super) presigned_url: String,
    #[serde(default)]
    pub(super) headers: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct JobResponse {
    pub(super) id: String,
    pub(super) status: String,
    pub(super) flow: Option<EntityRef>,
    #[serde(default)]
    pub(super) messages: Vec<JobMessageResponse>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct JobMessageResponse {
    #[serde(rename = "type")]
    pub(super) kind: Option<String>,
    pub(super) text: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct EntityRef {
    pub(super) id: String,
    #[serde(default)]
    pub(super) name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Listing<T> {
    #[serde(default = "Vec::new")]
    pub(super) entities: Vec<T>,
    pub(super) page_count: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct FlowResponse {
    pub(super) id: String,
    pub(super) name: String,
    #[serde(rename = "type")]
    pub(super) flow_type: Option<String>,
    pub(super) published_version: Option<VersionRef>,
    pub(super) locked_user: Option<EntityName>,
    pub(super) locked_client: Option<EntityName>,
}

/// `User` / `DomainEntityRef`: the fields a lock holder is named by.
#[derive(Deserialize)]
pub(super) struct EntityName {
    pub(super) id: Option<String>,
    pub(super) name: Option<String>,
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
pub(super) struct VersionRef {
    pub(super) id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct QueueResponse {
    pub(super) name: String,
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

pub(super) fn job_status(s: &str) -> Result<JobStatus, GenesysError> {
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
pub(super) fn flow_type_query(t: FlowType) -> &'static str {
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
pub(super) struct Named {
    pub(super) name: String,
}

#[derive(Deserialize, Default)]
pub(super) struct SchemaDoc {
    #[serde(default)]
    pub(super) properties: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ActionResponse {
    pub(super) name: String,
    #[serde(default)]
    pub(super) category: String,
    #[serde(default)]
    pub(super) contract: Option<ContractResponse>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ContractResponse {
    pub(super) input: Option<ContractInput>,
    pub(super) output: Option<ContractOutput>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ContractInput {
    pub(super) input_schema: Option<SchemaDoc>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ContractOutput {
    pub(super) success_schema: Option<SchemaDoc>,
}

#[derive(Deserialize)]
pub(super) struct DataTableResponse {
    pub(super) name: String,
    #[serde(default)]
    pub(super) schema: Option<SchemaDoc>,
}

pub(super) const MAX_PAGES: u32 = 1000;
pub(super) const PAGE_SIZE: &str = "100";
/// Flow ids per `GET /api/v2/flows?id=…` request: within the documented page sizes (25 by
/// default; Terraform asks for 500) and a query string of ~4 KB.
pub const IDS_PER_PAGE: usize = 100;

/// `RegisterArchitectExportJobResponse` (PySDK): `id`, `status`, `totalFlows`, `selfUri`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ExportRegisterResponse {
    pub(super) id: String,
}

/// `ArchitectExportJobStateResponse` (PySDK): `id`, `status`, `command`, `downloadUrl`,
/// `messages` (`ArchitectJobMessage`), `selfUri`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ExportJobResponse {
    pub(super) id: String,
    pub(super) status: String,
    #[serde(default)]
    pub(super) download_url: Option<String>,
    #[serde(default)]
    pub(super) messages: Vec<JobMessageResponse>,
}
