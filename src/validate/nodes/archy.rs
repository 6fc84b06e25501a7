//! Archy: an Archy action flowsmith does not model, kept as written (what an import makes of
//! `setScreenPop`, `findQueue`, `transferToNumber`, ...). Properties: `action` (the action as
//! written, `{<type>: {...}}`, without the `actions` of its branching outputs), `outputs`
//! (output name → the node its actions start at) and `variables` (flow variable → Archy
//! declaration kind, for the variables the action names). An output named by a place in
//! the body (`/evaluate/firstTrue/cases/0/case/actions/1`, where an import found a
//! `jumpToTask`) must name an action of one of the action's own lists.

use std::collections::BTreeMap;

use serde_json::Value;

use super::NodeIn;
use crate::template::model::{ArchyAction, NodeKind};
use crate::validate::rules::Rules;
use crate::validate::validator::{Validator, at};

pub(super) const RULES: Rules = Rules {
    properties: &["action", "outputs", "variables"],
    uncompiled_on_error: Some("the kept Archy action"),
    // A kept action may end its path (a closing action, or the last of a module).
    terminal: true,
    ..Rules::PLAIN
};

/// The Archy declaration kinds an Archy node may name for its variables.
fn is_declaration_kind(k: &str) -> bool {
    k.ends_with("Variable")
        && k.len() > "Variable".len()
        && k.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Whether `place` (a JSON pointer into `body`) names an item of an `actions` list.
fn is_list_item(body: &Value, place: &str) -> bool {
    let mut segs = place.rsplit('/');
    let (Some(index), Some(list)) = (segs.next(), segs.next()) else {
        return false;
    };
    list == "actions" && index.parse::<usize>().is_ok() && body.pointer(place).is_some()
}

impl Validator<'_> {
    pub(super) fn archy(&mut self, n: NodeIn<'_>) -> Option<NodeKind> {
        let NodeIn { props, pat, p, .. } = n;
        let act_at = at(pat, "action");
        let (action, body) = match props.get("action") {
            Some(Value::Object(m)) if m.len() == 1 => {
                let (k, v) = m.iter().next()?;
                if !v.is_object() {
                    self.error(
                        "invalid_value",
                        at(&act_at, k),
                        format!("the Archy action '{k}' must be a mapping"),
                    );
                    return None;
                }
                (k.clone(), v.clone())
            }
            _ => {
                self.error(
                    "invalid_value",
                    act_at,
                    "'action' must be one Archy action: a mapping with one key, its type",
                );
                return None;
            }
        };
        let mut exits = Vec::new();
        match props.get("outputs") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (name, t) in m {
                    let t_at = at(&at(pat, "outputs"), name);
                    // A body place (`/evaluate/firstTrue/cases/0/case/actions/1`): an
                    // action in one of the kept action's own lists, where the compiler
                    // writes the exit's block.
                    if name.starts_with('/') && !is_list_item(&body, name) {
                        self.error(
                            "invalid_value",
                            t_at.clone(),
                            format!("output '{name}' names no action in the kept action's lists"),
                        );
                        continue;
                    }
                    match t {
                        Value::String(t) => {
                            p.exits.push((t.clone(), t_at, false));
                            exits.push((name.clone(), t.clone()));
                        }
                        _ => self.error(
                            "invalid_type",
                            t_at,
                            format!("output '{name}' must name the node its actions start at"),
                        ),
                    }
                }
            }
            Some(_) => self.error(
                "invalid_type",
                at(pat, "outputs"),
                "'outputs' must map output names to node ids",
            ),
        }
        let mut variables = BTreeMap::new();
        match props.get("variables") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (name, k) in m {
                    match k.as_str().filter(|k| is_declaration_kind(k)) {
                        Some(k) => {
                            variables.insert(name.clone(), k.to_owned());
                        }
                        None => self.error(
                            "invalid_value",
                            at(&at(pat, "variables"), name),
                            "a variable's kind must be an Archy declaration kind such as 'stringVariable'",
                        ),
                    }
                }
            }
            Some(_) => self.error(
                "invalid_type",
                at(pat, "variables"),
                "'variables' must map variable names to Archy declaration kinds",
            ),
        }
        Some(NodeKind::Archy(Box::new(ArchyAction {
            action,
            body,
            exits,
            variables,
        })))
    }
}
