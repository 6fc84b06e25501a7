//! Property tests: arbitrary input never panics the expression parser, the validator, the
//! compiler or the simulator; every compile of a valid template yields YAML that parses
//! and whose task references resolve; and a compiled template imported back and compiled
//! again behaves as the first compile (issue 22's round trip, on generated graphs).

// Test code: a panic is a failed assertion, and a scenario may read top to bottom.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use std::collections::{BTreeMap, BTreeSet};

use flowsmith::compile::{self, CompileContext, ModuleTarget};
use flowsmith::import::{self, ArchyFile, ImportLimits};
use flowsmith::simulate::{self, SimInput};
use flowsmith::template::{FlowType, expr};
use flowsmith::validate::{self, NoModules};
use flowsmith_calls::OutcomeKind;
use flowsmith_sandbox::archy::interpret::{self, MAX_ACTIONS};
use proptest::prelude::*;
use serde_json::{Value, json};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("Say"),
            Just("Gather"),
            Just("Set"),
            Just("If"),
            Just("End"),
            Just("Flow"),
            Just("Route"),
            Just("SetLanguage"),
            Just("compatibleFlowTypes"),
            Just("fr-fr"),
            Just("a"),
            Just("b"),
            Just("{x}"),
            Just("{{p}}"),
            Just("module")
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("name".to_owned()),
                    Just("type".to_owned()),
                    Just("draft".to_owned()),
                    Just("startNode".to_owned()),
                    Just("nodes".to_owned()),
                    Just("id".to_owned()),
                    Just("properties".to_owned()),
                    Just("onComplete".to_owned()),
                    Just("nextNode".to_owned()),
                    Just("a".to_owned()),
                    Just("b".to_owned()),
                    Just("setVars".to_owned()),
                    Just("conditions".to_owned()),
                    Just("parameters".to_owned()),
                    "[a-z]{1,6}"
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Expression-ish text: tokens of the language glued together at random.
fn arb_expr_text() -> impl Strategy<Value = String> {
    let tok = prop_oneof![
        Just("{x}"),
        Just("{G.digits}"),
        Just("'a'"),
        Just("\"b\""),
        Just("1"),
        Just("42"),
        Just("true"),
        Just("false"),
        Just("=="),
        Just("!="),
        Just("<"),
        Just(">="),
        Just("+"),
        Just("-"),
        Just("and"),
        Just("or"),
        Just("not"),
        Just("("),
        Just(")"),
        Just(","),
        Just("IsSet("),
        Just("ToInt("),
        Just("Length("),
        Just("Lower("),
        Just(" "),
        Just("'"),
        Just("{"),
        Just("}"),
        Just("\\"),
        Just("é"),
        Just("99999999999999999999"),
    ];
    prop::collection::vec(tok, 0..16).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn expression_parser_never_panics(s in "\\PC{0,40}") {
        let _ = expr::parse(&s);
        let _ = expr::parse_text(&s);
    }

    #[test]
    fn expression_parser_errors_point_inside_the_text(s in arb_expr_text()) {
        match expr::parse(&s) {
            Ok(e) => {
                // A parsed expression has a well-defined set of variables and a type check
                // that answers without panicking.
                let _ = e.vars();
                let _ = e.infer(|_| None);
            }
            Err(err) => prop_assert!(err.offset <= s.len(), "offset {} beyond {:?}", err.offset, s),
        }
    }

    #[test]
    fn validator_never_panics_on_arbitrary_json(doc in arb_json()) {
        let report = validate::validate(&doc, &NoModules);
        for f in &report.findings {
            prop_assert!(f.pointer.is_empty() || f.pointer.starts_with('/'));
        }
    }

    #[test]
    fn validator_never_panics_on_mutated_seed(path_pick in 0usize..64, replacement in arb_json()) {
        let mut doc: Value = serde_json::from_str(include_str!("fixtures/seed_inbound_flow.json")).unwrap();
        let pointers = all_pointers(&doc);
        let at = &pointers[path_pick % pointers.len()];
        if let Some(slot) = doc.pointer_mut(at) {
            *slot = replacement;
        }
        let _ = validate::validate(&doc, &NoModules);
    }

    #[test]
    fn valid_random_graphs_compile_to_resolving_yaml_and_simulate(spec in arb_graph(), as_module in any::<bool>(), inputs in prop::collection::vec(prop_oneof![Just("1"), Just("2"), Just("12"), Just("t")], 0..6)) {
        let doc = graph_doc(&spec, as_module);
        let report = validate::validate(&doc, &NoModules);
        prop_assume!(!report.has_errors());
        let flow = report.flow.expect("a flow when there is no error");
        let modules: BTreeMap<String, ModuleTarget> = BTreeMap::new();
        let queues = BTreeMap::new();
        let as_type = if as_module { FlowType::Module } else { FlowType::Inbound };
        let compiled = compile::compile(&flow, &CompileContext {
            flow_name: &flow.name,
            as_type,
            modules: &modules,
            queue_names: &queues,
        });
        let compiled = match compiled {
            Ok(c) => c,
            Err(e) => return Err(TestCaseError::fail(format!("valid template failed to compile: {e}"))),
        };
        let yaml: Value = serde_yaml_ng::from_str(&compiled.yaml)
            .map_err(|e| TestCaseError::fail(format!("unparseable YAML: {e}\n{}", compiled.yaml)))?;
        let root = if as_module { "commonModule" } else { "inboundCall" };
        let body = &yaml[root];
        prop_assert!(body.is_object(), "root {root} missing");
        let mut targets = Vec::new();
        collect_refs(body, &mut targets);
        if as_module {
            // One sequence: no tasks, no startUpRef, no jumps; loopExit only inside a loop.
            prop_assert!(body["startUpTaskActions"].is_array(), "no startUpTaskActions");
            prop_assert!(body.get("tasks").is_none() && targets.is_empty(), "tasks or refs in a module");
            prop_assert!(!compiled.yaml.contains("jumpToTask"));
            prop_assert!(loop_exits_inside_loops(&body["startUpTaskActions"], false));
            // Callable from inbound call flows, plus what the template declares; no
            // defaultLanguage (no exported module has one).
            let types: Vec<&str> = body["settingsCommonModule"]["compatibleFlowTypes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t["flowType"].as_str())
                .collect();
            prop_assert_eq!(types.first().copied(), Some("inboundcall"));
            prop_assert_eq!(types.contains(&"inqueuecall"), spec[0].c.is_multiple_of(2));
            prop_assert!(body.get("defaultLanguage").is_none());
            prop_assert!(!has_empty_module_version(body), "ver_latestPublished: {{}}");
        } else {
            let refs = task_ref_ids(body);
            prop_assert!(!refs.is_empty());
            prop_assert!(!targets.is_empty(), "no startUpRef");
            for t in targets {
                prop_assert!(t.starts_with("/inboundCall/tasks/task["), "relative reference {t}");
                let id = t.rsplit_once("task[").and_then(|(_, r)| r.strip_suffix(']'));
                prop_assert!(id.is_some_and(|id| refs.contains(id)), "unresolved reference {t}");
            }
            for t in body["tasks"].as_array().unwrap() {
                let last = t["task"]["actions"].as_array().and_then(|a| a.last());
                let key = last.and_then(|l| l.as_object()).and_then(|o| o.keys().next().cloned());
                prop_assert!(
                    matches!(key.as_deref(), Some("disconnect" | "jumpToTask")),
                    "task ends with {key:?}\n{}", compiled.yaml
                );
            }
        }
        // Deterministic bytes.
        let again = compile::compile(&flow, &CompileContext { flow_name: &flow.name, as_type, modules: &modules, queue_names: &queues }).unwrap();
        prop_assert_eq!(&again.yaml, &compiled.yaml);

        let inputs: Vec<SimInput> = inputs.iter().map(|s| SimInput::parse(if *s == "t" { "timeout" } else { s }).unwrap()).collect();
        let sim = simulate::simulate(&flow, &BTreeMap::new(), &inputs, 500);
        prop_assert!(sim.steps <= 500);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// compile → import → compile: the sandbox's Archy interpreter runs the first and the
    /// second compile on the same calls, and what the caller hears, the outcome and every
    /// variable the first set are the same.
    #[test]
    fn compiled_templates_survive_import_and_compile_with_equal_behaviour(spec in arb_graph(), as_module in any::<bool>()) {
        round_trip(&spec, as_module)?;
    }
}

/// compile → import → compile of the template `spec` makes, and both compiles run on the
/// same calls (the property above; the regressions below).
fn round_trip(spec: &[NodeSpec], as_module: bool) -> Result<(), TestCaseError> {
    let doc = graph_doc(spec, as_module);
    let report = validate::validate(&doc, &NoModules);
    prop_assume!(!report.has_errors());
    let flow = report.flow.expect("a flow when there is no error");
    let as_type = if as_module {
        FlowType::Module
    } else {
        FlowType::Inbound
    };
    let first = compile_flow(&flow, as_type)?;

    let imported = import::import(
        &[ArchyFile {
            name: "Random.yaml".into(),
            yaml: first.clone(),
        }],
        ImportLimits::default(),
    )
    .map_err(|e| {
        TestCaseError::fail(format!(
            "import refused its own compile: {:?}\n{first}",
            e.findings
        ))
    })?;
    prop_assert_eq!(imported.templates.len(), 1);
    let t = &imported.templates[0];
    prop_assert_eq!(t.flow_type, as_type);
    let again = validate::validate(&t.document, &NoModules);
    prop_assert!(
        !again.has_errors(),
        "the import does not validate: {:?}\n{first}",
        again.findings
    );
    let second = compile_flow(&again.flow.expect("a flow"), as_type)?;

    let a: serde_yaml_ng::Value = serde_yaml_ng::from_str(&first).unwrap();
    let b: serde_yaml_ng::Value = serde_yaml_ng::from_str(&second).unwrap();
    let none: BTreeMap<String, serde_yaml_ng::Value> = BTreeMap::new();
    let calls: [&[&str]; 6] = [
        &[],
        &["t"],
        &["1"],
        &["2", "1"],
        &["12", "t", "1"],
        &["1", "1", "1", "1"],
    ];
    for ins in calls {
        let ins: Vec<SimInput> = ins
            .iter()
            .map(|s| SimInput::parse(if *s == "t" { "timeout" } else { s }).unwrap())
            .collect();
        let x = interpret::call(&a, &none, &ins, MAX_ACTIONS);
        let y = interpret::call(&b, &none, &ins, MAX_ACTIONS);
        let said = |c: &interpret::Call| -> Vec<(Option<String>, Option<String>, Option<String>)> {
            c.transcript
                .iter()
                .map(|l| (l.text.clone(), l.digits.clone(), l.language.clone()))
                .collect()
        };
        prop_assert_eq!(
            &x.outcome.kind,
            &y.outcome.kind,
            "inputs {:?}\n{}\n---\n{}",
            ins,
            first,
            second
        );
        prop_assert_eq!(&x.outcome.queue, &y.outcome.queue);
        if x.outcome.kind == OutcomeKind::StepLimit {
            // A call that never ends runs until the action limit, and the recompiled file
            // may count a jump more or less per round: the same call, cut elsewhere. What
            // both said before the first cut must agree.
            let (sx, sy) = (said(&x), said(&y));
            let n = sx.len().min(sy.len());
            prop_assert_eq!(
                &sx[..n],
                &sy[..n],
                "inputs {:?}\n{}\n---\n{}",
                ins,
                first,
                second
            );
            continue;
        }
        prop_assert_eq!(
            said(&x),
            said(&y),
            "inputs {:?}\n{}\n---\n{}",
            ins,
            first,
            second
        );
        prop_assert_eq!(&x.participant_data, &y.participant_data);
        for (k, v) in &x.variables {
            prop_assert_eq!(
                Some(v),
                y.variables.get(k),
                "variable {} after {:?}",
                k,
                ins
            );
        }
    }
    Ok(())
}

fn spec(nodes: &[(u8, usize, usize, usize)]) -> Vec<NodeSpec> {
    nodes
        .iter()
        .map(|&(kind, a, b, c)| NodeSpec { kind, a, b, c })
        .collect()
}

/// Found by the property (shrunk): an inbound flow of Gathers whose outputs jump to tasks.
#[test]
fn round_trip_of_gathers_jumping_to_tasks() {
    let s = spec(&[
        (
            3,
            12_582_605_263_378_683_817,
            17_483_213_314_354_145_386,
            17_946_827_531_093_196_829,
        ),
        (0, 0, 0, 0),
        (0, 491_760_563_708_795_099, 0, 0),
        (0, 0, 0, 0),
        (0, 0, 0, 0),
        (0, 0, 0, 0),
        (2, 17_940_105_919_171_561_607, 0, 0),
        (1, 237_596_372_114_304_547, 5_127_060_468_200_142_948, 0),
        (1, 2_183_569_190_233_227, 10_170_136_003_494_930_049, 0),
        (0, 7_117_588_439_018_301_146, 0, 0),
    ]);
    round_trip(&s, false).unwrap();
}

/// Found by the property (shrunk): Ifs reading variables nothing sets are imported as kept
/// `decision`s whose outputs meet before their fall-through.
#[test]
fn round_trip_of_kept_decisions_whose_outputs_meet() {
    let s = spec(&[
        (0, 1_883_146_029_737_912_930, 0, 0),
        (
            3,
            937_538_854_377_287_501,
            300_881_849_310_581_746,
            13_970_236_540_087_753_320,
        ),
        (0, 1_334_705_612_229_901_342, 0, 0),
        (2, 298_701_655_323_558_940, 0, 0),
        (0, 0, 0, 0),
        (0, 0, 0, 0),
        (0, 0, 0, 0),
        (0, 0, 0, 0),
        (6, 513_642_853_446_076_569, 0, 0),
        (0, 108_085_345_210_254, 0, 0),
        (0, 0, 0, 0),
        (0, 0, 0, 0),
        (5, 0, 0, 0),
        (0, 7_058_421_279_451_979_778, 0, 0),
        (
            3,
            16_430_357_640_638_180_701,
            6_264_115_503_021_606_872,
            4_354_064_636_026_505_185,
        ),
        (0, 0, 0, 0),
    ]);
    round_trip(&s, false).unwrap();
}

/// Found by the property (shrunk): a module whose cycle through a Gather became a `loop`.
#[test]
fn round_trip_of_a_module_loop_through_a_gather() {
    let s = spec(&[
        (
            3,
            3_383_965_592_695_254_397,
            2_492_369_652_589_772_615,
            285_678_837_557_766_505,
        ),
        (0, 0, 0, 0),
        (0, 6_219_190_635_551_575_839, 0, 0),
        (2, 9_198_609_758_184_240_159, 0, 0),
        (1, 8_311_715_362_256_348_600, 14_039_905_000_613_513_602, 0),
    ]);
    round_trip(&s, true).unwrap();
}

/// Found by the property (the importfix helper's run): an inbound flow of nested decisions.
#[test]
fn round_trip_of_an_inbound_flow_of_nested_decisions() {
    let s = spec(&[
        (
            3,
            5_373_440_312_865_175_603,
            5_662_384_309_209_542_336,
            9_283_814_202_911_121_086,
        ),
        (0, 0, 0, 0),
        (0, 14_224_657_750_394_967_964, 0, 0),
        (0, 8_228_671_677_172_977_649, 0, 0),
        (0, 8_729_813_550_763_056_934, 0, 0),
        (0, 0, 0, 0),
        (0, 0, 0, 0),
        (
            3,
            1_219_005_724_037_028_308,
            110_831_930_946_188,
            9_814_446_089_102,
        ),
        (0, 0, 0, 0),
        (0, 4_860_627_469_917_445_813, 0, 0),
        (
            2,
            551_409_779_242_009_822,
            8_775_003_220_334_533_556,
            3_393_037_146_221_906_754,
        ),
        (
            0,
            12_934_194_167_053_613_852,
            9_580_424_963_027_631_264,
            7_693_252_965_185_537_802,
        ),
        (
            0,
            12_739_946_874_336_302_437,
            423_228_731_041_878_725,
            8_358_773_447_561_574_067,
        ),
        (
            4,
            2_259_856_852_266_979_798,
            9_791_008_998_215_777_424,
            13_453_811_118_713_715_094,
        ),
        (
            1,
            347_725_757_152_096_310,
            14_566_351_777_604_703_682,
            2_349_390_782_873_758_860,
        ),
        (
            5,
            9_887_175_984_184_024_569,
            9_821_652_182_456_804_799,
            12_160_121_690_854_802_218,
        ),
        (
            0,
            11_645_689_263_856_553_054,
            2_003_836_668_182_634_088,
            5_570_396_802_095_703_386,
        ),
        (
            1,
            18_088_228_056_599_895_693,
            3_170_409_119_308_980_888,
            4_277_745_015_170_672_479,
        ),
        (
            6,
            11_026_210_904_663_023_792,
            15_494_617_998_058_907_292,
            2_181_072_469_381_549_427,
        ),
        (
            0,
            6_936_115_002_924_905_037,
            11_920_085_592_158_963_757,
            12_323_617_450_538_077_669,
        ),
        (
            1,
            8_669_567_233_728_048_795,
            13_618_666_305_503_692_395,
            1_585_741_092_405_866_499,
        ),
    ]);
    round_trip(&s, false).unwrap();
}

/// A module of nested two-condition Ifs (the property once found one compiled 191 YAML
/// levels deep, which no YAML reader here takes): within the nesting limit it survives the
/// round trip; past it, it is refused as too deep before anything is compiled.
#[test]
fn round_trip_of_a_module_of_nested_decisions() {
    let nested = |ifs: usize| {
        // N0 sets v; N1..=ifs each go on by the default, both conditions to the End.
        let n = ifs + 2;
        let mut nodes = vec![(2, 1, 0, 1)];
        nodes.extend((1..=ifs).map(|i| (3, n - 1, i + 1, n - 1)));
        nodes.push((7, 0, 0, 0));
        spec(&nodes)
    };
    round_trip(&nested(8), true).unwrap();
    let refused = validate::validate(&graph_doc(&nested(14), true), &NoModules);
    assert!(
        refused
            .findings
            .iter()
            .any(|f| f.code == "module_not_structurable"),
        "{:?}",
        refused.findings
    );
}

fn compile_flow(
    flow: &flowsmith::template::Flow,
    as_type: FlowType,
) -> Result<String, TestCaseError> {
    let modules: BTreeMap<String, ModuleTarget> = BTreeMap::new();
    let queues = BTreeMap::new();
    compile::compile(
        flow,
        &CompileContext {
            flow_name: &flow.name,
            as_type,
            modules: &modules,
            queue_names: &queues,
        },
    )
    .map(|c| c.yaml)
    .map_err(|e| TestCaseError::fail(format!("valid template failed to compile: {e}")))
}

/// Whether every `loopExit` in these actions sits inside a `loop` body.
fn loop_exits_inside_loops(v: &Value, in_loop: bool) -> bool {
    match v {
        Value::Object(m) => m.iter().all(|(k, x)| match k.as_str() {
            "loopExit" => in_loop,
            "loop" => loop_exits_inside_loops(x, true),
            _ => loop_exits_inside_loops(x, in_loop),
        }),
        Value::Array(a) => a.iter().all(|x| loop_exits_inside_loops(x, in_loop)),
        _ => true,
    }
}

fn all_pointers(v: &Value) -> Vec<String> {
    fn walk(v: &Value, at: String, out: &mut Vec<String>) {
        out.push(at.clone());
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    walk(
                        x,
                        format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                        out,
                    );
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(x, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, String::new(), &mut out);
    out
}

/// A random graph: per node a kind and successor choices (indices taken modulo the size).
#[derive(Debug, Clone)]
struct NodeSpec {
    kind: u8,
    a: usize,
    b: usize,
    c: usize,
}

fn arb_graph() -> impl Strategy<Value = Vec<NodeSpec>> {
    prop::collection::vec(
        (0u8..8, any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(kind, a, b, c)| NodeSpec { kind, a, b, c }),
        1..24,
    )
}

fn graph_doc(spec: &[NodeSpec], as_module: bool) -> Value {
    let n = spec.len();
    let id = |i: usize| format!("N{}", i % n);
    let mut nodes = serde_json::Map::new();
    for (i, s) in spec.iter().enumerate() {
        let me = format!("N{i}");
        let node = match s.kind {
            0 => {
                json!({"id": me, "type": "Say", "properties": {"sayText": "hello {v}"}, "onComplete": {"nextNode": id(s.a)}})
            }
            1 => {
                json!({"id": me, "type": "Gather", "properties": {"promptText": "press", "maxDigits": 1 + (s.c % 3)},
                        "onComplete": {"nextNode": id(s.a)}, "onError": {"nextNode": id(s.b)}})
            }
            2 => json!({"id": me, "type": "Set", "properties": {"setVars": [
                        {"key": "v", "value": {"type": "string", "value": "x{v}"}},
                        {"key": "k", "value": {"type": "integer", "expression": "1 + 2"}}]},
                        "onComplete": {"nextNode": id(s.a)}}),
            3 => json!({"id": me, "type": "If", "properties": {"conditions": [
                        {"expression": "{v} == 'x' or not IsSet({k})", "nextNode": id(s.a)},
                        {"expression": "Length({v}) > 2", "nextNode": id(s.c)}],
                        "defaultNextNode": id(s.b)}}),
            4 => {
                json!({"id": me, "type": "Route", "properties": {"queueName": "General"}, "onError": {"nextNode": id(s.a)}})
            }
            5 => json!({"id": me, "type": "Disconnect", "properties": {}}),
            6 => json!({"id": me, "type": "SetLanguage",
                        "properties": {"language": if s.c % 2 == 0 { "fr-FR" } else { "{v}" }},
                        "onComplete": {"nextNode": id(s.a)}}),
            _ => json!({"id": me, "type": "End", "properties": {}}),
        };
        nodes.insert(format!("N{i}"), node);
    }
    let mut doc = json!({
        "name": "Random",
        "type": if as_module { "module" } else { "inbound" },
        "draft": {"startNode": "N0", "nodes": nodes}
    });
    if spec[0].c.is_multiple_of(2) {
        doc["compatibleFlowTypes"] = json!(["inqueuecall", "inboundcall"]);
    }
    doc
}

/// Whether a `ver_latestPublished` anywhere is an empty map (a shape no file has).
fn has_empty_module_version(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, x)| {
            (k == "ver_latestPublished" && x.as_object().is_some_and(serde_json::Map::is_empty))
                || has_empty_module_version(x)
        }),
        Value::Array(a) => a.iter().any(has_empty_module_version),
        _ => false,
    }
}

fn task_ref_ids(body: &Value) -> BTreeSet<String> {
    body["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["task"]["refId"].as_str().map(str::to_owned))
        .collect()
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "startUpRef" || k == "targetTaskRef" {
                    if let Some(s) = x.as_str() {
                        out.push(s.to_owned());
                    }
                } else {
                    collect_refs(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}
