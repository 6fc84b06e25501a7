//! The sandbox over real HTTP: every endpoint and every failure of design section 9.

// Test code: a panic is a failed assertion, and a scenario may read top to bottom.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use flowsmith_sandbox::{SandboxOptions, bench, spawn_local};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

struct Org {
    base: String,
    http: Client,
    token: String,
}

fn fast() -> SandboxOptions {
    SandboxOptions {
        job_duration_ms: 20,
        rate_limit: 0,
        queues: vec!["General".into(), "Support".into()],
        ..SandboxOptions::default()
    }
}

async fn org(opts: SandboxOptions) -> Org {
    org_as(opts, "sandbox", "sandbox-secret").await
}

async fn org_as(opts: SandboxOptions, id: &str, secret: &str) -> Org {
    let (base, _sb) = spawn_local(opts).await.unwrap();
    let http = Client::new();
    let token = bench::token(&http, &base, id, secret).await.unwrap();
    Org { base, http, token }
}

impl Org {
    fn url(&self, p: &str) -> String {
        format!("{}{}", self.base, p)
    }
    async fn get(&self, p: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(self.url(p))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }
    async fn send(
        &self,
        method: reqwest::Method,
        p: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut rb = self
            .http
            .request(method, self.url(p))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.unwrap();
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }
    async fn job(&self, yaml: &str) -> Value {
        bench::run_job(
            &self.http,
            &self.base,
            &self.token,
            yaml,
            Duration::from_secs(20),
        )
        .await
        .unwrap()
    }
    async fn publish(&self, yaml: &str) -> String {
        let j = self.job(yaml).await;
        assert_eq!(j["status"], "Success", "{j}");
        j["flow"]["id"].as_str().unwrap().to_owned()
    }
    async fn admin(&self, method: reqwest::Method, p: &str, body: Option<Value>) -> Value {
        let mut rb = self.http.request(method, self.url(p));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        rb.send().await.unwrap().json().await.unwrap_or(Value::Null)
    }
}

fn module(name: &str) -> String {
    format!(
        r#"commonModule:
  name: {name}
  division: Home
  defaultLanguage: en-us
  settingsCommonModule:
    compatibleFlowTypes:
      - flowType: inboundcall
  variables:
    - stringVariable: {{name: Common.tier, initialValue: {{noValue: true}}, isInput: false, isOutput: true}}
  startUpTaskActions:
    - updateData:
        name: Tier
        statements:
          - string: {{variable: Common.tier, value: {{lit: gold}}}}
"#
    )
}

fn inbound(name: &str, module: &str, queue: &str) -> String {
    format!(
        r#"inboundCall:
  name: {name}
  defaultLanguage: en-us
  startUpRef: "/inboundCall/tasks/task[Main]"
  tasks:
    - task:
        name: Main
        refId: Main
        actions:
          - callCommonModule:
              name: Lookup
              commonModule:
                {module}:
                  ver_latestPublished:
                    inputs: {{}}
                    outputs:
                      Common.tier: {{var: Flow.tier}}
          - decision:
              name: Gold?
              condition: {{exp: 'Flow.tier == "gold"'}}
              outputs:
                "yes":
                  actions:
                    - jumpToTask: {{name: To queue, targetTaskRef: "/inboundCall/tasks/task[Queue]"}}
          - disconnect: {{name: Bye}}
    - task:
        name: Queue
        refId: Queue
        actions:
          - transferToAcd:
              name: Transfer
              targetQueue: {{lit: {{name: {queue}}}}}
              outputs:
                failure:
                  actions:
                    - playAudio: {{name: Sorry, audio: {{tts: Sorry.}}}}
          - disconnect: {{name: Failed}}
"#
    )
}

fn simple(name: &str) -> String {
    format!(
        "inboundCall:\n  name: {name}\n  startUpRef: ./tasks/task[Main]\n  tasks:\n    - task:\n        name: Main\n        refId: Main\n        actions:\n          - disconnect: {{name: Bye}}\n"
    )
}

fn messages(job: &Value) -> String {
    job["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_error_body(v: &Value, status: u16, code: &str) {
    assert_eq!(v["status"], status, "{v}");
    assert_eq!(v["code"], code, "{v}");
    assert!(v["message"].is_string(), "{v}");
    assert!(
        v["contextId"].as_str().is_some_and(|c| !c.is_empty()),
        "{v}"
    );
    assert_eq!(v["details"], json!([]));
    assert_eq!(v["errors"], json!([]));
}

#[tokio::test]
async fn oauth_token_and_failures() {
    let (base, _sb) = spawn_local(SandboxOptions {
        clients: vec!["a:one".into(), "b:two".into()],
        token_ttl: 1234,
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let http = Client::new();
    let ok = http
        .post(format!("{base}/oauth/token"))
        .basic_auth("b", Some("two"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert!(ok.headers().contains_key("inin-correlation-id"));
    let v: Value = ok.json().await.unwrap();
    assert_eq!(v["token_type"], "bearer");
    assert_eq!(v["expires_in"], 1234);
    assert!(v["access_token"].as_str().unwrap().len() > 20);

    for (auth, form, status, error) in [
        (
            Some(("a", "wrong")),
            vec![("grant_type", "client_credentials")],
            401,
            "invalid_client",
        ),
        (
            Some(("nobody", "x")),
            vec![("grant_type", "client_credentials")],
            401,
            "invalid_client",
        ),
        (
            None,
            vec![("grant_type", "client_credentials")],
            401,
            "invalid_client",
        ),
        (
            Some(("a", "one")),
            vec![("grant_type", "password")],
            400,
            "unsupported_grant_type",
        ),
        (Some(("a", "one")), vec![], 400, "invalid_request"),
    ] {
        let mut rb = http.post(format!("{base}/oauth/token")).form(&form);
        if let Some((id, s)) = auth {
            rb = rb.basic_auth(id, Some(s));
        }
        let r = rb.send().await.unwrap();
        assert_eq!(r.status().as_u16(), status);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"], error);
        assert!(v["description"].is_string() && v["error_description"].is_string());
    }
}

#[tokio::test]
async fn bearer_checks_and_token_expiry() {
    let o = org(fast()).await;
    let r = o.http.get(o.url("/api/v2/flows")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let cid = r.headers()["inin-correlation-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let v: Value = r.json().await.unwrap();
    assert_error_body(&v, 401, "bad.credentials");
    assert_eq!(v["contextId"], cid.as_str());
    let r = o
        .http
        .get(o.url("/api/v2/flows"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(o.get("/api/v2/flows").await.0, 200);
    let e = o
        .admin(reqwest::Method::POST, "/sandbox/tokens/expire", None)
        .await;
    assert_eq!(e["expired"], 1);
    let (s, v) = o.get("/api/v2/flows").await;
    assert_eq!(s, 401);
    assert_error_body(&v, 401, "bad.credentials");
}

#[tokio::test]
async fn short_token_ttl_expires() {
    let mut opts = fast();
    opts.token_ttl = 0;
    let o = org(opts).await;
    assert_eq!(o.get("/api/v2/flows").await.0, 401);
}

#[tokio::test]
async fn unknown_routes_are_404_error_bodies() {
    let o = org(fast()).await;
    let (s, v) = o.get("/api/v2/nope").await;
    assert_eq!(s, 404);
    assert_error_body(&v, 404, "not.found");
    let (s, v) = o
        .get("/api/v2/flows/00000000-0000-0000-0000-000000000000")
        .await;
    assert_eq!(s, 404);
    assert_error_body(&v, 404, "not.found");
    let (s, _) = o.get("/api/v2/flows/not-a-uuid").await;
    assert_eq!(s, 404);
    let (s, v) = o
        .get("/api/v2/flows/jobs/00000000-0000-0000-0000-000000000000")
        .await;
    assert_eq!(s, 404);
    assert_error_body(&v, 404, "not.found");
}

#[tokio::test]
async fn job_lifecycle_publishes_versions() {
    let o = org(SandboxOptions {
        job_duration_ms: 300,
        ..fast()
    })
    .await;
    // Register, then look before the upload: Registered.
    let (s, reg) = o
        .send(reqwest::Method::POST, "/api/v2/flows/jobs", None)
        .await;
    assert_eq!(s, 200);
    let id = reg["id"].as_str().unwrap();
    assert!(reg["presignedUrl"].as_str().unwrap().starts_with(&o.base));
    assert_eq!(reg["selfUri"], format!("/api/v2/flows/jobs/{id}"));
    let headers = reg["headers"].as_object().unwrap();
    assert_eq!(headers["Content-Type"], "application/octet-stream");
    let (_, j) = o.get(&format!("/api/v2/flows/jobs/{id}")).await;
    assert_eq!(j["status"], "Registered");
    assert_eq!(j["command"], "Publish");
    assert!(j.get("messages").is_none());
    let mut put = o
        .http
        .put(reg["presignedUrl"].as_str().unwrap())
        .body(module("Lookup Customer"));
    for (k, v) in headers {
        put = put.header(k, v.as_str().unwrap());
    }
    assert_eq!(put.send().await.unwrap().status(), 200);
    let (_, j) = o
        .get(&format!("/api/v2/flows/jobs/{id}?expand=messages"))
        .await;
    assert_eq!(j["status"], "Started");
    assert_eq!(j["messages"], json!([]));
    let deadline = Instant::now() + Duration::from_secs(10);
    let j = loop {
        let (_, j) = o
            .get(&format!("/api/v2/flows/jobs/{id}?expand=messages"))
            .await;
        if j["status"] != "Started" || Instant::now() > deadline {
            break j;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(j["status"], "Success", "{j}");
    let flow_id = j["flow"]["id"].as_str().unwrap().to_owned();
    assert_eq!(j["flow"]["selfUri"], format!("/api/v2/flows/{flow_id}"));

    // Same name and type again: same flow, version 2.0.
    let again = o.publish(&module("Lookup Customer")).await;
    assert_eq!(again, flow_id);
    let (s, f) = o.get(&format!("/api/v2/flows/{flow_id}")).await;
    assert_eq!(s, 200);
    assert_eq!(f["type"], "COMMONMODULE");
    assert_eq!(f["name"], "Lookup Customer");
    assert_eq!(f["publishedVersion"]["id"], "2.0");
    assert_eq!(f["division"]["name"], "Home");
    assert_eq!(f["selfUri"], format!("/api/v2/flows/{flow_id}"));
    assert_eq!(f["currentOperation"]["actionName"], "PUBLISH");
    let (s, vs) = o.get(&format!("/api/v2/flows/{flow_id}/versions")).await;
    assert_eq!(s, 200);
    assert_eq!(vs["total"], 2);
    assert_eq!(vs["entities"][0]["id"], "2.0");
    assert_eq!(vs["entities"][1]["id"], "1.0");
    let (_, vs) = o
        .get(&format!(
            "/api/v2/flows/{flow_id}/versions?pageSize=1&pageNumber=2"
        ))
        .await;
    assert_eq!(vs["entities"][0]["id"], "1.0");
    assert_eq!(vs["pageCount"], 2);
    assert!(vs["previousUri"].is_string() && vs.get("nextUri").is_none());

    // A new name makes a new flow; admin shows every version with its YAML.
    let other = o.publish(&module("Other Module")).await;
    assert_ne!(other, flow_id);
    let all = o.admin(reqwest::Method::GET, "/sandbox/flows", None).await;
    assert_eq!(all["total"], 2);
    let lc = &all["flows"][0];
    assert_eq!(lc["name"], "Lookup Customer");
    assert_eq!(lc["versions"].as_array().unwrap().len(), 2);
    assert!(
        lc["versions"][1]["yaml"]
            .as_str()
            .unwrap()
            .contains("commonModule:")
    );
}

#[tokio::test]
async fn upload_refusals() {
    let o = org(fast()).await;
    let (_, reg) = o
        .send(reqwest::Method::POST, "/api/v2/flows/jobs", None)
        .await;
    let url = reg["presignedUrl"].as_str().unwrap();
    let headers = reg["headers"].as_object().unwrap();
    // Without the headers.
    let r = o.http.put(url).body(simple("X")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("<Code>SignatureDoesNotMatch</Code>")
    );
    // With a bearer token instead (or as well).
    let mut put = o.http.put(url).bearer_auth(&o.token).body(simple("X"));
    for (k, v) in headers {
        put = put.header(k, v.as_str().unwrap());
    }
    let r = put.send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("<Code>AccessDenied</Code>")
    );
    // Wrong signature value.
    let mut put = o.http.put(url).body(simple("X"));
    for (k, v) in headers {
        let v = if k.contains("signature") {
            "forged"
        } else {
            v.as_str().unwrap()
        };
        put = put.header(k, v);
    }
    assert_eq!(put.send().await.unwrap().status(), 403);
    let (_, j) = o
        .get(&format!(
            "/api/v2/flows/jobs/{}",
            reg["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(j["status"], "Registered");
    // Right: accepted once; a second PUT is refused (one-shot URL).
    for expect in [200, 403] {
        let mut put = o.http.put(url).body(simple("X"));
        for (k, v) in headers {
            put = put.header(k, v.as_str().unwrap());
        }
        assert_eq!(put.send().await.unwrap().status(), expect);
    }
}

#[tokio::test]
async fn archy_failures() {
    let o = org(fast()).await;
    o.publish(&module("Unpublished Probe")).await;
    // A module that exists but is not published: created empty through POST /api/v2/flows.
    let (s, _) = o
        .send(
            reqwest::Method::POST,
            "/api/v2/flows",
            Some(json!({"name": "Draft Module", "type": "COMMONMODULE"})),
        )
        .await;
    assert_eq!(s, 200);
    let ok = inbound("Main IVR", "Unpublished Probe", "General");
    let cases: Vec<(String, &str)> = vec![
        ("inboundCall: [unclosed".into(), "Unable to parse"),
        ("outboundEmail:\n  name: X\n".into(), "Unknown or missing flow type key"),
        (ok.replace("  name: Main IVR\n", ""), "Missing required property 'name'"),
        (
            ok.replace("  startUpRef: \"/inboundCall/tasks/task[Main]\"\n", ""),
            "'Main IVR': missing required property 'startUpRef'",
        ),
        (
            ok.replace("/inboundCall/tasks/task[Main]", "/inboundCall/tasks/task[Nope]"),
            "Unable to resolve startUpRef '/inboundCall/tasks/task[Nope]'",
        ),
        (
            ok.replace("/inboundCall/tasks/task[Queue]", "/inboundCall/tasks/task[Missing]"),
            "Unable to resolve targetTaskRef '/inboundCall/tasks/task[Missing]'",
        ),
        (
            ok.replace("/inboundCall/tasks/task[Queue]", "./tasks/task[Queue]"),
            "relative reference targetTaskRef './tasks/task[Queue]' at /inboundCall/tasks/0/task/actions/1/decision/outputs/yes/actions/0/jumpToTask/targetTaskRef",
        ),
        (
            ok.replace("          - disconnect: {name: Failed}\n", ""),
            "task 'Queue' (at /inboundCall/tasks/1/task) must end with a closing action",
        ),
        (
            ok.replace("Unpublished Probe", "No Such Module"),
            "Unable to find common module flow 'No Such Module'",
        ),
        (
            ok.replace("Unpublished Probe", "Draft Module"),
            "common module flow 'Draft Module' called by action 'Lookup' has no published version",
        ),
        (
            ok.replace("name: General", "name: Nowhere"),
            "Unable to find queue 'Nowhere'",
        ),
        (
            module("Bad Module").replace(
                "    - updateData:",
                "    - callCommonModule:\n        name: Nested\n        commonModule:\n          Unpublished Probe:\n            ver_latestPublished: {inputs: {}, outputs: {}}\n    - updateData:",
            ),
            "a common module cannot call a common module",
        ),
        (
            module("Tasks Module").replace(
                "  startUpTaskActions:",
                "  startUpRef: \"/commonModule/tasks/task[A]\"\n  tasks:\n    - task: {name: A, refId: A, actions: [{disconnect: {name: x}}]}\n  startUpTaskActions:",
            ),
            "a common module has no 'tasks' (at /commonModule/tasks)",
        ),
        (
            module("Exit Module").replace("    - updateData:", "    - loopExit: {name: Out}\n    - updateData:"),
            "loopExit 'Out' at /commonModule/startUpTaskActions/0/loopExit is not inside a loop",
        ),
        (
            ok.replace("- disconnect: {name: Bye}", "- hangUp: {name: Bye}"),
            "unknown property 'hangUp' at /inboundCall/tasks/0/task/actions/2/hangUp",
        ),
    ];
    for (yaml, expected) in cases {
        let j = o.job(&yaml).await;
        assert_eq!(j["status"], "Failure", "{expected}: {j}");
        let text = messages(&j);
        assert!(text.contains(expected), "expected {expected:?} in {text}");
        assert_eq!(j["messages"][0]["type"], "Error");
        assert!(
            j["messages"][0]["dateTime"]
                .as_str()
                .unwrap()
                .ends_with('Z')
        );
    }
    // The good one passes, and dependency tracking sees it.
    let module_id = {
        let (_, l) = o
            .get("/api/v2/flows?name=unpublished%20probe&type=commonmodule")
            .await;
        l["entities"][0]["id"].as_str().unwrap().to_owned()
    };
    let ivr = o.publish(&ok).await;
    let (s, deps) = o
        .get(&format!(
            "/api/v2/architect/dependencytracking/consumingresources?id={module_id}&objectType=COMMONMODULEFLOW"
        ))
        .await;
    assert_eq!(s, 200);
    assert_eq!(deps["total"], 1);
    assert_eq!(deps["entities"][0]["id"], ivr.as_str());
    assert_eq!(deps["entities"][0]["type"], "INBOUNDCALLFLOW");
    assert_eq!(deps["entities"][0]["name"], "Main IVR");
    // The module is in use: DELETE is refused, and allowed once the caller is gone.
    let (s, v) = o
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v2/flows/{module_id}"),
            None,
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(v["status"], 409);
    let (s, _) = o
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v2/flows/{ivr}"),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = o
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v2/flows/{module_id}"),
            None,
        )
        .await;
    assert_eq!(s, 204);
    assert_eq!(o.get(&format!("/api/v2/flows/{module_id}")).await.0, 404);
}

#[tokio::test]
async fn random_job_failures_look_retryable() {
    let o = org(SandboxOptions {
        job_failure_rate: 1.0,
        ..fast()
    })
    .await;
    let j = o.job(&simple("Flaky")).await;
    assert_eq!(j["status"], "Failure");
    assert!(messages(&j).contains("exit code: 107"), "{j}");
    assert!(messages(&j).contains("Flaky"));
    o.admin(
        reqwest::Method::PUT,
        "/sandbox/faults",
        Some(json!({"job_failure_rate": 0.0})),
    )
    .await;
    assert_eq!(o.job(&simple("Flaky")).await["status"], "Success");
}

#[tokio::test]
async fn rate_limit_429_headers_and_counters() {
    let o = org(SandboxOptions {
        rate_limit: 3,
        ..fast()
    })
    .await;
    for n in 1..=3 {
        let r = o
            .http
            .get(o.url("/api/v2/routing/queues"))
            .bearer_auth(&o.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let h = r.headers();
        assert_eq!(h["inin-ratelimit-allowed"], "3");
        assert_eq!(h["inin-ratelimit-count"], n.to_string().as_str());
        let reset: u64 = h["inin-ratelimit-reset"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&reset));
        assert!(h.contains_key("inin-correlation-id"));
    }
    let r = o
        .http
        .get(o.url("/api/v2/flows"))
        .bearer_auth(&o.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(r.headers()["inin-ratelimit-allowed"], "3");
    let cid = r.headers()["inin-correlation-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let v: Value = r.json().await.unwrap();
    assert_error_body(&v, 429, "too.many.requests.retry.after");
    assert_eq!(v["contextId"], cid.as_str());
    assert_eq!(
        v["message"],
        format!("Rate limit exceeded the maximum. Retry the request in [{retry}] seconds")
    );
    // Another token has its own window; OAuth is not counted.
    let other = bench::token(&o.http, &o.base, "sandbox", "sandbox-secret")
        .await
        .unwrap();
    let r = o
        .http
        .get(o.url("/api/v2/flows"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["inin-ratelimit-count"], "1");
    // Counters per route template, 429s included.
    let c = o
        .admin(reqwest::Method::GET, "/sandbox/counters", None)
        .await;
    assert_eq!(
        c["endpoints"]["GET /api/v2/routing/queues"]["byStatus"]["200"],
        3
    );
    assert_eq!(c["endpoints"]["GET /api/v2/flows"]["byStatus"]["429"], 1);
    assert_eq!(c["endpoints"]["GET /api/v2/flows"]["rateLimited"], 1);
    assert_eq!(c["rateLimited"], 1);
    assert_eq!(c["endpoints"]["POST /oauth/token"]["byStatus"]["200"], 2);
    // Lifted at run time.
    let f = o
        .admin(
            reqwest::Method::PUT,
            "/sandbox/faults",
            Some(json!({"rate_limit": 0})),
        )
        .await;
    assert_eq!(f["rate_limit"], 0);
    assert_eq!(o.get("/api/v2/flows").await.0, 200);
}

#[tokio::test]
async fn presigned_upload_is_not_rate_limited() {
    let o = org(SandboxOptions {
        rate_limit: 2,
        ..fast()
    })
    .await;
    let (s, reg) = o
        .send(reqwest::Method::POST, "/api/v2/flows/jobs", None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(o.get("/api/v2/flows").await.0, 200);
    assert_eq!(o.get("/api/v2/flows").await.0, 429);
    let mut put = o
        .http
        .put(reg["presignedUrl"].as_str().unwrap())
        .body(simple("Limited"));
    for (k, v) in reg["headers"].as_object().unwrap() {
        put = put.header(k, v.as_str().unwrap());
    }
    let r = put.send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("inin-correlation-id"));
    assert!(!r.headers().contains_key("inin-ratelimit-count"));
}

#[tokio::test]
async fn injected_5xx_and_latency_at_run_time() {
    let o = org(fast()).await;
    let f = o
        .admin(
            reqwest::Method::PUT,
            "/sandbox/faults",
            Some(json!({"error_rate": 1.0, "latency_ms": 30})),
        )
        .await;
    assert_eq!(f["error_rate"], 1.0);
    assert_eq!(
        o.admin(reqwest::Method::GET, "/sandbox/faults", None).await,
        f
    );
    for _ in 0..6 {
        let t0 = Instant::now();
        let (s, v) = o.get("/api/v2/flows").await;
        assert!(t0.elapsed() >= Duration::from_millis(30));
        assert!(s == 503 || s == 502, "{s}");
        assert_eq!(v["status"], s.as_u16());
        assert!(v["contextId"].is_string() && v["errors"] == json!([]));
    }
    // OAuth is not subject to 5xx injection.
    assert!(
        bench::token(&o.http, &o.base, "sandbox", "sandbox-secret")
            .await
            .is_ok()
    );
    let r = o
        .http
        .put(o.url("/sandbox/faults"))
        .json(&json!({"error_rate": 0.0, "bogus": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    o.admin(
        reqwest::Method::PUT,
        "/sandbox/faults",
        Some(json!({"error_rate": 0.0, "latency_ms": 0})),
    )
    .await;
    assert_eq!(o.get("/api/v2/flows").await.0, 200);
}

#[tokio::test]
async fn concurrent_jobs() {
    let o = std::sync::Arc::new(
        org(SandboxOptions {
            job_duration_ms: 100,
            ..fast()
        })
        .await,
    );
    let mut tasks = Vec::new();
    for i in 0..20 {
        let o = o.clone();
        tasks.push(tokio::spawn(async move {
            o.job(&simple(&format!("Flow {i:02}"))).await
        }));
    }
    // And five jobs for one flow at once: one flow, five versions.
    for _ in 0..5 {
        let o = o.clone();
        tasks.push(tokio::spawn(async move { o.job(&simple("Shared")).await }));
    }
    let t0 = Instant::now();
    for t in tasks {
        let j = t.await.unwrap();
        assert_eq!(j["status"], "Success", "{j}");
    }
    // 25 jobs of 100 ms each ran concurrently, not one after another.
    assert!(
        t0.elapsed() < Duration::from_millis(2000),
        "{:?}",
        t0.elapsed()
    );
    let (_, l) = o.get("/api/v2/flows?pageSize=100").await;
    assert_eq!(l["total"], 21);
    let (_, l) = o.get("/api/v2/flows?name=shared").await;
    assert_eq!(l["entities"][0]["publishedVersion"]["id"], "5.0");
}

#[tokio::test]
async fn thousands_of_flows_with_paging_and_filters() {
    let o = std::sync::Arc::new(org(fast()).await);
    const N: usize = 2100;
    let mut tasks = Vec::new();
    for w in 0..16 {
        let o = o.clone();
        tasks.push(tokio::spawn(async move {
            for i in (w..N).step_by(16) {
                let (ty, name) = if i % 3 == 0 {
                    ("COMMONMODULE", format!("Module {i:04}"))
                } else {
                    ("INBOUNDCALL", format!("Inbound {i:04}"))
                };
                let (s, f) = o
                    .send(
                        reqwest::Method::POST,
                        "/api/v2/flows",
                        Some(json!({"name": name, "type": ty, "description": "bulk"})),
                    )
                    .await;
                assert_eq!(s, 200, "{f}");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // Page through everything with the maximum page size.
    let (_, first) = o.get("/api/v2/flows?pageSize=500").await;
    assert_eq!(first["total"], N);
    assert_eq!(first["pageCount"], 5);
    assert_eq!(first["pageNumber"], 1);
    assert_eq!(first["firstUri"], "/api/v2/flows?pageSize=500&pageNumber=1");
    assert_eq!(first["nextUri"], "/api/v2/flows?pageSize=500&pageNumber=2");
    assert_eq!(first["lastUri"], "/api/v2/flows?pageSize=500&pageNumber=5");
    assert!(first.get("previousUri").is_none());
    let mut ids = std::collections::HashSet::new();
    let mut names = Vec::new();
    for p in 1..=5 {
        let (_, l) = o
            .get(&format!("/api/v2/flows?pageSize=500&pageNumber={p}"))
            .await;
        for e in l["entities"].as_array().unwrap() {
            ids.insert(e["id"].as_str().unwrap().to_owned());
            names.push(e["name"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(ids.len(), N);
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(names, sorted, "sorted by name");
    // Default page size 25; type filter repeatable; name is a case-insensitive substring.
    let (_, l) = o.get("/api/v2/flows?type=commonmodule").await;
    assert_eq!(l["total"], N.div_ceil(3));
    assert_eq!(l["pageSize"], 25);
    assert_eq!(l["entities"][0]["type"], "COMMONMODULE");
    let (_, l) = o
        .get("/api/v2/flows?type=commonmodule&type=inboundcall")
        .await;
    assert_eq!(l["total"], N);
    let (_, l) = o.get("/api/v2/flows?name=ULE%20000").await;
    assert_eq!(l["total"], 4); // Module 0000, 0003, 0006, 0009
    let (_, l) = o
        .get("/api/v2/flows?name=module&sortBy=name&sortOrder=desc&pageSize=1")
        .await;
    assert_eq!(l["entities"][0]["name"], "Module 2097");
    // `id` overrides the other filters.
    let some: Vec<&String> = ids.iter().take(2).collect();
    let (_, l) = o
        .get(&format!(
            "/api/v2/flows?name=zzz&id={}&id={}",
            some[0], some[1]
        ))
        .await;
    assert_eq!(l["total"], 2);
    // Past the end: empty page, same totals.
    let (_, l) = o.get("/api/v2/flows?pageSize=500&pageNumber=9").await;
    assert_eq!(l["entities"], json!([]));
    assert_eq!(l["total"], N);
    let (s, v) = o.get("/api/v2/flows?pageSize=501").await;
    assert_eq!(s, 400);
    assert_error_body(&v, 400, "bad.request");
}

#[tokio::test]
async fn client_disconnect_mid_request() {
    let o = org(SandboxOptions {
        latency_ms: 300,
        ..fast()
    })
    .await;
    for _ in 0..5 {
        let fut = o
            .http
            .get(o.url("/api/v2/flows"))
            .bearer_auth(&o.token)
            .send();
        assert!(
            tokio::time::timeout(Duration::from_millis(30), fut)
                .await
                .is_err()
        );
    }
    // A job upload aborted mid-way is harmless too.
    let (_, reg) = o
        .send(reqwest::Method::POST, "/api/v2/flows/jobs", None)
        .await;
    o.admin(
        reqwest::Method::PUT,
        "/sandbox/faults",
        Some(json!({"latency_ms": 0})),
    )
    .await;
    let (s, _) = o.get("/api/v2/flows").await;
    assert_eq!(s, 200);
    let mut put = o
        .http
        .put(reg["presignedUrl"].as_str().unwrap())
        .body(simple("After disconnects"));
    for (k, v) in reg["headers"].as_object().unwrap() {
        put = put.header(k, v.as_str().unwrap());
    }
    assert_eq!(put.send().await.unwrap().status(), 200);
    assert_eq!(o.job(&simple("Still works")).await["status"], "Success");
}

#[tokio::test]
async fn flows_crud_and_actions_with_locks() {
    let o = org_as(
        SandboxOptions {
            clients: vec!["a:a-secret".into(), "b:b-secret".into()],
            ..fast()
        },
        "a",
        "a-secret",
    )
    .await;
    let b = Org {
        base: o.base.clone(),
        http: o.http.clone(),
        token: bench::token(&o.http, &o.base, "b", "b-secret")
            .await
            .unwrap(),
    };
    let post = reqwest::Method::POST;
    let (s, f) = o
        .send(
            post.clone(),
            "/api/v2/flows",
            Some(json!({"name": "Empty", "type": "inboundcall"})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(f["type"], "INBOUNDCALL");
    assert!(f.get("publishedVersion").is_none());
    let id = f["id"].as_str().unwrap().to_owned();
    let (s, v) = o
        .send(
            post.clone(),
            "/api/v2/flows",
            Some(json!({"name": "empty", "type": "INBOUNDCALL"})),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    let (s, _) = o
        .send(
            post.clone(),
            "/api/v2/flows",
            Some(json!({"name": "X", "type": "nonsense"})),
        )
        .await;
    assert_eq!(s, 400);
    let (s, _) = o
        .send(
            post.clone(),
            "/api/v2/flows",
            Some(json!({"type": "inboundcall"})),
        )
        .await;
    assert_eq!(s, 400);
    // Nothing to publish yet.
    let (s, v) = o
        .send(
            post.clone(),
            &format!("/api/v2/flows/actions/publish?flow={id}"),
            None,
        )
        .await;
    assert_eq!(s, 400, "{v}");
    // PUT renames.
    let (s, f) = o
        .send(
            reqwest::Method::PUT,
            &format!("/api/v2/flows/{id}"),
            Some(json!({"name": "Renamed", "description": "d", "type": "INBOUNDCALL"})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(f["name"], "Renamed");
    assert_eq!(f["description"], "d");
    // A job for that name publishes into the same flow.
    assert_eq!(o.publish(&simple("Renamed")).await, id);
    // Checkout by a; b is locked out of checkout, publish, PUT, delete, and its jobs fail.
    let (s, f) = o
        .send(
            post.clone(),
            &format!("/api/v2/flows/actions/checkout?flow={id}"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(f["lockedClient"]["id"], "a");
    for (m, p) in [
        (
            post.clone(),
            format!("/api/v2/flows/actions/checkout?flow={id}"),
        ),
        (
            post.clone(),
            format!("/api/v2/flows/actions/publish?flow={id}"),
        ),
        (
            post.clone(),
            format!("/api/v2/flows/actions/checkin?flow={id}"),
        ),
        (reqwest::Method::DELETE, format!("/api/v2/flows/{id}")),
    ] {
        let (s, v) = b.send(m, &p, None).await;
        assert_eq!(s, 409, "{p}: {v}");
        assert_eq!(v["status"], 409);
    }
    let j = b.job(&simple("Renamed")).await;
    assert_eq!(j["status"], "Failure");
    assert!(messages(&j).contains("locked"));
    // a publishes (version 2.0) and checks in.
    let (s, op) = o
        .send(
            post.clone(),
            &format!("/api/v2/flows/actions/publish?flow={id}"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(op["actionName"], "PUBLISH");
    assert_eq!(op["actionStatus"], "SUCCESS");
    assert_eq!(op["complete"], true);
    let (s, f) = o.get(&format!("/api/v2/flows/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(f["publishedVersion"]["id"], "2.0");
    let (s, _) = o
        .send(
            post.clone(),
            &format!("/api/v2/flows/actions/checkout?flow={id}"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (s, op) = o
        .send(
            post.clone(),
            &format!("/api/v2/flows/actions/checkin?flow={id}"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(op["actionName"], "CHECKIN");
    let (s, _) = o
        .send(
            post.clone(),
            &format!("/api/v2/flows/actions/checkin?flow={id}"),
            None,
        )
        .await;
    assert_eq!(s, 400, "not checked out");
    // b checks out, a force-unlocks.
    let (s, _) = b
        .send(
            post.clone(),
            &format!("/api/v2/flows/actions/checkout?flow={id}"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (s, f) = o
        .send(
            post.clone(),
            &format!("/api/v2/flows/actions/unlock?flow={id}"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert!(f.get("lockedClient").is_none());
    let (s, _) = o
        .send(post.clone(), "/api/v2/flows/actions/unlock", None)
        .await;
    assert_eq!(s, 400);
    let (s, _) = o
        .send(
            post.clone(),
            "/api/v2/flows/actions/unlock?flow=00000000-0000-0000-0000-000000000000",
            None,
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = o
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v2/flows/{id}"),
            None,
        )
        .await;
    assert_eq!(s, 204);
}

#[tokio::test]
async fn routing_queues() {
    let o = org(SandboxOptions {
        queues: vec!["General".into(), "Support".into(), "Support VIP".into()],
        ..fast()
    })
    .await;
    let (s, l) = o.get("/api/v2/routing/queues").await;
    assert_eq!(s, 200);
    assert_eq!(l["total"], 3);
    assert_eq!(l["entities"][0]["name"], "General");
    assert_eq!(l["entities"][0]["division"]["name"], "Home");
    let (_, l) = o.get("/api/v2/routing/queues?name=support").await;
    assert_eq!(l["total"], 1, "exact, case-insensitive");
    let (_, l) = o.get("/api/v2/routing/queues?name=Supp*").await;
    assert_eq!(l["total"], 2, "prefix");
    let (_, l) = o
        .get("/api/v2/routing/queues?pageSize=2&pageNumber=2")
        .await;
    assert_eq!(l["entities"].as_array().unwrap().len(), 1);
    assert_eq!(l["pageCount"], 2);
    let qid = l["entities"][0]["id"].as_str().unwrap().to_owned();
    let (s, q) = o.get(&format!("/api/v2/routing/queues/{qid}")).await;
    assert_eq!(s, 200);
    assert_eq!(q["name"], "Support VIP");
    assert_eq!(q["selfUri"], format!("/api/v2/routing/queues/{qid}"));
    let (s, v) = o
        .get("/api/v2/routing/queues/00000000-0000-0000-0000-000000000000")
        .await;
    assert_eq!(s, 404);
    assert_error_body(&v, 404, "not.found");
    // A queue added at run time can be transferred to.
    let yaml = inbound("Q", "M", "Billing").replace(
        "          - callCommonModule:\n              name: Lookup\n              commonModule:\n                M:\n                  ver_latestPublished:\n                    inputs: {}\n                    outputs:\n                      Common.tier: {var: Flow.tier}\n",
        "",
    );
    assert!(messages(&o.job(&yaml).await).contains("Unable to find queue 'Billing'"));
    let r = o
        .http
        .post(o.url("/sandbox/queues"))
        .json(&json!({"name": "Billing"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    o.publish(&yaml).await;
    // Dependency tracking needs id and objectType; unknown ids have no consumers.
    let (s, _) = o
        .get("/api/v2/architect/dependencytracking/consumingresources?objectType=COMMONMODULEFLOW")
        .await;
    assert_eq!(s, 400);
    let (s, l) = o
        .get("/api/v2/architect/dependencytracking/consumingresources?id=nope&objectType=COMMONMODULEFLOW")
        .await;
    assert_eq!(s, 200);
    assert_eq!(l["total"], 0);
}

#[tokio::test]
async fn reset_clears_state_but_keeps_clients_and_queues() {
    let o = org(fast()).await;
    o.publish(&simple("Before reset")).await;
    o.http
        .post(o.url("/sandbox/queues"))
        .json(&json!({"name": "Added"}))
        .send()
        .await
        .unwrap();
    o.admin(
        reqwest::Method::PUT,
        "/sandbox/faults",
        Some(json!({"latency_ms": 5})),
    )
    .await;
    let r = o.http.post(o.url("/sandbox/reset")).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert!(r.headers().contains_key("inin-correlation-id"));
    assert_eq!(o.get("/api/v2/flows").await.0, 401, "tokens cleared");
    let o = Org {
        token: bench::token(&o.http, &o.base, "sandbox", "sandbox-secret")
            .await
            .unwrap(),
        ..o
    };
    let (_, l) = o.get("/api/v2/flows").await;
    assert_eq!(l["total"], 0);
    let (_, l) = o.get("/api/v2/routing/queues?name=Added").await;
    assert_eq!(l["total"], 1);
    assert_eq!(
        o.admin(reqwest::Method::GET, "/sandbox/faults", None).await["latency_ms"],
        0
    );
    let c = o
        .admin(reqwest::Method::GET, "/sandbox/counters", None)
        .await;
    assert_eq!(c["endpoints"]["GET /api/v2/flows"]["total"], 2);
    assert_eq!(c["endpoints"]["GET /api/v2/flows"]["byStatus"]["401"], 1);
    assert!(c["endpoints"].get("PUT /sandbox-uploads/{jobId}").is_none());
}

#[tokio::test]
async fn reset_during_a_job_drops_it() {
    let o = org(SandboxOptions {
        job_duration_ms: 200,
        ..fast()
    })
    .await;
    let (_, reg) = o
        .send(reqwest::Method::POST, "/api/v2/flows/jobs", None)
        .await;
    let mut put = o
        .http
        .put(reg["presignedUrl"].as_str().unwrap())
        .body(simple("Orphan"));
    for (k, v) in reg["headers"].as_object().unwrap() {
        put = put.header(k, v.as_str().unwrap());
    }
    assert_eq!(put.send().await.unwrap().status(), 200);
    o.http.post(o.url("/sandbox/reset")).send().await.unwrap();
    // Wait past the job's end; the old job must not write into the new state.
    let deadline = Instant::now() + Duration::from_millis(600);
    while Instant::now() < deadline {
        let f = o.admin(reqwest::Method::GET, "/sandbox/flows", None).await;
        assert_eq!(f["total"], 0, "{f}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn serve_stops_on_shutdown() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(flowsmith_sandbox::serve(
        listener,
        flowsmith_sandbox::Sandbox::new(SandboxOptions::default()),
        async {
            let _ = rx.await;
        },
    ));
    let http = Client::new();
    assert!(
        bench::token(&http, &base, "sandbox", "sandbox-secret")
            .await
            .is_ok()
    );
    drop(http);
    tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("server stops")
        .unwrap()
        .unwrap();
}

/// `{{name}}` Terraform placeholders filled, as Terraform's substitutions do before upload.
fn fill_placeholders(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find("}}") else { break };
        out.push_str("SUBST");
        rest = &rest[i + j + 2..];
    }
    out.push_str(rest);
    out
}

/// Queue names a flow file names as `targetQueue: {lit: {name}}`, anywhere.
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

/// Data actions (`callData.category.<integration>.dataAction.<action>` with the inputs and
/// success outputs mapped) and data tables (`dataTableLookup.dataTable.<table>` with the
/// found outputs) a flow file names, anywhere, as admin bodies (fields typed string; one
/// body per object, the union of what its uses map).
fn org_objects(
    v: &serde_yaml_ng::Value,
    actions: &mut BTreeMap<(String, String), Value>,
    tables: &mut BTreeMap<String, Value>,
) {
    use serde_yaml_ng::Value as Y;
    let keys = |v: Option<&Y>| -> Vec<String> {
        v.and_then(Y::as_mapping)
            .map(|m| {
                m.keys()
                    .filter_map(|k| k.as_str().map(str::to_owned))
                    .collect()
            })
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
                                // Real exports name actions by numbers too (`2445093:`).
                                let text = |k: &Y| match k {
                                    Y::Number(n) => n.to_string(),
                                    k => k.as_str().unwrap().to_owned(),
                                };
                                let (i, a) = (text(integration), text(action));
                                let body = actions.entry((i.clone(), a.clone())).or_insert_with(|| {
                                    json!({"integration": i, "name": a, "inputs": {}, "outputs": {}})
                                });
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
                            let t = match table {
                                Y::Number(n) => n.to_string(),
                                k => k.as_str().unwrap().to_owned(),
                            };
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
                org_objects(v, actions, tables);
            }
        }
        Y::Sequence(s) => s.iter().for_each(|x| org_objects(x, actions, tables)),
        _ => {}
    }
}

/// Creates, in the org, the queues, data actions, data tables, schedule groups and prompts a
/// flow file names.
async fn create_named_objects(o: &Org, doc: &serde_yaml_ng::Value) {
    use flowsmith_sandbox::archy::{OrgObject, analyze};
    let yaml = serde_yaml_ng::to_string(doc).unwrap();
    for named in analyze(&yaml).map(|a| a.objects).unwrap_or_default() {
        match named.object {
            OrgObject::ScheduleGroup(name) => {
                o.admin(
                    reqwest::Method::POST,
                    "/sandbox/schedule-groups",
                    Some(json!({"name": name, "state": "open"})),
                )
                .await;
            }
            OrgObject::Prompt(name) => {
                o.admin(
                    reqwest::Method::POST,
                    "/sandbox/prompts",
                    Some(json!({"name": name})),
                )
                .await;
            }
            _ => {}
        }
    }
    let mut queues = Vec::new();
    queue_names(doc, &mut queues);
    for q in queues {
        o.admin(
            reqwest::Method::POST,
            "/sandbox/queues",
            Some(json!({"name": q})),
        )
        .await;
    }
    let mut actions = BTreeMap::new();
    let mut tables = BTreeMap::new();
    org_objects(doc, &mut actions, &mut tables);
    for body in actions.into_values() {
        o.admin(reqwest::Method::POST, "/sandbox/data-actions", Some(body))
            .await;
    }
    for body in tables.into_values() {
        o.admin(reqwest::Method::POST, "/sandbox/data-tables", Some(body))
            .await;
    }
}

/// The 4 common modules of the corpus and the 2 inbound flows that call them (exports from
/// real orgs, tests/fixtures/archy-corpus/SOURCES.md "Common modules and their callers")
/// publish, the callers after their modules, once the org objects they name exist; a
/// caller is refused before its module is published.
#[tokio::test]
async fn corpus_modules_and_their_callers_publish() {
    let o = org(fast()).await;
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .join("tests/fixtures/archy-corpus");
    let read = |f: &str| fill_placeholders(&std::fs::read_to_string(dir.join(f)).unwrap());
    let caller = read("cx-as-code-export__CI_CD_Test_Flow-INBOUNDCALL.yaml");
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&caller).unwrap();
    create_named_objects(&o, &doc).await;
    let early = o.job(&caller).await;
    assert_eq!(early["status"], "Failure");
    assert!(
        messages(&early).contains("Unable to find common module flow '2445093_Lang'"),
        "{}",
        messages(&early)
    );
    let files = [
        "cx-as-code-export__2445093_Lang-COMMONMODULE.yaml",
        "darbyje-advanced-session__Terraform_CM_v2-0.yaml",
        "merge-ephemeral-message-to-external-contact-blueprint__ResolveContact.yaml",
        "send-message-transcript-by-email__resolve-contact.yaml",
        "cx-as-code-export__CI_CD_Test_Flow-INBOUNDCALL.yaml",
        "darbyje-advanced-session__Terraform_Inbound_Flow_v1-0.yaml",
    ];
    let mut types = Vec::new();
    for f in files {
        let yaml = read(f);
        let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&yaml).unwrap();
        create_named_objects(&o, &doc).await;
        let j = o.job(&yaml).await;
        assert_eq!(j["status"], "Success", "{f}: {}", messages(&j));
        let (_, flow) = o
            .get(&format!(
                "/api/v2/flows/{}",
                j["flow"]["id"].as_str().unwrap()
            ))
            .await;
        types.push(flow["type"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        types,
        [
            "COMMONMODULE",
            "COMMONMODULE",
            "COMMONMODULE",
            "COMMONMODULE",
            "INBOUNDCALL",
            "INBOUNDCALL"
        ]
    );
}

/// A call into a module whose `settingsCommonModule.compatibleFlowTypes` lacks the caller's
/// flow type is refused, as Genesys refuses it; a module without the setting is compatible
/// with nothing; the `module_compatibility` option (on by default) turns the check off.
#[tokio::test]
async fn a_call_into_an_incompatible_module_is_refused() {
    let o = org(fast()).await;
    let module = |types: &str| {
        format!(
            "commonModule:\n  name: Mod\n  division: Home\n  defaultLanguage: en-us\n  supportedLanguages:\n    en-us:\n      none: true\n{types}  startUpTaskActions:\n    - playAudio: {{name: Hi, audio: {{tts: Hello}}}}\n"
        )
    };
    let caller = "inboundCall:\n  name: Line\n  defaultLanguage: en-us\n  startUpRef: \"/inboundCall/tasks/task[Main]\"\n  initialGreeting: {tts: Hi}\n  supportedLanguages:\n    en-us:\n      defaultLanguageSkill: {noValue: true}\n  tasks:\n    - task:\n        name: Main\n        refId: Main\n        actions:\n          - callCommonModule: {name: Call, commonModule: {Mod: {ver_latestPublished: {none: true}}}}\n          - disconnect: {name: Bye}\n";
    let workflow_only =
        "  settingsCommonModule:\n    compatibleFlowTypes:\n      - flowType: workflow\n";
    for (setting, allowed) in [(workflow_only, "workflow"), ("", "")] {
        let m = o.job(&module(setting)).await;
        assert_eq!(m["status"], "Success", "{}", messages(&m));
        let j = o.job(caller).await;
        assert_eq!(j["status"], "Failure", "{setting}");
        let want = format!(
            "Error: Flow 'Line': common module flow 'Mod' called by action 'Call' is not compatible with flow type 'inboundcall' (its settingsCommonModule.compatibleFlowTypes: [{allowed}])"
        );
        assert!(messages(&j).contains(&want), "{}", messages(&j));
    }
    let inbound = "  settingsCommonModule:\n    compatibleFlowTypes:\n      - flowType: inqueuecall\n      - flowType: inboundcall\n";
    let m = o.job(&module(inbound)).await;
    assert_eq!(m["status"], "Success", "{}", messages(&m));
    let j = o.job(caller).await;
    assert_eq!(j["status"], "Success", "{}", messages(&j));
    // With the option off, a module without the setting may be called.
    let m = o.job(&module("")).await;
    assert_eq!(m["status"], "Success", "{}", messages(&m));
    assert_eq!(o.job(caller).await["status"], "Failure");
    o.admin(
        reqwest::Method::PUT,
        "/sandbox/faults",
        Some(json!({"module_compatibility": false})),
    )
    .await;
    let j = o.job(caller).await;
    assert_eq!(j["status"], "Success", "{}", messages(&j));
}

/// Every voice flow Genesys published (tests/fixtures/archy-corpus, MIT) publishes through
/// the real Architect job flow once the queues, data actions and data tables it names
/// exist; a file naming data actions or tables is refused before they are created.
#[tokio::test]
async fn every_voice_flow_of_the_corpus_publishes() {
    let o = org(fast()).await;
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .join("tests/fixtures/archy-corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .filter(|p| {
            let t = std::fs::read_to_string(p).unwrap();
            let voice = ["inboundCall:", "inqueueCall:", "outboundCall:"]
                .iter()
                .any(|r| t.starts_with(r) || t.contains(&format!("\n{r}")));
            // The callers of common modules publish after their modules (below).
            voice && !t.contains("callCommonModule")
        })
        .collect();
    files.sort();
    assert_eq!(files.len(), 26);
    let mut types = std::collections::BTreeMap::<String, usize>::new();
    let mut with_objects = 0;
    let mut created = std::collections::BTreeSet::new();
    for path in files {
        let yaml = fill_placeholders(&std::fs::read_to_string(&path).unwrap());
        let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&yaml).unwrap();
        let mut queues = Vec::new();
        queue_names(&doc, &mut queues);
        for q in queues {
            o.admin(
                reqwest::Method::POST,
                "/sandbox/queues",
                Some(json!({"name": q})),
            )
            .await;
        }
        let mut actions = BTreeMap::new();
        let mut tables = BTreeMap::new();
        org_objects(&doc, &mut actions, &mut tables);
        let names: Vec<String> = actions
            .keys()
            .map(|(i, a)| format!("{i}/{a}"))
            .chain(tables.keys().cloned())
            .collect();
        if names.iter().any(|n| !created.contains(n)) {
            with_objects += 1;
            created.extend(names);
            let j = o.job(&yaml).await;
            assert_eq!(j["status"], "Failure", "{}", path.display());
            assert!(
                messages(&j).contains("Unable to find data"),
                "{}: {}",
                path.display(),
                messages(&j)
            );
        }
        for body in actions.into_values() {
            o.admin(reqwest::Method::POST, "/sandbox/data-actions", Some(body))
                .await;
        }
        for body in tables.into_values() {
            o.admin(reqwest::Method::POST, "/sandbox/data-tables", Some(body))
                .await;
        }
        let j = o.job(&yaml).await;
        assert_eq!(
            j["status"],
            "Success",
            "{}: {}",
            path.display(),
            messages(&j)
        );
        let (_, flow) = o
            .get(&format!(
                "/api/v2/flows/{}",
                j["flow"]["id"].as_str().unwrap()
            ))
            .await;
        *types
            .entry(flow["type"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let expected: std::collections::BTreeMap<String, usize> =
        [("INBOUNDCALL", 19), ("INQUEUECALL", 5), ("OUTBOUNDCALL", 2)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
    assert_eq!(types, expected);
    // callback-prioritization, ani-blacklist and CacheExampleFlow (the second copy finds
    // its table already created).
    assert!(with_objects >= 3, "{with_objects}");
}

/// The seed compiled by flowsmith, published through the real job flow, and a call placed
/// through the published files with the Archy interpreter (`POST /sandbox/calls`): the
/// module's published file runs and hands its output back; the result is what the template
/// simulator says.
#[tokio::test]
async fn calls_run_through_published_flows_and_modules() {
    use flowsmith::compile::{self, CompileContext, ModuleTarget};
    use flowsmith::template::{self, FlowType};
    use flowsmith::validate;
    let read = |p: &str| -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(
                std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(p),
            )
            .unwrap(),
        )
        .unwrap()
    };
    let module_doc = read("tests/fixtures/seed_shared_module.json");
    let caller_doc = read("tests/fixtures/seed_inbound_flow.json");
    let module = validate::validate(&module_doc, &validate::NoModules)
        .flow
        .unwrap();
    let catalog: std::collections::BTreeMap<_, _> =
        [(module.name.clone(), validate::interface(&module))].into();
    let params: serde_json::Map<String, Value> = [("queue_id".to_owned(), json!("Support"))]
        .into_iter()
        .collect();
    let report = validate::validate_with_params(&caller_doc, &params, &catalog);
    assert!(!report.has_errors(), "{:?}", report.findings);
    let caller = report.flow.unwrap();
    let targets: std::collections::BTreeMap<String, ModuleTarget> =
        [(module.name.clone(), ModuleTarget::of(&module, &module.name))].into();
    let queues = std::collections::BTreeMap::new();
    let compile_as = |f: &template::Flow, t: FlowType| {
        compile::compile(
            f,
            &CompileContext {
                flow_name: &f.name,
                as_type: t,
                modules: &targets,
                queue_names: &queues,
            },
        )
        .unwrap()
        .yaml
    };
    let o = org(fast()).await;
    // Before anything is published there is nothing to call.
    let r = o
        .http
        .post(o.url("/sandbox/calls"))
        .json(&json!({"flow": caller.name, "inputs": ["1"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    o.publish(&compile_as(&module, FlowType::Module)).await;
    o.publish(&compile_as(&caller, FlowType::Inbound)).await;
    let modules = [(module.name.clone(), module.clone())].into();
    for inputs in [vec!["1"], vec!["2"], vec![], vec!["timeout"], vec!["12"]] {
        let call = o
            .admin(
                reqwest::Method::POST,
                "/sandbox/calls",
                Some(json!({"flow": caller.name.to_lowercase(), "inputs": inputs})),
            )
            .await;
        let sim_inputs: Vec<_> = inputs
            .iter()
            .map(|s| flowsmith::simulate::SimInput::parse(s).unwrap())
            .collect();
        let sim = flowsmith::simulate::simulate(
            &caller,
            &modules,
            &sim_inputs,
            flowsmith::simulate::DEFAULT_MAX_STEPS,
        );
        let sim = serde_json::to_value(&sim).unwrap();
        assert_eq!(call["outcome"], sim["outcome"], "{inputs:?}: {call}");
        assert_eq!(call["transcript"], sim["transcript"], "{inputs:?}: {call}");
        assert_eq!(call["variables"], sim["variables"], "{inputs:?}: {call}");
        assert!(call["actions"].as_u64().unwrap() >= 3, "{call}");
    }
    let one = o
        .admin(
            reqwest::Method::POST,
            "/sandbox/calls",
            Some(json!({"flow": caller.name, "inputs": ["1"]})),
        )
        .await;
    assert_eq!(one["outcome"]["kind"], "routed", "{one}");
    assert_eq!(one["outcome"]["queue"], "Support", "{one}");
    assert_eq!(one["variables"]["shared_module_result"], "1", "{one}");
    assert!(
        one["transcript"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["flow"] == module.name),
        "the module's published file ran: {one}"
    );
    // Bad requests are 400s that say what is wrong.
    for (body, expect) in [
        (json!({"flow": caller.name, "inputs": ["1x"]}), "inputs/0"),
        (json!({"flow": caller.name, "maxActions": 0}), "maxActions"),
        (json!({"flow": caller.name, "extra": 1}), "unknown field"),
    ] {
        let r = o
            .http
            .post(o.url("/sandbox/calls"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body}");
        let v: Value = r.json().await.unwrap();
        assert!(v["message"].as_str().unwrap().contains(expect), "{v}");
    }
}

/// The org-object admin API refuses bad bodies with a 400 naming the place, creates (201)
/// or replaces (200) by name, and the Platform API listings serve the objects in the SDK
/// shapes with name/category filters and paging.
#[tokio::test]
async fn org_objects_admin_api_and_platform_listings() {
    let o = org(fast()).await;
    let post = |p: &'static str, body: Value| {
        let http = o.http.clone();
        let url = o.url(p);
        async move {
            let r = http.post(url).json(&body).send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let verify = json!({
        "integration": "Customer DB", "name": "Verify PIN",
        "inputs": {"account": "string", "pin": "string"},
        "outputs": {"valid": "boolean", "customerId": "string"},
        "responses": [{"when": {"account": "1001", "pin": "1234"}, "outputs": {"valid": true, "customerId": "C-1001"}}]
    });
    let (s, v) = post("/sandbox/data-actions", verify.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _) = post("/sandbox/data-actions", verify.clone()).await;
    assert_eq!(s, StatusCode::OK);
    let mut bad = verify.clone();
    bad["responses"][0]["outputs"]["valid"] = json!("yes");
    let (s, v) = post("/sandbox/data-actions", bad).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("/responses/0/outputs/valid"),
        "{v}"
    );
    let (s, v) = post(
        "/sandbox/data-actions",
        json!({"integration": "X", "name": "Y", "inputs": {"a": "date"}}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, _) = post(
        "/sandbox/data-actions",
        json!({"integration": "Customer DB", "name": "Other"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = post(
        "/sandbox/data-tables",
        json!({"name": "Accounts", "key": "account",
        "columns": {"tier": "string"}, "rows": {"1001": {"tier": "gold", "colour": "red"}}}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        v["message"].as_str().unwrap().contains("/rows/1001/colour"),
        "{v}"
    );
    let (s, _) = post(
        "/sandbox/data-tables",
        json!({"name": "Accounts", "key": "account",
        "columns": {"tier": "string"}, "rows": {"1001": {"tier": "gold"}}}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = post(
        "/sandbox/schedule-groups",
        json!({"name": "Office Hours", "state": "sometimes"}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, _) = post(
        "/sandbox/schedule-groups",
        json!({"name": "Office Hours", "state": "closed"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = post("/sandbox/prompts", json!({"name": "Welcome"})).await;
    assert_eq!(s, StatusCode::CREATED);

    let (s, v) = o
        .get("/api/v2/integrations/actions?category=Customer%20DB&pageSize=1")
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["total"], 2);
    assert_eq!(v["pageCount"], 2);
    assert!(v["nextUri"].as_str().unwrap().contains("pageNumber=2"));
    assert_eq!(v["entities"][0]["name"], "Other");
    let (_, v) = o
        .get("/api/v2/integrations/actions?name=Verify%20PIN")
        .await;
    assert_eq!(v["total"], 1);
    let a = &v["entities"][0];
    assert_eq!(a["category"], "Customer DB");
    assert_eq!(
        a["contract"]["input"]["inputSchema"]["properties"]["pin"]["type"],
        "string"
    );
    assert_eq!(
        a["contract"]["output"]["successSchema"]["properties"]["valid"]["type"],
        "boolean"
    );
    let (_, v) = o
        .get("/api/v2/flows/datatables?name=Accounts&expand=schema")
        .await;
    assert_eq!(
        v["entities"][0]["schema"]["properties"]["key"]["title"],
        "account"
    );
    let (_, v) = o.get("/api/v2/flows/datatables?name=Nope").await;
    assert_eq!(v["total"], 0);
    let (_, v) = o
        .get("/api/v2/architect/schedulegroups?name=office%20hours")
        .await;
    assert_eq!(v["entities"][0]["name"], "Office Hours");
    assert_eq!(v["entities"][0]["state"], "active");
    let (_, v) = o.get("/api/v2/architect/prompts?name=Welcome").await;
    assert_eq!(v["entities"][0]["name"], "Welcome");
    let (s, _) = o.get("/api/v2/architect/prompts?pageSize=0").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let everything = o.admin(reqwest::Method::GET, "/sandbox/org", None).await;
    assert_eq!(everything["scheduleGroups"][0]["state"], "closed");
    assert_eq!(everything["dataActions"].as_array().unwrap().len(), 2);
}

/// An inbound menu compiled to a `menus` entry, published through the real job flow, and
/// called through `POST /sandbox/calls`: digits pick choices, a wrong digit and no input use
/// up the repeats, and the default choice runs; each call is what the simulator says.
#[tokio::test]
async fn calls_run_inbound_menus() {
    use flowsmith::compile::{self, CompileContext};
    use flowsmith::template::FlowType;
    use flowsmith::validate;
    let doc = json!({
        "name": "Menu_Calls", "type": "inbound",
        "draft": {"startNode": "Main", "nodes": {
            "Main": {"id": "Main", "type": "Menu",
                "properties": {"prompt": "Sales 1, support 2", "repeat": 2,
                    "choices": [{"digit": "1", "nextNode": "Sales"},
                                {"digit": "2", "nextNode": "Support"}]},
                "onError": {"nextNode": "Support"}},
            "Sales": {"id": "Sales", "type": "Route", "properties": {"queueName": "General"}},
            "Support": {"id": "Support", "type": "Say", "properties": {"sayText": "Support"},
                "onComplete": {"nextNode": "ToSupport"}},
            "ToSupport": {"id": "ToSupport", "type": "Route", "properties": {"queueName": "Support"},
                "onError": {"nextNode": "Main"}}
        }}
    });
    let flow = validate::validate(&doc, &validate::NoModules).flow.unwrap();
    let none = std::collections::BTreeMap::new();
    let yaml = compile::compile(
        &flow,
        &CompileContext {
            flow_name: &flow.name,
            as_type: FlowType::Inbound,
            modules: &none,
            queue_names: &std::collections::BTreeMap::new(),
        },
    )
    .unwrap()
    .yaml;
    assert!(yaml.contains("  menus:\n"), "{yaml}");
    let o = org(fast()).await;
    o.publish(&yaml).await;
    for (inputs, queue) in [
        (vec!["1"], "General"),
        (vec!["2"], "Support"),
        (vec!["7", "timeout"], "Support"),
    ] {
        let call = o
            .admin(
                reqwest::Method::POST,
                "/sandbox/calls",
                Some(json!({"flow": flow.name, "inputs": inputs})),
            )
            .await;
        assert_eq!(call["outcome"]["kind"], "routed", "{inputs:?}: {call}");
        assert_eq!(call["outcome"]["queue"], queue, "{inputs:?}: {call}");
        let sim_inputs: Vec<_> = inputs
            .iter()
            .map(|s| flowsmith::simulate::SimInput::parse(s).unwrap())
            .collect();
        let sim = flowsmith::simulate::simulate(
            &flow,
            &std::collections::BTreeMap::new(),
            &sim_inputs,
            flowsmith::simulate::DEFAULT_MAX_STEPS,
        );
        let sim = serde_json::to_value(&sim).unwrap();
        assert_eq!(call["outcome"], sim["outcome"], "{inputs:?}: {call}");
        assert_eq!(call["transcript"], sim["transcript"], "{inputs:?}: {call}");
    }
}
