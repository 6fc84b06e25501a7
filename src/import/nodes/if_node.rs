//! `decision` → If, when its condition is in the subset the template's expression language
//! shares with Archy ([`crate::import::expr`]). `yes` is the condition's node, `no` the
//! default; an output without actions merges back to the action after the decision.

use serde_json::{Map, Value, json};

use super::Lists;
use crate::findings::pointer;
use crate::import::expr;

/// The converted condition, when the decision can be an If moving on to `next`.
pub(super) fn plan(b: &dyn Lists, body: &Map<String, Value>, next: Option<&str>) -> Option<String> {
    if !body
        .keys()
        .all(|k| matches!(k.as_str(), "name" | "condition" | "outputs"))
    {
        return None;
    }
    let cond = body.get("condition")?.as_object()?;
    if cond.len() != 1 {
        return None;
    }
    let e = expr::convert(cond.get("exp")?.as_str()?, b.vars())?;
    branches_fit(body, &["yes", "no"], next).then_some(e)
}

/// Every output is one of `names` holding only actions, and an output without actions has
/// somewhere to merge back to.
pub(super) fn branches_fit(body: &Map<String, Value>, names: &[&str], next: Option<&str>) -> bool {
    let outs = match body.get("outputs") {
        None => return next.is_some(),
        Some(Value::Object(o)) => o,
        Some(_) => return false,
    };
    let fits = outs.iter().all(|(k, v)| {
        names.contains(&k.as_str())
            && v.as_object()
                .is_some_and(|o| o.keys().all(|k| k == "actions"))
    });
    fits && (next.is_some() || names.iter().all(|n| has_actions(body, n)))
}

fn has_actions(body: &Map<String, Value>, output: &str) -> bool {
    body.get("outputs")
        .and_then(|o| o.get(output))
        .and_then(|o| o.get("actions"))
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
}

/// Where output `name`'s actions start (imported now), else `next`.
pub(super) fn branch(
    b: &mut dyn Lists,
    body: &Map<String, Value>,
    name: &str,
    at: &str,
    next: Option<&str>,
) -> Option<String> {
    if has_actions(body, name) {
        let actions = body
            .get("outputs")
            .and_then(|o| o.get(name))
            .and_then(|o| o.get("actions"))
            .cloned()
            .unwrap_or(Value::Null);
        let list_at = format!("{at}{}", pointer(["outputs", name, "actions"]));
        b.list(&actions, &list_at, next.map(str::to_owned))
    } else {
        next.map(str::to_owned)
    }
}

pub(super) fn import(
    b: &mut dyn Lists,
    body: &Map<String, Value>,
    at: &str,
    next: Option<&str>,
) -> Option<(&'static str, Value)> {
    let condition = plan(b, body, next)?;
    let yes = branch(b, body, "yes", at, next)?;
    let no = branch(b, body, "no", at, next)?;
    Some((
        "If",
        json!({"type": "If", "properties": {
            "conditions": [{"expression": condition, "nextNode": yes}],
            "defaultNextNode": no,
        }}),
    ))
}
