//! Every kind of bad input answers a 4xx problem document, never a 500.

use serde_json::{Value, json};

use crate::helpers::*;

async fn post_raw(
    app: &TestApp,
    path: &str,
    ct: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = spawn_app().await;
    for body in ["{", "{\"name\": }", "", "nul", "{} trailing"] {
        let r = post_raw(&app, "/v1/templates", "application/json", body).await;
        assert_problem(r, 400).await;
    }
    let r = post_raw(&app, "/v1/templates", "application/yaml", "a: [").await;
    assert_problem(r, 400).await;
    // YAML sent as JSON (curl's -d without a content type), and a tab in YAML, say so.
    let yaml = "name: Support_Line\ntype: inboundcall\n";
    let r = post_raw(&app, "/v1/templates", "application/json", yaml).await;
    let p = assert_problem(r, 400).await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("Content-Type: application/yaml"),
        "{p}"
    );
    let tabbed = "name: X\ndraft:\n\tstartNode: A\n";
    let r = post_raw(&app, "/v1/templates", "application/yaml", tabbed).await;
    let p = assert_problem(r, 400).await;
    assert!(p["detail"].as_str().unwrap().contains("tab"), "{p}");
}

#[tokio::test]
async fn wrong_shapes_are_422_with_pointers() {
    let app = spawn_app().await;
    let r = post_raw(&app, "/v1/templates", "application/json", "[1,2]").await;
    assert_problem(r, 422).await;

    let mut doc = module_doc("typed", "hi");
    doc["name"] = json!(5);
    let p = assert_problem(app.post_json("/v1/templates", &doc).await, 422).await;
    assert!(
        p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["pointer"] == "/name"),
        "{p}"
    );

    let mut doc = module_doc("unknown_field", "hi");
    doc["colour"] = json!("blue");
    let p = assert_problem(app.post_json("/v1/templates", &doc).await, 422).await;
    assert!(
        p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["pointer"] == "/colour"),
        "{p}"
    );

    let mut doc = module_doc("bad_digits", "hi");
    doc["draft"]["nodes"]["Hello"] = json!({"id": "Hello", "type": "Gather",
        "properties": {"promptText": "x", "maxDigits": "many"},
        "onComplete": {"nextNode": "Done"}, "onError": {"nextNode": "Done"}});
    let p = assert_problem(app.post_json("/v1/templates", &doc).await, 422).await;
    assert!(
        p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["pointer"] == "/draft/nodes/Hello/properties/maxDigits"),
        "{p}"
    );
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let app = spawn_app_with(|s| s.max_body_bytes = 4096).await;
    let mut doc = module_doc("big", "hi");
    doc["description"] = json!("x".repeat(10_000));
    let p = assert_problem(app.post_json("/v1/templates", &doc).await, 413).await;
    assert!(p["detail"].as_str().unwrap().contains("4096"), "{p}");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("FLOWSMITH_MAX_BODY_BYTES"),
        "{p}"
    );
    // Under the limit is fine.
    assert_eq!(app.store(&module_doc("small", "hi")).await.0, 201);
}

#[tokio::test]
async fn unsupported_media_type_is_415() {
    let app = spawn_app().await;
    let r = post_raw(&app, "/v1/templates", "text/plain", "name: x").await;
    assert_problem(r, 415).await;
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let app = spawn_app().await;
    assert_problem(app.get("/v1/nothing-here").await, 404).await;
    assert_problem(app.get("/").await, 404).await;
    let r = app
        .client
        .put(app.url("/v1/templates"))
        .send()
        .await
        .unwrap();
    assert_problem(r, 405).await;
    let r = app
        .client
        .delete(app.url("/v1/validate"))
        .send()
        .await
        .unwrap();
    assert_problem(r, 405).await;
    assert_problem(app.get("/v1/templates/nope").await, 404).await;
    assert_problem(app.get("/v1/templates/nope/versions/abc").await, 404).await;
}

#[tokio::test]
async fn bad_query_parameters_are_4xx() {
    let app = spawn_app().await;
    for q in [
        "page_size=0",
        "page_size=501",
        "page_size=abc",
        "type=outbound",
        "page_token=%%%",
        "colour=blue",
    ] {
        let r = app.get(&format!("/v1/templates?{q}")).await;
        let status = r.status().as_u16();
        assert!((400..500).contains(&status), "{q}: {status}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["status"], status, "{q}");
    }
}
