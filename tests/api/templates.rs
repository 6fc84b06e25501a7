use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn seed_documents_store_and_version() {
    let app = spawn_app().await;
    let module = fixture("seed_shared_module.json");

    // A new template is version 1, with a Location.
    let r = app.post_json("/v1/templates", &module).await;
    assert_eq!(r.status(), 201);
    assert_eq!(
        r.headers()["location"],
        "/v1/templates/Shared_Module_Language_Select/versions/1"
    );
    let v1: Value = r.json().await.unwrap();
    assert_eq!(v1["version"], 1);
    assert_eq!(v1["type"], "inbound");
    assert_eq!(v1["document"], module);

    // The inbound seed calls it and validates cleanly against it.
    let (status, caller) = app.store(&fixture("seed_inbound_flow.json")).await;
    assert_eq!(status, 201, "{caller}");
    assert!(
        caller["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["severity"] == "warning"),
        "{caller}"
    );

    // The same document again, keys reordered and sent as YAML: unchanged, 200.
    let yaml = serde_yaml_ng::to_string(&module).unwrap();
    let r = app
        .client
        .post(app.url("/v1/templates"))
        .header("content-type", "application/yaml")
        .body(yaml)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let same: Value = r.json().await.unwrap();
    assert_eq!(same["version"], 1);
    assert_eq!(same["content_hash"], v1["content_hash"]);

    // A change makes version 2.
    let mut changed = module.clone();
    changed["draft"]["nodes"]["SayHello"]["properties"]["sayText"] = json!("Hello again.");
    let (status, v2) = app.store(&changed).await;
    assert_eq!(status, 201);
    assert_eq!(v2["version"], 2);
    assert_ne!(v2["content_hash"], v1["content_hash"]);

    let latest: Value = app
        .get("/v1/templates/Shared_Module_Language_Select")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(latest["version"], 2);
    let versions: Value = app
        .get("/v1/templates/Shared_Module_Language_Select/versions")
        .await
        .json()
        .await
        .unwrap();
    let nums: Vec<i64> = versions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(nums, vec![1, 2]);
    let one: Value = app
        .get("/v1/templates/Shared_Module_Language_Select/versions/1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["document"], module);
    let r = app
        .get("/v1/templates/Shared_Module_Language_Select/versions/9")
        .await;
    assert_problem(r, 404).await;
}

#[tokio::test]
async fn list_pages_and_filters() {
    let app = spawn_app().await;
    for i in 0..7 {
        let (s, _) = app.store(&module_doc(&format!("mod_{i}"), "hi")).await;
        assert_eq!(s, 201);
    }
    let (s, _) = app.store(&fixture("seed_inbound_flow.json")).await;
    assert_eq!(s, 201);

    let mut names = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut url = "/v1/templates?page_size=3".to_owned();
        if let Some(t) = &token {
            url.push_str(&format!("&page_token={t}"));
        }
        let page: Value = app.get(&url).await.json().await.unwrap();
        pages += 1;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        names.extend(items.iter().map(|i| i["name"].as_str().unwrap().to_owned()));
        match page["next_page_token"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(names.len(), 8);

    let modules: Value = app
        .get("/v1/templates?type=module")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(modules["items"].as_array().unwrap().len(), 7);
    let inbound: Value = app
        .get("/v1/templates?type=inboundcall")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inbound["items"][0]["name"], "Inbound_Flow_A");
    let prefixed: Value = app
        .get("/v1/templates?name_prefix=mod_1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(prefixed["items"].as_array().unwrap().len(), 1);
    assert!(prefixed.get("next_page_token").is_none());
}

#[tokio::test]
async fn delete_then_restore_continues_numbering_and_in_use_is_409() {
    let app = spawn_app().await;
    let doc = module_doc("to_delete", "hi");
    assert_eq!(app.store(&doc).await.0, 201);
    let r = app
        .client
        .delete(app.url("/v1/templates/to_delete"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_problem(app.get("/v1/templates/to_delete").await, 404).await;
    let r = app
        .client
        .delete(app.url("/v1/templates/to_delete"))
        .send()
        .await
        .unwrap();
    assert_problem(r, 404).await;
    let listed: Value = app.get("/v1/templates").await.json().await.unwrap();
    assert!(listed["items"].as_array().unwrap().is_empty());

    // Storing the same name again does not reuse version 1.
    let (s, v) = app.store(&doc).await;
    assert_eq!(s, 201);
    assert_eq!(v["version"], 2);

    // A flow record provisioned from it blocks deletion.
    let record = "INSERT INTO flow_records (target, name, flow_type, flow_id, template_name, template_version, content_hash, published_version, yaml, updated_at) VALUES ('sandbox', 'to_delete', 'module', 'f-1', 'to_delete', 2, 'h', '1.0', 'y', 'now')";
    crate::db::execute(app.database_url(), record, &[]).await;
    let r = app
        .client
        .delete(app.url("/v1/templates/to_delete"))
        .send()
        .await
        .unwrap();
    let p = assert_problem(r, 409).await;
    assert!(p["detail"].as_str().unwrap().contains("sandbox"), "{p}");
    assert_eq!(app.get("/v1/templates/to_delete").await.status(), 200);
}

#[tokio::test]
async fn validation_errors_are_422_with_pointers_and_validate_stores_nothing() {
    let app = spawn_app().await;
    let mut doc = module_doc("broken", "hi");
    doc["draft"]["nodes"]["Hello"]["onComplete"]["nextNode"] = json!("Nowhere");

    let r = app.post_json("/v1/templates", &doc).await;
    let p = assert_problem(r, 422).await;
    let errors = p["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["pointer"] == "/draft/nodes/Hello/onComplete/nextNode"
                && e["severity"] == "error"),
        "{p}"
    );
    assert!(
        errors
            .iter()
            .all(|e| e["code"].is_string() && e["message"].is_string())
    );

    let r = app.post_json("/v1/validate", &doc).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["valid"], false);
    assert!(!v["findings"].as_array().unwrap().is_empty());

    let r = app
        .post_json("/v1/validate", &module_doc("fine", "hi"))
        .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["valid"], true, "{v}");

    // Nothing was stored by either call.
    let listed: Value = app.get("/v1/templates").await.json().await.unwrap();
    assert!(listed["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn data_survives_a_restart() {
    let app = spawn_app().await;
    assert_eq!(app.store(&fixture("seed_shared_module.json")).await.0, 201);
    assert_eq!(app.store(&module_doc("m2", "hello")).await.0, 201);
    let app = app.restart().await;
    let listed: Value = app.get("/v1/templates").await.json().await.unwrap();
    let names: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Shared_Module_Language_Select", "m2"]);
    // And an identical store after the restart is still recognised.
    assert_eq!(app.store(&module_doc("m2", "hello")).await.0, 200);
}

#[tokio::test]
async fn bearer_tokens_guard_v1_but_not_health() {
    let app = spawn_app_with(|s| {
        s.api_tokens = vec!["s3cret-token".to_owned().into()];
    })
    .await;
    assert_problem(app.get("/v1/templates").await, 401).await;
    let r = app
        .client
        .get(app.url("/v1/templates"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    let p = assert_problem(r, 401).await;
    assert!(!p.to_string().contains("s3cret"));
    let r = app
        .client
        .get(app.url("/v1/templates"))
        .bearer_auth("s3cret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);
    assert_eq!(app.get("/openapi.json").await.status(), 200);
}

#[tokio::test]
async fn public_bind_without_tokens_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let settings = flowsmith::config::Settings {
        listen: "0.0.0.0:0".parse().unwrap(),
        database_url: crate::db::database_url(&dir.path().join("x.db")),
        ..Default::default()
    };
    let err = flowsmith::app::Application::build(settings)
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("without API tokens"), "{err}");
}

#[tokio::test]
async fn targets_never_show_secrets() {
    let app = spawn_app_with(|s| {
        s.upsert_target(flowsmith::config::TargetConfig {
            name: "default".into(),
            api_base_url: "https://api.mypurecloud.ie".into(),
            login_base_url: "https://login.mypurecloud.ie".into(),
            client_id: "client-1".into(),
            client_secret: "very-secret-value".to_owned().into(),
            rate_limit_per_minute: 300,
            concurrency: Some(4),
        });
    })
    .await;
    let r = app.get("/v1/targets").await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(!text.contains("very-secret-value"), "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["items"][0]["name"], "default");
    assert_eq!(v["items"][0]["api_base_url"], "https://api.mypurecloud.ie");
    assert_eq!(v["items"][0]["rate_limit_per_minute"], 300);
}

#[tokio::test]
async fn serve_with_sandbox_lists_a_sandbox_target() {
    let app = spawn_app_with_org(Box::new(BuiltInSandbox(Default::default()))).await;
    let v: Value = app.get("/v1/targets").await.json().await.unwrap();
    let t = &v["items"][0];
    assert_eq!(t["name"], "sandbox");
    let base = t["api_base_url"].as_str().unwrap();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    // The sandbox answers OAuth on that base URL.
    let r = app
        .client
        .post(format!("{base}/oauth/token"))
        .basic_auth("sandbox", Some("sandbox-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
