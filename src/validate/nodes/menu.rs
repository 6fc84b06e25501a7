//! Menu: play a prompt and branch on the digit pressed; the digits are readable as
//! `{Menu.digits}`, like a Gather's.

use serde_json::{Map, Value};

use super::NodeIn;
use crate::template::model::{MenuChoice, NodeKind, Prompt, VarType};
use crate::validate::rules::Rules;
use crate::validate::validator::{PNode, Validator, Write, at};

/// Menu `repeat` when the document does not say.
const DEFAULT_MENU_REPEAT: u32 = 2;

pub(super) const RULES: Rules = Rules {
    properties: &[
        "prompt",
        "promptName",
        "choices",
        "repeat",
        "timeoutSeconds",
    ],
    ignores_on_complete: true,
    ..Rules::PLAIN
};

impl Validator<'_> {
    pub(super) fn menu(&mut self, n: NodeIn<'_>) -> Option<NodeKind> {
        let NodeIn { props, pat, p, .. } = n;
        let prompt = self.menu_prompt(props, pat, p);
        let repeat = match self.opt_int(props, "repeat", pat) {
            None => Some(DEFAULT_MENU_REPEAT),
            Some(n @ 1..=10) => Some(n as u32),
            Some(n) => {
                self.error_hint(
                    "invalid_value",
                    at(pat, "repeat"),
                    format!("repeat is {n}; it must be 1 to 10"),
                    "it is the menu's repeatCount, which Architect takes from 0 to 10 \
                     (Scripting SDK ArchSettingsMenu); a menu plays at least once",
                );
                None
            }
        };
        let timeout_seconds = match self.opt_seconds(props, "timeoutSeconds", pat) {
            Some(s @ 1..=60) => Some(Some(s)),
            None => Some(None),
            Some(s) => {
                self.error_hint(
                    "invalid_value",
                    at(pat, "timeoutSeconds"),
                    format!("timeoutSeconds is {s}; it must be 1 to 60"),
                    "it is the menu's menuSelectionTimeout, which Architect takes from 1 to 60 \
                     seconds (Scripting SDK ArchSettingsMenu)",
                );
                None
            }
        };
        let cat = at(pat, "choices");
        let items: &[Value] = match props.get("choices") {
            Some(Value::Array(a)) if !a.is_empty() => a,
            Some(Value::Array(_)) | None | Some(Value::Null) => {
                self.error_hint(
                    "missing_property",
                    cat,
                    format!("Menu node '{}' has no choices", p.key),
                    "add choices: [{\"digit\": \"1\", \"nextNode\": \"...\"}]",
                );
                return None;
            }
            Some(v) => {
                self.wrong_type(
                    &cat,
                    "'choices' must be an array of {digit, nextNode, label}",
                    v,
                );
                return None;
            }
        };
        let mut choices: Vec<MenuChoice> = Vec::new();
        let mut ok = true;
        for (i, c) in items.iter().enumerate() {
            ok &= self.choice(c, &at(&cat, &i.to_string()), p, &mut choices);
        }
        ok &= self.menu_digits(p);
        if !ok {
            return None;
        }
        Some(NodeKind::Menu {
            prompt: prompt?,
            choices,
            repeat: repeat?,
            timeout_seconds: timeout_seconds?,
        })
    }

    /// Exactly one of `prompt` (text) and `promptName` (a stored prompt).
    fn menu_prompt(
        &mut self,
        props: &Map<String, Value>,
        pat: &str,
        p: &mut PNode,
    ) -> Option<Prompt> {
        let named = props.get("promptName").is_some_and(|v| !v.is_null());
        if !named {
            return self
                .text_prop(props, "prompt", pat, p, true)
                .map(Prompt::Text);
        }
        if props.get("prompt").is_some_and(|v| !v.is_null()) {
            self.error_hint(
                "invalid_value",
                at(pat, "promptName"),
                "a Menu node has both prompt and promptName",
                "give exactly one of them",
            );
            None
        } else {
            self.object_name(props, "promptName", pat, "Menu")
                .map(Prompt::Named)
        }
    }

    /// One choice `{digit, nextNode, label}` (at `iat`) into `choices`, its target an exit
    /// of `p`; false when it is unusable.
    fn choice(
        &mut self,
        c: &Value,
        iat: &str,
        p: &mut PNode,
        choices: &mut Vec<MenuChoice>,
    ) -> bool {
        let Some(c) = c.as_object() else {
            self.wrong_type(
                iat,
                "a choice must be an object {digit, nextNode, label}",
                c,
            );
            return false;
        };
        self.unknown_fields(c, iat, &["digit", "nextNode", "label"], "a menu choice");
        let dat = at(iat, "digit");
        let Some(digit) = choice_digit(c.get("digit")) else {
            self.error_hint(
                "invalid_value",
                dat,
                "a menu choice needs a 'digit': one of 0-9, * or #",
                "e.g. \"digit\": \"1\"",
            );
            return false;
        };
        let mut ok = true;
        if choices.iter().any(|o| o.digit == digit) {
            self.error(
                "duplicate_choice",
                dat,
                format!("digit '{digit}' is used by two choices"),
            );
            ok = false;
        }
        let nat = at(iat, "nextNode");
        let Some(target) = self.opt_str(c, "nextNode", iat) else {
            self.error("missing_field", nat, "a menu choice needs a 'nextNode'");
            return false;
        };
        p.exits.push((target.clone(), nat, false));
        let label = self.opt_str(c, "label", iat);
        choices.push(MenuChoice {
            digit,
            target,
            label,
        });
        ok
    }

    /// The digits pressed, readable as `{Menu.digits}` like a Gather's: a write on every
    /// exit; false when the node id makes no variable name.
    fn menu_digits(&mut self, p: &mut PNode) -> bool {
        let (into, ok) = self.digits_var(p, "Menu", "digits");
        p.writes.push(Write {
            var: into,
            ty: Some(VarType::String),
            at: p.at.clone(),
        });
        ok
    }
}

/// A choice's `digit`: one of 0-9, `*` or `#`, as a string or a number.
fn choice_digit(v: Option<&Value>) -> Option<char> {
    match v {
        Some(Value::String(s)) => {
            let mut cs = s.chars();
            match (cs.next(), cs.next()) {
                (Some(d), None) if d.is_ascii_digit() || d == '*' || d == '#' => Some(d),
                _ => None,
            }
        }
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|n| *n <= 9)
            .and_then(|n| char::from_digit(n as u32, 10)),
        _ => None,
    }
}
