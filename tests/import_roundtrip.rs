//! The round trip of issue 22: every inbound flow and common module of the corpus (25
//! files), imported and compiled again, behaves as the original. The sandbox's Archy
//! interpreter runs the original and the recompiled file on the same calls and their
//! transcripts (audio, digits, language), outcomes (with the queue), participant data and
//! variables must be equal. The calls: no input, no input four times, a wrong length, every
//! digit, each menu digit followed by more input; in every org state the file can tell
//! apart: each data action succeeding with and without outputs, failing, timing out; each
//! table row found and not; each schedule state. A module is run through its caller.
//! Prints, per file, the share of actions that became native nodes and the calls compared
//! (and how many of them end in an error of the interpreter, which compares less: an action
//! or function it does not run ends both calls the same way).

// Test code: a panic is a failed assertion.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use std::collections::{BTreeMap, BTreeSet};

use flowsmith::calls::ScheduleState;
use flowsmith::compile::{self, CompileContext, ModuleTarget};
use flowsmith::import::{self, ArchyFile, ImportLimits};
use flowsmith::simulate::{DataActionAnswer, OutcomeKind, SimInput};
use flowsmith::template::{FlowType, ModuleInterface};
use flowsmith::validate;
use flowsmith_sandbox::archy::interpret::{self, CallInfo, MAX_ACTIONS, OrgObjects};
use serde_json::json;

fn corpus_dir() -> std::path::PathBuf {
    std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .join("../shared/reference/archy-corpus")
}

/// The file as its pipeline would publish it: every `{{x}}` filled (a division `Home`).
fn filled(name: &str) -> String {
    let text = std::fs::read_to_string(corpus_dir().join(name)).unwrap();
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find("{{") {
        let Some(len) = rest[i..].find("}}") else {
            break;
        };
        out.push_str(&rest[..i]);
        let key = rest[i + 2..i + len].trim();
        out.push_str(if key.contains("division") {
            "Home"
        } else {
            key
        });
        rest = &rest[i + len + 2..];
    }
    out.push_str(rest);
    out
}

/// The org objects a file names: data actions (`integration/action` with their success
/// outputs and the variables they go to), data tables (columns and variables), schedule
/// groups, the queues `findQueue` looks for and the participant data it reads.
#[derive(Debug, Default)]
struct Named {
    data_actions: BTreeMap<String, Vec<(String, String)>>,
    tables: BTreeMap<String, Vec<(String, String)>>,
    schedule_groups: bool,
    find_queues: BTreeSet<String>,
    participant: BTreeSet<String>,
    /// The numbers the flow compares the dialled number with (each is a call of its own).
    dialled: BTreeSet<String>,
    /// Declared variables and their kinds (`stringCollectionVariable`, …): an org answers
    /// each output in its variable's type.
    kinds: BTreeMap<String, String>,
    /// The digits of every menu choice and whether the flow collects input.
    digits: BTreeSet<String>,
}

/// A mapping key as text (a key may read as a number: data action `2445093`).
fn key_text(k: &serde_yaml_ng::Value) -> String {
    match k {
        serde_yaml_ng::Value::Number(n) => n.to_string(),
        other => other.as_str().unwrap_or_default().to_owned(),
    }
}

/// The `{output: {var: X}}` pairs of a mapping.
fn outputs_of(m: Option<&serde_yaml_ng::Mapping>) -> Vec<(String, String)> {
    m.into_iter()
        .flatten()
        .filter_map(|(k, v)| {
            Some((
                k.as_str()?.to_owned(),
                v.get("var")
                    .and_then(serde_yaml_ng::Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            ))
        })
        .collect()
}

fn named(v: &serde_yaml_ng::Value, out: &mut Named) {
    use serde_yaml_ng::Value as Y;
    match v {
        Y::Mapping(m) => {
            for (k, x) in m {
                if let Some(kind) = k.as_str().filter(|k| k.ends_with("Variable"))
                    && let Some(name) = x.get("name").and_then(Y::as_str)
                {
                    out.kinds.insert(name.to_owned(), kind.to_owned());
                }
                match k.as_str() {
                    Some("findQueue") => {
                        if let Some(q) = x.get("findName").and_then(|n| n.get("lit")) {
                            out.find_queues
                                .insert(q.as_str().unwrap_or_default().to_owned());
                        }
                    }
                    Some("getParticipantData") => {
                        for a in x
                            .get("attributes")
                            .and_then(Y::as_sequence)
                            .into_iter()
                            .flatten()
                        {
                            if let Some(n) = a
                                .get("attribute")
                                .and_then(|a| a.get("name"))
                                .and_then(|n| n.get("lit"))
                                .and_then(Y::as_str)
                            {
                                out.participant.insert(n.to_owned());
                            }
                        }
                    }
                    Some("callData") => {
                        let cat = x.get("category").and_then(Y::as_mapping);
                        for (integration, spec) in cat.into_iter().flatten() {
                            let actions = spec.get("dataAction").and_then(Y::as_mapping);
                            for (action, contract) in actions.into_iter().flatten() {
                                let outs = outputs_of(
                                    contract.get("successOutputs").and_then(Y::as_mapping),
                                );
                                out.data_actions.insert(
                                    format!("{}/{}", key_text(integration), key_text(action)),
                                    outs,
                                );
                            }
                        }
                    }
                    Some("dataTableLookup") => {
                        let t = x.get("dataTable").and_then(Y::as_mapping);
                        for (table, spec) in t.into_iter().flatten() {
                            let cols = outputs_of(spec.get("foundOutputs").and_then(Y::as_mapping));
                            out.tables.insert(key_text(table), cols);
                        }
                    }
                    Some("evaluateScheduleGroup") => out.schedule_groups = true,
                    Some("dtmf") => {
                        if let Some(d) = x.as_str().and_then(|d| d.strip_prefix("digit_")) {
                            out.digits.insert(d.to_owned());
                        }
                    }
                    _ => {}
                }
                named(x, out);
            }
        }
        Y::Sequence(a) => a.iter().for_each(|x| named(x, out)),
        Y::String(e) => {
            for (i, _) in e.match_indices("Call.CalledAddress") {
                let rest = e[i..].split_once("==").map(|(_, r)| r.trim_start());
                if let Some(n) = rest
                    .and_then(|r| r.strip_prefix('"'))
                    .and_then(|r| r.split_once('"'))
                {
                    out.dialled.insert(n.0.to_owned());
                }
            }
        }
        _ => {}
    }
}

/// One org state: every data action answers `answer` (success with every output set, success
/// with none, failure, timeout), every table has the row or not and every queue a
/// `findQueue` looks for is found or not (`found`), every schedule group is in `schedule`,
/// the call dials the interpreter's default number or one the flow tests for.
/// An output or cell is `"1"` in its variable's type (a collection `["1"]`, a boolean
/// `true`); the participant data the flow reads is `"1"`.
#[derive(Debug, Clone)]
struct Org<'n> {
    named: &'n Named,
    answer: usize,
    found: bool,
    schedule: ScheduleState,
    /// The number dialled, when not the interpreter's default.
    dialled: Option<&'n str>,
}

impl OrgObjects for Org<'_> {
    fn data_action(
        &self,
        integration: &str,
        action: &str,
        _inputs: &BTreeMap<String, Option<String>>,
        _nth: usize,
    ) -> Option<DataActionAnswer> {
        let outs = self
            .named
            .data_actions
            .get(&format!("{integration}/{action}"))?;
        Some(match self.answer {
            0 => DataActionAnswer::Outputs {
                outputs: outs
                    .iter()
                    .map(|(k, var)| (k.clone(), self.value(var)))
                    .collect(),
            },
            1 => DataActionAnswer::Outputs {
                outputs: BTreeMap::new(),
            },
            2 => DataActionAnswer::Error {
                error: "500".into(),
            },
            _ => DataActionAnswer::Timeout { timeout: true },
        })
    }

    fn table_row(
        &self,
        table: &str,
        _key: &str,
    ) -> Option<Option<BTreeMap<String, serde_json::Value>>> {
        let cols = self.named.tables.get(table)?;
        Some(self.found.then(|| {
            cols.iter()
                .map(|(c, var)| (c.clone(), self.value(var)))
                .collect()
        }))
    }

    fn schedule_group(&self, _group: &str) -> Option<ScheduleState> {
        Some(self.schedule)
    }

    fn has_prompt(&self, _name: &str) -> bool {
        true
    }

    fn participant_data(&self) -> BTreeMap<String, String> {
        self.named
            .participant
            .iter()
            .map(|k| (k.clone(), "1".to_owned()))
            .collect()
    }

    fn call_info(&self) -> CallInfo {
        let mut info = CallInfo::default();
        if let Some(d) = self.dialled {
            d.clone_into(&mut info.called_address);
        }
        info
    }

    fn queue(&self, name: &str) -> Option<String> {
        (self.found || !self.named.find_queues.contains(name)).then(|| format!("id-{name}"))
    }
}

impl Org<'_> {
    /// `"1"` in the type of variable `var`.
    fn value(&self, var: &str) -> serde_json::Value {
        match self.named.kinds.get(var).map(String::as_str) {
            Some(k) if k.contains("Collection") => json!(["1"]),
            Some("booleanVariable") => json!(true),
            _ => json!("1"),
        }
    }
}

/// The org states worth telling apart for a file: the product of the answers of its data
/// actions, the found/not-found of its tables and its schedule states (one state each for
/// what it does not name).
fn orgs(named: &Named) -> Vec<Org<'_>> {
    let answers: &[usize] = if named.data_actions.is_empty() {
        &[0]
    } else {
        &[0, 1, 2, 3]
    };
    let found: &[bool] = if named.tables.is_empty() && named.find_queues.is_empty() {
        &[true]
    } else {
        &[true, false]
    };
    let states: &[ScheduleState] = if named.schedule_groups {
        &ScheduleState::ALL
    } else {
        &[ScheduleState::Open]
    };
    let dialled: Vec<Option<&str>> = std::iter::once(None)
        .chain(named.dialled.iter().map(|d| Some(d.as_str())))
        .collect();
    let mut out = Vec::new();
    for &answer in answers {
        for &f in found {
            for &schedule in states {
                for &d in &dialled {
                    out.push(Org {
                        named,
                        answer,
                        found: f,
                        schedule,
                        dialled: d,
                    });
                }
            }
        }
    }
    out
}

/// Caller inputs: none, no input, a wrong length, every single digit, and after each
/// menu digit a second input (a digit, several digits, no input), for the menus and digit
/// collections behind the first choice.
fn inputs(named: &Named) -> Vec<Vec<SimInput>> {
    let d = |s: &str| SimInput::parse(s).unwrap();
    let mut out = vec![
        vec![],
        vec![SimInput::Timeout],
        vec![
            SimInput::Timeout,
            SimInput::Timeout,
            SimInput::Timeout,
            SimInput::Timeout,
        ],
        vec![d("1234")],
        vec![d("1234"), d("1")],
    ];
    for k in 0..=9 {
        out.push(vec![d(&k.to_string())]);
    }
    for k in &named.digits {
        for second in ["1", "2", "1234", "timeout"] {
            out.push(vec![d(k), d(second)]);
        }
    }
    out
}

/// Every inbound flow and common module of the corpus (`SOURCES.md`), each with the modules
/// it calls.
const FILES: &[&[&str]] = &[
    &["architect-flow-public-api-blueprint__archy_flow.yml"],
    &["automated-callback-blueprint__Trigger_proactive_callback_workflow.yaml"],
    &["cx-as-code-export__2445093_Lang-COMMONMODULE.yaml"],
    &[
        "cx-as-code-export__CI_CD_Test_Flow-INBOUNDCALL.yaml",
        "cx-as-code-export__2445093_Lang-COMMONMODULE.yaml",
    ],
    &["darbyje-advanced-session__Terraform_CM_v2-0.yaml"],
    &[
        "darbyje-advanced-session__Terraform_Inbound_Flow_v1-0.yaml",
        "darbyje-advanced-session__Terraform_CM_v2-0.yaml",
    ],
    &["design-architect-flow-data-actions-for-resiliency__CacheExampleFlow.yaml"],
    &["developer-center-blog__CacheExampleFlow.yaml"],
    &["developer-center-blog__ForceDisconnect_v7-0.yaml"],
    &["dr-fallback-ivr__DR-Emergency-IVR.yaml"],
    &["dr-fallback-ivr__DR-Fallback-Ivr.yaml"],
    &["genesys-cloud-call-park__call-park-agent-inbound-flow.yaml"],
    &["genesys-cloud-call-park__orbit-parked-call-retrieval.yaml"],
    &["merge-ephemeral-message-to-external-contact-blueprint__ResolveContact.yaml"],
    &["process-participant-attributes-event-triggers-blueprint__EventOrchestrator_Flow.yaml"],
    &["send-message-transcript-by-email__resolve-contact.yaml"],
    &["set-emergency-group-lambda-blueprint__main_flow.yaml"],
    &["set-emergency-group-lambda-blueprint__spare_flow.yml"],
    &["simple-ivr-deploy-with-cx-as-code-blueprint__SimpleFinancialIvr_v2-0.yaml"],
    &["terraform-provider-genesyscloud__closedhours_flow.yaml"],
    &["terraform-provider-genesyscloud__holiday_flow.yaml"],
    &["terraform-provider-genesyscloud__inboundcall_flow_example.yaml"],
    &["terraform-provider-genesyscloud__inboundcall_flow_example2.yaml"],
    &["terraform-provider-genesyscloud__inboundcall_flow_example_substitutions.yaml"],
    &["terraform-provider-genesyscloud__openhours_flow.yaml"],
];

#[test]
fn corpus_flows_behave_the_same_after_import_and_compile() {
    let mut failures = Vec::new();
    let mut lines = Vec::new();
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for group in FILES {
        let files: Vec<ArchyFile> = group
            .iter()
            .map(|n| ArchyFile {
                name: (*n).to_owned(),
                yaml: filled(n),
            })
            .collect();
        let imported = match import::import(&files, ImportLimits::default()) {
            Ok(i) => i,
            Err(e) => {
                let codes: Vec<String> = e
                    .findings
                    .iter()
                    .filter(|f| f.is_error())
                    .map(|f| format!("{} {}", f.code, f.pointer))
                    .collect();
                failures.push(format!("{}: not imported: {codes:?}", group[0]));
                continue;
            }
        };
        // Validate and compile every template (modules first), as a job would.
        let mut order: Vec<_> = imported.templates.iter().collect();
        order.sort_by_key(|t| t.flow_type != FlowType::Module);
        let catalog: BTreeMap<String, ModuleInterface> = BTreeMap::new();
        let mut recompiled: BTreeMap<String, serde_yaml_ng::Value> = BTreeMap::new();
        let mut original: BTreeMap<String, serde_yaml_ng::Value> = BTreeMap::new();
        let targets: BTreeMap<String, ModuleTarget> = BTreeMap::new();
        let queues = BTreeMap::new();
        for (t, f) in order.iter().zip(group.iter().cycle()) {
            let _ = f;
            let report = validate::validate(&t.document, &catalog);
            let Some(flow) = report
                .flow
                .filter(|_| !report.findings.iter().any(|f| f.is_error()))
            else {
                failures.push(format!(
                    "{}: the imported template does not validate: {:?}",
                    t.report.file,
                    report
                        .findings
                        .iter()
                        .filter(|f| f.is_error())
                        .map(|f| format!("{} {}", f.code, f.pointer))
                        .collect::<Vec<_>>()
                ));
                continue;
            };
            let c = match compile::compile(
                &flow,
                &CompileContext {
                    flow_name: &t.name,
                    as_type: t.flow_type,
                    modules: &targets,
                    queue_names: &queues,
                },
            ) {
                Ok(c) => c,
                Err(e) => {
                    failures.push(format!("{}: does not compile: {e}", t.report.file));
                    continue;
                }
            };
            recompiled.insert(t.name.clone(), serde_yaml_ng::from_str(&c.yaml).unwrap());
            original.insert(
                t.name.clone(),
                serde_yaml_ng::from_str(&filled(&t.report.file)).unwrap(),
            );
        }
        let Some(entry) = order.last() else { continue };
        if entry.report.file != group[0] {
            continue;
        }
        // A module runs when a caller calls it: it is compared through its caller (the
        // pairs below), and here its import and compile are checked.
        let (Some(orig), Some(back)) = (original.get(&entry.name), recompiled.get(&entry.name))
        else {
            continue;
        };
        let modules_orig: BTreeMap<String, serde_yaml_ng::Value> = original
            .iter()
            .filter(|(k, _)| **k != entry.name)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let modules_back: BTreeMap<String, serde_yaml_ng::Value> = recompiled
            .iter()
            .filter(|(k, _)| **k != entry.name)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut calls = 0;
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        let mut errors: BTreeMap<String, usize> = BTreeMap::new();
        let callable = entry.flow_type == FlowType::Inbound;
        let mut seen = Named::default();
        named(orig, &mut seen);
        for m in modules_orig.values() {
            named(m, &mut seen);
        }
        let all_inputs = inputs(&seen);
        for org in orgs(&seen).into_iter().filter(|_| callable) {
            for ins in &all_inputs {
                let a = interpret::call_with_org(orig, &modules_orig, ins, MAX_ACTIONS, &org);
                let b = interpret::call_with_org(back, &modules_back, ins, MAX_ACTIONS, &org);
                calls += 1;
                *outcomes.entry(format!("{:?}", a.outcome.kind)).or_insert(0) += 1;
                *kinds.entry(format!("{:?}", a.outcome.kind)).or_insert(0) += 1;
                if let Some(m) = a
                    .outcome
                    .message
                    .as_ref()
                    .filter(|_| a.outcome.kind == OutcomeKind::Error)
                {
                    *errors.entry(m.chars().take(70).collect()).or_insert(0) += 1;
                }
                let said =
                    |c: &interpret::Call| -> Vec<(Option<String>, Option<String>, Option<String>)> {
                        c.transcript
                            .iter()
                            .map(|l| (l.text.clone(), l.digits.clone(), l.language.clone()))
                            .collect()
                    };
                // Every variable the original set has the same value after the recompiled
                // call (the compiler may add its own, such as a menu's digits).
                let vars_kept = a
                    .variables
                    .iter()
                    .all(|(k, v)| b.variables.get(k) == Some(v));
                let same = a.outcome.kind == b.outcome.kind
                    && a.outcome.queue == b.outcome.queue
                    && said(&a) == said(&b)
                    && a.participant_data == b.participant_data
                    && vars_kept;
                if !same {
                    failures.push(format!(
                        "{} with inputs {ins:?}, org {:?}/{}/{:?}/{:?}:\n--- original: {a:#?}\n--- recompiled: {b:#?}",
                        group[0], org.answer, org.found, org.schedule, org.dialled
                    ));
                }
            }
        }
        let r = &entry.report;
        let ended_in_error: usize = errors.values().sum();
        let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        lines.push(format!(
            "| {} | {} | {:.0}% ({} native, {} kept) | {calls} ({ended_in_error} end in an interpreter error; {}) |",
            r.file,
            r.actions,
            r.native_percent(),
            r.native,
            r.kept,
            kinds.join(", ")
        ));
        for (m, k) in errors {
            lines.push(format!("|   error x{k}: {m} | | | |"));
        }
    }
    println!(
        "| file | actions | native | calls compared (all equal), outcomes |\n|---|---|---|---|"
    );
    for l in &lines {
        println!("{l}");
    }
    println!("outcomes of the original calls: {outcomes:?}");
    let rows = lines.iter().filter(|l| !l.starts_with("|   ")).count();
    assert_eq!(rows, FILES.len(), "every file imports and is compared");
    // The generated calls reach every way a call ends, not only errors.
    for kind in ["Disconnected", "Routed", "Voicemail", "Error"] {
        assert!(
            outcomes.contains_key(kind),
            "no call ends {kind}: {outcomes:?}"
        );
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
