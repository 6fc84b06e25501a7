// Test code: a panic is a failed assertion.
#![allow(clippy::unwrap_used)]

use serde_json::Value;

use super::*;

fn one(yaml: &str) -> Result<Imports, ImportError> {
    import(
        &[ArchyFile {
            name: "f.yaml".into(),
            yaml: yaml.into(),
        }],
        ImportLimits::default(),
    )
}

const FLOW: &str = r#"inboundCall:
  name: Line
  division: Home
  defaultLanguage: en-us
  startUpRef: "/inboundCall/tasks/task[Main_1]"
  initialGreeting:
    tts: Hello
  variables:
    - integerVariable:
        name: Flow.count
        initialValue:
          noValue: true
  tasks:
    - task:
        name: Main
        refId: Main_1
        variables:
          - queueVariable:
              name: Task.Queue
              initialValue:
                noValue: true
        actions:
          - playAudio:
              name: Play Audio
              audio:
                tts: Welcome
          - decision:
              name: Check
              condition:
                exp: Flow.count > 1 and Task.Queue.name == "x"
              outputs:
                "yes":
                  actions:
                    - playAudio:
                        name: Play Audio
                        audio:
                          tts: Many
          - jumpToTask:
              name: Go
              targetTaskRef: "/inboundCall/tasks/task[End_2]"
    - task:
        name: End
        refId: End_2
        actions:
          - disconnect:
              name: Bye
"#;

fn nodes(i: &Imports) -> &serde_json::Map<String, Value> {
    i.templates[0].document["draft"]["nodes"]
        .as_object()
        .unwrap()
}

#[test]
fn actions_become_nodes_with_ids_from_names_and_branches_merge_back() {
    let i = one(FLOW).unwrap();
    let t = &i.templates[0];
    assert_eq!(t.document["greeting"], "Hello");
    assert_eq!(t.document["draft"]["startNode"], "Play_Audio");
    let n = nodes(&i);
    assert_eq!(n["Play_Audio"]["type"], "Say");
    assert_eq!(n["Play_Audio"]["onComplete"]["nextNode"], "Check");
    // The branch's node is named after its action, made unique, and merges back to the
    // node after the decision: the jump, i.e. the End task's first node.
    assert_eq!(n["Check"]["type"], "Archy");
    assert_eq!(n["Check"]["properties"]["outputs"]["yes"], "Play_Audio_2");
    assert_eq!(n["Play_Audio_2"]["onComplete"]["nextNode"], "Bye");
    assert_eq!(n["Check"]["onComplete"]["nextNode"], "Bye");
    assert_eq!(n["Bye"]["type"], "Disconnect");
    // Task variables become flow variables, with their kinds.
    let cond = &n["Check"]["properties"]["action"]["decision"]["condition"]["exp"];
    assert_eq!(cond, "Flow.count > 1 and Flow.Queue.name == \"x\"");
    let vars = &n["Check"]["properties"]["variables"];
    assert_eq!(vars["Queue"], "queueVariable");
    assert_eq!(vars["count"], "integerVariable");
    assert_eq!(t.report.actions, 5);
    assert_eq!(t.report.native, 4);
    assert_eq!(t.report.kept, 1);
}

#[test]
fn the_same_file_gives_the_same_document() {
    assert_eq!(one(FLOW).unwrap(), one(FLOW).unwrap());
}

fn codes(r: Result<Imports, ImportError>) -> Vec<(String, String)> {
    r.unwrap_err()
        .findings
        .into_iter()
        .filter(|f| f.is_error())
        .map(|f| (f.code, f.pointer))
        .collect()
}

#[test]
fn bad_files_are_refused_with_a_place() {
    assert_eq!(codes(one("a: [")), [("not_yaml".into(), String::new())]);
    assert_eq!(codes(one("[1]")), [("not_a_flow".into(), String::new())]);
    assert_eq!(
        codes(one("workflow:\n  name: w\n")),
        [("flow_type_not_imported".into(), "/workflow".into())]
    );
    let missing = FLOW.replace("task[End_2]\"", "task[Gone]\"");
    assert_eq!(
        codes(one(&missing)),
        [(
            "unknown_task".into(),
            "/inboundCall/tasks/0/task/actions/2/targetTaskRef".into()
        )]
    );
    let bad_action = FLOW.replace("- disconnect:\n              name: Bye", "- 7");
    assert_eq!(
        codes(one(&bad_action))[0],
        (
            "invalid_action".into(),
            "/inboundCall/tasks/1/task/actions/0".into()
        )
    );
    assert_eq!(
        codes(one("inboundCall:\n  name: {{flow_name}}\n"))[0].0,
        "unfilled_placeholder"
    );
    let deep = format!(
        "commonModule: {}1{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert_eq!(codes(one(&deep))[0].0, "document_too_deep");
}

#[test]
fn a_called_module_must_be_given() {
    let caller = FLOW.replace(
        "          - jumpToTask:",
        "          - callCommonModule:\n              name: Call\n              commonModule:\n                Mod:\n                  ver_latestPublished:\n                    inputs: {}\n          - jumpToTask:",
    );
    assert_eq!(codes(one(&caller))[0].0, "module_not_given");
}

const MENU_FLOW: &str = r#"inboundCall:
  name: Ivr
  startUpRef: "/inboundCall/menus/menu[Main_10]"
  settingsMenu:
    repeatCount:
      lit: 3
    menuSelectionTimeout:
      lit:
        seconds: 10
  variables:
    - integerVariable:
        name: Flow.n
        initialValue:
          noValue: true
  menus:
    - menu:
        name: Main
        refId: Main_10
        audio:
          exp: AudioPlaybackOptions(ToAudioTTS("Press 1 or 9"), false)
        settingsMenu:
          repeatCount:
            noValue: true
        choices:
          - menuDisconnect:
              name: Bye
              dtmf: digit_9
          - menuJumpToTask:
              name: Go
              refId: Go_1
              dtmf: digit_1
              targetTaskRef: "/inboundCall/tasks/task[T_12]"
        defaultChildMenuRef: ./choices/menuJumpToTask[Go_1]
  tasks:
    - task:
        name: T
        refId: T_12
        actions:
          - updateData:
              name: Count
              statements:
                - integer:
                    variable: Flow.n
                    value:
                      lit: 2
          - decision:
              name: Many
              condition:
                exp: Flow.n > 1
              outputs:
                yes:
                  actions:
                    - jumpToMenu:
                        name: Again
                        targetMenuRef: "/inboundCall/menus/menu[Main_10]"
          - disconnect:
              name: End
"#;

#[test]
fn menus_become_menu_nodes_and_shared_actions_native_nodes() {
    let i = one(MENU_FLOW).unwrap();
    let t = &i.templates[0];
    assert_eq!(t.document["draft"]["startNode"], "Main");
    let n = nodes(&i);
    let main = &n["Main"];
    assert_eq!(main["type"], "Menu");
    assert_eq!(main["properties"]["prompt"], "Press 1 or 9");
    // The menu's repeats and timeout are the flow's: the menu's own are noValue.
    assert_eq!(main["properties"]["repeat"], 3);
    assert_eq!(main["properties"]["timeoutSeconds"], 10);
    let choices = &main["properties"]["choices"];
    assert_eq!(choices[0]["digit"], "9");
    assert_eq!(
        n[choices[0]["nextNode"].as_str().unwrap()]["type"],
        "Disconnect"
    );
    assert_eq!(choices[1]["digit"], "1");
    assert_eq!(choices[1]["nextNode"], "Count");
    assert_eq!(main["onError"]["nextNode"], "Count");
    assert_eq!(n["Count"]["type"], "Set");
    assert_eq!(n["Count"]["properties"]["setVars"][0]["key"], "n");
    assert_eq!(n["Many"]["type"], "If");
    let cond = &n["Many"]["properties"]["conditions"][0];
    assert_eq!(cond["expression"], "{n} > 1");
    assert_eq!(
        cond["nextNode"], "Main",
        "jumpToMenu is an edge to the menu"
    );
    assert_eq!(n["Many"]["properties"]["defaultNextNode"], "End");
    assert_eq!(t.report.kept, 0, "{:?}", t.report);
    // The barge-in option is reported, with its place.
    assert!(
        i.findings
            .iter()
            .any(|f| f.code == "menu_setting_not_carried"
                && f.pointer == "/inboundCall/menus/0/menu/audio"),
        "{:?}",
        i.findings
    );
    let r = crate::validate::validate(&t.document, &crate::validate::NoModules);
    assert!(!r.findings.iter().any(|f| f.is_error()), "{:?}", r.findings);
}

#[test]
fn a_jump_to_a_menu_that_does_not_exist_is_refused_at_the_jump() {
    let bad = MENU_FLOW.replace(
        "targetMenuRef: \"/inboundCall/menus/menu[Main_10]\"",
        "targetMenuRef: \"/inboundCall/menus/menu[Gone]\"",
    );
    assert_eq!(
        codes(one(&bad)),
        [(
            "unknown_menu".into(),
            "/inboundCall/tasks/0/task/actions/1/outputs/yes/actions/0/targetMenuRef".into()
        )]
    );
    let bad_default = MENU_FLOW.replace("menuJumpToTask[Go_1]", "menuJumpToTask[Nope]");
    assert_eq!(
        codes(one(&bad_default)),
        [(
            "unknown_menu_choice".into(),
            "/inboundCall/menus/0/menu/defaultChildMenuRef".into()
        )]
    );
}

#[test]
fn actions_the_template_cannot_say_exactly_stay_as_written() {
    // Transfer audio, a queue by expression, a condition with a function the template
    // language lacks.
    let kept = MENU_FLOW
        .replace(
            "                exp: Flow.n > 1",
            "                exp: DateTimeDiff(GetCurrentDateTimeUtc(), GetCurrentDateTimeUtc()) > Flow.n",
        )
        .replace(
            "          - disconnect:\n              name: End",
            "          - transferToAcd:\n              name: Xfer\n              targetQueue:\n                lit:\n                  name: Sales\n              preTransferAudio:\n                tts: Hold on\n          - disconnect:\n              name: End",
        );
    let i = one(&kept).unwrap();
    let n = nodes(&i);
    assert_eq!(n["Many"]["type"], "Archy");
    assert_eq!(n["Xfer"]["type"], "Archy");
    let exact = kept.replace(
        "              preTransferAudio:\n                tts: Hold on\n",
        "",
    );
    let i = one(&exact).unwrap();
    let n = nodes(&i);
    assert_eq!(n["Xfer"]["type"], "Route");
    assert_eq!(n["Xfer"]["properties"]["queueName"], "Sales");
    assert_eq!(n["Xfer"]["onError"]["nextNode"], "End");
}

/// The first action `kind` named `name` in `v` (an Archy document as JSON), its body.
fn find_action<'v>(v: &'v Value, kind: &str, name: &str) -> Option<&'v Value> {
    match v {
        Value::Object(m) => m
            .get(kind)
            .filter(|b| b.get("name").and_then(Value::as_str) == Some(name))
            .or_else(|| m.values().find_map(|x| find_action(x, kind, name))),
        Value::Array(a) => a.iter().find_map(|x| find_action(x, kind, name)),
        _ => None,
    }
}

/// A node import's round trip: imports `files` (the first is the one looked at), validates
/// and compiles its template (a called module by its template name), and gives the node
/// action `name` (of type `kind`) became, the original action's body and the compiled
/// action's body (named after the node), both without `name` and `outputs`.
pub(in crate::import) fn round_trip(
    files: &[&str],
    kind: &str,
    name: &str,
) -> (Value, Value, Value) {
    let archy: Vec<ArchyFile> = files
        .iter()
        .enumerate()
        .map(|(k, y)| ArchyFile {
            name: format!("f{k}.yaml"),
            yaml: (*y).to_owned(),
        })
        .collect();
    let imported = import(&archy, ImportLimits::default()).unwrap();
    let t = imported
        .templates
        .iter()
        .find(|t| t.report.file == "f0.yaml")
        .unwrap();
    let id = t
        .report
        .mapped
        .iter()
        .find(|m| m.action == kind)
        .and_then(|m| m.node.clone())
        .unwrap();
    let node = t.document["draft"]["nodes"][&id].clone();
    let r = crate::validate::validate(&t.document, &crate::validate::NoModules);
    assert!(!r.has_errors(), "{:?}", r.findings);
    let compiled = crate::compile::compile(
        &r.flow.unwrap(),
        &crate::compile::CompileContext {
            flow_name: &t.name,
            as_type: t.flow_type,
            modules: &std::collections::BTreeMap::new(),
            queue_names: &std::collections::BTreeMap::new(),
        },
    )
    .unwrap();
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v.as_object_mut() {
            m.remove("name");
            m.remove("outputs");
        }
        v
    };
    let original: Value = serde_yaml_ng::from_str(files[0]).unwrap();
    let back: Value = serde_yaml_ng::from_str(&compiled.yaml).unwrap();
    let before = strip(find_action(&original, kind, name).unwrap());
    let after = strip(
        find_action(&back, kind, &id)
            .unwrap_or_else(|| panic!("no {kind} {id} in\n{}", compiled.yaml)),
    );
    (node, before, after)
}

/// An inbound flow declaring `vars` (`(kind, Flow.x)`) whose one task runs `actions` (YAML
/// written from column 0) and then disconnects.
pub(in crate::import) fn inbound_with(vars: &[(&str, &str)], actions: &str) -> String {
    let mut y = String::from(
        "inboundCall:\n  name: Line\n  division: Home\n  defaultLanguage: en-us\n  startUpRef: \"/inboundCall/tasks/task[Main_1]\"\n  variables:\n",
    );
    for (kind, name) in vars {
        y.push_str(&format!(
            "    - {kind}:\n        name: {name}\n        initialValue:\n          noValue: true\n"
        ));
    }
    y.push_str(
        "  tasks:\n    - task:\n        name: Main\n        refId: Main_1\n        actions:\n",
    );
    for line in actions.lines().chain(["- disconnect:", "    name: Bye"]) {
        y.push_str("          ");
        y.push_str(line);
        y.push('\n');
    }
    y
}

/// The node type action `kind` (the first of its kind) became.
pub(in crate::import) fn node_type(yaml: &str, kind: &str) -> String {
    let i = one(yaml).unwrap();
    i.templates[0]
        .report
        .mapped
        .iter()
        .find(|m| m.action == kind)
        .map(|m| m.node_type.clone())
        .unwrap()
}

#[test]
fn a_branch_that_jumps_leads_to_the_task_in_every_kind_of_exit() {
    // A decision and a schedule state whose actions start with a jump: the If's condition
    // and the Schedule's state name the task's first node.
    let y = FLOW.replace(
        "                    - playAudio:\n                        name: Play Audio\n                        audio:\n                          tts: Many",
        "                    - jumpToTask:\n                        name: Skip\n                        targetTaskRef: \"/inboundCall/tasks/task[End_2]\"",
    )
    .replace("exp: Flow.count > 1 and Task.Queue.name == \"x\"", "exp: Flow.count > 1")
    .replace(
        "          - decision:\n              name: Check",
        "          - updateData:\n              name: Count\n              statements:\n                - integer:\n                    variable: Flow.count\n                    value:\n                      lit: 2\n          - decision:\n              name: Check",
    );
    let i = one(&y).unwrap();
    let n = nodes(&i);
    assert_eq!(n["Check"]["type"], "If", "{n:?}");
    assert_eq!(n["Check"]["properties"]["conditions"][0]["nextNode"], "Bye");
    let r = crate::validate::validate(&i.templates[0].document, &crate::validate::NoModules);
    assert!(!r.has_errors(), "{:?}", r.findings);
}

/// The original file and its import compiled again, run by the sandbox's Archy interpreter
/// on the same input: (original, recompiled).
fn both_runs(
    yaml: &str,
) -> (
    flowsmith_sandbox::archy::interpret::Call,
    flowsmith_sandbox::archy::interpret::Call,
) {
    use flowsmith_sandbox::archy::interpret;
    let i = one(yaml).unwrap();
    let t = &i.templates[0];
    let flow = crate::compile::fixtures::validated(&t.document);
    let back = crate::compile::fixtures::judged_yaml(&flow, t.flow_type);
    let modules: std::collections::BTreeMap<String, serde_yaml_ng::Value> =
        std::collections::BTreeMap::new();
    let run = |text: &str| {
        let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).unwrap();
        interpret::call(&doc, &modules, &[], 1_000)
    };
    (run(yaml), run(&back))
}

/// Task variables with initial values, as CacheExampleFlow.yaml declares them: a duration,
/// a queue, a boolean and a string, and one the import cannot carry.
const TASK_VARS: &str = r#"inboundCall:
  name: Cache
  defaultLanguage: en-us
  startUpRef: ./tasks/task[start_1]
  tasks:
    - task:
        name: Main
        refId: start_1
        variables:
          - durationVariable:
              name: Task.Life
              initialValue:
                lit:
                  minutes: 5
          - queueVariable:
              name: Task.Queue
              initialValue:
                lit:
                  name: Services
          - booleanVariable:
              name: Task.Idle
              initialValue:
                lit: true
          - stringVariable:
              name: Task.Result
              initialValue:
                lit: failure
          - stringVariable:
              name: Task.Odd
              initialValue:
                tts: not a value
        actions:
          - decision:
              name: Fresh
              condition:
                exp: Task.Idle and DateTimeDiff(GetCurrentDateTimeUtc(), GetCurrentDateTimeUtc()) < Task.Life
              outputs:
                "yes":
                  actions:
                    - playAudio:
                        name: Say result
                        audio:
                          exp: ToAudioTTS(Task.Result)
          - transferToAcd:
              name: Xfer
              targetQueue:
                exp: Task.Queue
"#;

#[test]
fn task_variables_keep_their_initial_values() {
    let i = one(TASK_VARS).unwrap();
    assert_eq!(
        i.templates[0].document["initialValues"],
        serde_json::json!({
            "Life": {"lit": {"minutes": 5}},
            "Queue": {"lit": {"name": "Services"}},
            "Idle": {"lit": true},
            "Result": {"lit": "failure"},
        })
    );
    // What cannot be carried is a finding at its place, never dropped silently.
    assert!(
        i.findings
            .iter()
            .any(|f| f.code == "initial_value_not_carried"
                && f.pointer
                    == "/inboundCall/tasks/0/task/variables/4/stringVariable/initialValue"),
        "{:?}",
        i.findings
    );
    let (a, b) = both_runs(TASK_VARS);
    assert_eq!(
        a.outcome.kind,
        crate::simulate::OutcomeKind::Routed,
        "{a:?}"
    );
    assert_eq!(a.outcome.queue.as_deref(), Some("Services"));
    let said = |c: &flowsmith_sandbox::archy::interpret::Call| -> Vec<Option<String>> {
        c.transcript.iter().map(|l| l.text.clone()).collect()
    };
    assert!(said(&a).contains(&Some("failure".into())), "{a:?}");
    assert_eq!(said(&a), said(&b), "{b:?}");
    assert_eq!(a.outcome.queue, b.outcome.queue);
    assert_eq!(a.outcome.kind, b.outcome.kind);
}

#[test]
fn a_task_that_can_start_again_warns_that_its_initial_values_are_set_once() {
    let again = TASK_VARS.replace(
        "          - transferToAcd:",
        "          - jumpToTask:\n              targetTaskRef: ./tasks/task[start_1]\n          - transferToAcd:",
    );
    let i = one(&again).unwrap();
    assert!(
        i.findings.iter().any(|f| f.code == "initial_value_once"
            && f.pointer == "/inboundCall/tasks/0/task/variables/0/durationVariable/initialValue"),
        "{:?}",
        i.findings
    );
    assert!(
        !one(TASK_VARS)
            .unwrap()
            .findings
            .iter()
            .any(|f| f.code == "initial_value_once")
    );
}

/// A kept `switch` (its condition reads `Call.CalledAddressOriginal`, which the template
/// language lacks) whose case jumps to another task, as CI_CD_Test_Flow-INBOUNDCALL.yaml
/// does.
const NESTED_JUMP: &str = r#"inboundCall:
  name: Numbers
  defaultLanguage: en-us
  startUpRef: "/inboundCall/tasks/task[Main_1]"
  tasks:
    - task:
        name: Main
        refId: Main_1
        actions:
          - switch:
              name: By number
              evaluate:
                firstTrue:
                  default:
                    actions:
                      - playAudio:
                          name: Default
                          audio:
                            tts: Default
                  cases:
                    - case:
                        value:
                          exp: Call.CalledAddressOriginal == "+13175550199"
                        actions:
                          - playAudio:
                              name: Going
                              audio:
                                tts: Going
                          - jumpToTask:
                              name: Jump
                              targetTaskRef: "/inboundCall/tasks/task[Other_2]"
                          - playAudio:
                              name: Never
                              audio:
                                tts: Never
          - disconnect:
              name: Bye
    - task:
        name: Other
        refId: Other_2
        actions:
          - playAudio:
              name: Other hello
              audio:
                tts: Other
          - disconnect:
              name: Bye other
"#;

#[test]
fn a_jump_inside_a_kept_action_reaches_the_task_as_compiled() {
    let i = one(NESTED_JUMP).unwrap();
    let n = nodes(&i);
    assert_eq!(n["By_number"]["type"], "Archy");
    // The jump is an exit named by its place in the action; the task is imported.
    assert_eq!(
        n["By_number"]["properties"]["outputs"]["/evaluate/firstTrue/cases/0/case/actions/1"],
        "Other_hello"
    );
    let (a, b) = both_runs(NESTED_JUMP);
    let said = |c: &flowsmith_sandbox::archy::interpret::Call| -> Vec<Option<String>> {
        c.transcript.iter().map(|l| l.text.clone()).collect()
    };
    assert_eq!(
        said(&a),
        [Some("Going".to_owned()), Some("Other".to_owned())],
        "{a:?}"
    );
    assert_eq!(said(&a), said(&b), "{b:?}");
    assert_eq!(a.outcome.kind, b.outcome.kind);
    // The same when the other task is also reached from elsewhere (a task of its own).
    let shared = NESTED_JUMP.replace(
        "          - disconnect:\n              name: Bye\n",
        "          - jumpToTask:\n              targetTaskRef: \"/inboundCall/tasks/task[Other_2]\"\n",
    );
    let (a, b) = both_runs(&shared);
    assert_eq!(said(&a), said(&b), "{b:?}");
    assert_eq!(a.outcome.kind, b.outcome.kind);
}

#[test]
fn a_jump_nested_deeper_in_a_kept_action_is_refused_at_its_place() {
    let deeper = NESTED_JUMP.replace(
        "                          - jumpToTask:\n                              name: Jump\n                              targetTaskRef: \"/inboundCall/tasks/task[Other_2]\"\n",
        "                          - decision:\n                              name: Inner\n                              condition:\n                                exp: true\n                              outputs:\n                                \"yes\":\n                                  actions:\n                                    - jumpToTask:\n                                        targetTaskRef: \"/inboundCall/tasks/task[Other_2]\"\n",
    );
    assert_ne!(deeper, NESTED_JUMP);
    assert_eq!(
        codes(one(&deeper)),
        [(
            "nested_jump_not_carried".into(),
            "/inboundCall/tasks/0/task/actions/0/evaluate/firstTrue/cases/0/case/actions/1/outputs/yes/actions/0".into()
        )]
    );
}

#[test]
fn initial_values_are_checked_against_their_variables() {
    let i = one(TASK_VARS).unwrap();
    let mut doc = i.templates[0].document.clone();
    let check = |doc: &Value| {
        crate::validate::validate(doc, &crate::validate::NoModules)
            .findings
            .into_iter()
            .map(|f| (f.is_error(), f.code, f.pointer))
            .map(|(e, c, p)| (c, p, e))
            .collect::<Vec<_>>()
    };
    assert!(!check(&doc).iter().any(|f| f.2), "{:?}", check(&doc));
    doc["initialValues"]["Idle"] = serde_json::json!({"lit": "maybe"});
    doc["initialValues"]["Nobody"] = serde_json::json!({"lit": 1});
    doc["initialValues"]["Result"] = serde_json::json!({"tts": "x"});
    let found = check(&doc);
    for want in [
        ("invalid_value", "/initialValues/Idle", true),
        ("invalid_value", "/initialValues/Result", true),
        ("unused_initial_value", "/initialValues/Nobody", false),
    ] {
        assert!(
            found
                .iter()
                .any(|f| (f.0.as_str(), f.1.as_str(), f.2) == want),
            "{want:?} in {found:?}"
        );
    }
}
