//! The service as its users consume it, through the real binary: a Python client generated
//! from the committed `openapi.yaml` (openapi-python-client) drives `serve --sandbox`; the
//! spec passes openapi-spec-validator; and `serve --sandbox` keeps its org across restarts.
//!
//! The Python tools come from `tests/clients/requirements.txt` (`.ci/run` installs them).
//! Without them the Python tests print SKIPPED with the reason and pass, except under `CI`,
//! where they fail.

// Test code: a panic is a failed assertion, and a scenario may read top to bottom.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

#[path = "common/db.rs"]
mod db;
#[path = "common/service.rs"]
mod service;
#[path = "common/skip.rs"]
mod skip;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use service::{Service, serve, serve_url};

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Whether the Python tools are there; otherwise says so loudly (or fails under CI).
fn python_tools(test: &str) -> bool {
    let imports = Command::new("python3")
        .args([
            "-c",
            "import openapi_spec_validator, httpx, attrs, dateutil",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    let generator = Command::new("openapi-python-client")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if imports && generator {
        return true;
    }
    let why = "python3 with openapi-spec-validator and openapi-python-client is needed: \
               pip install -r tests/clients/requirements.txt";
    skip::skip(test, why);
    false
}

fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_committed_spec_is_valid_openapi_3_1() {
    if !python_tools("the_committed_spec_is_valid_openapi_3_1") {
        return;
    }
    let out = Command::new("python3")
        .arg(root().join("tests/clients/validate_spec.py"))
        .arg(root().join("openapi.yaml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(output_text(&out).contains("valid OpenAPI 3.1"));
}

#[tokio::test]
async fn a_generated_python_client_drives_the_service() {
    if !python_tools("a_generated_python_client_drives_the_service") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let generated = Command::new("openapi-python-client")
        .args(["generate", "--meta", "none", "--path"])
        .arg(root().join("openapi.yaml"))
        .arg("--config")
        .arg(root().join("tests/clients/generator.yaml"))
        .arg("--output-path")
        .arg(dir.path().join("flowsmith_client"))
        .output()
        .unwrap();
    let text = output_text(&generated);
    assert!(generated.status.success(), "{text}");
    // Every operation and model is generated: the generator warns about anything it skips,
    // and the only thing skipped is the YAML alternative of the three bodies that take one (templates, validate, imports) (see
    // tests/clients/generator.yaml).
    let mut skipped: Vec<&str> = text.lines().filter(|l| l.starts_with("WARNING")).collect();
    skipped.sort();
    assert_eq!(
        skipped,
        [
            "WARNING parsing POST /v1/imports within templates.",
            "WARNING parsing POST /v1/templates within templates.",
            "WARNING parsing POST /v1/validate within templates."
        ],
        "{text}"
    );
    assert!(!text.contains("will not be generated"), "{text}");
    assert_eq!(
        text.matches("Unsupported content type text/plain").count(),
        3,
        "{text}"
    );
    let generate_secs = started.elapsed().as_secs_f64();

    let token = "client-smoke-token";
    let mut cmd = serve(&dir.path().join("flowsmith.db"));
    cmd.arg("--sandbox")
        .current_dir(dir.path())
        .env("FLOWSMITH_API_TOKENS", token);
    let svc = Service::spawn(cmd);
    let base = svc.url("");
    let out = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || {
            Command::new("python3")
                .arg(root().join("tests/clients/smoke.py"))
                .args([&base, token])
                .arg(root().join("examples"))
                .env("PYTHONPATH", &dir)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let text = output_text(&out);
    assert!(
        out.status.success(),
        "client smoke failed:\n{text}\nservice log:\n{}",
        svc.log_text()
    );
    assert!(text.contains("client smoke OK"), "{text}");
    eprintln!(
        "generated client: generate {generate_secs:.1} s, whole test {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

fn example(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(root().join("examples").join(name)).unwrap())
        .unwrap()
}

async fn post(client: &reqwest::Client, url: String, body: &Value) -> Value {
    let r = client.post(&url).json(body).send().await.unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert!(status.is_success(), "POST {url}: {status} {v}");
    v
}

/// Posts a job and waits for it to end; returns the finished job.
async fn run_job(client: &reqwest::Client, svc: &Service, request: &Value) -> Value {
    let job = post(client, svc.url("/v1/jobs"), request).await;
    let url = svc.url(&format!("/v1/jobs/{}", job["id"].as_str().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job: Value = client.get(&url).send().await.unwrap().json().await.unwrap();
        if matches!(
            job["status"].as_str(),
            Some("succeeded" | "failed" | "cancelled")
        ) {
            return job;
        }
        assert!(Instant::now() < deadline, "job did not end: {job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The in-process org's flows as its admin API lists them: name → (id, published version).
async fn org_flows(client: &reqwest::Client, svc: &Service) -> Vec<(String, String, String)> {
    let targets: Value = client
        .get(svc.url("/v1/targets"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let base = targets["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "sandbox")
        .expect("target sandbox")["api_base_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let flows: Value = client
        .get(format!("{base}/sandbox/flows"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    flows["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_owned(),
                f["id"].as_str().unwrap().to_owned(),
                f["publishedVersion"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// The built-in sandbox's base URL, as `/v1/targets` shows it.
async fn sandbox_url(client: &reqwest::Client, s: &Service) -> String {
    let targets: Value = client
        .get(s.url("/v1/targets"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    targets["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "sandbox")
        .unwrap_or_else(|| panic!("{targets}"))["api_base_url"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// On SQLite whatever the environment says: the sandbox org is kept beside the database
/// file, and there is no file on PostgreSQL.
fn sandbox_serve(dir: &Path) -> Service {
    let mut cmd = serve_url(&db::sqlite_url(&dir.join("flowsmith.db")));
    cmd.arg("--sandbox").current_dir(dir);
    Service::spawn(cmd)
}

#[tokio::test]
async fn serve_sandbox_keeps_its_org_across_restarts() {
    // Arrange: two flows provisioned into the built-in org, then a clean stop.
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let mut first = sandbox_serve(dir.path());
    for doc in ["language_select.json", "support_line.json"] {
        post(&client, first.url("/v1/templates"), &example(doc)).await;
    }
    let request = json!({"target": "sandbox", "flows": [
        {"template": "Language_Select"},
        {"template": "Support_Line", "name": "Support_Line_EN"}]});
    let job = run_job(&client, &first, &request).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let before = org_flows(&client, &first).await;
    assert_eq!(before.len(), 2, "{before:?}");
    let org_url = sandbox_url(&client, &first).await;
    first.sigterm();
    assert!(first.wait(Duration::from_secs(30)).await.success());
    assert!(dir.path().join("flowsmith.db-sandbox.json").is_file());

    // Act: start again over the same database.
    let second = sandbox_serve(dir.path());

    // Assert: the org is at the same address (the README's $ORG still works), with the
    // same flows, so `unchanged` is the truth...
    assert_eq!(sandbox_url(&client, &second).await, org_url);
    assert!(
        second.log_text().contains(&org_url),
        "the start-up lines name the sandbox's address: {}",
        second.log_text()
    );
    assert_eq!(org_flows(&client, &second).await, before);
    let again = run_job(&client, &second, &request).await;
    assert_eq!(again["status"], "succeeded", "{again}");
    let actions: Vec<&str> = again["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["unchanged", "unchanged"]);
    // ...and a change updates those very flows: new versions, same ids.
    let mut changed = example("language_select.json");
    let text = changed
        .to_string()
        .replace("Welcome to", "Thanks for calling");
    changed = serde_json::from_str(&text).unwrap();
    post(&client, second.url("/v1/templates"), &changed).await;
    let update = run_job(
        &client,
        &second,
        &json!({"target": "sandbox", "flows": [{"template": "Language_Select"}]}),
    )
    .await;
    assert_eq!(update["status"], "succeeded", "{update}");
    let after = org_flows(&client, &second).await;
    let ids = |v: &[(String, String, String)]| -> Vec<(String, String)> {
        v.iter().map(|(n, id, _)| (n.clone(), id.clone())).collect()
    };
    assert_eq!(ids(&after), ids(&before));
    assert!(
        after.iter().all(|(_, _, version)| version == "2.0"),
        "module updated and caller republished: {after:?}"
    );
}

/// SIGINT while the org runs the job's Architect job, then a restart: the org lost that job
/// (its upload was in memory), and the worker registers it again by itself. The job
/// succeeds with no manual step, the step says what happened, and the org has one flow.
#[tokio::test]
async fn a_job_interrupted_under_serve_sandbox_succeeds_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let mut first = sandbox_serve(dir.path());
    post(
        &client,
        first.url("/v1/templates"),
        &example("language_select.json"),
    )
    .await;
    let org = sandbox_url(&client, &first).await;
    // Architect jobs that outlast the service (faults are not kept across the restart).
    let r = client
        .put(format!("{org}/sandbox/faults"))
        .json(&json!({"job_duration_ms": 600_000}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let job = post(
        &client,
        first.url("/v1/jobs"),
        &json!({"target": "sandbox", "flows": [{"template": "Language_Select"}]}),
    )
    .await;
    let job_url = first.url(&format!("/v1/jobs/{}", job["id"].as_str().unwrap()));

    // Wait until the org runs the uploaded Architect job, then interrupt the service.
    let token: Value = client
        .post(format!("{org}/oauth/token"))
        .basic_auth("sandbox", Some("sandbox-secret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = token["access_token"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let j: Value = client
            .get(&job_url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(gid) = j["steps"][0]["genesys_job_id"].as_str() {
            let a: Value = client
                .get(format!("{org}/api/v2/flows/jobs/{gid}"))
                .bearer_auth(&bearer)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if a["status"] == "Started" {
                break;
            }
        }
        assert!(Instant::now() < deadline, "the upload never came: {j}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ok = Command::new("kill")
        .args(["-INT", &first.child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    assert!(first.wait(Duration::from_secs(40)).await.success());

    // Restart over the same database: the job resumes and ends by itself.
    let second = sandbox_serve(dir.path());
    let job_url = second.url(&format!("/v1/jobs/{}", job["id"].as_str().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(90);
    let done = loop {
        let j: Value = client
            .get(&job_url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if matches!(
            j["status"].as_str(),
            Some("succeeded" | "failed" | "cancelled")
        ) {
            break j;
        }
        assert!(Instant::now() < deadline, "job did not end: {j}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(done["status"], "succeeded", "{done:#}");
    assert!(done["attempt"].as_i64().unwrap() >= 2, "{done:#}");
    let note = &done["steps"][0]["note"];
    assert_eq!(note["kind"], "architect_job_renewed", "{done:#}");
    assert!(
        note["message"]
            .as_str()
            .unwrap()
            .contains("lost Architect job"),
        "{done:#}"
    );
    let flows = org_flows(&client, &second).await;
    assert_eq!(flows.len(), 1, "one flow per name: {flows:?}");
    assert_eq!(flows[0].0, "Language_Select");
}

/// openapi-typescript's types for the committed spec, and a typed caller using them, pass
/// `tsc --strict`. The tools are pinned in tests/clients/typescript/package.json
/// (`npm ci --prefix tests/clients/typescript`, which `.ci/run` does).
#[test]
fn a_generated_typescript_client_type_checks() {
    let ts = root().join("tests/clients/typescript");
    let bin = ts.join("node_modules/.bin");
    if !bin.join("openapi-typescript").exists() || !bin.join("tsc").exists() {
        let why = "openapi-typescript and typescript are needed: npm ci --prefix tests/clients/typescript";
        skip::skip("a_generated_typescript_client_type_checks", why);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for f in ["usage.ts", "tsconfig.json"] {
        std::fs::copy(ts.join(f), dir.path().join(f)).unwrap();
    }
    let started = Instant::now();
    let generated = Command::new(bin.join("openapi-typescript"))
        .arg(root().join("openapi.yaml"))
        .arg("--output")
        .arg(dir.path().join("flowsmith.d.ts"))
        .output()
        .unwrap();
    assert!(generated.status.success(), "{}", output_text(&generated));
    let types = std::fs::read_to_string(dir.path().join("flowsmith.d.ts")).unwrap();
    // (Only the document's empty `webhooks` and `$defs` may be empty records.)
    let empty_objects: Vec<&str> = types
        .lines()
        .filter(|l| l.contains("Record<string, never>") && !l.starts_with("export type "))
        .collect();
    assert!(
        empty_objects.is_empty(),
        "free-form objects came out as empty ones: {empty_objects:?}"
    );
    let checked = Command::new(bin.join("tsc"))
        .arg("--project")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(checked.status.success(), "{}", output_text(&checked));
    eprintln!(
        "TypeScript client: generate and type-check in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// A URL of another scheme is refused, as is one without a scheme (instead of becoming a
/// file name), and a malformed PostgreSQL URL is named with what is wrong.
#[test]
fn database_urls_of_other_schemes_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    for (url, expected) in [
        (
            "mysql://flowsmith@localhost/flowsmith",
            "or a postgres: URL",
        ),
        ("flowsmith.db", "expected a sqlite: URL"),
        (
            "postgres://flowsmith@localhost:port/flowsmith",
            "database URL \"postgres://flowsmith@localhost:port/flowsmith\"",
        ),
    ] {
        let out = service::bin()
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url", url])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let text = output_text(&out);
        assert!(!out.status.success(), "{url}: started: {text}");
        assert!(text.contains(expected), "{url}: {text}");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no file was created"
    );
}
