//! One flow: its header (name, description, division, languages, greeting), its variables,
//! its tasks (inbound) or start-up actions (module), and the findings for what is not
//! carried over.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::actions::Builder;
use super::report::Report;
use super::{ArchyFile, Imported, error, warning};
use crate::findings::pointer;
use crate::template::{Finding, FlowType};

/// What importing one flow gave.
pub(super) struct FlowOut {
    pub(super) imported: Option<Imported>,
    pub(super) findings: Vec<Finding>,
    /// The common modules the flow calls, by name.
    pub(super) calls: Vec<String>,
}

/// Header keys carried over, and those only reported (settings flowsmith compiles its own
/// way: the compiler writes the settings Genesys needs).
const CARRIED: &[&str] = &[
    "name",
    "description",
    "division",
    "defaultLanguage",
    "initialGreeting",
    "variables",
    "tasks",
    "startUpRef",
    "startUpTaskActions",
    "supportedLanguages",
];

fn s<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    m.get(k).and_then(Value::as_str)
}

/// The variables of a declaration list: name (as written) → declaration kind, isInput,
/// isOutput.
fn declarations(list: Option<&Value>) -> Vec<(String, String, bool, bool)> {
    let mut out = Vec::new();
    for d in list.and_then(Value::as_array).into_iter().flatten() {
        let Some((kind, body)) = d.as_object().and_then(|m| m.iter().next()) else {
            continue;
        };
        let Some(name) = body.get("name").and_then(Value::as_str) else {
            continue;
        };
        let flag = |k: &str| body.get(k).and_then(Value::as_bool).unwrap_or(false);
        out.push((
            name.to_owned(),
            kind.clone(),
            flag("isInput"),
            flag("isOutput"),
        ));
    }
    out
}

pub(super) fn import_flow(
    f: &ArchyFile,
    ty: FlowType,
    root: &Map<String, Value>,
    max_nodes: usize,
) -> FlowOut {
    let file = f.name.as_str();
    let root_key = match ty {
        FlowType::Inbound => "inboundCall",
        FlowType::Module => "commonModule",
    };
    let at = |k: &str| pointer([root_key, k]);
    let mut findings = Vec::new();
    let Some(name) = s(root, "name").filter(|n| !n.trim().is_empty()) else {
        findings.push(error(
            file,
            "missing_field",
            &at("name"),
            "the flow has no name",
        ));
        return FlowOut {
            imported: None,
            findings,
            calls: Vec::new(),
        };
    };
    for k in root.keys().filter(|k| !CARRIED.contains(&k.as_str())) {
        findings.push(warning(
            file,
            "setting_not_carried",
            &at(k),
            format!("'{k}' is not carried over: the compiler writes its own settings"),
        ));
    }
    // Variables: flow-level, then every task's (task variables become flow variables).
    let mut decls = declarations(root.get("variables"));
    for t in root
        .get("tasks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        decls.extend(declarations(t.pointer("/task/variables")));
    }
    let mut doc = json!({
        "name": name,
        "type": ty.as_str(),
    });
    if let Some(obj) = doc.as_object_mut() {
        header(file, root, obj, &mut findings, &at("initialGreeting"));
        if ty == FlowType::Module {
            interface(file, &decls, obj, &mut findings, &at("variables"));
        }
        initial_values(file, ty, root_key, root, &decls, obj, &mut findings);
    }
    // Native nodes whose template does not validate (a variable of no known type in a
    // condition, ...) are kept as written instead: a few rounds at most, each keeping more.
    let mut demoted: HashSet<String> = HashSet::new();
    let mut round = 0;
    let (built, start_nodes) = loop {
        round += 1;
        let mut b = Builder::new(file, ty, root_key, max_nodes);
        for (n, kind, _, _) in &decls {
            b.declare(n, kind);
        }
        b.demote(demoted.clone());
        let start = match ty {
            FlowType::Inbound => b.tasks(root),
            FlowType::Module => b.module_actions(root),
        };
        let mut built = b.finish(start);
        let Some((start, nodes)) = built.graph.take() else {
            break (built, None);
        };
        let mut candidate = doc.clone();
        if let Some(obj) = candidate.as_object_mut() {
            obj.insert(
                "draft".into(),
                json!({"startNode": start, "nodes": Value::Object(nodes.clone().into_iter().collect::<Map<_,_>>())}),
            );
        }
        let more = if round < 5 {
            failing_natives(&candidate, &built.report)
        } else {
            HashSet::new()
        };
        if more.is_empty() || !more.iter().any(|p| !demoted.contains(p)) {
            break (built, Some(candidate));
        }
        demoted.extend(more);
    };
    findings.extend(built.findings);
    let Some(doc) = start_nodes else {
        return FlowOut {
            imported: None,
            findings,
            calls: built.calls,
        };
    };
    FlowOut {
        imported: Some(Imported {
            name: name.to_owned(),
            flow_type: ty,
            document: doc,
            report: built.report,
        }),
        findings,
        calls: built.calls,
    }
}

/// A module's inputs and outputs (`Common.x` with `isInput`/`isOutput`) in the template's
/// `inputs`/`outputs`; kinds flowsmith does not model are reported.
fn interface(
    file: &str,
    decls: &[(String, String, bool, bool)],
    obj: &mut Map<String, Value>,
    findings: &mut Vec<Finding>,
    at: &str,
) {
    let mut inputs = Map::new();
    let mut outputs = Map::new();
    for (n, kind, is_in, is_out) in decls {
        let Some(bare) = n.strip_prefix("Common.") else {
            continue;
        };
        let basic = match kind.as_str() {
            "stringVariable" => "string",
            "integerVariable" => "integer",
            "booleanVariable" => "boolean",
            _ => {
                if *is_in || *is_out {
                    findings.push(warning(
                        file,
                        "interface_not_carried",
                        at,
                        format!("the module's {kind} '{n}' is not carried over as an input or output (flowsmith's module interface is string, integer or boolean)"),
                    ));
                }
                continue;
            }
        };
        if *is_in {
            inputs.insert(bare.to_owned(), json!({"type": basic}));
        }
        if *is_out {
            outputs.insert(bare.to_owned(), json!({"type": basic}));
        }
    }
    if !inputs.is_empty() {
        obj.insert("inputs".into(), Value::Object(inputs));
    }
    obj.insert("outputs".into(), Value::Object(outputs));
}

/// Description, division, default language and text-to-speech greeting.
fn header(
    file: &str,
    root: &Map<String, Value>,
    obj: &mut Map<String, Value>,
    findings: &mut Vec<Finding>,
    at: &str,
) {
    if let Some(d) = s(root, "description").filter(|d| !d.is_empty()) {
        obj.insert("description".into(), d.into());
    }
    if let Some(d) = s(root, "division") {
        obj.insert("division".into(), d.into());
    }
    match (s(root, "defaultLanguage"), root.get("supportedLanguages")) {
        (Some(l), _) => {
            obj.insert("language".into(), l.into());
        }
        (None, Some(Value::Object(langs))) if langs.len() == 1 => {
            if let Some(l) = langs.keys().next() {
                obj.insert("language".into(), l.as_str().into());
            }
        }
        _ => {}
    }
    match root.get("initialGreeting") {
        None => {}
        Some(g) => match g.get("tts").and_then(Value::as_str) {
            Some(t) if !t.contains(['{', '}']) && !t.trim().is_empty() => {
                obj.insert("greeting".into(), t.into());
            }
            _ => findings.push(warning(
                file,
                "greeting_not_carried",
                at,
                "only a text-to-speech greeting is carried over",
            )),
        },
    }
}

/// The actions (by pointer) whose native node has an error finding when `doc` is
/// validated.
fn failing_natives(doc: &Value, report: &Report) -> HashSet<String> {
    let r = crate::validate::validate(doc, &crate::validate::NoModules);
    let mut out = HashSet::new();
    for f in r.findings.iter().filter(|f| f.is_error()) {
        let Some(rest) = f.pointer.strip_prefix("/draft/nodes/") else {
            continue;
        };
        let id = rest.split('/').next().unwrap_or_default();
        for m in &report.mapped {
            if m.node.as_deref() == Some(id) && m.node_type != "Archy" {
                out.insert(m.pointer.clone());
            }
        }
    }
    out
}

/// `initialValues`: the initial values of the declared variables (flow-level, then each
/// task's), by the template variable each becomes, with `Task.X` → `Flow.X` inside
/// expressions. flowsmith
/// has no task variables: a task variable starts with its value when the flow starts, so a
/// task that may start twice in a call (the start and a jump, or two jumps lead to it) is a
/// warning at each of its initial values; two different values for one variable keep the
/// first, with a warning at the other.
fn initial_values(
    file: &str,
    ty: FlowType,
    root_key: &'static str,
    root: &Map<String, Value>,
    decls: &[(String, String, bool, bool)],
    obj: &mut Map<String, Value>,
    findings: &mut Vec<Finding>,
) {
    let mut b = Builder::new(file, ty, root_key, 0);
    for (n, kind, _, _) in decls {
        b.declare(n, kind);
    }
    let restarting = restarting_tasks(root);
    let mut lists: Vec<(String, Option<&Value>, bool)> = vec![(
        pointer([root_key, "variables"]),
        root.get("variables"),
        false,
    )];
    for (i, t) in root
        .get("tasks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let again = t
            .pointer("/task/refId")
            .and_then(Value::as_str)
            .is_some_and(|r| restarting.contains(r));
        lists.push((
            format!("{}/{i}/task/variables", pointer([root_key, "tasks"])),
            t.pointer("/task/variables"),
            again,
        ));
    }
    let mut out = Map::new();
    for (list_at, list, again) in lists {
        for (i, d) in list
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let Some((kind, body)) = d.as_object().and_then(|m| m.iter().next()) else {
                continue;
            };
            let (Some(name), Some(init)) = (
                body.get("name").and_then(Value::as_str),
                body.get("initialValue"),
            ) else {
                continue;
            };
            if init.get("noValue").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let at = format!("{list_at}/{i}{}", pointer([kind.as_str(), "initialValue"]));
            let carried = init
                .as_object()
                .filter(|m| m.len() == 1)
                .and_then(|m| m.iter().next())
                .is_some_and(|(k, v)| {
                    (k == "lit" && !v.is_null()) || (k == "exp" && v.is_string())
                });
            if !carried {
                findings.push(warning(
                    file,
                    "initial_value_not_carried",
                    &at,
                    format!("the initial value of '{name}' is neither a literal nor an expression: it is not carried over"),
                ));
                continue;
            }
            let bare = name.split_once('.').map_or(name, |(_, rest)| rest);
            let key = crate::compile::sanitize(bare);
            let mut value = init.clone();
            b.rename_vars(&mut value, &mut std::collections::BTreeMap::new());
            match out.get(&key) {
                Some(prev) if *prev != value => {
                    findings.push(warning(
                        file,
                        "initial_value_not_carried",
                        &at,
                        format!("'{name}' becomes the flow variable '{key}', which another declaration starts with another value: this one is not carried over"),
                    ));
                    continue;
                }
                Some(_) => {}
                None => {
                    out.insert(key, value);
                }
            }
            if again {
                findings.push(warning(
                    file,
                    "initial_value_once",
                    &at,
                    format!("the task may start more than once in a call, and '{name}' starts with this value only when the flow starts (flowsmith has no task variables)"),
                ));
            }
        }
    }
    if !out.is_empty() {
        obj.insert("initialValues".into(), Value::Object(out));
    }
}

/// The tasks (by refId) that may start twice in a call: the start task that a jump leads
/// to, or a task two jumps lead to.
fn restarting_tasks(root: &Map<String, Value>) -> std::collections::HashSet<String> {
    let mut n: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let start = s(root, "startUpRef").and_then(task_ref);
    for r in start.into_iter().chain(jump_targets(root.values())) {
        *n.entry(r).or_insert(0) += 1;
    }
    n.into_iter()
        .filter(|(_, k)| *k > 1)
        .map(|(r, _)| r)
        .collect()
}

/// The task reference of `/inboundCall/tasks/task[X]` (or `./tasks/task[X]`).
fn task_ref(r: &str) -> Option<String> {
    let open = r.find("task[")? + "task[".len();
    let close = r.rfind(']')?;
    (close > open).then(|| r[open..close].to_owned())
}

/// Every task a `targetTaskRef` anywhere in `values` names (once per jump).
fn jump_targets<'v>(values: impl Iterator<Item = &'v Value>) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        ("targetTaskRef", Value::String(r)) => out.extend(task_ref(r)),
                        _ => walk(x, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    values.for_each(|v| walk(v, &mut out));
    out
}
