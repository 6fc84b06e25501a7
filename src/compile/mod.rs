//! Compiler from the validated template model to Archy YAML (spec section 4).
//!
//! Pure and deterministic: the same flow and context give the same bytes, so the SHA-256 of
//! the YAML detects change. Shapes we could not verify against a real org live in
//! [`unverified`].
//!
//! Graph to Archy control flow: `structure` turns the node graph into structured code.
//! A branching node's outputs hold its branches; paths that meet again continue after the
//! branching action (Archy merges outputs back). An inbound flow keeps reusable tasks for
//! its start, cycle starts and joins that nesting cannot express (reached by `jumpToTask`
//! with an absolute `targetTaskRef`), and every task ends with a closing action. Its Menu
//! nodes are `menus` entries where the corpus shapes can express them (`menu`): a menu is
//! a place reached by `jumpToMenu` (or `startUpRef`), and the nodes its choices run are
//! reusable tasks (`structure::Shape::Place`). A common
//! module is one sequence under `startUpTaskActions`: joins nesting cannot express are
//! repeated (within `structure::MODULE_DUPLICATION_BUDGET`), cycles become `loop` +
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
//!
//! Layout: `nodes` holds one file per node kind (its shape and exits, the variables it
//! reads and writes, its actions; `nodes/mod.rs` only dispatches); `graph` turns a flow
//! into the structurer's graph, `structure` structures it, `variables` collects the
//! variables, `document` writes the YAML document; `actions` (action pieces), `exits`
//! (exit fields, shared shapes) and `expr` (names and expressions) serve the kinds.
//! Imports point one way: mod → document, variables → graph → nodes → actions, exits,
//! expr → structure, yaml, unverified; nothing here imports above `crate::template`.

mod actions;
pub mod archy;
mod document;
mod exits;
mod expr;
mod graph;
mod nodes;
pub(crate) mod structure;
pub mod unverified;
mod variables;
pub(crate) mod yaml;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

pub use exits::ExitField;
pub use expr::{canonical, sanitize, source as expr_source};
pub use graph::{exit_field, structure_graph, structured};
/// The `menus` entries of inbound Menu nodes (the validator and the simulator plan with them).
pub(crate) use nodes::menu;

use crate::template::model::{Flow, FlowType, ModuleRef, Node, VarType};
use crate::template::{Finding, pointer};
use actions::{disconnect, jump_to_task, lit, literal_text, no_value, outputs, seconds, task_ref};
use expr::Names;
use yaml::Y;

pub use structure::MAX_NESTING;
use structure::{Block, Stmt};

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
        nodes::implicit_outputs(node, &mut out);
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

/// Node ids → refIds, failing when two ids sanitise to the same refId.
fn ref_ids(nodes: &[&Node]) -> Result<Vec<String>, CompileError> {
    let mut ref_ids = Vec::with_capacity(nodes.len());
    let mut seen: HashMap<String, &str> = HashMap::with_capacity(nodes.len());
    for n in nodes {
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
    Ok(ref_ids)
}

impl<'a> Compiler<'a> {
    fn new(flow: &'a Flow, ctx: &'a CompileContext<'a>) -> Result<Self, CompileError> {
        let nodes: Vec<&Node> = flow.nodes.values().collect();
        let ref_ids = ref_ids(&nodes)?;
        nodes::refuse_in_module(&nodes, ctx.as_type)?;
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
        nodes::refuse_unresolved_ids(&c)?;
        Ok(c)
    }

    fn names(&self) -> Names<'_> {
        Names {
            prefix: archy::var_prefix(self.ty),
            types: &self.types,
        }
    }

    fn module_target(&self, m: &ModuleRef) -> Option<&'a ModuleTarget> {
        match m {
            ModuleRef::Name(n) => self.ctx.modules.get(n),
            ModuleRef::Id(id) => self.ctx.modules.get(&format!("id:{id}")),
        }
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
            Stmt::Node(i, blocks) => nodes::emit(self, *i, blocks, out),
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
}
