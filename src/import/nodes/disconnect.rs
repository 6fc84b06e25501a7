//! `disconnect` → Disconnect.

use serde_json::{Map, Value, json};

pub(super) fn import(body: &Map<String, Value>) -> Option<(&'static str, Value)> {
    body.keys().all(|k| k == "name").then(|| {
        (
            "Disconnect",
            json!({"type": "Disconnect", "properties": {}}),
        )
    })
}
