//! How the judge knows a key path that no corpus file has: from the Architect Scripting SDK
//! reference (`sdk-reference.txt`, extracted by `crates/sandbox/tools/sdk_reference.py` from
//! MyPureCloud/purecloud-flow-scripting-api-sdk-javascript `docs/*.html`) and from the shapes
//! the corpus writes anywhere, read by the rules by which the corpus names SDK classes in YAML
//! (`../shared/reference/archy-evidence.md`, "More from the Architect Scripting SDK"):
//!
//! - an action is known if the corpus or the SDK has it (`ArchActionSetLanguage` →
//!   `setLanguage`); its properties are the corpus' ones, the SDK class's members, and the
//!   properties the corpus writes on at least [`GENERIC_PROPERTY_MIN`] actions (`name`);
//!   its outputs are the corpus' and the SDK's `outputX` members (`outputs.x`);
//! - below a property, any value shape the corpus writes below some action property
//!   (`lit`, `exp`, `var`, `noValue`, `lit.name`, `lit.seconds` …), and any key the corpus
//!   writes below the same parent key somewhere, or below at least [`GENERIC_CHILD_MIN`]
//!   different parent keys (`lit`, `exp`, `noValue`, `name`, `refId` …);
//! - a variable of an SDK variable type (`ArchVariableString` → `stringVariable`) with any
//!   member the corpus writes on a variable;
//! - below a flow's root, what the corpus writes below any root (`variables`, `tasks[].task.refId`,
//!   menu choices' members) unless the evidence says a flow type never has it
//!   ([`ROOT_DENIED`]), the SDK flow classes' settings with their properties, the
//!   `settingsActionDefaults` of known actions, and any text-to-speech engine name as the
//!   key below `textToSpeech` (the corpus writes `Genesys TTS`, `Genesys Enhanced TTS` there);
//! - what Genesys's documentation names where the naming rule gives no YAML name, each entry
//!   with its source: [`DOCUMENTED_PROPERTIES`] (transferToAcd `overrideInQueueFlow`),
//!   [`DOCUMENTED_VALUE_FORMS`] (`processingPrompt.noValueWithNoFallback`) and
//!   [`SETTING_ALIASES`] (an email flow's `settingsInboundEmailHandling.emailHandling`),
//!   [`NAMED_BY_KEY`] (the script of `setScreenPop`), [`TASK_PATHS`] (a task's
//!   `outputPaths`) and [`ALTERNATE_SEQUENCES`] (an audio's sequence per language).
//!
//! What no source names stays refused: an unknown action, a misspelled property or setting, a
//! member of another action's SDK class (`transferToAcd.targetTaskRef`), and a menu's
//! `defaultChildMenuRef` unless the corpus has it (the SDK's `ArchMenu.menuDefault` is the
//! setting, but nothing but one corpus file gives its YAML name).

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// The extracted SDK reference (see the module documentation).
pub const SDK_REFERENCE: &str = include_str!("sdk-reference.txt");

/// A property the corpus writes on at least this many different actions is every action's.
pub const GENERIC_PROPERTY_MIN: usize = 3;

/// A key the corpus writes below at least this many different parent keys may be below any.
pub const GENERIC_CHILD_MIN: usize = 3;

/// Keys that make a flow's structure, never generic below another key.
const STRUCTURAL: &[&str] = &[
    "actions",
    "outputs",
    "tasks",
    "states",
    "menus",
    "variables",
    "supportedLanguages",
    "startUpRef",
    "startUpTaskActions",
    "none",
    "defaultLanguage",
    "division",
    "settingsActionDefaults",
    "settingsErrorHandling",
    "settingsMenu",
    "settingsPrompts",
    "settingsSpeechRec",
];

/// (roots, rest of the path below the root) that the evidence says a flow type never has,
/// though other flow types do.
pub const ROOT_DENIED: &[(&[&str], &str, &str)] = &[
    (
        &["inboundCall", "inqueueCall", "outboundCall", "secureCall"],
        "supportedLanguages.<name>.none",
        "every inbound file with the block writes defaultLanguageSkill/textToSpeech; `none: true` never occurs (archy-evidence.md)",
    ),
    (
        &["commonModule"],
        "menus",
        "no corpus module has menus (archy-evidence.md, Common modules)",
    ),
    (
        &["commonModule"],
        "initialGreeting",
        "no corpus module has initialGreeting (archy-evidence.md, Common modules)",
    ),
    (
        &["commonModule"],
        "settingsMenu",
        "no corpus module has settingsMenu (archy-evidence.md, Common modules)",
    ),
];

/// YAML names of SDK members that the naming rule (module documentation) does not give, each
/// with the Genesys documentation that names the setting: (action, YAML property, SDK member,
/// evidence). The property is the action's wherever the SDK action has the member (in a task
/// and in the menu choice that holds the action).
pub const DOCUMENTED_PROPERTIES: &[(&str, &str, &str, &str)] = &[(
    "transferToAcd",
    "overrideInQueueFlow",
    "inQueueHandlingFlowInfo",
    "Genesys help, \"Transfer to ACD action\" (help.mypurecloud.com/articles/transfer-acd-action/): \
     the setting \"Override default in-queue handling / In-Queue Call Flow\", in call-flow menu \
     choices and task sequences; [scripting] ArchActionTransferToAcd.inQueueHandlingFlowInfo \
     (ArchFlowInfoBasic); a flow is named `{name: X}` (corpus: transferToFlow.targetFlow.name)",
)];

/// Action properties whose first key below is the name of an org object chosen by name:
/// (action, property, evidence). The corpus names org objects as map keys (data actions,
/// data tables, common modules: archy-evidence.md).
pub const NAMED_BY_KEY: &[(&str, &str, &str)] = &[(
    "setScreenPop",
    "screenPopScript",
    "[scripting] ArchActionSetScreenPop.setScriptByNameAsync(scriptName) with its \
     scriptInputs: a script chosen by name, with inputs",
)];

/// Keys of a reusable task beyond the corpus' `name`, `refId`, `actions`, `variables`:
/// (path below the root, evidence).
pub const TASK_PATHS: &[(&str, &str)] = &[
    ("tasks[].task.outputPaths", TASK_OUTPUT_PATHS),
    ("tasks[].task.outputPaths[].outputPath", TASK_OUTPUT_PATHS),
    (
        "tasks[].task.outputPaths[].outputPath.name",
        TASK_OUTPUT_PATHS,
    ),
];
const TASK_OUTPUT_PATHS: &str = "[scripting] ArchTask.branches (ArchBranch list, \
    addBranch(branchName)), ended by ArchActionEndTask.targetBranch; the corpus writes \
    endTask's targetBranch as `outputPath: {name}` (DudeWheresMyStuffChat.yaml), so a task's \
    branches are `outputPaths: [{outputPath: {name}}]`";

/// An audio property's sequences for other languages: `alternateSequences: {<language>:
/// <audio>}` below any property the SDK types `ArchAudio`.
pub const ALTERNATE_SEQUENCES: (&str, &str) = (
    "alternateSequences",
    "Genesys help, \"Enable alternate audio sequence\" \
     (help.mypurecloud.com/articles/enable-alternate-audio-sequence/): an audio has a main \
     sequence and an alternate sequence per supported language; [scripting] \
     ArchAudio.defaultCase and getAudioCaseByLanguage(archLanguage)",
);

/// Value forms documented for one property only: (property, form, evidence).
pub const DOCUMENTED_VALUE_FORMS: &[(&str, &str, &str)] = &[(
    "processingPrompt",
    "noValueWithNoFallback",
    "[scripting] changelog 0.44.0 (docs/changelog.html): \"the YAML export of the \
     ArchBaseActionDataAction#processingPrompt property when set to no value with no fallback \
     [...] export as noValueWithNoFallback: true\"",
)];

/// Flow settings that read as another flow setting: (path below the root, read as, evidence).
pub const SETTING_ALIASES: &[(&str, &str, &str)] = &[(
    "settingsInboundEmailHandling.emailHandling",
    "settingsErrorHandling.errorHandling",
    "[scripting] ArchFlowInboundEmail.settingsInboundEmailHandling (ArchSettingsInboundEmailFlow, \
     whose member is a handling type, `autoGeneratedEmailHandling`) beside \
     settingsErrorHandling (ArchSettingsEventErrorFlow, a handling type in `handling`); the \
     corpus writes a handling type as `<x>Handling: {<type>: {...}}` \
     (`settingsErrorHandling.errorHandling.disconnect.none`, every export)",
)];

/// What the SDK reference says, by YAML name.
#[derive(Debug, Default)]
pub struct Sdk {
    pub roots: HashSet<String>,
    pub flow_keys: HashMap<String, HashSet<String>>,
    pub settings: HashMap<String, HashSet<String>>,
    pub actions: HashMap<String, HashSet<String>>,
    pub outputs: HashMap<String, HashSet<String>>,
    pub choices: HashMap<String, HashSet<String>>,
    pub variables: HashSet<String>,
    /// (action, property) of the properties that are audio (`ArchAudio`).
    pub audio_props: HashSet<(String, String)>,
    /// Data types of values (`ArchValueScheduleGroup` → `schedulegroup`), lower-cased.
    pub datatypes: HashSet<String>,
}

impl Sdk {
    pub fn parse(text: &str) -> Sdk {
        let mut s = Sdk::default();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let f: Vec<&str> = line.split('\t').collect();
            let (Some(kind), Some(a)) = (f.first(), f.get(1)) else {
                continue;
            };
            let b = f.get(2).map(|b| (*b).to_owned()).unwrap_or_default();
            let a = (*a).to_owned();
            match *kind {
                "flow" => {
                    s.roots.insert(a);
                }
                "flowkey" => {
                    s.flow_keys.entry(a).or_default().insert(b);
                }
                "settings" => {
                    s.settings.entry(a).or_default().insert(b);
                }
                "action" => {
                    s.actions.entry(a).or_default();
                }
                "prop" => {
                    if f.get(3) == Some(&"ArchAudio") {
                        s.audio_props.insert((a.clone(), b.clone()));
                    }
                    s.actions.entry(a).or_default().insert(b);
                }
                "output" => {
                    s.outputs.entry(a).or_default().insert(b);
                }
                "choice" => {
                    s.choices.entry(a).or_default();
                }
                "choiceprop" => {
                    s.choices.entry(a).or_default().insert(b);
                }
                "variable" => {
                    s.variables.insert(a);
                }
                "datatype" => {
                    s.datatypes.insert(a.to_ascii_lowercase());
                }
                _ => {}
            }
        }
        s
    }
}

/// The SDK reference committed with the crate.
pub fn sdk() -> &'static Sdk {
    static S: OnceLock<Sdk> = OnceLock::new();
    S.get_or_init(|| Sdk::parse(SDK_REFERENCE))
}

/// What a set of known context-free paths says in general (see the module documentation).
#[derive(Debug, Default, Clone)]
pub struct Index {
    action_props: HashMap<String, HashSet<String>>,
    action_outputs: HashMap<String, HashSet<String>>,
    generic_props: HashSet<String>,
    value_tails: HashSet<String>,
    variable_types: HashSet<String>,
    variable_rest: HashSet<String>,
    roots: HashSet<String>,
    below_root: HashSet<String>,
    choice_kinds: HashSet<String>,
    choice_props: HashSet<String>,
    /// (parent key, key) pairs of every known path, lists' `[]` removed.
    pairs: HashSet<(String, String)>,
    generic_children: HashSet<String>,
}

const CHOICES: &str = "menus[].menu.choices[].";

impl Index {
    pub fn new<'a>(known: impl IntoIterator<Item = &'a String>, roots: &[&str]) -> Index {
        let mut ix = Index {
            roots: roots.iter().map(|r| (*r).to_owned()).collect(),
            ..Index::default()
        };
        let mut prop_actions: HashMap<String, HashSet<String>> = HashMap::new();
        let mut parents: HashMap<String, HashSet<String>> = HashMap::new();
        for cf in known {
            let segs: Vec<&str> = cf.split('.').map(|s| s.trim_end_matches("[]")).collect();
            for w in segs.windows(2) {
                ix.pairs.insert((w[0].to_owned(), w[1].to_owned()));
                parents
                    .entry(w[1].to_owned())
                    .or_default()
                    .insert(w[0].to_owned());
            }
            if let Some(rest) = cf.strip_prefix("@action.") {
                let mut segs = rest.splitn(3, '.');
                let action = segs.next().unwrap_or_default().to_owned();
                let props = ix.action_props.entry(action.clone()).or_default();
                let (Some(prop), tail) = (segs.next(), segs.next()) else {
                    continue;
                };
                props.insert(prop.to_owned());
                prop_actions
                    .entry(prop.to_owned())
                    .or_default()
                    .insert(action.clone());
                match (prop, tail) {
                    ("outputs", Some(t)) => {
                        let out = t.split('.').next().unwrap_or_default().to_owned();
                        ix.action_outputs.entry(action).or_default().insert(out);
                    }
                    (_, Some(t)) => {
                        ix.value_tails.insert(t.to_owned());
                    }
                    _ => {}
                }
            } else if let Some(rest) = cf.strip_prefix("@variable.") {
                let (ty, r) = rest.split_once('.').unwrap_or((rest, ""));
                ix.variable_types.insert(ty.to_owned());
                if !r.is_empty() {
                    ix.variable_rest.insert(r.to_owned());
                }
            } else if let Some((root, rest)) = cf.split_once('.') {
                ix.roots.insert(root.to_owned());
                let rest = engine_as_default(rest);
                if let Some(c) = rest.strip_prefix(CHOICES) {
                    let (kind, p) = c.split_once('.').unwrap_or((c, ""));
                    ix.choice_kinds.insert(kind.to_owned());
                    if !p.is_empty() {
                        ix.choice_props.insert(p.to_owned());
                    }
                }
                ix.below_root.insert(rest);
            } else {
                ix.roots.insert(cf.clone());
            }
        }
        ix.generic_children = parents
            .into_iter()
            .filter(|(c, p)| p.len() >= GENERIC_CHILD_MIN && !STRUCTURAL.contains(&c.as_str()))
            .map(|(c, _)| c)
            .collect();
        ix.generic_props = prop_actions
            .into_iter()
            .filter(|(_, a)| a.len() >= GENERIC_PROPERTY_MIN)
            .map(|(p, _)| p)
            .collect();
        ix
    }

    /// Is this context-free path known by generalisation?
    pub fn knows(&self, cf: &str) -> bool {
        if let Some(rest) = cf.strip_prefix("@action.") {
            return self.knows_action(rest);
        }
        if let Some(rest) = cf.strip_prefix("@variable.") {
            let (ty, r) = rest.split_once('.').unwrap_or((rest, ""));
            let typed = self.variable_types.contains(ty) || sdk().variables.contains(ty);
            return typed && (r.is_empty() || self.variable_rest.contains(r));
        }
        let (root, rest) = cf.split_once('.').unwrap_or((cf, ""));
        if !self.roots.contains(root) && !sdk().roots.contains(root) {
            return false;
        }
        if rest.is_empty() {
            return true;
        }
        if denied(root, rest).is_some() {
            return false;
        }
        self.knows_below_root(root, &engine_as_default(rest))
    }

    /// The last key of `path` is known below its parent key (see the module documentation).
    fn last_pair_known(&self, path: &str) -> bool {
        let mut it = path.rsplit('.').map(|s| s.trim_end_matches("[]"));
        let (Some(child), Some(parent)) = (it.next(), it.next()) else {
            return false;
        };
        // An `updateData` statement names a data type (corpus: `statements[].string`,
        // `integer`…), the SDK's variable types without `Variable`.
        let data_type =
            parent == "statements" && sdk().variables.contains(&format!("{child}Variable"));
        // A list `xs` holds items `{x: …}` (corpus: `tasks[].task`, `menus[].menu`,
        // `states[].state`, `acdSkills[].acdSkill`).
        let item = parent.strip_suffix('s') == Some(child);
        data_type
            || item
            || self.generic_children.contains(child)
            || self.pairs.contains(&(parent.to_owned(), child.to_owned()))
    }

    fn knows_below_root(&self, root: &str, rest: &str) -> bool {
        if self.below_root.contains(rest) {
            return true;
        }
        // Deeper than a root key: a known parent (checked as its own path) and a known pair.
        if rest.contains('.') && self.last_pair_known(&format!("{root}.{rest}")) {
            return true;
        }
        if TASK_PATHS.iter().any(|(p, _)| *p == rest) {
            return true;
        }
        for (alias, as_path, _) in SETTING_ALIASES {
            let Some(tail) = rest.strip_prefix(alias) else {
                continue;
            };
            let key = alias.split('.').next().unwrap_or_default();
            let flow_has = sdk().flow_keys.get(root).is_some_and(|k| k.contains(key));
            if flow_has && (tail.is_empty() || tail.starts_with('.')) {
                return self.knows_below_root(root, &format!("{as_path}{tail}"));
            }
        }
        let (key, below) = rest.split_once('.').unwrap_or((rest, ""));
        if below.is_empty() && sdk().flow_keys.get(root).is_some_and(|k| k.contains(key)) {
            return true;
        }
        if key == "settingsActionDefaults" {
            return below.is_empty() || self.knows_action(below);
        }
        if let Some(props) = sdk().settings.get(key) {
            let (p, tail) = below.split_once('.').unwrap_or((below, ""));
            if props.contains(p) && (tail.is_empty() || self.value_tails.contains(tail)) {
                return true;
            }
        }
        // Below a text-to-speech engine: the engine's own settings (`voice`, `defaultVoice`),
        // engine-defined like the engine names.
        if let Some(x) = rest.strip_prefix("supportedLanguages.<name>.textToSpeech.defaultEngine.")
        {
            return !x.contains('.');
        }
        if let Some(c) = rest.strip_prefix(CHOICES) {
            let (kind, p) = c.split_once('.').unwrap_or((c, ""));
            let kind_known = self.choice_kinds.contains(kind) || sdk().choices.contains_key(kind);
            if !kind_known {
                return false;
            }
            if p.is_empty() || self.choice_props.contains(p) {
                return true;
            }
            // A choice `menuX` does what action `x` does, with its properties (SDK
            // `ArchMenuTransferToAcd` holds an `ArchActionTransferToAcd`; corpus:
            // `menuTransferToAcd.targetQueue` as `transferToAcd.targetQueue`).
            let action = kind.strip_prefix("menu").map(|a| {
                let mut c = a.chars();
                c.next()
                    .map(|f| f.to_lowercase().chain(c).collect::<String>())
                    .unwrap_or_default()
            });
            if action.is_some_and(|a| {
                self.action_props.contains_key(&a) && self.knows_action(&format!("{a}.{p}"))
            }) {
                return true;
            }
            let (first, tail) = p.split_once('.').unwrap_or((p, ""));
            let named = sdk().choices.get(kind).is_some_and(|m| m.contains(first))
                || self.choice_props.contains(first);
            return named && (tail.is_empty() || self.value_tails.contains(tail));
        }
        false
    }

    /// `rest` is `<action>[.<property>[.<tail>]]`.
    fn knows_action(&self, rest: &str) -> bool {
        let mut segs = rest.splitn(3, '.');
        let action = segs.next().unwrap_or_default();
        let corpus = self.action_props.get(action);
        let from_sdk = sdk().actions.get(action);
        if corpus.is_none() && from_sdk.is_none() {
            return false;
        }
        let Some(prop) = segs.next() else {
            return true;
        };
        let tail = segs.next();
        if prop == "outputs" {
            let Some(t) = tail else { return true };
            let mut t = t.splitn(2, '.');
            let out = t.next().unwrap_or_default();
            let known_out = self
                .action_outputs
                .get(action)
                .is_some_and(|o| o.contains(out))
                || sdk().outputs.get(action).is_some_and(|o| o.contains(out))
                || out == "<name>";
            return known_out && t.next().is_none_or(|r| r == "actions");
        }
        if NAMED_BY_KEY
            .iter()
            .any(|(a, p, _)| *a == action && *p == prop)
        {
            let Some(t) = tail else { return true };
            let (_, below) = t.split_once('.').unwrap_or((t, ""));
            return below.is_empty() || self.last_pair_known(&format!("{prop}.<name>.{below}"));
        }
        if let Some(t) = tail
            && sdk()
                .audio_props
                .contains(&(action.to_owned(), prop.to_owned()))
            && let Some(rest) = t
                .strip_prefix(ALTERNATE_SEQUENCES.0)
                .filter(|r| r.is_empty() || r.starts_with('.'))
        {
            let mut segs = rest.trim_start_matches('.').splitn(2, '.');
            let language = segs.next().unwrap_or_default();
            let language_tag = language
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
            return language_tag && segs.next().is_none_or(|v| self.value_tails.contains(v));
        }
        // `x: {noValue: true}` and `x: [{…}]` are one property (corpus: transferToAcd
        // `acdSkills` both ways).
        let bare = prop.trim_end_matches("[]");
        let documented = DOCUMENTED_PROPERTIES.iter().any(|(a, p, member, _)| {
            *a == action && *p == bare && from_sdk.is_some_and(|m| m.contains(*member))
        });
        let known_prop = corpus.is_some_and(|p| p.contains(prop) || p.contains(bare))
            || from_sdk.is_some_and(|p| p.contains(bare))
            || self.generic_props.contains(prop)
            || documented;
        known_prop
            && tail.is_none_or(|t| {
                self.value_tails.contains(t)
                    || DOCUMENTED_VALUE_FORMS
                        .iter()
                        .any(|(p, form, _)| *p == bare && *form == t)
                    || self.last_pair_known(&format!("{prop}.{t}"))
            })
    }
}

/// Why the evidence says `root` never has `rest` (below it), if it does.
pub fn denied(root: &str, rest: &str) -> Option<&'static str> {
    ROOT_DENIED
        .iter()
        .find(|(roots, r, _)| {
            roots.contains(&root)
                && (rest == *r || rest.strip_prefix(r).is_some_and(|x| x.starts_with('.')))
        })
        .map(|(_, _, why)| *why)
}

/// A text-to-speech engine's name below `textToSpeech` is a name (the corpus writes
/// `defaultEngine`, `Genesys TTS` and `Genesys Enhanced TTS` there, each with `voice`).
fn engine_as_default(rest: &str) -> String {
    const TTS: &str = ".textToSpeech.";
    let Some(i) = rest.find(TTS) else {
        return rest.to_owned();
    };
    let after = &rest[i + TTS.len()..];
    let (_, tail) = after
        .split_once('.')
        .map_or((after, None), |(e, t)| (e, Some(t)));
    let mut out = format!("{}{TTS}defaultEngine", &rest[..i]);
    if let Some(t) = tail {
        out.push('.');
        out.push_str(t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_sdk_reference() {
        let s = sdk();
        assert!(s.actions.contains_key("setLanguage"));
        assert!(s.actions["transferToAcd"].contains("targetQueue"));
        let outs = &s.outputs["evaluateScheduleGroup"];
        for o in ["open", "closed", "holiday", "emergency"] {
            assert!(outs.contains(o), "{o}");
        }
        assert!(s.outputs["dataTableLookup"].contains("failure"));
        assert!(s.settings["settingsMenu"].contains("repeatCount"));
        assert!(s.settings["settingsCommonModule"].contains("compatibleFlowTypes"));
        assert!(s.variables.contains("stringVariable"));
        assert!(s.datatypes.contains("schedulegroup") && s.datatypes.contains("audio"));
        assert!(s.roots.contains("inqueueCall") && s.roots.contains("commonModule"));
        assert!(SDK_REFERENCE.contains("purecloud-flow-scripting-api-sdk-javascript"));
    }

    #[test]
    fn engine_names_read_as_the_default_engine() {
        assert_eq!(
            engine_as_default("supportedLanguages.<name>.textToSpeech.Amazon Polly.voice"),
            "supportedLanguages.<name>.textToSpeech.defaultEngine.voice"
        );
        assert_eq!(
            engine_as_default("supportedLanguages.<name>.textToSpeech"),
            "supportedLanguages.<name>.textToSpeech"
        );
    }

    #[test]
    fn generalises_and_still_refuses() {
        let known: Vec<String> = [
            "@action.playAudio",
            "@action.playAudio.name",
            "@action.playAudio.audio.tts",
            "@action.decision.name",
            "@action.disconnect.name",
            "@action.transferToAcd.name",
            "@action.transferToAcd.targetQueue.lit.name",
            "@action.transferToAcd.outputs.failure.actions",
            "@variable.stringVariable.isInput",
            "inboundCall.tasks[].task.refId",
            "inboundCall.supportedLanguages.<name>.textToSpeech.defaultEngine.voice",
            "commonModule.supportedLanguages.<name>.none",
            "inboundCall.menus[].menu.choices[].menuJumpToTask.refId",
            "inboundCall.settingsErrorHandling.errorHandling.disconnect.none",
            "@action.callData.category.<name>.dataAction.<name>.inputs.<name>.exp",
            "@action.endTask.outputPath.name",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let ix = Index::new(&known, &["inboundCall", "commonModule"]);
        for yes in [
            "@action.setLanguage",
            "@action.setLanguage.name",
            "@action.setLanguage.languageValue.tts",
            "@action.evaluateScheduleGroup.outputs.holiday.actions",
            "@action.dataTableLookup.outputs.failure",
            "@action.transferToAcd.priority.lit.name",
            "@variable.booleanVariable.isInput",
            "inqueueCall.tasks[].task.refId",
            "inboundCall.supportedLanguages.<name>.textToSpeech.Amazon Polly.voice",
            "inboundCall.menus[].menu.choices[].menuTask.refId",
            "inboundCall.settingsMenu.repeatCount.lit.name",
            "commonModule.settingsCommonModule",
            "inboundCall.settingsActionDefaults.transferToAcd.targetQueue",
            // Named by Genesys's documentation (DOCUMENTED_PROPERTIES, …).
            "@action.transferToAcd.overrideInQueueFlow",
            "@action.transferToAcd.overrideInQueueFlow.name",
            "inboundCall.menus[].menu.choices[].menuTransferToAcd.overrideInQueueFlow.name",
            "@action.callData.processingPrompt.noValueWithNoFallback",
            "inboundCall.settingsActionDefaults.callBridge.processingPrompt.noValueWithNoFallback",
            "inboundEmail.settingsInboundEmailHandling.emailHandling.disconnect.none",
            "@action.setScreenPop.screenPopScript.My Script.inputs.<name>.exp",
            "inboundShortMessage.tasks[].task.outputPaths[].outputPath.name",
            "@action.playAudio.audio.alternateSequences.fr-ca.tts",
            "@action.transferToAcd.preTransferAudio.alternateSequences",
        ] {
            assert!(ix.knows(yes), "{yes}");
        }
        for no in [
            "@action.hangUp",
            "@action.transferToAcd.frobnicate",
            "@action.transferToAcd.targetQueue.weird",
            "@action.evaluateScheduleGroup.outputs.sometimes",
            "@variable.fooVariable",
            "@variable.stringVariable.isSecret",
            "inboundCall.supportedLanguages.<name>.none",
            "commonModule.menus",
            "nowhereCall.name",
            "inboundCall.menus[].menu.choices[].menuGoSomewhere",
            "inboundCall.settingsMenu.repeatTimes",
            "@action.transferToAcd.overrideInQueueFlows",
            "@action.disconnect.overrideInQueueFlow",
            "@action.callData.processingPrompt.noValueWithNoFallbak",
            "@action.playAudio.processingPrompt.noValueWithNoFallback",
            "inboundCall.settingsInboundEmailHandling.emailHandling",
            "inboundEmail.settingsInboundEmailHandling.emailHandling.disconect",
            "@action.setScreenPop.screenPopScrypt",
            "inboundShortMessage.tasks[].task.outputPathz",
            "@action.playAudio.audio.alternateSequences.fr-ca.ttz",
            "@action.transferToAcd.targetQueue.alternateSequences",
        ] {
            assert!(!ix.knows(no), "{no}");
        }
    }
}
