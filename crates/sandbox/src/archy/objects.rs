//! Org objects a flow names (data actions, data tables, schedule groups, prompts, queues):
//! what the caller checks against the org's state, with where the flow names them.

use serde_yaml_ng::{Mapping, Value};

use super::unverified::{CALL_DATA_ACTION, PROMPT_PREFIX};
use super::{as_str, escape, get};

/// An org object (other than a queue or module) a flow names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgObject {
    /// A data action with the inputs and success outputs the flow maps.
    DataAction {
        integration: String,
        action: String,
        inputs: Vec<String>,
        outputs: Vec<String>,
    },
    /// A data table with the columns the flow reads when the key is found.
    DataTable {
        table: String,
        outputs: Vec<String>,
    },
    ScheduleGroup(String),
    Prompt(String),
}

/// Where a flow names an org object: the naming action and the JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedObject {
    pub object: OrgObject,
    pub action: String,
    pub at: String,
}

/// The `Prompt.<name>` references in an expression (or in a text that is one).
pub fn prompt_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(i) = text[from..].find(PROMPT_PREFIX) {
        let start = from + i;
        from = start + PROMPT_PREFIX.len();
        let ident_before = start > 0 && {
            let b = bytes[start - 1];
            b.is_ascii_alphanumeric() || b == b'_' || b == b'.'
        };
        if ident_before {
            continue;
        }
        let name: String = text[from..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

pub(super) fn queue_literal(v: &Value) -> Option<String> {
    let Value::Mapping(tq) = v else { return None };
    let Some(Value::Mapping(lit)) = get(tq, "lit") else {
        return None;
    };
    get(lit, "name").and_then(as_str)
}

/// The data actions (`callData`) and data tables (`dataTableLookup`) an action names,
/// as map keys (see `CALL_DATA_ACTION`, `TABLE_LOOKUP_ACTION`), named in flow `name`.
pub(super) fn org_objects(
    kind: &str,
    body: &Mapping,
    at: &str,
    action_name: &str,
    name: &str,
    errors: &mut Vec<String>,
    objects: &mut Vec<NamedObject>,
) {
    let keys = |m: Option<&Value>| -> Vec<String> {
        match m {
            Some(Value::Mapping(m)) => m.keys().filter_map(as_str).collect(),
            _ => Vec::new(),
        }
    };
    if kind == CALL_DATA_ACTION {
        let Some(Value::Mapping(category)) = get(body, "category") else {
            errors.push(format!(
                "Error: Flow '{name}': action '{action_name}' (callData) at {at} does not name a data action (category.<integration>.dataAction.<action>)"
            ));
            return;
        };
        for (integration, v) in category {
            let Some(integration) = as_str(integration) else {
                continue;
            };
            let actions = match v {
                Value::Mapping(m) => match get(m, "dataAction") {
                    Some(Value::Mapping(a)) => Some(a),
                    _ => None,
                },
                _ => None,
            };
            let Some(actions) = actions.filter(|a| !a.is_empty()) else {
                errors.push(format!(
                    "Error: Flow '{name}': action '{action_name}' (callData) at {at}/category/{} does not name a data action",
                    escape(&integration)
                ));
                continue;
            };
            for (action, spec) in actions {
                let Some(action) = as_str(action) else {
                    continue;
                };
                let spec = match spec {
                    Value::Mapping(m) => Some(m),
                    _ => None,
                };
                objects.push(NamedObject {
                    object: OrgObject::DataAction {
                        integration: integration.clone(),
                        action: action.clone(),
                        inputs: keys(spec.and_then(|m| get(m, "inputs"))),
                        outputs: keys(spec.and_then(|m| get(m, "successOutputs"))),
                    },
                    action: action_name.to_owned(),
                    at: format!(
                        "{at}/category/{}/dataAction/{}",
                        escape(&integration),
                        escape(&action)
                    ),
                });
            }
        }
    } else {
        let Some(Value::Mapping(tables)) =
            get(body, "dataTable").filter(|t| matches!(t, Value::Mapping(m) if !m.is_empty()))
        else {
            errors.push(format!(
                "Error: Flow '{name}': action '{action_name}' (dataTableLookup) at {at} does not name a data table"
            ));
            return;
        };
        for (table, spec) in tables {
            let Some(table) = as_str(table) else { continue };
            let spec = match spec {
                Value::Mapping(m) => Some(m),
                _ => None,
            };
            objects.push(NamedObject {
                object: OrgObject::DataTable {
                    table: table.clone(),
                    outputs: keys(spec.and_then(|m| get(m, "foundOutputs"))),
                },
                action: action_name.to_owned(),
                at: format!("{at}/dataTable/{}", escape(&table)),
            });
        }
    }
}
