use super::eval::{CExpr, V, Val, Vars, eval};
use super::*;
use crate::compile::fixtures::{generated_flow, seed_caller, seed_module};
use crate::template::expr::{BinOp, Func};
use crate::template::model::{Assignment, Node, NodeKind, SetValue, Text, VarRef, VarType};

fn modules() -> BTreeMap<String, Flow> {
    let m = seed_module();
    [(m.name.clone(), m)].into_iter().collect()
}

fn texts(s: &Simulation) -> Vec<(&str, &str)> {
    s.transcript
        .iter()
        .map(|l| (l.node.as_str(), l.text.as_deref().unwrap_or("")))
        .collect()
}

fn digits(d: &str) -> SimInput {
    SimInput::Digits(d.into())
}

#[test]
fn seed_input_1_routes_to_the_queue() {
    let s = simulate(&seed_caller(), &modules(), &[digits("1")], 1000);
    assert_eq!(s.outcome.kind, OutcomeKind::Routed, "{s:?}");
    assert_eq!(s.outcome.queue.as_deref(), Some("q-1"));
    assert_eq!(s.outcome.node, "RouteToAgent");
    assert_eq!(s.outcome.flow, "Inbound_Flow_A");
    assert_eq!(
        texts(&s),
        [
            ("SayHello", "Welcome. Press 1 for English."),
            ("GatherInput", "Press 1.")
        ]
    );
    assert_eq!(s.transcript[0].flow, "Shared_Module_Language_Select");
    assert_eq!(s.transcript[1].digits.as_deref(), Some("1"));
    assert_eq!(s.transcript[1].node_type, "Gather");
    assert_eq!(s.variables["shared_module_result"], serde_json::json!("1"));
    // CallShared, SayHello, GatherInput, SetResult, EndFlow, CheckResult, RouteToAgent.
    assert_eq!(s.steps, 7);
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["outcome"]["kind"], "routed");
    assert_eq!(json["transcript"][0]["type"], "Say");
}

#[test]
fn seed_input_2_says_goodbye() {
    let s = simulate(&seed_caller(), &modules(), &[digits("2")], 1000);
    assert_eq!(s.outcome.kind, OutcomeKind::Disconnected, "{s:?}");
    assert_eq!(s.outcome.node, "EndFlow");
    assert_eq!(texts(&s).last(), Some(&("PlayGoodbye", "Thank you.")));
    assert_eq!(s.variables["shared_module_result"], serde_json::json!("2"));
}

#[test]
fn seed_no_input_takes_the_module_error_exit() {
    for inputs in [vec![], vec![SimInput::Timeout], vec![digits("12")]] {
        let s = simulate(&seed_caller(), &modules(), &inputs, 1000);
        assert_eq!(s.outcome.kind, OutcomeKind::Disconnected, "{s:?}");
        let t = texts(&s);
        assert_eq!(t.len(), 3, "{t:?}");
        assert_eq!(t[2], ("PlayGoodbye", "Thank you."));
        assert!(!s.variables.contains_key("shared_module_result"));
        // CallShared, SayHello, GatherInput, Exit, CheckResult, PlayGoodbye, EndFlow.
        assert_eq!(s.steps, 7);
    }
}

/// Archy's callCommonModule has no failure path: a module's Gather without onError ends the
/// module (its failure output is empty), and the call goes on after the Flow node.
#[test]
fn a_module_gather_without_on_error_returns_to_the_caller() {
    let mut m = seed_module();
    m.nodes.get_mut("GatherInput").unwrap().on_error = None;
    let mods = [(m.name.clone(), m)].into_iter().collect();
    let s = simulate(&seed_caller(), &mods, &[], 1000);
    assert_eq!(s.outcome.kind, OutcomeKind::Disconnected, "{s:?}");
    assert_eq!(texts(&s).last(), Some(&("PlayGoodbye", "Thank you.")));
    assert!(!texts(&s).iter().any(|(n, _)| *n == "HandleError"));

    // A missing module is an error: the flow's error handling ends the call, whatever the
    // Flow node's onError says.
    let s = simulate(&seed_caller(), &BTreeMap::new(), &[], 1000);
    assert_eq!(s.outcome.kind, OutcomeKind::Error);
    assert_eq!(s.outcome.node, "CallShared");
    assert!(texts(&s).is_empty());
}

#[test]
fn not_set_semantics() {
    let vars: Vars = vec![None, Some(Val::I(2)), Some(Val::S("Ab".into()))];
    let v = CExpr::Var;
    let b = |op, x, y| CExpr::Bin(op, Box::new(x), Box::new(y));
    let call = |f, i| CExpr::Call(f, vec![CExpr::Var(i)]);
    let t = |e: &CExpr<'_>| match eval(e, &vars, usize::MAX) {
        Ok(Some(V::B(b))) => Ok(b),
        Ok(other) => Err(format!("{other:?}")),
        Err(e) => Err(format!("{e:?}")),
    };
    let fails = |e: &CExpr<'_>| eval(e, &vars, usize::MAX).is_err();
    assert_eq!(t(&b(BinOp::Eq, v(0), CExpr::Str(""))), Ok(false));
    assert_eq!(t(&b(BinOp::Ne, v(0), CExpr::Str(""))), Ok(false));
    assert_eq!(t(&call(Func::IsSet, 0)), Ok(false));
    assert_eq!(t(&call(Func::IsNotSetOrEmpty, 0)), Ok(true));
    assert_eq!(
        t(&b(BinOp::Eq, call(Func::ToString, 0), CExpr::Str(""))),
        Ok(false)
    );
    assert!(fails(&b(BinOp::Add, v(0), CExpr::Int(1))));
    assert_eq!(
        t(&b(
            BinOp::Gt,
            b(BinOp::Add, v(1), CExpr::Int(1)),
            CExpr::Int(2)
        )),
        Ok(true)
    );
    assert_eq!(
        t(&b(BinOp::Eq, call(Func::Lower, 2), CExpr::Str("ab"))),
        Ok(true)
    );
    assert!(fails(&call(Func::ToInt, 2)));
    assert!(fails(&b(BinOp::And, v(0), CExpr::Bool(true))));
}

#[test]
fn set_failure_enters_error_handling_whatever_on_error_says() {
    let mut f = seed_caller();
    f.start = "Bad".into();
    f.nodes.insert(
        "Bad".into(),
        Node {
            id: "Bad".into(),
            kind: NodeKind::Set {
                assignments: vec![Assignment {
                    var: VarRef("n".into()),
                    ty: VarType::Integer,
                    value: SetValue::Text(Text::literal("abc")),
                }],
            },
            next: Some("PlayGoodbye".into()),
            on_error: Some("HandleError".into()),
        },
    );
    let s = simulate(&f, &modules(), &[], 100);
    assert!(texts(&s).is_empty(), "{s:?}");
    assert_eq!(s.outcome.kind, OutcomeKind::Error);
    f.nodes.get_mut("Bad").unwrap().on_error = None;
    let s = simulate(&f, &modules(), &[], 100);
    assert_eq!(s.outcome.kind, OutcomeKind::Error);
    assert_eq!(s.outcome.node, "Bad");
}

#[test]
fn step_limit_ends_loops() {
    let s = simulate(&bench_loop_flow(), &BTreeMap::new(), &[], 1000);
    assert_eq!(s.outcome.kind, OutcomeKind::StepLimit);
    assert_eq!(s.steps, 1000);
    assert_eq!(s.variables["count"], serde_json::json!(500));
    let s = simulate(&bench_loop_flow(), &BTreeMap::new(), &[], DEFAULT_MAX_STEPS);
    assert_eq!(
        serde_json::to_value(&s.outcome).unwrap()["kind"],
        "step_limit"
    );
}

#[test]
fn generated_flow_runs() {
    let g = generated_flow(40);
    let inputs: Vec<SimInput> = (0..10).map(|_| digits("1")).collect();
    let s = simulate(&g, &BTreeMap::new(), &inputs, 1000);
    assert_eq!(s.outcome.kind, OutcomeKind::Routed, "{:?}", s.outcome);
    assert_eq!(s.variables["counter"], serde_json::json!(10));
    assert_eq!(s.transcript[0].text.as_deref(), Some("Step 0, counter 0"));
    // "2" goes back to the block's Say, the timeout then goes to the Menu, and with no
    // input left the call loops to the step limit.
    let s = simulate(
        &g,
        &BTreeMap::new(),
        &[digits("2"), SimInput::Timeout],
        1000,
    );
    let t: Vec<&str> = texts(&s).iter().take(5).map(|(n, _)| *n).collect();
    assert_eq!(
        t,
        [
            "b00000_say",
            "b00000_gather",
            "b00000_say",
            "b00000_gather",
            "menu"
        ]
    );
    assert_eq!(s.outcome.kind, OutcomeKind::StepLimit);
}

/// SetLanguage: the call's language changes, in a module too, and every later transcript
/// line (here a Say of the caller) reports it; lines before it have none.
#[test]
fn set_language_changes_the_language_later_lines_report() {
    use crate::compile::fixtures::validated;
    let module = validated(&serde_json::json!({
        "name": "Lang", "type": "module",
        "draft": {"startNode": "Ask", "nodes": {
            "Ask": {"id": "Ask", "type": "Say", "properties": {"sayText": "Hola"},
                    "onComplete": {"nextNode": "Set"}},
            "Set": {"id": "Set", "type": "SetLanguage", "properties": {"language": "es-US"},
                    "onComplete": {"nextNode": "E"}},
            "E": {"id": "E", "type": "End"}}}
    }));
    let caller = validated(&serde_json::json!({
        "name": "Line", "type": "inbound",
        "draft": {"startNode": "Call", "nodes": {
            "Call": {"id": "Call", "type": "Flow", "properties": {"flowName": "Lang"},
                     "onComplete": {"nextNode": "Bye"}},
            "Bye": {"id": "Bye", "type": "Say", "properties": {"sayText": "Adiós"},
                    "onComplete": {"nextNode": "D"}},
            "D": {"id": "D", "type": "Disconnect"}}}
    }));
    let modules: BTreeMap<String, Flow> = [("Lang".to_owned(), module)].into_iter().collect();
    let s = simulate(&caller, &modules, &[], 1000);
    assert_eq!(texts(&s), [("Ask", "Hola"), ("Bye", "Adiós")]);
    assert_eq!(s.transcript[0].language, None);
    assert_eq!(s.transcript[1].language.as_deref(), Some("es-us"));
    let json = serde_json::to_value(&s).unwrap();
    assert!(json["transcript"][0].get("language").is_none());
    assert_eq!(json["transcript"][1]["language"], "es-us");
}
