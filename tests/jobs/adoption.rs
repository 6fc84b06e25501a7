//! Adopting an org (issue 22): a sandbox org holding the corpus' two module/caller pairs
//! and three other corpus inbound flows, published by another OAuth client (as Architect
//! would), is adopted; the next job for the adopted templates plans `unchanged` for every
//! flow; a change to one module updates it and republishes its caller in place (same flow
//! ids, one flow per name); the drift report shows, as a diff, a flow published elsewhere.

use std::collections::BTreeMap;
use std::time::Duration;

use flowsmith_sandbox::{self as sandbox, SandboxOptions};
use reqwest::Client;
use serde_json::{Value, json};

use super::helpers::{Org, TARGET, fast_worker, spawn_app, steps};

/// The org's own client: what the team used before flowsmith (Architect, Archy).
const STUDIO: (&str, &str) = ("architect-studio", "studio-secret");

/// (corpus file, flow name after filling its placeholders). Modules first: Genesys
/// refuses a caller before its module.
const FILES: &[(&str, &str)] = &[
    (
        "darbyje-advanced-session__Terraform_CM_v2-0.yaml",
        "Terraform CM",
    ),
    (
        "cx-as-code-export__2445093_Lang-COMMONMODULE.yaml",
        "2445093_Lang",
    ),
    (
        "darbyje-advanced-session__Terraform_Inbound_Flow_v1-0.yaml",
        "Terraform Inbound Flow",
    ),
    (
        "cx-as-code-export__CI_CD_Test_Flow-INBOUNDCALL.yaml",
        "CI_CD_Test_Flow",
    ),
    (
        "automated-callback-blueprint__Trigger_proactive_callback_workflow.yaml",
        "Trigger proactive callback workflow",
    ),
    (
        "developer-center-blog__CacheExampleFlow.yaml",
        "Cache Example",
    ),
    (
        "developer-center-blog__ForceDisconnect_v7-0.yaml",
        "ForceDisconnect",
    ),
];

fn corpus(name: &str) -> String {
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .join("tests/fixtures/archy-corpus");
    let text = std::fs::read_to_string(dir.join(name)).unwrap();
    // `{{x}}` filled as a pipeline would: a division `Home`, the flow name, else the key.
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find("{{") {
        let Some(len) = rest[i..].find("}}") else {
            break;
        };
        out.push_str(&rest[..i]);
        let key = rest[i + 2..i + len].trim();
        out.push_str(match key {
            k if k.contains("division") => "Home",
            "flow_name" => "Terraform Inbound Flow",
            k => k,
        });
        rest = &rest[i + len + 2..];
    }
    out.push_str(rest);
    out
}

/// Queue names a flow names as `targetQueue: {lit: {name}}`, anywhere.
fn queue_names(v: &serde_yaml_ng::Value, out: &mut Vec<String>) {
    use serde_yaml_ng::Value as Y;
    match v {
        Y::Mapping(m) => {
            for (k, v) in m {
                if k.as_str() == Some("targetQueue")
                    && let Some(n) = v.get("lit").and_then(|l| l.get("name")).and_then(Y::as_str)
                {
                    out.push(n.to_owned());
                }
                queue_names(v, out);
            }
        }
        Y::Sequence(s) => s.iter().for_each(|x| queue_names(x, out)),
        _ => {}
    }
}

/// The org objects a file names (queues, data actions, data tables, schedule groups,
/// prompts), created through the sandbox's admin API.
async fn create_named_objects(org: &Org, yaml: &str) {
    use flowsmith_sandbox::archy::{OrgObject, analyze};
    use serde_yaml_ng::Value as Y;
    let doc: Y = serde_yaml_ng::from_str(yaml).unwrap();
    let analysis = analyze(yaml).unwrap();
    for named in analysis.objects {
        match named.object {
            OrgObject::ScheduleGroup(name) => {
                org.admin_post(
                    "/sandbox/schedule-groups",
                    json!({"name": name, "state": "open"}),
                )
                .await;
            }
            OrgObject::Prompt(name) => {
                org.admin_post("/sandbox/prompts", json!({"name": name}))
                    .await;
            }
            _ => {}
        }
    }
    let mut queues = Vec::new();
    queue_names(&doc, &mut queues);
    for q in queues {
        org.admin_post("/sandbox/queues", json!({"name": q})).await;
    }
    let mut actions: BTreeMap<(String, String), Value> = BTreeMap::new();
    let mut tables: BTreeMap<String, Value> = BTreeMap::new();
    collect_objects(&doc, &mut actions, &mut tables);
    for body in actions.into_values() {
        org.admin_post("/sandbox/data-actions", body).await;
    }
    for body in tables.into_values() {
        org.admin_post("/sandbox/data-tables", body).await;
    }
}

/// Data actions and data tables a file names, as admin bodies (fields typed string).
fn collect_objects(
    v: &serde_yaml_ng::Value,
    actions: &mut BTreeMap<(String, String), Value>,
    tables: &mut BTreeMap<String, Value>,
) {
    use serde_yaml_ng::Value as Y;
    let text = |k: &Y| match k {
        Y::Number(n) => n.to_string(),
        k => k.as_str().unwrap_or_default().to_owned(),
    };
    let keys = |v: Option<&Y>| -> Vec<String> {
        v.and_then(Y::as_mapping)
            .map(|m| m.keys().map(text).collect())
            .unwrap_or_default()
    };
    match v {
        Y::Mapping(m) => {
            for (k, v) in m {
                match k.as_str() {
                    Some("callData") => {
                        for (integration, c) in v
                            .get("category")
                            .and_then(Y::as_mapping)
                            .into_iter()
                            .flatten()
                        {
                            for (action, spec) in c
                                .get("dataAction")
                                .and_then(Y::as_mapping)
                                .into_iter()
                                .flatten()
                            {
                                let (i, a) = (text(integration), text(action));
                                let body = actions.entry((i.clone(), a.clone())).or_insert_with(
                                    || json!({"integration": i, "name": a, "inputs": {}, "outputs": {}}),
                                );
                                for f in keys(spec.get("inputs")) {
                                    body["inputs"][f] = json!("string");
                                }
                                for f in keys(spec.get("successOutputs")) {
                                    body["outputs"][f] = json!("string");
                                }
                            }
                        }
                    }
                    Some("dataTableLookup") => {
                        for (table, spec) in v
                            .get("dataTable")
                            .and_then(Y::as_mapping)
                            .into_iter()
                            .flatten()
                        {
                            let t = text(table);
                            let body = tables
                                .entry(t.clone())
                                .or_insert_with(|| json!({"name": t, "key": "key", "columns": {}}));
                            for f in keys(spec.get("foundOutputs")) {
                                body["columns"][f] = json!("string");
                            }
                        }
                    }
                    _ => {}
                }
                collect_objects(v, actions, tables);
            }
        }
        Y::Sequence(s) => s.iter().for_each(|x| collect_objects(x, actions, tables)),
        _ => {}
    }
}

/// A token of the studio client.
async fn studio_token(org: &Org) -> String {
    let r: Value = org
        .http
        .post(format!("{}/oauth/token", org.base))
        .basic_auth(STUDIO.0, Some(STUDIO.1))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["access_token"].as_str().unwrap().to_owned()
}

/// Publishes `yaml` through the Architect job protocol as the studio client.
async fn publish_as_studio(org: &Org, token: &str, yaml: &str) -> Value {
    let j = sandbox::bench::run_job(&org.http, &org.base, token, yaml, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(j["status"], "Success", "{j}");
    j
}

/// The org's flows by name: (id, published version).
async fn org_flows(org: &Org) -> BTreeMap<String, (String, Option<String>)> {
    let mut out = BTreeMap::new();
    for f in org.flows().await {
        let name = f["name"].as_str().unwrap().to_owned();
        let id = f["id"].as_str().unwrap().to_owned();
        let v = f["publishedVersion"].as_str().map(str::to_owned);
        assert!(
            out.insert(name.clone(), (id, v)).is_none(),
            "two flows named '{name}'"
        );
    }
    out
}

#[tokio::test]
async fn an_org_is_adopted_and_its_flows_are_managed_in_place() {
    let (base, _sb) = sandbox::spawn_local(SandboxOptions {
        clients: vec![
            format!(
                "{}:{}",
                sandbox::DEFAULT_CLIENT_ID,
                sandbox::DEFAULT_CLIENT_SECRET
            ),
            format!("{}:{}", STUDIO.0, STUDIO.1),
        ],
        queues: vec!["General".into()],
        job_duration_ms: 50,
        rate_limit: 100_000,
        ..Default::default()
    })
    .await
    .unwrap();
    let org = Org {
        base,
        http: Client::new(),
    };
    let token = studio_token(&org).await;
    for (file, name) in FILES {
        let yaml = corpus(file);
        create_named_objects(&org, &yaml).await;
        let j = publish_as_studio(&org, &token, &yaml).await;
        assert_eq!(j["flow"]["name"], *name, "{file}");
    }
    let before = org_flows(&org).await;
    assert_eq!(before.len(), FILES.len());
    for f in org.flows().await {
        assert_eq!(
            f["versions"][0]["client"], STUDIO.0,
            "published by the studio"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(&org, dir.path(), fast_worker()).await;

    // Bad requests are refused before anything runs.
    let r = app
        .post(&format!("/v1/targets/{TARGET}/adoptions"), &json!({}))
        .await;
    assert_eq!(r.status(), 422);
    let r = app
        .post(
            &format!("/v1/targets/{TARGET}/adoptions"),
            &json!({"flows": ["No such flow"]}),
        )
        .await;
    assert_eq!(r.status(), 422);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["errors"][0]["pointer"], "/flows/0", "{problem}");
    let r = app
        .post("/v1/targets/nowhere/adoptions", &json!({"all": true}))
        .await;
    assert_eq!(r.status(), 404);

    // Adopt everything.
    let r = app
        .post(
            &format!("/v1/targets/{TARGET}/adoptions"),
            &json!({"all": true}),
        )
        .await;
    assert_eq!(r.status(), 202);
    assert!(r.headers().contains_key("location"));
    let job: Value = r.json().await.unwrap();
    let id = job["id"].as_str().unwrap().to_owned();
    let job = app.wait_terminal(&id, Duration::from_secs(120)).await;
    let mut adopted = Vec::new();
    let mut order = Vec::new();
    for s in steps(&job) {
        let name = s["flow_name"].as_str().unwrap().to_owned();
        assert_eq!(s["action"], "adopt", "{s}");
        order.push((s["flow_type"].as_str().unwrap().to_owned(), name.clone()));
        assert_eq!(s["state"], "succeeded", "{s}");
        assert_eq!(s["flow_id"].as_str(), Some(before[&name].0.as_str()), "{s}");
        assert_eq!(
            s["published_version"].as_str(),
            before[&name].1.as_deref(),
            "{s}"
        );
        assert_eq!(s["template_name"], name.as_str(), "{s}");
        assert!(s["template_version"].as_i64().unwrap() >= 1, "{s}");
        adopted.push(name);
    }
    // Modules before callers, and every flow of the org has its step.
    let first_inbound = order.iter().position(|(t, _)| t == "inbound").unwrap();
    assert!(order[..first_inbound].iter().all(|(t, _)| t == "module"));
    assert!(order[first_inbound..].iter().all(|(t, _)| t == "inbound"));
    assert_eq!(order.len(), FILES.len());
    assert!(adopted.len() >= FILES.len() - 1, "{adopted:?}");
    // The caller waited for its module.
    let cm = steps(&job)
        .iter()
        .position(|s| s["flow_name"] == "Terraform CM")
        .unwrap();
    let caller = steps(&job)
        .iter()
        .find(|s| s["flow_name"] == "Terraform Inbound Flow")
        .unwrap()
        .clone();
    assert_eq!(caller["depends_on"], json!([cm]), "{caller}");

    // The next job for the adopted templates changes nothing.
    let flows: Vec<Value> = adopted.iter().map(|n| json!({"template": n})).collect();
    let next = app.submit(&json!({"target": TARGET, "flows": flows})).await;
    let next = app
        .wait_terminal(next["id"].as_str().unwrap(), Duration::from_secs(60))
        .await;
    assert_eq!(next["status"], "succeeded", "{next:#}");
    for s in steps(&next) {
        assert_eq!(s["action"], "unchanged", "{s}");
    }
    assert_eq!(org_flows(&org).await, before, "nothing was published");

    // A change to one module: it is updated and its caller republished, in place.
    let doc: Value = app
        .get("/v1/templates/Terraform%20CM")
        .await
        .json()
        .await
        .unwrap();
    let mut doc = doc["document"].clone();
    doc["description"] = json!("Terraform CM, now managed by flowsmith");
    app.store(&doc).await;
    let change = app
        .submit(&json!({"target": TARGET, "flows": [{"template": "Terraform CM"}]}))
        .await;
    let change = app
        .wait_terminal(change["id"].as_str().unwrap(), Duration::from_secs(120))
        .await;
    assert_eq!(change["status"], "succeeded", "{change:#}");
    let actions: BTreeMap<String, String> = steps(&change)
        .iter()
        .map(|s| {
            (
                s["flow_name"].as_str().unwrap().to_owned(),
                s["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        actions.get("Terraform CM").map(String::as_str),
        Some("update"),
        "{change:#}"
    );
    assert_eq!(
        actions.get("Terraform Inbound Flow").map(String::as_str),
        Some("republish"),
        "{change:#}"
    );
    let after = org_flows(&org).await;
    assert_eq!(after.len(), before.len(), "one flow per name: {after:?}");
    for (name, (id, version)) in &after {
        assert_eq!(id, &before[name].0, "'{name}' kept its flow id");
        if actions.contains_key(name) {
            assert_ne!(version, &before[name].1, "'{name}' was published again");
        } else {
            assert_eq!(version, &before[name].1, "'{name}' was left alone");
        }
    }

    // Published elsewhere: the drift report shows the change as a diff of the YAML.
    let live = corpus("developer-center-blog__ForceDisconnect_v7-0.yaml").replacen(
        "division: Home",
        "division: Home\n  description: edited in Architect",
        1,
    );
    publish_as_studio(&org, &token, &live).await;
    let drift: Value = app
        .get(&format!("/v1/targets/{TARGET}/drift?diff=true"))
        .await
        .json()
        .await
        .unwrap();
    let entry = drift["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "ForceDisconnect")
        .unwrap();
    assert_eq!(entry["state"], "published_elsewhere", "{entry}");
    let diff = entry["diff"].as_str().unwrap();
    assert!(diff.starts_with("--- flowsmith\n+++ org\n"), "{diff}");
    assert!(
        diff.contains("+  description: edited in Architect"),
        "{diff}"
    );
    // Without `diff`, none is made.
    let plain: Value = app
        .get(&format!("/v1/targets/{TARGET}/drift"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        plain["flows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f.get("diff").is_none())
    );
}
