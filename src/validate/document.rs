//! The document as a whole: its top-level fields, the draft, and the order of the checks
//! (nodes, graph, loops, variables, read-before-write) that ends in the validated [`Flow`].

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::declarations::Decls;
use super::graph::Graph;
use super::validator::{PNode, Validator};
use super::variables::Variables;
use crate::compile::canonical;
use crate::findings::pointer;
use crate::template::model::{Node, NodeKind, VarType};
use crate::template::{Finding, Flow, FlowType, name_problem};

const TOP_FIELDS: &[&str] = &[
    "name",
    "type",
    "description",
    "division",
    "language",
    "greeting",
    "compatibleFlowTypes",
    "initialValues",
    "parameters",
    "inputs",
    "outputs",
    "draft",
    "inbound",
    "outbound",
];
/// The flow types a common module may be compatible with, as exported modules write them
/// (`settingsCommonModule.compatibleFlowTypes[].flowType`; archy-evidence.md, "Common
/// modules": the corpus modules name `inboundcall`, `inboundshortmessage`, `inboundemail`,
/// `workflow`; `inqueuecall` is the Scripting SDK's in-queue call flow type, lower-cased as
/// the others).
pub(crate) const COMPATIBLE_FLOW_TYPES: &[&str] = &[
    "inboundcall",
    "inqueuecall",
    "inboundshortmessage",
    "inboundemail",
    "workflow",
];
const DRAFT_FIELDS: &[&str] = &["startNode", "nodes", "edges"];

/// The draft's `startNode` and `nodes`, each when readable.
type Draft<'d> = (Option<String>, Option<&'d Map<String, Value>>);

/// The top-level fields of a document, as far as they could be read.
struct Header {
    name: Option<String>,
    flow_type: Option<FlowType>,
    description: Option<String>,
    division: String,
    language: String,
    greeting: Option<String>,
    /// `compatibleFlowTypes` besides `inboundcall`.
    compatible_flow_types: Vec<String>,
    /// Declared module inputs and outputs, each with its pointer.
    inputs: Option<Decls>,
    outputs: Option<Decls>,
    /// `initialValues`, by canonical variable name.
    initial_values: BTreeMap<String, Value>,
}

impl Validator<'_> {
    pub(super) fn document(&mut self, doc: &Value) -> Option<Flow> {
        let Some(obj) = doc.as_object() else {
            self.wrong_type("", "a template document must be a JSON object", doc);
            return None;
        };
        self.unknown_fields(obj, "", TOP_FIELDS, "the template document");
        let mut header = self.header(obj);
        let is_module = header.flow_type == Some(FlowType::Module);
        let (start, nodes) = self.draft(obj)?;
        let empty = Map::new();
        let nodes = nodes.unwrap_or(&empty);
        let pnodes: Vec<PNode> = nodes
            .iter()
            .filter_map(|(key, node)| self.node(key, node, is_module))
            .collect();
        let graph: Graph = self.graph(&pnodes, nodes, start.as_deref());
        self.loops(&pnodes, &graph.succ);
        let mut vars: Variables = self.variables(
            &pnodes,
            header.flow_type,
            header.inputs.as_ref(),
            header.outputs.as_ref(),
        );
        let at_start = self.initial_value_types(&mut header.initial_values, &pnodes, &mut vars);
        self.undefined_reads(&pnodes, &vars.written);
        self.expression_types(&pnodes, &vars.types);
        if let Some(s) = graph.start {
            self.read_before_write(
                &pnodes,
                &graph.succ,
                &graph.reached,
                s,
                &vars.written,
                &at_start,
            );
        }
        if self.findings.iter().any(Finding::is_error) {
            return None;
        }
        flow(header, start?, pnodes, vars.types)
    }

    /// The top-level fields other than the draft.
    fn header(&mut self, obj: &Map<String, Value>) -> Header {
        let name = self.flow_name(obj);
        let flow_type = self.flow_type(obj);
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
        let greeting = self.greeting(obj, flow_type);
        let compatible_flow_types = self.compatible_flow_types(obj);
        let inputs = self.var_decls(obj, "inputs");
        let outputs = self.var_decls(obj, "outputs");
        let initial_values = self.initial_values(obj);
        if flow_type == Some(FlowType::Inbound) {
            self.io_on_inbound(obj);
        }
        Header {
            name,
            flow_type,
            description,
            division,
            language,
            greeting,
            compatible_flow_types,
            inputs,
            outputs,
            initial_values,
        }
    }

    /// `initialValues`: `{variable: {"lit": value} | {"exp": "expression"}}`, as Archy
    /// writes a declaration's `initialValue` (what an import carries over).
    fn initial_values(&mut self, obj: &Map<String, Value>) -> BTreeMap<String, Value> {
        let m = match obj.get("initialValues") {
            None | Some(Value::Null) => return BTreeMap::new(),
            Some(Value::Object(m)) => m,
            Some(v) => {
                self.wrong_type(
                    "/initialValues",
                    "'initialValues' must map variable names to values such as {\"lit\": 5}",
                    v,
                );
                return BTreeMap::new();
            }
        };
        let mut out = BTreeMap::new();
        for (name, v) in m {
            let ok = match v
                .as_object()
                .filter(|o| o.len() == 1)
                .and_then(|o| o.iter().next())
            {
                Some((k, x)) if k == "lit" => !x.is_null(),
                Some((k, x)) if k == "exp" => x.as_str().is_some_and(|e| !e.trim().is_empty()),
                _ => false,
            };
            if ok {
                out.insert(canonical(name).into_owned(), v.clone());
            } else {
                self.error_hint(
                    "invalid_value",
                    pointer(["initialValues", name.as_str()]),
                    format!("the initial value of '{name}' must be {{\"lit\": value}} or {{\"exp\": \"expression\"}}"),
                    "write it as an Archy declaration writes its initialValue",
                );
            }
        }
        out
    }

    /// Each initial value's variable counts as written when the flow starts; a literal must
    /// fit the variable's type (one that only kept Archy actions name, of a kind flowsmith
    /// does not model such as a queue, takes the literal as written). A variable no node
    /// uses is a warning, and its value is dropped from `values` (nothing compiles it).
    /// Returns the variables set at the start (a module's inputs and these).
    fn initial_value_types(
        &mut self,
        values: &mut BTreeMap<String, Value>,
        pnodes: &[PNode],
        vars: &mut Variables,
    ) -> Decls {
        let mut at_start = vars.module_inputs.clone();
        let basic = |k: &str| match k {
            "stringVariable" => Some(VarType::String),
            "integerVariable" => Some(VarType::Integer),
            "booleanVariable" => Some(VarType::Boolean),
            _ => None,
        };
        // The variables kept Archy actions name, with their declaration kinds.
        let archy: BTreeMap<&str, &str> = pnodes
            .iter()
            .filter_map(|p| match &p.kind {
                Some(NodeKind::Archy(a)) => Some(a),
                _ => None,
            })
            .flat_map(|a| a.variables.iter())
            .map(|(v, k)| (v.as_str(), k.as_str()))
            .collect();
        let mut unused = Vec::new();
        for (name, v) in values.iter() {
            let at = pointer(["initialValues", name.as_str()]);
            let kind = archy.get(name.as_str()).copied();
            let modelled = vars.types.get(name).copied();
            if modelled.is_none() && kind.is_none() {
                self.warning(
                    "unused_initial_value",
                    at,
                    format!("no node uses '{name}': its initial value is not compiled"),
                );
                unused.push(name.clone());
                continue;
            }
            let ty = match kind {
                Some(k) => basic(k),
                None => modelled,
            };
            if let (Some(lit), Some(ty)) = (v.get("lit"), ty) {
                let fits = match ty {
                    VarType::String => lit.is_string() || lit.is_number() || lit.is_boolean(),
                    // As written: Archy's own files may quote a number or a boolean.
                    VarType::Integer => {
                        lit.is_i64() || lit.as_str().is_some_and(|t| t.parse::<i64>().is_ok())
                    }
                    VarType::Boolean => {
                        lit.is_boolean() || lit.as_str().is_some_and(|t| t.parse::<bool>().is_ok())
                    }
                };
                if !fits {
                    self.error(
                        "invalid_value",
                        at.clone(),
                        format!("the initial value of '{name}' is not a {ty:?} literal"),
                    );
                }
            }
            if let Some(ty) = modelled {
                vars.written.insert(name.clone());
                at_start.entry(name.clone()).or_insert((ty, at));
            }
        }
        for name in unused {
            values.remove(&name);
        }
        at_start
    }

    /// `compatibleFlowTypes`: the flow types besides `inboundcall` that may call the flow
    /// compiled as a common module (its `settingsCommonModule`), each one of
    /// [`COMPATIBLE_FLOW_TYPES`], without repeats; `inboundcall` itself is always compatible.
    fn compatible_flow_types(&mut self, obj: &Map<String, Value>) -> Vec<String> {
        let items = match obj.get("compatibleFlowTypes") {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Array(a)) => a,
            Some(v) => {
                self.wrong_type(
                    "/compatibleFlowTypes",
                    "'compatibleFlowTypes' must be an array of flow type names",
                    v,
                );
                return Vec::new();
            }
        };
        let mut seen: Vec<String> = Vec::new();
        for (i, v) in items.iter().enumerate() {
            let at = format!("/compatibleFlowTypes/{i}");
            let Some(name) = v.as_str() else {
                self.wrong_type(&at, "a compatible flow type must be a string", v);
                continue;
            };
            let name = name.to_ascii_lowercase();
            if !COMPATIBLE_FLOW_TYPES.contains(&name.as_str()) {
                self.error_hint(
                    "invalid_value",
                    at,
                    format!("'{name}' is not a flow type that can call a common module"),
                    format!("use one of {}", COMPATIBLE_FLOW_TYPES.join(", ")),
                );
            } else if seen.contains(&name) {
                self.error("invalid_value", at, format!("'{name}' is listed twice"));
            } else {
                seen.push(name);
            }
        }
        seen.retain(|t| t != "inboundcall");
        seen
    }

    /// `name`: required, and a name Genesys accepts.
    fn flow_name(&mut self, obj: &Map<String, Value>) -> Option<String> {
        match obj.get("name") {
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
        }
    }

    /// `type`: required, module or inbound (or an alias).
    fn flow_type(&mut self, obj: &Map<String, Value>) -> Option<FlowType> {
        match obj.get("type") {
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
        }
    }

    /// `greeting`: ignored (with a warning) on a module, else non-empty plain text.
    fn greeting(
        &mut self,
        obj: &Map<String, Value>,
        flow_type: Option<FlowType>,
    ) -> Option<String> {
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
        greeting
    }

    /// The draft's `startNode` and `nodes`; `None` when there is no usable draft at all.
    fn draft<'d>(&mut self, obj: &'d Map<String, Value>) -> Option<Draft<'d>> {
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
        let nodes = match draft.get("nodes") {
            Some(Value::Object(n)) => Some(n),
            None | Some(Value::Null) => {
                self.error("missing_field", "/draft/nodes", "the draft has no nodes");
                None
            }
            Some(v) => {
                self.wrong_type("/draft/nodes", "'nodes' must be an object {id: node}", v);
                None
            }
        };
        Some((start, nodes))
    }
}

/// The validated flow of a document with no error: its variables typed, a module's inputs
/// and outputs as declared (outputs default to every variable a Set writes), an inbound
/// flow's outputs every variable a Set writes.
fn flow(
    header: Header,
    start: String,
    pnodes: Vec<PNode>,
    types: BTreeMap<String, VarType>,
) -> Option<Flow> {
    let (name, flow_type) = (header.name?, header.flow_type?);
    let mut variables = types;
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
    let strip = |m: Decls| -> BTreeMap<String, VarType> {
        m.into_iter().map(|(k, (t, _))| (k, t)).collect()
    };
    let (inputs, outputs) = match flow_type {
        FlowType::Module => (
            strip(header.inputs.unwrap_or_default()),
            header.outputs.map(strip).unwrap_or_else(set_vars),
        ),
        FlowType::Inbound => (BTreeMap::new(), set_vars()),
    };
    let mut nodes = BTreeMap::new();
    for p in pnodes {
        nodes.insert(
            p.key.clone(),
            Node {
                id: p.key,
                kind: p.kind?,
                next: p.next,
                on_error: p.on_error,
            },
        );
    }
    let initial_values = header.initial_values;
    Some(Flow {
        name,
        flow_type,
        description: header.description,
        division: header.division,
        language: header.language,
        greeting: header.greeting,
        compatible_flow_types: header.compatible_flow_types,
        inputs,
        outputs,
        variables,
        initial_values,
        start,
        nodes,
    })
}
