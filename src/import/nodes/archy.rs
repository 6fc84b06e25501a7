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
