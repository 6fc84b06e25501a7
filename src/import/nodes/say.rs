//! `playAudio` of a literal text-to-speech text → Say. Audio given by expression, prompt or
//! with braces in its text (the template language's variable marks) stays as written.

use serde_json::{Map, Value, json};

use super::on_complete;

pub(super) fn import(
    body: &Map<String, Value>,
    next: Option<&str>,
) -> Option<(&'static str, Value)> {
    if !body.keys().all(|k| k == "name" || k == "audio") {
        return None;
    }
    let audio = body.get("audio")?.as_object()?;
    if audio.len() != 1 {
        return None;
    }
    let text = audio.get("tts")?.as_str()?;
    if text.contains(['{', '}']) || text.trim().is_empty() {
        return None;
    }
    let mut n = json!({"type": "Say", "properties": {"sayText": text}});
    on_complete(&mut n, next);
    Some(("Say", n))
}
