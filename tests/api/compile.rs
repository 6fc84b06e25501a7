//! Compile, diagram and simulate stored templates over HTTP.

use serde_json::{Value, json};

use crate::helpers::*;

async fn store_seed(app: &TestApp) {
    assert_eq!(app.store(&fixture("seed_shared_module.json")).await.0, 201);
    assert_eq!(app.store(&fixture("seed_inbound_flow.json")).await.0, 201);
}

async fn store_examples(app: &TestApp) {
    for f in ["language_select.json", "support_line.json"] {
        let doc = example(f);
        let (s, body) = app.store(&doc).await;
        assert_eq!(s, 201, "{f}: {body}");
    }
}

async fn simulate(app: &TestApp, body: Value) -> Value {
    let r = app.post_json("/v1/simulations", &body).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

fn texts(sim: &Value) -> Vec<String> {
    sim["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["text"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn seed_composition_simulates_each_path() {
    let app = spawn_app().await;
    store_seed(&app).await;
    let params = json!({"queue_id": "q-support"});

    let sim = simulate(
        &app,
        json!({"template": "Inbound_Flow_A", "params": params, "inputs": [{"digits": "1"}]}),
    )
    .await;
    assert_eq!(sim["outcome"]["kind"], "routed", "{sim}");
    assert_eq!(sim["outcome"]["queue"], "q-support");
    let t = texts(&sim);
    assert!(
        t.contains(&"Welcome. Press 1 for English.".to_owned()),
        "{t:?}"
    );
    assert!(t.contains(&"Press 1.".to_owned()), "{t:?}");
    assert_eq!(
        sim["transcript"][0]["flow"],
        "Shared_Module_Language_Select"
    );

    let sim = simulate(
        &app,
        json!({"template": "Inbound_Flow_A", "params": params, "inputs": [{"digits": "2"}]}),
    )
    .await;
    assert_eq!(sim["outcome"]["kind"], "disconnected", "{sim}");
    assert_eq!(texts(&sim).last().unwrap(), "Thank you.");

    let sim = simulate(
        &app,
        json!({"template": "Inbound_Flow_A", "params": params, "inputs": []}),
    )
    .await;
    assert_eq!(sim["outcome"]["kind"], "disconnected", "{sim}");
    let nodes: Vec<&str> = sim["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["node"].as_str().unwrap())
        .collect();
    assert!(nodes.contains(&"GatherInput"), "{nodes:?}");
    assert_eq!(texts(&sim).last().unwrap(), "Thank you.");

    let sim = simulate(
        &app,
        json!({"template": "Inbound_Flow_A", "params": params, "inputs": [{"timeout": true}]}),
    )
    .await;
    assert_eq!(sim["outcome"]["kind"], "disconnected", "{sim}");
}

#[tokio::test]
async fn project_examples_simulate_each_path() {
    let app = spawn_app().await;
    store_examples(&app).await;

    let sim = simulate(&app, json!({"template": "Support_Line", "params": {"support_queue": "Tech"}, "inputs": [{"digits": "1"}, {"digits": "2"}]})).await;
    assert_eq!(sim["outcome"]["kind"], "routed", "{sim}");
    assert_eq!(sim["outcome"]["queue"], "Tech");
    assert_eq!(sim["variables"]["caller_language"], "en-us", "{sim}");
    assert!(texts(&sim)[0].starts_with("Welcome to Acme."), "{sim}");

    let sim = simulate(
        &app,
        json!({"template": "Support_Line", "inputs": [{"digits": "2"}, {"digits": "1"}]}),
    )
    .await;
    assert_eq!(sim["outcome"]["kind"], "routed", "{sim}");
    assert_eq!(sim["outcome"]["queue"], "General");
    assert!(
        texts(&sim).iter().any(|t| t.starts_with("Gracias")),
        "{sim}"
    );

    let sim = simulate(&app, json!({"template": "Support_Line", "params": {"brand": "Globex"}, "inputs": [{"timeout": true}, {"timeout": true}]})).await;
    assert_eq!(sim["outcome"]["kind"], "disconnected", "{sim}");
    assert_eq!(
        texts(&sim).last().unwrap(),
        "Thank you for calling Globex. Goodbye."
    );
}

#[tokio::test]
async fn a_module_that_is_not_stored_is_named_at_store_and_in_simulations() {
    let app = spawn_app().await;
    store_examples(&app).await;
    let mut doc = example("support_line.json");
    doc["name"] = json!("Typo_Line");
    doc["draft"]["nodes"]["ChooseLanguage"]["properties"]["flowName"] = json!("Language_Selekt");
    let (status, stored) = app.store(&doc).await;
    assert_eq!(status, 201, "{stored}");
    let warning = stored["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["code"] == "module_not_stored")
        .unwrap_or_else(|| panic!("{stored}"))
        .clone();
    assert_eq!(
        warning["pointer"],
        "/draft/nodes/ChooseLanguage/properties/flowName"
    );
    assert_eq!(warning["hint"], "did you mean 'Language_Select'?");

    let r = app.post_json("/v1/validate", &doc).await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["valid"], true, "{v}");
    assert!(v["findings"].as_array().unwrap().contains(&warning), "{v}");

    let sim = simulate(&app, json!({"template": "Typo_Line"})).await;
    assert_eq!(sim["outcome"]["kind"], "error", "{sim}");
    assert_eq!(
        sim["outcome"]["message"], "module \"Language_Selekt\" is not stored",
        "{sim}"
    );
    assert_eq!(sim["warnings"], json!([warning]), "{sim}");
}

#[tokio::test]
async fn simulation_bad_input_is_422() {
    let app = spawn_app().await;
    store_seed(&app).await;
    let r = app
        .post_json("/v1/simulations", &json!({"template": "Inbound_Flow_A", "params": {"queue_id": "q"}, "inputs": [{"digits": "x"}]}))
        .await;
    let p = assert_problem(r, 422).await;
    assert_eq!(p["errors"][0]["pointer"], "/inputs/0");
    let r = app
        .post_json(
            "/v1/simulations",
            &json!({"template": "Inbound_Flow_A", "inputs": []}),
        )
        .await;
    let p = assert_problem(r, 422).await;
    assert!(p.to_string().contains("queue_id"), "{p}");
    let r = app
        .post_json(
            "/v1/simulations",
            &json!({"template": "Nope", "inputs": []}),
        )
        .await;
    assert_problem(r, 404).await;
    let r = app
        .post_json(
            "/v1/simulations",
            &json!({"template": "Inbound_Flow_A", "params": {"queue_id": "q"}, "max_steps": 0}),
        )
        .await;
    assert_problem(r, 422).await;
}

#[tokio::test]
async fn compile_answers_json_or_the_yaml_file() {
    let app = spawn_app().await;
    store_seed(&app).await;

    let r = app
        .post_json(
            "/v1/templates/Inbound_Flow_A/compile",
            &json!({"params": {"queue_id": "q-1"}, "flow_name": "Inbound_Flow_B"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let c: Value = r.json().await.unwrap();
    assert_eq!(c["flow_type"], "inbound");
    assert_eq!(c["content_hash"].as_str().unwrap().len(), 64);
    let yaml: Value = serde_yaml_ng::from_str(c["yaml"].as_str().unwrap()).unwrap();
    assert_eq!(yaml["inboundCall"]["name"], "Inbound_Flow_B");
    assert!(
        c["yaml"]
            .as_str()
            .unwrap()
            .contains("Shared_Module_Language_Select")
    );

    // The seed module says "type": "inbound", but Inbound_Flow_A calls it: compiled as the
    // common module a job would deploy, with a warning saying why.
    let r = app
        .post_json(
            "/v1/templates/Shared_Module_Language_Select/compile",
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["flow_type"], "module");
    let text = m["yaml"].as_str().unwrap();
    assert!(text.starts_with("commonModule:\n"), "{text}");
    assert!(text.contains("  startUpTaskActions:\n"), "{text}");
    assert!(
        m["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["code"] == "inbound_as_module"
                && w["message"].as_str().unwrap().contains("Inbound_Flow_A")),
        "{m}"
    );
    // Asked for explicitly, it compiles as an inbound flow.
    let r = app
        .post_json(
            "/v1/templates/Shared_Module_Language_Select/compile",
            &json!({"type": "inbound"}),
        )
        .await;
    let i: Value = r.json().await.unwrap();
    assert_eq!(i["flow_type"], "inbound", "{i}");

    // The module compiles as a common module when asked.
    let r = app
        .client
        .post(app.url("/v1/templates/Shared_Module_Language_Select/compile"))
        .header("accept", "application/yaml")
        .json(&json!({"type": "module"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/yaml");
    let text = r.text().await.unwrap();
    let yaml: Value = serde_yaml_ng::from_str(&text).unwrap();
    assert!(yaml.get("commonModule").is_some(), "{text}");

    // Same input, same bytes.
    let again: Value = app
        .post_json(
            "/v1/templates/Inbound_Flow_A/compile",
            &json!({"params": {"queue_id": "q-1"}, "flow_name": "Inbound_Flow_B"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["content_hash"], c["content_hash"]);
}

#[tokio::test]
async fn compile_parameter_errors_name_the_parameter() {
    let app = spawn_app().await;
    store_examples(&app).await;
    let mut doc = example("support_line.json");
    doc["name"] = json!("Typed_Line");
    doc["parameters"]["priority"] = json!({"type": "integer", "required": true});
    doc["draft"]["nodes"]["ToBilling"]["properties"]["priority"] = json!("{{priority}}");
    assert_eq!(app.store(&doc).await.0, 201);

    let r = app
        .post_json("/v1/templates/Typed_Line/compile", &json!({}))
        .await;
    let p = assert_problem(r, 422).await;
    // One finding, at the place of use (no second one for the placeholder left in place).
    let errors: Vec<_> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["severity"] == "error")
        .collect();
    assert_eq!(errors.len(), 1, "{p}");
    assert_eq!(errors[0]["code"], "missing_parameter", "{p}");
    assert_eq!(
        errors[0]["pointer"], "/draft/nodes/ToBilling/properties/priority",
        "{p}"
    );
    let r = app
        .post_json(
            "/v1/templates/Typed_Line/compile",
            &json!({"params": {"priority": "high"}}),
        )
        .await;
    let p = assert_problem(r, 422).await;
    assert!(
        p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["code"] == "parameter_type"),
        "{p}"
    );
    let r = app
        .post_json(
            "/v1/templates/Typed_Line/compile",
            &json!({"params": {"priority": 5}}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = app
        .post_json("/v1/templates/Typed_Line/compile", &json!({"versoin": 1}))
        .await;
    let p = assert_problem(r, 422).await;
    assert_eq!(p["errors"][0]["pointer"], "/versoin", "{p}");
}

#[tokio::test]
async fn diagrams_draw_the_module_call() {
    let app = spawn_app().await;
    store_examples(&app).await;
    let r = app.get("/v1/templates/Support_Line/diagram").await;
    assert_eq!(r.status(), 200);
    let m = r.text().await.unwrap();
    assert!(m.starts_with("flowchart") || m.contains("flowchart"), "{m}");
    assert!(m.contains("Language_Select"), "{m}");
    assert!(m.contains("AskLanguage"), "module nodes drawn: {m}");
    let d = app
        .get("/v1/templates/Support_Line/diagram?format=dot")
        .await
        .text()
        .await
        .unwrap();
    assert!(d.starts_with("digraph"), "{d}");
    let r = app
        .get("/v1/templates/Support_Line/diagram?format=png")
        .await;
    assert!(r.status().is_client_error());
}

/// A data action, participant data and a table look-up, simulated against `org`.
#[tokio::test]
async fn simulation_takes_org_objects_and_reports_participant_data() {
    let app = spawn_app().await;
    let doc = json!({
        "name": "Org_Line", "type": "inbound",
        "draft": {"startNode": "Verify", "nodes": {
            "Verify": {"id": "Verify", "type": "DataAction",
                "properties": {"integration": "Customer DB", "action": "Verify",
                    "outputs": {"customerId": "customer_id"}},
                "onComplete": {"nextNode": "Mark"}, "onError": {"nextNode": "Box"}},
            "Mark": {"id": "Mark", "type": "SetParticipantData",
                "properties": {"attributes": {"customer": "{customer_id}"}},
                "onComplete": {"nextNode": "Agent"}},
            "Agent": {"id": "Agent", "type": "Route", "properties": {"queueName": "Support"}},
            "Box": {"id": "Box", "type": "Voicemail", "properties": {"queue": "Support"}}
        }}
    });
    let (s, body) = app.store(&doc).await;
    assert_eq!(s, 201, "{body}");
    let org = |answer: Value| json!({"data_actions": {"Customer DB/Verify": [answer]}});

    let sim = simulate(
        &app,
        json!({"template": "Org_Line", "org": org(json!({"outputs": {"customerId": "42"}}))}),
    )
    .await;
    assert_eq!(sim["outcome"]["kind"], "routed", "{sim}");
    assert_eq!(sim["participant_data"]["customer"], "42", "{sim}");

    let sim = simulate(
        &app,
        json!({"template": "Org_Line", "org": org(json!({"error": "503"}))}),
    )
    .await;
    assert_eq!(sim["outcome"]["kind"], "voicemail", "{sim}");
    assert_eq!(sim["outcome"]["queue"], "Support");

    let sim = simulate(&app, json!({"template": "Org_Line"})).await;
    assert_eq!(sim["outcome"]["kind"], "error", "{sim}");
    assert!(
        sim["outcome"]["message"]
            .as_str()
            .unwrap()
            .contains("Customer DB/Verify"),
        "{sim}"
    );

    let r = app
        .post_json(
            "/v1/simulations",
            &json!({"template": "Org_Line", "org": {"tables": {}}}),
        )
        .await;
    assert!(r.status().is_client_error(), "{}", r.status());
}

/// A template whose name and texts carry markup: `&`, `'`, and a Say text with `<script>`
/// and quotes (names may not hold `<`, `>` or `"`).
pub fn hostile_template() -> Value {
    json!({
        "name": "Tom & Jerry's Line", "type": "inbound",
        "draft": {"startNode": "Hello", "nodes": {
            "Hello": {"id": "Hello", "type": "Say",
                "properties": {"sayText": "<script>alert(\"x\")</script> & 'q' </svg>"},
                "onComplete": {"nextNode": "Bye"}},
            "Bye": {"id": "Bye", "type": "Disconnect"}
        }}
    })
}

#[tokio::test]
async fn svg_diagrams_parse_name_every_node_and_escape_what_they_show() {
    let app = spawn_app().await;
    store_examples(&app).await;
    let (s, body) = app.store(&hostile_template()).await;
    assert_eq!(s, 201, "{body}");
    let r = app
        .get("/v1/templates/Support_Line/diagram?format=svg")
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    let svg = r.text().await.unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let titles: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("title"))
        .filter_map(|n| n.text())
        .collect();
    for f in ["support_line.json", "language_select.json"] {
        let d = example(f);
        for id in d["draft"]["nodes"].as_object().unwrap().keys() {
            assert!(
                titles
                    .iter()
                    .any(|t| t.lines().next().unwrap().ends_with(&format!(": {id}"))),
                "{f} node {id} not named in {titles:?}"
            );
        }
    }
    // The Flow node links to the module's own SVG diagram.
    let link = doc
        .descendants()
        .find(|n| n.has_tag_name("a"))
        .and_then(|a| a.attribute("href"))
        .unwrap();
    assert_eq!(link, "/v1/templates/Language_Select/diagram?format=svg");
    assert_eq!(app.get(link).await.status(), 200);

    // Accept: image/svg+xml asks for SVG; the hostile texts come back as text, not markup.
    let r = app
        .client
        .get(app.url("/v1/templates/Tom%20&%20Jerry's%20Line/diagram"))
        .header("accept", "image/svg+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let svg = r.text().await.unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert!(
        !doc.descendants().any(|n| n.has_tag_name("script")),
        "{svg}"
    );
    assert!(
        doc.descendants()
            .any(|n| n.text() == Some("<script>alert(\"x\")</script> & 'q' </svg>")),
        "{svg}"
    );
    assert!(
        doc.descendants()
            .any(|n| n.text() == Some("Tom & Jerry's Line"))
    );
}
