//! `loop`/`loopExit` in a common module → a cycle of edges, when the compiler writes the
//! cycle back as the same loop (`compile/structure`, `Stmt::Loop` in `compile/mod.rs`): the
//! loop's body starts at its first action's node, the end of the body moves back to that
//! node (the next iteration), and a `loopExit` is an edge to the action after the loop.
//! The compiler counts every loop with `loopCount: {lit: 10000}` (Genesys's limit of
//! actions per call, so the count never ends a loop) in `currentIndex: {var:
//! Common.<start>_loop}`: a loop is native only when it says exactly that, and its counter
//! is named nowhere else in the module (not an input or output, read by no action), so the
//! counter the compiler writes back is the same variable with the same values. In an
//! inbound flow a cycle compiles to tasks and jumps, not to a `loop`: there it stays as
//! written.

use serde_json::{Map, Value};

use crate::compile::structure::LOOP_COUNT;
use crate::template::FlowType;

/// The loop's counter (`Common.X` as written) and its body, when the loop has the shape
/// the compiler writes.
pub(in crate::import) fn shape(ty: FlowType, body: &Map<String, Value>) -> Option<(&str, &Value)> {
    if ty != FlowType::Module
        || !body.keys().all(|k| {
            matches!(
                k.as_str(),
                "name" | "currentIndex" | "loopCount" | "outputs"
            )
        })
    {
        return None;
    }
    let count = body
        .get("loopCount")?
        .as_object()
        .filter(|m| m.len() == 1)?;
    (count.get("lit")?.as_i64()? == LOOP_COUNT).then_some(())?;
    let var = body
        .get("currentIndex")?
        .as_object()
        .filter(|m| m.len() == 1)?
        .get("var")?
        .as_str()?;
    let outs = body.get("outputs")?.as_object().filter(|m| m.len() == 1)?;
    let actions = outs
        .get("loop")?
        .as_object()
        .filter(|m| m.len() == 1)?
        .get("actions")?;
    actions.as_array().filter(|a| !a.is_empty())?;
    Some((var, actions))
}

/// The name and kind of a body's first action, when it becomes a node (not an edge).
pub(in crate::import) fn first_node(actions: &Value) -> Option<(Option<&str>, &str)> {
    let (kind, body) = actions
        .as_array()?
        .first()?
        .as_object()
        .filter(|m| m.len() == 1)?
        .iter()
        .next()?;
    if matches!(
        kind.as_str(),
        "jumpToTask" | "jumpToMenu" | "loopExit" | "loop"
    ) {
        return None;
    }
    Some((body.get("name").and_then(Value::as_str), kind.as_str()))
}

/// How often `var` is named in `text` as a whole name (not as part of a longer one).
pub(in crate::import) fn mentions(text: &str, var: &str) -> usize {
    let part = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    text.match_indices(var)
        .filter(|(i, _)| {
            !text[..*i].chars().next_back().is_some_and(part)
                && !text[i + var.len()..].chars().next().is_some_and(part)
        })
        .count()
}

/// Whether the declaration of `var` among `variables` makes it a module input or output.
pub(in crate::import) fn in_interface(root: &Map<String, Value>, var: &str) -> bool {
    root.get("variables")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| d.as_object()?.values().next())
        .filter(|d| d.get("name").and_then(Value::as_str) == Some(var))
        .any(|d| {
            ["isInput", "isOutput"]
                .iter()
                .any(|k| d.get(k).and_then(Value::as_bool) == Some(true))
        })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::{Value, json};

    use crate::compile::{self, CompileContext};
    use crate::import::{ArchyFile, ImportLimits, import};
    use crate::template::FlowType;

    fn compiled(doc: &Value) -> String {
        let r = crate::validate::validate(doc, &crate::validate::NoModules);
        assert!(!r.has_errors(), "{:?}", r.findings);
        compile::compile(
            &r.flow.unwrap(),
            &CompileContext {
                flow_name: "Retry",
                as_type: FlowType::Module,
                modules: &BTreeMap::new(),
                queue_names: &BTreeMap::new(),
            },
        )
        .unwrap()
        .yaml
    }

    fn imported(yaml: &str) -> crate::import::Imported {
        let files = [ArchyFile {
            name: "m.yaml".into(),
            yaml: yaml.to_owned(),
        }];
        import(&files, ImportLimits::default())
            .unwrap()
            .templates
            .remove(0)
    }

    /// A module asking until the caller presses 1: the compiler writes the cycle as a
    /// `loop` (`Loop Ask`, counter `Common.Ask_loop`) left by `loopExit`.
    fn retry() -> String {
        compiled(
            &json!({"name": "Retry", "type": "module", "draft": {"startNode": "Ask", "nodes": {
            "Ask": {"id": "Ask", "type": "Gather", "properties": {"promptText": "Press 1", "maxDigits": 1},
                    "onComplete": {"nextNode": "Check"}, "onError": {"nextNode": "Thanks"}},
            "Check": {"id": "Check", "type": "If", "properties": {
                "conditions": [{"expression": "{Ask.digits} == '1'", "nextNode": "Thanks"}],
                "defaultNextNode": "Ask"}},
            "Thanks": {"id": "Thanks", "type": "Say", "properties": {"sayText": "Thanks"},
                       "onComplete": {"nextNode": "Done"}},
            "Done": {"id": "Done", "type": "End", "properties": {}}}}}),
        )
    }

    #[test]
    fn a_compiled_loop_becomes_the_cycle_it_was_and_compiles_back_the_same() {
        let first = retry();
        assert!(
            first.contains("- loop:") && first.contains("- loopExit:"),
            "{first}"
        );
        let t = imported(&first);
        let kinds: Vec<(&str, &str)> = t
            .report
            .mapped
            .iter()
            .map(|m| (m.action.as_str(), m.node_type.as_str()))
            .collect();
        assert!(kinds.contains(&("loop", "edge")), "{kinds:?}");
        assert!(kinds.contains(&("loopExit", "edge")), "{kinds:?}");
        assert_eq!(t.report.kept, 0, "{kinds:?}");
        let n = &t.document["draft"]["nodes"];
        assert_eq!(t.document["draft"]["startNode"], "Ask");
        assert_eq!(n["Check"]["properties"]["defaultNextNode"], "Ask", "{n}");
        let second = compiled(&t.document);
        let loop_of = |y: &str| -> Value {
            let v: Value = serde_yaml_ng::from_str(y).unwrap();
            v["commonModule"]["startUpTaskActions"]
                .as_array()
                .unwrap()
                .iter()
                .find_map(|a| a.get("loop").cloned())
                .unwrap()
        };
        assert_eq!(loop_of(&first), loop_of(&second), "{first}\n---\n{second}");
    }

    #[test]
    fn a_loop_the_cycle_cannot_write_stays_as_written() {
        let first = retry();
        for changed in [
            // A count that can end the loop; a counter another action reads.
            first.replace("lit: 10000", "lit: 5"),
            first.replace("Common.Ask_digits == \"1\"", "Common.Ask_loop == 1"),
        ] {
            assert_ne!(changed, first);
            let t = imported(&changed);
            let kept: Vec<&str> = t
                .report
                .mapped
                .iter()
                .filter(|m| m.node_type == "Archy")
                .map(|m| m.action.as_str())
                .collect();
            assert!(
                kept.contains(&"loop") && kept.contains(&"loopExit"),
                "{kept:?}\n{changed}"
            );
        }
    }
}
