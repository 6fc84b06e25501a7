//! What the derived OpenAPI document cannot say by itself about what the server refuses,
//! stated in one place: text without control characters (every JSON body refuses them:
//! [`crate::template::document`]), `publish` that must be true, caller inputs that are
//! digits or a timeout, the page token's alphabet, and the YAML bodies' shapes. A generated
//! client, or schemathesis (`tests/schemathesis.rs`), then finds no schema-valid request
//! refused for a reason the schema could have given.

use serde_json::{Value, json};
use utoipa::openapi::schema::{ArrayItems, Object, Schema};
use utoipa::openapi::{OpenApi, RefOr};

/// Text the JSON bodies accept: no C0 control but tab, newline and carriage return, no DEL,
/// no C1 control ([`crate::template::document::forbidden_control`]).
pub const TEXT_PATTERN: &str = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$";

/// A page token as the service issues it: unpadded base64url of the last key
/// ([`super::paging`]), so never of a length of 1 modulo 4.
pub const PAGE_TOKEN_PATTERN: &str = r"^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$";

/// Applies the constraints to `spec`, in place. (utoipa's types do not read back every
/// schema they write, so the document is edited field by field; only the new schemas are
/// read from JSON.)
pub fn apply(spec: &mut OpenApi) {
    texts(spec);
    simulation_input(spec);
    page_tokens(spec);
    last_event_id(spec);
    bodies(spec);
}

/// Names, descriptions and parameter names in bodies; `publish`.
fn texts(spec: &mut OpenApi) {
    // Names and descriptions the bodies carry.
    for (schema, field) in [
        ("JobRequest", "target"),
        ("JobRequest", "description"),
        ("FlowRequest", "template"),
        ("FlowRequest", "name"),
        ("SimulationRequest", "template"),
        ("CompileRequest", "flow_name"),
        ("TemplateDocument", "name"),
        ("TemplateDocument", "description"),
    ] {
        if let Some(o) = property(spec, schema, field).and_then(object) {
            o.pattern = Some(TEXT_PATTERN.to_owned());
        }
    }
    if let Some(Schema::Array(a)) = property(spec, "JobRequest", "delete").and_then(schema)
        && let ArrayItems::RefOrSchema(items) = &mut a.items
        && let Some(o) = object(items)
    {
        o.pattern = Some(TEXT_PATTERN.to_owned());
    }
    for schema in ["FlowRequest", "SimulationRequest", "CompileRequest"] {
        if let Some(o) = property(spec, schema, "params").and_then(object)
            && let Some(names) = o.property_names.as_deref_mut()
            && let Schema::Object(names) = names
        {
            names.pattern = Some(TEXT_PATTERN.to_owned());
        }
    }
    // A template name is 1-200 characters (crate::template::name_problem says the rest).
    if let Some(o) = property(spec, "TemplateDocument", "name").and_then(object) {
        o.min_length = Some(1);
        o.max_length = Some(crate::template::MAX_NAME_LEN);
    }
    // The Architect job API always publishes: false is refused. No `default` in the
    // schema: openapi-typescript makes a property with a default required.
    if let Some(o) = property(spec, "JobRequest", "publish").and_then(object) {
        o.enum_values = Some(vec![json!(true)]);
    }
}

/// One caller input: digits (1-32 of 0-9, * and #), or a timeout.
fn simulation_input(spec: &mut OpenApi) {
    let max_digits = crate::validate::MAX_DIGITS_LIMIT;
    set_schema(
        spec,
        "SimulationInput",
        json!({
            "description": "One caller input for a Gather: `{\"digits\": \"1\"}` (keys pressed: 0-9, * and #), or `{\"timeout\": true}` (no input: the Gather's error exit).",
            "oneOf": [
                {
                    "type": "object",
                    "title": "SimulationDigits",
                    "properties": {
                        "digits": {"type": "string", "pattern": format!("^[0-9*#]{{1,{max_digits}}}$")},
                        // (anyOf, not `enum: [false, null]`, which openapi-python-client refuses)
                        "timeout": {"anyOf": [{"type": "boolean", "enum": [false]}, {"type": "null"}]}
                    },
                    "required": ["digits"],
                    "additionalProperties": false
                },
                {
                    "type": "object",
                    "title": "SimulationTimeout",
                    "properties": {
                        "digits": {"type": "null"},
                        "timeout": {"type": "boolean", "enum": [true]}
                    },
                    "required": ["timeout"],
                    "additionalProperties": false
                }
            ]
        }),
    );
}

/// Page tokens: the alphabet and lengths the service issues (any such token names a
/// position in the list).
fn page_tokens(spec: &mut OpenApi) {
    for path in ["/v1/templates", "/v1/jobs", "/v1/flows"] {
        let params = spec
            .paths
            .paths
            .get_mut(path)
            .and_then(|i| i.get.as_mut())
            .and_then(|op| op.parameters.as_mut());
        for p in params.into_iter().flatten() {
            if p.name == "page_token"
                && let Some(o) = p.schema.as_mut().and_then(object)
            {
                o.pattern = Some(PAGE_TOKEN_PATTERN.to_owned());
            }
        }
    }
}

/// `Last-Event-ID` is an event's id when sent (an integer; utoipa writes the optional header
/// as nullable, and `null` is not an id).
fn last_event_id(spec: &mut OpenApi) {
    let params = spec
        .paths
        .paths
        .get_mut("/v1/jobs/{id}/events")
        .and_then(|i| i.get.as_mut())
        .and_then(|op| op.parameters.as_mut());
    for p in params.into_iter().flatten() {
        if p.name == "Last-Event-ID"
            && let Ok(integer) =
                serde_json::from_value(json!({"type": "integer", "format": "int64"}))
        {
            p.schema = Some(integer);
        }
    }
}

/// YAML bodies are the same documents as the JSON ones (not strings). Validation takes any
/// object and answers 200 with its findings (a document without `name` is a finding, not a
/// refusal).
fn bodies(spec: &mut OpenApi) {
    let any_document = json!({
        "type": "object",
        "description": "A template document (TemplateDocument), checked in full: whatever is missing or wrong is a finding of the answer.",
        "additionalProperties": true
    });
    for (path, content, body) in [
        (
            "/v1/templates",
            "application/yaml",
            json!({"$ref": "#/components/schemas/TemplateDocument"}),
        ),
        (
            "/v1/imports",
            "application/yaml",
            json!({
                "type": "object",
                "description": "One Archy flow file: a mapping whose one key is the flow type (`inboundCall`, `commonModule`).",
                "minProperties": 1,
                "maxProperties": 1,
                "additionalProperties": true
            }),
        ),
        ("/v1/validate", "application/json", any_document.clone()),
        ("/v1/validate", "application/yaml", any_document),
    ] {
        let content = spec
            .paths
            .paths
            .get_mut(path)
            .and_then(|i| i.post.as_mut())
            .and_then(|op| op.request_body.as_mut())
            .and_then(|b| b.content.get_mut(content));
        if let Some(c) = content
            && let Ok(schema) = serde_json::from_value(body)
        {
            c.schema = Some(schema);
        }
    }
}

fn schema(s: &mut RefOr<Schema>) -> Option<&mut Schema> {
    match s {
        RefOr::T(s) => Some(s),
        RefOr::Ref(_) => None,
    }
}

fn object(s: &mut RefOr<Schema>) -> Option<&mut Object> {
    match schema(s)? {
        Schema::Object(o) => Some(o),
        _ => None,
    }
}

fn property<'a>(spec: &'a mut OpenApi, schema: &str, field: &str) -> Option<&'a mut RefOr<Schema>> {
    let components = spec.components.as_mut()?;
    object(components.schemas.get_mut(schema)?)?
        .properties
        .get_mut(field)
}

fn set_schema(spec: &mut OpenApi, name: &str, value: Value) {
    if let Some(components) = spec.components.as_mut()
        && let Some(s) = components.schemas.get_mut(name)
        && let Ok(new) = serde_json::from_value(value)
    {
        *s = new;
    }
}
