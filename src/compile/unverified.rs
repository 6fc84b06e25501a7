//! Every Archy YAML shape the compiler emits that no evidence settles, each with the evidence
//! that exists and its grade (`shared/reference/archy-evidence.md`: [corpus] the 59 flow
//! files of `archy-corpus/`, [scripting] the Architect Scripting SDK reference,
//! [third-party] community code; [H]/[M]/[L] = high/medium/low confidence). Everything else
//! the compiler writes is in the corpus: `inboundCall` with absolute `startUpRef`/`jumpToTask`
//! task references, its `supportedLanguages` and `initialGreeting`, `playAudio`,
//! `collectInput`, `decision`, `updateData`, `transferToAcd`, `disconnect`, `loop`/`loopExit`,
//! inbound `menus` entries with their choices and settings (`compile::nodes::menu`), and,
//! since the corpus has 4 exported common modules and 2 callers, the module file, the module
//! call with inputs or outputs, `evaluateScheduleGroup`, `dataTableLookup`'s `failure` output
//! and a literal `setLanguage` ([`super::archy`], each with its corpus file).
//!
//! How to check what is left: build the flow in the Architect UI, export it
//! (`POST /api/v2/flows/export/jobs` with
//! `{"flows":[{"flow":{"id":"<id>"},"exportType":"Yaml"}]}`, poll
//! `GET /api/v2/flows/export/jobs/{jobId}`, download `downloadUrl`), and compare the exported
//! YAML with what the functions below produce.

use super::yaml::{Key, Y};

/// The `ver_latestPublished` of a module call with no inputs and no outputs: `{none:
/// true}` [M]. No module call of the corpus is without both; the analogous bot-flow call
/// writes `callBotFlow.botFlow.<name>.ver_latestPublished: {none: true}`
/// (web-messaging-triage-bot-blueprint `web-messaging-triage-bot.yaml`), and the empty map
/// `{}` flowsmith wrote before occurs in no file.
pub fn module_call_version_without_io() -> Y {
    Y::one("none", Y::Bool(true))
}

/// `setLanguage` with an expression [L]: `languageValue: {exp: <expression>}` and no
/// `language` key. The literal form, `languageValue: {lit: en-us}, language: en-us`, is
/// [corpus] (`cx-as-code-export__2445093_Lang-COMMONMODULE.yaml`, see
/// [`super::archy::set_language_literal`]); `languageValue` follows the corpus' `{lit|exp}`
/// value pattern ([scripting] `ArchActionSetLanguage` takes a language value), but no file
/// sets a language from an expression, and what Architect writes for `language` then is
/// unknown.
/// CHECK: export a flow whose Set Language action takes an expression.
pub fn set_language_expr(expression: &str) -> Vec<(Key, Y)> {
    vec![("languageValue".into(), Y::one("exp", Y::s(expression)))]
}

/// What an `End` node compiles to inside a common module.
///
/// Choice: nothing ([scripting] `ArchTaskCommonModule`: the module returns to its caller
/// when its action list ends; high). The structurer only places an End where nothing
/// follows it (`structure::Reason::EndNotLast` otherwise), and an End inside a loop leaves
/// the loop with `loopExit` first.
/// CHECK (now answered by the corpus, not yet followed): all 4 corpus modules end their
/// `startUpTaskActions` with `endTask: {name: Exit Common Module}`; the sandbox's
/// interpreter does not run `endTask` yet, so nothing is written until it does.
pub fn module_end(_name: &str) -> Option<Y> {
    None
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

/// The `dtmf` of an inbound menu choice, or `None` for `*` and `#` (such a Menu compiles to
/// `collectInput` + `switch`, see [`super::menu::entries`]).
/// Evidence: `digit_1` … `digit_9` are [corpus] (every menu file; `terminatingDtmf:
/// digit_9` in set-emergency-group-lambda-blueprint `main_flow.yaml`).
/// CHECK: `digit_0` follows that pattern but no published file has it [M]. `digit_*` and
/// `digit_#` follow it too [M: [scripting] `ArchBaseMenuChoice` takes `0`-`9`, `*`, `#`;
/// `terminatingDtmf: digit_*` in a `collectInput` of EventOrchestrator_Secure_Flow.yaml],
/// but no menu choice of any file has them, and the `collectInput` + `switch` form says the
/// same with corpus shapes only, so they are not written.
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
