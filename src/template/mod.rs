//! Flow templates: the node-graph document of spec section 3 and the validated model that
//! the compiler and the simulator both read. Validation itself is [`crate::validate`],
//! which builds the model; this module does not import it.
//!
//! Everything here is pure: no I/O, no async.

pub mod document;
pub mod expr;
pub mod generate;
pub mod model;
pub mod params;
pub mod types;

use std::collections::BTreeMap;

use serde_json::Value;
use sha2::{Digest, Sha256};

pub use crate::findings::{
    Finding, MAX_ECHO_CHARS, MAX_FINDINGS, Severity, answer_findings, excerpt, pointer,
};
pub use generate::generate_large;
pub use model::{Flow, FlowType, OrgObjectKind, OrgObjectRef, org_objects};
pub use params::{instantiate, instantiate_with_findings};

/// Longest template name Genesys accepts for a flow.
pub const MAX_NAME_LEN: usize = 200;

/// Device names Windows reserves: a flow exported under such a name cannot be saved as a
/// file there (Archy writes flows to files named after them).
const RESERVED_NAMES: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Unicode bidirectional controls: they make a name display differently from what it is
/// ("Trojan Source").
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Why Genesys (or a file system the flow is exported to) would reject `name` as a flow
/// name, if it would.
pub fn name_problem(name: &str) -> Option<String> {
    let len = name.chars().count();
    if len == 0 {
        return Some("the name is empty".into());
    }
    if len > MAX_NAME_LEN {
        return Some(format!(
            "the name has {len} characters; Genesys accepts at most {MAX_NAME_LEN}"
        ));
    }
    if name.trim() != name {
        return Some("the name has leading or trailing whitespace".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| c.is_control() || "\\/:*?\"<>|".contains(*c))
    {
        return Some(format!("the name contains the character {c:?}"));
    }
    if let Some(c) = name.chars().find(|&c| is_bidi_control(c)) {
        return Some(format!(
            "the name contains the bidirectional control {:?}",
            c.escape_unicode().to_string()
        ));
    }
    if name.chars().all(|c| c == '.') {
        return Some("the name is only dots".into());
    }
    let stem = name.split('.').next().unwrap_or(name).trim_end();
    if RESERVED_NAMES.iter().any(|r| r.eq_ignore_ascii_case(stem)) {
        return Some(format!("{stem:?} is a reserved device name"));
    }
    None
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
    /// A document limit, or a rule every text of a document follows (no duplicate keys, no
    /// control characters): a 422 naming the place.
    #[error(transparent)]
    Limit(#[from] document::LimitError),
}

/// Reads a template document from JSON, or YAML when `yaml` is set, under the default
/// [`document::DocumentLimits`].
pub fn parse_document(bytes: &[u8], yaml: bool) -> Result<Value, DocumentError> {
    parse_document_with(bytes, yaml, document::DocumentLimits::default())
}

/// Reads a template document under `limits` (see [`document`]).
pub fn parse_document_with(
    bytes: &[u8],
    yaml: bool,
    limits: document::DocumentLimits,
) -> Result<Value, DocumentError> {
    use document::Decoded;
    let decoded = if yaml {
        document::from_yaml(bytes, limits).map_err(|e| match e {
            Decoded::Limit(l) => DocumentError::Limit(l),
            Decoded::Syntax(m) => DocumentError::Yaml(m),
        })
    } else {
        document::from_json(bytes, limits).map_err(|e| match e {
            Decoded::Limit(l) => DocumentError::Limit(l),
            // serde_json's message ends with the position; keep the parts apart.
            Decoded::Syntax(m) => json_syntax(&m),
        })
    };
    let value = decoded?;
    if !value.is_object() {
        return Err(DocumentError::NotAnObject);
    }
    Ok(value)
}

fn json_syntax(message: &str) -> DocumentError {
    let mut it = message.rsplitn(2, " at line ");
    let (pos, head) = (it.next().unwrap_or(""), it.next());
    let mut nums = pos
        .split(" column ")
        .map(|n| n.trim().parse::<usize>().ok());
    match (head, nums.next().flatten(), nums.next().flatten()) {
        (Some(_), Some(line), Some(column)) => DocumentError::Json {
            line,
            column,
            message: message.to_owned(),
        },
        _ => DocumentError::Json {
            line: 0,
            column: 0,
            message: message.to_owned(),
        },
    }
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
    fn names_files_cannot_hold_are_refused() {
        for bad in [
            ".",
            "..",
            "CON",
            "con.txt",
            "Lpt1",
            "a\u{202E}b",
            "x\u{2066}",
            "a\0b",
            "",
            " a",
        ] {
            assert!(name_problem(bad).is_some(), "{bad:?}");
        }
        for good in ["Main IVR", "Sales.v2", "Console", "Ünïcödé", "COM10"] {
            assert_eq!(name_problem(good), None, "{good:?}");
        }
        assert!(name_problem(&"n".repeat(1 << 20)).unwrap().len() < 100);
    }

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
