//! Flow templates: the node-graph document of spec section 3, its validation, and the
//! validated model that the compiler and the simulator both read.
//!
//! Everything here is pure: no I/O, no async. Callers that need stored modules (to know
//! which variables a called module writes) pass them in through [`Catalog`].

pub mod expr;
pub mod generate;
pub mod model;
pub mod params;
pub mod validate;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

pub use generate::generate_large;
pub use model::{Flow, FlowType, OrgObjectKind, OrgObjectRef, org_objects};
pub use params::{instantiate, instantiate_with_findings};
pub use validate::{Report, interface, validate, validate_with_params};

/// Longest template name Genesys accepts for a flow.
pub const MAX_NAME_LEN: usize = 200;

/// How bad a finding is: errors block storing (422), warnings don't.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One validation result, pointing into the submitted document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Finding {
    /// Stable machine-readable code, e.g. `unknown_next_node`.
    pub code: String,
    pub severity: Severity,
    /// RFC 6901 JSON Pointer into the submitted document ("" is the whole document).
    pub pointer: String,
    pub message: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Finding {
    pub fn error(code: &str, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            code: code.to_owned(),
            severity: Severity::Error,
            pointer: pointer.into(),
            message: message.into(),
            hint: None,
        }
    }

    pub fn warning(code: &str, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(code, pointer, message)
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Builds a JSON Pointer from reference tokens, escaping `~` and `/` (RFC 6901).
pub fn pointer<I, S>(tokens: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out = String::new();
    for t in tokens {
        out.push('/');
        for c in t.as_ref().chars() {
            match c {
                '~' => out.push_str("~0"),
                '/' => out.push_str("~1"),
                c => out.push(c),
            }
        }
    }
    out
}

/// What other templates need to know about a stored module: which variables it takes and
/// which it hands back to its caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleInterface {
    /// Template name of the module.
    pub name: String,
    /// The stored template's declared type (a seed "inbound" document can still be called).
    pub declared_type: Option<FlowType>,
    pub inputs: BTreeMap<String, model::VarType>,
    pub outputs: BTreeMap<String, model::VarType>,
    /// Whether the module itself contains a Flow node (modules cannot call modules).
    pub calls_modules: bool,
}

/// Stored modules, looked up by template name while validating or loading a caller.
pub trait Catalog {
    fn module(&self, name: &str) -> Option<ModuleInterface>;
}

/// A catalog of stored modules keyed by template name (what [`Catalog::module`] looks up),
/// e.g. from [`validate::interface`] of each stored template's validated flow.
pub fn catalog<I: IntoIterator<Item = ModuleInterface>>(
    modules: I,
) -> BTreeMap<String, ModuleInterface> {
    modules.into_iter().map(|m| (m.name.clone(), m)).collect()
}

/// A catalog of every document that validates on its own, by template name.
pub fn catalog_of<'a>(
    docs: impl IntoIterator<Item = &'a Value>,
) -> BTreeMap<String, ModuleInterface> {
    catalog(
        docs.into_iter()
            .filter_map(|d| validate(d, &NoModules).flow)
            .map(|f| interface(&f)),
    )
}

/// A catalog that knows no modules (validation of a template on its own).
pub struct NoModules;

impl Catalog for NoModules {
    fn module(&self, _name: &str) -> Option<ModuleInterface> {
        None
    }
}

impl Catalog for BTreeMap<String, ModuleInterface> {
    fn module(&self, name: &str) -> Option<ModuleInterface> {
        self.get(name).cloned()
    }
}

/// Why a request body could not be read as a template document at all.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("invalid YAML: {0}")]
    Yaml(String),
    #[error("a template document must be a JSON object")]
    NotAnObject,
}

/// Reads a template document from JSON, or YAML when `yaml` is set.
pub fn parse_document(bytes: &[u8], yaml: bool) -> Result<Value, DocumentError> {
    let value: Value = if yaml {
        serde_yaml_ng::from_slice(bytes).map_err(|e| DocumentError::Yaml(e.to_string()))?
    } else {
        serde_json::from_slice(bytes).map_err(|e| DocumentError::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?
    };
    if !value.is_object() {
        return Err(DocumentError::NotAnObject);
    }
    Ok(value)
}

/// Canonical content hash: SHA-256 over the document serialised with sorted keys and no
/// insignificant whitespace, so key order and formatting do not make a new version.
pub fn content_hash(doc: &Value) -> String {
    // serde_json's default map is a BTreeMap, so serialisation is already key-sorted.
    let bytes = serde_json::to_vec(doc).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

/// The name, type and called module names of a document, read leniently (no validation):
/// what the service needs before it can validate (to prefetch modules) or index a template.
#[derive(Debug, Clone, Default)]
pub struct Header {
    pub name: Option<String>,
    pub flow_type: Option<FlowType>,
    pub called_modules: Vec<String>,
}

pub fn header(doc: &Value) -> Header {
    let name = doc.get("name").and_then(Value::as_str).map(str::to_owned);
    let flow_type = doc
        .get("type")
        .and_then(Value::as_str)
        .and_then(FlowType::parse);
    let mut called_modules: Vec<String> = doc
        .pointer("/draft/nodes")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|nodes| nodes.values())
        .filter(|n| n.get("type").and_then(Value::as_str) == Some("Flow"))
        .filter_map(|n| n.pointer("/properties/flowName").and_then(Value::as_str))
        .map(str::to_owned)
        .collect();
    called_modules.sort();
    called_modules.dedup();
    Header {
        name,
        flow_type,
        called_modules,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointer_escapes_tokens() {
        assert_eq!(pointer(["draft", "nodes", "a/b~c"]), "/draft/nodes/a~1b~0c");
        assert_eq!(pointer(Vec::<String>::new()), "");
    }

    #[test]
    fn hash_ignores_key_order_and_whitespace() {
        let a = parse_document(br#"{"name":"x","type":"module"}"#, false).unwrap();
        let b = parse_document(b"{ \"type\": \"module\",\n \"name\": \"x\" }", false).unwrap();
        let c = parse_document(b"name: x\ntype: module\n", true).unwrap();
        assert_eq!(content_hash(&a), content_hash(&b));
        assert_eq!(content_hash(&a), content_hash(&c));
        let d = parse_document(br#"{"name":"y","type":"module"}"#, false).unwrap();
        assert_ne!(content_hash(&a), content_hash(&d));
    }

    #[test]
    fn parse_rejects_non_objects_and_reports_json_position() {
        assert!(matches!(
            parse_document(b"[1]", false),
            Err(DocumentError::NotAnObject)
        ));
        match parse_document(b"{\n  \"name\": }", false) {
            Err(DocumentError::Json { line, .. }) => assert_eq!(line, 2),
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            parse_document(b"a: [", true),
            Err(DocumentError::Yaml(_))
        ));
    }

    #[test]
    fn header_reads_called_modules() {
        let doc = json!({"name": "A", "type": "inboundcall", "draft": {"nodes": {
            "c": {"id": "c", "type": "Flow", "properties": {"flowName": "M"}},
            "d": {"id": "d", "type": "Flow", "properties": {"flowName": "M"}},
            "e": {"id": "e", "type": "Say"}
        }}});
        let h = header(&doc);
        assert_eq!(h.name.as_deref(), Some("A"));
        assert_eq!(h.flow_type, Some(FlowType::Inbound));
        assert_eq!(h.called_modules, vec!["M".to_owned()]);
    }
}
