//! The flow the step-rate benchmark (`flowsmith bench`) simulates.

use crate::template::expr::{BinOp, Expr};
use crate::template::model::{
    Assignment, Branch, Flow, Node, NodeKind, SetValue, Text, VarRef, VarType,
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
    let variables = [("count".to_owned(), VarType::Integer)]
        .into_iter()
        .collect();
    Flow::inbound("Bench_Loop", "Init", variables, nodes)
}
