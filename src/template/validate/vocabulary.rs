//! Validation of the IVR vocabulary of issue 10: Menu, DataAction, TableLookup, Switch,
//! Set/GetParticipantData, Schedule, Voicemail and Say with `promptName`.

use serde_json::{Map, Value};

use super::{PNode, Validator, Write, at};
use crate::template::expr::is_var_name;
use crate::template::model::{MenuChoice, NodeKind, Prompt, ScheduleState, Text, VarRef, VarType};

/// Menu `repeat` when the document does not say.
pub const DEFAULT_MENU_REPEAT: u32 = 2;

impl Validator<'_> {
    /// A required, non-empty org object name.
    fn object_name(
        &mut self,
        props: &Map<String, Value>,
        key: &str,
        pat: &str,
        ty: &str,
    ) -> Option<String> {
        match self.opt_str(props, key, pat) {
            Some(s) if !s.trim().is_empty() => Some(s),
            Some(_) => {
                self.error(
                    "invalid_value",
                    at(pat, key),
                    format!("'{key}' must not be empty"),
                );
                None
            }
            None if props.get(key).is_none_or(Value::is_null) => {
                self.error(
                    "missing_property",
                    at(pat, key),
                    format!("{ty} nodes need '{key}'"),
                );
                None
            }
            None => None,
        }
    }

    /// `{name: text}` maps (data action inputs, participant data attributes), in key order.
    fn text_map(
        &mut self,
        props: &Map<String, Value>,
        key: &str,
        pat: &str,
        p: &mut PNode,
    ) -> Option<Vec<(String, Text)>> {
        let mat = at(pat, key);
        let obj = match props.get(key) {
            None | Some(Value::Null) => return Some(Vec::new()),
            Some(Value::Object(o)) => o,
            Some(v) => {
                self.wrong_type(
                    &mat,
                    &format!("'{key}' must be an object {{name: text}}"),
                    v,
                );
                return None;
            }
        };
        let mut out = Vec::new();
        let mut ok = true;
        for (k, v) in obj {
            let vat = at(&mat, k);
            if k.trim().is_empty() {
                self.error("invalid_value", vat.clone(), "names must not be empty");
                ok = false;
            }
            match v {
                Value::String(s) => match self.parse_text(s, &vat) {
                    Some(t) => {
                        self.text_reads(&t, &vat, p, 0);
                        out.push((k.clone(), t));
                    }
                    None => ok = false,
                },
                Value::Number(_) | Value::Bool(_) => {
                    out.push((k.clone(), Text::literal(v.to_string())))
                }
                v => {
                    self.wrong_type(&vat, "a value must be text", v);
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// `{name: variable}` maps (outputs written to flow variables); each variable is a write
    /// on the success exit (`success`) or on every exit.
    fn var_map(
        &mut self,
        props: &Map<String, Value>,
        key: &str,
        pat: &str,
        p: &mut PNode,
        success: bool,
    ) -> Option<Vec<(String, VarRef)>> {
        let mat = at(pat, key);
        let obj = match props.get(key) {
            None | Some(Value::Null) => return Some(Vec::new()),
            Some(Value::Object(o)) => o,
            Some(v) => {
                self.wrong_type(
                    &mat,
                    &format!("'{key}' must be an object {{name: variable}}"),
                    v,
                );
                return None;
            }
        };
        let mut out = Vec::new();
        let mut ok = true;
        for (k, v) in obj {
            let vat = at(&mat, k);
            let Some(name) = v.as_str() else {
                self.wrong_type(&vat, "a variable must be a string", v);
                ok = false;
                continue;
            };
            let name = name.trim_start_matches('{').trim_end_matches('}');
            if k.trim().is_empty() || !self.var_name(name, &vat, "variable") {
                ok = false;
                continue;
            }
            let w = Write {
                var: VarRef(name.to_owned()),
                ty: Some(VarType::String),
                at: vat,
            };
            if success {
                p.success_writes.push(w);
            } else {
                p.writes.push(w);
            }
            out.push((k.clone(), VarRef(name.to_owned())));
        }
        ok.then_some(out)
    }

    /// A node-level exit object such as `onTimeout: {nextNode}`.
    pub(super) fn extra_exit(
        &mut self,
        node: &Map<String, Value>,
        key: &str,
        base: &str,
        p: &mut PNode,
    ) -> Option<String> {
        match node.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Object(o)) => {
                let eat = at(base, key);
                self.unknown_fields(o, &eat, &["nextNode"], key);
                let t = self.opt_str(o, "nextNode", &eat)?;
                p.exits.push((t.clone(), at(&eat, "nextNode"), true));
                Some(t)
            }
            Some(v) => {
                self.wrong_type(
                    &at(base, key),
                    &format!("'{key}' must be an object {{nextNode}}"),
                    v,
                );
                None
            }
        }
    }

    pub(super) fn play_prompt(
        &mut self,
        props: &Map<String, Value>,
        pat: &str,
    ) -> Option<NodeKind> {
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

    pub(super) fn menu(
        &mut self,
        props: &Map<String, Value>,
        pat: &str,
        p: &mut PNode,
    ) -> Option<NodeKind> {
        let named = props.get("promptName").is_some_and(|v| !v.is_null());
        let prompt = if named {
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
        } else {
            self.text_prop(props, "prompt", pat, p, true)
                .map(Prompt::Text)
        };
        let repeat = match self.opt_int(props, "repeat", pat) {
            None => Some(DEFAULT_MENU_REPEAT),
            Some(n @ 1..=10) => Some(n as u32),
            Some(n) => {
                self.error(
                    "invalid_value",
                    at(pat, "repeat"),
                    format!("repeat is {n}; it must be 1 to 10"),
                );
                None
            }
        };
        let timeout_seconds = self.opt_seconds(props, "timeoutSeconds", pat);
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
            let iat = at(&cat, &i.to_string());
            let Some(c) = c.as_object() else {
                self.wrong_type(
                    &iat,
                    "a choice must be an object {digit, nextNode, label}",
                    c,
                );
                ok = false;
                continue;
            };
            self.unknown_fields(c, &iat, &["digit", "nextNode", "label"], "a menu choice");
            let dat = at(&iat, "digit");
            let digit = match c.get("digit") {
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
            };
            let Some(digit) = digit else {
                self.error_hint(
                    "invalid_value",
                    dat,
                    "a menu choice needs a 'digit': one of 0-9, * or #",
                    "e.g. \"digit\": \"1\"",
                );
                ok = false;
                continue;
            };
            if choices.iter().any(|o| o.digit == digit) {
                self.error(
                    "duplicate_choice",
                    dat,
                    format!("digit '{digit}' is used by two choices"),
                );
                ok = false;
            }
            let nat = at(&iat, "nextNode");
            let Some(target) = self.opt_str(c, "nextNode", &iat) else {
                self.error("missing_field", nat, "a menu choice needs a 'nextNode'");
                ok = false;
                continue;
            };
            p.exits.push((target.clone(), nat, false));
            let label = self.opt_str(c, "label", &iat);
            choices.push(MenuChoice {
                digit,
                target,
                label,
            });
        }
        // The digits pressed are readable as {Menu.digits}, like a Gather's.
        let into = VarRef::digits_of(&p.key);
        if !is_var_name(into.name()) {
            self.error_hint(
                "invalid_variable_name",
                p.at.clone(),
                format!(
                    "the Menu digits variable '{}' is not a valid Genesys variable name",
                    into.name()
                ),
                "Menu node ids become variable names: use letters, digits and '_'",
            );
            ok = false;
        }
        p.writes.push(Write {
            var: into,
            ty: Some(VarType::String),
            at: p.at.clone(),
        });
        if !ok {
            return None;
        }
        Some(NodeKind::Menu {
            prompt: prompt?,
            choices,
            repeat: repeat?,
            timeout_seconds,
        })
    }

    pub(super) fn data_action(
        &mut self,
        props: &Map<String, Value>,
        pat: &str,
        p: &mut PNode,
        on_timeout: Option<String>,
    ) -> Option<NodeKind> {
        let integration = self.object_name(props, "integration", pat, "DataAction");
        let action = self.object_name(props, "action", pat, "DataAction");
        let inputs = self.text_map(props, "inputs", pat, p);
        let outputs = self.var_map(props, "outputs", pat, p, true);
        let timeout_seconds = self.opt_seconds(props, "timeoutSeconds", pat);
        Some(NodeKind::DataAction {
            integration: integration?,
            action: action?,
            inputs: inputs?,
            outputs: outputs?,
            timeout_seconds,
            on_timeout,
        })
    }

    pub(super) fn table_lookup(
        &mut self,
        props: &Map<String, Value>,
        pat: &str,
        p: &mut PNode,
        on_not_found: Option<String>,
    ) -> Option<NodeKind> {
        let table = self.object_name(props, "table", pat, "TableLookup");
        let key = self.text_prop(props, "key", pat, p, true);
        let outputs = self.var_map(props, "outputs", pat, p, true);
        Some(NodeKind::TableLookup {
            table: table?,
            key: key?,
            outputs: outputs?,
            on_not_found,
        })
    }

    pub(super) fn set_participant_data(
        &mut self,
        props: &Map<String, Value>,
        pat: &str,
        p: &mut PNode,
    ) -> Option<NodeKind> {
        let attributes = self.text_map(props, "attributes", pat, p)?;
        if attributes.is_empty() {
            self.error(
                "missing_property",
                at(pat, "attributes"),
                "SetParticipantData nodes need 'attributes': {name: text}",
            );
            return None;
        }
        Some(NodeKind::SetParticipantData { attributes })
    }

    pub(super) fn get_participant_data(
        &mut self,
        props: &Map<String, Value>,
        pat: &str,
        p: &mut PNode,
    ) -> Option<NodeKind> {
        let attributes = self.var_map(props, "attributes", pat, p, false)?;
        if attributes.is_empty() {
            self.error(
                "missing_property",
                at(pat, "attributes"),
                "GetParticipantData nodes need 'attributes': {name: variable}",
            );
            return None;
        }
        Some(NodeKind::GetParticipantData { attributes })
    }

    pub(super) fn schedule(
        &mut self,
        props: &Map<String, Value>,
        pat: &str,
        p: &mut PNode,
    ) -> Option<NodeKind> {
        let group = self.object_name(props, "scheduleGroup", pat, "Schedule");
        let mut exits = std::collections::BTreeMap::new();
        for s in ScheduleState::ALL {
            if let Some(t) = self.opt_str(props, s.as_str(), pat) {
                p.exits.push((t.clone(), at(pat, s.as_str()), false));
                exits.insert(s, t);
            }
        }
        Some(NodeKind::Schedule {
            group: group?,
            exits,
        })
    }

    pub(super) fn voicemail(&mut self, props: &Map<String, Value>, pat: &str) -> Option<NodeKind> {
        Some(NodeKind::Voicemail {
            queue: self.object_name(props, "queue", pat, "Voicemail")?,
        })
    }
}
