//! `callData` → DataAction, when the DataAction writes the same call: no processing
//! prompt, a literal timeout in minutes, inputs that are literal text or one declared text
//! variable, success outputs into declared variables, no failure outputs. Exits: `success`
//! the next node, `failure` onError, `timeout` onTimeout; an output without actions merges
//! back to the action after the call.

use serde_json::{Map, Value, json};

use super::if_node::{branch, branches_fit};
use super::{Lists, no_value, text};

/// The DataAction's properties, when it writes this call.
fn plan(b: &dyn Lists, body: &Map<String, Value>, next: Option<&str>) -> Option<Value> {
    let mut props = Map::new();
    for (k, v) in body {
        match k.as_str() {
            "name" | "outputs" => {}
            "processingPrompt" if no_value(v) => {}
            "timeout" => {
                let m = v.pointer("/lit/minutes")?.as_i64()?;
                (1..=5).contains(&m).then_some(())?;
                props.insert("timeoutSeconds".into(), (m * 60).into());
            }
            "category" => {
                let (integration, spec) = v.as_object().filter(|m| m.len() == 1)?.iter().next()?;
                let spec = spec.as_object().filter(|m| m.len() == 1)?;
                let (action, contract) = spec
                    .get("dataAction")?
                    .as_object()
                    .filter(|m| m.len() == 1)?
                    .iter()
                    .next()?;
                let contract = contract.as_object()?;
                let mut inputs = Map::new();
                let mut outputs = Map::new();
                for (ck, cv) in contract {
                    match ck.as_str() {
                        "inputs" => {
                            for (n, v) in cv.as_object()? {
                                inputs.insert(n.clone(), text(b, v)?.into());
                            }
                        }
                        "successOutputs" => {
                            for (n, v) in cv.as_object()? {
                                let var = v.as_object().filter(|m| m.len() == 1)?.get("var")?;
                                // The template's outputs are text: only a text variable takes one.
                                let (name, kind) = b.vars().var(var.as_str()?)?;
                                (kind == "stringVariable").then_some(())?;
                                outputs.insert(n.clone(), name.into());
                            }
                        }
                        "failureOutputs" if cv.as_object()?.values().all(no_value) => {}
                        _ => return None,
                    }
                }
                props.insert("integration".into(), integration.as_str().into());
                props.insert("action".into(), action.as_str().into());
                props.insert("inputs".into(), Value::Object(inputs));
                if !outputs.is_empty() {
                    props.insert("outputs".into(), Value::Object(outputs));
                }
            }
            _ => return None,
        }
    }
    props.contains_key("integration").then_some(())?;
    props.contains_key("timeoutSeconds").then_some(())?;
    branches_fit(body, &["success", "failure", "timeout"], next).then_some(())?;
    Some(Value::Object(props))
}

pub(super) fn import(
    b: &mut dyn Lists,
    body: &Map<String, Value>,
    at: &str,
    next: Option<&str>,
) -> Option<(&'static str, Value)> {
    let props = plan(b, body, next)?;
    let success = branch(b, body, "success", at, next)?;
    let failure = branch(b, body, "failure", at, next)?;
    let timeout = branch(b, body, "timeout", at, next)?;
    Some((
        "DataAction",
        json!({"type": "DataAction", "properties": props,
            "onComplete": {"nextNode": success},
            "onError": {"nextNode": failure},
            "onTimeout": {"nextNode": timeout}}),
    ))
}
