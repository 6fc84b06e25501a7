//! `dataTableLookup` → TableLookup, when the key is literal text or one declared text
//! variable and every found output goes to a declared variable (or nowhere: `noValue`).
//! Exits: `found` the next node, `notFound` onNotFound, `failure` onError; an output without
//! actions merges back to the action after the look-up.

use serde_json::{Map, Value, json};

use super::if_node::{branch, branches_fit};
use super::{Lists, no_value};

fn plan(b: &dyn Lists, body: &Map<String, Value>, next: Option<&str>) -> Option<Value> {
    if !body
        .keys()
        .all(|k| matches!(k.as_str(), "name" | "lookupValue" | "dataTable" | "outputs"))
    {
        return None;
    }
    let key = body
        .get("lookupValue")?
        .as_object()
        .filter(|m| m.len() == 1)?;
    let key = match (key.get("lit"), key.get("exp")) {
        (Some(Value::String(s)), None) if !s.contains(['{', '}']) => s.clone(),
        (None, Some(Value::String(e))) => {
            let (name, kind) = b.vars().var(e.trim())?;
            (kind == "stringVariable").then(|| format!("{{{name}}}"))?
        }
        _ => return None,
    };
    let (table, spec) = body
        .get("dataTable")?
        .as_object()
        .filter(|m| m.len() == 1)?
        .iter()
        .next()?;
    let mut outputs = Map::new();
    for (k, v) in spec.as_object()? {
        match k.as_str() {
            "foundOutputs" => {
                for (col, o) in v.as_object()? {
                    if no_value(o) {
                        continue;
                    }
                    let var = o.as_object().filter(|m| m.len() == 1)?.get("var")?;
                    // The template's outputs are text: only a text variable takes one.
                    let (name, kind) = b.vars().var(var.as_str()?)?;
                    (kind == "stringVariable").then_some(())?;
                    outputs.insert(col.clone(), name.into());
                }
            }
            "failureOutputs" if v.as_object()?.values().all(no_value) => {}
            _ => return None,
        }
    }
    branches_fit(body, &["found", "notFound", "failure"], next).then_some(())?;
    Some(json!({"table": table, "key": key, "outputs": outputs}))
}

pub(super) fn import(
    b: &mut dyn Lists,
    body: &Map<String, Value>,
    at: &str,
    next: Option<&str>,
) -> Option<(&'static str, Value)> {
    let props = plan(b, body, next)?;
    let found = branch(b, body, "found", at, next)?;
    let not_found = branch(b, body, "notFound", at, next)?;
    let failure = branch(b, body, "failure", at, next)?;
    Some((
        "TableLookup",
        json!({"type": "TableLookup", "properties": props,
            "onComplete": {"nextNode": found},
            "onNotFound": {"nextNode": not_found},
            "onError": {"nextNode": failure}}),
    ))
}
