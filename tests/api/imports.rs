//! `POST /v1/imports`: Archy YAML in, template documents out; stored only when asked, and
//! nothing stored when a file is refused.

use serde_json::{Value, json};

use crate::helpers::*;

fn corpus(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .join("../shared/reference/archy-corpus")
            .join(name),
    )
    .unwrap()
}

const MODULE: &str = "darbyje-advanced-session__Terraform_CM_v2-0.yaml";
const CACHE: &str = "developer-center-blog__CacheExampleFlow.yaml";

#[tokio::test]
async fn one_yaml_file_imports_without_storing() {
    let app = spawn_app().await;
    let r = app
        .client
        .post(app.url("/v1/imports"))
        .header("content-type", "application/yaml")
        .body(corpus(CACHE))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let t = &body["templates"][0];
    assert_eq!(t["name"], "Cache Example");
    assert_eq!(t["type"], "inbound");
    assert_eq!(t["report"]["actions"], 18, "{t}");
    assert!(t["document"]["draft"]["nodes"].as_object().unwrap().len() >= 18);
    // Not stored.
    assert_eq!(app.get("/v1/templates/Cache%20Example").await.status(), 404);
}

#[tokio::test]
async fn json_files_are_stored_when_asked_and_validate_as_templates() {
    let app = spawn_app().await;
    let r = app
        .post_json(
            "/v1/imports",
            &json!({"files": [{"name": MODULE, "yaml": corpus(MODULE)}], "store": true}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let stored = app.get("/v1/templates/Terraform%20CM").await;
    assert_eq!(stored.status(), 200);
    let row: Value = stored.json().await.unwrap();
    assert_eq!(row["type"], "module");
    // The stored template compiles back to Archy.
    let r = app
        .post_json("/v1/templates/Terraform%20CM/compile", &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let c: Value = r.json().await.unwrap();
    assert!(
        c["yaml"]
            .as_str()
            .unwrap()
            .contains("Common.Input == \"xx\""),
        "{c}"
    );
}

#[tokio::test]
async fn hostile_files_are_refused_with_a_place_and_nothing_is_stored() {
    let app = spawn_app().await;
    let jump = "inboundCall:\n  name: J\n  startUpRef: /inboundCall/tasks/task[A]\n  tasks:\n    - task:\n        name: A\n        refId: A\n        actions:\n          - jumpToTask:\n              name: Go\n              targetTaskRef: /inboundCall/tasks/task[Nowhere]\n";
    let cases: Vec<(&str, String, &str)> = vec![
        ("not yaml", "inboundCall: [unclosed".into(), "not_yaml"),
        ("not a flow", "- 1\n- 2\n".into(), "not_a_flow"),
        (
            "unknown root",
            "fooFlow:\n  name: x\n".into(),
            "unknown_root",
        ),
        ("jump to nowhere", jump.into(), "unknown_task"),
        (
            "placeholder",
            corpus("darbyje-advanced-session__Terraform_Inbound_Flow_v1-0.yaml"),
            "unfilled_placeholder",
        ),
        (
            "deep",
            format!(
                "inboundCall:\n  name: {}1{}\n",
                "[".repeat(10_000),
                "]".repeat(10_000)
            ),
            "document_too_deep",
        ),
    ];
    for (what, yaml, code) in cases {
        let r = app
            .post_json(
                "/v1/imports",
                &json!({"files": [{"name": "f.yaml", "yaml": yaml}, {"name": MODULE, "yaml": corpus(MODULE)}], "store": true}),
            )
            .await;
        let p = assert_problem(r, 422).await;
        let errors = p["errors"].as_array().unwrap();
        assert!(errors.iter().any(|e| e["code"] == code), "{what}: {p}");
    }
    // A caller without its module.
    let caller = corpus("darbyje-advanced-session__Terraform_Inbound_Flow_v1-0.yaml")
        .replace("{{flow_name}}", "Caller")
        .replace("{{division}}", "Home");
    let r = app
        .post_json(
            "/v1/imports",
            &json!({"files": [{"name": "caller.yaml", "yaml": caller}], "store": true}),
        )
        .await;
    let p = assert_problem(r, 422).await;
    assert!(
        p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["code"] == "module_not_given"),
        "{p}"
    );
    // 50 MB: over the body limit.
    let big = "a".repeat(50 * 1024 * 1024);
    let r = app
        .client
        .post(app.url("/v1/imports"))
        .header("content-type", "application/yaml")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // Nothing was stored by any of them (the module came with every hostile file).
    let list: Value = app.get("/v1/templates").await.json().await.unwrap();
    assert_eq!(list["items"].as_array().map_or(0, Vec::len), 0, "{list}");
}
