use super::expr::{Env, Val, Vars, eval, parse};
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
    let info = CallInfo::default();
    let env = Env {
        vars: &vars,
        call: &info,
    };
    let ev = |s: &str| eval(&parse(s).unwrap(), &env);
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

/// An org of a simulation's objects whose queues are only `known`, and whose call carries
/// `info`.
struct TestOrg {
    sim: SimOrg,
    known: Vec<&'static str>,
    info: CallInfo,
}

impl OrgObjects for TestOrg {
    fn data_action(
        &self,
        integration: &str,
        action: &str,
        inputs: &BTreeMap<String, Option<String>>,
        nth: usize,
    ) -> Option<DataActionAnswer> {
        self.sim.data_action(integration, action, inputs, nth)
    }
    fn table_row(
        &self,
        table: &str,
        key: &str,
    ) -> Option<Option<BTreeMap<String, serde_json::Value>>> {
        self.sim.table_row(table, key)
    }
    fn schedule_group(&self, group: &str) -> Option<ScheduleState> {
        self.sim.schedule_group(group)
    }
    fn has_prompt(&self, _name: &str) -> bool {
        true
    }
    fn participant_data(&self) -> BTreeMap<String, String> {
        self.sim.participant_data.clone()
    }
    fn queue(&self, name: &str) -> Option<String> {
        self.known.contains(&name).then(|| format!("id-{name}"))
    }
    fn call_info(&self) -> CallInfo {
        self.info.clone()
    }
}

fn test_org(known: Vec<&'static str>) -> TestOrg {
    TestOrg {
        sim: SimOrg::default(),
        known,
        info: CallInfo::default(),
    }
}

fn ev_with(s: &str, vars: &Vars) -> Result<Option<Val>, String> {
    let info = CallInfo::default();
    eval(&parse(s).unwrap(), &Env { vars, call: &info })
}

/// `Call.` built-ins read the call's fixed values, without regard to case [corpus:
/// `Call.Ani`, `Call.ani`, `Call.CalledAddressOriginal`, `Call.RemoteName`], and the
/// string functions the corpus applies to them.
#[test]
fn call_builtins_read_the_simulated_call() {
    let vars = Vars::new();
    let ev = |s: &str| ev_with(s, &vars).unwrap();
    assert_eq!(ev("Call.Ani"), Some(Val::S("tel:+13175550100".into())));
    assert_eq!(
        ev("right(Call.ani, 12)"),
        Some(Val::S("+13175550100".into()))
    );
    assert_eq!(ev("Left(Call.Ani, 4)"), Some(Val::S("tel:".into())));
    assert_eq!(
        ev(r#"Replace(Call.Ani, "tel:", "") + "/" + Call.RemoteName"#),
        Some(Val::S("+13175550100/Sandbox Caller".into()))
    );
    assert_eq!(
        ev(r#"Call.CalledAddressOriginal == "+13175550199""#),
        Some(Val::B(true))
    );
    assert_eq!(
        ev("ToPhoneNumber(Call.Ani)"),
        Some(Val::S("tel:+13175550100".into()))
    );
    assert!(ev_with("Call.Nonsense", &vars).is_err());
    // The org sets what the call carries.
    let flow = doc(r#"
inboundCall:
  name: Dnis
  startUpRef: "/inboundCall/tasks/task[T]"
  tasks:
    - task:
        name: T
        refId: T
        actions:
          - decision:
              name: Sales line?
              condition: {exp: 'Call.CalledAddressOriginal == "+18005550000"'}
              outputs:
                "yes":
                  actions:
                    - transferToAcd: {name: Sales, targetQueue: {lit: {name: Sales}}}
          - disconnect: {name: Bye}
"#);
    let mut org = test_org(vec![]);
    let c = call_with_org(&flow, &BTreeMap::new(), &[], MAX_ACTIONS, &org);
    assert_eq!(c.outcome.kind, OutcomeKind::Disconnected);
    org.info.called_address = "+18005550000".into();
    let c = call_with_org(&flow, &BTreeMap::new(), &[], MAX_ACTIONS, &org);
    assert_eq!(c.outcome.kind, OutcomeKind::Routed);
}

/// Date-times are the call's fixed `now` moved by `Add…`, printed as ISO 8601; a
/// difference of two is a duration that compares with a duration variable [corpus:
/// CI_CD_Test_Flow's `AddHours(GetCurrentDateTimeUtc(),-48)`, CacheExampleFlow's
/// `DateTimeDiff(…) >= Task.CacheDuration`].
#[test]
fn date_functions_move_the_calls_fixed_time() {
    let mut vars = Vars::new();
    vars.insert("Task.Life".into(), Some(Val::Dur(5 * 60_000)));
    vars.insert(
        "Task.Updated".into(),
        Some(Val::S("2024-01-01T11:50:00Z".into())),
    );
    let ev = |s: &str| ev_with(s, &vars).unwrap();
    assert_eq!(
        ev("ToString(GetCurrentDateTimeUtc())"),
        Some(Val::S("2024-01-01T12:00:00.000Z".into()))
    );
    assert_eq!(
        ev("ToString(AddHours(GetCurrentDateTimeUtc(),-48))"),
        Some(Val::S("2023-12-30T12:00:00.000Z".into()))
    );
    assert_eq!(
        ev("ToString(AddDays(GetCurrentDateTimeUtc(), -7))"),
        Some(Val::S("2023-12-25T12:00:00.000Z".into()))
    );
    assert_eq!(
        ev("AddMinutes(GetCurrentDateTimeUtc(), 1) > GetCurrentDateTimeUtc()"),
        Some(Val::B(true))
    );
    assert_eq!(
        ev("DateTimeDiff(GetCurrentDateTimeUtc(), ToDateTime(Task.Updated)) >= Task.Life"),
        Some(Val::B(true))
    );
    assert_eq!(
        ev("ToString(DateTimeDiff(GetCurrentDateTimeUtc(), ToDateTime(Task.Updated)))"),
        Some(Val::S("PT600S".into()))
    );
    assert!(ev_with(r#"ToDateTime("1")"#, &vars).is_err());
    assert!(ev_with("AddHours(GetCurrentDateTimeUtc())", &vars).is_err());
}

/// Collections: `FindFirst` gives an index or -1, `GetAt` and `[i]` the item, `If` runs
/// only its chosen branch [corpus: CacheExampleFlow.yaml, orbit-parked-call-retrieval.yaml].
#[test]
fn collections_find_index_and_guard_with_if() {
    let mut vars = Vars::new();
    let list = |v: &[&str]| {
        Some(Val::List(
            v.iter().map(|s| Some(Val::S((*s).into()))).collect(),
        ))
    };
    vars.insert("Task.Status".into(), list(&["BUSY", "IDLE"]));
    vars.insert(
        "Task.Counts".into(),
        Some(Val::List(vec![Some(Val::I(3)), Some(Val::I(4))])),
    );
    vars.insert("Task.None".into(), list(&[]));
    let ev = |s: &str| ev_with(s, &vars).unwrap();
    let guarded = |l: &str| {
        format!(r#"If(FindFirst({l}, "IDLE") >= 0, GetAt(Task.Counts, FindFirst({l}, "IDLE")), 0)"#)
    };
    assert_eq!(ev(&guarded("Task.Status")), Some(Val::I(4)));
    assert_eq!(ev(&guarded("Task.None")), Some(Val::I(0)));
    assert_eq!(ev("Task.Status[0]"), Some(Val::S("BUSY".into())));
    assert_eq!(ev("Count(Task.Status)"), Some(Val::I(2)));
    assert!(ev_with("Task.Status[2]", &vars).is_err());
    assert!(ev_with("GetAt(Task.Counts, -1)", &vars).is_err());
    assert_eq!(ev("ToAudio(NOT_SET)"), None);
}

/// A CacheExampleFlow-shaped task: its own variables (a queue, a duration, collections),
/// `Task.Queue.id` read as the org's id of the queue, a data action's outputs converted to
/// the variables' types, and a transfer to the queue an expression gives.
const TASK_VARS: &str = r#"
inboundCall:
  name: Cache
  startUpRef: ./tasks/task[start]
  tasks:
    - task:
        name: Start
        refId: start
        variables:
          - durationVariable: {name: Task.Life, initialValue: {lit: {minutes: 5}}}
          - queueVariable: {name: Task.Queue, initialValue: {lit: {name: Services}}}
          - integerVariable: {name: Task.Agents}
          - stringCollectionVariable: {name: Task.Statuses}
        actions:
          - callData:
              name: Counts
              category:
                Cat:
                  dataAction:
                    Counts:
                      inputs: {queueId: {exp: Task.Queue.id}}
                      successOutputs:
                        agents: {var: Task.Agents}
                        statuses: {var: Task.Statuses}
          - decision:
              name: Anyone?
              condition: {exp: 'Task.Agents > 0 and FindFirst(Task.Statuses, "IDLE") >= 0'}
              outputs:
                "yes":
                  actions:
                    - transferToAcd: {targetQueue: {exp: Task.Queue}}
          - disconnect: {none: true}
"#;

#[test]
fn task_variables_queues_and_typed_outputs() {
    let flow = doc(TASK_VARS);
    let answer = |agents: serde_json::Value| {
        let mut org = test_org(vec!["Services"]);
        org.sim.data_actions.insert(
            "Cat/Counts".into(),
            vec![DataActionAnswer::Outputs {
                outputs: [
                    ("agents".to_owned(), agents),
                    ("statuses".to_owned(), serde_json::json!(["BUSY", "IDLE"])),
                ]
                .into_iter()
                .collect(),
            }],
        );
        org
    };
    let c = call_with_org(
        &flow,
        &BTreeMap::new(),
        &[],
        MAX_ACTIONS,
        &answer("2".into()),
    );
    assert_eq!(c.outcome.kind, OutcomeKind::Routed, "{c:#?}");
    assert_eq!(c.outcome.queue.as_deref(), Some("Services"));
    assert_eq!(c.variables["Agents"], 2);
    assert_eq!(c.variables["Statuses"], serde_json::json!(["BUSY", "IDLE"]));
    assert_eq!(c.variables["Queue"]["id"], "id-Services");
    let c = call_with_org(
        &flow,
        &BTreeMap::new(),
        &[],
        MAX_ACTIONS,
        &answer("0".into()),
    );
    assert_eq!(c.outcome.kind, OutcomeKind::Disconnected, "{c:#?}");
    // An output the variable's type cannot hold is an error.
    let c = call_with_org(
        &flow,
        &BTreeMap::new(),
        &[],
        MAX_ACTIONS,
        &answer("many".into()),
    );
    assert_eq!(c.outcome.kind, OutcomeKind::Error, "{c:#?}");
    assert_eq!(c.outcome.node, "Counts");
    // A queue the org lacks has no id to read.
    let mut org = answer("2".into());
    org.known.clear();
    let c = call_with_org(&flow, &BTreeMap::new(), &[], MAX_ACTIONS, &org);
    assert_eq!(c.outcome.kind, OutcomeKind::Error, "{c:#?}");
    assert!(c.outcome.message.unwrap().contains("Services"));
}

/// `findQueue` finds the queue in the org (`found`, the result's `id` the org's) or
/// takes `notFound` [corpus: archy_flow.yml].
#[test]
fn find_queue_takes_found_or_not_found_from_the_org() {
    let flow = doc(r#"
inboundCall:
  name: Find
  startUpRef: "/inboundCall/tasks/task[T]"
  tasks:
    - task:
        name: T
        refId: T
        variables:
          - queueVariable: {name: Task.Primary, initialValue: {noValue: true}}
        actions:
          - findQueue:
              name: Find Queue
              findName: {lit: Primary}
              findResult: {var: Task.Primary}
              outputs:
                found:
                  actions:
                    - playAudio: {name: Id, audio: {exp: 'ToAudioTTS(Task.Primary.id)'}}
                    - transferToAcd: {name: Xfer, targetQueue: {exp: Task.Primary}}
                notFound:
                  actions:
                    - playAudio: {name: None, audio: {tts: No queue}}
          - disconnect: {name: Bye}
"#);
    let c = call_with_org(
        &flow,
        &BTreeMap::new(),
        &[],
        MAX_ACTIONS,
        &test_org(vec!["Primary"]),
    );
    assert_eq!(c.outcome.kind, OutcomeKind::Routed, "{c:#?}");
    assert_eq!(c.outcome.queue.as_deref(), Some("Primary"));
    assert_eq!(c.transcript[0].text.as_deref(), Some("id-Primary"));
    let c = call_with_org(&flow, &BTreeMap::new(), &[], MAX_ACTIONS, &test_org(vec![]));
    assert_eq!(c.outcome.kind, OutcomeKind::Disconnected, "{c:#?}");
    assert_eq!(c.transcript[0].text.as_deref(), Some("No queue"));
}

/// `transferToFlowSecure` to a flow that is not published takes `failure` and the list
/// goes on; to a published one the call leaves the flow [corpus: EventOrchestrator_Flow.yaml].
#[test]
fn transfer_to_flow_fails_over_unless_the_flow_is_published() {
    let flow = doc(r#"
inboundCall:
  name: Pay
  startUpRef: "/inboundCall/tasks/task[T]"
  tasks:
    - task:
        name: T
        refId: T
        actions:
          - transferToFlowSecure:
              name: To secure
              targetFlow: {name: Secure Pay}
              outputs:
                failure:
                  actions:
                    - playAudio: {name: Sorry, audio: {tts: Sorry}}
          - disconnect: {name: Bye}
"#);
    let c = call(&flow, &BTreeMap::new(), &[], MAX_ACTIONS);
    assert_eq!(c.outcome.kind, OutcomeKind::Disconnected, "{c:#?}");
    assert_eq!(c.outcome.node, "Bye");
    assert_eq!(c.transcript.last().unwrap().text.as_deref(), Some("Sorry"));
    let published: BTreeMap<String, Value> = [(
        "Secure Pay".to_owned(),
        doc("secureCall: {name: Secure Pay}"),
    )]
    .into_iter()
    .collect();
    let c = call(&flow, &published, &[], MAX_ACTIONS);
    assert_eq!(c.outcome.kind, OutcomeKind::Routed, "{c:#?}");
    assert_eq!(c.outcome.queue, None);
    assert!(c.outcome.message.unwrap().contains("Secure Pay"));
}

/// Audio with `alternateSequences` plays the sequence of the call's language, the flow's
/// default before any `setLanguage` [corpus: 2445093_Lang-COMMONMODULE.yaml].
#[test]
fn alternate_sequences_follow_the_calls_language() {
    let flow = doc(r#"
inboundCall:
  name: Langs
  defaultLanguage: en-us
  startUpRef: "/inboundCall/tasks/task[T]"
  tasks:
    - task:
        name: T
        refId: T
        actions:
          - playAudio:
              name: Hi
              audio:
                alternateSequences:
                  en-us: {tts: Hello}
                  es-us: {tts: Hola}
          - setLanguage: {name: Es, languageValue: {lit: es-us}}
          - playAudio:
              name: Hi again
              audio:
                alternateSequences:
                  en-us: {tts: Hello}
                  es-us: {exp: 'ToAudioTTS("Hola")'}
          - setLanguage: {name: Fr, languageValue: {lit: fr-fr}}
          - playAudio:
              name: Fallback
              audio:
                tts: Bonjour
                alternateSequences:
                  en-us: {tts: Hello}
          - disconnect: {name: Bye}
"#);
    let c = call(&flow, &BTreeMap::new(), &[], MAX_ACTIONS);
    let said: Vec<_> = c.transcript.iter().map(|l| l.text.as_deref()).collect();
    assert_eq!(
        said,
        [Some("Hello"), Some("Hola"), Some("Bonjour")],
        "{c:#?}"
    );
}

/// `setScreenPop` changes nothing the caller hears; an input that fails is an error.
#[test]
fn a_screen_pop_evaluates_its_inputs_and_goes_on() {
    let flow = |input: &str| {
        doc(&format!(
            r#"
inboundCall:
  name: Pop
  startUpRef: "/inboundCall/tasks/task[T]"
  tasks:
    - task:
        name: T
        refId: T
        actions:
          - setScreenPop:
              name: Pop
              screenPopScript:
                Script:
                  inputs:
                    Phone number: {{exp: '{input}'}}
          - transferToAcd: {{name: Xfer, targetQueue: {{lit: {{name: Q}}}}}}
"#
        ))
    };
    let c = call(&flow("Call.Ani"), &BTreeMap::new(), &[], MAX_ACTIONS);
    assert_eq!(c.outcome.kind, OutcomeKind::Routed, "{c:#?}");
    assert!(c.transcript.is_empty());
    let c = call(&flow("ToInt(\"x\")"), &BTreeMap::new(), &[], MAX_ACTIONS);
    assert_eq!(c.outcome.kind, OutcomeKind::Error, "{c:#?}");
    assert_eq!(c.outcome.node, "Pop");
}
