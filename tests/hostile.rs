//! Hostile input against the real `flowsmith` binary (issue 11): each case must get a prompt
//! 4xx problem naming the limit and the place, with the process alive, its answers small
//! and its peak memory (VmHWM) bounded. The process is a child so that a stack overflow or
//! an abort shows as a dead process instead of killing the test run.

// Test code: a panic is a failed assertion, and a scenario may read top to bottom.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

#[path = "common/db.rs"]
mod db;
#[path = "common/service.rs"]
mod service;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use service::{Service, serve};

/// Peak RSS a case may reach (debug build; the service idles at ~20 MiB).
const MAX_PEAK_RSS_MIB: u64 = 400;
/// Largest answer any hostile request may get.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

struct Hostile {
    svc: Service,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
    /// The slowest answer so far (reported with the peak RSS).
    slowest: std::sync::Mutex<Duration>,
}

fn start(args: &[&str], env: &[(&str, &str)]) -> Hostile {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = serve(&dir.path().join("flowsmith.db"));
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Hostile {
        svc: Service::spawn(cmd),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap(),
        _dir: dir,
        slowest: Default::default(),
    }
}

/// An answer: status, body, and how long it took.
struct Answer {
    status: u16,
    body: Value,
    bytes: usize,
    took: Duration,
}

impl Hostile {
    async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let t = Instant::now();
        let r = req.send().await.expect("the service answers");
        let status = r.status().as_u16();
        let text = r.bytes().await.expect("a whole body");
        let took = t.elapsed();
        {
            let mut slowest = self.slowest.lock().unwrap();
            *slowest = (*slowest).max(took);
        }
        assert!(
            text.len() <= MAX_ANSWER_BYTES,
            "answer of {} bytes (status {status})",
            text.len()
        );
        Answer {
            status,
            body: serde_json::from_slice(&text).unwrap_or(Value::Null),
            bytes: text.len(),
            took,
        }
    }

    async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(self.client.post(self.svc.url(path)).json(body))
            .await
    }

    async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Answer {
        self.send(
            self.client
                .post(self.svc.url(path))
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }

    /// Alive and answering promptly; returns the peak RSS so far, in MiB.
    async fn check_alive(&mut self, case: &str) -> u64 {
        assert!(
            self.svc.child.try_wait().unwrap().is_none(),
            "{case}: the service died: {}",
            self.svc.log_text()
        );
        let a = self.send(self.client.get(self.svc.url("/healthz"))).await;
        assert_eq!(a.status, 200, "{case}");
        assert!(
            a.took < Duration::from_secs(2),
            "{case}: healthz took {:?}",
            a.took
        );
        let rss = peak_rss_mib(self.svc.child.id());
        let slowest = *self.slowest.lock().unwrap();
        eprintln!("hostile {case}: peak RSS {rss} MiB, slowest answer {slowest:.1?}");
        assert!(rss < MAX_PEAK_RSS_MIB, "{case}: peak RSS {rss} MiB");
        rss
    }
}

fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

/// Asserts a problem with `status` and a finding with `code` (at `pointer` when given);
/// returns that finding.
fn problem(a: &Answer, status: u16, code: &str, pointer: Option<&str>) -> Value {
    assert_eq!(a.status, status, "{}", a.body);
    assert!(a.took < Duration::from_secs(5), "took {:?}", a.took);
    let errors = a.body["errors"].as_array().cloned().unwrap_or_default();
    let f = errors
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no {code} finding in {}", a.body))
        .clone();
    if let Some(p) = pointer {
        assert_eq!(f["pointer"], p, "{}", a.body);
    }
    f
}

fn inbound(name: &str, nodes: Value, start: &str) -> Value {
    json!({"name": name, "type": "inbound", "draft": {"startNode": start, "nodes": nodes}})
}

fn if_doc(expression: &str) -> Value {
    inbound(
        "Deep_Expression",
        json!({
            "Check": {"id": "Check", "type": "If", "properties": {
                "conditions": [{"expression": expression, "nextNode": "Bye"}],
                "defaultNextNode": "Bye"}},
            "Bye": {"id": "Bye", "type": "Disconnect", "properties": {}}
        }),
        "Check",
    )
}

fn set(id: &str, var: &str, value: &str, next: &str) -> Value {
    json!({"id": id, "type": "Set",
           "properties": {"setVars": [{"key": var, "value": {"type": "string", "value": value}}]},
           "onComplete": {"nextNode": next}})
}

const EXPR_AT: &str = "/draft/nodes/Check/properties/conditions/0/expression";

/// Case 1: deeply nested or very long expressions were a stack overflow (SIGABRT).
#[tokio::test]
async fn case1_deep_expressions_are_refused_not_a_crash() {
    let mut h = start(&[], &[]);
    let n = 7100;
    for expr in [
        format!("{}true{}", "(".repeat(1570), ")".repeat(1570)),
        format!("{}true", "not ".repeat(n)),
        format!("{}1 == 1", "-".repeat(n)),
        format!("1{} == 1", "+1".repeat(n)),
        format!("{}{{x}}{} == 1", "Length(".repeat(500), ")".repeat(500)),
        // Within the length limit, still too deep.
        format!("{}true", "not ".repeat(100)),
        format!("1{} == 1", "+1".repeat(100)),
    ] {
        let a = h.post("/v1/validate", &if_doc(&expr)).await;
        assert_eq!(a.status, 200);
        assert_eq!(a.body["valid"], false);
        let f = a.body["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == "expression_syntax")
            .unwrap_or_else(|| panic!("{}", a.body))
            .clone();
        assert_eq!(f["pointer"], EXPR_AT);
        assert!(f["message"].as_str().unwrap().contains("limit"), "{f}");
        let a = h.post("/v1/templates", &if_doc(&expr)).await;
        problem(&a, 422, "expression_syntax", Some(EXPR_AT));
    }
    // A deep expression within the limits is stored, compiled, drawn and simulated.
    let ok = format!("{}true", "not ".repeat(60));
    assert_eq!(h.post("/v1/templates", &if_doc(&ok)).await.status, 201);
    let a = h
        .post("/v1/templates/Deep_Expression/compile", &json!({}))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let a = h
        .post("/v1/simulations", &json!({"template": "Deep_Expression"}))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let d = h
        .send(
            h.client
                .get(h.svc.url("/v1/templates/Deep_Expression/diagram")),
        )
        .await;
    assert_eq!(d.status, 200);
    h.check_alive("case 1 (deep expressions)").await;
}

fn doubling_loop() -> Value {
    inbound(
        "Doubling",
        json!({
            "Init": set("Init", "v", "x", "Double"),
            "Double": set("Double", "v", "{v}{v}x", "Double"),
        }),
        "Init",
    )
}

fn doubling_chain(n: usize) -> Value {
    let mut nodes = serde_json::Map::new();
    nodes.insert("Init".into(), set("Init", "v", "x", "D0"));
    for i in 0..n {
        let next = if i + 1 == n {
            "Bye".to_owned()
        } else {
            format!("D{}", i + 1)
        };
        nodes.insert(format!("D{i}"), set(&format!("D{i}"), "v", "{v}{v}", &next));
    }
    nodes.insert(
        "Bye".into(),
        json!({"id": "Bye", "type": "Disconnect", "properties": {}}),
    );
    inbound("Doubling_Chain", Value::Object(nodes), "Init")
}

/// Case 2: a simulation that doubles a string ate gigabytes; now it stops at
/// `max_value_bytes` (and the transcript at `max_transcript_bytes`).
#[tokio::test]
async fn case2_simulations_cannot_eat_memory() {
    let mut h = start(&[], &[]);
    assert_eq!(h.post("/v1/templates", &doubling_loop()).await.status, 201);
    for steps in [30, 40, 1000] {
        let a = h
            .post(
                "/v1/simulations",
                &json!({"template": "Doubling", "max_steps": steps}),
            )
            .await;
        let f = problem(&a, 422, "simulation_limit", Some("/draft/nodes/Double"));
        assert!(
            f["hint"].as_str().unwrap().contains("max_value_bytes"),
            "{f}"
        );
    }
    assert_eq!(
        h.post("/v1/templates", &doubling_chain(28)).await.status,
        201
    );
    let a = h
        .post("/v1/simulations", &json!({"template": "Doubling_Chain"}))
        .await;
    problem(&a, 422, "simulation_limit", None);
    // A transcript of many long lines stops at max_transcript_bytes.
    let big = "y".repeat(60_000);
    let talk = inbound(
        "Talk",
        json!({
            "Init": set("Init", "v", &big, "Say"),
            "Say": {"id": "Say", "type": "Say", "properties": {"sayText": "{v}"},
                    "onComplete": {"nextNode": "Say"}}
        }),
        "Init",
    );
    assert_eq!(h.post("/v1/templates", &talk).await.status, 201);
    let a = h
        .post(
            "/v1/simulations",
            &json!({"template": "Talk", "max_steps": 100000}),
        )
        .await;
    let f = problem(&a, 422, "simulation_limit", Some("/draft/nodes/Say"));
    assert!(f["hint"].as_str().unwrap().contains("max_transcript_bytes"));
    // max_steps past the setting is refused up front.
    let a = h
        .post(
            "/v1/simulations",
            &json!({"template": "Talk", "max_steps": 1_000_001}),
        )
        .await;
    problem(&a, 422, "invalid_request", Some("/max_steps"));
    h.check_alive("case 2 (simulation memory)").await;
}

/// The simulator stops itself at `request_work_ms`.
#[tokio::test]
async fn a_long_simulation_stops_at_the_work_deadline() {
    let mut h = start(&[], &[("FLOWSMITH_REQUEST_WORK_MS", "100")]);
    let spin = inbound(
        "Spin",
        json!({
            "Init": {"id": "Init", "type": "Set", "properties": {"setVars": [
                {"key": "n", "value": {"type": "integer", "value": "0"}}]},
                "onComplete": {"nextNode": "Inc"}},
            "Inc": {"id": "Inc", "type": "Set", "properties": {"setVars": [
                {"key": "n", "value": {"type": "integer", "expression": "{n} + 1"}}]},
                "onComplete": {"nextNode": "Inc"}}
        }),
        "Init",
    );
    assert_eq!(h.post("/v1/templates", &spin).await.status, 201);
    let a = h
        .post(
            "/v1/simulations",
            &json!({"template": "Spin", "max_steps": 1_000_000}),
        )
        .await;
    if a.status == 200 {
        // A machine fast enough to run a million steps in 100 ms proves nothing here.
        assert_eq!(a.body["outcome"]["kind"], "step_limit");
    } else {
        let f = problem(&a, 422, "simulation_limit", Some("/draft/nodes/Inc"));
        assert!(
            f["hint"].as_str().unwrap().contains("request_work_ms"),
            "{f}"
        );
        assert!(a.took < Duration::from_secs(2), "{:?}", a.took);
    }
    h.check_alive("work deadline").await;
}

/// Case 4: YAML aliases multiplied a 291 KB body into a 500 MB template.
#[tokio::test]
async fn case4_yaml_alias_expansion_is_bounded() {
    let mut h = start(&[], &[]);
    let mut yaml = String::from("name: Alias_Bomb\ntype: inbound\nparameters:\n");
    yaml.push_str(&format!(
        "  p0: {{type: string, default: &big \"{}\"}}\n",
        "x".repeat(100_000)
    ));
    for i in 1..5000 {
        yaml.push_str(&format!("  p{i}: {{type: string, default: *big}}\n"));
    }
    yaml.push_str(
        "draft:\n  startNode: Bye\n  nodes:\n    Bye: {id: Bye, type: Disconnect, properties: {}}\n",
    );
    assert!(yaml.len() < 300_000, "{}", yaml.len());
    for path in ["/v1/templates", "/v1/validate"] {
        let a = h
            .post_raw(path, "application/yaml", yaml.clone().into_bytes())
            .await;
        let f = problem(&a, 422, "document_too_large", None);
        assert!(f["pointer"].as_str().unwrap().starts_with("/parameters/p"));
        assert!(
            f["message"]
                .as_str()
                .unwrap()
                .contains("max_document_bytes")
        );
    }
    // Aliases within the limit still work.
    let small = "name: Alias_Ok\ntype: inbound\nparameters:\n  a: {type: string, default: &d hi}\n  b: {type: string, default: *d}\ndraft:\n  startNode: Bye\n  nodes:\n    Bye: {id: Bye, type: Disconnect, properties: {}}\n";
    let a = h
        .post_raw("/v1/validate", "application/yaml", small.into())
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    h.check_alive("case 4 (YAML aliases)").await;
}

/// Case 5: 100k nested YAML levels took 24-35 s on an async worker; now a prompt 422, and
/// the service keeps answering meanwhile.
#[tokio::test]
async fn case5_deep_nesting_is_refused_promptly() {
    let mut h = start(&[], &[]);
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("application/yaml", "{a: ".repeat(100_000).into_bytes()),
        ("application/yaml", "[".repeat(100_000).into_bytes()),
        (
            "application/yaml",
            format!("{}x", "- ".repeat(100_000)).into_bytes(),
        ),
        ("application/json", "[".repeat(100_000).into_bytes()),
        (
            "application/json",
            format!("{{\"name\":{}", "{\"a\":".repeat(100_000)).into_bytes(),
        ),
    ];
    let t = Instant::now();
    let sends = bodies
        .iter()
        .map(|(ct, b)| h.post_raw("/v1/templates", ct, b.clone()));
    let health = async {
        // While the hostile bodies are read, plain requests are still answered.
        let a = h.send(h.client.get(h.svc.url("/healthz"))).await;
        assert_eq!(a.status, 200);
        assert!(a.took < Duration::from_secs(2), "{:?}", a.took);
    };
    let (answers, ()) = tokio::join!(futures::future::join_all(sends), health);
    for a in &answers {
        let f = problem(a, 422, "document_too_deep", None);
        assert!(
            f["message"]
                .as_str()
                .unwrap()
                .contains("max_document_depth")
        );
    }
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    // JSON's refusal points at the place.
    assert_eq!(
        answers[4].body["errors"][0]["pointer"]
            .as_str()
            .unwrap()
            .matches("/a")
            .count(),
        63
    );
    // Typed bodies too: parameters nested past the limit.
    let mut deep = json!(1);
    for _ in 0..100 {
        deep = json!({ "a": deep });
    }
    let a = h
        .post("/v1/simulations", &json!({"template": "X", "params": deep}))
        .await;
    problem(&a, 422, "document_too_deep", None);
    h.check_alive("case 5 (deep nesting)").await;
}

/// Case 7: the smaller ones.
#[tokio::test]
async fn case7_content_length_over_the_limit_is_refused_at_once() {
    let mut h = start(&[], &[]);
    let t = Instant::now();
    let mut s = TcpStream::connect(&h.svc.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(
        b"POST /v1/templates HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n",
    )
    .unwrap();
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    h.check_alive("case 7 (Content-Length)").await;
}

#[tokio::test]
async fn case7_names_and_texts() {
    let mut h = start(&[], &[]);
    let bye = json!({"Bye": {"id": "Bye", "type": "Disconnect", "properties": {}}});
    // A 1 MB name is refused without being echoed back.
    let huge = "n".repeat(1_000_000);
    let a = h
        .post("/v1/templates", &inbound(&huge, bye.clone(), "Bye"))
        .await;
    problem(&a, 422, "invalid_name", Some("/name"));
    assert!(a.bytes < 8 * 1024, "{} bytes", a.bytes);
    for name in [
        ".",
        "..",
        "CON",
        "nul.txt",
        "Sales\u{202E}gnp",
        "a\u{2066}b",
    ] {
        let a = h
            .post("/v1/templates", &inbound(name, bye.clone(), "Bye"))
            .await;
        problem(&a, 422, "invalid_name", Some("/name"));
    }
    // NUL and other control characters in any text.
    let say = json!({
        "Hi": {"id": "Hi", "type": "Say", "properties": {"sayText": "a\u{0}b"},
               "onComplete": {"nextNode": "Bye"}},
        "Bye": {"id": "Bye", "type": "Disconnect", "properties": {}}
    });
    let a = h
        .post("/v1/templates", &inbound("Nul_Text", say, "Hi"))
        .await;
    problem(
        &a,
        422,
        "control_character",
        Some("/draft/nodes/Hi/properties/sayText"),
    );
    let a = h
        .post_raw(
            "/v1/validate",
            "application/yaml",
            b"name: \"a\\x07b\"\ntype: inbound\n".to_vec(),
        )
        .await;
    problem(&a, 422, "control_character", Some("/name"));
    // Duplicate keys in a template: refused like in typed bodies, with a pointer.
    let text = r#"{"name":"Dup","type":"inbound","draft":{"startNode":"Bye","nodes":{
        "Bye":{"id":"Bye","type":"Disconnect","properties":{}},
        "Bye":{"id":"Bye","type":"Disconnect","properties":{}}}}}"#;
    let a = h
        .post_raw("/v1/templates", "application/json", text.into())
        .await;
    problem(&a, 422, "duplicate_key", Some("/draft/nodes/Bye"));
    // Integers of 2^64 and more read the same in JSON and YAML.
    let gather = |digits: &str| {
        format!(
            r#"{{"name":"Big","type":"inbound","draft":{{"startNode":"G","nodes":{{
            "G":{{"id":"G","type":"Gather","properties":{{"promptText":"x","maxDigits":{digits}}},
                 "onComplete":{{"nextNode":"Bye"}},"onError":{{"nextNode":"Bye"}}}},
            "Bye":{{"id":"Bye","type":"Disconnect","properties":{{}}}}}}}}}}"#
        )
    };
    for digits in ["18446744073709551616", "99999999999999999999999"] {
        let j = h
            .post_raw("/v1/validate", "application/json", gather(digits).into())
            .await;
        // JSON is YAML: the same text read as YAML.
        let y = h
            .post_raw("/v1/validate", "application/yaml", gather(digits).into())
            .await;
        assert_eq!(j.status, 200, "{}", j.body);
        assert_eq!(j.body, y.body);
        assert_eq!(j.body["valid"], false);
    }
    // A mistake in each of 5,000 nodes: the answer lists the first findings and a count.
    let mut nodes = serde_json::Map::new();
    for i in 0..5000 {
        nodes.insert(
            format!("N{i}"),
            json!({"id": format!("N{i}"), "type": "Disconnect", "properties": {"bogus": 1}}),
        );
    }
    let a = h
        .post("/v1/validate", &inbound("Many", Value::Object(nodes), "N0"))
        .await;
    assert_eq!(a.status, 200);
    let findings = a.body["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 201);
    assert_eq!(findings[200]["code"], "more_findings");
    h.check_alive("case 7 (names and texts)").await;
}

fn example(name: &str) -> Value {
    let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .join("examples")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn case7_unknown_parameters_and_long_digits() {
    let mut h = start(&["--sandbox"], &[]);
    for f in ["language_select.json", "support_line.json"] {
        let a = h.post("/v1/templates", &example(f)).await;
        assert_eq!(a.status, 201, "{}", a.body);
    }
    let hint = |f: &Value| f["hint"].as_str().unwrap_or("").to_owned();
    let a = h
        .post(
            "/v1/templates/Support_Line/compile",
            &json!({"params": {"brnd": "Acme"}}),
        )
        .await;
    let f = problem(&a, 422, "unknown_parameter", Some("/params/brnd"));
    assert_eq!(hint(&f), "did you mean 'brand'?");
    let a = h
        .post(
            "/v1/simulations",
            &json!({"template": "Support_Line", "params": {"suport_queue": "Q"}}),
        )
        .await;
    let f = problem(&a, 422, "unknown_parameter", Some("/params/suport_queue"));
    assert_eq!(hint(&f), "did you mean 'support_queue'?");
    let a = h
        .post(
            "/v1/jobs",
            &json!({"target": "sandbox", "dry_run": true,
                    "flows": [{"template": "Support_Line", "params": {"billing_qeue": "B"}}]}),
        )
        .await;
    let f = problem(
        &a,
        422,
        "unknown_parameter",
        Some("/flows/0/params/billing_qeue"),
    );
    assert_eq!(hint(&f), "did you mean 'billing_queue'?");
    // Known parameters still pass.
    let a = h
        .post(
            "/v1/templates/Support_Line/compile",
            &json!({"params": {"brand": "Acme"}}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    // Digits longer than any Gather takes.
    let a = h
        .post(
            "/v1/simulations",
            &json!({"template": "Support_Line", "inputs": [{"digits": "1".repeat(33)}]}),
        )
        .await;
    problem(&a, 422, "invalid_input", Some("/inputs/0/digits"));
    // A flow name override is checked like a template name.
    let a = h
        .post(
            "/v1/jobs",
            &json!({"target": "sandbox", "dry_run": true,
                    "flows": [{"template": "Support_Line", "name": ".."}]}),
        )
        .await;
    problem(&a, 422, "invalid_name", Some("/flows/0/name"));
    h.check_alive("case 7 (parameters)").await;
}

mod large_inputs {
    //! Property tests with large sizes over the pure pipeline: any expression text or
    //! nesting is parsed, type-checked, compiled, simulated and drawn without a panic or a
    //! stack overflow (the test threads have the same 2 MiB stacks as the service's).

    use std::collections::BTreeMap;

    use flowsmith::compile::{self, CompileContext};
    use flowsmith::diagram::{self, DiagramFormat};
    use flowsmith::simulate::{self, SimLimits};
    use flowsmith::template::{self, expr};
    use flowsmith::validate::{self, NoModules};
    use proptest::prelude::*;

    const TOKENS: &[&str] = &[
        "(",
        ")",
        "not ",
        "-",
        "+",
        " + ",
        " == ",
        " < ",
        " and ",
        " or ",
        "1",
        "{n}",
        "{s}",
        "'x'",
        "true",
        "Length(",
        "ToInt(",
        "ToString(",
        ",",
        "{",
        "}",
        "'",
        "\"",
    ];

    fn arb_expression() -> impl Strategy<Value = String> {
        let tokens =
            prop::collection::vec(prop::sample::select(TOKENS), 0..3000).prop_map(|t| t.concat());
        let nested = (
            prop::sample::select(&[("(", ")"), ("not ", ""), ("-", ""), ("ToInt(", ")")][..]),
            0usize..5000,
        )
            .prop_map(|((open, close), n)| format!("{}1{}", open.repeat(n), close.repeat(n)));
        let chain = (0usize..5000).prop_map(|n| format!("1{}", " + 1".repeat(n)));
        prop_oneof![tokens, nested, chain]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        #[test]
        fn any_expression_goes_through_the_pipeline(e in arb_expression()) {
            if let Ok(parsed) = expr::parse(&e) {
                prop_assert!(parsed.depth() <= expr::MAX_EXPR_DEPTH);
                prop_assert!(e.len() <= expr::MAX_EXPR_LEN);
            }
            let doc = serde_json::json!({"name": "P", "type": "inbound", "draft": {
                "startNode": "Init", "nodes": {
                "Init": {"id": "Init", "type": "Set", "properties": {"setVars": [
                    {"key": "n", "value": {"type": "integer", "value": "1"}},
                    {"key": "s", "value": {"type": "string", "value": "x"}},
                    {"key": "r", "value": {"type": "integer", "expression": e.clone()}}]},
                    "onComplete": {"nextNode": "Check"}, "onError": {"nextNode": "Bye"}},
                "Check": {"id": "Check", "type": "If", "properties": {
                    "conditions": [{"expression": e, "nextNode": "Bye"}],
                    "defaultNextNode": "Bye"}},
                "Bye": {"id": "Bye", "type": "Disconnect", "properties": {}}}}});
            let report = validate::validate(&doc, &NoModules);
            if let Some(flow) = report.flow.filter(|_| !report.findings.iter().any(|f| f.is_error())) {
                let modules = BTreeMap::new();
                let _ = compile::compile(&flow, &CompileContext {
                    flow_name: "P",
                    as_type: flow.flow_type,
                    modules: &modules,
                    queue_names: &BTreeMap::new(),
                });
                let _ = simulate::simulate_limited(&flow, &BTreeMap::new(), &[], &SimLimits::new(100));
                let _ = diagram::render(&flow, &BTreeMap::new(), DiagramFormat::Mermaid);
            }
        }

        #[test]
        fn any_nesting_of_a_body_is_refused_or_read(
            depth in 0usize..20_000,
            open in prop::sample::select(&["[", "{\"a\":", "{a: ", "- "][..]),
            yaml in any::<bool>(),
        ) {
            let text = format!("{{\"x\":{}", open.repeat(depth));
            let r = template::parse_document(text.as_bytes(), yaml);
            // Always an error (the text is never closed), never a panic or an overflow.
            prop_assert!(r.is_err());
        }
    }
}

/// Past `max_requests_in_flight` a `/v1` request is refused at once (503 with
/// `Retry-After`) instead of waiting in memory; `/healthz` is not limited; a request that
/// ends gives its place back.
/// A simulation of a million steps: work that holds its place for a while (until it ends or
/// reaches `request_work_ms`).
fn spin() -> Value {
    inbound(
        "Spin",
        json!({
            "Init": {"id": "Init", "type": "Set", "properties": {"setVars": [
                {"key": "n", "value": {"type": "integer", "value": "0"}}]},
                "onComplete": {"nextNode": "Inc"}},
            "Inc": {"id": "Inc", "type": "Set", "properties": {"setVars": [
                {"key": "n", "value": {"type": "integer", "expression": "{n} + 1"}}]},
                "onComplete": {"nextNode": "Inc"}}
        }),
        "Init",
    )
}

#[tokio::test]
async fn requests_past_the_in_flight_limit_are_refused_at_once() {
    let mut h = start(&[], &[("FLOWSMITH_MAX_REQUESTS_IN_FLIGHT", "1")]);
    assert_eq!(h.post("/v1/templates", &spin()).await.status, 201);
    // A long simulation holds the one place while it runs. Until the service has taken it,
    // others still pass: send until one is refused, starting the simulation again if it
    // ended (or was itself refused) first.
    let hold = |h: &Hostile| {
        let req = h
            .client
            .post(h.svc.url("/v1/simulations"))
            .json(&json!({"template": "Spin", "max_steps": 1_000_000}));
        tokio::spawn(async move { req.send().await.map(|r| r.status().as_u16()) })
    };
    let mut held = hold(&h);
    let deadline = Instant::now() + Duration::from_secs(20);
    let shed = loop {
        let a = h.send(h.client.get(h.svc.url("/v1/templates"))).await;
        if a.status == 503 {
            break a;
        }
        assert_eq!(a.status, 200, "{}", a.body);
        if held.is_finished() {
            held = hold(&h);
        }
        assert!(Instant::now() < deadline, "never refused");
    };
    assert_eq!(shed.body["type"], "/problems/overloaded", "{}", shed.body);
    let detail = shed.body["detail"].as_str().unwrap();
    assert!(detail.contains("max_requests_in_flight"), "{detail}");
    let r = h
        .client
        .get(h.svc.url("/v1/templates"))
        .send()
        .await
        .unwrap();
    assert!(r.status() == 503 || r.status() == 200, "{}", r.status());
    if r.status() == 503 {
        assert_eq!(r.headers()["retry-after"], "1");
    }
    h.check_alive("in-flight limit (held)").await;

    // The simulation ends and frees its place.
    let status = held.await.unwrap().unwrap();
    assert!(status == 200 || status == 422 || status == 503, "{status}");
    let a = h.send(h.client.get(h.svc.url("/v1/templates"))).await;
    assert_eq!(a.status, 200, "{}", a.body);
}
