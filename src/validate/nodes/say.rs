//! Say: text to speech, or with `promptName` a stored prompt (PlayPrompt).

use serde_json::{Map, Value};

use super::NodeIn;
use crate::template::model::NodeKind;
use crate::validate::rules::Rules;
use crate::validate::validator::{Validator, at};

pub(super) const RULES: Rules = Rules {
    properties: &["sayText", "sayLanguage", "playBeepBeforeText", "promptName"],
    accepts_silently: |key, _| key == "sayGender",
    uncompiled_on_error: Some("playAudio"),
    ..Rules::PLAIN
};

impl Validator<'_> {
    /// A Say node, or with `promptName` a PlayPrompt.
    pub(super) fn say(&mut self, n: NodeIn<'_>) -> Option<NodeKind> {
        let NodeIn { props, pat, p, .. } = n;
        if props.get("promptName").is_some_and(|v| !v.is_null()) {
            return self.play_prompt(props, pat);
        }
        let text = self.text_prop(props, "sayText", pat, p, true);
        let language = self.opt_str(props, "sayLanguage", pat);
        let beep = self
            .opt_bool(props, "playBeepBeforeText", pat)
            .unwrap_or(false);
        Some(NodeKind::Say {
            text: text?,
            language,
            beep,
        })
    }

    fn play_prompt(&mut self, props: &Map<String, Value>, pat: &str) -> Option<NodeKind> {
        if props.get("sayText").is_some_and(|v| !v.is_null()) {
            self.error_hint(
                "invalid_value",
                at(pat, "promptName"),
                "a Say node has both sayText and promptName",
                "give exactly one of them",
            );
            return None;
        }
        Some(NodeKind::PlayPrompt {
            prompt: self.object_name(props, "promptName", pat, "Say")?,
        })
    }
}
