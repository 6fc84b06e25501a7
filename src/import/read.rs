//! Reading one Archy file: unfilled `{{…}}` placeholders, the YAML under the document
//! limits, and the root (`inboundCall` or `commonModule`).

use serde_json::{Map, Value};

use super::{ArchyFile, error};
use crate::template::document::{self, Decoded, DocumentLimits};
use crate::template::{Finding, FlowType};

/// Roots Archy knows that flowsmith does not import (yet).
const OTHER_ROOTS: &[&str] = &[
    "inqueueCall",
    "outboundCall",
    "secureCall",
    "inboundShortMessage",
    "inboundChat",
    "inboundEmail",
    "workflow",
    "botFlow",
    "digitalBot",
    "voicemail",
    "surveyInvite",
];

/// The first unfilled `{{name}}` placeholder: its line and column (1-based) and text.
fn placeholder(yaml: &str) -> Option<(usize, usize, &str)> {
    for (i, line) in yaml.lines().enumerate() {
        if let Some(start) = line.find("{{")
            && let Some(len) = line[start..].find("}}")
        {
            return Some((i + 1, start + 1, &line[start..start + len + 2]));
        }
    }
    None
}

/// The file's type and its root mapping (the value under `inboundCall`/`commonModule`).
pub(super) fn read(
    f: &ArchyFile,
    limits: DocumentLimits,
) -> Result<(FlowType, Map<String, Value>), Finding> {
    let file = f.name.as_str();
    if f.yaml.len() > limits.max_bytes {
        return Err(error(
            file,
            "document_too_large",
            "",
            format!(
                "the file has {} bytes, over the limit of {} (max_document_bytes)",
                f.yaml.len(),
                limits.max_bytes
            ),
        ));
    }
    if let Some((line, column, text)) = placeholder(&f.yaml) {
        return Err(error(
            file,
            "unfilled_placeholder",
            "",
            format!(
                "line {line}, column {column}: the placeholder {text} was never filled (a Terraform or CX-as-Code substitution); import the file its pipeline would publish"
            ),
        ));
    }
    let value = match document::from_yaml(f.yaml.as_bytes(), limits) {
        Ok(v) => v,
        Err(Decoded::Limit(l)) => return Err(error(file, l.code(), l.pointer(), &l)),
        Err(Decoded::Syntax(s)) => {
            return Err(error(file, "not_yaml", "", format!("not a YAML file: {s}")));
        }
    };
    let Value::Object(top) = value else {
        return Err(error(
            file,
            "not_a_flow",
            "",
            "not an Archy flow: the file must be a mapping with one key, the flow type (inboundCall, commonModule)",
        ));
    };
    if top.len() != 1 {
        let keys: Vec<&str> = top.keys().map(String::as_str).collect();
        return Err(error(
            file,
            "not_a_flow",
            "",
            format!(
                "not an Archy flow: the file must have one top-level key, the flow type, not {}",
                keys.join(", ")
            ),
        ));
    }
    let Some((root, body)) = top.into_iter().next() else {
        return Err(error(
            file,
            "not_a_flow",
            "",
            "not an Archy flow: the file is empty",
        ));
    };
    let at = crate::findings::pointer([root.as_str()]);
    let ty = match root.as_str() {
        "inboundCall" => FlowType::Inbound,
        "commonModule" => FlowType::Module,
        r if OTHER_ROOTS.contains(&r) => {
            return Err(error(
                file,
                "flow_type_not_imported",
                &at,
                format!(
                    "'{r}' flows are not imported: flowsmith manages inboundCall and commonModule flows"
                ),
            ));
        }
        r => {
            return Err(error(
                file,
                "unknown_root",
                &at,
                format!(
                    "'{r}' is not an Archy flow type (inboundCall, commonModule, inqueueCall, workflow, ...)"
                ),
            ));
        }
    };
    match body {
        Value::Object(m) => Ok((ty, m)),
        _ => Err(error(
            file,
            "not_a_flow",
            &at,
            format!("'{root}' must be a mapping: the flow's name, settings and tasks"),
        )),
    }
}
