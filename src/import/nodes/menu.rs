//! `menus` → Menu. A menu of an inbound flow (reached by `startUpRef` or `jumpToMenu`)
//! becomes a Menu node: its audio the prompt, each choice's `dtmf: digit_N` a choice whose
//! node is what the choice runs, `defaultChildMenuRef` the node's `onError` (the choice that
//! runs after the repeats), `repeatCount` and `menuSelectionTimeout` the menu's own, else the
//! flow's `settingsMenu` (else Genesys's default of 3 repeats), since the compiler writes
//! them on the menu. Choices, in the shapes of the corpus (`compile/nodes/menu.rs`):
//! - `menuDisconnect` → a Disconnect node;
//! - `menuJumpToTask` → an edge to the task's first node;
//! - `menuTask` → its actions, imported as nodes (a task that runs out ends the call);
//! - `menuTransferToAcd` → a Route when the Route expresses it exactly, else the transfer
//!   kept as written (a `transferToAcd` Archy node with the choice's transfer fields).
//!
//! What the Menu node does not carry (speech recognition terms and settings, `globalDtmf`,
//! extension dialing, audio playback options) is a warning with a pointer; it does not
//! change what a caller pressing digits hears or reaches.

use serde_json::{Map, Value, json};

use super::{Lists, route};
use crate::findings::pointer;

/// The choice fields that are not the choice's action.
const CHOICE_FIELDS: &[&str] = &[
    "name",
    "refId",
    "dtmf",
    "globalDtmf",
    "globalSpeechRecTerms",
    "speechRecTerms",
];

/// A choice with a `refId`: its kind, the refId and the node it runs.
type ChoiceRef = (String, String, String);

/// The flow's `settingsMenu` values a menu inherits when its own are `noValue`.
#[derive(Debug, Clone, Copy, Default)]
pub(in crate::import) struct MenuDefaults {
    pub(in crate::import) repeat: Option<i64>,
    pub(in crate::import) timeout_seconds: Option<i64>,
}

impl MenuDefaults {
    pub(in crate::import) fn of(root: &Map<String, Value>) -> Self {
        let s = root.get("settingsMenu");
        MenuDefaults {
            repeat: s.and_then(|s| s.pointer("/repeatCount/lit")?.as_i64()),
            timeout_seconds: s
                .and_then(|s| s.pointer("/menuSelectionTimeout/lit/seconds")?.as_i64()),
        }
    }
}

fn is_no_value(v: &Value) -> bool {
    v.get("noValue").and_then(Value::as_bool) == Some(true)
}

/// The text a menu's `audio` says, when the Menu's prompt can say it: `tts`, or the
/// corpus' `AudioPlaybackOptions(…, bool)` around `ToAudioTTS("…")`, optionally after a
/// `ToAudioBlank(n)` (what is dropped is reported). `Err` for anything else.
fn prompt(audio: &Value) -> Result<(Value, Option<&'static str>), ()> {
    let m = audio.as_object().ok_or(())?;
    if m.len() != 1 {
        return Err(());
    }
    if let Some(t) = m.get("tts").and_then(Value::as_str) {
        if t.contains(['{', '}']) || t.trim().is_empty() {
            return Err(());
        }
        return Ok((json!({"prompt": t}), None));
    }
    if let Some(p) = m.get("prompt").and_then(Value::as_str) {
        let name = p.strip_prefix("Prompt.").ok_or(())?;
        return Ok((json!({"promptName": name}), None));
    }
    let e = m.get("exp").and_then(Value::as_str).ok_or(())?.trim();
    let inner = e
        .strip_prefix("AudioPlaybackOptions(")
        .and_then(|r| r.strip_suffix(')'))
        .and_then(|r| {
            r.strip_suffix(", true")
                .or_else(|| r.strip_suffix(", false"))
        })
        .ok_or(())?
        .trim();
    let (inner, blank) = match inner
        .strip_prefix("Append(ToAudioBlank(")
        .and_then(|r| r.split_once("), "))
        .and_then(|(n, rest)| Some((n, rest.strip_suffix(')')?)))
    {
        Some((n, rest)) if n.bytes().all(|b| b.is_ascii_digit()) => (rest.trim(), true),
        Some(_) => return Err(()),
        None => (inner, false),
    };
    let text = inner
        .strip_prefix("ToAudioTTS(\"")
        .and_then(|r| r.strip_suffix("\")"))
        .ok_or(())?;
    if text.contains(['"', '\\', '{', '}']) || text.trim().is_empty() {
        return Err(());
    }
    let dropped = if blank {
        "the silence before the prompt (ToAudioBlank) and the barge-in option (AudioPlaybackOptions)"
    } else {
        "the barge-in option (AudioPlaybackOptions)"
    };
    Ok((json!({"prompt": text}), Some(dropped)))
}

/// The digit of `dtmf: digit_N`.
fn digit(c: &Map<String, Value>) -> Option<char> {
    let d = c.get("dtmf")?.as_str()?.strip_prefix("digit_")?;
    let mut chars = d.chars();
    let ch = chars.next()?;
    (chars.next().is_none() && ch.is_ascii_digit()).then_some(ch)
}

/// The Menu's prompt, repeats and timeout (with warnings for what is not carried over);
/// `None` after an error finding.
fn header(
    b: &mut dyn Lists,
    body: &Map<String, Value>,
    at: &str,
    defaults: MenuDefaults,
) -> Option<Map<String, Value>> {
    let mut props = Map::new();
    let audio_at = format!("{at}/audio");
    match body.get("audio").map(prompt) {
        Some(Ok((p, dropped))) => {
            if let Some(p) = p.as_object() {
                props.extend(p.clone());
            }
            if let Some(d) = dropped {
                b.warn(
                    "menu_setting_not_carried",
                    &audio_at,
                    format!("the menu's prompt keeps its text; {d} is not carried over"),
                );
            }
        }
        _ => {
            b.error(
                "menu_not_imported",
                &audio_at,
                "a menu's audio is imported as text-to-speech (tts, or ToAudioTTS of a literal) or a user prompt (Prompt.name)".into(),
            );
            return None;
        }
    }
    let settings = body.get("settingsMenu").and_then(Value::as_object);
    let own = |k: &str| settings.and_then(|s| s.get(k)).filter(|v| !is_no_value(v));
    let repeat = match own("repeatCount") {
        Some(v) => v.pointer("/lit").and_then(Value::as_i64),
        None => Some(defaults.repeat.unwrap_or(3)),
    };
    match repeat {
        Some(r @ 1..=10) => {
            props.insert("repeat".into(), r.into());
        }
        Some(0) => {
            // Played once either way: Genesys plays a menu at least once.
            props.insert("repeat".into(), 1.into());
        }
        _ => {
            b.error(
                "menu_not_imported",
                &format!("{at}/settingsMenu/repeatCount"),
                "a menu's repeatCount is imported as a literal from 0 to 10".into(),
            );
            return None;
        }
    }
    let timeout = match own("menuSelectionTimeout") {
        Some(v) => v.pointer("/lit/seconds").and_then(Value::as_i64),
        None => defaults.timeout_seconds,
    };
    if let Some(t) = timeout {
        if (1..=60).contains(&t) {
            props.insert("timeoutSeconds".into(), t.into());
        } else {
            b.warn(
                "menu_setting_not_carried",
                &format!("{at}/settingsMenu/menuSelectionTimeout"),
                format!("a menu selection timeout of {t} s is not carried over (1 to 60 s are)"),
            );
        }
    }
    if let Some(s) = settings {
        for k in ["listenForExtensionDialing", "extensionDialingMaxDelay"] {
            if s.get(k)
                .is_some_and(|v| !is_no_value(v) && v.pointer("/lit") != Some(&Value::Bool(false)))
            {
                b.warn(
                    "menu_setting_not_carried",
                    &format!("{at}/settingsMenu/{k}"),
                    format!(
                        "'{k}' is not carried over: a Menu's digits are choices, never extensions"
                    ),
                );
            }
        }
    }
    if let Some(Value::Object(s)) = body.get("settingsSpeechRec")
        && s.values().any(|v| !is_no_value(v))
    {
        b.warn(
            "menu_setting_not_carried",
            &format!("{at}/settingsSpeechRec"),
            "the menu's speech recognition settings are not carried over (a Menu takes digits)"
                .into(),
        );
    }
    Some(props)
}

/// The node choice `kind` (body `cb` at `k_at`, named `name`) runs; `None` after an error
/// finding.
fn choice_target(
    b: &mut dyn Lists,
    kind: &str,
    cb: &Map<String, Value>,
    k_at: &str,
    name: Option<&str>,
) -> Option<String> {
    match kind {
        "menuDisconnect" => {
            let id = b.fresh_id(name, "Disconnect");
            b.add(
                id.clone(),
                json!({"type": "Disconnect", "properties": {}}),
                k_at,
                kind,
                "Disconnect",
            );
            Some(id)
        }
        "menuJumpToTask" => {
            b.report_edge(k_at, kind);
            let r = cb.get("targetTaskRef").and_then(Value::as_str);
            b.task_target(r, k_at)
        }
        "menuTask" => {
            b.report_edge(k_at, kind);
            let actions = cb
                .get("task")
                .and_then(|t| t.get("actions"))
                .cloned()
                .unwrap_or(Value::Null);
            let first = b.list(&actions, &format!("{k_at}/task/actions"), None);
            if first.is_none() {
                b.error(
                    "empty_task",
                    &format!("{k_at}/task/actions"),
                    "the choice's task has no actions".into(),
                );
            }
            first
        }
        "menuTransferToAcd" => {
            let mut transfer = cb.clone();
            transfer.retain(|k, _| !CHOICE_FIELDS.contains(&k.as_str()));
            let id = b.fresh_id(name, "Transfer");
            let (ty, node) = match route::exact(&transfer) {
                Some(n) => ("Route", n),
                None => {
                    let mut body = Map::new();
                    if let Some(n) = name {
                        body.insert("name".into(), n.into());
                    }
                    body.extend(transfer);
                    (
                        "Archy",
                        super::archy::import(b, "transferToAcd", &body, k_at, None),
                    )
                }
            };
            b.add(id.clone(), node, k_at, kind, ty);
            Some(id)
        }
        other => {
            b.error(
                "menu_not_imported",
                k_at,
                format!("the menu choice '{other}' is not imported (menuDisconnect, menuJumpToTask, menuTask, menuTransferToAcd are)"),
            );
            None
        }
    }
}

/// One choice at `c_at`: the Menu's choice, and `(kind, refId, node)` when it has a refId
/// (a default choice names it); `None` after an error finding.
fn choice(b: &mut dyn Lists, c: &Value, c_at: &str) -> Option<(Value, Option<ChoiceRef>)> {
    let Some((kind, cb)) = c
        .as_object()
        .filter(|m| m.len() == 1)
        .and_then(|m| m.iter().next())
        .and_then(|(k, v)| Some((k.as_str(), v.as_object()?)))
    else {
        b.error(
            "invalid_action",
            c_at,
            "a menu choice must be a mapping with one key, its type, holding a mapping".into(),
        );
        return None;
    };
    let k_at = format!("{c_at}{}", pointer([kind]));
    let Some(d) = digit(cb) else {
        b.error(
            "menu_not_imported",
            &format!("{k_at}/dtmf"),
            "a menu choice is imported by its digit (dtmf: digit_0 to digit_9)".into(),
        );
        return None;
    };
    if cb.get("globalDtmf").and_then(Value::as_bool) == Some(true) {
        b.warn(
            "menu_setting_not_carried",
            &format!("{k_at}/globalDtmf"),
            "globalDtmf is not carried over: the digit chooses in this menu only".into(),
        );
    }
    if cb.get("speechRecTerms").is_some_and(|v| !v.is_null()) {
        b.warn(
            "menu_setting_not_carried",
            &format!("{k_at}/speechRecTerms"),
            "the choice's speech recognition terms are not carried over (a Menu takes digits)"
                .into(),
        );
    }
    let name = cb.get("name").and_then(Value::as_str);
    let target = choice_target(b, kind, cb, &k_at, name);
    let target = target?;
    let r = cb
        .get("refId")
        .and_then(Value::as_str)
        .map(|r| (kind.to_owned(), r.to_owned(), target.clone()));
    let mut choice = json!({"digit": d.to_string(), "nextNode": target});
    if let Some(n) = name {
        choice["label"] = n.into();
    }
    Some((choice, r))
}

/// The Menu node of the menu `body` at `at` (its id already given); `None` after an error
/// finding.
pub(in crate::import) fn import(
    b: &mut dyn Lists,
    body: &Map<String, Value>,
    at: &str,
    defaults: MenuDefaults,
) -> Option<Value> {
    let mut props = header(b, body, at, defaults)?;
    let mut choices = Vec::new();
    // refId of a choice → its node (for defaultChildMenuRef).
    let mut by_ref: Vec<ChoiceRef> = Vec::new();
    let list = body.get("choices").and_then(Value::as_array);
    for (i, c) in list.into_iter().flatten().enumerate() {
        let (choice, r) = choice(b, c, &format!("{at}/choices/{i}"))?;
        by_ref.extend(r);
        choices.push(choice);
    }
    if choices.is_empty() {
        b.error(
            "menu_not_imported",
            &format!("{at}/choices"),
            "the menu has no choices".into(),
        );
        return None;
    }
    props.insert("choices".into(), Value::Array(choices));
    let mut node = json!({"type": "Menu", "properties": props});
    if let Some(r) = body.get("defaultChildMenuRef").and_then(Value::as_str) {
        let hit = r
            .strip_prefix("./choices/")
            .and_then(|r| r.strip_suffix(']'))
            .and_then(|r| r.split_once('['))
            .and_then(|(kind, id)| {
                by_ref
                    .iter()
                    .find(|(k, i, _)| k == kind && i == id)
                    .map(|(_, _, t)| t.clone())
            });
        match hit {
            Some(t) => node["onError"] = json!({"nextNode": t}),
            None => {
                b.error(
                    "unknown_menu_choice",
                    &format!("{at}/defaultChildMenuRef"),
                    format!("the default choice '{r}' is none of the menu's choices"),
                );
                return None;
            }
        }
    }
    Some(node)
}
