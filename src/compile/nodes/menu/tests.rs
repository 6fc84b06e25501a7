//! Inbound menus: compiled to corpus-shaped `menus` entries, accepted by the sandbox judge,
//! and run by the Archy interpreter as the simulator runs the template.

use std::collections::BTreeMap;

use serde_json::json;

use crate::compile::fixtures::{inbound_doc, judged_yaml, validated};
use crate::simulate::{OutcomeKind, SimInput, SimOrg, simulate_with_org};
use crate::template::model::Flow;
use crate::validate::{NoModules, validate};
use flowsmith_sandbox::archy::interpret;

fn yaml_of(f: &Flow) -> String {
    judged_yaml(f, f.flow_type)
}

/// A main menu (transfer, task, sub-menu, hang-up; no input → the support task) and a
/// language menu that goes back to the main menu.
fn ivr() -> serde_json::Value {
    inbound_doc(
        "Menu_Line",
        "Main",
        json!({
            "Main": {"id": "Main", "type": "Menu",
                "properties": {"prompt": "Sales 1, support 2, language 3, goodbye 9",
                    "choices": [{"digit": "1", "nextNode": "Sales"},
                                {"digit": "2", "nextNode": "Support", "label": "Support"},
                                {"digit": "3", "nextNode": "Lang"},
                                {"digit": "9", "nextNode": "Bye"}],
                    "repeat": 2, "timeoutSeconds": 4},
                "onError": {"nextNode": "Support"}},
            "Sales": {"id": "Sales", "type": "Route", "properties": {"queueName": "Sales", "priority": 2}},
            "Support": {"id": "Support", "type": "Say", "properties": {"sayText": "Connecting you to support"},
                "onComplete": {"nextNode": "SupportQ"}},
            "SupportQ": {"id": "SupportQ", "type": "Route", "properties": {"queueName": "Support"},
                "onError": {"nextNode": "Bye"}},
            "Lang": {"id": "Lang", "type": "Menu",
                "properties": {"prompt": "English 1", "choices": [{"digit": "1", "nextNode": "SetEn"}]}},
            "SetEn": {"id": "SetEn", "type": "SetParticipantData",
                "properties": {"attributes": {"language": "en-us"}},
                "onComplete": {"nextNode": "Main"}},
            "Bye": {"id": "Bye", "type": "Disconnect"}
        }),
    )
}

#[test]
fn inbound_menus_compile_to_corpus_shaped_menu_entries() {
    let yaml = yaml_of(&validated(&ivr()));
    for want in [
        r#"startUpRef: "/inboundCall/menus/menu[Main]""#,
        "- menuTransferToAcd:\n              name: Sales\n              dtmf: digit_1",
        "- menuJumpToTask:\n              name: Support\n              refId: Main_choice_2\n              dtmf: digit_2",
        r#"targetTaskRef: "/inboundCall/tasks/task[Support]""#,
        "- menuTask:\n              name: Main 3\n              dtmf: digit_3",
        r#"targetMenuRef: "/inboundCall/menus/menu[Lang]""#,
        "- menuDisconnect:\n              name: Bye\n              dtmf: digit_9",
        r#"defaultChildMenuRef: "./choices/menuJumpToTask[Main_choice_2]""#,
        "listenForExtensionDialing:\n            lit: false",
        "menuSelectionTimeout:\n            lit:\n              seconds: 4",
        "repeatCount:\n            lit: 2",
    ] {
        assert!(yaml.contains(want), "{want:?} missing in\n{yaml}");
    }
    // Menus store no digits; the language menu's choice runs a task that goes back to the
    // main menu with jumpToMenu.
    assert!(!yaml.contains("Main_digits"), "{yaml}");
    assert!(!yaml.contains("collectInput"), "{yaml}");
    assert!(
        yaml.contains("- jumpToMenu:\n              name: Jump to Main\n              targetMenuRef: \"/inboundCall/menus/menu[Main]\""),
        "{yaml}"
    );
    let menus = yaml.find("  menus:").unwrap();
    assert!(
        menus < yaml.find("  tasks:").unwrap(),
        "menus come before tasks"
    );
}

#[test]
fn a_flow_of_menus_alone_has_no_tasks() {
    let doc = inbound_doc(
        "Only_Menu",
        "M",
        json!({
            "M": {"id": "M", "type": "Menu", "properties": {"prompt": "Press 9",
                "choices": [{"digit": "9", "nextNode": "Bye"}]}},
            "Bye": {"id": "Bye", "type": "Disconnect"}
        }),
    );
    let yaml = yaml_of(&validated(&doc));
    assert!(!yaml.contains("tasks:"), "{yaml}");
    assert!(yaml.contains("- menuDisconnect:"), "{yaml}");
}

#[test]
fn menus_the_shapes_cannot_express_stay_collect_input_and_switch() {
    let base = |props: serde_json::Value, on_error: Option<&str>| {
        let mut m = json!({"id": "M", "type": "Menu", "properties": props});
        if let Some(e) = on_error {
            m["onError"] = json!({"nextNode": e});
        }
        inbound_doc(
            "Fallback",
            "M",
            json!({
                "M": m,
                "A": {"id": "A", "type": "Say", "properties": {"sayText": "You pressed {M.digits}"},
                    "onComplete": {"nextNode": "Bye"}},
                "Sorry": {"id": "Sorry", "type": "Say", "properties": {"sayText": "Sorry"},
                    "onComplete": {"nextNode": "Bye"}},
                "Bye": {"id": "Bye", "type": "Disconnect"}
            }),
        )
    };
    // `*` has no evidenced dtmf name; the onError is no choice's node; the digits are read.
    for doc in [
        base(
            json!({"prompt": "p", "choices": [{"digit": "*", "nextNode": "Bye"}]}),
            None,
        ),
        base(
            json!({"prompt": "p", "choices": [{"digit": "1", "nextNode": "Bye"}]}),
            Some("Sorry"),
        ),
        base(
            json!({"prompt": "p", "choices": [{"digit": "1", "nextNode": "A"}]}),
            None,
        ),
    ] {
        let yaml = yaml_of(&validated(&doc));
        assert!(!yaml.contains("menus:"), "{yaml}");
        assert!(yaml.contains("- collectInput:"), "{yaml}");
    }
}

/// The transcript, outcome and participant data of the simulator and of the interpreter
/// running the compiled file, for the same inputs.
fn both(f: &Flow, inputs: &[&str]) -> (crate::simulate::Simulation, interpret::Call) {
    let inputs: Vec<SimInput> = inputs.iter().map(|s| SimInput::parse(s).unwrap()).collect();
    let sim = simulate_with_org(f, &BTreeMap::new(), &inputs, 1_000, &SimOrg::default());
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&judged_yaml(f, f.flow_type)).unwrap();
    let run = interpret::call(&doc, &BTreeMap::new(), &inputs, 1_000);
    (sim, run)
}

#[test]
fn the_interpreter_runs_menus_as_the_simulator_runs_the_template() {
    let f = validated(&ivr());
    let cases: &[(&[&str], OutcomeKind, &str, Option<&str>)] = &[
        (&["1"], OutcomeKind::Routed, "Sales", Some("Sales")),
        (&["9"], OutcomeKind::Disconnected, "Bye", None),
        // Wrong digit, then no input: the repeats are used up, the default choice runs.
        (
            &["7", "timeout"],
            OutcomeKind::Routed,
            "SupportQ",
            Some("Support"),
        ),
        (
            &["12", "2"],
            OutcomeKind::Routed,
            "SupportQ",
            Some("Support"),
        ),
        // Into the language menu, back to the main menu, hang up.
        (&["3", "1", "9"], OutcomeKind::Disconnected, "Bye", None),
        // The language menu has no default choice: after its repeats (Genesys default 2
        // here, the template's) the call ends at the menu.
        (
            &["3", "5", "timeout"],
            OutcomeKind::Disconnected,
            "Lang",
            None,
        ),
    ];
    for (inputs, kind, node, queue) in cases {
        let (sim, run) = both(&f, inputs);
        assert_eq!(sim.outcome.kind, *kind, "{inputs:?}: {sim:?}");
        assert_eq!(sim.outcome.node, *node, "{inputs:?}: {sim:?}");
        assert_eq!(sim.outcome.queue.as_deref(), *queue, "{inputs:?}");
        assert_eq!(run.outcome.kind, sim.outcome.kind, "{inputs:?}: {run:?}");
        assert_eq!(run.outcome.node, sim.outcome.node, "{inputs:?}: {run:?}");
        assert_eq!(run.outcome.queue, sim.outcome.queue, "{inputs:?}");
        assert_eq!(run.transcript, sim.transcript, "{inputs:?}");
        assert_eq!(run.participant_data, sim.participant_data, "{inputs:?}");
        assert!(
            !sim.variables.contains_key("Main_digits"),
            "{:?}",
            sim.variables
        );
    }
    let (sim, _) = both(&f, &["3", "1", "9"]);
    assert_eq!(sim.participant_data["language"], "en-us");
    let menus: Vec<&str> = sim.transcript.iter().map(|l| l.node.as_str()).collect();
    assert_eq!(menus, ["Main", "Lang", "Main"], "{:?}", sim.transcript);
}

#[test]
fn prompts_with_a_variable_are_refused_where_collect_input_would_speak_them() {
    let doc = |ty: &str, node: serde_json::Value| {
        json!({
            "name": "Prompts", "type": ty,
            "draft": {"startNode": "S", "nodes": {
                "S": {"id": "S", "type": "Set", "properties": {"setVars": [
                    {"key": "name", "value": {"type": "string", "value": "Ann"}}]},
                    "onComplete": {"nextNode": "N"}},
                "N": node,
                "Bye": {"id": "Bye", "type": if ty == "module" { "End" } else { "Disconnect" }}
            }}
        })
    };
    let gather = json!({"id": "N", "type": "Gather",
        "properties": {"promptText": "Hello {name}, your PIN please"},
        "onComplete": {"nextNode": "Bye"}});
    let menu = json!({"id": "N", "type": "Menu",
        "properties": {"prompt": "Hello {name}, press 1",
            "choices": [{"digit": "1", "nextNode": "Bye"}]}});
    for (d, field) in [
        (doc("inbound", gather.clone()), "promptText"),
        (doc("module", gather), "promptText"),
        (doc("module", menu.clone()), "prompt"),
    ] {
        let r = validate(&d, &NoModules);
        let f = r
            .findings
            .iter()
            .find(|f| f.code == "prompt_variable")
            .unwrap_or_else(|| panic!("{:?}", r.findings));
        assert_eq!(f.pointer, format!("/draft/nodes/N/properties/{field}"));
        assert!(f.message.contains("{name}"), "{}", f.message);
    }
    // An inbound menus entry takes an expression as its audio [corpus: menu.audio.exp].
    let yaml = yaml_of(&validated(&doc("inbound", menu)));
    assert!(
        yaml.contains(r#"exp: 'ToAudioTTS(Append("Hello ", Flow.name, ", press 1"))'"#),
        "{yaml}"
    );
}

#[test]
fn a_menu_with_an_architect_prompt_names_it_as_audio() {
    let doc = inbound_doc(
        "Prompt_Menu",
        "M",
        json!({
            "M": {"id": "M", "type": "Menu", "properties": {"promptName": "main_menu",
                "choices": [{"digit": "0", "nextNode": "Bye"}, {"digit": "1", "nextNode": "M"}]}},
            "Bye": {"id": "Bye", "type": "Disconnect"}
        }),
    );
    let f = validated(&doc);
    let yaml = yaml_of(&f);
    assert!(
        yaml.contains("audio:\n          prompt: Prompt.main_menu"),
        "{yaml}"
    );
    assert!(yaml.contains("dtmf: digit_0"), "{yaml}");
    // Choosing the menu itself plays it again, through a menuTask that jumps to it.
    assert!(
        yaml.contains(r#"targetMenuRef: "/inboundCall/menus/menu[M]""#),
        "{yaml}"
    );
    let a = flowsmith_sandbox::archy::analyze(&yaml).unwrap();
    assert!(
        a.objects
            .iter()
            .any(|o| o.object == flowsmith_sandbox::archy::OrgObject::Prompt("main_menu".into())),
        "{:?}",
        a.objects
    );
    let (sim, run) = both(&f, &["1", "0"]);
    assert_eq!(run.transcript, sim.transcript);
    assert_eq!(
        sim.transcript[0].text.as_deref(),
        Some("[prompt main_menu]")
    );
    assert_eq!(run.outcome.node, "Bye");
}
