//! Compiler from the validated template model to Archy YAML (spec section 4).
//!
//! Pure and deterministic: the same flow and context give the same bytes, so the SHA-256 of
//! the YAML detects change. Shapes we could not verify against a real org live in
//! [`unverified`].
//!
//! Graph to Archy control flow: [`structure`] turns the node graph into structured code.
//! A branching node's outputs hold its branches; paths that meet again continue after the
//! branching action (Archy merges outputs back). An inbound flow keeps reusable tasks for
//! its start, cycle starts and joins that nesting cannot express (reached by `jumpToTask`
//! with an absolute `targetTaskRef`), and every task ends with a closing action. Its Menu
//! nodes are `menus` entries where the corpus shapes can express them ([`menu`]): a menu is
//! a place reached by `jumpToMenu` (or `startUpRef`), and the nodes its choices run are
//! reusable tasks ([`structure::Shape::Place`]). A common
//! module is one sequence under `startUpTaskActions`: joins nesting cannot express are
//! repeated (within [`structure::MODULE_DUPLICATION_BUDGET`]), cycles become `loop` +
//! `loopExit`, and a graph with no such form is [`CompileError::NotStructurable`] (the
//! validator reports it at store time as `module_not_structurable`). An exit the template
//! leaves empty ends the flow like an End node.
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
pub mod menu;
pub mod structure;
pub mod unverified;
mod vocabulary;
pub mod yaml;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

pub use expr::{canonical, sanitize, source as expr_source};

use crate::template::expr::Expr;
use crate::template::model::{
    Flow, FlowType, ModuleRef, Node, NodeKind, QueueRef, ScheduleState, SetValue, Text, VarType,
};
use crate::template::{Finding, pointer};
use expr::Names;
use yaml::Y;

pub use structure::MAX_NESTING;
use structure::{Block, Shape, Stmt};

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
    #[error("node {node:?} (exit {exit}): {}", reason.message())]
    NotStructurable {
        node: String,
        /// Which exit of the node: see [`exit_pointer`].
        exit: usize,
        reason: structure::Reason,
    },
}

impl CompileError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            CompileError::NameCollision { .. } => "name_collision",
            CompileError::UnresolvedModuleId { .. } => "module_id_unresolved",
            CompileError::UnknownNode { .. } => "unknown_node",
            CompileError::ModuleCallsModule { .. } => "module_calls_module",
            CompileError::NotStructurable { .. } => "module_not_structurable",
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
    start: usize,
    types: BTreeMap<String, VarType>,
    /// Loop header node → canonical name of its `currentIndex` variable.
    loop_vars: BTreeMap<usize, String>,
    /// Menu nodes written as `menus` entries (inbound flows).
    menus: BTreeMap<usize, menu::Plan>,
    warnings: Vec<Finding>,
}

/// Which exit of a node an edge is (for pointers into the document).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitField {
    /// `onComplete.nextNode` (a Route: its failure path, `onError` else `onComplete`).
    Next,
    /// `onError.nextNode` (or the seed's `onComplete.onError`).
    OnError,
    /// `properties.conditions[k].nextNode`.
    Condition(usize),
    /// `properties.defaultNextNode`.
    Default,
}

/// The exit field of exit number `exit` of a node, in the order [`structure_graph`] uses.
pub fn exit_field(n: &Node, exit: usize) -> ExitField {
    match &n.kind {
        NodeKind::Gather { .. } if exit == 1 => ExitField::OnError,
        NodeKind::If { branches, .. } if exit < branches.len() => ExitField::Condition(exit),
        NodeKind::If { .. } => ExitField::Default,
        NodeKind::Route { .. } if n.on_error.is_some() => ExitField::OnError,
        _ => ExitField::Next,
    }
}

/// The control-flow shape and the exits (in output order) of a node; `None` is an exit the
/// template leaves empty.
fn shape_and_exits<'f>(
    n: &'f Node,
    ty: FlowType,
    menus: &HashMap<&str, menu::Plan>,
) -> (Shape, Vec<Option<&'f str>>) {
    if let (NodeKind::Menu { choices, .. }, Some(plan)) = (&n.kind, menus.get(n.id.as_str())) {
        // A menu is a place: its choices that run tasks or other menus are its exits.
        return (
            Shape::Place,
            choices
                .iter()
                .zip(&plan.choices)
                .filter(|(_, k)| matches!(k, menu::ChoiceKind::JumpToTask | menu::ChoiceKind::Menu))
                .map(|(c, _)| Some(c.target.as_str()))
                .collect(),
        );
    }
    match &n.kind {
        NodeKind::Say { .. } | NodeKind::Set { .. } | NodeKind::CallModule { .. } => {
            (Shape::Linear, vec![n.next.as_deref()])
        }
        // A failed transfer falls through to the next action: the failure path follows.
        NodeKind::Route { .. } => (
            Shape::Linear,
            vec![n.on_error.as_deref().or(n.next.as_deref())],
        ),
        NodeKind::Gather { .. } => (
            Shape::Branch,
            vec![n.next.as_deref(), n.on_error.as_deref()],
        ),
        NodeKind::If { branches, default } => (
            Shape::Branch,
            branches
                .iter()
                .map(|b| Some(b.target.as_str()))
                .chain(std::iter::once(default.as_deref()))
                .collect(),
        ),
        NodeKind::End { .. } if ty == FlowType::Module => (Shape::Return, Vec::new()),
        NodeKind::End { .. } | NodeKind::Disconnect => (Shape::Close, Vec::new()),
        NodeKind::PlayPrompt { .. }
        | NodeKind::SetParticipantData { .. }
        | NodeKind::GetParticipantData { .. } => (Shape::Linear, vec![n.next.as_deref()]),
        NodeKind::Voicemail { .. } => (
            Shape::Linear,
            vec![n.on_error.as_deref().or(n.next.as_deref())],
        ),
        NodeKind::DataAction { on_timeout, .. } => (
            Shape::Branch,
            vec![
                n.next.as_deref(),
                n.on_error.as_deref(),
                on_timeout.as_deref().or(n.on_error.as_deref()),
            ],
        ),
        NodeKind::TableLookup { on_not_found, .. } => (
            Shape::Branch,
            vec![n.next.as_deref(), on_not_found.as_deref()],
        ),
        NodeKind::Switch { branches, default } => (
            Shape::Branch,
            branches
                .iter()
                .map(|b| Some(b.target.as_str()))
                .chain(std::iter::once(default.as_deref()))
                .collect(),
        ),
        NodeKind::Schedule { exits, .. } => (
            Shape::Branch,
            ScheduleState::ALL
                .iter()
                .map(|s| exits.get(s).map(String::as_str).or(n.next.as_deref()))
                .collect(),
        ),
        NodeKind::Menu { choices, .. } => (
            Shape::Branch,
            choices
                .iter()
                .map(|c| Some(c.target.as_str()))
                .chain(std::iter::once(n.on_error.as_deref()))
                .collect(),
        ),
    }
}

/// The structurer's view of a flow compiled as `ty` (node indices follow `flow.nodes`).
pub fn structure_graph(flow: &Flow, ty: FlowType) -> Result<structure::Graph, CompileError> {
    let index: HashMap<&str, usize> = flow
        .nodes
        .keys()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let start = *index
        .get(flow.start.as_str())
        .ok_or_else(|| CompileError::UnknownNode {
            node: "draft.startNode".into(),
            target: flow.start.clone(),
        })?;
    let menus = menu::entries(flow, ty);
    let mut shape = Vec::with_capacity(flow.nodes.len());
    let mut exits = Vec::with_capacity(flow.nodes.len());
    for n in flow.nodes.values() {
        let (sh, ex) = shape_and_exits(n, ty, &menus);
        let ex = ex
            .into_iter()
            .map(|t| {
                t.map(|t| {
                    index
                        .get(t)
                        .copied()
                        .ok_or_else(|| CompileError::UnknownNode {
                            node: n.id.clone(),
                            target: t.to_owned(),
                        })
                })
                .transpose()
            })
            .collect::<Result<Vec<_>, _>>()?;
        shape.push(sh);
        exits.push(ex);
    }
    Ok(structure::Graph {
        shape,
        exits,
        start,
    })
}

/// The structured form of a flow compiled as `ty`.
pub fn structured(flow: &Flow, ty: FlowType) -> Result<structure::Structured, CompileError> {
    let graph = structure_graph(flow, ty)?;
    let mode = match ty {
        FlowType::Inbound => structure::Mode::Tasks,
        FlowType::Module => structure::Mode::Sequence {
            budget: structure::MODULE_DUPLICATION_BUDGET,
        },
    };
    structure::structure(&graph, mode).map_err(|e| CompileError::NotStructurable {
        node: flow
            .nodes
            .values()
            .nth(e.from)
            .map(|n| n.id.clone())
            .unwrap_or_default(),
        exit: e.exit,
        reason: e.reason,
    })
}

/// Calls `f` with every node a block runs or jumps to.
fn collect_nodes(b: &[Stmt], f: &mut dyn FnMut(usize)) {
    for s in b {
        match s {
            Stmt::Node(i, blocks) => {
                f(*i);
                blocks.iter().for_each(|b| collect_nodes(b, f));
            }
            Stmt::Loop(_, body) => collect_nodes(body, f),
            Stmt::Jump(i) => f(*i),
            Stmt::End | Stmt::LoopExit(_) => {}
        }
    }
}

fn collect_loops(b: &[Stmt], out: &mut Vec<usize>) {
    for s in b {
        match s {
            Stmt::Node(_, blocks) => blocks.iter().for_each(|b| collect_loops(b, out)),
            Stmt::Loop(h, body) => {
                out.push(*h);
                collect_loops(body, out);
            }
            Stmt::End | Stmt::LoopExit(_) | Stmt::Jump(_) => {}
        }
    }
}

impl<'a> Compiler<'a> {
    fn new(flow: &'a Flow, ctx: &'a CompileContext<'a>) -> Result<Self, CompileError> {
        let nodes: Vec<&Node> = flow.nodes.values().collect();
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
        if ctx.as_type == FlowType::Module
            && let Some(n) = nodes
                .iter()
                .find(|n| matches!(n.kind, NodeKind::CallModule { .. }))
        {
            return Err(CompileError::ModuleCallsModule { node: n.id.clone() });
        }
        let graph = structure_graph(flow, ctx.as_type)?;
        let mut plans = menu::entries(flow, ctx.as_type);
        let menus = nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| Some((i, plans.remove(n.id.as_str())?)))
            .collect();
        let mut c = Compiler {
            flow,
            ctx,
            ty: ctx.as_type,
            nodes,
            ref_ids,
            start: graph.start,
            types: BTreeMap::new(),
            loop_vars: BTreeMap::new(),
            menus,
            warnings: Vec::new(),
        };
        c.collect_variables()?;
        // Unresolved flow ids are errors before anything is emitted.
        for n in &c.nodes {
            if let NodeKind::CallModule {
                module: ModuleRef::Id(id),
                ..
            } = &n.kind
                && c.module_target(&ModuleRef::Id(id.clone())).is_none()
            {
                return Err(CompileError::UnresolvedModuleId {
                    node: n.id.clone(),
                    flow_id: id.clone(),
                });
            }
        }
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
        let menu_ids: std::collections::HashSet<&str> = self
            .menus
            .keys()
            .map(|&i| self.nodes[i].id.as_str())
            .collect();
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
                NodeKind::Menu { prompt, .. } => {
                    if let crate::template::model::Prompt::Text(t) = prompt {
                        t.vars().for_each(|v| add(v.name(), None));
                    }
                    // A `menus` entry stores no digits.
                    if !menu_ids.contains(n.id.as_str()) {
                        add(&format!("{}_digits", n.id), Some(VarType::String));
                    }
                }
                NodeKind::DataAction {
                    inputs, outputs, ..
                } => {
                    for (_, t) in inputs {
                        t.vars().for_each(|v| add(v.name(), None));
                    }
                    outputs.iter().for_each(|(_, v)| add(v.name(), None));
                }
                NodeKind::TableLookup { key, outputs, .. } => {
                    key.vars().for_each(|v| add(v.name(), None));
                    outputs.iter().for_each(|(_, v)| add(v.name(), None));
                }
                NodeKind::Switch { branches, .. } => {
                    for b in branches {
                        expr_vars(&b.condition, &mut |v| add(v, None));
                    }
                }
                NodeKind::SetParticipantData { attributes } => {
                    for (_, t) in attributes {
                        t.vars().for_each(|v| add(v.name(), None));
                    }
                }
                NodeKind::GetParticipantData { attributes } => {
                    attributes.iter().for_each(|(_, v)| add(v.name(), None));
                }
                NodeKind::PlayPrompt { .. }
                | NodeKind::Schedule { .. }
                | NodeKind::Voicemail { .. } => {}
            }
        }
        // A `menus` entry stores no digits, whatever the flow's interface lists.
        let menu_digits: std::collections::HashSet<String> =
            menu_ids.iter().map(|id| format!("{id}_digits")).collect();
        for (k, t) in f.inputs.iter().chain(&f.outputs).chain(&f.variables) {
            if !menu_digits.contains(k) {
                add(k, Some(*t));
            }
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

    /// Declares the `currentIndex` variable of every loop (`<header>_loop`, integer).
    fn declare_loop_vars(&mut self, s: &structure::Structured) -> Result<(), CompileError> {
        let mut headers = Vec::new();
        for (_, b) in &s.tasks {
            collect_loops(b, &mut headers);
        }
        headers.sort_unstable();
        headers.dedup();
        for h in headers {
            let name = format!("{}_loop", self.ref_ids[h]);
            let san = sanitize(&name);
            if let Some(k) = self.types.keys().find(|k| sanitize(k) == san) {
                return Err(CompileError::NameCollision {
                    kind: "variable",
                    first: k.clone(),
                    second: format!("{name} (the loop counter of node {:?})", self.nodes[h].id),
                    sanitized: san,
                });
            }
            self.types.insert(name.clone(), VarType::Integer);
            self.loop_vars.insert(h, name);
        }
        Ok(())
    }

    fn document(&mut self) -> Result<Y, CompileError> {
        let f = self.flow;
        let s = structured(f, self.ty)?;
        self.declare_loop_vars(&s)?;
        let mut root: Vec<(yaml::Key, Y)> = vec![("name".into(), Y::s(self.ctx.flow_name))];
        if let Some(d) = &f.description {
            root.push(("description".into(), Y::s(d)));
        }
        root.push(("division".into(), Y::s(&f.division)));
        root.push(("defaultLanguage".into(), Y::s(&f.language)));
        match self.ty {
            FlowType::Inbound => {
                let start = if self.menus.contains_key(&self.start) {
                    menu::menu_ref(self.ty, &self.ref_ids[self.start])
                } else {
                    task_ref(self.ty, &self.ref_ids[self.start])
                };
                root.push(("startUpRef".into(), Y::s(start)));
                root.push((
                    "supportedLanguages".into(),
                    supported_languages(&f.language),
                ));
                root.push(("initialGreeting".into(), initial_greeting(f)));
            }
            FlowType::Module => {
                root.push((
                    "supportedLanguages".into(),
                    unverified::module_supported_languages(&f.language),
                ));
                root.extend(unverified::module_root_extras());
            }
        }
        let vars = self.variables();
        if !vars.is_empty() {
            root.push(("variables".into(), Y::Seq(vars)));
        }
        match self.ty {
            FlowType::Inbound => {
                // Menus reached: a task of a menu stands for the menu itself.
                let mut reached = std::collections::BTreeSet::new();
                for (i, block) in &s.tasks {
                    if self.menus.contains_key(i) {
                        reached.insert(*i);
                    }
                    collect_nodes(block, &mut |k| {
                        if self.menus.contains_key(&k) {
                            reached.insert(k);
                        }
                    });
                }
                let index: HashMap<&str, usize> = self
                    .nodes
                    .iter()
                    .enumerate()
                    .map(|(k, n)| (n.id.as_str(), k))
                    .collect();
                let mut menus = Vec::with_capacity(reached.len());
                for i in reached {
                    let plan = self.menus[&i].clone();
                    menus.push(self.menu_entry(i, &plan, &index));
                }
                if !menus.is_empty() {
                    root.push(("menus".into(), Y::Seq(menus)));
                }
                let mut tasks = Vec::with_capacity(s.tasks.len());
                for (i, block) in &s.tasks {
                    if self.menus.contains_key(i) {
                        continue;
                    }
                    let mut actions = self.block(block);
                    if !actions.last().is_some_and(is_closing) {
                        actions.push(disconnect("Disconnect"));
                    }
                    tasks.push(Y::one(
                        "task",
                        Y::map([
                            ("name", Y::s(&self.nodes[*i].id)),
                            ("refId", Y::s(&self.ref_ids[*i])),
                            ("actions", Y::Seq(actions)),
                        ]),
                    ));
                }
                if !tasks.is_empty() {
                    root.push(("tasks".into(), Y::Seq(tasks)));
                }
            }
            FlowType::Module => {
                let actions = s
                    .tasks
                    .first()
                    .map(|(_, b)| self.block(b))
                    .unwrap_or_default();
                root.push((unverified::module_sequence_key().into(), Y::Seq(actions)));
            }
        }
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
        // A node written twice (a Route both as a menu choice and as an action) warns once.
        if !self
            .warnings
            .iter()
            .any(|w| w.code == code && w.pointer == p)
        {
            self.warnings.push(Finding::warning(code, p, message));
        }
    }

    fn block(&mut self, b: &[Stmt]) -> Vec<Y> {
        let mut out = Vec::with_capacity(b.len());
        for s in b {
            self.stmt(s, &mut out);
        }
        out
    }

    fn stmt(&mut self, s: &Stmt, out: &mut Vec<Y>) {
        match s {
            Stmt::Node(i, _) | Stmt::Jump(i) if self.menus.contains_key(i) => {
                out.push(self.jump_to_menu(*i));
            }
            Stmt::Node(i, blocks) => self.node(*i, blocks, out),
            Stmt::End => {
                if self.ty == FlowType::Inbound {
                    out.push(disconnect("Disconnect"));
                }
            }
            Stmt::Loop(h, body) => {
                let body = self.block(body);
                let var = self.names().var_name(&self.loop_vars[h]);
                out.push(Y::one(
                    "loop",
                    Y::map([
                        ("name", Y::s(format!("Loop {}", self.nodes[*h].id))),
                        ("currentIndex", Y::one("var", Y::s(var))),
                        ("loopCount", unverified::loop_count()),
                        ("outputs", Y::one("loop", Y::one("actions", Y::Seq(body)))),
                    ]),
                ));
            }
            Stmt::LoopExit(h) => out.push(Y::one(
                "loopExit",
                Y::one("name", Y::s(format!("Exit loop {}", self.nodes[*h].id))),
            )),
            Stmt::Jump(i) => out.push(jump_to_task(
                &format!("Jump to {}", self.nodes[*i].id),
                &task_ref(self.ty, &self.ref_ids[*i]),
            )),
        }
    }

    /// The actions of a block (empty for a missing one).
    fn block_at(&mut self, blocks: &[Block], k: usize) -> Vec<Y> {
        match blocks.get(k) {
            Some(b) => self.block(b),
            None => Vec::new(),
        }
    }

    /// The actions of node `i`, with its branches' blocks.
    fn node(&mut self, i: usize, blocks: &[Block], out: &mut Vec<Y>) {
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
                        let kind = match a.ty {
                            VarType::String => "string",
                            VarType::Integer => "integer",
                            VarType::Boolean => "boolean",
                        };
                        Y::one(
                            kind,
                            Y::map([
                                ("variable", Y::s(names.var(&a.var))),
                                ("value", set_value(&names, a.ty, &a.value)),
                            ]),
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
                // Unresolved flow ids were refused in `new`.
                if let Ok(action) = self.call_module(n, module, inputs, outputs, *timeout_seconds) {
                    out.push(action);
                }
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
                let success = self.block_at(blocks, 0);
                let failure = self.block_at(blocks, 1);
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
            }
            NodeKind::PlayPrompt { .. }
            | NodeKind::Menu { .. }
            | NodeKind::DataAction { .. }
            | NodeKind::TableLookup { .. }
            | NodeKind::Switch { .. }
            | NodeKind::SetParticipantData { .. }
            | NodeKind::GetParticipantData { .. }
            | NodeKind::Schedule { .. }
            | NodeKind::Voicemail { .. } => self.vocabulary(n, blocks, out),
            NodeKind::If { branches, .. } => {
                // Build from the last condition outwards: each "no" holds the next test.
                let mut no = self.block_at(blocks, branches.len());
                for (k, b) in branches.iter().enumerate().rev() {
                    let yes = self.block_at(blocks, k);
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
            }
            NodeKind::Route { .. } => {
                // No failure output: a failed transfer falls through to the actions after
                // it (the failure path), as exports do.
                let mut e: Vec<(yaml::Key, Y)> = vec![("name".into(), Y::s(id))];
                e.extend(self.transfer_fields(n));
                out.push(Y::one("transferToAcd", Y::Map(e)));
            }
            NodeKind::End { .. } => {
                if self.ty == FlowType::Module {
                    out.extend(unverified::module_end(id));
                } else {
                    out.push(disconnect(id));
                }
            }
            NodeKind::Disconnect => out.push(disconnect(id)),
        }
    }

    /// The fields of a Route's transfer after its name (`transferToAcd` and the menu
    /// choice `menuTransferToAcd` share them [corpus: SimpleFinancialIvr_v2-0.yaml]).
    fn transfer_fields(&mut self, n: &Node) -> Vec<(yaml::Key, Y)> {
        let NodeKind::Route {
            queue,
            skills,
            priority,
        } = &n.kind
        else {
            return Vec::new();
        };
        let id = n.id.as_str();
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
                "skillRequirements are not compiled yet; the transfer uses the queue only".into(),
            );
        }
        vec![
            ("targetQueue".into(), lit(Y::one("name", Y::s(qname)))),
            ("priority".into(), lit(Y::Int(priority.unwrap_or(0)))),
            ("preferredAgents".into(), no_value()),
            ("languageSkill".into(), no_value()),
            (
                "failureOutputs".into(),
                Y::map([("errorType", no_value()), ("errorMessage", no_value())]),
            ),
        ]
    }

    fn ignored_on_error(&mut self, n: &Node, action: &str) {
        if let Some(e) = &n.on_error
            && n.next.as_deref() != Some(e.as_str())
        {
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

/// Absolute reference to a task: `/<root>/tasks/task[<refId>]` [corpus: every jump and
/// `startUpRef` of the published files; a relative `./tasks/...` inside an action resolves
/// from the action's own place].
fn task_ref(t: FlowType, ref_id: &str) -> String {
    format!("/{}/tasks/task[{ref_id}]", unverified::root_key(t))
}

/// A move to a reusable task: `jumpToTask: {name, targetTaskRef}` with an absolute
/// reference [corpus: digital-bot and message files; `menuJumpToTask` in
/// architect-flow-public-api-blueprint `archy_flow.yml`].
fn jump_to_task(name: &str, target: &str) -> Y {
    Y::one(
        "jumpToTask",
        Y::map([("name", Y::s(name)), ("targetTaskRef", Y::s(target))]),
    )
}

/// Inbound `supportedLanguages` [corpus: every inbound file that has the block writes
/// `{en-us: {defaultLanguageSkill: {noValue: true}, textToSpeech: {defaultEngine: {voice:
/// Jill}}}}`]. The corpus names a voice for `en-us` only, so other languages get the
/// language skill alone (the `textToSpeech` key is then absent, as the org default applies).
fn supported_languages(lang: &str) -> Y {
    let mut e: Vec<(yaml::Key, Y)> = vec![("defaultLanguageSkill".into(), no_value())];
    if lang == "en-us" {
        e.push((
            "textToSpeech".into(),
            Y::one("defaultEngine", Y::one("voice", Y::s("Jill"))),
        ));
    }
    Y::one(lang.to_owned(), Y::Map(e))
}

/// `initialGreeting` [corpus: 18 of 19 inbound files]: the template's `greeting` as
/// `tts:`, else a silent `exp: ToAudioBlank(1)` (design-architect-flow-data-actions-for-
/// resiliency `CacheExampleFlow.yaml`), so the call starts with what the template says.
fn initial_greeting(f: &Flow) -> Y {
    match &f.greeting {
        Some(g) => Y::one("tts", Y::s(g)),
        None => Y::one("exp", Y::s("ToAudioBlank(1)")),
    }
}

/// Whether an action ends its path (a task must end with one).
fn is_closing(a: &Y) -> bool {
    matches!(a, Y::Map(e) if e.len() == 1
        && matches!(e[0].0.as_ref(), "disconnect" | "jumpToTask" | "jumpToMenu"))
}
