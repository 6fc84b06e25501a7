//! The flow the step-rate benchmark (`flowsmith bench`) simulates.

use std::collections::BTreeMap;

use crate::template::expr::{BinOp, Expr};
use crate::template::model::{
    Assignment, Branch, Flow, FlowType, Node, NodeKind, SetValue, Text, VarRef, VarType,
};

/// A flow that loops Set/If forever (for the step-rate benchmark).
pub fn bench_loop_flow() -> Flow {
    let n = |id: &str, kind: NodeKind, next: Option<&str>| {
        (
            id.to_owned(),
            Node {
                id: id.to_owned(),
                kind,
                next: next.map(str::to_owned),
                on_error: None,
            },
        )
    };
    let count = VarRef("count".into());
    let nodes = [
        n(
            "Init",
            NodeKind::Set {
                assignments: vec![Assignment {
                    var: count.clone(),
                    ty: VarType::Integer,
                    value: SetValue::Text(Text::literal("0")),
                }],
            },
            Some("Inc"),
        ),
        n(
            "Inc",
            NodeKind::Set {
                assignments: vec![Assignment {
                    var: count.clone(),
                    ty: VarType::Integer,
                    value: SetValue::Expr(Expr::Binary(
                        BinOp::Add,
                        Box::new(Expr::Var(count.clone())),
                        Box::new(Expr::Int(1)),
                    )),
                }],
            },
            Some("Check"),
        ),
        n(
            "Check",
            NodeKind::If {
                branches: vec![Branch {
                    condition: Expr::Binary(
                        BinOp::Lt,
                        Box::new(Expr::Var(count.clone())),
                        Box::new(Expr::Int(0)),
                    ),
                    target: "Done".into(),
                }],
                default: Some("Inc".into()),
            },
            None,
        ),
        n("Done", NodeKind::Disconnect, None),
    ]
    .into_iter()
    .collect();
    Flow {
        name: "Bench_Loop".into(),
        flow_type: FlowType::Inbound,
        description: None,
        division: "Home".into(),
        language: "en-us".into(),
        greeting: None,
        inputs: BTreeMap::new(),
        outputs: BTreeMap::new(),
        variables: [("count".to_owned(), VarType::Integer)]
            .into_iter()
            .collect(),
        start: "Init".into(),
        nodes,
    }
}
