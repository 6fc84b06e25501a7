//! The committed `openapi.yaml` is what the code generates.

use crate::helpers::*;

#[test]
fn committed_openapi_matches_the_code() {
    let generated = flowsmith::api::openapi_yaml();
    let path =
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("openapi.yaml");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi.yaml is out of date: run `cargo run -- openapi --out openapi.yaml` (or UPDATE_OPENAPI=1 cargo test)"
    );
}

#[tokio::test]
async fn served_spec_covers_every_route_with_problem_errors() {
    let app = spawn_app().await;
    let spec: serde_json::Value = app.get("/openapi.json").await.json().await.unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = spec["paths"].as_object().unwrap();
    for p in [
        "/healthz",
        "/readyz",
        "/openapi.json",
        "/openapi.yaml",
        "/v1/templates",
        "/v1/templates/{name}",
        "/v1/templates/{name}/versions",
        "/v1/templates/{name}/versions/{version}",
        "/v1/validate",
        "/v1/targets",
    ] {
        assert!(paths.contains_key(p), "missing {p}");
    }
    // Every /v1 operation documents 401 as a problem document.
    for (path, item) in paths.iter().filter(|(p, _)| p.starts_with("/v1")) {
        for (method, op) in item.as_object().unwrap() {
            let r = &op["responses"]["401"]["content"]["application/problem+json"];
            assert!(r.is_object(), "{method} {path} lacks a 401 problem");
        }
    }
    let yaml = app.get("/openapi.yaml").await.text().await.unwrap();
    assert_eq!(yaml, flowsmith::api::openapi_yaml());
}
