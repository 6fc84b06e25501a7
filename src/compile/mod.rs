//! Compiler from the validated template model to Archy YAML (spec section 4).
//!
//! Pure and deterministic: the same flow and context give the same bytes, so the SHA-256 of
//! the YAML detects change. Shapes we could not verify against a real org live in
//! [`unverified`].
//!
//! Graph to tasks: the start node and every node entered by two or more compiled exits become
//! reusable tasks (`refId` = sanitised node id); every other node is inlined into its single
//! predecessor's action list, and a move to a task node is a jump. Every cycle has an entry
//! with two predecessors (or is entered at the start), so inlining always ends. `End` and
//! `Disconnect` nodes are cheap and always inlined (except as the start). Inlining nested
//! deeper than [`MAX_NESTING`] branch levels promotes the next node to a task, keeping the
//! YAML narrow and the work linear.
//!
//! Exits that Archy actions cannot express are not compiled and give a warning
//! (`on_error_not_compiled`): the onError of Say (playAudio), Set (updateData) and Flow
//! (callCommonModule); in Genesys those failures go to the flow's error handling. A Route's
//! failure path is its onError, else its onComplete next.
//!
//! Called modules: a `ModuleRef::Name` is looked up in [`CompileContext::modules`] by
//! template name; when absent, the template name is used as the flow name, the outputs come
//! from the node's explicit output mapping only, and a `module_unresolved` warning is
//! added. A `ModuleRef::Id` must be present under the key `id:<flowId>`, else
//! [`CompileError::UnresolvedModuleId`].

mod expr;
pub mod unverified;
pub mod yaml;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

pub use expr::{canonical, sanitize, source as expr_source};

use crate::template::expr::Expr;
use crate::template::model::{
    Flow, FlowType, ModuleRef, Node, NodeKind, QueueRef, SetValue, Text, VarType,
};
use crate::template::{Finding, pointer};
use expr::Names;
use yaml::Y;

/// Branch nesting depth after which the next node becomes a reusable task.
pub const MAX_NESTING: usize = 24;

/// What the compiler needs besides the flow.
#[derive(Debug, Clone, Copy)]
pub struct CompileContext<'a> {
    /// Genesys flow name (default: `flow.name`).
    pub flow_name: &'a str,
    /// The type the flow is provisioned as (a seed "inbound" template that others call is
    /// provisioned as a module).
    pub as_type: FlowType,
    /// Template name of a called module (or `id:<flowId>`) → its deployed name and interface.
    pub modules: &'a BTreeMap<String, ModuleTarget>,
    /// Route `queueId` → queue name (resolved by the caller at provisioning time).
    pub queue_names: &'a BTreeMap<String, String>,
}

/// A called module as deployed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleTarget {
    pub flow_name: String,
    pub outputs: BTreeMap<String, VarType>,
    pub inputs: BTreeMap<String, VarType>,
}

impl ModuleTarget {
    /// The target of a module flow deployed under `flow_name`.
    pub fn of(flow: &Flow, flow_name: &str) -> ModuleTarget {
        ModuleTarget {
            flow_name: flow_name.to_owned(),
            outputs: effective_outputs(flow),
            inputs: flow.inputs.clone(),
        }
    }
}

/// The compiled flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Compiled {
    pub flow_type: FlowType,
    pub yaml: String,
    /// SHA-256 (hex) of the YAML bytes.
    pub content_hash: String,
    pub warnings: Vec<Finding>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    #[error("{kind} names {first:?} and {second:?} both become {sanitized:?} in Genesys")]
    NameCollision {
        kind: &'static str,
        first: String,
        second: String,
        sanitized: String,
    },
    #[error("node {node:?} calls flow id {flow_id:?}, which was not resolved to a flow name")]
    UnresolvedModuleId { node: String, flow_id: String },
    #[error("node {node:?} refers to node {target:?}, which does not exist")]
    UnknownNode { node: String, target: String },
    #[error("module node {node:?} calls another module; Genesys modules cannot call modules")]
    ModuleCallsModule { node: String },
}

impl CompileError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            CompileError::NameCollision { .. } => "name_collision",
            CompileError::UnresolvedModuleId { .. } => "module_id_unresolved",
            CompileError::UnknownNode { .. } => "unknown_node",
            CompileError::ModuleCallsModule { .. } => "module_calls_module",
        }
    }
}

/// The outputs a module hands back: its declared outputs; for a template that was not
/// written as a module (a seed "inbound" document called by others) and declares none,
/// every variable set by a Set node (spec section 3).
pub fn effective_outputs(flow: &Flow) -> BTreeMap<String, VarType> {
    if flow.flow_type == FlowType::Module || !flow.outputs.is_empty() {
        return flow.outputs.clone();
    }
    let mut out = BTreeMap::new();
    for node in flow.nodes.values() {
        if let NodeKind::Set { assignments } = &node.kind {
            for a in assignments {
                out.insert(canonical(a.var.name()).into_owned(), a.ty);
            }
        }
    }
    out
}

/// Compiles one flow to Archy YAML.
pub fn compile(flow: &Flow, ctx: &CompileContext<'_>) -> Result<Compiled, CompileError> {
    let mut c = Compiler::new(flow, ctx)?;
    let root = c.document()?;
    let yaml = yaml::to_string(&root);
    let content_hash = hex::encode(Sha256::digest(yaml.as_bytes()));
    Ok(Compiled {
        flow_type: ctx.as_type,
        yaml,
        content_hash,
        warnings: c.warnings,
    })
}

struct Compiler<'a> {
    flow: &'a Flow,
    ctx: &'a CompileContext<'a>,
    ty: FlowType,
    nodes: Vec<&'a Node>,
    ref_ids: Vec<String>,
    index: HashMap<&'a str, usize>,
    task: Vec<bool>,
    queued: Vec<bool>,
    queue: VecDeque<usize>,
    types: BTreeMap<String, VarType>,
    warnings: Vec<Finding>,
}

fn is_terminal(n: &Node) -> bool {
    matches!(n.kind, NodeKind::End { .. } | NodeKind::Disconnect)
}

/// The exits of a node that compile to a continuation, one entry per exit.
fn compiled_exits(n: &Node) -> Vec<&str> {
    match &n.kind {
        NodeKind::Say { .. } | NodeKind::Set { .. } | NodeKind::CallModule { .. } => {
            n.next.as_deref().into_iter().collect()
        }
        NodeKind::Gather { .. } => n
            .next
            .iter()
            .chain(&n.on_error)
            .map(String::as_str)
            .collect(),
        NodeKind::If { branches, default } => branches
            .iter()
            .map(|b| b.target.as_str())
            .chain(default.as_deref())
            .collect(),
        NodeKind::Route { .. } => n
            .on_error
            .as_deref()
            .or(n.next.as_deref())
            .into_iter()
            .collect(),
        NodeKind::End { .. } | NodeKind::Disconnect => Vec::new(),
    }
}

impl<'a> Compiler<'a> {
    fn new(flow: &'a Flow, ctx: &'a CompileContext<'a>) -> Result<Self, CompileError> {
        let nodes: Vec<&Node> = flow.nodes.values().collect();
        let index: HashMap<&str, usize> = flow
            .nodes
            .keys()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i))
            .collect();
        // Node ids → refIds, without collisions.
        let mut ref_ids = Vec::with_capacity(nodes.len());
        let mut seen: HashMap<String, &str> = HashMap::with_capacity(nodes.len());
        for n in &nodes {
            let r = sanitize(&n.id);
            if let Some(prev) = seen.insert(r.clone(), &n.id) {
                return Err(CompileError::NameCollision {
                    kind: "node",
                    first: prev.to_owned(),
                    second: n.id.clone(),
                    sanitized: r,
                });
            }
            ref_ids.push(r);
        }
        let start = *index
            .get(flow.start.as_str())
            .ok_or_else(|| CompileError::UnknownNode {
                node: "draft.startNode".into(),
                target: flow.start.clone(),
            })?;
        let mut preds = vec![0u32; nodes.len()];
        for n in &nodes {
            for t in compiled_exits(n) {
                let ti = *index.get(t).ok_or_else(|| CompileError::UnknownNode {
                    node: n.id.clone(),
                    target: t.to_owned(),
                })?;
                preds[ti] += 1;
            }
            if ctx.as_type == FlowType::Module && matches!(n.kind, NodeKind::CallModule { .. }) {
                return Err(CompileError::ModuleCallsModule { node: n.id.clone() });
            }
        }
        let task: Vec<bool> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| i == start || (preds[i] >= 2 && !is_terminal(n)))
            .collect();
        let mut c = Compiler {
            flow,
            ctx,
            ty: ctx.as_type,
            queued: vec![false; nodes.len()],
            nodes,
            ref_ids,
            index,
            task,
            queue: VecDeque::new(),
            types: BTreeMap::new(),
            warnings: Vec::new(),
        };
        c.collect_variables()?;
        c.enqueue(start);
        Ok(c)
    }

    fn names(&self) -> Names<'_> {
        Names {
            prefix: unverified::var_prefix(self.ty),
            types: &self.types,
        }
    }

    /// Every variable the flow declares or touches, by canonical name, with its type; fails
    /// on sanitising collisions.
    fn collect_variables(&mut self) -> Result<(), CompileError> {
        let f = self.flow;
        let mut types: BTreeMap<String, VarType> = BTreeMap::new();
        let mut add = |name: &str, ty: Option<VarType>| {
            let e = types
                .entry(canonical(name).into_owned())
                .or_insert(VarType::String);
            if let Some(t) = ty {
                *e = t;
            }
        };
        for n in f.nodes.values() {
            match &n.kind {
                NodeKind::Say { text, .. } => text.vars().for_each(|v| add(v.name(), None)),
                NodeKind::Gather { prompt, into, .. } => {
                    prompt.vars().for_each(|v| add(v.name(), None));
                    add(into.name(), Some(VarType::String));
                }
                NodeKind::Set { assignments } => {
                    for a in assignments {
                        match &a.value {
                            SetValue::Text(t) => t.vars().for_each(|v| add(v.name(), None)),
                            SetValue::Expr(e) => expr_vars(e, &mut |v| add(v, None)),
                        }
                        add(a.var.name(), Some(a.ty));
                    }
                }
                NodeKind::If { branches, .. } => {
                    for b in branches {
                        expr_vars(&b.condition, &mut |v| add(v, None));
                    }
                }
                NodeKind::CallModule {
                    module,
                    inputs,
                    outputs,
                    ..
                } => {
                    for (_, e) in inputs {
                        expr_vars(e, &mut |v| add(v, None));
                    }
                    let target = self.module_target(module);
                    let mapped: Vec<(String, String)> = if outputs.is_empty() {
                        target
                            .map(|t| t.outputs.keys().map(|k| (k.clone(), k.clone())).collect())
                            .unwrap_or_default()
                    } else {
                        outputs
                            .iter()
                            .map(|(m, v)| (m.clone(), v.name().to_owned()))
                            .collect()
                    };
                    for (m, v) in mapped {
                        add(&v, target.and_then(|t| t.outputs.get(&m).copied()));
                    }
                }
                NodeKind::Route { .. } | NodeKind::End { .. } | NodeKind::Disconnect => {}
            }
        }
        for (k, t) in f.inputs.iter().chain(&f.outputs).chain(&f.variables) {
            add(k, Some(*t));
        }
        if self.ty == FlowType::Module {
            for (k, t) in effective_outputs(f) {
                add(&k, Some(t));
            }
        }
        let mut seen: HashMap<String, &str> = HashMap::with_capacity(types.len());
        for k in types.keys() {
            let s = sanitize(k);
            if let Some(prev) = seen.insert(s.clone(), k) {
                return Err(CompileError::NameCollision {
                    kind: "variable",
                    first: prev.to_owned(),
                    second: k.clone(),
                    sanitized: s,
                });
            }
        }
        self.types = types;
        Ok(())
    }

    fn module_target(&self, m: &ModuleRef) -> Option<&'a ModuleTarget> {
        match m {
            ModuleRef::Name(n) => self.ctx.modules.get(n),
            ModuleRef::Id(id) => self.ctx.modules.get(&format!("id:{id}")),
        }
    }

    fn enqueue(&mut self, i: usize) {
        if !self.queued[i] {
            self.queued[i] = true;
            self.queue.push_back(i);
        }
    }

    fn idx(&self, id: &str) -> usize {
        // Every exit was resolved in `new`.
        self.index[id]
    }

    fn document(&mut self) -> Result<Y, CompileError> {
        let f = self.flow;
        let start_ref = self.ref_ids[self.idx(&f.start)].clone();
        let mut root: Vec<(yaml::Key, Y)> = vec![("name".into(), Y::s(self.ctx.flow_name))];
        if let Some(d) = &f.description {
            root.push(("description".into(), Y::s(d)));
        }
        root.push(("division".into(), Y::s(&f.division)));
        root.push(("defaultLanguage".into(), Y::s(&f.language)));
        root.push((
            "startUpRef".into(),
            Y::s(unverified::startup_ref(self.ty, &start_ref)),
        ));
        root.push((
            "supportedLanguages".into(),
            unverified::supported_languages(&f.language),
        ));
        if self.ty == FlowType::Module {
            root.extend(unverified::module_root_extras());
        }
        let vars = self.variables();
        if !vars.is_empty() {
            root.push(("variables".into(), Y::Seq(vars)));
        }
        let mut tasks = Vec::new();
        while let Some(i) = self.queue.pop_front() {
            let mut actions = Vec::new();
            self.chain(i, 0, &mut actions)?;
            tasks.push(Y::one(
                "task",
                Y::map([
                    ("name", Y::s(&self.nodes[i].id)),
                    ("refId", Y::s(&self.ref_ids[i])),
                    ("actions", Y::Seq(actions)),
                ]),
            ));
        }
        root.push(("tasks".into(), Y::Seq(tasks)));
        Ok(Y::one(unverified::root_key(self.ty), Y::Map(root)))
    }

    fn variables(&self) -> Vec<Y> {
        let names = self.names();
        let outputs = if self.ty == FlowType::Module {
            effective_outputs(self.flow)
        } else {
            BTreeMap::new()
        };
        self.types
            .iter()
            .map(|(k, t)| {
                let kind = match t {
                    VarType::String => "stringVariable",
                    VarType::Integer => "integerVariable",
                    VarType::Boolean => "booleanVariable",
                };
                let mut e: Vec<(yaml::Key, Y)> = vec![
                    ("name".into(), Y::s(names.var_name(k))),
                    ("initialValue".into(), no_value()),
                ];
                if self.ty == FlowType::Module {
                    e.push(("isInput".into(), Y::Bool(self.flow.inputs.contains_key(k))));
                    e.push(("isOutput".into(), Y::Bool(outputs.contains_key(k))));
                }
                Y::one(kind, Y::Map(e))
            })
            .collect()
    }

    fn warn(&mut self, code: &str, node: &str, field: &str, message: String) {
        let p = if field.is_empty() {
            pointer(["draft", "nodes", node])
        } else {
            pointer(["draft", "nodes", node, field])
        };
        self.warnings.push(Finding::warning(code, p, message));
    }

    /// The actions for a branch target: a jump to a task, or the inlined chain.
    fn branch(&mut self, target: Option<&str>, depth: usize) -> Result<Vec<Y>, CompileError> {
        let mut out = Vec::new();
        let Some(t) = target else {
            return Ok(out);
        };
        let ti = self.idx(t);
        if !self.task[ti] && depth >= MAX_NESTING && !is_terminal(self.nodes[ti]) {
            self.task[ti] = true;
        }
        if self.task[ti] {
            out.push(self.jump(ti));
        } else {
            self.chain(ti, depth + 1, &mut out)?;
        }
        Ok(out)
    }

    fn jump(&mut self, ti: usize) -> Y {
        self.enqueue(ti);
        unverified::jump_to_task(&format!("Jump to {}", self.nodes[ti].id), &self.ref_ids[ti])
    }

    /// Appends the actions of node `i` and its inlined successors.
    fn chain(&mut self, mut i: usize, depth: usize, out: &mut Vec<Y>) -> Result<(), CompileError> {
        loop {
            let n = self.nodes[i];
            let id = n.id.as_str();
            match &n.kind {
                NodeKind::Say { text, .. } => {
                    out.push(Y::one(
                        "playAudio",
                        Y::map([("name", Y::s(id)), ("audio", self.audio(text))]),
                    ));
                    self.ignored_on_error(n, "playAudio");
                }
                NodeKind::Set { assignments } => {
                    let names = self.names();
                    let statements = assignments
                        .iter()
                        .map(|a| {
                            let (kind, value) = match a.ty {
                                VarType::String => ("string", set_value(&names, a.ty, &a.value)),
                                VarType::Integer => ("integer", set_value(&names, a.ty, &a.value)),
                                VarType::Boolean => ("boolean", set_value(&names, a.ty, &a.value)),
                            };
                            Y::one(
                                kind,
                                Y::map([("variable", Y::s(names.var(&a.var))), ("value", value)]),
                            )
                        })
                        .collect();
                    out.push(Y::one(
                        "updateData",
                        Y::map([("name", Y::s(id)), ("statements", Y::Seq(statements))]),
                    ));
                    self.ignored_on_error(n, "updateData");
                }
                NodeKind::CallModule {
                    module,
                    inputs,
                    outputs,
                    timeout_seconds,
                } => {
                    let action = self.call_module(n, module, inputs, outputs, *timeout_seconds)?;
                    out.push(action);
                    self.ignored_on_error(n, "callCommonModule");
                }
                NodeKind::Gather {
                    prompt,
                    min_digits,
                    max_digits,
                    timeout_seconds,
                    inter_digit_timeout_seconds,
                    into,
                    ..
                } => {
                    let digits = if min_digits == max_digits {
                        Y::one("exact", Y::Int((*max_digits).into()))
                    } else {
                        Y::one(
                            "range",
                            Y::map([
                                ("min", Y::Int((*min_digits).into())),
                                ("max", Y::Int((*max_digits).into())),
                            ]),
                        )
                    };
                    let success = self.branch(n.next.as_deref(), depth)?;
                    let failure = self.branch(n.on_error.as_deref(), depth)?;
                    let mut outputs = Vec::new();
                    if !success.is_empty() {
                        outputs.push(("success".into(), Y::one("actions", Y::Seq(success))));
                    }
                    if !failure.is_empty() {
                        outputs.push(("failure".into(), Y::one("actions", Y::Seq(failure))));
                    }
                    let mut e: Vec<(yaml::Key, Y)> = vec![
                        ("name".into(), Y::s(id)),
                        (
                            "inputData".into(),
                            Y::one("var", Y::s(self.names().var(into))),
                        ),
                        ("digits".into(), digits),
                        (
                            "interDigitTimeout".into(),
                            seconds(*inter_digit_timeout_seconds),
                        ),
                        ("noEntryTimeout".into(), seconds(*timeout_seconds)),
                        ("inputAudio".into(), self.audio(prompt)),
                        ("acceptJustStar".into(), lit(Y::Bool(false))),
                        ("acceptJustPound".into(), lit(Y::Bool(false))),
                        ("verificationType".into(), Y::s("none")),
                    ];
                    if !outputs.is_empty() {
                        e.push(("outputs".into(), Y::Map(outputs)));
                    }
                    out.push(Y::one("collectInput", Y::Map(e)));
                    return Ok(());
                }
                NodeKind::If { branches, default } => {
                    // Build from the last condition outwards: each "no" holds the next test.
                    let mut no = self.branch(default.as_deref(), depth + branches.len())?;
                    for (k, b) in branches.iter().enumerate().rev() {
                        let yes = self.branch(Some(&b.target), depth + k)?;
                        let name = if branches.len() == 1 {
                            id.to_owned()
                        } else {
                            format!("{id} condition {}", k + 1)
                        };
                        let mut outputs = Vec::new();
                        if !yes.is_empty() {
                            outputs.push(("yes".into(), Y::one("actions", Y::Seq(yes))));
                        }
                        if !no.is_empty() {
                            outputs.push(("no".into(), Y::one("actions", Y::Seq(no))));
                        }
                        let condition = Y::one("exp", Y::s(self.names().expr(&b.condition)));
                        let mut e: Vec<(yaml::Key, Y)> =
                            vec![("name".into(), Y::s(name)), ("condition".into(), condition)];
                        if !outputs.is_empty() {
                            e.push(("outputs".into(), Y::Map(outputs)));
                        }
                        no = vec![Y::one("decision", Y::Map(e))];
                    }
                    out.append(&mut no);
                    return Ok(());
                }
                NodeKind::Route {
                    queue,
                    skills,
                    priority,
                } => {
                    let qname = match queue {
                        QueueRef::Name(q) => q.clone(),
                        QueueRef::Id(q) => match self.ctx.queue_names.get(q) {
                            Some(name) => name.clone(),
                            None => {
                                self.warn(
                                    "queue_id_unresolved",
                                    id,
                                    "properties",
                                    format!(
                                        "queue id {q:?} is written as the queue name; it is \
                                         resolved to a queue name at provisioning time"
                                    ),
                                );
                                q.clone()
                            }
                        },
                    };
                    if !skills.is_empty() {
                        self.warn(
                            "skills_not_compiled",
                            id,
                            "properties",
                            "skillRequirements are not compiled yet; the transfer uses the \
                             queue only"
                                .into(),
                        );
                    }
                    let failure =
                        self.branch(n.on_error.as_deref().or(n.next.as_deref()), depth)?;
                    let mut e: Vec<(yaml::Key, Y)> = vec![
                        ("name".into(), Y::s(id)),
                        ("targetQueue".into(), lit(Y::one("name", Y::s(qname)))),
                        ("priority".into(), lit(Y::Int(priority.unwrap_or(0)))),
                        ("preferredAgents".into(), no_value()),
                        ("languageSkill".into(), no_value()),
                        (
                            "failureOutputs".into(),
                            Y::map([("errorType", no_value()), ("errorMessage", no_value())]),
                        ),
                    ];
                    if !failure.is_empty() {
                        e.push((
                            "outputs".into(),
                            Y::one("failure", Y::one("actions", Y::Seq(failure))),
                        ));
                    }
                    out.push(Y::one("transferToAcd", Y::Map(e)));
                    return Ok(());
                }
                NodeKind::End { .. } => {
                    if self.ty == FlowType::Module {
                        out.extend(unverified::module_end(id));
                    } else {
                        out.push(disconnect(id));
                    }
                    return Ok(());
                }
                NodeKind::Disconnect => {
                    out.push(disconnect(id));
                    return Ok(());
                }
            }
            // Linear nodes continue with their next node.
            let Some(next) = n.next.as_deref() else {
                return Ok(());
            };
            let ni = self.idx(next);
            if self.task[ni] {
                let j = self.jump(ni);
                out.push(j);
                return Ok(());
            }
            i = ni;
        }
    }

    fn ignored_on_error(&mut self, n: &Node, action: &str) {
        if let Some(e) = &n.on_error {
            if n.next.as_deref() != Some(e.as_str()) {
                self.warn(
                    "on_error_not_compiled",
                    &n.id,
                    "onError",
                    format!(
                        "Archy's {action} has no failure path: onError → {e:?} is not compiled; \
                         in Genesys the flow's error handling applies"
                    ),
                );
            }
        }
    }

    fn audio(&self, t: &Text) -> Y {
        match literal_text(t) {
            Some(s) => Y::one("tts", Y::s(s)),
            None => Y::one("exp", Y::s(format!("ToAudioTTS({})", self.names().text(t)))),
        }
    }

    fn call_module(
        &mut self,
        n: &Node,
        module: &ModuleRef,
        inputs: &[(String, Expr)],
        outputs: &[(String, crate::template::model::VarRef)],
        timeout: Option<u32>,
    ) -> Result<Y, CompileError> {
        let target = self.module_target(module);
        let flow_name = match (module, target) {
            (_, Some(t)) => t.flow_name.clone(),
            (ModuleRef::Id(id), None) => {
                return Err(CompileError::UnresolvedModuleId {
                    node: n.id.clone(),
                    flow_id: id.clone(),
                });
            }
            (ModuleRef::Name(name), None) => {
                self.warn(
                    "module_unresolved",
                    &n.id,
                    "properties",
                    format!(
                        "module {name:?} is not known: its template name is used as the flow \
                         name and only the explicit output mapping is compiled"
                    ),
                );
                name.clone()
            }
        };
        if timeout.is_some() {
            self.warn(
                "timeout_ignored",
                &n.id,
                "properties",
                "timeoutSeconds is ignored: Genesys has no timeout on a module call".into(),
            );
        }
        let module_prefix = unverified::var_prefix(FlowType::Module);
        let caller = self.names();
        let mut ins: BTreeMap<String, Y> = BTreeMap::new();
        if let Some(t) = target {
            for k in t.inputs.keys() {
                ins.insert(format!("{module_prefix}{}", sanitize(k)), no_value());
            }
        }
        for (k, e) in inputs {
            ins.insert(
                format!("{module_prefix}{}", sanitize(k)),
                Y::one("exp", Y::s(caller.expr(e))),
            );
        }
        let mut outs: BTreeMap<String, Y> = BTreeMap::new();
        if outputs.is_empty() {
            for k in target.iter().flat_map(|t| t.outputs.keys()) {
                outs.insert(
                    format!("{module_prefix}{}", sanitize(k)),
                    Y::one("var", Y::s(caller.var_name(k))),
                );
            }
        } else {
            for (m, v) in outputs {
                outs.insert(
                    format!("{module_prefix}{}", sanitize(&canonical(m))),
                    Y::one("var", Y::s(caller.var(v))),
                );
            }
        }
        Ok(unverified::call_common_module(
            &n.id,
            &flow_name,
            ins.into_iter().map(|(k, v)| (k.into(), v)).collect(),
            outs.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        ))
    }
}

fn expr_vars(e: &Expr, f: &mut dyn FnMut(&str)) {
    match e {
        Expr::Var(v) => f(v.name()),
        Expr::Not(a) | Expr::Neg(a) => expr_vars(a, f),
        Expr::Binary(_, a, b) => {
            expr_vars(a, f);
            expr_vars(b, f);
        }
        Expr::Call(_, args) => args.iter().for_each(|a| expr_vars(a, f)),
        Expr::Str(_) | Expr::Int(_) | Expr::Bool(_) => {}
    }
}

/// The text when it has no interpolation.
fn literal_text(t: &Text) -> Option<String> {
    let mut s = String::new();
    for seg in &t.0 {
        match seg {
            crate::template::model::Segment::Literal(l) => s.push_str(l),
            crate::template::model::Segment::Var(_) => return None,
        }
    }
    Some(s)
}

fn set_value(names: &Names<'_>, ty: VarType, v: &SetValue) -> Y {
    match v {
        SetValue::Expr(e) => Y::one("exp", Y::s(names.expr(e))),
        SetValue::Text(t) => match (ty, literal_text(t)) {
            (VarType::String, Some(s)) => lit(Y::s(s)),
            (VarType::Integer, Some(s)) => match s.trim().parse::<i64>() {
                Ok(i) => lit(Y::Int(i)),
                Err(_) => Y::one("exp", Y::s(format!("ToInt({})", names.text(t)))),
            },
            (VarType::Boolean, Some(s)) => match s.trim() {
                "true" => lit(Y::Bool(true)),
                "false" => lit(Y::Bool(false)),
                _ => Y::one("exp", Y::s(format!("ToBool({})", names.text(t)))),
            },
            (VarType::String, None) => Y::one("exp", Y::s(names.text(t))),
            (VarType::Integer, None) => match single_var(t) {
                Some(v) if names.type_of(v) == VarType::Integer => {
                    Y::one("exp", Y::s(names.var(v)))
                }
                _ => Y::one("exp", Y::s(format!("ToInt({})", names.text(t)))),
            },
            (VarType::Boolean, None) => match single_var(t) {
                Some(v) if names.type_of(v) == VarType::Boolean => {
                    Y::one("exp", Y::s(names.var(v)))
                }
                _ => Y::one("exp", Y::s(format!("ToBool({})", names.text(t)))),
            },
        },
    }
}

fn single_var(t: &Text) -> Option<&crate::template::model::VarRef> {
    match t.0.as_slice() {
        [crate::template::model::Segment::Var(v)] => Some(v),
        _ => None,
    }
}

fn lit(v: Y) -> Y {
    Y::one("lit", v)
}

fn no_value() -> Y {
    Y::one("noValue", Y::Bool(true))
}

fn seconds(s: Option<u32>) -> Y {
    match s {
        Some(s) => lit(Y::one("seconds", Y::Int(s.into()))),
        None => no_value(),
    }
}

fn disconnect(name: &str) -> Y {
    Y::one("disconnect", Y::one("name", Y::s(name)))
}
