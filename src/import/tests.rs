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
