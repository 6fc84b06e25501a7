//! The server does what its OpenAPI document says: every `$ref` resolves, bounds match the
//! code, explicit nulls the schemas allow are accepted, and the YAML compile answer carries
//! its hash and warnings in the headers the spec declares.

use serde_json::{Value, json};

use crate::helpers::*;

fn spec() -> Value {
    serde_json::to_value(flowsmith::api::openapi()).unwrap()
}

fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r);
            }
            m.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[test]
fn every_ref_resolves_and_the_license_is_an_spdx_identifier() {
    let spec = spec();
    let mut all = Vec::new();
    refs(&spec, &mut all);
    assert!(all.len() > 50, "{}", all.len());
    for r in all {
        let pointer = r.strip_prefix('#').expect("local ref");
        assert!(spec.pointer(pointer).is_some(), "{r} does not resolve");
    }
    assert_eq!(spec["info"]["license"]["identifier"], "MIT");
}

#[test]
fn page_sizes_enums_and_timestamps_are_exact() {
    let spec = spec();
    for path in ["/v1/templates", "/v1/jobs", "/v1/flows"] {
        let params = spec["paths"][path]["get"]["parameters"].as_array().unwrap();
        let size = params.iter().find(|p| p["name"] == "page_size").unwrap();
        assert_eq!(size["schema"]["minimum"], 1, "{path}");
        assert_eq!(
            size["schema"]["maximum"],
            flowsmith::api::paging::MAX_PAGE_SIZE,
            "{path}"
        );
    }
    let schemas = &spec["components"]["schemas"];
    assert_eq!(
        schemas["JobStatus"]["enum"],
        json!(["queued", "running", "succeeded", "failed", "cancelled"])
    );
    assert_eq!(
        schemas["JobView"]["properties"]["status"]["$ref"],
        "#/components/schemas/JobStatus"
    );
    assert_eq!(
        schemas["DiagramFormat"]["enum"],
        json!(["mermaid", "dot", "svg"])
    );
    for (schema, field) in [
        ("TemplateVersion", "created_at"),
        ("JobView", "created_at"),
        ("JobView", "finished_at"),
        ("StepView", "started_at"),
        ("FlowRecord", "updated_at"),
    ] {
        assert_eq!(
            schemas[schema]["properties"][field]["format"], "date-time",
            "{schema}.{field}"
        );
    }
    // Free-form objects say so, so typed clients can fill them.
    for (schema, field) in [
        ("CompileRequest", "params"),
        ("SimulationRequest", "params"),
        ("FlowRequest", "params"),
        ("Simulation", "variables"),
    ] {
        assert!(
            schemas[schema]["properties"][field]["additionalProperties"].is_object(),
            "{schema}.{field}: {}",
            schemas[schema]["properties"][field]
        );
    }
    // onError has no onError of its own; onComplete has the seed's.
    let node = &schemas["NodeDocument"]["properties"];
    let exit = |v: &Value| -> String {
        v["oneOf"]
            .as_array()
            .and_then(|a| a.iter().find_map(|s| s["$ref"].as_str()))
            .unwrap_or_default()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned()
    };
    let complete = exit(&node["onComplete"]);
    let error = exit(&node["onError"]);
    assert!(schemas[&complete]["properties"]["onError"].is_object());
    assert!(schemas[&error]["properties"]["onError"].is_null());
}

#[test]
fn operations_declare_the_media_types_and_statuses_they_answer() {
    let spec = spec();
    let p = &spec["paths"];
    let diagram = &p["/v1/templates/{name}/diagram"]["get"]["responses"]["200"]["content"];
    assert!(diagram["text/plain"].is_object() && diagram["text/vnd.graphviz"].is_object());
    assert!(diagram["image/svg+xml"].is_object());
    let compile = &p["/v1/templates/{name}/compile"]["post"]["responses"];
    assert!(compile["200"]["content"]["application/yaml"].is_object());
    for h in ["X-Content-Hash", "ETag", "X-Warnings", "X-Warning-Count"] {
        assert!(compile["200"]["headers"][h].is_object(), "{h}");
    }
    for (path, method, statuses) in [
        (
            "/v1/templates/{name}/compile",
            "post",
            &["413", "415", "422"][..],
        ),
        ("/v1/simulations", "post", &["413", "415", "422"]),
        ("/v1/validate", "post", &["413", "415", "422"]),
        ("/v1/templates", "get", &["408", "500"]),
    ] {
        for s in statuses {
            assert!(
                p[path][method]["responses"][s].is_object(),
                "{method} {path} lacks {s}"
            );
        }
    }
}

#[tokio::test]
async fn explicit_nulls_the_schemas_allow_are_accepted() {
    let app = spawn_app().await;
    let doc = json!({
        "name": "Nulls", "type": "module", "description": null, "division": null,
        "language": null, "inputs": null, "outputs": null, "inbound": null, "outbound": null,
        "parameters": {"greeting": {"type": "string", "required": null, "default": "hi",
                                    "description": null}},
        "draft": {"startNode": "Ask", "edges": null, "nodes": {
            "Ask": {"id": "Ask", "type": "Gather", "properties": {"promptText": "{{greeting}}"},
                    "onComplete": {"nextNode": "Done", "onError": null},
                    "onError": {"nextNode": "Done"}},
            "Done": {"id": "Done", "type": "End", "properties": null,
                     "onComplete": null, "onError": null}
        }}
    });
    let (status, body) = app.store(&doc).await;
    assert_eq!(status, 201, "{body}");
    let r = app
        .post_json(
            "/v1/templates/Nulls/compile",
            &json!({"version": null, "flow_name": null, "type": null, "params": {}}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = app
        .post_json(
            "/v1/simulations",
            &json!({"template": "Nulls", "version": null, "max_steps": null,
                    "inputs": [{"digits": "1", "timeout": null}, {"digits": null, "timeout": true}]}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn the_yaml_compile_answer_carries_hash_and_warnings_in_headers() {
    let app = spawn_app().await;
    assert_eq!(app.store(&module_doc("Hello_Module", "hi")).await.0, 201);
    let json_form: Value = app
        .post_json("/v1/templates/Hello_Module/compile", &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let r = app
        .client
        .post(app.url("/v1/templates/Hello_Module/compile"))
        .header("accept", "application/yaml")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    let header = |n: &str| {
        h.get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    assert_eq!(header("content-type"), "application/yaml");
    let hash = json_form["content_hash"].as_str().unwrap();
    assert_eq!(header("x-content-hash"), hash);
    assert_eq!(header("etag"), format!("\"{hash}\""));
    let warnings: Value = serde_json::from_str(&header("x-warnings")).unwrap();
    assert_eq!(warnings, json_form["warnings"]);
    assert_eq!(
        header("x-warning-count"),
        json_form["warnings"].as_array().unwrap().len().to_string()
    );
    assert_eq!(r.text().await.unwrap(), json_form["yaml"].as_str().unwrap());
}
