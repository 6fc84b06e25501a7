//! Validation rules: for each, a document that trips it and one that does not.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::findings::did_you_mean;
use crate::template::model::{ModuleRef, NodeKind, QueueRef, Text, VarRef, VarType};
use crate::template::{FlowType, ModuleInterface};

pub(super) const SEED_INBOUND: &str = include_str!("../../tests/fixtures/seed_inbound_flow.json");

pub(super) const SEED_MODULE: &str = include_str!("../../tests/fixtures/seed_shared_module.json");

fn seed(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}

fn check(doc: &Value) -> Report {
    validate(doc, &NoModules)
}

fn codes(r: &Report) -> Vec<&str> {
    r.findings.iter().map(|f| f.code.as_str()).collect()
}

fn has(r: &Report, code: &str) -> bool {
    r.findings.iter().any(|f| f.code == code)
}

/// The pointers of the findings with `code`, in order.
fn pointers<'a>(r: &'a Report, code: &str) -> Vec<&'a str> {
    r.findings
        .iter()
        .filter(|f| f.code == code)
        .map(|f| f.pointer.as_str())
        .collect()
}

fn find<'a>(r: &'a Report, code: &str) -> &'a Finding {
    r.findings
        .iter()
        .find(|f| f.code == code)
        .unwrap_or_else(|| panic!("no {code} in {:#?}", r.findings))
}

fn seed_catalog() -> BTreeMap<String, ModuleInterface> {
    let r = check(&seed(SEED_MODULE));
    crate::validate::catalog([interface(r.flow.as_ref().unwrap())])
}

#[test]
fn seed_module_validates_without_errors() {
    let r = check(&seed(SEED_MODULE));
    assert!(!r.has_errors(), "{:#?}", r.findings);
    // The onErrors of SayHello and SetResult are not compiled: no failure path in Archy.
    assert_eq!(
        codes(&r),
        ["on_error_not_compiled", "on_error_not_compiled"],
        "{:#?}",
        r.findings
    );
    let flow = r.flow.unwrap();
    assert_eq!(flow.flow_type, FlowType::Inbound);
    assert_eq!(flow.division, "Home");
    assert_eq!(flow.language, "en-us");
    assert_eq!(flow.start, "SayHello");
    assert_eq!(
        flow.outputs,
        BTreeMap::from([("shared_module_result".to_owned(), VarType::String)])
    );
    assert_eq!(
        flow.variables.get("GatherInput_digits"),
        Some(&VarType::String)
    );
    let g = &flow.nodes["GatherInput"];
    assert_eq!(g.next.as_deref(), Some("SetResult"));
    assert_eq!(g.on_error.as_deref(), Some("Exit"));
    assert!(matches!(
        g.kind,
        NodeKind::Gather {
            min_digits: 1,
            max_digits: 1,
            ..
        }
    ));
}

#[test]
fn seed_inbound_validates_alone_with_only_warnings() {
    let r = check(&seed(SEED_INBOUND));
    assert!(!r.has_errors(), "{:#?}", r.findings);
    assert!(r.flow.is_some());
    let mut c = codes(&r);
    c.sort();
    assert_eq!(
        c,
        [
            "flow_timeout_ignored",
            "on_error_not_compiled",
            "undeclared_parameter",
            "unverified_variable"
        ]
    );
    assert_eq!(
        find(&r, "unverified_variable").pointer,
        "/draft/nodes/CheckResult/properties/conditions/0/expression"
    );
    assert_eq!(
        find(&r, "undeclared_parameter").pointer,
        "/draft/nodes/RouteToAgent/properties/queueId"
    );
}

#[test]
fn seed_inbound_validates_with_the_module_in_the_catalog() {
    let cat = seed_catalog();
    let r = validate(&seed(SEED_INBOUND), &cat);
    assert!(!r.has_errors(), "{:#?}", r.findings);
    assert!(!has(&r, "unverified_variable"), "{:#?}", r.findings);
    assert!(!has(&r, "read_before_write"), "{:#?}", r.findings);
    let flow = r.flow.unwrap();
    match &flow.nodes["CallShared"].kind {
        NodeKind::CallModule {
            module,
            outputs,
            timeout_seconds,
            ..
        } => {
            assert_eq!(
                module,
                &ModuleRef::Name("Shared_Module_Language_Select".into())
            );
            assert_eq!(
                outputs,
                &vec![(
                    "shared_module_result".to_owned(),
                    VarRef("shared_module_result".into())
                )]
            );
            assert_eq!(*timeout_seconds, Some(300));
        }
        other => panic!("{other:?}"),
    }
    let route = &flow.nodes["RouteToAgent"];
    assert!(
        matches!(&route.kind, NodeKind::Route { queue: QueueRef::Id(q), .. } if q == "queue_id")
    );
    assert_eq!(route.on_error.as_deref(), Some("PlayGoodbye"));
    // With job parameters the queue id is substituted.
    let params = json!({"queue_id": "q-123"});
    let r = validate_with_params(&seed(SEED_INBOUND), params.as_object().unwrap(), &cat);
    assert!(!r.has_errors(), "{:#?}", r.findings);
    let flow = r.flow.unwrap();
    assert!(
        matches!(&flow.nodes["RouteToAgent"].kind, NodeKind::Route { queue: QueueRef::Id(q), .. } if q == "q-123")
    );
}

/// An inbound document with these nodes, starting at `start`.
fn doc(start: &str, nodes: Value) -> Value {
    json!({"name": "T", "type": "inbound", "draft": {"startNode": start, "nodes": nodes, "edges": {}}})
}

fn module(start: &str, nodes: Value) -> Value {
    json!({"name": "M", "type": "module", "draft": {"startNode": start, "nodes": nodes}})
}

fn say(id: &str, text: &str, next: &str) -> Value {
    json!({"id": id, "type": "Say", "properties": {"sayText": text}, "onComplete": {"nextNode": next}})
}

fn end(id: &str) -> Value {
    json!({"id": id, "type": "End"})
}

fn set(id: &str, key: &str, ty: &str, value: Value, next: &str) -> Value {
    json!({"id": id, "type": "Set", "properties": {"setVars": [{"key": key, "value": {"type": ty, "value": value}}]},
           "onComplete": {"nextNode": next}})
}

fn set_expr(id: &str, key: &str, ty: &str, e: &str, next: &str) -> Value {
    json!({"id": id, "type": "Set", "properties": {"setVars": [{"key": key, "value": {"type": ty, "expression": e}}]},
           "onComplete": {"nextNode": next}})
}

fn if_node(id: &str, cond: &str, yes: &str, no: &str) -> Value {
    json!({"id": id, "type": "If", "properties": {"conditions": [{"expression": cond, "nextNode": yes}],
           "defaultNextNode": no}})
}

fn gather(id: &str, next: &str, err: &str) -> Value {
    json!({"id": id, "type": "Gather", "properties": {"promptText": "Press", "maxDigits": 1},
           "onComplete": {"nextNode": next}, "onError": {"nextNode": err}})
}

fn clean(r: &Report) {
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert!(r.flow.is_some());
}

#[test]
fn rule_unknown_node_type() {
    let r = check(&doc("A", json!({"A": {"id": "A", "type": "Play"}})));
    let f = find(&r, "unknown_node_type");
    assert_eq!(f.pointer, "/draft/nodes/A/type");
    assert!(r.flow.is_none());
    assert!(
        find(
            &check(&doc("A", json!({"A": {"id": "A", "type": "say"}}))),
            "unknown_node_type"
        )
        .hint
        .as_deref()
        .unwrap()
        .contains("'Say'")
    );
    clean(&check(&doc("A", json!({"A": end("A")}))));
}

#[test]
fn rule_id_mismatch() {
    let r = check(&doc("A", json!({"A": end("B")})));
    assert_eq!(find(&r, "id_mismatch").pointer, "/draft/nodes/A/id");
    clean(&check(&doc("A", json!({"A": end("A")}))));
}

#[test]
fn rule_start_node() {
    let mut d = doc("A", json!({"A": end("A")}));
    d["draft"].as_object_mut().unwrap().remove("startNode");
    assert_eq!(
        find(&check(&d), "missing_start_node").pointer,
        "/draft/startNode"
    );
    let r = check(&doc("Strat", json!({"Start": end("Start")})));
    let f = find(&r, "unknown_start_node");
    assert_eq!(f.pointer, "/draft/startNode");
    assert!(f.hint.as_deref().unwrap().contains("Start"));
    clean(&check(&doc("Start", json!({"Start": end("Start")}))));
}

#[test]
fn rule_unknown_next_node() {
    let r = check(&doc(
        "SayHello",
        json!({"SayHello": say("SayHello", "hi", "Nowhere"), "End": end("End")}),
    ));
    let f = find(&r, "unknown_next_node");
    assert_eq!(f.pointer, "/draft/nodes/SayHello/onComplete/nextNode");
    assert!(f.message.contains("Invalid Flow Definition"));
    // every exit kind is checked
    let r = check(&doc(
        "I",
        json!({
            "I": {"id": "I", "type": "If", "properties": {"conditions": [{"expression": "true", "nextNode": "X1"}], "defaultNextNode": "X2"}},
            "G": {"id": "G", "type": "Gather", "onComplete": {"nextNode": "I", "onError": "X3"}},
        }),
    ));
    let ptrs = pointers(&r, "unknown_next_node");
    assert_eq!(
        ptrs,
        [
            "/draft/nodes/G/onComplete/onError",
            "/draft/nodes/I/properties/conditions/0/nextNode",
            "/draft/nodes/I/properties/defaultNextNode",
        ]
    );
    clean(&check(&doc(
        "SayHello",
        json!({"SayHello": say("SayHello", "hi", "End"), "End": end("End")}),
    )));
}

#[test]
fn rule_on_error_forms() {
    let n = json!({"A": {"id": "A", "type": "Say", "properties": {"sayText": "x"},
        "onComplete": {"nextNode": "B", "onError": "B"}, "onError": {"nextNode": "C"}}, "B": end("B"), "C": end("C")});
    assert_eq!(
        find(&check(&doc("A", n)), "conflicting_on_error").pointer,
        "/draft/nodes/A/onError/nextNode"
    );
    let n = json!({"A": {"id": "A", "type": "Say", "properties": {"sayText": "x"},
        "onComplete": {"nextNode": "B", "onError": "C"}}, "B": end("B"), "C": end("C")});
    let r = check(&doc("A", n));
    // The seed's form is read; a Say's onError is not compiled (a warning).
    assert_eq!(codes(&r), ["on_error_not_compiled"]);
    assert_eq!(
        find(&r, "on_error_not_compiled").pointer,
        "/draft/nodes/A/onComplete/onError"
    );
    assert_eq!(r.flow.unwrap().nodes["A"].on_error.as_deref(), Some("C"));
}

#[test]
fn rule_no_exit() {
    let r = check(&doc(
        "A",
        json!({"A": {"id": "A", "type": "Say", "properties": {"sayText": "x"}}}),
    ));
    assert_eq!(find(&r, "no_exit").pointer, "/draft/nodes/A");
    // End, Disconnect and Route are terminal
    clean(&check(&doc(
        "A",
        json!({
            "A": {"id": "A", "type": "Route", "properties": {"queueName": "Sales"}, "onError": {"nextNode": "D"}},
            "D": {"id": "D", "type": "Disconnect"}
        }),
    )));
}

#[test]
fn rule_unreachable_node() {
    let r = check(&doc("A", json!({"A": end("A"), "B": end("B")})));
    let f = find(&r, "unreachable_node");
    assert_eq!(
        (f.pointer.as_str(), f.severity),
        ("/draft/nodes/B", crate::template::Severity::Warning)
    );
    assert!(!r.has_errors());
    clean(&check(&doc(
        "A",
        json!({"A": say("A", "x", "B"), "B": end("B")}),
    )));
}

#[test]
fn rule_if_without_conditions() {
    let r = check(&doc(
        "I",
        json!({"I": {"id": "I", "type": "If", "properties": {"conditions": [], "defaultNextNode": "E"}}, "E": end("E")}),
    ));
    assert_eq!(
        find(&r, "if_without_conditions").pointer,
        "/draft/nodes/I/properties/conditions"
    );
    clean(&check(&doc(
        "I",
        json!({"I": if_node("I", "true", "E", "E"), "E": end("E")}),
    )));
}

#[test]
fn rule_gather_digits() {
    let g = |props: Value| {
        doc(
            "G",
            json!({"G": {"id": "G", "type": "Gather", "properties": props, "onComplete": {"nextNode": "E"}}, "E": end("E")}),
        )
    };
    assert_eq!(
        find(&check(&g(json!({"maxDigits": 33}))), "gather_digits").pointer,
        "/draft/nodes/G/properties/maxDigits"
    );
    assert_eq!(
        find(&check(&g(json!({"maxDigits": 0}))), "gather_digits").pointer,
        "/draft/nodes/G/properties/maxDigits"
    );
    assert_eq!(
        find(
            &check(&g(json!({"maxDigits": 4, "minDigits": 5}))),
            "gather_digits"
        )
        .pointer,
        "/draft/nodes/G/properties/minDigits"
    );
    assert_eq!(
        find(&check(&g(json!({"minDigits": 0}))), "gather_digits").pointer,
        "/draft/nodes/G/properties/minDigits"
    );
    // maxDigits defaults to 1
    assert!(has(&check(&g(json!({"minDigits": 2}))), "gather_digits"));
    clean(&check(&g(json!({"maxDigits": 32, "minDigits": 4}))));
    let r = check(&g(json!({})));
    clean(&r);
    assert!(matches!(
        r.flow.unwrap().nodes["G"].kind,
        NodeKind::Gather {
            min_digits: 1,
            max_digits: 1,
            ..
        }
    ));
    // `variable`: the digits go into a named flow variable (an imported collectInput's).
    let r = check(&g(json!({"variable": "OrbitNumber"})));
    clean(&r);
    let flow = r.flow.unwrap();
    assert!(
        matches!(&flow.nodes["G"].kind, NodeKind::Gather { into, .. } if into.name() == "OrbitNumber")
    );
    assert_eq!(flow.variables.get("OrbitNumber"), Some(&VarType::String));
    assert!(!flow.variables.contains_key("G_digits"));
    assert_eq!(
        find(
            &check(&g(json!({"variable": "1 x"}))),
            "invalid_variable_name"
        )
        .pointer,
        "/draft/nodes/G/properties/variable"
    );
}

#[test]
fn rule_expression_and_text_syntax() {
    let r = check(&doc(
        "I",
        json!({"I": if_node("I", "{x} == 'a' &&", "E", "E"), "E": end("E")}),
    ));
    let f = find(&r, "expression_syntax");
    assert_eq!(
        f.pointer,
        "/draft/nodes/I/properties/conditions/0/expression"
    );
    assert!(f.message.contains("offset 11"), "{}", f.message);
    let r = check(&doc(
        "A",
        json!({"A": say("A", "Hi {name", "E"), "E": end("E")}),
    ));
    let f = find(&r, "text_syntax");
    assert_eq!(f.pointer, "/draft/nodes/A/properties/sayText");
    assert!(f.message.contains("offset 3"));
    // JSON-ish text is literal, not an error
    clean(&check(&doc(
        "A",
        json!({"A": say("A", "{ \"a\": 1 }", "E"), "E": end("E")}),
    )));
    // a condition must be boolean
    let r = check(&doc(
        "S",
        json!({"S": set("S", "x", "string", json!("a"), "I"), "I": if_node("I", "{x}", "E", "E"), "E": end("E")}),
    ));
    assert_eq!(
        find(&r, "expression_type").pointer,
        "/draft/nodes/I/properties/conditions/0/expression"
    );
    let r = check(&doc(
        "S",
        json!({"S": set("S", "x", "string", json!("a"), "I"), "I": if_node("I", "{x} + 1 == 2", "E", "E"), "E": end("E")}),
    ));
    assert!(has(&r, "expression_type"));
}

#[test]
fn rule_undefined_variable() {
    let nodes = json!({
        "S": set("S", "customer_id", "string", json!("42"), "A"),
        "A": say("A", "Your id is {custmer_id}", "E"),
        "E": end("E")
    });
    let r = check(&doc("S", nodes));
    let f = find(&r, "undefined_variable");
    assert_eq!(f.pointer, "/draft/nodes/A/properties/sayText");
    assert!(f.is_error());
    assert!(f.hint.as_deref().unwrap().contains("customer_id"), "{f:?}");
    clean(&check(&doc(
        "S",
        json!({
            "S": set("S", "customer_id", "string", json!("42"), "A"),
            "A": say("A", "Your id is {customer_id}", "E"),
            "E": end("E")
        }),
    )));
    // module inputs count as writers inside a module
    let mut m = module(
        "A",
        json!({"A": say("A", "{greeting}", "E"), "E": end("E")}),
    );
    m["inputs"] = json!({"greeting": {"type": "string"}});
    clean(&check(&m));
}

#[test]
fn rule_unverified_variable() {
    let nodes = json!({
        "C": {"id": "C", "type": "Flow", "properties": {"flowName": "Menu"}, "onComplete": {"nextNode": "A"}},
        "A": say("A", "{choice}", "E"),
        "E": end("E")
    });
    let r = check(&doc("C", nodes.clone()));
    let f = find(&r, "unverified_variable");
    assert!(!r.has_errors());
    assert!(f.message.contains("'Menu'"));
    // the module is known and outputs `choice`
    let cat = BTreeMap::from([(
        "Menu".to_owned(),
        ModuleInterface {
            name: "Menu".into(),
            declared_type: Some(FlowType::Module),
            outputs: BTreeMap::from([("choice".to_owned(), VarType::String)]),
            ..Default::default()
        },
    )]);
    clean(&validate(&doc("C", nodes.clone()), &cat));
    // known module that does not output it: an error
    let cat2 = BTreeMap::from([(
        "Menu".to_owned(),
        ModuleInterface {
            name: "Menu".into(),
            ..Default::default()
        },
    )]);
    assert!(has(
        &validate(&doc("C", nodes), &cat2),
        "undefined_variable"
    ));
}

#[test]
fn rule_read_before_write() {
    // x is set only on one branch of the If
    let nodes = json!({
        "G": gather("G", "I", "E"),
        "I": if_node("I", "{G.digits} == '1'", "S", "A"),
        "S": set("S", "x", "string", json!("one"), "A"),
        "A": say("A", "{x}", "E"),
        "E": end("E")
    });
    let r = check(&doc("G", nodes));
    let f = find(&r, "read_before_write");
    assert_eq!(f.pointer, "/draft/nodes/A/properties/sayText");
    assert!(!r.has_errors());
    // Gather digits are not set on its error exit
    let r = check(&doc(
        "G",
        json!({"G": gather("G", "A", "A"), "A": say("A", "{G.digits}", "E"), "E": end("E")}),
    ));
    assert!(has(&r, "read_before_write"));
    // set on both branches (join), guarded reads, loops
    clean(&check(&doc(
        "G",
        json!({
            "G": gather("G", "I", "E"),
            "I": if_node("I", "{G.digits} == '1'", "S1", "S2"),
            "S1": set("S1", "x", "string", json!("one"), "A"),
            "S2": set("S2", "x", "string", json!("two"), "A"),
            "A": say("A", "{x}", "J"),
            "J": if_node("J", "IsSet({y}) and {x} == 'one'", "G", "Y"),
            "Y": set("Y", "y", "string", json!("{x}"), "E"),
            "E": end("E")
        }),
    )));
}

#[test]
fn rule_set_type_mismatch() {
    let one = |ty: &str, v: Value| {
        check(&doc(
            "S",
            json!({"S": set("S", "x", ty, v, "E"), "E": end("E")}),
        ))
    };
    let f = find(&one("integer", json!("abc")), "set_type_mismatch")
        .pointer
        .clone();
    assert_eq!(f, "/draft/nodes/S/properties/setVars/0/value/value");
    assert!(has(&one("boolean", json!("maybe")), "set_type_mismatch"));
    assert!(
        has(&one("integer", json!("1{y}")), "set_type_mismatch")
            || has(&one("integer", json!("1{y}")), "undefined_variable")
    );
    clean(&one("integer", json!("0")));
    clean(&one("integer", json!(7)));
    clean(&one("boolean", json!("TRUE")));
    clean(&one("string", json!("anything")));
    let r = check(&doc(
        "G",
        json!({"G": gather("G", "S", "E"), "S": set("S", "x", "integer", json!("{G.digits}"), "E"), "E": end("E")}),
    ));
    clean(&r);
    // expressions must match the declared type
    let r = check(&doc(
        "S",
        json!({"S": set_expr("S", "x", "integer", "'a'", "E"), "E": end("E")}),
    ));
    assert_eq!(
        find(&r, "set_type_mismatch").pointer,
        "/draft/nodes/S/properties/setVars/0/value/expression"
    );
    clean(&check(&doc(
        "S",
        json!({"S": set_expr("S", "x", "integer", "Length('abc') - 1", "E"), "E": end("E")}),
    )));
    // both / neither
    let both = json!({"S": {"id": "S", "type": "Set", "properties": {"setVars": [{"key": "x", "value": {"type": "string", "value": "a", "expression": "'a'"}}]}, "onComplete": {"nextNode": "E"}}, "E": end("E")});
    assert!(has(&check(&doc("S", both)), "invalid_set_value"));
    let neither = json!({"S": {"id": "S", "type": "Set", "properties": {"setVars": [{"key": "x", "value": {"type": "string"}}]}, "onComplete": {"nextNode": "E"}}, "E": end("E")});
    assert!(has(&check(&doc("S", neither)), "invalid_set_value"));
    // one variable, two types
    let r = check(&doc(
        "S",
        json!({"S": set("S", "x", "string", json!("a"), "T"), "T": set("T", "x", "integer", json!("1"), "E"), "E": end("E")}),
    ));
    assert!(has(&r, "variable_type_conflict"));
}

#[test]
fn rule_module_calls_module() {
    let call = json!({"C": {"id": "C", "type": "Flow", "properties": {"flowName": "Other"}, "onComplete": {"nextNode": "E"}}, "E": end("E")});
    let r = check(&module("C", call.clone()));
    assert_eq!(find(&r, "module_calls_module").pointer, "/draft/nodes/C");
    clean(&validate(
        &doc("C", call.clone()),
        &BTreeMap::from([(
            "Other".to_owned(),
            ModuleInterface {
                name: "Other".into(),
                ..Default::default()
            },
        )]),
    ));
    let cat = BTreeMap::from([(
        "Other".to_owned(),
        ModuleInterface {
            name: "Other".into(),
            calls_modules: true,
            ..Default::default()
        },
    )]);
    assert_eq!(
        find(&validate(&doc("C", call), &cat), "module_calls_module").pointer,
        "/draft/nodes/C/properties/flowName"
    );
}

#[test]
fn rule_loop_without_gather() {
    let r = check(&doc(
        "A",
        json!({
            "A": say("A", "again", "B"),
            "B": if_node("B", "true", "A", "E"),
            "E": end("E")
        }),
    ));
    let f = find(&r, "loop_without_gather");
    assert_eq!(f.pointer, "/draft/nodes/A");
    assert!(f.message.contains("A, B"));
    let r = check(&doc(
        "A",
        json!({"A": if_node("A", "true", "A", "E"), "E": end("E")}),
    ));
    assert!(has(&r, "loop_without_gather"), "self-loop");
    clean(&check(&doc(
        "G",
        json!({"G": gather("G", "B", "E"), "B": if_node("B", "{G.digits} == '1'", "G", "E"), "E": end("E")}),
    )));
}

#[test]
fn rule_parameters() {
    let mut d = doc(
        "A",
        json!({"A": say("A", "Hi {{who}}", "E"), "E": end("E")}),
    );
    let r = check(&d);
    assert_eq!(
        find(&r, "undeclared_parameter").pointer,
        "/draft/nodes/A/properties/sayText"
    );
    d["parameters"] =
        json!({"who": {"type": "string", "required": true}, "unused": {"type": "integer"}});
    let r = check(&d);
    assert_eq!(codes(&r), ["unused_parameter"]);
    assert_eq!(find(&r, "unused_parameter").pointer, "/parameters/unused");
    d["parameters"].as_object_mut().unwrap().remove("unused");
    clean(&check(&d));
    // job time: a missing required parameter is an error
    let r = validate_with_params(&d, json!({"other": 1}).as_object().unwrap(), &NoModules);
    assert_eq!(
        find(&r, "missing_parameter").pointer,
        "/draft/nodes/A/properties/sayText"
    );
    assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
    let r = validate_with_params(&d, json!({"who": "Ann"}).as_object().unwrap(), &NoModules);
    clean(&r);
    match &r.flow.unwrap().nodes["A"].kind {
        NodeKind::Say { text, .. } => assert_eq!(text, &Text::literal("Hi Ann")),
        k => panic!("{k:?}"),
    }
    // typed substitution into an integer property
    let mut g = doc(
        "G",
        json!({"G": {"id": "G", "type": "Gather", "properties": {"maxDigits": "{{digits}}"}, "onComplete": {"nextNode": "E"}}, "E": end("E")}),
    );
    g["parameters"] = json!({"digits": {"type": "integer", "default": 4}});
    clean(&check(&g));
    let r = validate_with_params(&g, json!({"digits": 40}).as_object().unwrap(), &NoModules);
    assert!(has(&r, "gather_digits"));
}

#[test]
fn rule_names() {
    let named = |name: &str| {
        let mut d = doc("E", json!({"E": end("E")}));
        d["name"] = json!(name);
        check(&d)
    };
    for bad in [
        "",
        " lead",
        "trail ",
        "a/b",
        "a:b",
        "a*b",
        "a?b",
        "a\"b",
        "a<b",
        "a|b",
        "a\\b",
        "tab\there",
        &"x".repeat(201),
    ] {
        assert_eq!(
            find(&named(bad), "invalid_name").pointer,
            "/name",
            "{bad:?}"
        );
    }
    clean(&named("Sales - Main Menu (EN)"));
    clean(&named(&"x".repeat(200)));
    let r = check(&doc(
        "S",
        json!({"S": set("S", "1bad-name", "string", json!("a"), "E"), "E": end("E")}),
    ));
    assert_eq!(
        find(&r, "invalid_variable_name").pointer,
        "/draft/nodes/S/properties/setVars/0/key"
    );
    let mut m = module("E", json!({"E": end("E")}));
    m["inputs"] = json!({"bad name": {"type": "string"}});
    assert_eq!(
        find(&check(&m), "invalid_variable_name").pointer,
        "/inputs/bad name"
    );
    let long = "n".repeat(101);
    let r = check(&doc(&long, json!({long.clone(): end(&long)})));
    assert!(has(&r, "invalid_node_id"));
    let r = check(&doc(
        "my-gather",
        json!({"my-gather": gather("my-gather", "E", "E"), "E": end("E")}),
    ));
    assert!(has(&r, "invalid_variable_name"));
}

#[test]
fn rule_module_inputs_and_outputs() {
    let cat = BTreeMap::from([(
        "Auth".to_owned(),
        ModuleInterface {
            name: "Auth".into(),
            declared_type: Some(FlowType::Module),
            inputs: BTreeMap::from([("account".to_owned(), VarType::String)]),
            outputs: BTreeMap::from([("verified".to_owned(), VarType::Boolean)]),
            calls_modules: false,
        },
    )]);
    // A Flow node calling Auth with these inputs and outputs, validated.
    let call = |inputs: Value, outputs: Value| {
        validate(
            &doc(
                "C",
                json!({
                    "C": {"id": "C", "type": "Flow", "properties": {"flowName": "Auth", "inputs": inputs, "outputs": outputs},
                          "onComplete": {"nextNode": "I"}, "onError": {"nextNode": "E"}},
                    "I": if_node("I", "{ok}", "E", "E"),
                    "E": end("E")
                }),
            ),
            &cat,
        )
    };
    let r = call(json!({"acct": "'1'"}), json!({"verified": "ok"}));
    assert_eq!(
        find(&r, "unknown_module_input").pointer,
        "/draft/nodes/C/properties/inputs/acct"
    );
    let r = call(json!({"account": "'1'"}), json!({"verifed": "ok"}));
    assert_eq!(
        find(&r, "unknown_module_output").pointer,
        "/draft/nodes/C/properties/outputs/verifed"
    );
    let r = call(json!({"account": "1"}), json!({"verified": "ok"}));
    assert!(has(&r, "expression_type"), "an integer for a string input");
    let r = call(json!({"account": "'1'"}), json!({"verified": "ok"}));
    // The Flow node's onError is not compiled (callCommonModule has no failure path).
    assert_eq!(codes(&r), ["on_error_not_compiled"]);
    assert_eq!(r.flow.unwrap().variables.get("ok"), Some(&VarType::Boolean));
    // declared module outputs the module never sets
    let mut m = module(
        "S",
        json!({"S": set("S", "a", "string", json!("x"), "E"), "E": end("E")}),
    );
    m["outputs"] = json!({"a": {"type": "string"}, "b": {"type": "integer"}});
    let r = check(&m);
    assert_eq!(codes(&r), ["output_never_set"]);
    assert_eq!(find(&r, "output_never_set").pointer, "/outputs/b");
    let flow = r.flow.unwrap();
    assert_eq!(flow.outputs.len(), 2);
    // without declared outputs, every Set variable is an output
    let m = module(
        "S",
        json!({"S": set("S", "a", "integer", json!("1"), "E"), "E": end("E")}),
    );
    let flow = check(&m).flow.unwrap();
    assert_eq!(
        flow.outputs,
        BTreeMap::from([("a".to_owned(), VarType::Integer)])
    );
    let iface = interface(&flow);
    assert_eq!((iface.name.as_str(), iface.calls_modules), ("M", false));
}

#[test]
fn rule_inputs_on_inbound() {
    let mut d = doc("E", json!({"E": end("E")}));
    d["inputs"] = json!({"a": {"type": "string"}});
    assert_eq!(find(&check(&d), "inputs_on_inbound").pointer, "/inputs");
    let mut m = module("E", json!({"E": end("E")}));
    m["inputs"] = json!({"a": {"type": "string"}});
    clean(&check(&m));
}

#[test]
fn rule_flow_timeout_and_references() {
    let flow = |props: Value| {
        doc(
            "C",
            json!({"C": {"id": "C", "type": "Flow", "properties": props, "onComplete": {"nextNode": "E"}}, "E": end("E")}),
        )
    };
    let r = check(&flow(json!({"flowName": "M", "timeoutSeconds": 30})));
    assert_eq!(
        find(&r, "flow_timeout_ignored").pointer,
        "/draft/nodes/C/properties/timeoutSeconds"
    );
    assert!(has(
        &check(&flow(json!({"flowName": "M", "flowId": "abc"}))),
        "invalid_flow_reference"
    ));
    assert!(has(&check(&flow(json!({}))), "invalid_flow_reference"));
    // a null flowId next to a flowName is the seed's style: silent
    clean(&check(&flow(json!({"flowName": "M", "flowId": null}))));
    let r = check(&flow(json!({"flowId": "0b5c", "flowName": null})));
    assert!(!r.has_errors());
    assert!(
        matches!(&r.flow.unwrap().nodes["C"].kind, NodeKind::CallModule { module: ModuleRef::Id(i), .. } if i == "0b5c")
    );
}

#[test]
fn rule_route_queue() {
    let route = |props: Value| {
        doc(
            "R",
            json!({"R": {"id": "R", "type": "Route", "properties": props}}),
        )
    };
    assert!(has(
        &check(&route(json!({"queueId": "a", "queueName": "b"}))),
        "invalid_route_queue"
    ));
    assert!(has(&check(&route(json!({}))), "invalid_route_queue"));
    assert!(has(
        &check(&route(json!({"queueName": "b", "skillRequirements": [1]}))),
        "invalid_type"
    ));
    clean(&check(&route(
        json!({"queueName": "b", "skillRequirements": ["French"], "priority": 3}),
    )));
}

#[test]
fn unknown_fields_properties_and_types() {
    let mut d = doc(
        "A",
        json!({"A": {"id": "A", "type": "Say", "propertes": {}, "properties": {"sayText": "x", "sayVoice": "v", "sayGender": "female"}, "onComplete": {"nextNode": "E"}}, "E": end("E")}),
    );
    d["colour"] = json!("blue");
    let r = check(&d);
    assert_eq!(find(&r, "unknown_field").pointer, "/colour");
    assert!(
        r.findings
            .iter()
            .any(|f| f.code == "unknown_field" && f.pointer == "/draft/nodes/A/propertes")
    );
    let f = find(&r, "unknown_property");
    assert_eq!(
        (f.pointer.as_str(), f.severity),
        (
            "/draft/nodes/A/properties/sayVoice",
            crate::template::Severity::Warning
        )
    );
    assert_eq!(
        pointers(&r, "unknown_property").len(),
        1,
        "sayGender is silent"
    );
    let r = check(&doc(
        "A",
        json!({"A": {"id": "A", "type": "Say", "properties": {"sayText": 5}, "onComplete": {"nextNode": 7}}}),
    ));
    let ptrs = pointers(&r, "invalid_type");
    assert_eq!(
        ptrs,
        [
            "/draft/nodes/A/onComplete/nextNode",
            "/draft/nodes/A/properties/sayText"
        ]
    );
    assert!(has(&check(&json!([])), "invalid_type"));
    let mut d = doc("E", json!({"E": end("E")}));
    d["type"] = json!("CommonModule");
    d["language"] = json!("EN-GB");
    let flow = check(&d).flow.unwrap();
    assert_eq!(
        (flow.flow_type, flow.language.as_str()),
        (FlowType::Module, "en-gb")
    );
    d["type"] = json!("bot");
    assert!(has(&check(&d), "invalid_value"));
}

#[test]
fn all_findings_are_collected_and_codes_are_listed() {
    let r = check(&doc(
        "X",
        json!({
            "A": {"id": "B", "type": "Say", "properties": {"sayText": "{nope"}},
            "C": {"id": "C", "type": "Nope"},
            "G": {"id": "G", "type": "Gather", "properties": {"maxDigits": 99}, "onComplete": {"nextNode": "Z"}}
        }),
    ));
    let mut c = codes(&r);
    c.sort();
    c.dedup();
    for code in [
        "id_mismatch",
        "unknown_node_type",
        "gather_digits",
        "unknown_next_node",
        "unknown_start_node",
        "text_syntax",
        "no_exit",
    ] {
        assert!(c.contains(&code), "{code} missing from {c:?}");
    }
    for f in &r.findings {
        assert!(CODES.contains(&f.code.as_str()), "{} not in CODES", f.code);
    }
}

#[test]
fn rule_control_characters_in_node_ids() {
    let r = check(&doc(
        "A",
        json!({"A": say("A", "hi", "E\u{0}x"), "E\u{0}x": end("E\u{0}x")}),
    ));
    let f = find(&r, "invalid_node_id");
    assert!(f.is_error());
    assert_eq!(f.pointer, "/draft/nodes/E\u{0}x");
    assert!(f.message.contains("\\0"), "{}", f.message);
    assert!(r.flow.is_none());
}

#[test]
fn rule_greeting() {
    let mut d = doc("A", json!({"A": say("A", "hi", "E"), "E": end("E")}));
    d["greeting"] = json!("Welcome.");
    let r = check(&d);
    clean(&r);
    assert_eq!(r.flow.unwrap().greeting.as_deref(), Some("Welcome."));
    d["greeting"] = json!(" ");
    assert!(find(&check(&d), "invalid_value").pointer == "/greeting");
    let mut m = module("A", json!({"A": say("A", "hi", "E"), "E": end("E")}));
    m["greeting"] = json!("Welcome.");
    assert!(has(&check(&m), "greeting_on_module"));
}

#[test]
fn rule_module_not_structurable() {
    // A Gather whose failure path rejoins the loop from two places that cannot merge:
    // the cycle Two <-> Three is entered at both nodes.
    let m = module(
        "One",
        json!({
            "One": gather("One", "Two", "Three"),
            "Two": gather("Two", "Three", "E"),
            "Three": gather("Three", "Two", "E"),
            "E": end("E"),
        }),
    );
    let r = check(&m);
    let f = find(&r, "module_not_structurable");
    assert!(f.is_error());
    assert_eq!(f.pointer, "/draft/nodes/Three/onComplete/nextNode");
    assert!(f.hint.as_deref().unwrap().contains("cycle"), "{f:?}");
    // A retry loop entered at one node is fine.
    let m = module(
        "One",
        json!({
            "One": gather("One", "E", "Two"),
            "Two": say("Two", "Again.", "One"),
            "E": end("E"),
        }),
    );
    assert!(!has(&check(&m), "module_not_structurable"));
    // A transfer inside a module is compiled, with a warning.
    let m = module(
        "One",
        json!({"One": {"id": "One", "type": "Route", "properties": {"queueName": "Q"},
                        "onComplete": {"nextNode": "E"}}, "E": end("E")}),
    );
    assert!(has(&check(&m), "module_leaves_call"));
}

#[test]
fn rule_on_error_not_compiled() {
    // Set's onError cannot be compiled (updateData has no failure path): a warning at store
    // time, pointing at the exit.
    let r = check(&doc(
        "S",
        json!({
            "S": {"id": "S", "type": "Set", "properties": {"setVars": [
                    {"key": "n", "value": {"type": "integer", "expression": "ToInt('1')"}}]},
                  "onComplete": {"nextNode": "E"}, "onError": {"nextNode": "H"}},
            "H": say("H", "Sorry.", "E"),
            "E": end("E"),
        }),
    ));
    let f = r
        .findings
        .iter()
        .find(|f| f.code == "on_error_not_compiled")
        .expect("a warning");
    assert_eq!(f.pointer, "/draft/nodes/S/onError/nextNode");
    assert!(!r.has_errors(), "{:?}", r.findings);
    // A Gather's onError is its failure output: no warning; nor for an onError equal to next.
    let clean = check(&doc(
        "G",
        json!({
            "G": gather("G", "E", "S"),
            "S": {"id": "S", "type": "Say", "properties": {"sayText": "x"},
                  "onComplete": {"nextNode": "E"}, "onError": {"nextNode": "E"}},
            "E": end("E"),
        }),
    ));
    assert!(
        !has(&clean, "on_error_not_compiled"),
        "{:?}",
        clean.findings
    );
}

#[test]
fn read_before_write_gives_up_on_documents_too_large_for_it() {
    // 12,000 Set nodes each writing its own variable: 12,000 × 188 bitset words is past
    // the analysis' memory bound, so it is skipped with a warning instead of allocating.
    let n = 12_000;
    let mut nodes = serde_json::Map::new();
    for i in 0..n {
        let next = if i + 1 == n {
            "Bye".to_owned()
        } else {
            format!("S{}", i + 1)
        };
        nodes.insert(
            format!("S{i}"),
            json!({"id": format!("S{i}"), "type": "Set", "properties": {"setVars": [
                {"key": format!("v{i}"), "value": {"type": "string", "value": "x"}}]},
                "onComplete": {"nextNode": next}}),
        );
    }
    nodes.insert(
        "Bye".into(),
        json!({"id": "Bye", "type": "Disconnect", "properties": {}}),
    );
    let doc = json!({"name": "Big", "type": "inbound",
                     "draft": {"startNode": "S0", "nodes": nodes}});
    let r = validate(&doc, &NoModules);
    assert!(!r.has_errors());
    let skipped: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.code == "analysis_skipped")
        .collect();
    assert_eq!(
        skipped.len(),
        1,
        "{:?}",
        r.findings.iter().take(3).collect::<Vec<_>>()
    );
    assert_eq!(skipped[0].pointer, "/draft/nodes");
}

#[test]
fn many_long_unknown_targets_do_not_make_hints_quadratic() {
    // 3,000 nodes with 100-character ids, each moving to an unknown 100-character node:
    // without a bound on hint work this is 9e6 edit distances of 1e4 cells each.
    let n = 3_000;
    let id = |i: usize| format!("{i:0>100}");
    let mut nodes = serde_json::Map::new();
    for i in 0..n {
        nodes.insert(
            id(i),
            json!({"id": id(i), "type": "Say", "properties": {"sayText": "x"},
                   "onComplete": {"nextNode": format!("{i:x>100}")}}),
        );
    }
    let doc = json!({"name": "Typos", "type": "inbound",
                     "draft": {"startNode": id(0), "nodes": nodes}});
    let t = std::time::Instant::now();
    let r = validate(&doc, &NoModules);
    assert_eq!(pointers(&r, "unknown_next_node").len(), n);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        t.elapsed()
    );
    // Small documents still get their hint.
    assert_eq!(
        did_you_mean("Chose", ["Choose", "Menu"].into_iter()),
        Some("Choose")
    );
}
