//! `switch` (`evaluate: firstTrue`) → Switch, when every case's value is an expression the
//! template language shares with Archy. Each case's actions (or, empty, the action after
//! the switch) is a case's node; `default` the default.

use serde_json::{Map, Value, json};

use super::Lists;
use crate::findings::pointer;
use crate::import::expr;

/// A case's or the default's actions, when not empty.
fn actions(m: &Map<String, Value>) -> Option<&Value> {
    m.get("actions")
        .filter(|a| a.as_array().is_some_and(|a| !a.is_empty()))
}

pub(super) fn import(
    b: &mut dyn Lists,
    body: &Map<String, Value>,
    at: &str,
    next: Option<&str>,
) -> Option<(&'static str, Value)> {
    if !body.keys().all(|k| k == "name" || k == "evaluate") {
        return None;
    }
    let ft = body.get("evaluate")?.as_object().filter(|m| m.len() == 1)?;
    let ft = ft.get("firstTrue")?.as_object()?;
    if !ft.keys().all(|k| k == "cases" || k == "default") {
        return None;
    }
    let cases = ft.get("cases")?.as_array().filter(|c| !c.is_empty())?;
    let mut conds = Vec::with_capacity(cases.len());
    for c in cases {
        let c = c
            .as_object()
            .filter(|m| m.len() == 1)?
            .get("case")?
            .as_object()?;
        if !c.keys().all(|k| k == "value" || k == "actions") {
            return None;
        }
        let v = c.get("value")?.as_object().filter(|m| m.len() == 1)?;
        let e = expr::convert(v.get("exp")?.as_str()?, b.vars())?;
        conds.push((e, actions(c).cloned()));
    }
    let default = ft
        .get("default")
        .and_then(Value::as_object)
        .and_then(actions)
        .cloned();
    // A path without actions goes on after the switch: it needs somewhere to go.
    if next.is_none() && (default.is_none() || conds.iter().any(|(_, a)| a.is_none())) {
        return None;
    }
    let base = format!("{at}{}", pointer(["evaluate", "firstTrue"]));
    let mut out = Vec::with_capacity(conds.len());
    for (k, (e, a)) in conds.into_iter().enumerate() {
        let target = match a {
            Some(a) => b.list(
                &a,
                &format!("{base}/cases/{k}/case/actions"),
                next.map(str::to_owned),
            ),
            None => next.map(str::to_owned),
        }?;
        out.push(json!({"expression": e, "nextNode": target}));
    }
    let default = match default {
        Some(a) => b.list(
            &a,
            &format!("{base}/default/actions"),
            next.map(str::to_owned),
        ),
        None => next.map(str::to_owned),
    }?;
    Some((
        "Switch",
        json!({"type": "Switch", "properties": {"cases": out, "defaultNextNode": default}}),
    ))
}
