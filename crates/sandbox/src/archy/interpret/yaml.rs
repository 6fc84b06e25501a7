//! Reading a flow file: keys, mappings and strings of the YAML, the root, declared
//! variables, and the tasks, menus and menu choices references name.

use serde_yaml_ng::{Mapping, Value};

use super::expr::{Val, Vars, coerce};

pub(super) fn get<'a>(m: &'a Mapping, key: &str) -> Option<&'a Value> {
    m.get(Value::String(key.to_owned()))
}

pub(super) fn map(v: Option<&Value>) -> Option<&Mapping> {
    match v {
        Some(Value::Mapping(m)) => Some(m),
        _ => None,
    }
}

pub(super) fn string(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    }
}

/// The root key and root mapping of a flow file.
pub(super) fn root(doc: &Value) -> Option<(&str, &Mapping)> {
    let Value::Mapping(top) = doc else {
        return None;
    };
    let (k, v) = top.iter().next()?;
    Some((k.as_str()?, map(Some(v))?))
}

/// Declared variables with their initial values.
pub(super) fn declare(root: &Mapping, vars: &mut Vars) {
    let Some(Value::Sequence(decls)) = get(root, "variables") else {
        return;
    };
    for d in decls {
        let Some((kind, body)) = map(Some(d)).and_then(|m| m.iter().next()) else {
            continue;
        };
        let Some(body) = map(Some(body)) else {
            continue;
        };
        let Some(name) = string(get(body, "name")) else {
            continue;
        };
        let ty = match kind.as_str() {
            Some("integerVariable") => "integer",
            Some("booleanVariable") => "boolean",
            _ => "string",
        };
        let init = map(get(body, "initialValue"))
            .and_then(|iv| get(iv, "lit"))
            .and_then(|l| match l {
                Value::Number(n) => n.as_i64().map(Val::I),
                Value::Bool(b) => Some(Val::B(*b)),
                Value::String(s) => coerce(Val::S(s.clone()), ty).ok(),
                _ => None,
            });
        vars.insert(name, init);
    }
}

/// A reusable task or a menu of the flow.
pub(super) enum Place<'a> {
    Task(&'a Mapping),
    Menu(&'a Mapping),
}

/// The task (`/inboundCall/tasks/task[X]`) or menu (`/inboundCall/menus/menu[X]`) an
/// absolute reference names (`./` from the root, as `startUpRef` may write it).
pub(super) fn place<'a>(doc: &'a Value, root_key: &str, r: &str) -> Option<Place<'a>> {
    let (_, root) = root(doc)?;
    let rest = r
        .strip_prefix(&format!("/{root_key}/"))
        .or_else(|| r.strip_prefix("./"))?;
    let find = |list: &str, item: &str, ref_id: &str| {
        let Some(Value::Sequence(items)) = get(root, list) else {
            return None;
        };
        items.iter().find_map(|t| {
            let inner = map(map(Some(t)).and_then(|m| get(m, item)))?;
            (string(get(inner, "refId")).as_deref() == Some(ref_id)).then_some(inner)
        })
    };
    if let Some(id) = rest.strip_prefix("tasks/task[") {
        return find("tasks", "task", id.strip_suffix(']')?).map(Place::Task);
    }
    let id = rest.strip_prefix("menus/menu[")?.strip_suffix(']')?;
    find("menus", "menu", id).map(Place::Menu)
}

/// A menu's choices: (choice type, body).
pub(super) fn choices(menu: &Mapping) -> Vec<(&str, &Mapping)> {
    match get(menu, "choices") {
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(|c| {
                let (k, v) = map(Some(c))?.iter().next()?;
                Some((k.as_str()?, map(Some(v))?))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// `repeatCount` of the menu, else of the flow's `settingsMenu`, else Genesys's default, 3
/// (Genesys help, "Configure default menu settings").
pub(super) fn repeat_count(root: &Mapping, menu: &Mapping) -> i64 {
    let of = |m: &Mapping| {
        map(get(m, "settingsMenu"))
            .and_then(|s| map(get(s, "repeatCount")))
            .and_then(|r| get(r, "lit"))
            .and_then(Value::as_i64)
    };
    of(menu).or_else(|| of(root)).unwrap_or(3)
}
