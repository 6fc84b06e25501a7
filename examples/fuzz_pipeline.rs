//! A fuzz loop over the template pipeline: decode (JSON and YAML) → validate → compile →
//! simulate → diagram, on random and mutated documents, under the service's default limits.
//!
//! `cargo run --example fuzz_pipeline -- [seconds] [seed]` (default 60 s, a random seed).
//! Each case runs on a thread with a 2 MiB stack, the size of the service's worker threads,
//! so unbounded recursion shows as a crash here as it would there. A panic is reported
//! with the seed and case number that reproduce it, and the process exits 1.
//!
//! Why not `cargo fuzz`: it needs a nightly toolchain; this loop needs nothing but the
//! crate and `rand`, and generates documents with the template grammar in mind, so most
//! cases get past decoding into the deeper stages.

// A test harness: a panic is a found bug.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use flowsmith::compile::{self, CompileContext};
use flowsmith::diagram::{self, DiagramFormat};
use flowsmith::simulate::{self, SimInput, SimLimits};
use flowsmith::template;
use flowsmith::validate::{self, NoModules};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

const ATOMS: &[&str] = &[
    "{a}",
    "{b}",
    "{n}",
    "{Menu.digits}",
    "'x'",
    "\"y\"",
    "1",
    "0",
    "-1",
    "true",
    "false",
    "9223372036854775807",
    "''",
    "{a.b}",
    "{}",
    "{",
    "}",
    "x",
    "'unterminated",
];
const BINOPS: &[&str] = &[
    " + ", " - ", " == ", " != ", " < ", " <= ", " > ", " >= ", " and ", " or ", " AND ", "+", "==",
];
const FUNCS: &[&str] = &[
    "IsSet",
    "IsNotSetOrEmpty",
    "ToString",
    "ToInt",
    "Lower",
    "Upper",
    "Length",
    "isset",
    "Foo",
];

/// A random expression: grammatical most of the time, with junk, and sometimes very deep
/// or very long.
fn expr(rng: &mut StdRng, depth: u32) -> String {
    if depth == 0 || rng.gen_ratio(1, 4) {
        return ATOMS.choose(rng).unwrap().to_string();
    }
    match rng.gen_range(0..9) {
        0 => format!("({})", expr(rng, depth - 1)),
        1 => format!("not {}", expr(rng, depth - 1)),
        2 => format!("-{}", expr(rng, depth - 1)),
        3 => format!("{}({})", FUNCS.choose(rng).unwrap(), expr(rng, depth - 1)),
        4 => {
            // Long flat chains.
            let n = rng.gen_range(1..200);
            let op = BINOPS.choose(rng).unwrap();
            (0..n).map(|_| expr(rng, 0)).collect::<Vec<_>>().join(op)
        }
        5 => {
            // Deep nests of one kind.
            let n = rng.gen_range(1..3000);
            let (open, close) = [("(", ")"), ("not ", ""), ("-", ""), ("Length(", ")")]
                .choose(rng)
                .copied()
                .unwrap();
            format!("{}{}{}", open.repeat(n), expr(rng, 0), close.repeat(n))
        }
        _ => format!(
            "{}{}{}",
            expr(rng, depth - 1),
            BINOPS.choose(rng).unwrap(),
            expr(rng, depth - 1)
        ),
    }
}

/// A text template that parses.
fn sane_text(rng: &mut StdRng) -> String {
    let parts = [
        "Hello ",
        "{a}",
        "{n}",
        "{b}",
        "é",
        "\t",
        " } ",
        "{ \"json\": 1 }",
    ];
    let n = rng.gen_range(0..8);
    let mut s: String = (0..n).map(|_| *parts.choose(rng).unwrap()).collect();
    if rng.gen_ratio(1, 20) {
        s.push_str(&"{a}".repeat(rng.gen_range(1..5000)));
    }
    s
}

/// A random text template.
fn text(rng: &mut StdRng) -> String {
    let parts = [
        "Hello ",
        "{a}",
        "{b}",
        "{n}",
        "{",
        "}",
        "{{p}}",
        "{Menu.digits}",
        "é",
        "\t",
    ];
    let n = rng.gen_range(0..12);
    let mut s: String = (0..n).map(|_| *parts.choose(rng).unwrap()).collect();
    if rng.gen_ratio(1, 20) {
        s.push_str(&"{a}".repeat(rng.gen_range(1..5000)));
    }
    s
}

fn scalar(rng: &mut StdRng) -> Value {
    match rng.gen_range(0..7) {
        0 => Value::Null,
        1 => json!(rng.gen_range(-5i64..40)),
        2 => json!(rng.gen_bool(0.5)),
        3 => json!(expr(rng, 4)),
        4 => json!(text(rng)),
        5 => json!([]),
        _ => json!({}),
    }
}

const NODE_IDS: &[&str] = &["Start", "Menu", "A", "B", "C", "Loop", "Bye", "Missing"];

/// A random node of a random type, pointing at random other nodes.
fn node(rng: &mut StdRng, id: &str) -> Value {
    let next = |rng: &mut StdRng| {
        let target = *NODE_IDS.choose(rng).unwrap();
        json!({"nextNode": target})
    };
    let var = ["a", "b", "n", "Menu_digits", "bad name"]
        .choose(rng)
        .unwrap()
        .to_string();
    let ty = ["string", "integer", "boolean", "float"]
        .choose(rng)
        .unwrap()
        .to_string();
    let props = match rng.gen_range(0..8) {
        0 => json!({"sayText": text(rng)}),
        1 => json!({"promptText": text(rng), "maxDigits": rng.gen_range(-1..40),
                     "minDigits": rng.gen_range(0..5)}),
        2 => {
            let value = if rng.gen_bool(0.5) {
                json!({"type": ty, "expression": expr(rng, 6)})
            } else {
                json!({"type": ty, "value": text(rng)})
            };
            json!({"setVars": [{"key": var, "value": value}]})
        }
        3 => {
            let n = rng.gen_range(0..4);
            let conds: Vec<Value> = (0..n)
                .map(|_| {
                    let target = *NODE_IDS.choose(rng).unwrap();
                    json!({"expression": expr(rng, 8), "nextNode": target})
                })
                .collect();
            let default = *NODE_IDS.choose(rng).unwrap();
            json!({"conditions": conds, "defaultNextNode": default})
        }
        4 => json!({"queueName": text(rng)}),
        5 => json!({"flowName": "Module", "inputs": {"x": expr(rng, 3)}}),
        6 => json!({"endType": "x"}),
        _ => json!({}),
    };
    let types = [
        "Say",
        "Gather",
        "Set",
        "If",
        "Route",
        "Flow",
        "End",
        "Disconnect",
        "Nope",
    ];
    let ty = *types.choose(rng).unwrap();
    let mut n = json!({"id": id, "type": ty, "properties": props});
    if rng.gen_bool(0.8) {
        n["onComplete"] = next(rng);
    }
    if rng.gen_bool(0.3) {
        n["onError"] = next(rng);
    }
    n
}

/// A document that mostly validates: sane node types and exits, well-typed expressions
/// (deep or long ones included), so the compiler, simulator and diagram see many flows.
fn sane_document(rng: &mut StdRng) -> Value {
    let ids = ["Start", "A", "B", "C", "D", "Bye"];
    let mut nodes = serde_json::Map::new();
    let pick = |rng: &mut StdRng| *ids[1..].choose(rng).unwrap();
    nodes.insert(
        "Start".into(),
        json!({"id": "Start", "type": "Set", "properties": {"setVars": [
            {"key": "a", "value": {"type": "string", "value": sane_text(rng)}},
            {"key": "n", "value": {"type": "integer", "value": "1"}},
            {"key": "b", "value": {"type": "boolean", "value": "true"}}]},
            "onComplete": {"nextNode": "A"}}),
    );
    for id in &ids[1..5] {
        let node = match rng.gen_range(0..5) {
            0 => json!({"id": id, "type": "Say", "properties": {"sayText": sane_text(rng)},
                        "onComplete": {"nextNode": pick(rng)}}),
            1 => json!({"id": id, "type": "Gather", "properties": {"promptText": sane_text(rng),
                        "maxDigits": rng.gen_range(1..5)},
                        "onComplete": {"nextNode": pick(rng)}, "onError": {"nextNode": pick(rng)}}),
            2 => {
                let (key, ty, e) = match rng.gen_range(0..3) {
                    0 => ("n", "integer", int_expr(rng, 6)),
                    1 => ("b", "boolean", bool_expr(rng, 6)),
                    _ => ("a", "string", format!("ToString({})", int_expr(rng, 4))),
                };
                json!({"id": id, "type": "Set", "properties": {"setVars": [
                    {"key": key, "value": {"type": ty, "expression": e}}]},
                    "onComplete": {"nextNode": pick(rng)}})
            }
            3 => json!({"id": id, "type": "Set", "properties": {"setVars": [
                    {"key": "a", "value": {"type": "string", "value": "{a}{a}x"}}]},
                    "onComplete": {"nextNode": pick(rng)}}),
            _ => json!({"id": id, "type": "If", "properties": {
                    "conditions": [{"expression": bool_expr(rng, 8), "nextNode": pick(rng)}],
                    "defaultNextNode": pick(rng)}}),
        };
        nodes.insert((*id).to_owned(), node);
    }
    nodes.insert(
        "Bye".into(),
        json!({"id": "Bye", "type": "Disconnect", "properties": {}}),
    );
    json!({"name": "Fuzz", "type": "inbound", "draft": {"startNode": "Start", "nodes": nodes}})
}

fn int_expr(rng: &mut StdRng, depth: u32) -> String {
    if depth == 0 || rng.gen_ratio(1, 3) {
        return ["{n}", "1", "0", "-5", "Length({a})", "ToInt('7')"]
            .choose(rng)
            .unwrap()
            .to_string();
    }
    match rng.gen_range(0..4) {
        0 => format!("({})", int_expr(rng, depth - 1)),
        1 => format!("-{}", int_expr(rng, depth - 1)),
        2 => {
            let n = rng.gen_range(1..60);
            (0..n).map(|_| "{n}").collect::<Vec<_>>().join(" + ")
        }
        _ => format!(
            "{} + {}",
            int_expr(rng, depth - 1),
            int_expr(rng, depth - 1)
        ),
    }
}

fn bool_expr(rng: &mut StdRng, depth: u32) -> String {
    if depth == 0 || rng.gen_ratio(1, 4) {
        return ["{b}", "true", "IsSet({a})", "{a} == 'x'"]
            .choose(rng)
            .unwrap()
            .to_string();
    }
    match rng.gen_range(0..5) {
        0 => format!("not {}", bool_expr(rng, depth - 1)),
        1 => format!("({})", bool_expr(rng, depth - 1)),
        2 => format!(
            "{} < {}",
            int_expr(rng, depth - 1),
            int_expr(rng, depth - 1)
        ),
        3 => format!(
            "{} and {}",
            bool_expr(rng, depth - 1),
            bool_expr(rng, depth - 1)
        ),
        _ => format!(
            "{} or {}",
            bool_expr(rng, depth - 1),
            bool_expr(rng, depth - 1)
        ),
    }
}

fn document(rng: &mut StdRng) -> Value {
    if rng.gen_bool(0.5) {
        let mut doc = sane_document(rng);
        if rng.gen_ratio(1, 4) {
            mutate(rng, &mut doc, 0);
        }
        return doc;
    }
    let mut nodes = serde_json::Map::new();
    for id in NODE_IDS.iter().take(rng.gen_range(1..NODE_IDS.len())) {
        nodes.insert((*id).to_owned(), node(rng, id));
    }
    let name = *["Fuzz", "", ".", "CON", "a/b"].choose(rng).unwrap();
    let ty = *["inbound", "module", "x"].choose(rng).unwrap();
    let start = *NODE_IDS.choose(rng).unwrap();
    let mut doc = json!({
        "name": name,
        "type": ty,
        "parameters": {"p": {"type": "string", "default": "v"}},
        "draft": {"startNode": start, "nodes": nodes}
    });
    // Random mutations anywhere in the tree.
    for _ in 0..rng.gen_range(0..4) {
        mutate(rng, &mut doc, 0);
    }
    doc
}

fn mutate(rng: &mut StdRng, v: &mut Value, depth: u32) {
    match v {
        Value::Object(o) if !o.is_empty() && depth < 6 && rng.gen_bool(0.7) => {
            let k = o.keys().nth(rng.gen_range(0..o.len())).unwrap().clone();
            mutate(rng, o.get_mut(&k).unwrap(), depth + 1);
        }
        Value::Array(a) if !a.is_empty() && depth < 6 && rng.gen_bool(0.7) => {
            let i = rng.gen_range(0..a.len());
            mutate(rng, &mut a[i], depth + 1);
        }
        _ => {
            *v = if rng.gen_ratio(1, 10) {
                // Deep nesting.
                let mut d = scalar(rng);
                for _ in 0..rng.gen_range(1..200) {
                    d = json!([d]);
                }
                d
            } else {
                scalar(rng)
            }
        }
    }
}

/// Runs one document through every stage. Panics are what the loop looks for.
fn pipeline(rng: &mut StdRng, doc: &Value) {
    let text = if rng.gen_bool(0.5) {
        serde_json::to_vec(doc).unwrap()
    } else {
        serde_yaml_ng::to_string(doc).unwrap().into_bytes()
    };
    let yaml = !text.starts_with(b"{");
    let Ok(doc) = template::parse_document(&text, yaml) else {
        return;
    };
    let report = validate::validate(&doc, &NoModules);
    let Some(flow) = report
        .flow
        .filter(|_| !report.findings.iter().any(|f| f.is_error()))
    else {
        return;
    };
    let modules = BTreeMap::new();
    let _ = compile::compile(
        &flow,
        &CompileContext {
            flow_name: &flow.name,
            as_type: flow.flow_type,
            modules: &modules,
            queue_names: &BTreeMap::new(),
        },
    );
    let inputs = [SimInput::Digits("1".into()), SimInput::Timeout];
    let limits = SimLimits {
        deadline: Some(Instant::now() + Duration::from_secs(2)),
        ..SimLimits::new(5000)
    };
    let _ = simulate::simulate_limited(&flow, &BTreeMap::new(), &inputs, &limits);
    let _ = diagram::render(&flow, &BTreeMap::new(), DiagramFormat::Mermaid);
    let _ = diagram::render(&flow, &BTreeMap::new(), DiagramFormat::Dot);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let secs: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(60);
    let seed: u64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().r#gen());
    println!("fuzz_pipeline: seed {seed}, {secs} s");
    if std::env::var_os("FUZZ_SHOW").is_some() {
        let mut rng = StdRng::seed_from_u64(seed);
        let doc = sane_document(&mut rng);
        for f in validate::validate(&doc, &NoModules)
            .findings
            .iter()
            .filter(|f| f.is_error())
        {
            println!("{} {} {}", f.code, f.pointer, f.message);
        }
    }
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            let end = Instant::now() + Duration::from_secs(secs);
            let mut cases = 0u64;
            let mut valid = 0u64;
            while Instant::now() < end {
                let mut rng = StdRng::seed_from_u64(seed.wrapping_add(cases));
                let doc = document(&mut rng);
                if validate::validate(&doc, &NoModules).flow.is_some() {
                    valid += 1;
                }
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    pipeline(&mut rng, &doc)
                }));
                if r.is_err() {
                    eprintln!(
                        "PANIC at case {cases} (seed {}): {doc}",
                        seed.wrapping_add(cases)
                    );
                    std::process::exit(1);
                }
                cases += 1;
            }
            (cases, valid)
        })
        .expect("thread starts");
    let (cases, valid) = handle.join().expect("no panic escapes");
    println!("fuzz_pipeline: {cases} cases ({valid} with a flow model), no crash, no panic");
}
