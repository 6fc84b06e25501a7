use super::expr::{Val, Vars, eval, parse};
use super::*;
use flowsmith_calls::OutcomeKind;

fn doc(y: &str) -> Value {
    serde_yaml_ng::from_str(y).unwrap()
}

fn digits(d: &[&str]) -> Vec<SimInput> {
    d.iter().map(|s| SimInput::parse(s).unwrap()).collect()
}

const MODULE: &str = r#"
commonModule:
  name: Pin
  variables:
    - stringVariable: {name: Common.pin, initialValue: {noValue: true}, isInput: false, isOutput: true}
    - stringVariable: {name: Common.greeting, initialValue: {noValue: true}, isInput: true, isOutput: false}
    - integerVariable: {name: Common.i, initialValue: {noValue: true}}
  startUpTaskActions:
    - playAudio: {name: Hello, audio: {exp: 'ToAudioTTS(Append("Hi ", Common.greeting))'}}
    - loop:
        name: Tries
        currentIndex: {var: Common.i}
        loopCount: {lit: 3}
        outputs:
          loop:
            actions:
              - collectInput:
                  name: Ask
                  inputData: {var: Common.pin}
                  digits: {exact: 4}
                  inputAudio: {tts: PIN please}
                  outputs:
                    success:
                      actions:
                        - loopExit: {name: Got it}
              - playAudio: {name: Again, audio: {tts: Try again}}
"#;

const CALLER: &str = r#"
inboundCall:
  name: Main
  startUpRef: "/inboundCall/tasks/task[Start]"
  variables:
    - stringVariable: {name: Flow.pin, initialValue: {noValue: true}}
  tasks:
    - task:
        name: Start
        refId: Start
        actions:
          - callCommonModule:
              name: Get PIN
              commonModule:
                Pin:
                  ver_latestPublished:
                    inputs: {Common.greeting: {exp: '"caller"'}}
                    outputs: {Common.pin: {var: Flow.pin}}
          - decision:
              name: Has PIN?
              condition: {exp: IsSet(Flow.pin)}
              outputs:
                "yes":
                  actions:
                    - transferToAcd: {name: Xfer, targetQueue: {lit: {name: General}}}
          - jumpToTask: {name: To bye, targetTaskRef: "/inboundCall/tasks/task[Bye]"}
    - task:
        name: Bye
        refId: Bye
        actions:
          - playAudio: {name: Bye, audio: {tts: Goodbye}}
          - disconnect: {name: End}
"#;

fn modules() -> BTreeMap<String, Value> {
    [("Pin".to_owned(), doc(MODULE))].into_iter().collect()
}

/// A corpus-shaped menu (SimpleFinancialIvr_v2-0.yaml): the flow-level `repeatCount`
/// applies when the menu's own is `noValue`.
const MENU: &str = r#"
inboundCall:
  name: Menus
  startUpRef: "/inboundCall/menus/menu[Main]"
  settingsMenu: {repeatCount: {lit: 3}}
  menus:
    - menu:
        name: Main
        refId: Main
        audio: {tts: Press 1 or 2}
        settingsMenu: {repeatCount: {noValue: true}}
        choices:
          - menuTransferToAcd: {name: Sales, dtmf: digit_1, targetQueue: {lit: {name: Sales}}}
          - menuJumpToTask: {name: Help, refId: Help_1, dtmf: digit_2, targetTaskRef: "/inboundCall/tasks/task[Help]"}
        defaultChildMenuRef: "./choices/menuJumpToTask[Help_1]"
  tasks:
    - task:
        name: Help
        refId: Help
        actions:
          - playAudio: {name: HelpSay, audio: {tts: Help}}
          - disconnect: {name: Bye}
"#;

#[test]
fn menus_take_a_digit_repeat_and_fall_back_to_the_default_choice() {
    let d = doc(MENU);
    let no_modules = BTreeMap::new();
    let run = |i: &[&str]| call(&d, &no_modules, &digits(i), 100);
    let c = run(&["1"]);
    assert_eq!(c.outcome.kind, OutcomeKind::Routed);
    assert_eq!(c.outcome.queue.as_deref(), Some("Sales"));
    // Entering the menu and the choice are actions.
    assert_eq!(c.actions, 2);
    let c = run(&["7", "12", "1"]);
    assert_eq!(c.outcome.kind, OutcomeKind::Routed, "{c:?}");
    assert_eq!(c.transcript.len(), 3);
    assert!(c.transcript.iter().all(|l| l.node_type == "Menu"));
    // Three plays without a choice: the default choice jumps to the task.
    let c = run(&["timeout", "9", "timeout", "1"]);
    assert_eq!(c.outcome.kind, OutcomeKind::Disconnected, "{c:?}");
    assert_eq!(c.outcome.node, "Bye");
    assert_eq!(c.transcript.len(), 4);
    assert_eq!(c.transcript[3].text.as_deref(), Some("Help"));
    // Without a default choice the call ends at the menu.
    let d = doc(&MENU.replace(
        "        defaultChildMenuRef: \"./choices/menuJumpToTask[Help_1]\"\n",
        "",
    ));
    let c = call(&d, &no_modules, &digits(&[]), 100);
    assert_eq!(c.outcome.kind, OutcomeKind::Disconnected);
    assert_eq!(c.outcome.node, "Main");
    assert_eq!(c.transcript.len(), 3);
    // Action limit: entering the menu counts.
    let c = call(&doc(MENU), &no_modules, &digits(&["1"]), 1);
    assert_eq!(c.outcome.kind, OutcomeKind::StepLimit);
}

#[test]
fn a_loop_in_a_module_retries_and_outputs_merge_back() {
    let c = call(
        &doc(CALLER),
        &modules(),
        &digits(&["12", "1234"]),
        MAX_ACTIONS,
    );
    assert_eq!(c.outcome.kind, OutcomeKind::Routed, "{c:#?}");
    assert_eq!(c.outcome.queue.as_deref(), Some("General"));
    assert_eq!(c.variables["pin"], "1234");
    let lines: Vec<(&str, &str, Option<&str>)> = c
        .transcript
        .iter()
        .map(|l| (l.flow.as_str(), l.node.as_str(), l.text.as_deref()))
        .collect();
    assert_eq!(
        lines,
        vec![
            ("Pin", "Hello", Some("Hi caller")),
            ("Pin", "Ask", Some("PIN please")),
            ("Pin", "Again", Some("Try again")),
            ("Pin", "Ask", Some("PIN please")),
        ]
    );
}

#[test]
fn loop_count_runs_out_and_the_list_goes_on() {
    let c = call(&doc(CALLER), &modules(), &[], MAX_ACTIONS);
    assert_eq!(c.outcome.kind, OutcomeKind::Disconnected);
    assert_eq!(c.outcome.node, "End");
    assert!(!c.variables.contains_key("pin"));
    assert_eq!(c.transcript.iter().filter(|l| l.node == "Ask").count(), 3);
    assert_eq!(
        c.transcript.last().unwrap().text.as_deref(),
        Some("Goodbye")
    );
}

#[test]
fn an_unpublished_module_enters_error_handling() {
    let c = call(&doc(CALLER), &BTreeMap::new(), &[], MAX_ACTIONS);
    assert_eq!(c.outcome.kind, OutcomeKind::Error);
    assert_eq!(c.outcome.node, "Get PIN");
}

#[test]
fn the_action_limit_ends_a_runaway_call() {
    let y = r#"
inboundCall:
  name: Spin
  startUpRef: "/inboundCall/tasks/task[A]"
  tasks:
    - task:
        name: A
        refId: A
        actions:
          - jumpToTask: {name: Again, targetTaskRef: "/inboundCall/tasks/task[A]"}
"#;
    let c = call(&doc(y), &BTreeMap::new(), &[], MAX_ACTIONS);
    assert_eq!(c.outcome.kind, OutcomeKind::StepLimit);
    assert_eq!(c.actions, MAX_ACTIONS);
}

#[test]
fn expressions_follow_not_set_semantics() {
    let mut vars = Vars::new();
    vars.insert("Flow.n".into(), Some(Val::I(2)));
    vars.insert("Flow.u".into(), None);
    let ev = |s: &str| eval(&parse(s).unwrap(), &vars);
    assert_eq!(ev("Flow.n - (1 - 2) > 2").unwrap(), Some(Val::B(true)));
    assert_eq!(ev("Flow.u == \"1\"").unwrap(), Some(Val::B(false)));
    assert_eq!(
        ev("not IsSet(Flow.u) and true").unwrap(),
        Some(Val::B(true))
    );
    assert_eq!(
        ev("(true or false) and not (Flow.n == 1)").unwrap(),
        Some(Val::B(true))
    );
    assert_eq!(
        ev(r#"Append("a\"", ToString(Flow.n), Flow.u)"#).unwrap(),
        Some(Val::S("a\"2".into()))
    );
    assert!(ev("Flow.u + 1").is_err());
    assert!(ev("ToInt(\"x\")").is_err());
    assert_eq!(ev("-(-Flow.n)").unwrap(), Some(Val::I(2)));
    assert!(parse(&"(".repeat(500)).is_err());
}

/// Corpus audio: `AudioPlaybackOptions(audio, bargeIn)` says its audio, `ToAudioBlank(n)`
/// nothing, and a greeting of silence only plays no line [corpus: DR-Emergency-IVR.yaml's
/// menu, call-park-agent-inbound-flow.yaml's menu, ForceDisconnect_v7-0.yaml's greeting].
#[test]
fn playback_options_say_their_audio_and_blanks_say_nothing() {
    let flow = doc(r#"
inboundCall:
  name: Audio
  startUpRef: "/inboundCall/menus/menu[M]"
  initialGreeting:
    exp: AudioPlaybackOptions(ToAudioBlank(3000), true)
  menus:
    - menu:
        name: M
        refId: M
        audio:
          exp: AudioPlaybackOptions(Append(ToAudioBlank(500), ToAudioTTS("Press 9")), true)
        choices:
          - menuDisconnect: {name: Bye, dtmf: digit_9}
"#);
    let c = call(&flow, &BTreeMap::new(), &digits(&["9"]), MAX_ACTIONS);
    assert_eq!(c.outcome.kind, OutcomeKind::Disconnected, "{c:?}");
    let said: Vec<_> = c.transcript.iter().map(|l| l.text.as_deref()).collect();
    assert_eq!(said, [Some("Press 9")], "{c:?}");
}
