//! Archy shapes that used to be unverified and that the corpus now settles: the common
//! module's file and the call of a module, and `evaluateScheduleGroup`. Each names the
//! corpus file it follows (`shared/reference/archy-corpus/`, section "Common modules and
//! their callers" of its `SOURCES.md`; `archy-evidence.md`, "Common modules").

use super::yaml::{Key, Y};
use crate::template::FlowType;
use crate::template::model::ScheduleState;

/// Root key of the YAML document: `inboundCall`, `commonModule` (all 4 corpus modules,
/// e.g. `cx-as-code-export__2445093_Lang-COMMONMODULE.yaml`).
pub fn root_key(t: FlowType) -> &'static str {
    match t {
        FlowType::Inbound => "inboundCall",
        FlowType::Module => "commonModule",
    }
}

/// Prefix of flow-scoped variables (also of a module's loop counters): `Flow.` in inbound
/// flows, `Common.` in modules, declared with `isInput`/`isOutput` (all 4 corpus modules).
/// The corpus' loops count in `Task.` and `Flow.` variables; a module has no tasks, so its
/// loop counters are `Common.`.
pub fn var_prefix(t: FlowType) -> &'static str {
    match t {
        FlowType::Inbound => "Flow.",
        FlowType::Module => "Common.",
    }
}

/// The root key holding a common module's one action sequence: `startUpTaskActions` (all
/// 4 corpus modules; they have no `tasks`, `startUpRef` or `menus`).
pub fn module_sequence_key() -> &'static str {
    "startUpTaskActions"
}

/// `supportedLanguages` of a common module: `{<lang>: {none: true}}`, one entry per
/// language (all 4 corpus modules; `2445093_Lang` lists `en-us` and `es-us`, the two
/// languages its `setLanguage` actions set). A module takes its text-to-speech settings from
/// the consuming flow (Genesys help, "Work with common module flows").
pub fn module_supported_languages<'l>(langs: impl IntoIterator<Item = &'l str>) -> Y {
    Y::Map(
        langs
            .into_iter()
            .map(|l| (Key::from(l.to_owned()), Y::one("none", Y::Bool(true))))
            .collect(),
    )
}

/// `settingsCommonModule: {compatibleFlowTypes: [{flowType: inboundcall}, …]}`: what makes a
/// module callable from those flow types. Every exported module has it (all 4 corpus
/// modules: `inboundcall` alone in `2445093_Lang` and `Terraform CM`, four types in
/// `ResolveContact`). flowsmith's callers are inbound call flows, so `inboundcall` is
/// always first; `more` are the template's other `compatibleFlowTypes`.
pub fn module_settings(more: &[String]) -> (Key, Y) {
    let types = std::iter::once("inboundcall")
        .chain(more.iter().map(String::as_str))
        .map(|t| Y::one("flowType", Y::s(t)))
        .collect();
    (
        "settingsCommonModule".into(),
        Y::one("compatibleFlowTypes", Y::Seq(types)),
    )
}

/// The Call Common Module action with inputs or outputs: `callCommonModule: {name,
/// commonModule: {<module flow name>: {ver_latestPublished: {inputs: {Common.x: {exp|lit}},
/// outputs: {Common.y: {var: Flow.z}}}}}}` (`cx-as-code-export__CI_CD_Test_Flow-
/// INBOUNDCALL.yaml`, `darbyje-advanced-session__Terraform_Inbound_Flow_v1-0.yaml`). Inputs
/// and outputs are keyed by the module's variable names; it has no failure output
/// ([scripting] `ArchActionCallCommonModule`). A call with neither is
/// [`super::unverified::module_call_version_without_io`].
pub fn call_common_module(
    name: &str,
    module_flow_name: &str,
    inputs: Vec<(Key, Y)>,
    outputs: Vec<(Key, Y)>,
) -> Y {
    let version = if inputs.is_empty() && outputs.is_empty() {
        super::unverified::module_call_version_without_io()
    } else {
        let mut v = Vec::new();
        if !inputs.is_empty() {
            v.push(("inputs".into(), Y::Map(inputs)));
        }
        if !outputs.is_empty() {
            v.push(("outputs".into(), Y::Map(outputs)));
        }
        Y::Map(v)
    };
    Y::one(
        "callCommonModule",
        Y::map([
            ("name", Y::s(name)),
            (
                "commonModule",
                Y::one(
                    module_flow_name.to_owned(),
                    Y::one("ver_latestPublished", version),
                ),
            ),
        ]),
    )
}

/// How `evaluateScheduleGroup` names the schedule group: `scheduleGroup: {lit: {name: X},
/// name: X}`, exactly as `cx-as-code-export__CI_CD_Test_Flow-INBOUNDCALL.yaml` writes it
/// (and `dr-fallback-ivr__DR-Emergency-IVR.yaml` its `emergencyGroup`).
pub fn schedule_group(name: &str) -> Y {
    Y::map([("lit", Y::one("name", Y::s(name))), ("name", Y::s(name))])
}

/// The `evaluateScheduleGroup` output of a schedule state: `open`, `closed`, `holiday`,
/// `emergency` (all four in `cx-as-code-export__CI_CD_Test_Flow-INBOUNDCALL.yaml`;
/// [scripting] `ArchActionEvaluateScheduleGroup` `outputOpen` …).
pub fn schedule_output(state: ScheduleState) -> &'static str {
    state.as_str()
}

/// `setLanguage` of a language tag: `languageValue: {lit: <tag>}, language: <tag>`, lower
/// case with region (`cx-as-code-export__2445093_Lang-COMMONMODULE.yaml`, three times). The
/// expression form is [`super::unverified::set_language_expr`].
pub fn set_language_literal(tag: &str) -> Vec<(Key, Y)> {
    vec![
        ("languageValue".into(), Y::one("lit", Y::s(tag))),
        ("language".into(), Y::s(tag)),
    ]
}
