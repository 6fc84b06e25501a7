//! The round trip of issue 22: an Archy file of the corpus, imported and compiled again,
//! behaves as the original. The sandbox's Archy interpreter runs the original and the
//! recompiled file on the same calls (inputs × org states) and their transcripts (what was
//! played, digits collected), outcomes (with the queue) and participant data must be equal.
//! Prints, per file, the share of actions that became native nodes and the calls compared.

// Test code: a panic is a failed assertion.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use std::collections::BTreeMap;

use flowsmith::compile::{self, CompileContext, ModuleTarget};
use flowsmith::import::{self, ArchyFile, ImportLimits};
use flowsmith::simulate::{DataActionAnswer, SimInput, SimOrg};
use flowsmith::template::{FlowType, ModuleInterface};
use flowsmith::validate;
use flowsmith_sandbox::archy::interpret::{self, MAX_ACTIONS};
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

fn orgs() -> Vec<SimOrg> {
    let ok = DataActionAnswer::Outputs {
        outputs: BTreeMap::new(),
    };
    let err = DataActionAnswer::Error {
        error: "500".into(),
    };
    let timeout = DataActionAnswer::Timeout { timeout: true };
    let mut out = vec![SimOrg::default()];
    for answer in [ok, err, timeout] {
        let mut o: SimOrg = serde_json::from_value(json!({})).unwrap();
        o.data_actions.insert("*".into(), vec![answer]);
        out.push(o);
    }
    out
}

fn inputs() -> Vec<Vec<SimInput>> {
    let d = |s: &str| SimInput::parse(s).unwrap();
    vec![
        vec![],
        vec![SimInput::Timeout],
        vec![d("1")],
        vec![d("2")],
        vec![d("1"), d("1")],
        vec![d("9")],
        vec![d("1234"), d("1")],
    ]
}

/// The inbound flows and modules importable today, with the modules each caller needs. Not
/// yet: the 11 voice files with `menus` (menus are not imported yet, `menu_not_imported`).
const FILES: &[&[&str]] = &[
    &["automated-callback-blueprint__Trigger_proactive_callback_workflow.yaml"],
    &["cx-as-code-export__2445093_Lang-COMMONMODULE.yaml"],
    &["darbyje-advanced-session__Terraform_CM_v2-0.yaml"],
    &[
        "darbyje-advanced-session__Terraform_Inbound_Flow_v1-0.yaml",
        "darbyje-advanced-session__Terraform_CM_v2-0.yaml",
    ],
    &["design-architect-flow-data-actions-for-resiliency__CacheExampleFlow.yaml"],
    &["developer-center-blog__CacheExampleFlow.yaml"],
    &["developer-center-blog__ForceDisconnect_v7-0.yaml"],
    &["merge-ephemeral-message-to-external-contact-blueprint__ResolveContact.yaml"],
    &["send-message-transcript-by-email__resolve-contact.yaml"],
];

#[test]
fn corpus_flows_behave_the_same_after_import_and_compile() {
    let mut failures = Vec::new();
    let mut lines = Vec::new();
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
        let callable = entry.flow_type == FlowType::Inbound;
        for org in orgs().into_iter().filter(|_| callable) {
            for ins in inputs() {
                let a = interpret::call_with_org(orig, &modules_orig, &ins, MAX_ACTIONS, &org);
                let b = interpret::call_with_org(back, &modules_back, &ins, MAX_ACTIONS, &org);
                calls += 1;
                let said = |c: &interpret::Call| -> Vec<(Option<String>, Option<String>)> {
                    c.transcript
                        .iter()
                        .map(|l| (l.text.clone(), l.digits.clone()))
                        .collect()
                };
                let same = a.outcome.kind == b.outcome.kind
                    && a.outcome.queue == b.outcome.queue
                    && said(&a) == said(&b)
                    && a.participant_data == b.participant_data;
                if !same {
                    failures.push(format!(
                        "{} with inputs {ins:?}, org {org:?}:\n--- original: {a:#?}\n--- recompiled: {b:#?}",
                        group[0]
                    ));
                }
            }
        }
        let r = &entry.report;
        lines.push(format!(
            "{}: {} actions, {} native ({:.0}%), {} kept; {calls} calls compared, equal",
            r.file,
            r.actions,
            r.native,
            r.native_percent(),
            r.kept
        ));
    }
    for l in &lines {
        println!("{l}");
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
