//! Any action flowsmith does not model → an `Archy` node that keeps it as written. The
//! actions of its branching outputs (`outputs.<name>.actions`) are imported as nodes, and
//! the node's `outputs` name where each starts; task variables are renamed to the flow
//! variables they became, and the variables the action names are listed with their kinds.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{Lists, on_complete};
use crate::findings::pointer;

pub(super) fn import(
    b: &mut dyn Lists,
    kind: &str,
    body: &Map<String, Value>,
    at: &str,
    next: Option<String>,
) -> Value {
    let mut body = body.clone();
    let mut outputs = Map::new();
    // A `loopExit` in a loop kept as written leaves that loop: it is kept too.
    let kept_loop = kind == "loop";
    if kept_loop {
        b.enter_kept_loop();
    }
    if let Some(Value::Object(outs)) = body.get_mut("outputs") {
        let names: Vec<String> = outs.keys().cloned().collect();
        for name in names {
            let Some(Value::Object(o)) = outs.get_mut(&name) else {
                continue;
            };
            let Some(actions) = o.remove("actions") else {
                continue;
            };
            let list_at = format!("{at}{}", pointer(["outputs", name.as_str(), "actions"]));
            let target = b.list(&actions, &list_at, next.clone());
            // An output whose path ends the flow (a module's last actions) has nothing to
            // point at: it keeps no actions.
            if let Some(t) = target {
                outputs.insert(name.clone(), Value::String(t));
            }
        }
        outs.retain(|_, o| !matches!(o, Value::Object(m) if m.is_empty()));
        if outs.is_empty() {
            body.remove("outputs");
        }
    }
    if kept_loop {
        b.leave_loop();
    }
    let mut jumps = Vec::new();
    for (k, v) in body.iter().filter(|(k, _)| *k != "outputs") {
        nested_jumps(b, v, &mut vec![k.clone()], at, &mut jumps);
    }
    for (name, target) in jumps {
        outputs.insert(name, Value::String(target));
    }
    if kind == "callCommonModule"
        && let Some(Value::Object(m)) = body.get("commonModule")
        && let Some(name) = m.keys().next()
    {
        b.calls(name);
    }
    let mut body = Value::Object(body);
    let mut variables = BTreeMap::new();
    b.rename_variables(&mut body, &mut variables);
    let mut props = json!({ "action": { kind: body } });
    if let Some(p) = props.as_object_mut() {
        if !outputs.is_empty() {
            p.insert("outputs".into(), Value::Object(outputs));
        }
        if !variables.is_empty() {
            p.insert(
                "variables".into(),
                Value::Object(
                    variables
                        .into_iter()
                        .map(|(k, v)| (k, Value::String(v)))
                        .collect(),
                ),
            );
        }
    }
    let mut n = json!({"type": "Archy", "properties": props});
    on_complete(&mut n, next.as_deref());
    n
}

/// The `jumpToTask`s in the action lists in `v`, at `path` in the body: `(exit name,
/// jump target)`. Only the first jump of a list is reachable. A jump inside an action
/// nested in such a list is refused with its place: its target's block would have to end
/// by running the actions after that action, which an exit of the kept action cannot say.
/// (Places leave out action kinds, as every pointer into an action does.)
fn nested_jumps(
    b: &mut dyn Lists,
    v: &Value,
    path: &mut Vec<String>,
    at: &str,
    out: &mut Vec<(String, String)>,
) {
    match v {
        Value::Array(items) if path.last().is_some_and(|k| k == "actions") => {
            let depth = path.iter().filter(|k| *k == "actions").count();
            for (i, item) in items.iter().enumerate() {
                let Some((kind, a)) = item
                    .as_object()
                    .filter(|m| m.len() == 1)
                    .and_then(|m| m.iter().next())
                else {
                    continue;
                };
                path.push(i.to_string());
                if kind == "jumpToTask" {
                    let name = pointer(path.iter());
                    let jump_at = format!("{at}{name}");
                    if depth > 1 {
                        b.error(
                            "nested_jump_not_carried",
                            &jump_at,
                            "a jumpToTask inside an action nested in a kept action cannot be carried over; make the action around it one flowsmith models".into(),
                        );
                    } else if let Some(t) =
                        b.task_target(a.get("targetTaskRef").and_then(Value::as_str), &jump_at)
                    {
                        out.push((name, t));
                    }
                    path.pop();
                    break;
                }
                nested_jumps(b, a, path, at, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(i.to_string());
                nested_jumps(b, item, path, at, out);
                path.pop();
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                path.push(k.clone());
                nested_jumps(b, x, path, at, out);
                path.pop();
            }
        }
        _ => {}
    }
}
