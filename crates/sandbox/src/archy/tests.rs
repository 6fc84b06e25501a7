use super::functions::known_function;
use super::*;

const GOOD: &str = r#"
inboundCall:
  name: Main IVR
  defaultLanguage: en-us
  startUpRef: "/inboundCall/tasks/task[Main]"
  initialGreeting: {tts: Hello}
  supportedLanguages:
    en-us:
      defaultLanguageSkill: {noValue: true}
  tasks:
    - task:
        name: Main
        refId: Main
        actions:
          - callCommonModule:
              name: Lookup
              commonModule:
                Lookup Customer:
                  ver_latestPublished: {inputs: {}, outputs: {}}
          - decision:
              name: Gold?
              condition: {exp: "true"}
              outputs:
                "yes":
                  actions:
                    - jumpToTask: {name: Go, targetTaskRef: "/inboundCall/tasks/task[Other]"}
          - transferToAcd: {name: Xfer, targetQueue: {lit: {name: General}}}
          - disconnect: {name: Bye}
    - task:
        name: Other
        refId: Other
        actions:
          - disconnect: {name: Bye}
"#;

const MODULE: &str = r#"
commonModule:
  name: Pin
  defaultLanguage: en-us
  variables:
    - stringVariable: {name: Common.pin, initialValue: {noValue: true}, isInput: false, isOutput: true}
    - integerVariable: {name: Common.i, initialValue: {noValue: true}}
  startUpTaskActions:
    - loop:
        name: Three tries
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
    - playAudio: {name: Done, audio: {tts: Thanks}}
"#;

#[test]
fn finds_called_functions_and_refuses_unknown_ones() {
    assert_eq!(
        called_functions(r#"Append("a(", ToString(Flow.n)) and not (IsSet (Flow.x)) or x.Y(1)"#),
        ["Append", "ToString", "IsSet", "x.Y"]
    );
    assert!(called_functions("(1 + 2) * 3").is_empty());
    let corpus = super::functions::corpus_functions();
    assert!(known_function(&corpus, "tophonenumber") && known_function(&corpus, "Upper"));
    assert!(known_function(&corpus, "ToAudioNumber"));
    let e = errors(&GOOD.replace(
        "condition: {exp: \"true\"}",
        "condition: {exp: \"Frobnicate(1)\"}",
    ));
    assert!(
            e.contains("unknown function 'Frobnicate' in the expression at /inboundCall/tasks/0/task/actions/1/decision/condition/exp"),
            "{e}"
        );
}

fn errors(y: &str) -> String {
    analyze(y).unwrap_err().join("\n")
}

#[test]
fn good_flows() {
    let a = analyze(GOOD).unwrap();
    assert_eq!(a.name, "Main IVR");
    assert_eq!(a.flow_type, "INBOUNDCALL");
    assert_eq!(
        a.modules,
        vec![("Lookup Customer".to_owned(), "Lookup".to_owned())]
    );
    assert_eq!(a.queues, vec![("General".to_owned(), "Xfer".to_owned())]);
    let m = analyze(MODULE).unwrap();
    assert_eq!(m.flow_type, "COMMONMODULE");
}

#[test]
fn refuses_relative_references_inside_actions() {
    let e = errors(&GOOD.replace(
        "\"/inboundCall/tasks/task[Other]\"",
        "\"./tasks/task[Other]\"",
    ));
    assert!(
            e.contains("relative reference targetTaskRef './tasks/task[Other]' at /inboundCall/tasks/0/task/actions/1/decision/outputs/yes/actions/0/jumpToTask/targetTaskRef"),
            "{e}"
        );
    // At the root, a relative start-up reference is what real files write.
    let ok = GOOD.replace("\"/inboundCall/tasks/task[Main]\"", "./tasks/task[Main]");
    analyze(&ok).unwrap();
}

#[test]
fn refuses_unresolved_references() {
    let e = errors(&GOOD.replace("task[Other]\"", "task[Nope]\""));
    assert!(
        e.contains("Unable to resolve targetTaskRef '/inboundCall/tasks/task[Nope]'"),
        "{e}"
    );
    let e = errors(&GOOD.replace(
        "/inboundCall/tasks/task[Main]",
        "/inboundCall/tasks/task[X]",
    ));
    assert!(e.contains("Unable to resolve startUpRef"), "{e}");
}

/// Shaped as the corpus writes menus (SimpleFinancialIvr_v2-0.yaml, main_flow.yaml,
/// DR-Emergency-IVR.yaml).
const MENU: &str = r#"
inboundCall:
  name: Menu IVR
  defaultLanguage: en-us
  startUpRef: "/inboundCall/menus/menu[Main_10]"
  menus:
    - menu:
        name: Main Menu
        refId: Main_10
        audio: {tts: Press 1 for sales}
        settingsMenu:
          extensionDialingMaxDelay: {noValue: true}
          listenForExtensionDialing: {lit: false}
          menuSelectionTimeout: {lit: {seconds: 15}}
          repeatCount: {lit: 3}
        choices:
          - menuDisconnect: {name: Bye, dtmf: digit_9, globalDtmf: false, globalSpeechRecTerms: false}
          - menuJumpToTask:
              name: Sales
              refId: Sales_52
              dtmf: digit_1
              globalDtmf: false
              globalSpeechRecTerms: false
              targetTaskRef: "/inboundCall/tasks/task[Sales]"
          - menuTask:
              name: Again
              dtmf: digit_2
              globalDtmf: false
              globalSpeechRecTerms: false
              task:
                actions:
                  - jumpToMenu: {name: Again, targetMenuRef: "/inboundCall/menus/menu[Main_10]"}
          - menuTransferToAcd:
              name: Support
              dtmf: digit_3
              globalDtmf: false
              globalSpeechRecTerms: false
              targetQueue: {lit: {name: Support}}
              priority: {lit: 0}
        defaultChildMenuRef: "./choices/menuJumpToTask[Sales_52]"
  tasks:
    - task:
        name: Sales
        refId: Sales
        actions:
          - jumpToMenu: {name: Back, targetMenuRef: "/inboundCall/menus/menu[Main_10]"}
"#;

#[test]
fn accepts_corpus_shaped_menus_and_refuses_malformed_ones() {
    let a = analyze(MENU).unwrap();
    // The SDK's digits `*` and `#`, named as the corpus names `*` (`terminatingDtmf`).
    analyze(
        &MENU
            .replace("digit_9", "digit_*")
            .replace("digit_2", "digit_#"),
    )
    .unwrap();
    analyze(&MENU.replace("repeatCount: {lit: 3}", "repeatCount: {lit: 10}")).unwrap();
    assert_eq!(a.queues, [("Support".to_owned(), "Support".to_owned())]);
    let cases = [
        // A choice pointing to a task that does not exist.
        (
            MENU.replace("task[Sales]\"\n", "task[Nope]\"\n"),
            "Unable to resolve targetTaskRef '/inboundCall/tasks/task[Nope]'",
        ),
        (
            MENU.replace("digit_3", "digit_1"),
            "menu 'Main Menu' answers digit_1 twice: at /inboundCall/menus/0/menu/choices/3/menuTransferToAcd/dtmf and at /inboundCall/menus/0/menu/choices/1",
        ),
        (
            MENU.replace("digit_9", "digit_star"),
            "has dtmf \"digit_star\"; no published flow has it",
        ),
        (
            MENU.replace("repeatCount: {lit: 3}", "repeatCount: {lit: 11}"),
            "repeatCount 11 at /inboundCall/menus/0/menu/settingsMenu/repeatCount/lit is out of range: a menu repeats 0 to 10 times",
        ),
        (
            MENU.replace("{seconds: 15}", "{minutes: 2}"),
            "menuSelectionTimeout of 120 seconds at /inboundCall/menus/0/menu/settingsMenu/menuSelectionTimeout/lit is out of range: 1 to 60 seconds",
        ),
        (
            MENU.replace("menuJumpToTask[Sales_52]", "menuJumpToTask[Nope]"),
            "Unable to resolve defaultChildMenuRef",
        ),
        (
            MENU.replace("menu[Main_10]\"}", "menu[Nope]\"}"),
            "Unable to resolve targetMenuRef '/inboundCall/menus/menu[Nope]'",
        ),
        (
            MENU.replace("        refId: Main_10\n", ""),
            "menu at /inboundCall/menus/0/menu is missing required property 'refId'",
        ),
        (
            MENU.replace(
                "              targetTaskRef: \"/inboundCall/tasks/task[Sales]\"\n",
                "",
            ),
            "(menuJumpToTask) is missing required property 'targetTaskRef'",
        ),
        (
            MENU.replace("name: Bye, dtmf", "dtmf"),
            "menu choice at /inboundCall/menus/0/menu/choices/0/menuDisconnect is missing required property 'name'",
        ),
        (
            MENU.replace("- menuDisconnect:", "- menuGoSomewhere:"),
            "unknown property 'menuGoSomewhere'",
        ),
    ];
    for (y, want) in cases {
        let e = errors(&y);
        assert!(e.contains(want), "{want:?} not in {e}");
    }
}

#[test]
fn refuses_tasks_start_up_ref_and_jumps_in_a_module() {
    let with_tasks = MODULE.replace(
            "  startUpTaskActions:",
            "  startUpRef: \"/commonModule/tasks/task[A]\"\n  tasks:\n    - task:\n        name: A\n        refId: A\n        actions:\n          - disconnect: {name: x}\n  startUpTaskActions:",
        );
    let e = errors(&with_tasks);
    assert!(
        e.contains("a common module has no 'tasks' (at /commonModule/tasks)"),
        "{e}"
    );
    assert!(e.contains("a common module has no 'startUpRef'"), "{e}");
    let with_jump = MODULE.replace(
        "    - playAudio: {name: Done, audio: {tts: Thanks}}",
        "    - jumpToTask: {name: Away, targetTaskRef: \"/commonModule/tasks/task[A]\"}",
    );
    let e = errors(&with_jump);
    assert!(
            e.contains("action 'Away' at /commonModule/startUpTaskActions/1/jumpToTask: a common module has no reusable tasks"),
            "{e}"
        );
    let e = errors(&MODULE.replace("  startUpTaskActions:", "  otherActions:"));
    assert!(
        e.contains("missing required property 'startUpTaskActions'"),
        "{e}"
    );
}

#[test]
fn refuses_a_task_without_a_closing_action() {
    let e = errors(&GOOD.replace(
        "          - disconnect: {name: Bye}\n    - task:",
        "    - task:",
    ));
    assert!(
            e.contains("task 'Main' (at /inboundCall/tasks/0/task) must end with a closing action (disconnect, jumpToMenu, jumpToTask); its last action is 'transferToAcd'"),
            "{e}"
        );
}

#[test]
fn refuses_loop_exit_outside_a_loop() {
    let y = MODULE.replace(
        "    - playAudio: {name: Done, audio: {tts: Thanks}}",
        "    - loopExit: {name: Stray}",
    );
    let e = errors(&y);
    assert!(
        e.contains(
            "loopExit 'Stray' at /commonModule/startUpTaskActions/1/loopExit is not inside a loop"
        ),
        "{e}"
    );
}

#[test]
fn refuses_unknown_actions_and_keys() {
    let e = errors(&GOOD.replace(
        "- disconnect: {name: Bye}\n    - task:",
        "- hangUp: {name: Bye}\n    - task:",
    ));
    assert!(
            e.contains("unknown property 'hangUp' at /inboundCall/tasks/0/task/actions/3/hangUp: neither a published Archy flow nor the Architect Scripting SDK has '@action.hangUp'"),
            "{e}"
        );
    let e = errors(&GOOD.replace("defaultLanguageSkill: {noValue: true}", "none: true"));
    assert!(
        e.contains("unknown property 'none' at /inboundCall/supportedLanguages/en-us/none"),
        "{e}"
    );
}

#[test]
fn a_module_may_not_call_a_module() {
    let y = MODULE.replace(
            "    - playAudio: {name: Done, audio: {tts: Thanks}}",
            "    - callCommonModule: {name: Nested, commonModule: {Other: {ver_latestPublished: {inputs: {}}}}}",
        );
    assert!(
        errors(&y)
            .contains("a common module cannot call a common module: action 'Nested' calls 'Other'")
    );
}

#[test]
fn prompt_references_in_expressions() {
    assert_eq!(
        prompt_names("Append(ToAudio(Prompt.Welcome_1), ToAudio(Prompt.Bye), Prompt.Welcome_1)"),
        vec!["Welcome_1".to_owned(), "Bye".to_owned()]
    );
    assert!(prompt_names("Flow.MyPrompt.x + SystemPrompt.y").is_empty());
}

/// Every flow of the corpus of real files passes the check (placeholders filled).
#[test]
fn accepts_every_flow_of_the_corpus() {
    let mut failed = Vec::new();
    let files = corpus_files();
    for (path, text) in &files {
        if let Err(e) = analyze(text) {
            failed.push(format!("{path}: {e:#?}"));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    assert_eq!(files.len(), 59);
}

/// The corpus files (`tests/fixtures/archy-corpus`), sorted by name, placeholders filled.
pub(super) fn corpus_files() -> Vec<(String, String)> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/archy-corpus");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
            continue;
        };
        if ext != "yaml" && ext != "yml" {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        out.push((
            name,
            fill_placeholders(&std::fs::read_to_string(&path).unwrap()),
        ));
    }
    out.sort();
    out
}

fn fill_placeholders(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        match rest[i..].find("}}") {
            Some(j) => {
                out.push_str("SUBST");
                rest = &rest[i + j + 2..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The leave-out measures of generalisation: the judge's knowledge is built without some
/// corpus files (their key paths and the functions they call; generalised by the SDK reference
/// and the documented names as the judge's is) and those files are judged with it. Real files
/// Genesys published must be published.
///
/// - leave-one-out: each file left out in turn, the other 58 known;
/// - leave-one-source-out (stronger): every file of the same source repository (the file
///   name's part before `__`, `SOURCES.md`) left out at once: 29 sources, the biggest the
///   Terraform provider's 14 examples.
///
/// Each with the corpus' functions known (the key paths generalise) and with the left-out
/// files' functions unknown too (a function then needs a source other than those files).
/// Today: leave-one-out 58 of 59 (98.3%) and 54 of 59 (91.5%); leave-one-source-out 56 of 59
/// (94.9%) and 52 of 59 (88.1%); the test holds those levels. Still refused: a menu's
/// `defaultChildMenuRef` (one file; the SDK's `ArchMenu.menuDefault` gives no YAML name), the
/// functions `Lower`, `Left`, `FindString`, `AreEqual` (one file each; no Genesys source found
/// at hand), and with its source out `evaluateSchedule.evaluationType` (the SDK has the
/// evaluation types `schedule`/`emergencyGroup`, but not the YAML names of what is below).
#[test]
fn publishes_corpus_files_it_has_never_seen() {
    let files = corpus_files();
    let share = |refused: &[String]| (files.len() - refused.len()) as f64 / files.len() as f64;
    let one = leave_out(&files, |name| name.to_owned());
    let source = leave_out(&files, |name| {
        name.split_once("__").map_or(name, |(s, _)| s).to_owned()
    });
    for (what, (paths_only, with_functions)) in
        [("leave-one-out", &one), ("leave-one-source-out", &source)]
    {
        eprintln!(
            "{what}, key paths left out: {:.1}% published; refused:\n{}\n\
             {what}, key paths and functions left out: {:.1}% published; refused:\n{}",
            share(paths_only) * 100.0,
            paths_only.join("\n"),
            share(with_functions) * 100.0,
            with_functions.join("\n")
        );
    }
    assert!(share(&one.0) >= 0.95, "{}", one.0.join("\n"));
    assert!(share(&one.1) >= 0.91, "{}", one.1.join("\n"));
    assert!(share(&source.0) >= 0.94, "{}", source.0.join("\n"));
    assert!(share(&source.1) >= 0.88, "{}", source.1.join("\n"));
}

/// For each file, the first refusal (if any) by knowledge built without every file of its
/// group (`group` of the file name): (with every corpus function known, with the functions of
/// the other groups only).
pub(super) fn leave_out(
    files: &[(String, String)],
    group: impl Fn(&str) -> String,
) -> (Vec<String>, Vec<String>) {
    let docs: Vec<Value> = files
        .iter()
        .map(|(_, t)| serde_yaml_ng::from_str(t).unwrap())
        .collect();
    let groups: Vec<String> = files.iter().map(|(n, _)| group(n)).collect();
    let all_functions = Knowledge::from_files(&docs).corpus_functions;
    let (mut paths_only, mut with_functions) = (Vec::new(), Vec::new());
    let mut knowledge: Option<(String, Knowledge)> = None;
    for (i, (name, text)) in files.iter().enumerate() {
        let g = &groups[i];
        if knowledge.as_ref().is_none_or(|(k, _)| k != g) {
            let others = docs
                .iter()
                .zip(&groups)
                .filter(|(_, h)| *h != g)
                .map(|(d, _)| d);
            knowledge = Some((g.clone(), Knowledge::from_files(others)));
        }
        let Some((_, k)) = &knowledge else {
            continue;
        };
        if let Err(e) = analyze_with(text, k) {
            with_functions.push(format!("{name}: {}", e[0]));
        }
        let mut all = k.clone();
        all.corpus_functions = all_functions.clone();
        if let Err(e) = analyze_with(text, &all) {
            paths_only.push(format!("{name}: {}", e[0]));
        }
    }
    (paths_only, with_functions)
}

/// Shapes no corpus file has but the SDK reference or the corpus' other files support are
/// published; what the evidence says a flow type never has is still refused.
#[test]
fn judges_unseen_shapes_broadly_and_keeps_refusing() {
    let unseen = GOOD
        .replace(
            "      defaultLanguageSkill: {noValue: true}\n",
            "      defaultLanguageSkill: {noValue: true}\n      textToSpeech:\n        Amazon Polly: {voice: Joanna}\n",
        )
        .replace(
            "          - disconnect: {name: Bye}\n    - task:",
            "          - setLanguage: {name: French, languageValue: {lit: fr-fr}, language: fr-fr}\n          - playAudio: {name: N, audio: {exp: \"ToAudioNumber(5)\"}}\n          - disconnect: {name: Bye}\n    - task:",
        );
    analyze(&unseen).unwrap();
    let e = errors(&unseen.replace("languageValue:", "languageGuess:"));
    assert!(
        e.contains("unknown property 'languageGuess' at /inboundCall/tasks/0/task/actions/3/setLanguage/languageGuess"),
        "{e}"
    );
    let e = errors(&MODULE.replace(
        "  startUpTaskActions:",
        "  initialGreeting: {tts: Hi}\n  startUpTaskActions:",
    ));
    assert!(
        e.contains("unknown property 'initialGreeting' at /commonModule/initialGreeting"),
        "{e}"
    );
}

/// What Genesys's documentation names beyond the SDK's naming rule is published; a misspelled
/// or foreign setting is still refused, as are unknown functions and calls with the wrong
/// number of arguments.
#[test]
fn documented_settings_and_functions_are_published_and_the_rest_refused() {
    let menu_transfer = r#"
inboundCall:
  name: Menu Line
  startUpRef: "./menus/menu[Main]"
  supportedLanguages:
    en-us:
      defaultLanguageSkill: {noValue: true}
  menus:
    - menu:
        name: Main
        refId: Main
        audio: {tts: Press one}
        choices:
          - menuTransferToAcd:
              name: Sales
              dtmf: digit_1
              targetQueue: {lit: {name: Sales}}
              overrideInQueueFlow: {name: Hold Music}
"#;
    analyze(menu_transfer).unwrap();
    let e = errors(&menu_transfer.replace("overrideInQueueFlow", "overideInQueueFlow"));
    assert!(
        e.contains("unknown property 'overideInQueueFlow' at /inboundCall/menus/0/menu/choices/0/menuTransferToAcd/overideInQueueFlow"),
        "{e}"
    );
    // A member of another action's SDK class is not the transfer's.
    let e = errors(&GOOD.replace(
        "targetQueue: {lit: {name: General}}}",
        "targetQueue: {lit: {name: General}}, targetTaskRef: \"/inboundCall/tasks/task[Other]\"}",
    ));
    assert!(e.contains("unknown property 'targetTaskRef'"), "{e}");

    let in_task = GOOD.replace(
        "- transferToAcd: {name: Xfer, targetQueue: {lit: {name: General}}}",
        "- transferToAcd: {name: Xfer, targetQueue: {lit: {name: General}}, overrideInQueueFlow: {name: Hold}, acdSkills: [{acdSkill: {exp: \"ToSkill(Flow.s)\"}}]}\n          - callData: {name: Get, processingPrompt: {noValueWithNoFallback: true}, category: {Web: {dataAction: {Lookup: {inputs: {}}}}}}",
    );
    analyze(&in_task).unwrap();
    let e = errors(&in_task.replace("noValueWithNoFallback", "noValueWithoutFallback"));
    assert!(
        e.contains("unknown property 'noValueWithoutFallback' at /inboundCall/tasks/0/task/actions/3/callData/processingPrompt/noValueWithoutFallback"),
        "{e}"
    );

    let email = r#"
inboundEmail:
  name: Mail
  startUpRef: "/inboundEmail/tasks/task[Main]"
  settingsInboundEmailHandling:
    emailHandling:
      disconnect:
        none: true
  tasks:
    - task:
        name: Main
        refId: Main
        actions:
          - disconnect: {name: Done}
"#;
    analyze(email).unwrap();
    for (bad, key) in [
        ("    emailHandling:", "emailHandlng"),
        ("      disconnect:", "disconect"),
    ] {
        let fixed = bad.trim_start().trim_end_matches(':');
        let e = errors(&email.replace(bad, &bad.replace(fixed, key)));
        assert!(e.contains(&format!("unknown property '{key}'")), "{e}");
    }
    let with_exp = |exp: &str| {
        GOOD.replace(
            "condition: {exp: \"true\"}",
            &format!("condition: {{exp: {exp:?}}}"),
        )
    };
    for ok in [
        "IsSet(ToScheduleGroup(Flow.g))",
        "ToAudio(Flow.a) != NOT_SET",
        "If(Flow.b, Append(\"a\", \"b\", \"c\"), \"d\") == \"a\"",
        "GetCurrentDateTimeUtc() > Flow.t",
        "IsSet(FindUserById(Flow.id))",
    ] {
        analyze(&with_exp(ok)).unwrap_or_else(|e| panic!("{ok}: {e:?}"));
    }
    for unknown in ["ToFrobnicator", "FindFrobnicator"] {
        let e = errors(&with_exp(&format!("IsSet({unknown}(Flow.x))")));
        assert!(e.contains(&format!("unknown function '{unknown}'")), "{e}");
    }
    let e = errors(&with_exp("If(Flow.b, true)"));
    assert!(
        e.contains("function 'If' takes 3 argument(s), not 2, in the expression at /inboundCall/tasks/0/task/actions/1/decision/condition/exp"),
        "{e}"
    );
    let e = errors(&with_exp("IsSet()"));
    assert!(
        e.contains("function 'IsSet' takes 1 argument(s), not 0"),
        "{e}"
    );
    let e = errors(&with_exp("Append() == \"\""));
    assert!(
        e.contains("function 'Append' takes at least 1 argument(s), not 0"),
        "{e}"
    );
}

#[test]
fn counts_the_arguments_of_calls() {
    use super::functions::calls;
    assert_eq!(
        calls(r#"If(IsSet(Flow.x), Append("a,b", ToString(1, 2)), GetCurrentDateTimeUtc())"#),
        [
            ("If".to_owned(), 3),
            ("IsSet".to_owned(), 1),
            ("Append".to_owned(), 2),
            ("ToString".to_owned(), 2),
            ("GetCurrentDateTimeUtc".to_owned(), 0),
        ]
    );
    assert_eq!(calls("Count ((Flow.xs))"), [("Count".to_owned(), 1)]);
    assert_eq!(calls("f(\"(\")"), [("f".to_owned(), 1)]);
}
