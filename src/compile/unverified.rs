//! Every Archy YAML shape the compiler emits that no evidence settles, each with the evidence
//! that exists (`shared/reference/archy-evidence.md`: [corpus] the 53 published flow files,
//! [scripting] the Architect Scripting SDK reference, [third-party] community code; [H]/[M]/[L]
//! = high/medium/low confidence). Everything else the compiler writes is in the corpus:
//! `inboundCall` with absolute `startUpRef`/`jumpToTask` task references, its
//! `supportedLanguages` and `initialGreeting`, `playAudio`, `collectInput`, `decision` (one-
//! or two-sided outputs), `updateData`, `transferToAcd`, `disconnect`, `loop`/`loopExit`,
//! `startUpTaskActions` as the key of a one-sequence flow (in-queue flows), and inbound
//! `menus` entries with their choices and settings (`compile::nodes::menu`; what a menu does is
//! partly unsettled: [`MENU_BEHAVIOUR`], [`menu_dtmf`]).
//!
//! No common-module file is public, so most entries are about modules. How to check: build
//! one common module (with a loop) and one inbound call flow that calls it in the Architect
//! UI, export both (`POST /api/v2/flows/export/jobs` with
//! `{"flows":[{"flow":{"id":"<id>"},"exportType":"Yaml"}]}`, poll
//! `GET /api/v2/flows/export/jobs/{jobId}?expand=messages`, download `downloadUrl`), and
//! compare the exported YAML with what the functions below produce.

use super::yaml::Y;
use crate::template::FlowType;

/// Root key of the YAML document.
/// CHECK: `commonModule` for modules ([M]: third-party fixtures and parsers that say they
/// copy real exports); `inboundCall` is [corpus].
pub fn root_key(t: FlowType) -> &'static str {
    match t {
        FlowType::Inbound => "inboundCall",
        FlowType::Module => "commonModule",
    }
}

/// Prefix of flow-scoped variables (also of a module's loop counters).
/// CHECK: `Common.` inside a common module, with `isInput`/`isOutput` ([M], third-party
/// fixtures); `Flow.` in inbound call flows is [corpus]. The corpus' loops count in `Task.`
/// and `Flow.` variables; a module has no tasks, so its loop counters are `Common.`.
pub fn var_prefix(t: FlowType) -> &'static str {
    match t {
        FlowType::Inbound => "Flow.",
        FlowType::Module => "Common.",
    }
}

/// `supportedLanguages` of a common module.
/// CHECK: `{<lang>: {none: true}}`. Evidence: a third-party module fixture ([L]) and every
/// workflow file of the corpus (flows without audio settings) write `none: true`; Genesys
/// help says modules take their text-to-speech settings from the consuming flow, so the
/// inbound block's `textToSpeech` does not belong here. No common-module file is public.
pub fn module_supported_languages(lang: &str) -> Y {
    Y::one(lang.to_owned(), Y::one("none", Y::Bool(true)))
}

/// The root key holding a common module's one action sequence.
/// CHECK: `startUpTaskActions`. Evidence (medium-high): the scripting SDK's
/// `ArchFlowCommonModule` has no reusable tasks and matches `ArchFlowInQueueCall`, whose
/// corpus files all use `startUpTaskActions`; two third-party visualisers say so.
pub fn module_sequence_key() -> &'static str {
    "startUpTaskActions"
}

/// Extra root keys of a common module after `supportedLanguages`: the flow types that may
/// call it, `settingsCommonModule.compatibleFlowTypes` (every corpus module writes it).
pub fn module_root_extras() -> Vec<(super::yaml::Key, Y)> {
    let inbound = Y::Seq(vec![Y::one("flowType", Y::s("inboundcall"))]); // corpus: all 4 modules
    vec![(
        "settingsCommonModule".into(),
        Y::one("compatibleFlowTypes", inbound),
    )]
}

/// What an `End` node compiles to inside a common module.
///
/// Choice: nothing ([scripting] `ArchTaskCommonModule`: the module returns to its caller
/// when its action list ends; high). The structurer only places an End where nothing
/// follows it (`structure::Reason::EndNotLast` otherwise), and an End inside a loop leaves
/// the loop with `loopExit` first.
/// CHECK: whether a real export ends the module with an explicit action; if so, return it
/// here.
pub fn module_end(_name: &str) -> Option<Y> {
    None
}

/// The Call Common Module action ([M]: a third-party fixture; analogous to the published
/// `callBotFlow` shape, aws-pipeline-cx-as-code-blueprint). That it has no failure output
/// is [H] ([scripting] `ArchActionCallCommonModule`). Inputs and outputs are keyed by the MODULE's variable names (with the
/// module's prefix); outputs name caller variables with `var:`.
/// CHECK: the action key `callCommonModule`, the `commonModule: {<flow name>:
/// {ver_latestPublished: ...}}` nesting, whether every module input must be listed (we emit
/// `noValue: true` for inputs the caller does not set), and whether the action has a
/// `failureOutputs`/`outputs.failure` path (none is emitted: a Flow node's onError is not
/// compiled and a warning says so).
pub fn call_common_module(
    name: &str,
    module_flow_name: &str,
    inputs: Vec<(super::yaml::Key, Y)>,
    outputs: Vec<(super::yaml::Key, Y)>,
) -> Y {
    let mut version = Vec::new();
    if !inputs.is_empty() {
        version.push(("inputs".into(), Y::Map(inputs)));
    }
    if !outputs.is_empty() {
        version.push(("outputs".into(), Y::Map(outputs)));
    }
    Y::one(
        "callCommonModule",
        Y::map([
            ("name", Y::s(name)),
            (
                "commonModule",
                Y::one(
                    module_flow_name.to_owned(),
                    Y::one("ver_latestPublished", Y::Map(version)),
                ),
            ),
        ]),
    )
}

/// `loopCount` of every compiled loop: `lit: 10000`.
/// CHECK: the largest `loopCount` Archy accepts. The shape `loopCount: {lit}` is [corpus]
/// (`lit: 5`, callback-prioritization); no bound is documented. 10,000 equals Genesys's
/// limit of actions per call, so the call reaches that limit before the count could end a
/// loop the template does not leave (see `structure`). If Archy caps it lower, a retry loop
/// of the template could end early there; the cap would belong here.
pub fn loop_count() -> Y {
    Y::one("lit", Y::Int(super::structure::LOOP_COUNT))
}

/// Transfers and disconnects inside a common module are compiled as written, with this
/// warning (`module_leaves_call`) at validation.
/// CHECK: one community forum post says a module may not transfer or disconnect and always
/// returns to its caller ([L]); nothing stronger says so, hence a warning, not an error.
pub fn module_leaves_call_warning(node_type: &str) -> String {
    format!(
        "a {node_type} inside a common module is not verified: one community report says a \
         module must return to its caller"
    )
}

/// A string literal inside a Genesys expression.
/// CHECK: escaping of `"` and `\` inside expression strings (backslash escapes assumed).
pub fn string_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// How `playAudio` names a user (Architect) prompt.
/// CHECK: `Prompt.<name>`; the corpus has only system prompts, written
/// `audio: {prompt: PromptSystem.<name>}` (key path `@action.playAudio.audio.prompt`);
/// `Prompt.` for user prompts is the Architect expression namespace (Architect help,
/// "Prompt" data type) [M].
pub fn user_prompt(name: &str) -> String {
    format!("Prompt.{name}")
}

/// How `evaluateScheduleGroup` names the schedule group.
/// CHECK: `scheduleGroup: {lit: {name}}`. The one corpus sample (set-emergency-group-lambda-
/// blueprint `main_flow.yaml`) writes `scheduleGroup: {exp: ToScheduleGroup(NOT_SET)}` and
/// names its emergency group `emergencyGroup: {lit: {name}}` in the same action; the queue
/// references of the corpus are `lit: {name}` too [M].
pub fn schedule_group(name: &str) -> Y {
    Y::one("lit", Y::one("name", Y::s(name)))
}

/// The `evaluateScheduleGroup` output of a schedule state.
/// CHECK: only `emergency` is in the corpus (set-emergency-group-lambda-blueprint); `open`,
/// `closed`, `holiday` follow the Evaluate Schedule Group action's paths Open, Closed,
/// Holiday, Emergency in Genesys help ("Evaluate Schedule Group action") [L].
pub fn schedule_output(state: crate::template::model::ScheduleState) -> &'static str {
    state.as_str()
}

/// The `dtmf` of an inbound menu choice, or `None` for a digit no evidence names (such a
/// Menu compiles to `collectInput` + `switch`, see [`super::menu::entries`]).
/// Evidence: `digit_1` … `digit_9` are [corpus] (every menu file; `terminatingDtmf:
/// digit_9` in set-emergency-group-lambda-blueprint `main_flow.yaml`).
/// CHECK: `digit_0` follows that pattern but no published file has it [M]. `*` and `#`
/// have no evidence at all (Archy's names for them are unknown): not written.
pub fn menu_dtmf(d: char) -> Option<String> {
    d.is_ascii_digit().then(|| format!("digit_{d}"))
}

/// What an inbound `menus` entry does, as flowsmith simulates it and the sandbox's
/// interpreter runs it. The shapes are [corpus] (see [`super::menu`]); these behaviours are
/// not all settled by evidence:
/// - `repeatCount` is how many times the menu prompt plays before control passes to the
///   default menu choice (`defaultChildMenuRef`) [H: Genesys help, "Configure default menu
///   settings": the prompt repeats this many times, then Architect passes control to the
///   menu's default choice, if there is one];
/// - CHECK: a digit that is no choice counts like no input (the prompt plays again) [L:
///   the help page names only the selection timeout];
/// - CHECK: with no default choice the call disconnects after the repeats [L: no page says
///   what happens; a flowsmith Menu without `onError` ends the call, so the template means
///   the same either way unless Genesys does something else];
/// - CHECK: a `menuTransferToAcd` whose transfer fails: the corpus shape has no failure
///   path, so only a Route with nothing after a failed transfer is written this way.
pub const MENU_BEHAVIOUR: &str = "repeatCount plays, then the default choice; a wrong digit counts as no input; no default choice: disconnect";
