//! `transferToVoicemail` → Voicemail, when the Voicemail writes the same transfer: a queue's
//! voicemail by literal queue name, no callee name, callback number, greeting or transfer
//! audio. A failed transfer goes on with the actions after it, as the node's `onError`.

use serde_json::{Map, Value, json};

pub(super) fn import(
    body: &Map<String, Value>,
    next: Option<&str>,
) -> Option<(&'static str, Value)> {
    if !body.keys().all(|k| k == "name" || k == "destination") {
        return None;
    }
    let q = body
        .get("destination")?
        .as_object()
        .filter(|m| m.len() == 1)?;
    let q = q.get("queue")?.as_object()?;
    let mut queue = None;
    for (k, v) in q {
        match k.as_str() {
            "targetQueue" => {
                (v.as_object()?.len() == 1 && v.get("lit")?.as_object()?.len() == 1)
                    .then_some(())?;
                queue = Some(v.pointer("/lit/name")?.as_str()?.to_owned());
            }
            "calleeName" if v.get("noValue").and_then(Value::as_bool) == Some(true) => {}
            _ => return None,
        }
    }
    let queue = queue.filter(|q| !q.trim().is_empty() && !q.contains(['{', '}']))?;
    let mut n = json!({"type": "Voicemail", "properties": {"queue": queue}});
    if let Some(next) = next {
        n["onError"] = json!({"nextNode": next});
    }
    Some(("Voicemail", n))
}
