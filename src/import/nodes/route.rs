//! `transferToAcd` → Route, when the Route compiles back to the same transfer: a literal
//! queue name, a literal priority, and nothing the Route does not write (no transfer audio,
//! preferred agents, language skill, in-queue flow or failure outputs). A failed transfer
//! goes on with the actions after it, as the Route's `onError`.

use serde_json::{Map, Value, json};

use super::no_value;

/// The Route node of the transfer fields `body` (without the action's name), when it says
/// exactly what the Route compiles to.
pub(super) fn exact(body: &Map<String, Value>) -> Option<Value> {
    let mut queue = None;
    let mut priority = None;
    for (k, v) in body {
        match k.as_str() {
            "name" => {}
            "targetQueue" => {
                let q = v.pointer("/lit/name")?.as_str()?;
                (v.as_object()?.len() == 1 && v.get("lit")?.as_object()?.len() == 1)
                    .then_some(())?;
                queue = Some(q.to_owned());
            }
            "priority" => priority = Some(v.pointer("/lit")?.as_i64()?),
            "preferredAgents" | "languageSkill" if no_value(v) => {}
            "failureOutputs" => {
                let m = v.as_object()?;
                m.values().all(no_value).then_some(())?;
            }
            _ => return None,
        }
    }
    let q = queue.filter(|q| !q.trim().is_empty() && !q.contains(['{', '}']))?;
    let mut props = json!({"queueName": q});
    if let Some(p) = priority.filter(|p| *p != 0) {
        props["priority"] = p.into();
    }
    Some(json!({"type": "Route", "properties": props}))
}

/// A `transferToAcd` action: a Route moving to `next` when the transfer fails.
pub(super) fn import(
    body: &Map<String, Value>,
    next: Option<&str>,
) -> Option<(&'static str, Value)> {
    let mut n = exact(body)?;
    if let (Some(next), Some(o)) = (next, n.as_object_mut()) {
        o.insert("onError".into(), json!({ "nextNode": next }));
    }
    Some(("Route", n))
}
