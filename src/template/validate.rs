//! Validation of template documents (spec section 3): every rule yields a [`Finding`] with a
//! JSON Pointer into the submitted document; a document with no errors yields a [`Flow`].
//!
//! The document is walked as raw JSON (not through serde derives) so that every finding has
//! an exact pointer and all findings are collected, not just the first. Parameters are
//! substituted first ([`super::params`]); substitution only replaces string values, so
//! pointers into the instantiated document are pointers into the submitted one.
//!
//! Finding codes (stable): see [`CODES`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use serde_json::{Map, Value};

use super::expr::{self, Expr, is_var_name};
use super::model::{
    Assignment, Branch, ModuleRef, Node, NodeKind, QueueRef, SetValue, Text, VarRef, VarType,
};
use super::{Catalog, Finding, Flow, FlowType, ModuleInterface, name_problem, params, pointer};

/// Every finding code validation can produce.
pub const CODES: &[&str] = &[
    // document shape
    "invalid_type",
    "invalid_value",
    "missing_field",
    "unknown_field",
    "unknown_property",
    "missing_property",
    "invalid_name",
    "invalid_variable_name",
    "invalid_node_id",
    "inputs_on_inbound",
    // parameters
    "invalid_parameter",
    "missing_parameter",
    "parameter_type",
    "undeclared_parameter",
    "unused_parameter",
    // nodes and graph
    "unknown_node_type",
    "id_mismatch",
    "missing_start_node",
    "unknown_start_node",
    "unknown_next_node",
    "conflicting_on_error",
    "on_error_not_compiled",
    "ignored_exit",
    "no_exit",
    "unreachable_node",
    "loop_without_gather",
    "if_without_conditions",
    "gather_digits",
    "invalid_route_queue",
    "invalid_flow_reference",
    "flow_timeout_ignored",
    "module_calls_module",
    "unknown_module_input",
    "unknown_module_output",
    "output_never_set",
    // expressions and variables
    "expression_syntax",
    "expression_type",
    "text_syntax",
    "invalid_set_value",
    "set_type_mismatch",
    "variable_type_conflict",
    "undefined_variable",
    "unverified_variable",
    "read_before_write",
    // limits
    "analysis_skipped",
    // the IVR vocabulary
    "duplicate_choice",
    "prompt_variable",
];

/// The Archy action of a node type whose onError cannot be compiled (the action has no
/// failure output): Say, Set and Flow.
fn uncompiled_on_error(ty: &str) -> Option<&'static str> {
    match ty {
        "Say" => Some("playAudio"),
        "Set" => Some("updateData"),
        "Flow" => Some("callCommonModule"),
        "SetParticipantData" => Some("setParticipantData"),
        "GetParticipantData" => Some("getParticipantData"),
        "Schedule" => Some("evaluateScheduleGroup"),
        // The corpus shows only found/notFound outputs (catalogue), no failure output.
        "TableLookup" => Some("dataTableLookup"),
        _ => None,
    }
}

/// Most bitset words the read-before-write analysis may hold per table (nodes × written
/// variables / 64): 2 Mi words is 16 MiB a table, three tables.
const MAX_DATAFLOW_WORDS: usize = 2 * 1024 * 1024;
/// Most word operations the analysis may spend before it gives up (with a warning): bounds
/// the validator's time on any document.
const MAX_DATAFLOW_WORK: u64 = 400_000_000;

/// The node types of the template language.
pub const NODE_TYPES: [&str; 16] = [
    "Say",
    "Gather",
    "Set",
    "If",
    "Route",
    "Flow",
    "End",
    "Disconnect",
    "Menu",
    "DataAction",
    "TableLookup",
    "Switch",
    "SetParticipantData",
    "GetParticipantData",
    "Schedule",
    "Voicemail",
];

/// Longest node id accepted (node ids become Archy task reference ids).
pub const MAX_NODE_ID_LEN: usize = 100;

/// Largest Gather `maxDigits` (spec section 3): no simulated input may be longer.
pub const MAX_DIGITS_LIMIT: i64 = 32;

/// Gather `maxDigits` when the document does not say: one digit (a menu choice).
pub const DEFAULT_MAX_DIGITS: u32 = 1;

const TOP_FIELDS: &[&str] = &[
    "name",
    "type",
    "description",
    "division",
    "language",
    "greeting",
    "parameters",
    "inputs",
    "outputs",
    "draft",
    "inbound",
    "outbound",
];
const DRAFT_FIELDS: &[&str] = &["startNode", "nodes", "edges"];
const NODE_FIELDS: &[&str] = &[
    "id",
    "type",
    "properties",
    "onComplete",
    "onError",
    "onTimeout",
    "onNotFound",
];

fn allowed_properties(ty: &str) -> &'static [&'static str] {
    match ty {
        "Say" => &["sayText", "sayLanguage", "playBeepBeforeText", "promptName"],
        "Menu" => &[
            "prompt",
            "promptName",
            "choices",
            "repeat",
            "timeoutSeconds",
        ],
        "DataAction" => &[
            "integration",
            "action",
            "inputs",
            "outputs",
            "timeoutSeconds",
        ],
        "TableLookup" => &["table", "key", "outputs"],
        "Switch" => &["cases", "defaultNextNode"],
        "SetParticipantData" | "GetParticipantData" => &["attributes"],
        "Schedule" => &["scheduleGroup", "open", "closed", "holiday", "emergency"],
        "Voicemail" => &["queue"],
        "Gather" => &[
            "promptText",
            "maxDigits",
            "minDigits",
            "timeoutSeconds",
            "interDigitTimeoutSeconds",
            "promptLanguage",
        ],
        "Set" => &["setVars"],
        "If" => &["conditions", "defaultNextNode"],
        "Route" => &["queueId", "queueName", "skillRequirements", "priority"],
        "Flow" => &["flowName", "flowId", "inputs", "outputs", "timeoutSeconds"],
        "End" => &["endType"],
        _ => &[],
    }
}

/// Properties of the seed that are accepted silently (and ignored).
fn silently_accepted(ty: &str, key: &str, value: &Value) -> bool {
    let seed_extra = match key {
        "sayGender" => ty == "Say",
        "promptGender" => ty == "Gather",
        _ => false,
    };
    seed_extra || (ty == "Flow" && matches!(key, "flowId" | "flowName") && value.is_null())
}

/// The outcome of validating one document.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// The validated model, present when there is no error.
    #[serde(skip)]
    pub flow: Option<Flow>,
}

impl Report {
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(Finding::is_error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.is_error())
    }
}

/// Store-time validation: parameters are not known yet, so each `{{name}}` is checked with
/// its declared default or a sample value of its type.
pub fn validate(doc: &Value, catalog: &dyn Catalog) -> Report {
    run(doc, &Map::new(), true, catalog)
}

/// Validation of a document instantiated with `params` (a job, a compile or a simulation):
/// a required parameter without a value is an error.
pub fn validate_with_params(
    doc: &Value,
    params: &Map<String, Value>,
    catalog: &dyn Catalog,
) -> Report {
    run(doc, params, false, catalog)
}

fn run(
    doc: &Value,
    params: &Map<String, Value>,
    store_time: bool,
    catalog: &dyn Catalog,
) -> Report {
    let (doc, mut findings) = params::instantiate_borrowed(doc, params, store_time);
    let mut v = Validator {
        findings: Vec::new(),
        catalog,
        hint_work: HINT_WORK,
    };
    let flow = v.document(&doc);
    findings.append(&mut v.findings);
    if let Some(f) = &flow
        && !findings.iter().any(Finding::is_error)
    {
        findings.extend(structure_finding(&doc, f));
        findings.extend(prompt_findings(f));
    }
    let flow = if findings.iter().any(Finding::is_error) {
        None
    } else {
        flow
    };
    Report { findings, flow }
}

/// A module whose graph has no structured Archy form (see `compile::structure`): an error
/// pointing at the edge that causes it.
fn structure_finding(doc: &Value, flow: &Flow) -> Option<Finding> {
    use crate::compile::{CompileError, ExitField, exit_field, structured};
    if flow.flow_type != FlowType::Module {
        return None;
    }
    let Err(CompileError::NotStructurable { node, exit, reason }) =
        structured(flow, FlowType::Module)
    else {
        return None;
    };
    let n = flow.nodes.get(&node)?;
    let base = ["draft", "nodes", node.as_str()];
    let p = match exit_field(n, exit) {
        ExitField::Next => pointer(base.iter().copied().chain(["onComplete", "nextNode"])),
        ExitField::OnError => {
            let on_error = pointer(base.iter().copied().chain(["onError", "nextNode"]));
            if doc.pointer(&on_error).is_some_and(|v| !v.is_null()) {
                on_error
            } else {
                pointer(base.iter().copied().chain(["onComplete", "onError"]))
            }
        }
        ExitField::Condition(k) => {
            let k = k.to_string();
            pointer(base.iter().copied().chain([
                "properties",
                "conditions",
                k.as_str(),
                "nextNode",
            ]))
        }
        ExitField::Default => pointer(
            base.iter()
                .copied()
                .chain(["properties", "defaultNextNode"]),
        ),
    };
    Some(
        Finding::error(
            "module_not_structurable",
            p,
            format!(
                "the module has no structured Archy form at node '{node}': {}",
                reason.message()
            ),
        )
        .with_hint(reason.hint()),
    )
}

/// Prompts with a variable where the compiled action cannot take one: a `collectInput`'s
/// `inputAudio` is `tts` (literal text) in every published flow, never `exp`
/// (`archy-catalogue.json`), so a Gather prompt, and a Menu prompt that compiles to
/// `collectInput` (modules; see `compile::menu::entries`), must be literal. `playAudio` and a
/// `menus` entry take `exp` [corpus].
fn prompt_findings(flow: &Flow) -> Vec<Finding> {
    let mut out = Vec::new();
    let menus = crate::compile::menu::entries(flow, flow.flow_type);
    for n in flow.nodes.values() {
        let (field, text) = match &n.kind {
            NodeKind::Gather { prompt, .. } => ("promptText", prompt),
            NodeKind::Menu {
                prompt: crate::template::model::Prompt::Text(t),
                ..
            } if !menus.contains_key(n.id.as_str()) => ("prompt", t),
            _ => continue,
        };
        if let Some(v) = text.vars().next() {
            out.push(
                Finding::error(
                    "prompt_variable",
                    pointer(["draft", "nodes", n.id.as_str(), "properties", field]),
                    format!(
                        "the {} prompt reads {{{}}}: it compiles to Archy's collectInput, whose \
                         prompt is literal text in every published flow (no evidence that \
                         Genesys accepts an expression there)",
                        n.kind.type_name(),
                        v.name()
                    ),
                )
                .with_hint(
                    "say the part with the variable in a Say node just before, and keep this \
                     prompt literal",
                ),
            );
        }
    }
    out
}

/// What other templates need to know about a validated flow when they call it.
pub fn interface(flow: &Flow) -> ModuleInterface {
    ModuleInterface {
        name: flow.name.clone(),
        declared_type: Some(flow.flow_type),
        inputs: flow.inputs.clone(),
        outputs: flow.outputs.clone(),
        calls_modules: flow
            .nodes
            .values()
            .any(|n| matches!(n.kind, NodeKind::CallModule { .. })),
    }
}

fn at(base: &str, key: &str) -> String {
    format!("{base}{}", pointer([key]))
}

fn ty_name(t: VarType) -> &'static str {
    match t {
        VarType::String => "string",
        VarType::Integer => "integer",
        VarType::Boolean => "boolean",
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Levenshtein distance (only computed for findings, never on the hot path).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(!ca.eq_ignore_ascii_case(cb));
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The known name closest to `name`, if it is close enough to be a typo of it.
pub(crate) fn did_you_mean<'a>(
    name: &str,
    known: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    did_you_mean_within(name, known, &mut { HINT_WORK })
}

/// Most edit-distance cells spent on "did you mean" hints for one document: each hint costs
/// (length × length) per candidate, so a document of many long unknown names against many
/// node ids would otherwise be quadratic twice over. Past it, findings have no such hint.
const HINT_WORK: u64 = 20_000_000;

/// [`did_you_mean`], spending at most `budget` cells (and nothing on names of more than
/// 200 characters, which no one mistypes for a short one).
fn did_you_mean_within<'a>(
    name: &str,
    known: impl Iterator<Item = &'a str>,
    budget: &mut u64,
) -> Option<&'a str> {
    let len = name.chars().count();
    if len > 200 {
        return None;
    }
    let limit = (len / 3).max(2);
    let mut best: Option<(usize, &str)> = None;
    for k in known {
        // A length difference is a lower bound of the distance.
        if len.abs_diff(k.len()) > limit {
            continue;
        }
        let cost = ((len + 1) * (k.len() + 1)) as u64;
        let Some(left) = budget.checked_sub(cost) else {
            break;
        };
        *budget = left;
        let d = edit_distance(name, k);
        if d <= limit && best.is_none_or(|b| (d, k) < b) {
            best = Some((d, k));
        }
    }
    best.map(|(_, k)| k)
}

/// A variable read, with where it is read.
struct Read {
    var: VarRef,
    at: String,
    /// Inside `IsSet(...)`/`IsNotSetOrEmpty(...)`: not a use for read-before-write.
    guarded: bool,
    /// For Set nodes: the number of this node's assignments executed before the read.
    after_writes: usize,
}

/// A variable written, with where (the key or name that writes it) and its type if known.
struct Write {
    var: VarRef,
    ty: Option<VarType>,
    at: String,
}

/// An expression whose type is checked once every variable's type is known.
struct Typed {
    expr: Expr,
    at: String,
    want: VarType,
    what: &'static str,
}

struct PNode {
    key: String,
    at: String,
    ty: String,
    kind: Option<NodeKind>,
    /// Every exit: (target, pointer of the target string, is the error exit).
    exits: Vec<(String, String, bool)>,
    next: Option<String>,
    on_error: Option<String>,
    reads: Vec<Read>,
    /// Written on every exit (Set assignments).
    writes: Vec<Write>,
    /// Written on the success exit only (Gather digits, module outputs).
    success_writes: Vec<Write>,
    /// A called module whose outputs are unknown (not in the catalog, or by flow id).
    unverified_call: Option<String>,
    typed: Vec<Typed>,
}

impl PNode {
    fn terminal(&self) -> bool {
        matches!(
            self.ty.as_str(),
            "End" | "Disconnect" | "Route" | "Voicemail"
        )
    }
}

struct Validator<'a> {
    findings: Vec<Finding>,
    catalog: &'a dyn Catalog,
    /// What is left of [`HINT_WORK`] for this document.
    hint_work: u64,
}

impl Validator<'_> {
    fn error(&mut self, code: &str, at: impl Into<String>, msg: impl Into<String>) {
        self.findings.push(Finding::error(code, at, msg));
    }

    fn error_hint(
        &mut self,
        code: &str,
        at: impl Into<String>,
        msg: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.findings
            .push(Finding::error(code, at, msg).with_hint(hint));
    }

    fn warning(&mut self, code: &str, at: impl Into<String>, msg: impl Into<String>) {
        self.findings.push(Finding::warning(code, at, msg));
    }

    fn wrong_type(&mut self, at: &str, what: &str, v: &Value) {
        self.error(
            "invalid_type",
            at,
            format!("{what}, found {}", json_kind(v)),
        );
    }

    fn unknown_fields(
        &mut self,
        obj: &Map<String, Value>,
        base: &str,
        allowed: &[&str],
        what: &str,
    ) {
        for k in obj.keys() {
            if !allowed.contains(&k.as_str()) {
                self.error_hint(
                    "unknown_field",
                    at(base, k),
                    format!("unknown field '{k}' in {what}"),
                    format!("allowed fields: {}", allowed.join(", ")),
                );
            }
        }
    }

    /// An optional string field: `None` when absent or null.
    fn opt_str(&mut self, obj: &Map<String, Value>, key: &str, base: &str) -> Option<String> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => {
                self.wrong_type(&at(base, key), &format!("'{key}' must be a string"), v);
                None
            }
        }
    }

    fn opt_int(&mut self, obj: &Map<String, Value>, key: &str, base: &str) -> Option<i64> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_i64() {
                Some(n) => Some(n),
                None => {
                    self.wrong_type(&at(base, key), &format!("'{key}' must be an integer"), v);
                    None
                }
            },
        }
    }

    fn opt_seconds(&mut self, obj: &Map<String, Value>, key: &str, base: &str) -> Option<u32> {
        let n = self.opt_int(obj, key, base)?;
        match u32::try_from(n) {
            Ok(s) => Some(s),
            Err(_) => {
                self.error(
                    "invalid_value",
                    at(base, key),
                    format!("'{key}' must be 0 or more"),
                );
                None
            }
        }
    }

    fn opt_bool(&mut self, obj: &Map<String, Value>, key: &str, base: &str) -> Option<bool> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(v) => {
                self.wrong_type(&at(base, key), &format!("'{key}' must be true or false"), v);
                None
            }
        }
    }

    fn var_name(&mut self, name: &str, at: &str, what: &str) -> bool {
        if is_var_name(name) {
            return true;
        }
        self.error_hint(
            "invalid_variable_name",
            at,
            format!("{what} '{name}' is not a valid Genesys variable name"),
            "use letters, digits and '_', not starting with a digit",
        );
        false
    }

    fn parse_expr(&mut self, src: &str, at: &str) -> Option<Expr> {
        match expr::parse(src) {
            Ok(e) => Some(e),
            Err(e) => {
                self.findings.push(
                    Finding::error(
                        "expression_syntax",
                        at,
                        format!("{} at offset {} in {src:?}", e.message, e.offset),
                    )
                    .with_hint(format!(
                        "{src}\n{}^",
                        " ".repeat(src[..e.offset.min(src.len())].chars().count())
                    )),
                );
                None
            }
        }
    }

    fn parse_text(&mut self, src: &str, at: &str) -> Option<Text> {
        match expr::parse_text(src) {
            Ok(t) => Some(t),
            Err(e) => {
                self.error_hint(
                    "text_syntax",
                    at,
                    format!("{} at offset {} in {src:?}", e.message, e.offset),
                    "write {name} or {Node.digits} to insert a variable",
                );
                None
            }
        }
    }

    /// `{name: {type}}` declarations of module inputs/outputs.
    fn var_decls(
        &mut self,
        doc: &Map<String, Value>,
        key: &str,
    ) -> Option<BTreeMap<String, (VarType, String)>> {
        let raw = doc.get(key)?;
        let base = pointer([key]);
        let Some(obj) = raw.as_object() else {
            if !raw.is_null() {
                self.wrong_type(
                    &base,
                    &format!("'{key}' must be an object {{name: {{type}}}}"),
                    raw,
                );
            }
            return None;
        };
        let mut out = BTreeMap::new();
        for (name, decl) in obj {
            let dat = at(&base, name);
            self.var_name(name, &dat, &format!("{key} variable"));
            let ty = match decl {
                Value::Object(d) => {
                    self.unknown_fields(
                        d,
                        &dat,
                        &["type", "description"],
                        "a variable declaration",
                    );
                    self.opt_str(d, "description", &dat);
                    match d.get("type") {
                        Some(Value::String(t)) => match VarType::parse(t) {
                            Some(t) => t,
                            None => {
                                self.error_hint(
                                    "invalid_value",
                                    at(&dat, "type"),
                                    format!("unknown variable type '{t}'"),
                                    "use string, integer or boolean",
                                );
                                VarType::String
                            }
                        },
                        None | Some(Value::Null) => VarType::String,
                        Some(v) => {
                            self.wrong_type(&at(&dat, "type"), "'type' must be a string", v);
                            VarType::String
                        }
                    }
                }
                v => {
                    self.wrong_type(&dat, "a variable declaration must be an object {type}", v);
                    VarType::String
                }
            };
            out.insert(name.clone(), (ty, dat));
        }
        Some(out)
    }

    fn document(&mut self, doc: &Value) -> Option<Flow> {
        let Some(obj) = doc.as_object() else {
            self.wrong_type("", "a template document must be a JSON object", doc);
            return None;
        };
        self.unknown_fields(obj, "", TOP_FIELDS, "the template document");

        let name = match obj.get("name") {
            None | Some(Value::Null) => {
                self.error("missing_field", "/name", "the template has no name");
                None
            }
            Some(Value::String(s)) => {
                if let Some(problem) = name_problem(s) {
                    self.error_hint(
                        "invalid_name",
                        "/name",
                        format!("Genesys would reject the flow name {s:?}: {problem}"),
                        "use 1-200 characters without control characters, leading/trailing spaces or any of \\ / : * ? \" < > |",
                    );
                }
                Some(s.clone())
            }
            Some(v) => {
                self.wrong_type("/name", "'name' must be a string", v);
                None
            }
        };
        let flow_type = match obj.get("type") {
            None | Some(Value::Null) => {
                self.error_hint(
                    "missing_field",
                    "/type",
                    "the template has no type",
                    "use \"module\" or \"inbound\"",
                );
                None
            }
            Some(Value::String(s)) => {
                let t = FlowType::parse(s);
                if t.is_none() {
                    self.error_hint(
                        "invalid_value",
                        "/type",
                        format!("unknown template type '{s}'"),
                        "use \"module\" or \"inbound\" (aliases \"commonmodule\", \"inboundcall\")",
                    );
                }
                t
            }
            Some(v) => {
                self.wrong_type("/type", "'type' must be a string", v);
                None
            }
        };
        let description = self.opt_str(obj, "description", "");
        let division = self
            .opt_str(obj, "division", "")
            .unwrap_or_else(|| "Home".into());
        if division.trim().is_empty() {
            self.error("invalid_value", "/division", "'division' must not be empty");
        }
        let language = self
            .opt_str(obj, "language", "")
            .unwrap_or_else(|| "en-us".into())
            .to_lowercase();
        if language.trim().is_empty() {
            self.error("invalid_value", "/language", "'language' must not be empty");
        }
        let greeting = self.opt_str(obj, "greeting", "");
        if let Some(g) = &greeting {
            if flow_type == Some(FlowType::Module) {
                self.warning(
                    "greeting_on_module",
                    "/greeting",
                    "a common module has no initial greeting: 'greeting' is ignored",
                );
            } else if g.trim().is_empty() || g.chars().any(char::is_control) {
                self.error_hint(
                    "invalid_value",
                    "/greeting",
                    "'greeting' must be non-empty text without control characters",
                    "omit 'greeting' for a silent start",
                );
            }
        }
        let inputs = self.var_decls(obj, "inputs");
        let outputs = self.var_decls(obj, "outputs");
        if flow_type == Some(FlowType::Inbound) {
            for key in ["inputs", "outputs"] {
                if obj.get(key).is_some_and(|v| !v.is_null()) {
                    self.error_hint(
                        "inputs_on_inbound",
                        pointer([key]),
                        format!("an inbound flow cannot declare {key}"),
                        "use \"type\": \"module\" for a flow that other flows call",
                    );
                }
            }
        }
        let is_module = flow_type == Some(FlowType::Module);

        // Draft
        let draft = match obj.get("draft") {
            Some(Value::Object(d)) => d,
            None | Some(Value::Null) => {
                self.error(
                    "missing_field",
                    "/draft",
                    "the template has no draft {startNode, nodes}",
                );
                return None;
            }
            Some(v) => {
                self.wrong_type(
                    "/draft",
                    "'draft' must be an object {startNode, nodes, edges}",
                    v,
                );
                return None;
            }
        };
        self.unknown_fields(draft, "/draft", DRAFT_FIELDS, "the draft");
        let start = match draft.get("startNode") {
            None | Some(Value::Null) => {
                self.error(
                    "missing_start_node",
                    "/draft/startNode",
                    "the draft has no startNode",
                );
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => {
                self.wrong_type("/draft/startNode", "'startNode' must be a string", v);
                None
            }
        };
        let empty = Map::new();
        let nodes = match draft.get("nodes") {
            Some(Value::Object(n)) => n,
            None | Some(Value::Null) => {
                self.error("missing_field", "/draft/nodes", "the draft has no nodes");
                &empty
            }
            Some(v) => {
                self.wrong_type("/draft/nodes", "'nodes' must be an object {id: node}", v);
                &empty
            }
        };

        let mut pnodes: Vec<PNode> = Vec::with_capacity(nodes.len());
        for (key, node) in nodes {
            if let Some(p) = self.node(key, node, is_module) {
                pnodes.push(p);
            }
        }
        let index: HashMap<&str, usize> = pnodes
            .iter()
            .enumerate()
            .map(|(i, p)| (p.key.as_str(), i))
            .collect();

        // startNode
        let start_ix = start.as_deref().and_then(|s| {
            let ix = index.get(s).copied();
            if ix.is_none() && !nodes.contains_key(s) {
                let hint =
                    did_you_mean_within(s, nodes.keys().map(String::as_str), &mut self.hint_work)
                        .map(|k| format!("did you mean '{k}'?"))
                        .unwrap_or_else(|| "name one of the nodes".into());
                self.error_hint(
                    "unknown_start_node",
                    "/draft/startNode",
                    format!("startNode '{s}' names no node"),
                    hint,
                );
            }
            ix
        });

        // Edges
        let mut succ: Vec<Vec<(usize, bool)>> = vec![Vec::new(); pnodes.len()];
        let mut bad_targets = Vec::new();
        for (i, p) in pnodes.iter().enumerate() {
            for (target, tat, is_err) in &p.exits {
                match index.get(target.as_str()) {
                    Some(&j) => succ[i].push((j, *is_err)),
                    None if nodes.contains_key(target) => {} // exists but unusable (reported)
                    None => bad_targets.push((target.clone(), tat.clone(), p.key.clone())),
                }
            }
            if p.exits.is_empty() && !p.terminal() {
                self.error_hint(
                    "no_exit",
                    p.at.clone(),
                    format!(
                        "{} node '{}' has no exit: the call would stop here",
                        p.ty, p.key
                    ),
                    "set onComplete.nextNode, or end the path with an End or Disconnect node",
                );
            }
        }
        for (target, tat, from) in bad_targets {
            let hint = did_you_mean_within(
                &target,
                nodes.keys().map(String::as_str),
                &mut self.hint_work,
            )
            .map(|k| format!("did you mean '{k}'?"))
            .unwrap_or_else(|| "name one of the nodes of /draft/nodes".into());
            self.error_hint(
                "unknown_next_node",
                tat,
                format!("Invalid Flow Definition: node '{from}' moves to '{target}', which is not a node"),
                hint,
            );
        }

        // Reachability
        let mut reached = vec![false; pnodes.len()];
        if let Some(s) = start_ix {
            let mut stack = vec![s];
            reached[s] = true;
            while let Some(n) = stack.pop() {
                for &(m, _) in &succ[n] {
                    if !reached[m] {
                        reached[m] = true;
                        stack.push(m);
                    }
                }
            }
            for (i, p) in pnodes.iter().enumerate() {
                if !reached[i] {
                    self.findings.push(
                        Finding::warning(
                            "unreachable_node",
                            p.at.clone(),
                            format!(
                                "node '{}' cannot be reached from startNode '{}'",
                                p.key, pnodes[s].key
                            ),
                        )
                        .with_hint("connect it or remove it"),
                    );
                }
            }
        }

        self.loops(&pnodes, &succ);

        // Variables: writers and types.
        let mut types: BTreeMap<String, VarType> = BTreeMap::new();
        let mut type_at: HashMap<String, String> = HashMap::new();
        let mut conflicts = Vec::new();
        let mut note =
            |var: &str, ty: Option<VarType>, wat: &str, types: &mut BTreeMap<String, VarType>| {
                let ty = ty.unwrap_or(VarType::String);
                match types.get(var) {
                    Some(&old) if old != ty => conflicts.push((
                        var.to_owned(),
                        old,
                        ty,
                        wat.to_owned(),
                        type_at.get(var).cloned().unwrap_or_default(),
                    )),
                    Some(_) => {}
                    None => {
                        types.insert(var.to_owned(), ty);
                        type_at.insert(var.to_owned(), wat.to_owned());
                    }
                }
            };
        let module_inputs: BTreeMap<String, (VarType, String)> = if is_module {
            inputs.clone().unwrap_or_default()
        } else {
            BTreeMap::new()
        };
        for (n, (t, dat)) in &module_inputs {
            note(n, Some(*t), dat, &mut types);
        }
        for p in &pnodes {
            for w in p.writes.iter().chain(&p.success_writes) {
                note(w.var.name(), w.ty, &w.at, &mut types);
            }
        }
        let written: BTreeSet<String> = types.keys().cloned().collect();
        if let Some(outs) = &outputs {
            for (n, (t, dat)) in outs {
                note(n, Some(*t), dat, &mut types);
            }
        }
        for (var, old, new, wat, first) in conflicts {
            self.error_hint(
                "variable_type_conflict",
                wat,
                format!(
                    "variable '{var}' is {} here but {} at {first}",
                    ty_name(new),
                    ty_name(old)
                ),
                "a flow variable has one type: rename one of them",
            );
        }
        if is_module && let Some(outs) = &outputs {
            for (n, (_, dat)) in outs {
                if !written.contains(n) {
                    self.warning(
                        "output_never_set",
                        dat.clone(),
                        format!("output '{n}' is declared but no node of the module sets it"),
                    );
                }
            }
        }

        // Reads of variables written nowhere.
        let unverified: Vec<&str> = pnodes
            .iter()
            .filter_map(|p| p.unverified_call.as_deref())
            .collect();
        let mut undefined = Vec::new();
        for p in &pnodes {
            for r in &p.reads {
                if !written.contains(r.var.name()) {
                    undefined.push((r.var.name().to_owned(), r.at.clone()));
                }
            }
        }
        for (var, rat) in undefined {
            if !unverified.is_empty() {
                let mut mods: Vec<&str> = unverified.clone();
                mods.sort();
                mods.dedup();
                self.findings.push(
                    Finding::warning(
                        "unverified_variable",
                        rat,
                        format!(
                            "variable '{var}' is set by no node of this flow; written by module {}? it is not stored yet, so this cannot be checked",
                            mods.join(", ")
                        ),
                    )
                    .with_hint("store the module first, or map its output explicitly in the Flow node's outputs"),
                );
            } else {
                let hint = did_you_mean_within(
                    &var,
                    written.iter().map(String::as_str),
                    &mut self.hint_work,
                )
                .map(|k| format!("did you mean '{{{k}}}'?"))
                .unwrap_or_else(|| {
                    "set it with a Set node, or read a Gather result as {Node.digits}".into()
                });
                self.error_hint(
                    "undefined_variable",
                    rat,
                    format!(
                        "variable '{var}' is read but never set in this flow nor by a called module"
                    ),
                    hint,
                );
            }
        }

        // Types of expressions.
        for p in &pnodes {
            for t in &p.typed {
                let lookup = |v: &VarRef| types.get(v.name()).copied();
                match t.expr.infer_any(&lookup) {
                    Err(msg) => self.error("expression_type", t.at.clone(), msg),
                    Ok(Some(got)) if got != t.want => {
                        let code = if t.what == "Set" {
                            "set_type_mismatch"
                        } else {
                            "expression_type"
                        };
                        self.error(
                            code,
                            t.at.clone(),
                            format!(
                                "{} must be {}, but the expression is {}",
                                t.what_text(),
                                ty_name(t.want),
                                ty_name(got)
                            ),
                        );
                    }
                    Ok(_) => {}
                }
            }
        }

        if let Some(s) = start_ix {
            self.read_before_write(&pnodes, &succ, &reached, s, &written, &module_inputs);
        }

        if self.findings.iter().any(Finding::is_error) {
            return None;
        }
        let (name, flow_type, start) = (name?, flow_type?, start?);
        let mut variables = types.clone();
        for p in &pnodes {
            for r in &p.reads {
                variables
                    .entry(r.var.name().to_owned())
                    .or_insert(VarType::String);
            }
        }
        let set_vars = || -> BTreeMap<String, VarType> {
            pnodes
                .iter()
                .flat_map(|p| &p.writes)
                .map(|w| (w.var.name().to_owned(), w.ty.unwrap_or(VarType::String)))
                .collect()
        };
        let strip = |m: BTreeMap<String, (VarType, String)>| -> BTreeMap<String, VarType> {
            m.into_iter().map(|(k, (t, _))| (k, t)).collect()
        };
        let (inputs, outputs) = match flow_type {
            FlowType::Module => (
                strip(inputs.unwrap_or_default()),
                outputs.map(strip).unwrap_or_else(set_vars),
            ),
            FlowType::Inbound => (BTreeMap::new(), set_vars()),
        };
        let mut model_nodes = BTreeMap::new();
        for p in pnodes {
            model_nodes.insert(
                p.key.clone(),
                Node {
                    id: p.key,
                    kind: p.kind?,
                    next: p.next,
                    on_error: p.on_error,
                },
            );
        }
        Some(Flow {
            name,
            flow_type,
            description,
            division,
            language,
            greeting,
            inputs,
            outputs,
            variables,
            start,
            nodes: model_nodes,
        })
    }
}

impl Typed {
    fn what_text(&self) -> String {
        match self.what {
            "If" => "an If condition".into(),
            "Set" => "the Set expression".into(),
            other => other.to_owned(),
        }
    }
}

/// The exits of a node as written: `onComplete.nextNode`, and the error exit from
/// `onError.nextNode` or the seed's `onComplete.onError`.
struct Exits {
    next: Option<(String, String)>,
    on_error: Option<(String, String)>,
}

impl Validator<'_> {
    fn exit_field(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        base: &str,
    ) -> Option<(String, String)> {
        let p = at(base, key);
        self.opt_str(obj, key, base).map(|s| (s, p))
    }

    fn exits(&mut self, node: &Map<String, Value>, base: &str) -> Exits {
        let mut next = None;
        let mut err_a = None;
        let mut err_b = None;
        match node.get("onComplete") {
            None | Some(Value::Null) => {}
            Some(Value::Object(oc)) => {
                let ocat = at(base, "onComplete");
                self.unknown_fields(oc, &ocat, &["nextNode", "onError"], "onComplete");
                next = self.exit_field(oc, "nextNode", &ocat);
                err_a = self.exit_field(oc, "onError", &ocat);
            }
            Some(v) => self.wrong_type(
                &at(base, "onComplete"),
                "'onComplete' must be an object {nextNode, onError}",
                v,
            ),
        }
        match node.get("onError") {
            None | Some(Value::Null) => {}
            Some(Value::Object(oe)) => {
                let oeat = at(base, "onError");
                self.unknown_fields(oe, &oeat, &["nextNode"], "onError");
                err_b = self.exit_field(oe, "nextNode", &oeat);
            }
            Some(v) => self.wrong_type(
                &at(base, "onError"),
                "'onError' must be an object {nextNode}",
                v,
            ),
        }
        if let (Some((a, _)), Some((b, bat))) = (&err_a, &err_b)
            && a != b
        {
            self.error_hint(
                "conflicting_on_error",
                bat.clone(),
                format!("onError.nextNode is '{b}' but onComplete.onError is '{a}'"),
                "they mean the same exit: keep one of them",
            );
        }
        Exits {
            next,
            on_error: err_b.or(err_a),
        }
    }

    fn node(&mut self, key: &str, node: &Value, is_module: bool) -> Option<PNode> {
        let base = pointer(["draft", "nodes", key]);
        let Some(obj) = node.as_object() else {
            self.wrong_type(
                &base,
                "a node must be an object {id, type, properties, onComplete, onError}",
                node,
            );
            return None;
        };
        self.unknown_fields(obj, &base, NODE_FIELDS, "a node");
        if key.is_empty() || key.chars().count() > MAX_NODE_ID_LEN {
            self.error(
                "invalid_node_id",
                base.clone(),
                format!("node ids must have 1 to {MAX_NODE_ID_LEN} characters"),
            );
        } else if let Some(c) = key.chars().find(|c| c.is_control()) {
            self.error_hint(
                "invalid_node_id",
                base.clone(),
                format!("node id {key:?} contains the control character {c:?}"),
                "node ids become Archy action names and task ids: use printable characters",
            );
        }
        match obj.get("id") {
            None | Some(Value::Null) => self.error_hint(
                "missing_field",
                at(&base, "id"),
                format!("node '{key}' has no id"),
                format!("add \"id\": \"{key}\""),
            ),
            Some(Value::String(id)) if id != key => self.error_hint(
                "id_mismatch",
                at(&base, "id"),
                format!("node id '{id}' differs from its key '{key}'"),
                "the key in draft.nodes and the id must be equal",
            ),
            Some(Value::String(_)) => {}
            Some(v) => self.wrong_type(&at(&base, "id"), "'id' must be a string", v),
        }
        let ty = match obj.get("type") {
            Some(Value::String(t)) if NODE_TYPES.contains(&t.as_str()) => t.clone(),
            Some(Value::String(t)) => {
                let hint = match NODE_TYPES.iter().find(|n| n.eq_ignore_ascii_case(t)) {
                    Some(n) => format!("did you mean '{n}'?"),
                    None => format!("node types: {}", NODE_TYPES.join(", ")),
                };
                self.error_hint(
                    "unknown_node_type",
                    at(&base, "type"),
                    format!("unknown node type '{t}'"),
                    hint,
                );
                return None;
            }
            None | Some(Value::Null) => {
                self.error_hint(
                    "missing_field",
                    at(&base, "type"),
                    format!("node '{key}' has no type"),
                    format!("node types: {}", NODE_TYPES.join(", ")),
                );
                return None;
            }
            Some(v) => {
                self.wrong_type(&at(&base, "type"), "'type' must be a string", v);
                return None;
            }
        };
        if is_module && matches!(ty.as_str(), "Route" | "Disconnect") {
            self.warning(
                "module_leaves_call",
                at(&base, "type"),
                crate::compile::unverified::module_leaves_call_warning(&ty),
            );
        }
        let exits = self.exits(obj, &base);
        let pat = at(&base, "properties");
        let props = match obj.get("properties") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(p)) => p.clone(),
            Some(v) => {
                self.wrong_type(&pat, "'properties' must be an object", v);
                Map::new()
            }
        };
        let allowed = allowed_properties(&ty);
        for (k, v) in &props {
            if !allowed.contains(&k.as_str()) && !silently_accepted(&ty, k, v) {
                self.findings.push(
                    Finding::warning(
                        "unknown_property",
                        at(&pat, k),
                        format!("{ty} nodes have no property '{k}'; it is ignored"),
                    )
                    .with_hint(if allowed.is_empty() {
                        format!("{ty} nodes have no properties")
                    } else {
                        format!("{ty} properties: {}", allowed.join(", "))
                    }),
                );
            }
        }
        let mut p = PNode {
            key: key.to_owned(),
            at: base.clone(),
            ty: ty.clone(),
            kind: None,
            exits: Vec::new(),
            next: None,
            on_error: None,
            reads: Vec::new(),
            writes: Vec::new(),
            success_writes: Vec::new(),
            unverified_call: None,
            typed: Vec::new(),
        };
        // Exits by node type.
        let keep_exits = match ty.as_str() {
            "End" | "Disconnect" | "If" | "Switch" => {
                for (_, eat) in exits.next.iter().chain(&exits.on_error) {
                    self.findings.push(
                        Finding::warning(
                            "ignored_exit",
                            eat.clone(),
                            format!(
                                "{ty} nodes do not use onComplete/onError; this exit is ignored"
                            ),
                        )
                        .with_hint(if ty == "If" || ty == "Switch" {
                            "use the conditions' nextNode and defaultNextNode"
                        } else {
                            "remove it"
                        }),
                    );
                }
                false
            }
            _ => true,
        };
        if let (true, Some(action), Some((e, eat))) = (
            keep_exits,
            uncompiled_on_error(&ty),
            exits.on_error.as_ref(),
        ) && exits.next.as_ref().map(|(n, _)| n) != Some(e)
        {
            self.findings.push(
                Finding::warning(
                    "on_error_not_compiled",
                    eat.clone(),
                    format!(
                        "Archy's {action} has no failure path: onError → '{e}' is not \
                             compiled; in Genesys an error here goes to the flow's error \
                             handling (a disconnect), and the simulator does the same"
                    ),
                )
                .with_hint("remove onError, or check the failing value first with an If"),
            );
        }
        let mut exits = exits;
        if ty == "Menu"
            && let Some((_, nat)) = exits.next.take()
        {
            self.findings.push(
                Finding::warning(
                    "ignored_exit",
                    nat,
                    "Menu nodes leave by their choices and onError; onComplete is ignored",
                )
                .with_hint("remove it"),
            );
        }
        let extra = |v: &mut Self, key: &str, for_ty: &str, p: &mut PNode| {
            if ty == for_ty {
                v.extra_exit(obj, key, &base, p)
            } else {
                if obj.get(key).is_some_and(|x| !x.is_null()) {
                    v.warning(
                        "ignored_exit",
                        at(&base, key),
                        format!("{ty} nodes have no {key} exit; it is ignored"),
                    );
                }
                None
            }
        };
        let on_timeout = extra(self, "onTimeout", "DataAction", &mut p);
        let on_not_found = extra(self, "onNotFound", "TableLookup", &mut p);
        if keep_exits {
            if let Some((t, tat)) = exits.next {
                p.exits.push((t.clone(), tat, false));
                p.next = Some(t);
            }
            if let Some((t, tat)) = exits.on_error {
                p.exits.push((t.clone(), tat, true));
                p.on_error = Some(t);
            }
        }
        p.kind = match ty.as_str() {
            "Say" if props.get("promptName").is_some_and(|v| !v.is_null()) => {
                self.play_prompt(&props, &pat)
            }
            "Say" => self.say(&props, &pat, &mut p),
            "Menu" => self.menu(&props, &pat, &mut p),
            "DataAction" => self.data_action(&props, &pat, &mut p, on_timeout),
            "TableLookup" => self.table_lookup(&props, &pat, &mut p, on_not_found),
            "Switch" => self.if_node(&props, &pat, &mut p),
            "SetParticipantData" => self.set_participant_data(&props, &pat, &mut p),
            "GetParticipantData" => self.get_participant_data(&props, &pat, &mut p),
            "Schedule" => self.schedule(&props, &pat, &mut p),
            "Voicemail" => self.voicemail(&props, &pat),
            "Gather" => self.gather(&props, &pat, &mut p),
            "Set" => self.set(&props, &pat, &mut p),
            "If" => self.if_node(&props, &pat, &mut p),
            "Route" => self.route(&props, &pat),
            "Flow" => self.flow_call(&props, &pat, &mut p, is_module),
            "End" => Some(NodeKind::End {
                end_type: self.opt_str(&props, "endType", &pat),
            }),
            _ => Some(NodeKind::Disconnect),
        };
        Some(p)
    }

    fn text_reads(&mut self, text: &Text, tat: &str, p: &mut PNode, after_writes: usize) {
        for v in text.vars() {
            p.reads.push(Read {
                var: v.clone(),
                at: tat.to_owned(),
                guarded: false,
                after_writes,
            });
        }
    }

    fn expr_reads(&mut self, e: &Expr, eat: &str, p: &mut PNode, after_writes: usize) {
        let unguarded: BTreeSet<&VarRef> = e.unguarded_vars().into_iter().collect();
        for v in e.vars() {
            p.reads.push(Read {
                var: v.clone(),
                at: eat.to_owned(),
                guarded: !unguarded.contains(v),
                after_writes,
            });
        }
    }

    fn text_prop(
        &mut self,
        props: &Map<String, Value>,
        key: &str,
        pat: &str,
        p: &mut PNode,
        required: bool,
    ) -> Option<Text> {
        let tat = at(pat, key);
        match props.get(key) {
            None | Some(Value::Null) if required => {
                self.error(
                    "missing_property",
                    tat,
                    format!("{} nodes need '{key}'", p.ty),
                );
                None
            }
            None | Some(Value::Null) => Some(Text::default()),
            Some(Value::String(s)) => {
                let t = self.parse_text(s, &tat)?;
                self.text_reads(&t, &tat, p, 0);
                Some(t)
            }
            Some(v) => {
                self.wrong_type(&tat, &format!("'{key}' must be a string"), v);
                None
            }
        }
    }

    fn say(&mut self, props: &Map<String, Value>, pat: &str, p: &mut PNode) -> Option<NodeKind> {
        let text = self.text_prop(props, "sayText", pat, p, true);
        let language = self.opt_str(props, "sayLanguage", pat);
        let beep = self
            .opt_bool(props, "playBeepBeforeText", pat)
            .unwrap_or(false);
        Some(NodeKind::Say {
            text: text?,
            language,
            beep,
        })
    }

    fn gather(&mut self, props: &Map<String, Value>, pat: &str, p: &mut PNode) -> Option<NodeKind> {
        let prompt = self.text_prop(props, "promptText", pat, p, false);
        let max = self.opt_int(props, "maxDigits", pat);
        let min = self.opt_int(props, "minDigits", pat);
        let max_digits = max.unwrap_or(i64::from(DEFAULT_MAX_DIGITS));
        let min_digits = min.unwrap_or(1);
        let mut ok = true;
        if !(1..=MAX_DIGITS_LIMIT).contains(&max_digits) {
            ok = false;
            self.error_hint(
                "gather_digits",
                at(pat, "maxDigits"),
                format!("maxDigits is {max_digits}; it must be between 1 and 32"),
                "Genesys collects 1 to 32 digits",
            );
        }
        if min_digits < 1 || (ok && min_digits > max_digits) {
            ok = false;
            self.error_hint(
                "gather_digits",
                if min.is_some() { at(pat, "minDigits") } else { at(pat, "maxDigits") },
                format!("minDigits is {min_digits}; it must be at least 1 and at most maxDigits ({max_digits})"),
                format!("maxDigits defaults to {DEFAULT_MAX_DIGITS} and minDigits to 1"),
            );
        }
        let timeout_seconds = self.opt_seconds(props, "timeoutSeconds", pat);
        let inter_digit_timeout_seconds = self.opt_seconds(props, "interDigitTimeoutSeconds", pat);
        let language = self.opt_str(props, "promptLanguage", pat);
        let into = VarRef::digits_of(&p.key);
        if !is_var_name(into.name()) {
            self.error_hint(
                "invalid_variable_name",
                p.at.clone(),
                format!(
                    "the Gather result variable '{}' is not a valid Genesys variable name",
                    into.name()
                ),
                "Gather node ids become variable names: use letters, digits and '_'",
            );
        }
        p.success_writes.push(Write {
            var: into.clone(),
            ty: Some(VarType::String),
            at: p.at.clone(),
        });
        if !ok {
            return None;
        }
        Some(NodeKind::Gather {
            prompt: prompt?,
            min_digits: min_digits as u32,
            max_digits: max_digits as u32,
            timeout_seconds,
            inter_digit_timeout_seconds,
            language,
            into,
        })
    }

    fn set(&mut self, props: &Map<String, Value>, pat: &str, p: &mut PNode) -> Option<NodeKind> {
        let sat = at(pat, "setVars");
        let vars = match props.get("setVars") {
            Some(Value::Array(a)) => a,
            None | Some(Value::Null) => {
                self.error(
                    "missing_property",
                    sat,
                    "Set nodes need 'setVars': [{key, value}]",
                );
                return None;
            }
            Some(v) => {
                self.wrong_type(&sat, "'setVars' must be an array of {key, value}", v);
                return None;
            }
        };
        let mut assignments = Vec::new();
        let mut ok = true;
        for (i, item) in vars.iter().enumerate() {
            let iat = at(&sat, &i.to_string());
            match self.assignment(item, &iat, p, i) {
                Some(a) => assignments.push(a),
                None => ok = false,
            }
        }
        ok.then_some(NodeKind::Set { assignments })
    }

    fn assignment(
        &mut self,
        item: &Value,
        iat: &str,
        p: &mut PNode,
        index: usize,
    ) -> Option<Assignment> {
        let Some(obj) = item.as_object() else {
            self.wrong_type(
                iat,
                "a setVars entry must be an object {key, value: {type, value}}",
                item,
            );
            return None;
        };
        self.unknown_fields(obj, iat, &["key", "value"], "a setVars entry");
        let kat = at(iat, "key");
        let key = match obj.get("key") {
            Some(Value::String(k)) => {
                let valid = self.var_name(k, &kat, "Set variable");
                valid.then(|| k.clone())
            }
            None | Some(Value::Null) => {
                self.error(
                    "missing_field",
                    kat.clone(),
                    "a setVars entry needs a 'key' (the variable name)",
                );
                None
            }
            Some(v) => {
                self.wrong_type(&kat, "'key' must be a string", v);
                None
            }
        };
        let vat = at(iat, "value");
        let Some(val) = obj.get("value").and_then(Value::as_object) else {
            match obj.get("value") {
                None | Some(Value::Null) => self.error(
                    "missing_field",
                    vat,
                    "a setVars entry needs 'value': {type, value}",
                ),
                Some(v) => self.wrong_type(
                    &vat,
                    "'value' must be an object {type, value | expression}",
                    v,
                ),
            }
            return None;
        };
        self.unknown_fields(val, &vat, &["type", "value", "expression"], "a Set value");
        let tat = at(&vat, "type");
        let ty = match val.get("type") {
            Some(Value::String(t)) => match VarType::parse(t) {
                Some(t) => Some(t),
                None => {
                    self.error_hint(
                        "invalid_value",
                        tat,
                        format!("unknown Set type '{t}'"),
                        "use string, integer or boolean",
                    );
                    None
                }
            },
            None | Some(Value::Null) => {
                self.error_hint(
                    "missing_field",
                    tat,
                    "a Set value needs a 'type'",
                    "use string, integer or boolean",
                );
                None
            }
            Some(v) => {
                self.wrong_type(&tat, "'type' must be a string", v);
                None
            }
        };
        let literal = val.get("value").filter(|v| !v.is_null());
        let expression = val.get("expression").filter(|v| !v.is_null());
        let value = match (literal, expression) {
            (Some(_), Some(_)) | (None, None) => {
                self.error_hint(
                    "invalid_set_value",
                    vat.clone(),
                    if literal.is_some() {
                        "a Set value has both 'value' and 'expression'"
                    } else {
                        "a Set value needs 'value' (text) or 'expression'"
                    },
                    "give exactly one of 'value' and 'expression'",
                );
                None
            }
            (Some(lit), None) => {
                let lat = at(&vat, "value");
                let text = match lit {
                    Value::String(s) => self.parse_text(s, &lat),
                    Value::Number(n) if n.is_i64() => Some(Text::literal(n.to_string())),
                    Value::Bool(b) => Some(Text::literal(b.to_string())),
                    v => {
                        self.wrong_type(&lat, "'value' must be a string", v);
                        None
                    }
                };
                if let (Some(t), Some(ty)) = (&text, ty) {
                    self.text_reads(t, &lat, p, index);
                    self.check_set_text(t, ty, &lat);
                }
                text.map(SetValue::Text)
            }
            (None, Some(e)) => {
                let eat = at(&vat, "expression");
                let parsed = match e {
                    Value::String(s) => self.parse_expr(s, &eat),
                    Value::Number(n) if n.is_i64() => n.as_i64().map(Expr::Int),
                    Value::Bool(b) => Some(Expr::Bool(*b)),
                    v => {
                        self.wrong_type(&eat, "'expression' must be a string", v);
                        None
                    }
                };
                if let Some(e) = &parsed {
                    self.expr_reads(e, &eat, p, index);
                    if let Some(ty) = ty {
                        p.typed.push(Typed {
                            expr: e.clone(),
                            at: eat.clone(),
                            want: ty,
                            what: "Set",
                        });
                    }
                }
                parsed.map(SetValue::Expr)
            }
        };
        let key = key?;
        p.writes.push(Write {
            var: VarRef(key.clone()),
            ty,
            at: kat,
        });
        Some(Assignment {
            var: VarRef(key),
            ty: ty?,
            value: value?,
        })
    }

    /// An integer or boolean Set with a text value: a literal of the type, or exactly one
    /// `{var}` interpolation (parsed at run time).
    fn check_set_text(&mut self, t: &Text, ty: VarType, lat: &str) {
        use super::model::Segment;
        let ok = match (ty, t.0.as_slice()) {
            (VarType::String, _) => true,
            (_, [Segment::Var(_)]) => true,
            (VarType::Integer, [Segment::Literal(s)]) => s.trim().parse::<i64>().is_ok(),
            (VarType::Boolean, [Segment::Literal(s)]) => {
                matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "false")
            }
            _ => false,
        };
        if !ok {
            let shown: String =
                t.0.iter()
                    .map(|s| match s {
                        Segment::Literal(l) => l.clone(),
                        Segment::Var(v) => format!("{{{}}}", v.name()),
                    })
                    .collect();
            self.error_hint(
                "set_type_mismatch",
                lat,
                format!("{shown:?} is not a valid {} value", ty_name(ty)),
                match ty {
                    VarType::Integer => {
                        "write a whole number such as \"0\", or exactly one {variable}"
                    }
                    _ => "write \"true\" or \"false\", or exactly one {variable}",
                },
            );
        }
    }

    fn if_node(
        &mut self,
        props: &Map<String, Value>,
        pat: &str,
        p: &mut PNode,
    ) -> Option<NodeKind> {
        let switch = p.ty == "Switch";
        let key = if switch { "cases" } else { "conditions" };
        let cat = at(pat, key);
        let conds: &[Value] = match props.get(key) {
            Some(Value::Array(a)) => a,
            None | Some(Value::Null) => &[],
            Some(v) => {
                self.wrong_type(
                    &cat,
                    "'conditions' must be an array of {expression, nextNode}",
                    v,
                );
                return None;
            }
        };
        if conds.is_empty() {
            self.error_hint(
                "if_without_conditions",
                if props.contains_key(key) {
                    cat.clone()
                } else {
                    pat.to_owned()
                },
                format!("{} node '{}' has no {key}", p.ty, p.key),
                "add conditions: [{\"expression\": \"{x} == '1'\", \"nextNode\": \"...\"}]",
            );
        }
        let mut branches = Vec::new();
        let mut ok = !conds.is_empty();
        for (i, c) in conds.iter().enumerate() {
            let iat = at(&cat, &i.to_string());
            let Some(c) = c.as_object() else {
                self.wrong_type(
                    &iat,
                    "a condition must be an object {expression, nextNode}",
                    c,
                );
                ok = false;
                continue;
            };
            self.unknown_fields(c, &iat, &["expression", "nextNode"], "a condition");
            let eat = at(&iat, "expression");
            let e = match c.get("expression") {
                Some(Value::String(s)) => self.parse_expr(s, &eat),
                Some(Value::Bool(b)) => Some(Expr::Bool(*b)),
                None | Some(Value::Null) => {
                    self.error(
                        "missing_field",
                        eat.clone(),
                        "a condition needs an 'expression'",
                    );
                    None
                }
                Some(v) => {
                    self.wrong_type(&eat, "'expression' must be a string", v);
                    None
                }
            };
            if let Some(e) = &e {
                self.expr_reads(e, &eat, p, 0);
                p.typed.push(Typed {
                    expr: e.clone(),
                    at: eat.clone(),
                    want: VarType::Boolean,
                    what: "If",
                });
            }
            let nat = at(&iat, "nextNode");
            let target = match c.get("nextNode") {
                Some(Value::String(t)) => Some(t.clone()),
                None | Some(Value::Null) => {
                    self.error(
                        "missing_field",
                        nat.clone(),
                        "a condition needs a 'nextNode'",
                    );
                    None
                }
                Some(v) => {
                    self.wrong_type(&nat, "'nextNode' must be a string", v);
                    None
                }
            };
            if let Some(t) = &target {
                p.exits.push((t.clone(), nat, false));
            }
            match (e, target) {
                (Some(condition), Some(target)) => branches.push(Branch { condition, target }),
                _ => ok = false,
            }
        }
        let default = self.opt_str(props, "defaultNextNode", pat);
        if let Some(d) = &default {
            p.exits.push((d.clone(), at(pat, "defaultNextNode"), false));
        }
        ok.then_some(if switch {
            NodeKind::Switch { branches, default }
        } else {
            NodeKind::If { branches, default }
        })
    }

    fn route(&mut self, props: &Map<String, Value>, pat: &str) -> Option<NodeKind> {
        let id = self.opt_str(props, "queueId", pat);
        let name = self.opt_str(props, "queueName", pat);
        let queue = match (id, name) {
            (Some(id), None) if !id.trim().is_empty() => Some(QueueRef::Id(id)),
            (None, Some(n)) if !n.trim().is_empty() => Some(QueueRef::Name(n)),
            (Some(_), Some(_)) => {
                self.error_hint(
                    "invalid_route_queue",
                    at(pat, "queueName"),
                    "a Route node has both queueId and queueName",
                    "give exactly one of them",
                );
                None
            }
            _ => {
                self.error_hint(
                    "invalid_route_queue",
                    pat.to_owned(),
                    "a Route node needs a non-empty queueId or queueName",
                    "give exactly one of them",
                );
                None
            }
        };
        let skat = at(pat, "skillRequirements");
        let mut skills = Vec::new();
        match props.get("skillRequirements") {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) => {
                for (i, s) in a.iter().enumerate() {
                    match s {
                        Value::String(s) => skills.push(s.clone()),
                        v => self.wrong_type(
                            &at(&skat, &i.to_string()),
                            "a skill requirement must be a string (a skill name)",
                            v,
                        ),
                    }
                }
            }
            Some(v) => self.wrong_type(
                &skat,
                "'skillRequirements' must be an array of skill names",
                v,
            ),
        }
        let priority = self.opt_int(props, "priority", pat);
        Some(NodeKind::Route {
            queue: queue?,
            skills,
            priority,
        })
    }

    fn flow_call(
        &mut self,
        props: &Map<String, Value>,
        pat: &str,
        p: &mut PNode,
        is_module: bool,
    ) -> Option<NodeKind> {
        if is_module {
            self.error_hint(
                "module_calls_module",
                p.at.clone(),
                format!(
                    "module node '{}' calls another flow; Genesys modules cannot call modules",
                    p.key
                ),
                "move the call into the inbound flow, or copy the logic into this module",
            );
        }
        let name = self.opt_str(props, "flowName", pat);
        let id = self.opt_str(props, "flowId", pat);
        let module = match (name, id) {
            (Some(n), None) if !n.trim().is_empty() => Some(ModuleRef::Name(n)),
            (None, Some(i)) if !i.trim().is_empty() => Some(ModuleRef::Id(i)),
            (Some(_), Some(_)) => {
                self.error_hint(
                    "invalid_flow_reference",
                    at(pat, "flowId"),
                    "a Flow node has both flowName and flowId",
                    "give exactly one of them",
                );
                None
            }
            _ => {
                self.error_hint(
                    "invalid_flow_reference",
                    pat.to_owned(),
                    "a Flow node needs a non-empty flowName or flowId",
                    "name the module template in flowName",
                );
                None
            }
        };
        let iface: Option<ModuleInterface> = match &module {
            Some(ModuleRef::Name(n)) => self.catalog.module(n),
            _ => None,
        };
        if let Some(m) = &iface
            && m.calls_modules
        {
            self.error_hint(
                "module_calls_module",
                at(pat, "flowName"),
                format!(
                    "module '{}' itself calls modules; Genesys modules cannot call modules",
                    m.name
                ),
                "remove the Flow nodes from that module",
            );
        }
        if props.get("timeoutSeconds").is_some_and(|v| !v.is_null()) {
            self.findings.push(
                Finding::warning(
                    "flow_timeout_ignored",
                    at(pat, "timeoutSeconds"),
                    "Genesys has no timeout for calling a common module; timeoutSeconds is ignored",
                )
                .with_hint("remove timeoutSeconds"),
            );
        }
        let timeout_seconds = self.opt_seconds(props, "timeoutSeconds", pat);
        let mut ok = true;
        // Inputs
        let iat = at(pat, "inputs");
        let mut inputs = Vec::new();
        match props.get("inputs") {
            None | Some(Value::Null) => {}
            Some(Value::Object(o)) => {
                for (mv, e) in o {
                    let eat = at(&iat, mv);
                    ok &= self.var_name(mv, &eat, "module input");
                    if let Some(m) = &iface
                        && !m.inputs.contains_key(mv)
                    {
                        let known: Vec<&str> = m.inputs.keys().map(String::as_str).collect();
                        self.error_hint(
                            "unknown_module_input",
                            eat.clone(),
                            format!("module '{}' has no input '{mv}'", m.name),
                            if known.is_empty() {
                                "the module has no inputs".to_owned()
                            } else {
                                format!("its inputs: {}", known.join(", "))
                            },
                        );
                    }
                    let parsed = match e {
                        Value::String(s) => self.parse_expr(s, &eat),
                        Value::Number(n) if n.is_i64() => n.as_i64().map(Expr::Int),
                        Value::Bool(b) => Some(Expr::Bool(*b)),
                        v => {
                            self.wrong_type(&eat, "a module input must be an expression string", v);
                            None
                        }
                    };
                    match parsed {
                        Some(e) => {
                            self.expr_reads(&e, &eat, p, 0);
                            if let Some(t) = iface.as_ref().and_then(|m| m.inputs.get(mv)) {
                                p.typed.push(Typed {
                                    expr: e.clone(),
                                    at: eat.clone(),
                                    want: *t,
                                    what: "the module input",
                                });
                            }
                            inputs.push((mv.clone(), e));
                        }
                        None => ok = false,
                    }
                }
            }
            Some(v) => {
                self.wrong_type(
                    &iat,
                    "'inputs' must be an object {moduleVar: expression}",
                    v,
                );
                ok = false;
            }
        }
        // Outputs
        let oat = at(pat, "outputs");
        let mut outputs = Vec::new();
        match props.get("outputs") {
            None | Some(Value::Null) => match &iface {
                Some(m) => {
                    for (mv, t) in &m.outputs {
                        outputs.push((mv.clone(), VarRef(mv.clone())));
                        p.success_writes.push(Write {
                            var: VarRef(mv.clone()),
                            ty: Some(*t),
                            at: p.at.clone(),
                        });
                    }
                }
                None => {
                    p.unverified_call = Some(match &module {
                        Some(ModuleRef::Name(n)) => format!("'{n}'"),
                        Some(ModuleRef::Id(i)) => format!("with id '{i}'"),
                        None => "?".into(),
                    });
                }
            },
            Some(Value::Object(o)) => {
                for (mv, cv) in o {
                    let mat = at(&oat, mv);
                    ok &= self.var_name(mv, &mat, "module output");
                    let mut ty = None;
                    if let Some(m) = &iface {
                        match m.outputs.get(mv) {
                            Some(t) => ty = Some(*t),
                            None => {
                                let known: Vec<&str> =
                                    m.outputs.keys().map(String::as_str).collect();
                                self.error_hint(
                                    "unknown_module_output",
                                    mat.clone(),
                                    format!("module '{}' has no output '{mv}'", m.name),
                                    if known.is_empty() {
                                        "the module has no outputs".to_owned()
                                    } else {
                                        format!("its outputs: {}", known.join(", "))
                                    },
                                );
                            }
                        }
                    }
                    match cv {
                        Value::String(c) => {
                            if self.var_name(c, &mat, "caller variable") {
                                outputs.push((mv.clone(), VarRef(c.clone())));
                                p.success_writes.push(Write {
                                    var: VarRef(c.clone()),
                                    ty,
                                    at: mat,
                                });
                            } else {
                                ok = false;
                            }
                        }
                        v => {
                            self.wrong_type(
                                &mat,
                                "an output mapping must name a caller variable",
                                v,
                            );
                            ok = false;
                        }
                    }
                }
            }
            Some(v) => {
                self.wrong_type(
                    &oat,
                    "'outputs' must be an object {moduleVar: callerVar}",
                    v,
                );
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        Some(NodeKind::CallModule {
            module: module?,
            inputs,
            outputs,
            timeout_seconds,
        })
    }

    /// Loops (strongly connected components, or self-loops) with no Gather node: a caller
    /// cannot leave them. A loop through a Flow node is not reported: the called module may
    /// gather input (the seed's language-menu retry pattern).
    fn loops(&mut self, pnodes: &[PNode], succ: &[Vec<(usize, bool)>]) {
        for comp in sccs(succ) {
            let cyclic = comp.len() > 1 || succ[comp[0]].iter().any(|&(m, _)| m == comp[0]);
            if !cyclic
                || comp
                    .iter()
                    .any(|&i| matches!(pnodes[i].ty.as_str(), "Gather" | "Flow"))
            {
                continue;
            }
            let mut names: Vec<&str> = comp.iter().map(|&i| pnodes[i].key.as_str()).collect();
            names.sort();
            let first = comp
                .iter()
                .copied()
                .min_by_key(|&i| &pnodes[i].key)
                .unwrap_or(comp[0]);
            let shown = if names.len() > 10 {
                format!("{}, ...", names[..10].join(", "))
            } else {
                names.join(", ")
            };
            self.findings.push(
                Finding::warning(
                    "loop_without_gather",
                    pnodes[first].at.clone(),
                    format!("the loop through {shown} has no Gather node: a call that enters it can never leave"),
                )
                .with_hint("put a Gather node on the loop, or give it an exit"),
            );
        }
    }

    /// Forward must-be-assigned data-flow analysis (bitsets, intersection at joins, worklist
    /// to a fixpoint): warns on reads that some path from the start reaches before any write.
    fn read_before_write(
        &mut self,
        pnodes: &[PNode],
        succ: &[Vec<(usize, bool)>],
        reached: &[bool],
        start: usize,
        written: &BTreeSet<String>,
        module_inputs: &BTreeMap<String, (VarType, String)>,
    ) {
        let var_ix: HashMap<&str, usize> = written
            .iter()
            .enumerate()
            .map(|(i, v)| (v.as_str(), i))
            .collect();
        let words = written.len().div_ceil(64).max(1);
        let n = pnodes.len();
        let skipped = |this: &mut Self| {
            this.warning(
                "analysis_skipped",
                "/draft/nodes",
                format!(
                    "read-before-write was not checked: {n} nodes and {} variables are more than the analysis takes",
                    written.len()
                ),
            );
        };
        if n.saturating_mul(words) > MAX_DATAFLOW_WORDS {
            skipped(self);
            return;
        }
        let mut budget = MAX_DATAFLOW_WORK;
        let set_bits = |bits: &mut [u64], vars: &mut dyn Iterator<Item = &str>| {
            for v in vars {
                if let Some(&i) = var_ix.get(v) {
                    bits[i / 64] |= 1 << (i % 64);
                }
            }
        };
        // gen on every exit / gen on the success exit only
        let mut gen_all = vec![0u64; n * words];
        let mut gen_ok = vec![0u64; n * words];
        for (i, p) in pnodes.iter().enumerate() {
            set_bits(
                &mut gen_all[i * words..(i + 1) * words],
                &mut p.writes.iter().map(|w| w.var.name()),
            );
            set_bits(
                &mut gen_ok[i * words..(i + 1) * words],
                &mut p
                    .writes
                    .iter()
                    .chain(&p.success_writes)
                    .map(|w| w.var.name()),
            );
        }
        let mut input = vec![!0u64; n * words];
        let mut seen = vec![false; n];
        {
            let s = &mut input[start * words..(start + 1) * words];
            s.fill(0);
            set_bits(s, &mut module_inputs.keys().map(String::as_str));
        }
        seen[start] = true;
        let mut work = std::collections::VecDeque::from([start]);
        let mut queued = vec![false; n];
        queued[start] = true;
        let mut out = vec![0u64; words];
        while let Some(i) = work.pop_front() {
            queued[i] = false;
            let cost = (2 * words * succ[i].len()) as u64;
            let Some(left) = budget.checked_sub(cost) else {
                skipped(self);
                return;
            };
            budget = left;
            for &(j, is_err) in &succ[i] {
                let gen_ = if is_err { &gen_all } else { &gen_ok };
                for w in 0..words {
                    out[w] = input[i * words + w] | gen_[i * words + w];
                }
                let mut changed = !seen[j];
                seen[j] = true;
                for w in 0..words {
                    let new = input[j * words + w] & out[w];
                    if new != input[j * words + w] {
                        input[j * words + w] = new;
                        changed = true;
                    }
                }
                if changed && !queued[j] {
                    queued[j] = true;
                    work.push_back(j);
                }
            }
        }
        for (i, p) in pnodes.iter().enumerate() {
            if !reached[i] {
                continue;
            }
            for r in &p.reads {
                if r.guarded {
                    continue;
                }
                let Some(&v) = var_ix.get(r.var.name()) else {
                    continue;
                };
                let assigned = input[i * words + v / 64] & (1 << (v % 64)) != 0
                    || p.writes[..r.after_writes.min(p.writes.len())]
                        .iter()
                        .any(|w| w.var == r.var);
                if !assigned {
                    self.findings.push(
                        Finding::warning(
                            "read_before_write",
                            r.at.clone(),
                            format!(
                                "variable '{}' may be read before it is set: some path from the start reaches node '{}' without setting it",
                                r.var.name(),
                                p.key
                            ),
                        )
                        .with_hint(format!("set it on every path first, or test it with IsSet({{{}}})", r.var.name())),
                    );
                }
            }
        }
    }
}

/// Strongly connected components (iterative Tarjan).
fn sccs(succ: &[Vec<(usize, bool)>]) -> Vec<Vec<usize>> {
    let n = succ.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut out = Vec::new();
    let mut next = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut call: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut k)) = call.last_mut() {
            if *k < succ[v].len() {
                let w = succ[v][*k].0;
                *k += 1;
                if index[w] == usize::MAX {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
            } else {
                call.pop();
                if let Some(&(u, _)) = call.last() {
                    low[u] = low[u].min(low[v]);
                }
                if low[v] == index[v] {
                    let mut comp = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        comp.push(w);
                        if w == v {
                            break;
                        }
                    }
                    out.push(comp);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
mod vocabulary;
