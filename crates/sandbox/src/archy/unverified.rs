//! Shapes and values the sandbox emulates but that could not be confirmed against a real
//! Genesys org. Keep every such guess here, so it is cheap to correct after comparing with an
//! export from a real org (`POST /api/v2/flows/export/jobs`, `exportType: Yaml`) and with the
//! raw responses of a real org.

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
const CALL_MODULE_NONE: &str = "a module call with no inputs and no outputs; the \
    analogous bot-flow call writes `ver_latestPublished: {none: true}` \
    (web-messaging-triage-bot-blueprint web-messaging-triage-bot.yaml) [M]";
const SET_LANGUAGE_EXP: &str = "the corpus sets languages by literal only \
    (`languageValue: {lit}`, cx-as-code-export 2445093_Lang-COMMONMODULE.yaml); an \
    expression follows the corpus' `{lit|exp}` value pattern [L]";
const VARIABLES: &str = "the corpus has `isInput`/`isOutput` on string and integer \
    variables and `initialValue.noValue` on string, integer and queue variables; the \
    boolean forms are assumed alike";

const MODULE_LANGUAGES: &str = "every workflow file of the corpus (flows without audio \
    settings) writes `supportedLanguages: {<lang>: {none: true}}`; Genesys help says a \
    module takes its text-to-speech settings from the consuming flow; a third-party \
    module fixture writes `none: true`";

const SCHEDULE_GROUP: &str = "the one corpus sample of `evaluateScheduleGroup` \
    (dr-fallback-ivr DR-Emergency-IVR.yaml) writes `scheduleGroup.exp` and \
    `emergencyGroup.lit.name` in the same action; a group named by `lit: {name}` follows \
    it and the corpus' `targetQueue.lit.name` [M]";
const SCHEDULE_OUTPUTS: &str = "only `outputs.emergency` is in the corpus \
    (dr-fallback-ivr DR-Emergency-IVR.yaml); Genesys help (\"Evaluate Schedule Group \
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
    (
        "@action.callCommonModule.commonModule.<name>.ver_latestPublished.none",
        CALL_MODULE_NONE,
    ),
    ("@action.setLanguage.languageValue.exp", SET_LANGUAGE_EXP),
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
