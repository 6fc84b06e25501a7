//! `updateData` → Set, when every statement assigns a declared variable of its own basic
//! type (string, integer, boolean) a literal or an expression the template language shares
//! with Archy.

use serde_json::{Map, Value, json};

use super::{Lists, on_complete};
use crate::import::expr;

fn statement(b: &dyn Lists, s: &Value) -> Option<Value> {
    let (ty, st) = s.as_object().filter(|m| m.len() == 1)?.iter().next()?;
    let kind = match ty.as_str() {
        "string" => "stringVariable",
        "integer" => "integerVariable",
        "boolean" => "booleanVariable",
        _ => return None,
    };
    let st = st.as_object()?;
    if !st.keys().all(|k| k == "variable" || k == "value") {
        return None;
    }
    let (name, declared) = b.vars().var(st.get("variable")?.as_str()?)?;
    if declared != kind {
        return None;
    }
    let value = st.get("value")?.as_object().filter(|m| m.len() == 1)?;
    let v = match (value.get("lit"), value.get("exp")) {
        (Some(Value::String(s)), None) if ty == "string" && !s.contains(['{', '}']) => {
            json!({"type": ty, "value": s})
        }
        (Some(Value::Number(n)), None) if ty == "integer" && n.is_i64() => {
            json!({"type": ty, "value": n})
        }
        (Some(Value::Bool(v)), None) if ty == "boolean" => json!({"type": ty, "value": v}),
        (None, Some(Value::String(e))) => {
            json!({"type": ty, "expression": expr::convert(e, b.vars())?})
        }
        _ => return None,
    };
    Some(json!({"key": name, "value": v}))
}

pub(super) fn import(
    b: &dyn Lists,
    body: &Map<String, Value>,
    next: Option<&str>,
) -> Option<(&'static str, Value)> {
    if !body.keys().all(|k| k == "name" || k == "statements") {
        return None;
    }
    let list = body
        .get("statements")?
        .as_array()
        .filter(|a| !a.is_empty())?;
    let set: Option<Vec<Value>> = list.iter().map(|s| statement(b, s)).collect();
    let mut n = json!({"type": "Set", "properties": {"setVars": set?}});
    on_complete(&mut n, next);
    Some(("Set", n))
}
