//! `endTask` in a common module → End (the module returns to its caller).

use serde_json::{Map, Value, json};

pub(super) fn import(body: &Map<String, Value>) -> Option<(&'static str, Value)> {
    body.keys()
        .all(|k| k == "name")
        .then(|| ("End", json!({"type": "End", "properties": {}})))
}
