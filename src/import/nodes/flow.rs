//! `callCommonModule` → Flow calling the imported module's template by name, when the Flow
//! writes the same call (`src/compile/archy.rs` `call_common_module`): the latest published
//! version, each input (`Common.X`) an expression the template language shares with Archy
//! or a literal (written back as the same value in an expression: `lit: z` → `exp: "z"`),
//! each output (`Common.X`) into a declared variable of a basic type. A call without outputs
//! stays as written: without a mapping the Flow writes every output of the module into the
//! caller's variables of the same names. Archy's call has no failure path: the node goes on
//! to the action after it. A module cannot call a module: there the call stays as written.

use serde_json::{Map, Value, json};

use super::{Lists, on_complete};
use crate::compile::{archy, sanitize};
use crate::import::expr;
use crate::template::FlowType;

/// The module variable's name without `Common.`, when it is the name the Flow writes back.
fn module_var(k: &str) -> Option<&str> {
    let bare = k.strip_prefix(archy::var_prefix(FlowType::Module))?;
    (!bare.is_empty() && sanitize(bare) == bare).then_some(bare)
}

/// An input's value as a template expression.
fn input(b: &dyn Lists, v: &Value) -> Option<String> {
    let m = v.as_object().filter(|m| m.len() == 1)?;
    match (m.get("lit"), m.get("exp")) {
        (Some(Value::String(s)), None)
            if !s.contains(['"', '\'', '\\', '{', '}']) && !s.chars().any(char::is_control) =>
        {
            Some(format!("\"{s}\""))
        }
        (Some(Value::Number(n)), None) if n.is_i64() => Some(n.to_string()),
        (Some(Value::Bool(t)), None) => Some(t.to_string()),
        (None, Some(Value::String(e))) => expr::convert(e, b.vars()),
        _ => None,
    }
}

fn plan(b: &dyn Lists, body: &Map<String, Value>) -> Option<(String, Value)> {
    if !body.keys().all(|k| k == "name" || k == "commonModule") {
        return None;
    }
    let (module, version) = body
        .get("commonModule")?
        .as_object()
        .filter(|m| m.len() == 1)?
        .iter()
        .next()?;
    if module.trim().is_empty() || module.contains(['{', '}']) {
        return None;
    }
    let io = version
        .as_object()
        .filter(|m| m.len() == 1)?
        .get("ver_latestPublished")?
        .as_object()?;
    let mut props = json!({ "flowName": module });
    let mut inputs = Map::new();
    let mut outputs = Map::new();
    for (k, v) in io {
        match k.as_str() {
            "inputs" => {
                for (mv, e) in v.as_object().filter(|m| !m.is_empty())? {
                    inputs.insert(module_var(mv)?.to_owned(), input(b, e)?.into());
                }
            }
            "outputs" => {
                for (mv, cv) in v.as_object().filter(|m| !m.is_empty())? {
                    let var = cv.as_object().filter(|m| m.len() == 1)?.get("var")?;
                    let (name, kind) = b.vars().var(var.as_str()?)?;
                    matches!(
                        kind.as_str(),
                        "stringVariable" | "integerVariable" | "booleanVariable"
                    )
                    .then_some(())?;
                    outputs.insert(module_var(mv)?.to_owned(), name.into());
                }
            }
            _ => return None,
        }
    }
    // The compiler writes every input of the module the call does not give as `noValue`,
    // and without an output mapping every output of the module: the mapping is explicit.
    if !inputs.is_empty() {
        props["inputs"] = Value::Object(inputs);
    }
    if outputs.is_empty() {
        return None;
    }
    props["outputs"] = Value::Object(outputs);
    Some((module.clone(), props))
}

pub(super) fn import(
    b: &mut dyn Lists,
    body: &Map<String, Value>,
    next: Option<&str>,
) -> Option<(&'static str, Value)> {
    if b.ty() == FlowType::Module {
        return None;
    }
    let (module, props) = plan(b, body)?;
    b.calls(&module);
    let mut n = json!({"type": "Flow", "properties": props});
    on_complete(&mut n, next);
    Some(("Flow", n))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::import::tests::{inbound_with, node_type, round_trip};

    /// The corpus' module `darbyje-advanced-session__Terraform_CM_v2-0.yaml`, shortened.
    const MODULE: &str = r#"commonModule:
  name: Terraform CM
  division: Home
  variables:
    - stringVariable:
        name: Common.Input
        initialValue:
          noValue: true
        isInput: true
        isOutput: false
    - stringVariable:
        name: Common.Output
        initialValue:
          noValue: true
        isInput: false
        isOutput: true
  startUpTaskActions:
    - updateData:
        name: Update Data
        statements:
          - string:
              variable: Common.Output
              value:
                exp: Common.Input
    - endTask:
        name: Exit Common Module
"#;

    /// Its caller's call (`darbyje-advanced-session__Terraform_Inbound_Flow_v1-0.yaml`).
    const CALL: &str = r"- callCommonModule:
    name: Call Common Module
    commonModule:
      Terraform CM:
        ver_latestPublished:
          inputs:
            Common.Input:
              lit: z
          outputs:
            Common.Output:
              var: Flow.Output
";

    #[test]
    fn a_corpus_module_call_becomes_a_flow_node_that_compiles_back_the_same() {
        let y = inbound_with(&[("stringVariable", "Flow.Output")], CALL);
        let (node, mut before, after) =
            round_trip(&[&y, MODULE], "callCommonModule", "Call Common Module");
        assert_eq!(node["type"], "Flow");
        let p = &node["properties"];
        assert_eq!(p["flowName"], "Terraform CM");
        assert_eq!(p["inputs"]["Input"], "\"z\"");
        assert_eq!(p["outputs"]["Output"], "Output");
        assert_eq!(node["onComplete"]["nextNode"], "Bye");
        // A literal input comes back as the same value written as an expression.
        before["commonModule"]["Terraform CM"]["ver_latestPublished"]["inputs"]["Common.Input"] =
            json!({"exp": "\"z\""});
        assert_eq!(before, after);
    }

    #[test]
    fn a_call_the_flow_node_cannot_write_stays_as_written() {
        let vars = [("stringVariable", "Flow.Output")];
        for changed in [
            // A caller value the template language lacks (the corpus' CI/CD line).
            CALL.replace("lit: z", "exp: Call.Ani"),
            // No outputs: the Flow node would write every output of the module.
            CALL.replace(
                "          outputs:\n            Common.Output:\n              var: Flow.Output\n",
                "",
            ),
            CALL.replace("ver_latestPublished", "ver_1"),
        ] {
            let i = crate::import::import(
                &[
                    crate::import::ArchyFile {
                        name: "c.yaml".into(),
                        yaml: inbound_with(&vars, &changed),
                    },
                    crate::import::ArchyFile {
                        name: "m.yaml".into(),
                        yaml: MODULE.into(),
                    },
                ],
                crate::import::ImportLimits::default(),
            )
            .unwrap();
            let kept = i.templates[0]
                .report
                .mapped
                .iter()
                .find(|m| m.action == "callCommonModule")
                .unwrap();
            assert_eq!(kept.node_type, "Archy", "{changed}");
        }
        // Without the module's file the call is refused, native or not.
        let y = inbound_with(&vars, CALL);
        assert!(
            crate::import::import(
                &[crate::import::ArchyFile {
                    name: "c.yaml".into(),
                    yaml: y
                }],
                crate::import::ImportLimits::default()
            )
            .is_err()
        );
        let _ = node_type;
    }
}
