//! `setLanguage` of a literal tag → SetLanguage (it writes `languageValue: {lit: tag}` and
//! `language: tag`, as the corpus module `2445093_Lang` does).

use serde_json::{Map, Value, json};

use super::on_complete;
use crate::template::model::is_language_tag;

pub(super) fn import(
    body: &Map<String, Value>,
    next: Option<&str>,
) -> Option<(&'static str, Value)> {
    if !body
        .keys()
        .all(|k| matches!(k.as_str(), "name" | "languageValue" | "language"))
    {
        return None;
    }
    let v = body.get("languageValue")?;
    (v.as_object()?.len() == 1).then_some(())?;
    let tag = v.get("lit")?.as_str()?;
    // Compiled back lower case, with `language` repeating the tag.
    let same = body.get("language").and_then(Value::as_str) == Some(tag);
    if !same || !is_language_tag(tag) || tag != tag.to_ascii_lowercase() {
        return None;
    }
    let mut n = json!({"type": "SetLanguage", "properties": {"language": tag}});
    on_complete(&mut n, next);
    Some(("SetLanguage", n))
}
