//! The sandbox's stand-in for the server-side Archy run of an Architect job: parse the
//! uploaded YAML and find the defects a real publish would reject, with Archy-like messages
//! that name the place (a JSON Pointer into the document).
//!
//! The judge is independent of flowsmith's compiler: it accepts what the evidence shows
//! Genesys accepts (`../shared/reference/archy-evidence.md`, the corpus of real files and its
//! key-path catalogue, [`crate::archy::catalogue`]) plus the shapes listed with their
//! evidence in [`unverified`], and refuses the rest:
//! - any key whose path is in neither (an unknown action, `supportedLanguages.en-us.none`);
//! - a relative reference (`./tasks/task[X]`) inside an action: Archy resolves `./` from the
//!   action's own place; references that do not resolve;
//! - a reusable task whose last action is not a closing action ("a task must have a closing
//!   action"; `transferToAcd` is not one: a failed transfer falls through);
//! - `tasks`, `startUpRef` or `jumpToTask` in a common module (one start-up sequence);
//! - `loopExit` outside a `loop`;
//! - a common module that calls a common module.
//!
//! Checks that need the org's state (called modules exist and are published, queues exist)
//! are done by the caller with [`Analysis::modules`] and [`Analysis::queues`]. Org objects of
//! types the sandbox does not model (data actions, data tables, schedule groups, prompts,
//! emergency groups, bot flows, flows named by transfer actions) are tolerated unresolved.

use std::sync::OnceLock;

use serde_yaml_ng::{Mapping, Value};

use crate::archy::catalogue::Catalogue;

/// Shapes and values the sandbox emulates but that could not be confirmed against a real
/// Genesys org. Keep every such guess here, so it is cheap to correct after comparing with an
/// export from a real org (`POST /api/v2/flows/export/jobs`, `exportType: Yaml`) and with the
/// raw responses of a real org.
pub mod unverified {
    /// Root keys the job accepts: (YAML root key, `Flow.type`, `Dependency.type`).
    /// `commonModule` as a root key is [M] (third-party fixtures only); the other three are
    /// the voice roots of the corpus.
    pub const ROOT_KEYS: &[(&str, &str, &str)] = &[
        ("inboundCall", "INBOUNDCALL", "INBOUNDCALLFLOW"),
        ("commonModule", "COMMONMODULE", "COMMONMODULEFLOW"),
        ("inqueueCall", "INQUEUECALL", "INQUEUECALLFLOW"),
        ("outboundCall", "OUTBOUNDCALL", "OUTBOUNDCALLFLOW"),
    ];
    /// A common module has no file in any public source. Its keys are checked as if its root
    /// were this flow type's: [scripting] `ArchFlowCommonModule` has no reusable tasks and its
    /// members match `ArchFlowInQueueCall`, whose files write one `startUpTaskActions`
    /// sequence (every `inqueueCall` file of the corpus); two third-party visualisers agree.
    pub const MODULE_ROOT_AS: (&str, &str) = ("commonModule", "inqueueCall");

    const JUMP: &str = "[scripting] `ArchActionJumpToTask`; the corpus has the menu choice \
        `menuJumpToTask: {name, targetTaskRef: /inboundCall/tasks/task[X]}` \
        (architect-flow-public-api-blueprint archy_flow.yml) and the message-flow action \
        `callTask.targetTaskRef` (switch-voice-to-web-messaging), not the action itself";
    const CALL_MODULE: &str = "third-party fixture that says it copies a real export; the same \
        nesting as the published `callBotFlow: {botFlow: {<name>: {ver_latestPublished: \
        {inputs, outputs}}}}` (aws-pipeline-cx-as-code-blueprint BasicMessageFlow.yaml); \
        [scripting] `ArchActionCallCommonModule`";
    const VARIABLES: &str = "the corpus has `isInput`/`isOutput` on string and integer \
        variables and `initialValue.noValue` on string, integer and queue variables; the \
        boolean forms are assumed alike";

    const MODULE_LANGUAGES: &str = "every workflow file of the corpus (flows without audio \
        settings) writes `supportedLanguages: {<lang>: {none: true}}`; Genesys help says a \
        module takes its text-to-speech settings from the consuming flow; a third-party \
        module fixture writes `none: true`";

    const SCHEDULE_GROUP: &str = "the one corpus sample of `evaluateScheduleGroup` \
        (set-emergency-group-lambda-blueprint main_flow.yaml) writes `scheduleGroup.exp` and \
        `emergencyGroup.lit.name` in the same action; a group named by `lit: {name}` follows \
        it and the corpus' `targetQueue.lit.name` [M]";
    const SCHEDULE_OUTPUTS: &str = "only `outputs.emergency` is in the corpus \
        (set-emergency-group-lambda-blueprint); Genesys help (\"Evaluate Schedule Group \
        action\") names the paths Open, Closed, Holiday and Emergency [L]";
    const MENU_PROMPT: &str = "the corpus has `playAudio.audio.prompt` (a prompt as audio) \
        and `menu.audio.tts`/`menu.audio.exp`; a menu's `audio` is the same audio type [M]";
    /// `dtmf` values of menu choices: `digit_1` … `digit_9` are in the corpus (every menu
    /// file); `digit_0` only follows their pattern [M]. Names for `*` and `#` have no
    /// evidence, so they are refused.
    pub const MENU_DTMF: &[&str] = &[
        "digit_0", "digit_1", "digit_2", "digit_3", "digit_4", "digit_5", "digit_6", "digit_7",
        "digit_8", "digit_9",
    ];
    const INPUT_PROMPT: &str = "the corpus has `playAudio.audio.prompt` (a prompt as audio) \
        and `collectInput.inputAudio.tts`; `inputAudio` is the same audio type [M]";

    /// Key paths (generalised, see [`crate::archy::catalogue`]) that no corpus file has but
    /// that the sandbox accepts, each with its evidence.
    pub const KEY_PATHS: &[(&str, &str)] = &[
        ("@action.jumpToTask", JUMP),
        ("@action.jumpToTask.name", JUMP),
        ("@action.jumpToTask.targetTaskRef", JUMP),
        ("@action.callCommonModule", CALL_MODULE),
        ("@action.callCommonModule.name", CALL_MODULE),
        ("@action.callCommonModule.commonModule", CALL_MODULE),
        ("@action.callCommonModule.commonModule.<name>", CALL_MODULE),
        (
            "@action.callCommonModule.commonModule.<name>.ver_latestPublished",
            CALL_MODULE,
        ),
        (
            "@action.callCommonModule.commonModule.<name>.ver_latestPublished.inputs",
            CALL_MODULE,
        ),
        (
            "@action.callCommonModule.commonModule.<name>.ver_latestPublished.inputs.<name>",
            CALL_MODULE,
        ),
        (
            "@action.callCommonModule.commonModule.<name>.ver_latestPublished.inputs.<name>.exp",
            CALL_MODULE,
        ),
        (
            "@action.callCommonModule.commonModule.<name>.ver_latestPublished.inputs.<name>.lit",
            CALL_MODULE,
        ),
        (
            "@action.callCommonModule.commonModule.<name>.ver_latestPublished.inputs.<name>.noValue",
            CALL_MODULE,
        ),
        (
            "@action.callCommonModule.commonModule.<name>.ver_latestPublished.outputs",
            CALL_MODULE,
        ),
        (
            "@action.callCommonModule.commonModule.<name>.ver_latestPublished.outputs.<name>",
            CALL_MODULE,
        ),
        (
            "@action.callCommonModule.commonModule.<name>.ver_latestPublished.outputs.<name>.var",
            CALL_MODULE,
        ),
        (
            "@action.callCommonModule.commonModule.<name>.ver_latestPublished.outputs.<name>.noValue",
            CALL_MODULE,
        ),
        (
            "commonModule.supportedLanguages.<name>.none",
            MODULE_LANGUAGES,
        ),
        (
            "@action.evaluateScheduleGroup.scheduleGroup.lit",
            SCHEDULE_GROUP,
        ),
        (
            "@action.evaluateScheduleGroup.scheduleGroup.lit.name",
            SCHEDULE_GROUP,
        ),
        (
            "@action.evaluateScheduleGroup.outputs.open",
            SCHEDULE_OUTPUTS,
        ),
        (
            "@action.evaluateScheduleGroup.outputs.open.actions",
            SCHEDULE_OUTPUTS,
        ),
        (
            "@action.evaluateScheduleGroup.outputs.closed",
            SCHEDULE_OUTPUTS,
        ),
        (
            "@action.evaluateScheduleGroup.outputs.closed.actions",
            SCHEDULE_OUTPUTS,
        ),
        (
            "@action.evaluateScheduleGroup.outputs.holiday",
            SCHEDULE_OUTPUTS,
        ),
        (
            "@action.evaluateScheduleGroup.outputs.holiday.actions",
            SCHEDULE_OUTPUTS,
        ),
        ("@action.collectInput.inputAudio.prompt", INPUT_PROMPT),
        ("inboundCall.menus[].menu.audio.prompt", MENU_PROMPT),
        ("@variable.booleanVariable.initialValue.noValue", VARIABLES),
        ("@variable.booleanVariable.isInput", VARIABLES),
        ("@variable.booleanVariable.isOutput", VARIABLES),
    ];
    /// Expression functions no corpus file calls but that flowsmith's template language
    /// offers, each with what evidence there is.
    pub const EXPRESSION_FUNCTIONS: &[(&str, &str)] = &[
        (
            "Upper",
            "no corpus file; `Lower` is in the corpus (workflow files). CHECK against the Architect expression help",
        ),
        (
            "Length",
            "no corpus file. CHECK against the Architect expression help",
        ),
        (
            "ToBool",
            "no corpus file; `ToInt`, `ToString` are. CHECK against the Architect expression help",
        ),
    ];
    /// Actions that may end a reusable task's action list: `disconnect` and `jumpToMenu` end
    /// every task of the corpus; `jumpToTask` closes by its meaning (a goto) [scripting].
    pub const CLOSING_ACTIONS: &[&str] = &["disconnect", "jumpToMenu", "jumpToTask"];
    /// The action that jumps to a reusable task (see `KEY_PATHS`).
    pub const JUMP_TO_TASK_ACTION: &str = "jumpToTask";
    /// The Call Common Module action: `callCommonModule: {name, commonModule: {<Module>: {ver_latestPublished: ...}}}` [M].
    pub const CALL_COMMON_MODULE_ACTION: &str = "callCommonModule";
    pub const CALL_COMMON_MODULE_KEY: &str = "commonModule";
    /// The key that names a queue as `targetQueue: {lit: {name: X}}` (transfer actions, menu
    /// choices and `settingsErrorHandling`, corpus); every such queue must exist.
    pub const QUEUE_KEY: &str = "targetQueue";
    /// `callData: {category: {<integration>: {dataAction: {<action>: {inputs,
    /// successOutputs, failureOutputs}}}}}` (corpus: callback-prioritization, ani-blacklist).
    pub const CALL_DATA_ACTION: &str = "callData";
    /// `dataTableLookup: {dataTable: {<table>: {foundOutputs, failureOutputs}}}` (corpus:
    /// CacheExampleFlow, ani-blacklist).
    pub const TABLE_LOOKUP_ACTION: &str = "dataTableLookup";
    /// A schedule group named as `scheduleGroup: {lit: {name: X}}`: by analogy with
    /// `targetQueue` and `emergencyGroup: {lit: {name}}` (corpus: DR-Emergency-IVR); the
    /// one corpus `evaluateScheduleGroup` passes `exp: ToScheduleGroup(NOT_SET)` instead.
    /// WEAKER EVIDENCE: no published file names a schedule group literally.
    pub const SCHEDULE_GROUP_KEY: &str = "scheduleGroup";
    /// An Architect prompt is named in expressions as `Prompt.<name>` (Architect's
    /// expression syntax). WEAKER EVIDENCE: no corpus file uses a prompt.
    pub const PROMPT_PREFIX: &str = "Prompt.";
    /// Message of the random job failure, mimicking a backend rate limit that TF retries
    /// (`isRetryableJobFailure` looks for "exit code: 107").
    pub const RETRYABLE_FAILURE: &str = "Error: ArchSession.startWithAuthToken - backend request failed with status 429 (Too Many Requests) while publishing flow '{name}': could not find the flow with id '{id}'. exit code: 107";
    /// Headers the presigned upload requires (besides a per-job signature header).
    pub const UPLOAD_CONTENT_TYPE: &str = "application/octet-stream";
    pub const UPLOAD_SSE_HEADER: &str = "x-amz-server-side-encryption";
    pub const UPLOAD_SIGNATURE_HEADER: &str = "x-amz-meta-signature";
    /// ErrorBody codes for cases we could not observe.
    pub const CODE_MISSING_TOKEN: &str = "bad.credentials";
    pub const CODE_BAD_TOKEN: &str = "bad.credentials";
    pub const CODE_FLOW_IN_USE: &str = "architect.dependency.object.in.use";
    pub const CODE_FLOW_LOCKED: &str = "architect.flow.locked";
    pub const CODE_FLOW_NOT_LOCKED: &str = "architect.flow.not.locked";
    pub const CODE_FLOW_EXISTS: &str = "architect.flow.name.conflict";
    pub const CODE_NO_CONFIGURATION: &str = "architect.flow.no.configuration";
    /// The division every sandbox object lives in.
    pub const HOME_DIVISION_ID: &str = "4f5d8c19-6e2a-4e58-9a6b-0c8b1b1f9a01";
    pub const HOME_DIVISION_NAME: &str = "Home";
}

use unverified::*;

/// The key paths the judge accepts: the corpus catalogue, the unverified paths, and module
/// roots read as in-queue roots.
pub fn catalogue() -> &'static Catalogue {
    static C: OnceLock<Catalogue> = OnceLock::new();
    C.get_or_init(|| {
        Catalogue::corpus()
            .with_paths(KEY_PATHS.iter().map(|(p, _)| *p))
            .with_alias(MODULE_ROOT_AS.0, MODULE_ROOT_AS.1)
    })
}

/// Functions called in the `exp` strings of the corpus (all 53 files). Genesys compares
/// function names without regard to case: real files write `tophonenumber` and `toString`.
const CORPUS_FUNCTIONS: &[&str] = &[
    "AddHours",
    "AddMinutes",
    "Append",
    "AreEqual",
    "AudioPlaybackOptions",
    "Contains",
    "Count",
    "DateTimeDiff",
    "FindFirst",
    "FindQueueById",
    "FindSkill",
    "FindString",
    "FindUserById",
    "GetAt",
    "GetCurrentDateTimeUtc",
    "GetJsonObjectProperty",
    "If",
    "IsNotSetOrEmpty",
    "IsSet",
    "JsonParse",
    "Left",
    "Lower",
    "MakeDuration",
    "MakeList",
    "MakeListAgentScorePair",
    "Replace",
    "Right",
    "Substring",
    "ToAudioBlank",
    "ToAudioDuration",
    "ToAudioTTS",
    "ToDateTime",
    "ToDisplayString",
    "ToInt",
    "ToPhoneNumber",
    "ToScheduleGroup",
    "ToString",
    "Trim",
];

/// Is `f` a function the evidence shows?
fn known_function(f: &str) -> bool {
    CORPUS_FUNCTIONS
        .iter()
        .copied()
        .chain(EXPRESSION_FUNCTIONS.iter().map(|(n, _)| *n))
        .any(|k| k.eq_ignore_ascii_case(f))
}

/// The names called as functions in an expression (`Name(`), string literals skipped;
/// the operators `and`, `or`, `not` before a parenthesis are not calls.
pub fn called_functions(exp: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = exp.char_indices().peekable();
    let mut ident = String::new();
    while let Some((_, c)) = chars.next() {
        if c == '"' {
            ident.clear();
            while let Some((_, d)) = chars.next() {
                match d {
                    '\\' => {
                        chars.next();
                    }
                    '"' => break,
                    _ => {}
                }
            }
            continue;
        }
        if c.is_alphanumeric() || c == '_' || c == '.' {
            ident.push(c);
            continue;
        }
        if c.is_whitespace() && !ident.is_empty() {
            // `Name (` is a call too; look past the blanks.
            while chars.peek().is_some_and(|(_, d)| d.is_whitespace()) {
                chars.next();
            }
            if chars.peek().is_some_and(|(_, d)| *d == '(') {
                continue;
            }
            ident.clear();
            continue;
        }
        if c == '(' && !ident.is_empty() {
            let lower = ident.to_ascii_lowercase();
            if !matches!(lower.as_str(), "and" | "or" | "not")
                && !ident.starts_with(|d: char| d.is_ascii_digit())
            {
                out.push(std::mem::take(&mut ident));
            }
        }
        ident.clear();
    }
    out
}

/// At most this many unknown-key messages per file (the rest are summed up in one line).
const MAX_UNKNOWN_KEY_MESSAGES: usize = 20;

/// What a structurally valid flow file says.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub root_key: String,
    /// `Flow.type` (upper case, e.g. `INBOUNDCALL`).
    pub flow_type: &'static str,
    pub name: String,
    /// (module name, calling action name), in document order, one entry per call.
    pub modules: Vec<(String, String)>,
    /// (queue name, naming action or setting), in document order.
    pub queues: Vec<(String, String)>,
    /// Data actions, data tables, schedule groups and prompts the flow names, in document
    /// order.
    pub objects: Vec<NamedObject>,
}

/// An org object (other than a queue or module) a flow names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgObject {
    /// A data action with the inputs and success outputs the flow maps.
    DataAction {
        integration: String,
        action: String,
        inputs: Vec<String>,
        outputs: Vec<String>,
    },
    /// A data table with the columns the flow reads when the key is found.
    DataTable {
        table: String,
        outputs: Vec<String>,
    },
    ScheduleGroup(String),
    Prompt(String),
}

/// Where a flow names an org object: the naming action and the JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedObject {
    pub object: OrgObject,
    pub action: String,
    pub at: String,
}

/// The `Prompt.<name>` references in an expression (or in a text that is one).
pub fn prompt_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(i) = text[from..].find(PROMPT_PREFIX) {
        let start = from + i;
        from = start + PROMPT_PREFIX.len();
        let ident_before = start > 0 && {
            let b = bytes[start - 1];
            b.is_ascii_alphanumeric() || b == b'_' || b == b'.'
        };
        if ident_before {
            continue;
        }
        let name: String = text[from..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// `Flow.type` and `Dependency.type` for a root key.
pub fn flow_type_of_root(root: &str) -> Option<(&'static str, &'static str)> {
    ROOT_KEYS
        .iter()
        .find(|(k, _, _)| *k == root)
        .map(|(_, t, d)| (*t, *d))
}

/// Dependency-tracking type (`INBOUNDCALLFLOW`) for a `Flow.type`.
pub fn dependency_type(flow_type: &str) -> String {
    format!("{flow_type}FLOW")
}

fn as_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn get<'a>(m: &'a Mapping, key: &str) -> Option<&'a Value> {
    m.get(Value::String(key.to_owned()))
}

fn escape(seg: &str) -> String {
    seg.replace('~', "~0").replace('/', "~1")
}

/// Parses and checks a flow file. `Err` holds every Archy-like error message found.
pub fn analyze(yaml: &str) -> Result<Analysis, Vec<String>> {
    let doc: Value = serde_yaml_ng::from_str(yaml)
        .map_err(|e| vec![format!("Error: Unable to parse the flow file as YAML: {e}")])?;
    let Value::Mapping(top) = &doc else {
        return Err(vec![
            "Error: The flow file must be a YAML mapping with one flow type key such as 'inboundCall' or 'commonModule'".to_owned(),
        ]);
    };
    let keys: Vec<String> = top.keys().filter_map(as_str).collect();
    let known: Vec<&String> = keys
        .iter()
        .filter(|k| flow_type_of_root(k).is_some())
        .collect();
    if keys.len() != 1 || known.len() != 1 {
        let supported: Vec<&str> = ROOT_KEYS.iter().map(|(k, _, _)| *k).collect();
        return Err(vec![format!(
            "Error: Unknown or missing flow type key {:?} at the root of the flow file; expected exactly one of {}",
            keys,
            supported.join(", ")
        )]);
    }
    let root_key = known[0].clone();
    let (flow_type, _) = flow_type_of_root(&root_key).expect("checked above");
    let Some(Value::Mapping(root)) = get(top, &root_key) else {
        return Err(vec![format!(
            "Error: The '{root_key}' flow definition must be a mapping"
        )]);
    };
    let Some(name) = get(root, "name")
        .and_then(as_str)
        .filter(|s| !s.trim().is_empty())
    else {
        return Err(vec![format!(
            "Error: Missing required property 'name' in '{root_key}'"
        )]);
    };
    let mut errors = Vec::new();
    let module = root_key == "commonModule";
    let one_sequence = module || root_key == "inqueueCall";
    if module {
        for key in ["tasks", "startUpRef"] {
            if get(root, key).is_some() {
                errors.push(format!(
                    "Error: Flow '{name}': a common module has no '{key}' (at /{root_key}/{key}): it runs one start-up sequence, 'startUpTaskActions'"
                ));
            }
        }
    }
    if one_sequence {
        if !matches!(get(root, "startUpTaskActions"), Some(Value::Sequence(_))) {
            errors.push(format!(
                "Error: Flow '{name}': missing required property 'startUpTaskActions' in '{root_key}'"
            ));
        }
    } else {
        match get(root, "startUpRef").and_then(as_str) {
            None => errors.push(format!(
                "Error: Flow '{name}': missing required property 'startUpRef' in '{root_key}'"
            )),
            Some(r) => {
                if resolve(top, &[root], &r).is_none() {
                    errors.push(format!(
                        "Error: Flow '{name}': Unable to resolve startUpRef '{r}' (at /{root_key}/startUpRef)"
                    ));
                }
            }
        }
    }
    let unknown = catalogue().unknown(&doc);
    for k in unknown.iter().take(MAX_UNKNOWN_KEY_MESSAGES) {
        let key = k.at.rsplit('/').next().unwrap_or_default();
        errors.push(format!(
            "Error: Flow '{name}': unknown property '{key}' at {}: no published Archy flow has '{}'",
            k.at,
            k.context_free()
        ));
    }
    if unknown.len() > MAX_UNKNOWN_KEY_MESSAGES {
        errors.push(format!(
            "Error: Flow '{name}': {} more unknown properties",
            unknown.len() - MAX_UNKNOWN_KEY_MESSAGES
        ));
    }
    if !one_sequence && let Some(Value::Sequence(tasks)) = get(root, "tasks") {
        for (i, t) in tasks.iter().enumerate() {
            let task = match t {
                Value::Mapping(m) => get(m, "task"),
                _ => None,
            };
            let Some(Value::Mapping(task)) = task else {
                errors.push(format!(
                    "Error: Flow '{name}': /{root_key}/tasks/{i} is not a task"
                ));
                continue;
            };
            let task_name = get(task, "name").and_then(as_str).unwrap_or_default();
            let last = match get(task, "actions") {
                Some(Value::Sequence(a)) => a.last().and_then(action_type),
                _ => None,
            };
            if !last
                .as_deref()
                .is_some_and(|l| CLOSING_ACTIONS.contains(&l))
            {
                errors.push(format!(
                        "Error: Flow '{name}': task '{task_name}' (at /{root_key}/tasks/{i}/task) must end with a closing action ({}); its last action is {}",
                        CLOSING_ACTIONS.join(", "),
                        last.map_or("missing".to_owned(), |l| format!("'{l}'"))
                    ));
            }
        }
    }
    if !one_sequence {
        menu_errors(root, &root_key, &name, &mut errors);
    }
    let mut walk = Walk {
        top,
        name: &name,
        module,
        errors: &mut errors,
        modules: Vec::new(),
        queues: Vec::new(),
        objects: Vec::new(),
        ancestors: Vec::new(),
    };
    let mut at = format!("/{}", escape(&root_key));
    walk.mapping(root, &mut at, Place::default());
    let Walk {
        modules,
        queues,
        objects,
        ..
    } = walk;
    if module {
        for (m, action) in &modules {
            errors.push(format!(
                "Error: Flow '{name}': a common module cannot call a common module: action '{action}' calls '{m}'"
            ));
        }
    }
    if errors.is_empty() {
        Ok(Analysis {
            root_key,
            flow_type,
            name,
            modules,
            queues,
            objects,
        })
    } else {
        Err(errors)
    }
}

/// What Archy refuses in `menus` (corpus: every menu has `name`, `refId` and `choices`, every
/// choice a `name`; a menu's choices answer distinct digits; `menuJumpToTask` names its
/// `targetTaskRef`). References (`targetTaskRef`, `defaultChildMenuRef`) are resolved with
/// the others.
fn menu_errors(root: &Mapping, root_key: &str, name: &str, errors: &mut Vec<String>) {
    let Some(menus) = get(root, "menus") else {
        return;
    };
    let Value::Sequence(menus) = menus else {
        errors.push(format!(
            "Error: Flow '{name}': /{root_key}/menus must be a list of menus"
        ));
        return;
    };
    for (i, m) in menus.iter().enumerate() {
        let at = format!("/{root_key}/menus/{i}/menu");
        let Some(Value::Mapping(menu)) = (match m {
            Value::Mapping(m) if m.len() == 1 => get(m, "menu"),
            _ => None,
        }) else {
            errors.push(format!(
                "Error: Flow '{name}': /{root_key}/menus/{i} is not a menu"
            ));
            continue;
        };
        let menu_name = get(menu, "name").and_then(as_str).unwrap_or_default();
        for key in ["name", "refId"] {
            if get(menu, key)
                .and_then(as_str)
                .is_none_or(|v| v.trim().is_empty())
            {
                errors.push(format!(
                    "Error: Flow '{name}': menu at {at} is missing required property '{key}'"
                ));
            }
        }
        let Some(Value::Sequence(choices)) = get(menu, "choices") else {
            errors.push(format!(
                "Error: Flow '{name}': menu '{menu_name}' at {at} is missing required property 'choices'"
            ));
            continue;
        };
        let mut seen: Vec<(String, usize)> = Vec::new();
        for (k, c) in choices.iter().enumerate() {
            let cat = format!("{at}/choices/{k}");
            let Some((kind, Value::Mapping(body))) = (match c {
                Value::Mapping(m) if m.len() == 1 => m.iter().next(),
                _ => None,
            }) else {
                errors.push(format!(
                    "Error: Flow '{name}': the menu choice at {cat} must be a mapping with one choice type key"
                ));
                continue;
            };
            let kind = as_str(kind).unwrap_or_default();
            let cat = format!("{cat}/{}", escape(&kind));
            if get(body, "name")
                .and_then(as_str)
                .is_none_or(|v| v.trim().is_empty())
            {
                errors.push(format!(
                    "Error: Flow '{name}': menu choice at {cat} is missing required property 'name'"
                ));
            }
            if kind == "menuJumpToTask" && get(body, "targetTaskRef").is_none() {
                errors.push(format!(
                    "Error: Flow '{name}': menu choice at {cat} (menuJumpToTask) is missing required property 'targetTaskRef'"
                ));
            }
            let Some(dtmf) = get(body, "dtmf") else {
                continue;
            };
            let Some(d) = as_str(dtmf).filter(|d| MENU_DTMF.contains(&d.as_str())) else {
                errors.push(format!(
                    "Error: Flow '{name}': menu choice at {cat}/dtmf has dtmf {:?}; no published flow has it (expected one of {})",
                    as_str(dtmf).unwrap_or_default(),
                    MENU_DTMF.join(", ")
                ));
                continue;
            };
            if let Some((_, first)) = seen.iter().find(|(s, _)| *s == d) {
                errors.push(format!(
                    "Error: Flow '{name}': menu '{menu_name}' answers {d} twice: at {cat}/dtmf and at {at}/choices/{first}"
                ));
            } else {
                seen.push((d, k));
            }
        }
    }
}

/// The type of an action-list item (`{playAudio: {...}}` → `playAudio`).
fn action_type(item: &Value) -> Option<String> {
    match item {
        Value::Mapping(m) if m.len() == 1 => m.keys().next().and_then(as_str),
        _ => None,
    }
}

/// Resolves a reference: absolute (`/inboundCall/tasks/task[X]`) from the document, relative
/// (`./menus/menu[X]`) from the innermost of `bases` where it resolves. Each step is a key,
/// or `item[refId]`: the list item whose `item` mapping has that `refId`.
pub fn resolve<'a>(top: &'a Mapping, bases: &[&'a Mapping], r: &str) -> Option<&'a Mapping> {
    if let Some(rest) = r.strip_prefix('/') {
        return resolve_from(top, rest);
    }
    let rest = r.strip_prefix("./")?;
    bases.iter().rev().find_map(|b| resolve_from(b, rest))
}

fn resolve_from<'a>(base: &'a Mapping, path: &str) -> Option<&'a Mapping> {
    let steps: Vec<&str> = path.split('/').collect();
    let mut cur = base;
    let mut i = 0;
    while i < steps.len() {
        match get(cur, steps[i])? {
            Value::Mapping(m) => {
                cur = m;
                i += 1;
            }
            // A list is stepped into by the item selector that follows it.
            Value::Sequence(items) => {
                let (item, ref_id) = steps.get(i + 1)?.strip_suffix(']')?.split_once('[')?;
                cur = items.iter().find_map(|it| match it {
                    Value::Mapping(m) => match get(m, item) {
                        Some(Value::Mapping(inner))
                            if get(inner, "refId").and_then(as_str).as_deref() == Some(ref_id) =>
                        {
                            Some(inner)
                        }
                        _ => None,
                    },
                    _ => None,
                })?;
                i += 2;
            }
            _ => return None,
        }
    }
    Some(cur)
}

/// Where the walk is: inside an action (relative references are wrong there) and how many
/// loops enclose it.
#[derive(Debug, Clone, Copy, Default)]
struct Place {
    in_action: bool,
    loops: usize,
}

struct Walk<'a> {
    top: &'a Mapping,
    name: &'a str,
    module: bool,
    errors: &'a mut Vec<String>,
    modules: Vec<(String, String)>,
    queues: Vec<(String, String)>,
    objects: Vec<NamedObject>,
    ancestors: Vec<&'a Mapping>,
}

impl<'a> Walk<'a> {
    fn mapping(&mut self, m: &'a Mapping, at: &mut String, place: Place) {
        self.ancestors.push(m);
        let owner = get(m, "name").and_then(as_str).unwrap_or_default();
        for (k, v) in m {
            let Some(k) = as_str(k) else { continue };
            let len = at.len();
            at.push('/');
            at.push_str(&escape(&k));
            if k.ends_with("Ref")
                && let Some(r) = as_str(v)
            {
                self.reference(&k, &r, at, place);
            }
            // Strings that may hold an expression (not spoken text, names or descriptions).
            let text = match v {
                Value::String(t)
                    if !matches!(k.as_str(), "tts" | "name" | "description" | "refId") =>
                {
                    t.as_str()
                }
                _ => "",
            };
            {
                for p in prompt_names(text) {
                    self.objects.push(NamedObject {
                        object: OrgObject::Prompt(p),
                        action: owner.clone(),
                        at: at.clone(),
                    });
                }
            }
            if k == SCHEDULE_GROUP_KEY
                && let Some(g) = queue_literal(v)
            {
                self.objects.push(NamedObject {
                    object: OrgObject::ScheduleGroup(g),
                    action: owner.clone(),
                    at: at.clone(),
                });
            }
            if k == "exp"
                && let Some(e) = as_str(v)
            {
                for f in called_functions(&e) {
                    if !known_function(&f) {
                        let name = self.name;
                        self.errors.push(format!(
                            "Error: Flow '{name}': unknown function '{f}' in the expression at {at}"
                        ));
                    }
                }
            }
            if k == QUEUE_KEY
                && let Some(q) = queue_literal(v)
            {
                self.queues.push((q, owner.clone()));
            }
            match v {
                Value::Sequence(items) if k == "actions" || k == "startUpTaskActions" => {
                    self.actions(items, at, place);
                }
                Value::Mapping(inner) => self.mapping(inner, at, place),
                Value::Sequence(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if let Value::Mapping(inner) = item {
                            let l = at.len();
                            at.push('/');
                            at.push_str(&i.to_string());
                            self.mapping(inner, at, place);
                            at.truncate(l);
                        }
                    }
                }
                _ => {}
            }
            at.truncate(len);
        }
        self.ancestors.pop();
    }

    fn actions(&mut self, items: &'a [Value], at: &mut String, place: Place) {
        let name = self.name;
        for (i, item) in items.iter().enumerate() {
            let len = at.len();
            at.push('/');
            at.push_str(&i.to_string());
            let Value::Mapping(m) = item else {
                self.errors.push(format!(
                    "Error: Flow '{name}': the action at {at} must be a mapping with one action type key"
                ));
                at.truncate(len);
                continue;
            };
            if m.len() != 1 {
                self.errors.push(format!(
                    "Error: Flow '{name}': the action at {at} must have exactly one action type key"
                ));
            }
            for (k, body) in m {
                let Some(kind) = as_str(k) else { continue };
                let l = at.len();
                at.push('/');
                at.push_str(&escape(&kind));
                let action_name = match body {
                    Value::Mapping(b) => get(b, "name").and_then(as_str).unwrap_or_default(),
                    _ => String::new(),
                };
                let mut inner = Place {
                    in_action: true,
                    ..place
                };
                match kind.as_str() {
                    "loop" => inner.loops += 1,
                    "loopExit" if place.loops == 0 => self.errors.push(format!(
                        "Error: Flow '{name}': loopExit '{action_name}' at {at} is not inside a loop"
                    )),
                    JUMP_TO_TASK_ACTION => {
                        if self.module {
                            self.errors.push(format!(
                                "Error: Flow '{name}': action '{action_name}' at {at}: a common module has no reusable tasks to jump to"
                            ));
                        }
                        let has_target =
                            matches!(body, Value::Mapping(b) if get(b, "targetTaskRef").is_some());
                        if !has_target {
                            self.errors.push(format!(
                                "Error: Flow '{name}': action '{action_name}' ({JUMP_TO_TASK_ACTION}) at {at} is missing required property 'targetTaskRef'"
                            ));
                        }
                    }
                    CALL_COMMON_MODULE_ACTION => {
                        match body {
                            Value::Mapping(b) => match get(b, CALL_COMMON_MODULE_KEY) {
                                Some(Value::Mapping(cm)) if !cm.is_empty() => {
                                    for module in cm.keys().filter_map(as_str) {
                                        self.modules.push((module, action_name.clone()));
                                    }
                                }
                                _ => self.errors.push(format!(
                                    "Error: Flow '{name}': action '{action_name}' ({CALL_COMMON_MODULE_ACTION}) at {at} does not name a common module"
                                )),
                            },
                            _ => self.errors.push(format!(
                                "Error: Flow '{name}': action at {at} ({CALL_COMMON_MODULE_ACTION}) does not name a common module"
                            )),
                        }
                    }
                    CALL_DATA_ACTION | TABLE_LOOKUP_ACTION => {
                        if let Value::Mapping(b) = body {
                            self.org_objects(&kind, b, at, &action_name);
                        }
                    }
                    _ => {}
                }
                if let Value::Mapping(b) = body {
                    self.mapping(b, at, inner);
                }
                at.truncate(l);
            }
            at.truncate(len);
        }
    }

    /// The data actions (`callData`) and data tables (`dataTableLookup`) an action names,
    /// as map keys (see `CALL_DATA_ACTION`, `TABLE_LOOKUP_ACTION`).
    fn org_objects(&mut self, kind: &str, body: &Mapping, at: &str, action_name: &str) {
        let keys = |m: Option<&Value>| -> Vec<String> {
            match m {
                Some(Value::Mapping(m)) => m.keys().filter_map(as_str).collect(),
                _ => Vec::new(),
            }
        };
        let name = self.name;
        if kind == CALL_DATA_ACTION {
            let Some(Value::Mapping(category)) = get(body, "category") else {
                self.errors.push(format!(
                    "Error: Flow '{name}': action '{action_name}' (callData) at {at} does not name a data action (category.<integration>.dataAction.<action>)"
                ));
                return;
            };
            for (integration, v) in category {
                let Some(integration) = as_str(integration) else {
                    continue;
                };
                let actions = match v {
                    Value::Mapping(m) => match get(m, "dataAction") {
                        Some(Value::Mapping(a)) => Some(a),
                        _ => None,
                    },
                    _ => None,
                };
                let Some(actions) = actions.filter(|a| !a.is_empty()) else {
                    self.errors.push(format!(
                        "Error: Flow '{name}': action '{action_name}' (callData) at {at}/category/{} does not name a data action",
                        escape(&integration)
                    ));
                    continue;
                };
                for (action, spec) in actions {
                    let Some(action) = as_str(action) else {
                        continue;
                    };
                    let spec = match spec {
                        Value::Mapping(m) => Some(m),
                        _ => None,
                    };
                    self.objects.push(NamedObject {
                        object: OrgObject::DataAction {
                            integration: integration.clone(),
                            action: action.clone(),
                            inputs: keys(spec.and_then(|m| get(m, "inputs"))),
                            outputs: keys(spec.and_then(|m| get(m, "successOutputs"))),
                        },
                        action: action_name.to_owned(),
                        at: format!(
                            "{at}/category/{}/dataAction/{}",
                            escape(&integration),
                            escape(&action)
                        ),
                    });
                }
            }
        } else {
            let Some(Value::Mapping(tables)) =
                get(body, "dataTable").filter(|t| matches!(t, Value::Mapping(m) if !m.is_empty()))
            else {
                self.errors.push(format!(
                    "Error: Flow '{name}': action '{action_name}' (dataTableLookup) at {at} does not name a data table"
                ));
                return;
            };
            for (table, spec) in tables {
                let Some(table) = as_str(table) else { continue };
                let spec = match spec {
                    Value::Mapping(m) => Some(m),
                    _ => None,
                };
                self.objects.push(NamedObject {
                    object: OrgObject::DataTable {
                        table: table.clone(),
                        outputs: keys(spec.and_then(|m| get(m, "foundOutputs"))),
                    },
                    action: action_name.to_owned(),
                    at: format!("{at}/dataTable/{}", escape(&table)),
                });
            }
        }
    }

    fn reference(&mut self, key: &str, r: &str, at: &str, place: Place) {
        let name = self.name;
        if place.in_action && r.starts_with("./") {
            let absolute = r.replacen("./", "/<root>/", 1);
            self.errors.push(format!(
                "Error: Flow '{name}': relative reference {key} '{r}' at {at}: inside an action './' resolves from the action's own place; write the absolute path ('{absolute}')"
            ));
            return;
        }
        if resolve(self.top, &self.ancestors, r).is_none() {
            self.errors.push(format!(
                "Error: Flow '{name}': Unable to resolve {key} '{r}' at {at}"
            ));
        }
    }
}

fn queue_literal(v: &Value) -> Option<String> {
    let Value::Mapping(tq) = v else { return None };
    let Some(Value::Mapping(lit)) = get(tq, "lit") else {
        return None;
    };
    get(lit, "name").and_then(as_str)
}

#[cfg(test)]
mod tests {
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
            called_functions(
                r#"Append("a(", ToString(Flow.n)) and not (IsSet (Flow.x)) or x.Y(1)"#
            ),
            ["Append", "ToString", "IsSet", "x.Y"]
        );
        assert!(called_functions("(1 + 2) * 3").is_empty());
        assert!(known_function("tophonenumber") && known_function("Upper"));
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
            e.contains("loopExit 'Stray' at /commonModule/startUpTaskActions/1/loopExit is not inside a loop"),
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
            e.contains("unknown property 'hangUp' at /inboundCall/tasks/0/task/actions/3/hangUp: no published Archy flow has '@action.hangUp'"),
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
        assert!(errors(&y).contains(
            "a common module cannot call a common module: action 'Nested' calls 'Other'"
        ));
    }

    #[test]
    fn prompt_references_in_expressions() {
        assert_eq!(
            prompt_names(
                "Append(ToAudio(Prompt.Welcome_1), ToAudio(Prompt.Bye), Prompt.Welcome_1)"
            ),
            vec!["Welcome_1".to_owned(), "Bye".to_owned()]
        );
        assert!(prompt_names("Flow.MyPrompt.x + SystemPrompt.y").is_empty());
    }

    /// Every voice flow of the corpus of real files passes the check (placeholders filled).
    #[test]
    fn accepts_every_voice_flow_of_the_corpus() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/archy-corpus");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
                continue;
            };
            if ext != "yaml" && ext != "yml" {
                continue;
            }
            let text = fill_placeholders(&std::fs::read_to_string(&path).unwrap());
            if let Err(e) = analyze(&text) {
                panic!("{}: {e:#?}", path.display());
            }
            n += 1;
        }
        assert_eq!(n, 26);
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
}
