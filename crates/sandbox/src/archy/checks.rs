//! The judge's checks of a flow's structure: the start (one start-up sequence in a common
//! module or an in-queue flow, a `startUpRef` that resolves elsewhere), keys no published
//! flow has, reusable tasks that end with a closing action, and menus.

use serde_yaml_ng::{Mapping, Value};

use super::catalogue::Catalogue;
use super::references::resolve;
use super::unverified::{CLOSING_ACTIONS, DIGITAL_CLOSING_ACTIONS, DIGITAL_ROOTS, MENU_DTMF};
use super::{as_str, escape, get};

/// At most this many unknown-key messages per file (the rest are summed up in one line).
const MAX_UNKNOWN_KEY_MESSAGES: usize = 20;

/// The flow being checked: its root mapping, under `/root_key`, named `name`.
pub(super) struct Flow<'a> {
    pub(super) top: &'a Mapping,
    pub(super) root: &'a Mapping,
    pub(super) root_key: &'a str,
    pub(super) name: &'a str,
}

/// A common module has no tasks and no `startUpRef`; a flow of one start-up sequence has
/// `startUpTaskActions`; any other flow a `startUpRef` that resolves.
pub(super) fn start(f: &Flow<'_>, module: bool, one_sequence: bool, errors: &mut Vec<String>) {
    let Flow {
        top,
        root,
        root_key,
        name,
    } = *f;
    if module {
        for key in ["tasks", "startUpRef"] {
            if get(root, key).is_some() {
                errors.push(format!(
                    "Error: Flow '{name}': a common module has no '{key}' (at /{root_key}/{key}): it runs one start-up sequence, 'startUpTaskActions'"
                ));
            }
        }
    }
    if one_sequence {
        if !matches!(get(root, "startUpTaskActions"), Some(Value::Sequence(_))) {
            errors.push(format!(
                "Error: Flow '{name}': missing required property 'startUpTaskActions' in '{root_key}'"
            ));
        }
    } else {
        match get(root, "startUpRef").and_then(as_str) {
            None => errors.push(format!(
                "Error: Flow '{name}': missing required property 'startUpRef' in '{root_key}'"
            )),
            Some(r) => {
                if resolve(top, &[root], &r).is_none() {
                    errors.push(format!(
                        "Error: Flow '{name}': Unable to resolve startUpRef '{r}' (at /{root_key}/startUpRef)"
                    ));
                }
            }
        }
    }
}

/// Keys whose path no published flow (nor an unverified shape) has.
pub(super) fn unknown_keys(
    catalogue: &Catalogue,
    doc: &Value,
    name: &str,
    errors: &mut Vec<String>,
) {
    let unknown = catalogue.unknown(doc);
    for k in unknown.iter().take(MAX_UNKNOWN_KEY_MESSAGES) {
        let key = k.at.rsplit('/').next().unwrap_or_default();
        errors.push(format!(
            "Error: Flow '{name}': unknown property '{key}' at {}: neither a published Archy flow nor the Architect Scripting SDK has '{}'",
            k.at,
            k.context_free()
        ));
    }
    if unknown.len() > MAX_UNKNOWN_KEY_MESSAGES {
        errors.push(format!(
            "Error: Flow '{name}': {} more unknown properties",
            unknown.len() - MAX_UNKNOWN_KEY_MESSAGES
        ));
    }
}

/// Every reusable task ends with a closing action ("a task must have a closing action").
pub(super) fn tasks(root: &Mapping, root_key: &str, name: &str, errors: &mut Vec<String>) {
    let Some(Value::Sequence(tasks)) = get(root, "tasks") else {
        return;
    };
    for (i, t) in tasks.iter().enumerate() {
        let task = match t {
            Value::Mapping(m) => get(m, "task"),
            _ => None,
        };
        let Some(Value::Mapping(task)) = task else {
            errors.push(format!(
                "Error: Flow '{name}': /{root_key}/tasks/{i} is not a task"
            ));
            continue;
        };
        let task_name = get(task, "name").and_then(as_str).unwrap_or_default();
        let last = match get(task, "actions") {
            Some(Value::Sequence(a)) => a.last().and_then(action_type),
            _ => None,
        };
        let digital = DIGITAL_ROOTS.contains(&root_key);
        let closing = |l: &str| {
            CLOSING_ACTIONS.contains(&l) || (digital && DIGITAL_CLOSING_ACTIONS.contains(&l))
        };
        if !last.as_deref().is_some_and(closing) {
            errors.push(format!(
                    "Error: Flow '{name}': task '{task_name}' (at /{root_key}/tasks/{i}/task) must end with a closing action ({}); its last action is {}",
                    CLOSING_ACTIONS.join(", "),
                    last.map_or("missing".to_owned(), |l| format!("'{l}'"))
                ));
        }
    }
}

/// What Archy refuses in `menus` (corpus: every menu has `name`, `refId` and `choices`, every
/// choice a `name`; a menu's choices answer distinct digits; `menuJumpToTask` names its
/// `targetTaskRef`). References (`targetTaskRef`, `defaultChildMenuRef`) are resolved with
/// the others.
pub(super) fn menus(root: &Mapping, root_key: &str, name: &str, errors: &mut Vec<String>) {
    let Some(menus) = get(root, "menus") else {
        return;
    };
    let Value::Sequence(menus) = menus else {
        errors.push(format!(
            "Error: Flow '{name}': /{root_key}/menus must be a list of menus"
        ));
        return;
    };
    for (i, m) in menus.iter().enumerate() {
        let at = format!("/{root_key}/menus/{i}/menu");
        let Some(Value::Mapping(menu)) = (match m {
            Value::Mapping(m) if m.len() == 1 => get(m, "menu"),
            _ => None,
        }) else {
            errors.push(format!(
                "Error: Flow '{name}': /{root_key}/menus/{i} is not a menu"
            ));
            continue;
        };
        let menu_name = get(menu, "name").and_then(as_str).unwrap_or_default();
        for key in ["name", "refId"] {
            if get(menu, key)
                .and_then(as_str)
                .is_none_or(|v| v.trim().is_empty())
            {
                errors.push(format!(
                    "Error: Flow '{name}': menu at {at} is missing required property '{key}'"
                ));
            }
        }
        let Some(Value::Sequence(choices)) = get(menu, "choices") else {
            errors.push(format!(
                "Error: Flow '{name}': menu '{menu_name}' at {at} is missing required property 'choices'"
            ));
            continue;
        };
        let mut seen: Vec<(String, usize)> = Vec::new();
        for (k, c) in choices.iter().enumerate() {
            let cat = format!("{at}/choices/{k}");
            let Some((kind, Value::Mapping(body))) = (match c {
                Value::Mapping(m) if m.len() == 1 => m.iter().next(),
                _ => None,
            }) else {
                errors.push(format!(
                    "Error: Flow '{name}': the menu choice at {cat} must be a mapping with one choice type key"
                ));
                continue;
            };
            let kind = as_str(kind).unwrap_or_default();
            let cat = format!("{cat}/{}", escape(&kind));
            if get(body, "name")
                .and_then(as_str)
                .is_none_or(|v| v.trim().is_empty())
            {
                errors.push(format!(
                    "Error: Flow '{name}': menu choice at {cat} is missing required property 'name'"
                ));
            }
            if kind == "menuJumpToTask" && get(body, "targetTaskRef").is_none() {
                errors.push(format!(
                    "Error: Flow '{name}': menu choice at {cat} (menuJumpToTask) is missing required property 'targetTaskRef'"
                ));
            }
            let Some(dtmf) = get(body, "dtmf") else {
                continue;
            };
            let Some(d) = as_str(dtmf).filter(|d| MENU_DTMF.contains(&d.as_str())) else {
                errors.push(format!(
                    "Error: Flow '{name}': menu choice at {cat}/dtmf has dtmf {:?}; no published flow has it (expected one of {})",
                    as_str(dtmf).unwrap_or_default(),
                    MENU_DTMF.join(", ")
                ));
                continue;
            };
            if let Some((_, first)) = seen.iter().find(|(s, _)| *s == d) {
                errors.push(format!(
                    "Error: Flow '{name}': menu '{menu_name}' answers {d} twice: at {cat}/dtmf and at {at}/choices/{first}"
                ));
            } else {
                seen.push((d, k));
            }
        }
    }
}

/// `settingsMenu.repeatCount` may be 0 to 10 and `menuSelectionTimeout` 1 to 60 seconds
/// ([scripting] `ArchSettingsMenu`; archy-evidence.md "More from the Architect Scripting
/// SDK").
pub const MENU_REPEAT_COUNT: (i64, i64) = (0, 10);
pub const MENU_SELECTION_TIMEOUT_SECS: (i64, i64) = (1, 60);

/// Literal `settingsMenu` values out of the SDK's ranges, in the flow's settings and in
/// each menu's (a value given by an expression is not judged).
pub(super) fn menu_settings(root: &Mapping, root_key: &str, name: &str, errors: &mut Vec<String>) {
    let mut places = vec![(
        get(root, "settingsMenu"),
        format!("/{root_key}/settingsMenu"),
    )];
    if let Some(Value::Sequence(menus)) = get(root, "menus") {
        for (i, m) in menus.iter().enumerate() {
            let menu = match m {
                Value::Mapping(m) => get(m, "menu"),
                _ => None,
            };
            if let Some(Value::Mapping(menu)) = menu {
                places.push((
                    get(menu, "settingsMenu"),
                    format!("/{root_key}/menus/{i}/menu/settingsMenu"),
                ));
            }
        }
    }
    for (settings, at) in places {
        let Some(Value::Mapping(settings)) = settings else {
            continue;
        };
        let lit = |key: &str| match get(settings, key) {
            Some(Value::Mapping(v)) => get(v, "lit"),
            _ => None,
        };
        let (lo, hi) = MENU_REPEAT_COUNT;
        if let Some(n) = lit("repeatCount").and_then(Value::as_i64)
            && !(lo..=hi).contains(&n)
        {
            errors.push(format!(
                "Error: Flow '{name}': repeatCount {n} at {at}/repeatCount/lit is out of range: a menu repeats {lo} to {hi} times"
            ));
        }
        let (lo, hi) = MENU_SELECTION_TIMEOUT_SECS;
        if let Some(secs) = lit("menuSelectionTimeout").and_then(duration_secs)
            && !(lo..=hi).contains(&secs)
        {
            errors.push(format!(
                "Error: Flow '{name}': menuSelectionTimeout of {secs} seconds at {at}/menuSelectionTimeout/lit is out of range: {lo} to {hi} seconds"
            ));
        }
    }
}

/// A literal duration (`{seconds: 15}`, `{minutes: 1}` …) in seconds; `None` when it is
/// not one.
fn duration_secs(v: &Value) -> Option<i64> {
    let Value::Mapping(m) = v else { return None };
    let mut total = 0i64;
    for (k, n) in m {
        let unit = match as_str(k)?.as_str() {
            "days" => 86_400,
            "hours" => 3_600,
            "minutes" => 60,
            "seconds" => 1,
            _ => return None,
        };
        total = total.checked_add(n.as_i64()?.checked_mul(unit)?)?;
    }
    Some(total)
}

/// The type of an action-list item (`{playAudio: {...}}` → `playAudio`).
fn action_type(item: &Value) -> Option<String> {
    match item {
        Value::Mapping(m) if m.len() == 1 => m.keys().next().and_then(as_str),
        _ => None,
    }
}
