use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_yaml_ng::Value;

use super::fixtures::{
    compile_as, compile_named, generated_flow, judged_yaml, seed_caller, seed_module, validated,
};
use super::*;
use crate::template::model::NodeKind;

fn snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/compile/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_SNAPSHOTS=1)", path.display()));
    assert!(
        expected == actual,
        "snapshot {name} differs (UPDATE_SNAPSHOTS=1 rewrites it)\n--- expected\n{expected}\n--- actual\n{actual}"
    );
}

fn module_targets() -> BTreeMap<String, ModuleTarget> {
    let m = seed_module();
    let mut out = BTreeMap::new();
    out.insert(m.name.clone(), ModuleTarget::of(&m, &m.name));
    out
}

fn queues() -> BTreeMap<String, String> {
    [("q-1".to_owned(), "Support".to_owned())]
        .into_iter()
        .collect()
}

fn compile_module() -> Compiled {
    let m = seed_module();
    compile_named(&m, &m.name, FlowType::Module).unwrap()
}

fn compile_caller() -> Compiled {
    let c = seed_caller();
    let (mods, qs) = (module_targets(), queues());
    compile(
        &c,
        &CompileContext {
            flow_name: &c.name,
            as_type: FlowType::Inbound,
            modules: &mods,
            queue_names: &qs,
        },
    )
    .unwrap()
}

fn walk<'v>(v: &'v Value, key: &str, out: &mut Vec<&'v Value>) {
    match v {
        Value::Mapping(m) => {
            for (k, val) in m {
                if k.as_str() == Some(key) {
                    out.push(val);
                }
                walk(val, key, out);
            }
        }
        Value::Sequence(s) => s.iter().for_each(|x| walk(x, key, out)),
        _ => {}
    }
}

/// Parses the YAML and checks the root key; for inbound flows that every task reference is
/// absolute and resolves and every task ends with a closing action; for modules one
/// `startUpTaskActions` sequence without tasks or jumps.
fn check_structure(yaml: &str, root: &str) -> Value {
    let doc: Value = serde_yaml_ng::from_str(yaml).unwrap();
    let m = doc.as_mapping().unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(m.keys().next().unwrap().as_str(), Some(root));
    let body = &doc[root];
    let mut targets = Vec::new();
    walk(body, "targetTaskRef", &mut targets);
    if root == "commonModule" {
        assert!(body["startUpTaskActions"].is_sequence(), "{yaml}");
        for key in ["tasks", "startUpRef"] {
            assert!(body.get(key).is_none(), "{key} in a module:\n{yaml}");
        }
        let mut jumps = Vec::new();
        walk(body, "jumpToTask", &mut jumps);
        assert!(jumps.is_empty() && targets.is_empty(), "{yaml}");
        return doc;
    }
    let tasks = body["tasks"].as_sequence().unwrap();
    let ref_ids: Vec<&str> = tasks
        .iter()
        .map(|t| t["task"]["refId"].as_str().unwrap())
        .collect();
    for t in tasks {
        let last = t["task"]["actions"].as_sequence().unwrap().last().unwrap();
        let key = last
            .as_mapping()
            .unwrap()
            .keys()
            .next()
            .unwrap()
            .as_str()
            .unwrap();
        assert!(
            matches!(key, "disconnect" | "jumpToTask"),
            "task {:?} ends with {key}",
            t["task"]["name"]
        );
    }
    let start = body["startUpRef"].as_str().unwrap();
    let mut refs = vec![start.to_owned()];
    refs.extend(targets.iter().map(|t| t.as_str().unwrap().to_owned()));
    for r in refs {
        let prefix = format!("/{root}/tasks/task[");
        assert!(r.starts_with(&prefix) && r.ends_with(']'), "{r}");
        let id = &r[prefix.len()..r.len() - 1];
        assert!(
            ref_ids.contains(&id),
            "{r} resolves to no task in {ref_ids:?}"
        );
    }
    doc
}

#[test]
fn seed_module_snapshot_and_structure() {
    let c = compile_module();
    snapshot("seed_module.yaml", &c.yaml);
    assert_eq!(c.flow_type, FlowType::Module);
    let doc = check_structure(&c.yaml, "commonModule");
    let vars = doc["commonModule"]["variables"].as_sequence().unwrap();
    let result = vars
        .iter()
        .map(|v| &v["stringVariable"])
        .find(|v| v["name"].as_str() == Some("Common.shared_module_result"))
        .unwrap();
    assert_eq!(result["isOutput"].as_bool(), Some(true));
    assert_eq!(result["isInput"].as_bool(), Some(false));
    // The onError exits of Say and Set cannot be compiled: validation says so (one rule,
    // one finding: `on_error_not_compiled` is the validator's), the compiler does not repeat it.
    let codes: Vec<&str> = c.warnings.iter().map(|w| w.code.as_str()).collect();
    assert!(codes.is_empty(), "{codes:?}");
}

#[test]
fn seed_caller_snapshot_and_structure() {
    let c = compile_caller();
    snapshot("seed_caller.yaml", &c.yaml);
    assert_eq!(c.flow_type, FlowType::Inbound);
    assert!(c.yaml.contains("\"yes\":"), "{}", c.yaml);
    // The check's "no" side and the failed transfer merge back into PlayGoodbye: one task.
    assert!(!c.yaml.contains("\"no\":"), "{}", c.yaml);
    assert!(!c.yaml.contains("jumpToTask"), "{}", c.yaml);
    let doc = check_structure(&c.yaml, "inboundCall");
    let mut calls = Vec::new();
    walk(&doc, "callCommonModule", &mut calls);
    assert_eq!(calls.len(), 1);
    let module = &calls[0]["commonModule"]["Shared_Module_Language_Select"]["ver_latestPublished"];
    assert_eq!(
        module["outputs"]["Common.shared_module_result"]["var"].as_str(),
        Some("Flow.shared_module_result")
    );
    let mut queues = Vec::new();
    walk(&doc, "targetQueue", &mut queues);
    assert_eq!(queues[0]["lit"]["name"].as_str(), Some("Support"));
    let codes: Vec<&str> = c.warnings.iter().map(|w| w.code.as_str()).collect();
    // timeoutSeconds and the onError exit are the validator's findings
    // (`flow_timeout_ignored`, `on_error_not_compiled`), not repeated by the compiler.
    assert!(codes.is_empty(), "{codes:?}");
}

#[test]
fn compiling_is_deterministic() {
    let (a, b) = (compile_caller(), compile_caller());
    assert_eq!(a.yaml, b.yaml);
    assert_eq!(a.content_hash, b.content_hash);
    assert_eq!(a.content_hash.len(), 64);
    assert_eq!(
        a.content_hash,
        hex::encode(Sha256::digest(a.yaml.as_bytes()))
    );
    let g = generated_flow(400);
    assert_eq!(
        compile_named(&g, "G", FlowType::Inbound).unwrap(),
        compile_named(&g, "G", FlowType::Inbound).unwrap()
    );
}

#[test]
fn unresolved_queue_and_module_warn() {
    let c = seed_caller();
    let out = compile_named(&c, "Renamed", FlowType::Inbound).unwrap();
    let codes: Vec<&str> = out.warnings.iter().map(|w| w.code.as_str()).collect();
    assert!(codes.contains(&"queue_id_unresolved"), "{codes:?}");
    assert!(codes.contains(&"module_unresolved"), "{codes:?}");
    let doc = check_structure(&out.yaml, "inboundCall");
    assert_eq!(doc["inboundCall"]["name"].as_str(), Some("Renamed"));
    let mut queues = Vec::new();
    walk(&doc, "targetQueue", &mut queues);
    assert_eq!(queues[0]["lit"]["name"].as_str(), Some("q-1"));
}

#[test]
fn module_id_must_be_resolved() {
    let mut c = seed_caller();
    if let Some(n) = c.nodes.get_mut("CallShared")
        && let NodeKind::CallModule { module, .. } = &mut n.kind
    {
        *module = ModuleRef::Id("abc".into());
    }
    let (empty, noq) = (BTreeMap::new(), BTreeMap::new());
    let mut ctx = CompileContext {
        flow_name: "x",
        as_type: FlowType::Inbound,
        modules: &empty,
        queue_names: &noq,
    };
    let err = compile(&c, &ctx).unwrap_err();
    assert_eq!(err.code(), "module_id_unresolved");
    let mut mods = BTreeMap::new();
    mods.insert(
        "id:abc".to_owned(),
        ModuleTarget {
            flow_name: "Real Module".into(),
            ..ModuleTarget::default()
        },
    );
    ctx.modules = &mods;
    let ok = compile(&c, &ctx).unwrap();
    assert!(ok.yaml.contains("Real Module:"), "{}", ok.yaml);
}

#[test]
fn module_cannot_call_module() {
    let c = seed_caller();
    let err = compile_named(&c, "x", FlowType::Module).unwrap_err();
    assert_eq!(err.code(), "module_calls_module");
}

#[test]
fn sanitising_collisions_are_errors() {
    let mut m = seed_module();
    m.variables
        .insert("shared-module-result".into(), VarType::String);
    let err = compile_named(&m, "x", FlowType::Module).unwrap_err();
    assert_eq!(err.code(), "name_collision");

    let mut m = seed_module();
    let mut n = m.nodes["Exit"].clone();
    n.id = "Ex.it".into();
    m.nodes.insert("Ex.it".into(), n.clone());
    n.id = "Ex_it".into();
    m.nodes.insert("Ex_it".into(), n);
    assert!(matches!(
        compile_named(&m, "x", FlowType::Module),
        Err(CompileError::NameCollision { kind: "node", .. })
    ));
}

#[test]
fn cycles_and_deep_nesting_compile_to_tasks() {
    let g = generated_flow(400);
    let out = compile_named(&g, "G", FlowType::Inbound).unwrap();
    let doc = check_structure(&out.yaml, "inboundCall");
    let tasks = doc["inboundCall"]["tasks"].as_sequence().unwrap();
    // init, menu (many predecessors), each block's say (a back edge), plus promotions.
    assert!(tasks.len() >= 100, "{}", tasks.len());
    // Every node's action appears exactly once (End/Disconnect may repeat).
    let mut names = Vec::new();
    walk(&doc, "name", &mut names);
    for id in g
        .nodes
        .keys()
        .filter(|k| k.ends_with("_set") || k.ends_with("_gather"))
    {
        let n = names
            .iter()
            .filter(|v| v.as_str() == Some(id.as_str()))
            .count();
        assert_eq!(n, 1, "{id}");
    }
    let max_indent = out
        .yaml
        .lines()
        .map(|l| l.len() - l.trim_start().len())
        .max()
        .unwrap();
    assert!(max_indent < 400, "{max_indent}");
}

/// A module that asks for a PIN three times: Gather → If right → End; else count + 1 →
/// If tries left → Say wrong → back to the Gather; else Say bye → End.
pub(crate) fn pin_module_doc() -> serde_json::Value {
    serde_json::json!({
        "name": "Pin_Check", "type": "module",
        "outputs": {"pin_ok": {"type": "boolean"}},
        "draft": {"startNode": "Init", "nodes": {
            "Init": {"id": "Init", "type": "Set", "properties": {"setVars": [
                {"key": "tries", "value": {"type": "integer", "expression": "0"}},
                {"key": "pin_ok", "value": {"type": "boolean", "expression": "false"}}]},
                "onComplete": {"nextNode": "AskPin"}},
            "AskPin": {"id": "AskPin", "type": "Gather",
                "properties": {"promptText": "Enter your PIN.", "maxDigits": 4, "minDigits": 4},
                "onComplete": {"nextNode": "Right"}, "onError": {"nextNode": "Count"}},
            "Right": {"id": "Right", "type": "If", "properties": {
                "conditions": [{"expression": "{AskPin.digits} == '1234'", "nextNode": "Ok"}],
                "defaultNextNode": "Count"}},
            "Ok": {"id": "Ok", "type": "Set", "properties": {"setVars": [
                {"key": "pin_ok", "value": {"type": "boolean", "expression": "true"}}]},
                "onComplete": {"nextNode": "Done"}},
            "Count": {"id": "Count", "type": "Set", "properties": {"setVars": [
                {"key": "tries", "value": {"type": "integer", "expression": "{tries} + 1"}}]},
                "onComplete": {"nextNode": "TriesLeft"}},
            "TriesLeft": {"id": "TriesLeft", "type": "If", "properties": {
                "conditions": [{"expression": "{tries} < 3", "nextNode": "Wrong"}],
                "defaultNextNode": "Bye"}},
            "Wrong": {"id": "Wrong", "type": "Say", "properties": {"sayText": "Wrong PIN."},
                "onComplete": {"nextNode": "AskPin"}},
            "Bye": {"id": "Bye", "type": "Say", "properties": {"sayText": "Too many tries."},
                "onComplete": {"nextNode": "Done"}},
            "Done": {"id": "Done", "type": "End"}
        }}
    })
}

#[test]
fn pin_retry_module_compiles_to_a_loop() {
    let f = validated(&pin_module_doc());
    let c = compile_as(&f, FlowType::Module).unwrap();
    snapshot("pin_module.yaml", &c.yaml);
    let doc = check_structure(&c.yaml, "commonModule");
    let body = &doc["commonModule"];
    let actions = body["startUpTaskActions"].as_sequence().unwrap();
    // Init, then the loop; the End after it emits nothing, and the module ends with the
    // corpus modules' `endTask`.
    assert_eq!(actions.len(), 3, "{}", c.yaml);
    assert_eq!(
        actions[2]["endTask"]["name"].as_str(),
        Some("Exit Common Module")
    );
    let lp = &actions[1]["loop"];
    assert_eq!(
        lp["currentIndex"]["var"].as_str(),
        Some("Common.AskPin_loop")
    );
    assert_eq!(lp["loopCount"]["lit"].as_i64(), Some(structure::LOOP_COUNT));
    let mut exits = Vec::new();
    walk(lp, "loopExit", &mut exits);
    assert_eq!(
        exits.len(),
        2,
        "the right PIN and too many tries leave the loop"
    );
    let vars = body["variables"].as_sequence().unwrap();
    assert!(
        vars.iter()
            .any(|v| v["integerVariable"]["name"].as_str() == Some("Common.AskPin_loop")),
        "{}",
        c.yaml
    );
    // Each node's action is written once: no duplication was needed.
    for id in [
        "AskPin",
        "Right",
        "Count",
        "TriesLeft",
        "Wrong",
        "Ok",
        "Bye",
    ] {
        let n = c.yaml.matches(&format!("name: {id}\n")).count();
        assert_eq!(n, 1, "{id} in\n{}", c.yaml);
    }
    // As an inbound flow the same graph uses a task for the loop start instead.
    let inbound = compile_as(&f, FlowType::Inbound).unwrap();
    let doc = check_structure(&inbound.yaml, "inboundCall");
    assert_eq!(doc["inboundCall"]["tasks"].as_sequence().unwrap().len(), 2);
    assert!(!inbound.yaml.contains("loop"), "{}", inbound.yaml);
}

#[test]
fn irreducible_module_is_refused_naming_the_edge() {
    // Start → If → A or B; A → B; B → A (through a Gather so the loop can end).
    let doc = serde_json::json!({
        "name": "Tangle", "type": "module",
        "draft": {"startNode": "Pick", "nodes": {
            "Pick": {"id": "Pick", "type": "Gather", "properties": {"promptText": "Pick."},
                "onComplete": {"nextNode": "A"}, "onError": {"nextNode": "B"}},
            "A": {"id": "A", "type": "Gather", "properties": {"promptText": "A."},
                "onComplete": {"nextNode": "B"}, "onError": {"nextNode": "Done"}},
            "B": {"id": "B", "type": "Gather", "properties": {"promptText": "B."},
                "onComplete": {"nextNode": "A"}, "onError": {"nextNode": "Done"}},
            "Done": {"id": "Done", "type": "End"}
        }}
    });
    let r = crate::validate::validate(&doc, &crate::validate::NoModules);
    let f = r
        .findings
        .iter()
        .find(|f| f.code == "module_not_structurable")
        .unwrap_or_else(|| panic!("{:?}", r.findings));
    assert!(f.is_error());
    assert_eq!(f.pointer, "/draft/nodes/B/onComplete/nextNode");
    assert!(f.hint.is_some());
    // The same graph as an inbound flow is fine (tasks and jumps).
    let mut inbound = doc.clone();
    inbound["type"] = "inbound".into();
    let f = validated(&inbound);
    let c = compile_as(&f, FlowType::Inbound).unwrap();
    check_structure(&c.yaml, "inboundCall");
    // Compiled as a module anyway (a seed "inbound" template that others call), the compiler
    // refuses it with the same code.
    let e = compile_as(&f, FlowType::Module).unwrap_err();
    assert_eq!(e.code(), "module_not_structurable");
}

#[test]
fn greeting_becomes_the_initial_greeting() {
    let doc = serde_json::json!({
        "name": "Hello_Line", "type": "inbound", "greeting": "Welcome to Acme.",
        "draft": {"startNode": "Bye", "nodes": {"Bye": {"id": "Bye", "type": "Disconnect"}}}
    });
    let f = validated(&doc);
    assert_eq!(f.greeting.as_deref(), Some("Welcome to Acme."));
    let c = compile_as(&f, FlowType::Inbound).unwrap();
    assert!(
        c.yaml
            .contains("  initialGreeting:\n    tts: Welcome to Acme.\n"),
        "{}",
        c.yaml
    );
    // Without one the call starts silently, as the template says nothing first.
    let c = compile_caller();
    assert!(
        c.yaml
            .contains("  initialGreeting:\n    exp: ToAudioBlank(1)\n"),
        "{}",
        c.yaml
    );
}

/// Issue 21: a module call with nothing to pass writes `ver_latestPublished: {none: true}`
/// (the published bot-flow analogue), never `{}`.
#[test]
fn a_module_call_with_nothing_to_pass_writes_none() {
    let module = validated(&serde_json::json!({
        "name": "Hello", "type": "module",
        "draft": {"startNode": "S", "nodes": {
            "S": {"id": "S", "type": "Say", "properties": {"sayText": "hi"},
                  "onComplete": {"nextNode": "E"}},
            "E": {"id": "E", "type": "End"}}}
    }));
    let caller = validated(&serde_json::json!({
        "name": "Line", "type": "inbound",
        "draft": {"startNode": "C", "nodes": {
            "C": {"id": "C", "type": "Flow", "properties": {"flowName": "Hello"},
                  "onComplete": {"nextNode": "D"}},
            "D": {"id": "D", "type": "Disconnect"}}}
    }));
    let targets: BTreeMap<String, ModuleTarget> =
        [("Hello".to_owned(), ModuleTarget::of(&module, "Hello"))].into();
    let c = compile(
        &caller,
        &CompileContext {
            flow_name: "Line",
            as_type: FlowType::Inbound,
            modules: &targets,
            queue_names: &BTreeMap::new(),
        },
    )
    .unwrap();
    let doc: Value = serde_yaml_ng::from_str(&c.yaml).unwrap();
    let mut calls = Vec::new();
    walk(&doc, "callCommonModule", &mut calls);
    let version = &calls[0]["commonModule"]["Hello"]["ver_latestPublished"];
    assert_eq!(version["none"].as_bool(), Some(true), "{}", c.yaml);
    assert_eq!(
        version.as_mapping().map(serde_yaml_ng::Mapping::len),
        Some(1)
    );
}

/// Issue 21: a module's settings as every exported module writes them, its languages
/// including those its SetLanguage nodes set; `setLanguage` as the corpus writes it.
#[test]
fn modules_carry_compatible_flow_types_and_set_language_compiles() {
    let m = validated(&serde_json::json!({
        "name": "Lang", "type": "module", "compatibleFlowTypes": ["inqueuecall"],
        "inputs": {"lang": {"type": "string"}},
        "draft": {"startNode": "F", "nodes": {
            "F": {"id": "F", "type": "SetLanguage", "properties": {"language": "FR-fr"},
                  "onComplete": {"nextNode": "X"}},
            "X": {"id": "X", "type": "SetLanguage", "properties": {"language": "{lang}"},
                  "onComplete": {"nextNode": "E"}},
            "E": {"id": "E", "type": "End"}}}
    }));
    let yaml = judged_yaml(&m, FlowType::Module);
    let doc: Value = serde_yaml_ng::from_str(&yaml).unwrap();
    let body = &doc["commonModule"];
    let types: Vec<&str> = body["settingsCommonModule"]["compatibleFlowTypes"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|t| t["flowType"].as_str())
        .collect();
    assert_eq!(types, ["inboundcall", "inqueuecall"]);
    assert!(body.get("defaultLanguage").is_none(), "{yaml}");
    assert_eq!(
        body["supportedLanguages"]["en-us"]["none"].as_bool(),
        Some(true)
    );
    assert_eq!(
        body["supportedLanguages"]["fr-fr"]["none"].as_bool(),
        Some(true)
    );
    let mut sets = Vec::new();
    walk(&doc, "setLanguage", &mut sets);
    assert_eq!(sets[0]["name"].as_str(), Some("F"));
    assert_eq!(sets[0]["languageValue"]["lit"].as_str(), Some("fr-fr"));
    assert_eq!(sets[0]["language"].as_str(), Some("fr-fr"));
    assert_eq!(
        sets[1]["languageValue"]["exp"].as_str(),
        Some("Common.lang")
    );
    assert!(sets[1].get("language").is_none());
}

/// The YAML nesting of a parsed document.
fn yaml_depth(v: &Value) -> usize {
    match v {
        Value::Mapping(m) => 1 + m.values().map(yaml_depth).max().unwrap_or(0),
        Value::Sequence(s) => 1 + s.iter().map(yaml_depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// A chain of 40 nodes of one branching kind, each going on by its deepest exit (an If's
/// default, a Switch's last case, a Menu's error exit), the others ending the call.
fn chain(kind: &str, ty: &str) -> serde_json::Value {
    let mut nodes = serde_json::Map::new();
    nodes.insert(
        "S".into(),
        serde_json::json!({"id": "S", "type": "Set", "properties": {"setVars": [
            {"key": "v", "value": {"type": "string", "value": "x"}}]}, "onComplete": {"nextNode": "N0"}}),
    );
    let n = 40;
    for i in 0..n {
        let (me, next) = (format!("N{i}"), format!("N{}", i + 1));
        let conds = serde_json::json!([
            {"expression": "{v} == 'a'", "nextNode": "Last"},
            {"expression": "{v} == 'b'", "nextNode": "Last"},
            {"expression": "{v} == 'c'", "nextNode": next}]);
        let node = match kind {
            "If" => serde_json::json!({"id": me, "type": "If",
                "properties": {"conditions": conds, "defaultNextNode": next}}),
            "Switch" => serde_json::json!({"id": me, "type": "Switch",
                "properties": {"cases": conds, "defaultNextNode": "Last"}}),
            "Menu" => serde_json::json!({"id": me, "type": "Menu",
                "properties": {"prompt": "press", "repeat": 10,
                    "choices": [{"digit": "1", "nextNode": "Last"}, {"digit": "2", "nextNode": next}]},
                "onError": {"nextNode": next}}),
            _ => serde_json::json!({"id": me, "type": "Gather",
                "properties": {"promptText": "press", "maxDigits": 1},
                "onComplete": {"nextNode": next}, "onError": {"nextNode": "Last"}}),
        };
        nodes.insert(me, node);
    }
    nodes.insert(
        format!("N{n}"),
        serde_json::json!({"id": format!("N{n}"), "type": "Say",
        "properties": {"sayText": "bye"}, "onComplete": {"nextNode": "Last"}}),
    );
    let last = if ty == "module" { "End" } else { "Disconnect" };
    nodes.insert(
        "Last".into(),
        serde_json::json!({"id": "Last", "type": last, "properties": {}}),
    );
    serde_json::json!({"name": "Deep", "type": ty, "draft": {"startNode": "S", "nodes": nodes}})
}

/// Every compiled file stays within the 128 YAML levels that `serde_yaml_ng`, the sandbox
/// and flowsmith's import read: an inbound flow moves deep branches to tasks, a module too
/// deep is refused as such (the property test once found a module of two-condition Ifs
/// compiled 191 levels deep).
#[test]
fn deep_branches_stay_within_128_yaml_levels() {
    for kind in ["If", "Switch", "Menu", "Gather"] {
        for (ty, ft) in [("inbound", FlowType::Inbound), ("module", FlowType::Module)] {
            let doc = chain(kind, ty);
            let report = crate::validate::validate(&doc, &crate::validate::NoModules);
            let errors = report.has_errors();
            let Some(flow) = report.flow.filter(|_| !errors) else {
                assert_eq!(ft, FlowType::Module, "{kind} {ty}: {:?}", report.findings);
                assert!(
                    report
                        .findings
                        .iter()
                        .any(|f| f.code == "module_not_structurable"),
                    "{kind}: {:?}",
                    report.findings
                );
                continue;
            };
            let out = compile_as(&flow, ft).unwrap();
            let parsed: Value =
                serde_yaml_ng::from_str(&out.yaml).unwrap_or_else(|e| panic!("{kind} {ty}: {e}"));
            let depth = yaml_depth(&parsed);
            assert!(depth <= 128, "{kind} {ty}: {depth} levels");
        }
    }
}

/// A kept branching action whose outputs meet before its fall-through: the outputs' code
/// stays in the outputs (the structurer once chose that meeting node as the merge and
/// wrote it after the fall-through, where it never ran).
#[test]
fn a_kept_actions_outputs_go_on_at_its_fall_through() {
    let say = |id: &str, next: &str| {
        serde_json::json!({"id": id, "type": "Say", "properties": {"sayText": id},
            "onComplete": {"nextNode": next}})
    };
    let doc = serde_json::json!({"name": "X", "type": "inbound", "draft": {"startNode": "S", "nodes": {
        "S": say("S", "D"),
        "D": {"id": "D", "type": "Archy", "properties": {
            "action": {"decision": {"name": "D", "condition": {"exp": "Call.Ani == \"1\""}}},
            "outputs": {"yes": "A", "no": "B"}}, "onComplete": {"nextNode": "C"}},
        "B": say("B", "A"),
        "A": say("A", "Bye"),
        "C": say("C", "Bye"),
        "Bye": {"id": "Bye", "type": "Disconnect", "properties": {}}}}});
    let out = compile_as(&validated(&doc), FlowType::Inbound).unwrap();
    let parsed: Value = serde_yaml_ng::from_str(&out.yaml).unwrap();
    let start = &parsed["inboundCall"]["tasks"][0]["task"]["actions"];
    let said = |v: &Value| -> Vec<String> {
        let mut names = Vec::new();
        walk(v, "name", &mut names);
        names
            .iter()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect()
    };
    let decision = &start[1]["decision"];
    // Both outputs reach A (inline or by a jump to its task) before C could run.
    for exit in ["yes", "no"] {
        let names = said(&decision["outputs"][exit]);
        assert!(
            names.iter().any(|n| n == "A" || n == "Jump to A"),
            "{exit}: {names:?}\n{}",
            out.yaml
        );
    }
    assert_eq!(
        start[2]["playAudio"]["name"].as_str(),
        Some("C"),
        "{}",
        out.yaml
    );
}
