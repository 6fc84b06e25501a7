//! Reading a flow file: keys, mappings and strings of the YAML, the root, declared
//! variables, and the tasks, menus and menu choices references name.

use std::collections::HashMap;

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

/// The variables `scope` (a flow's root, a task) declares, with their initial values, into
/// `vars`, and their types into `types` (the declaration's kind without `Variable`:
/// `string`, `integer`, `duration`, `queue`, `stringCollection`, …). A queue literal takes the
/// org's id for it (`queue`). A collection without an initial value starts empty (assumed:
/// the evidence does not say; the corpus only reads collections a data action filled).
pub(super) fn declare(
    scope: &Mapping,
    vars: &mut Vars,
    types: &mut HashMap<String, String>,
    queue: &dyn Fn(&str) -> Option<String>,
) {
    let Some(Value::Sequence(decls)) = get(scope, "variables") else {
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
        let ty = kind
            .as_str()
            .unwrap_or_default()
            .strip_suffix("Variable")
            .unwrap_or("string")
            .to_owned();
        let lit = map(get(body, "initialValue")).and_then(|iv| get(iv, "lit"));
        let init = match lit {
            Some(l) => literal(l, &ty, queue),
            None if ty.ends_with("Collection") => Some(Val::List(Vec::new())),
            None => None,
        };
        vars.insert(name.clone(), init);
        types.insert(name, ty);
    }
}

/// A literal of type `ty`: a scalar, a duration (`{minutes: 5}`), a queue (`{name: X}`), a
/// collection (a sequence of its items' literals) [corpus: CacheExampleFlow.yaml's task
/// variables].
pub(super) fn literal(l: &Value, ty: &str, queue: &dyn Fn(&str) -> Option<String>) -> Option<Val> {
    match l {
        Value::Number(n) => n.as_i64().map(Val::I),
        Value::Bool(b) => Some(Val::B(*b)),
        Value::String(s) => coerce(Val::S(s.clone()), ty).ok(),
        Value::Sequence(items) => {
            let item = ty.strip_suffix("Collection").unwrap_or(ty);
            Some(Val::List(
                items.iter().map(|i| literal(i, item, queue)).collect(),
            ))
        }
        Value::Mapping(m) if ty == "queue" => {
            let name = string(get(m, "name"))?;
            let id = queue(&name);
            Some(Val::Queue { name, id })
        }
        Value::Mapping(m) if ty == "duration" => {
            let mut ms: i64 = 0;
            for (unit, per) in [
                ("ms", 1),
                ("seconds", 1_000),
                ("minutes", 60_000),
                ("hours", 3_600_000),
                ("days", 86_400_000),
            ] {
                if let Some(n) = get(m, unit).and_then(Value::as_i64) {
                    ms = ms.checked_add(n.checked_mul(per)?)?;
                }
            }
            Some(Val::Dur(ms))
        }
        _ => None,
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
