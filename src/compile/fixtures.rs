//! Hand-built validated models of the seed documents (`shared/examples/seed/*.json`) and a
//! generated large flow, for tests of the compiler, simulator and diagrams.

use std::collections::BTreeMap;

use super::{CompileContext, CompileError, Compiled, compile};
use crate::template::expr::{BinOp, Expr};
use crate::template::model::*;

/// The model of a document that must validate without errors.
pub fn validated(doc: &serde_json::Value) -> Flow {
    let r = crate::validate::validate(doc, &crate::validate::NoModules);
    assert!(!r.has_errors(), "{:?}", r.findings);
    r.flow.unwrap()
}

/// An inbound template document `name` starting at `start`, with these nodes.
pub fn inbound_doc(name: &str, start: &str, nodes: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "name": name, "type": "inbound",
        "draft": {"startNode": start, "nodes": nodes}
    })
}

/// `f` compiled as a flow of type `ty`, calling no modules.
pub fn compile_as(f: &Flow, ty: FlowType) -> Result<Compiled, CompileError> {
    compile_named(f, &f.name, ty)
}

/// `f` compiled as flow `name` of type `ty`, calling no modules, with no queue names.
pub fn compile_named(f: &Flow, name: &str, ty: FlowType) -> Result<Compiled, CompileError> {
    let (empty, noq) = (BTreeMap::new(), BTreeMap::new());
    compile(
        f,
        &CompileContext {
            flow_name: name,
            as_type: ty,
            modules: &empty,
            queue_names: &noq,
        },
    )
}

/// The YAML of `f` compiled as a flow of type `ty`, which the sandbox judge accepts.
pub fn judged_yaml(f: &Flow, ty: FlowType) -> String {
    let c = compile_as(f, ty).unwrap();
    if let Err(e) = flowsmith_sandbox::archy::analyze(&c.yaml) {
        panic!("the judge refuses it: {e:?}\n{}", c.yaml);
    }
    c.yaml
}

fn node(id: &str, kind: NodeKind, next: Option<&str>, on_error: Option<&str>) -> (String, Node) {
    (
        id.to_owned(),
        Node {
            id: id.to_owned(),
            kind,
            next: next.map(str::to_owned),
            on_error: on_error.map(str::to_owned),
        },
    )
}

fn say(text: &str) -> NodeKind {
    NodeKind::Say {
        text: Text::literal(text),
        language: Some("en-US".into()),
        beep: false,
    }
}

fn end() -> NodeKind {
    NodeKind::End {
        end_type: Some("normal".into()),
    }
}

/// `shared_module.json`: SayHello → GatherInput → SetResult → EndFlow, errors → Exit.
pub fn seed_module() -> Flow {
    let nodes: BTreeMap<String, Node> = [
        node(
            "SayHello",
            say("Welcome. Press 1 for English."),
            Some("GatherInput"),
            Some("Exit"),
        ),
        node(
            "GatherInput",
            NodeKind::Gather {
                prompt: Text::literal("Press 1."),
                min_digits: 1,
                max_digits: 1,
                timeout_seconds: Some(10),
                inter_digit_timeout_seconds: None,
                language: Some("en-US".into()),
                into: VarRef::digits_of("GatherInput"),
            },
            Some("SetResult"),
            Some("Exit"),
        ),
        node(
            "SetResult",
            NodeKind::Set {
                assignments: vec![Assignment {
                    var: VarRef("shared_module_result".into()),
                    ty: VarType::String,
                    value: SetValue::Text(Text(vec![Segment::Var(VarRef(
                        "GatherInput.digits".into(),
                    ))])),
                }],
            },
            Some("EndFlow"),
            Some("Exit"),
        ),
        node("EndFlow", end(), None, None),
        node("Exit", end(), None, None),
    ]
    .into_iter()
    .collect();
    let mut variables = BTreeMap::new();
    variables.insert("GatherInput_digits".to_owned(), VarType::String);
    variables.insert("shared_module_result".to_owned(), VarType::String);
    Flow::inbound(
        "Shared_Module_Language_Select",
        "SayHello",
        variables,
        nodes,
    )
}

/// `inbound_flow.json` with `queue_id` = "q-1".
pub fn seed_caller() -> Flow {
    let nodes: BTreeMap<String, Node> = [
        node(
            "CallShared",
            NodeKind::CallModule {
                module: ModuleRef::Name("Shared_Module_Language_Select".into()),
                inputs: vec![],
                outputs: vec![],
                timeout_seconds: Some(300),
            },
            Some("CheckResult"),
            Some("HandleError"),
        ),
        node(
            "CheckResult",
            NodeKind::If {
                branches: vec![Branch {
                    condition: Expr::Binary(
                        BinOp::Eq,
                        Box::new(Expr::Var(VarRef("shared_module_result".into()))),
                        Box::new(Expr::Str("1".into())),
                    ),
                    target: "RouteToAgent".into(),
                }],
                default: Some("PlayGoodbye".into()),
            },
            None,
            None,
        ),
        node(
            "RouteToAgent",
            NodeKind::Route {
                queue: QueueRef::Id("q-1".into()),
                skills: vec![],
                priority: None,
            },
            Some("PlayGoodbye"),
            Some("PlayGoodbye"),
        ),
        node("PlayGoodbye", say("Thank you."), Some("EndFlow"), None),
        node("HandleError", say("Error occurred."), Some("EndFlow"), None),
        node("EndFlow", end(), None, None),
    ]
    .into_iter()
    .collect();
    let mut variables = BTreeMap::new();
    variables.insert("shared_module_result".to_owned(), VarType::String);
    Flow::inbound("Inbound_Flow_A", "CallShared", variables, nodes)
}

/// A flow of about `n` nodes in blocks of four: Say → Gather → If (digit 1 → next block,
/// 2 → back to this block's Say, default → shared Menu task) → Set → next block; ends with
/// Route and End.
pub fn generated_flow(n: usize) -> Flow {
    let blocks = n / 4;
    let mut nodes = BTreeMap::new();
    let mut variables = BTreeMap::new();
    for k in 0..blocks {
        let next_block = if k + 1 < blocks {
            block_id(k + 1, "say")
        } else {
            "route".to_owned()
        };
        for (a, b) in generated_block(k, &next_block) {
            nodes.insert(a, b);
        }
        variables.insert(format!("{}_digits", block_id(k, "gather")), VarType::String);
    }
    variables.insert("counter".into(), VarType::Integer);
    let first = if blocks > 0 {
        block_id(0, "say")
    } else {
        "route".to_owned()
    };
    for (a, b) in generated_ends(&first) {
        nodes.insert(a, b);
    }
    Flow {
        description: Some("generated".into()),
        ..Flow::inbound("Generated", "init", variables, nodes)
    }
}

/// The id of node `s` of block `k` of [`generated_flow`].
fn block_id(k: usize, s: &str) -> String {
    format!("b{k:05}_{s}")
}

/// The four nodes of block `k` of [`generated_flow`].
fn generated_block(k: usize, next_block: &str) -> [(String, Node); 4] {
    let id = |s: &str| block_id(k, s);
    let g = id("gather");
    let var = Expr::Var(VarRef(format!("{g}.digits")));
    let is = |d: &str| {
        Expr::Binary(
            BinOp::Eq,
            Box::new(var.clone()),
            Box::new(Expr::Str(d.into())),
        )
    };
    [
        node(
            &id("say"),
            NodeKind::Say {
                text: Text(vec![
                    Segment::Literal(format!("Step {k}, counter ")),
                    Segment::Var(VarRef("counter".into())),
                ]),
                language: None,
                beep: false,
            },
            Some(&g),
            None,
        ),
        node(
            &g,
            NodeKind::Gather {
                prompt: Text::literal("Press 1 or 2."),
                min_digits: 1,
                max_digits: 2,
                timeout_seconds: Some(5),
                inter_digit_timeout_seconds: Some(2),
                language: None,
                into: VarRef::digits_of(&g),
            },
            Some(&id("if")),
            Some("menu"),
        ),
        node(
            &id("if"),
            NodeKind::If {
                branches: vec![
                    Branch {
                        condition: is("1"),
                        target: id("set"),
                    },
                    Branch {
                        condition: is("2"),
                        target: id("say"),
                    },
                ],
                default: Some("menu".into()),
            },
            None,
            None,
        ),
        node(
            &id("set"),
            NodeKind::Set {
                assignments: vec![Assignment {
                    var: VarRef("counter".into()),
                    ty: VarType::Integer,
                    value: SetValue::Expr(Expr::Binary(
                        BinOp::Add,
                        Box::new(Expr::Var(VarRef("counter".into()))),
                        Box::new(Expr::Int(1)),
                    )),
                }],
            },
            Some(next_block),
            None,
        ),
    ]
}

/// The nodes of [`generated_flow`] outside the blocks: the start, the shared Menu task,
/// the Route and its failure path.
fn generated_ends(first: &str) -> [(String, Node); 4] {
    [
        node(
            "init",
            NodeKind::Set {
                assignments: vec![Assignment {
                    var: VarRef("counter".into()),
                    ty: VarType::Integer,
                    value: SetValue::Text(Text::literal("0")),
                }],
            },
            Some(first),
            None,
        ),
        node("menu", say("Let's start over."), Some(first), None),
        node(
            "route",
            NodeKind::Route {
                queue: QueueRef::Name("Support".into()),
                skills: vec![],
                priority: Some(1),
            },
            None,
            Some("bye"),
        ),
        node("bye", NodeKind::Disconnect, None, None),
    ]
}
