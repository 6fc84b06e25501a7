//! Operations: metrics, request ids, timeouts, compression, logging without secrets, graceful
//! shutdown (in-process, and the real binary receiving SIGTERM), and the container files.

// Test code: a panic is a failed assertion, and a scenario may read top to bottom.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use std::time::Duration;

#[path = "common/db.rs"]
mod db;
#[path = "common/service.rs"]
mod service;

use flowsmith::app::Application;
use flowsmith::config::Settings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The service in-process on port 0 with a fresh database; stops when dropped (the test's
/// runtime ends).
struct TestApp {
    base: String,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl TestApp {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }
}

fn settings_in(dir: &tempfile::TempDir) -> Settings {
    Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: crate::db::database_url(&dir.path().join("flowsmith.db")),
        ..Default::default()
    }
}

async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings_in(&dir);
    configure(&mut settings);
    let app = Application::build(settings).await.expect("service starts");
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        base,
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A small valid module document.
fn module_doc(name: &str, greeting: &str) -> serde_json::Value {
    serde_json::json!({
        "name": name,
        "type": "module",
        "draft": {
            "startNode": "Hello",
            "nodes": {
                "Hello": {"id": "Hello", "type": "Say", "properties": {"sayText": greeting},
                          "onComplete": {"nextNode": "Done"}},
                "Done": {"id": "Done", "type": "End", "properties": {}}
            }
        }
    })
}

/// The value of one sample in Prometheus text, found by name and label set (any order).
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (n, rest) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.strip_suffix('}')?),
                None => (series, ""),
            };
            if n != name {
                return None;
            }
            let mut got: Vec<(String, String)> = rest
                .split("\",")
                .filter(|p| !p.is_empty())
                .filter_map(|p| {
                    let (k, v) = p.split_once("=\"")?;
                    Some((k.to_owned(), v.trim_end_matches('"').to_owned()))
                })
                .collect();
            let mut want: Vec<(String, String)> = labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            got.sort();
            want.sort();
            (got == want).then(|| value.parse().ok()).flatten()
        })
}

/// Sends the head of a request and `sent` bytes of a `total`-byte body, then stalls.
async fn stalled_upload(addr: &str, path: &str, body: &[u8], sent: usize) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&body[..sent]).await.unwrap();
    s.flush().await.unwrap();
    s
}

/// Reads a whole HTTP/1.1 response (the server closes or sends `Connection: close`).
async fn read_response(s: &mut TcpStream) -> (u16, String) {
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

mod http {
    use super::*;

    #[tokio::test]
    async fn metrics_count_requests_by_route_and_status_with_latency_histograms() {
        // Arrange
        let app = spawn_app().await;
        let before = app.get("/metrics").await.text().await.unwrap();
        let count = |text: &str, route: &str, status: &str| {
            sample(
                text,
                "flowsmith_http_requests_total",
                &[("method", "GET"), ("route", route), ("status", status)],
            )
            .unwrap_or(0.0)
        };

        // Act
        for _ in 0..3 {
            assert_eq!(app.get("/healthz").await.status(), 200);
        }
        assert_eq!(app.get("/v1/templates/no-such").await.status(), 404);
        assert_eq!(app.get("/no/such/route").await.status(), 404);
        let resp = app.get("/metrics").await;

        // Assert
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()["content-type"],
            "text/plain; version=0.0.4; charset=utf-8"
        );
        let after = resp.text().await.unwrap();
        // Other tests in this process share the recorder, so compare differences.
        assert!(count(&after, "/healthz", "200") - count(&before, "/healthz", "200") >= 3.0);
        assert!(
            count(&after, "/v1/templates/{name}", "404")
                - count(&before, "/v1/templates/{name}", "404")
                >= 1.0,
            "{after}"
        );
        assert!(count(&after, "unmatched", "404") - count(&before, "unmatched", "404") >= 1.0);
        let hist = |text: &str, suffix: &str, extra: &[(&str, &str)]| {
            let mut labels = vec![("method", "GET"), ("route", "/healthz")];
            labels.extend_from_slice(extra);
            sample(
                text,
                &format!("flowsmith_http_request_duration_seconds{suffix}"),
                &labels,
            )
            .unwrap_or(0.0)
        };
        assert!(hist(&after, "_count", &[]) - hist(&before, "_count", &[]) >= 3.0);
        assert!(hist(&after, "_sum", &[]) > 0.0);
        // Explicit millisecond buckets, and a health check is answered within a second.
        assert!(hist(&after, "_bucket", &[("le", "0.001")]) >= 0.0);
        assert!(
            hist(&after, "_bucket", &[("le", "1")]) - hist(&before, "_bucket", &[("le", "1")])
                >= 3.0,
            "{after}"
        );
        assert!(after.contains("# TYPE flowsmith_http_request_duration_seconds histogram"));
        assert!(after.contains("# TYPE flowsmith_http_requests_total counter"));
    }

    #[tokio::test]
    async fn metrics_endpoint_is_open_when_tokens_are_required() {
        let app = spawn_app_with(|s| s.api_tokens = vec!["t0ken".to_owned().into()]).await;

        assert_eq!(app.get("/v1/targets").await.status(), 401);
        assert_eq!(app.get("/metrics").await.status(), 200);
    }

    #[tokio::test]
    async fn every_response_has_a_request_id_and_a_given_one_is_kept() {
        let app = spawn_app().await;
        let resp = app.get("/healthz").await;
        let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        let other = app.get("/healthz").await.headers()["x-request-id"].clone();
        assert_ne!(other.to_str().unwrap(), id);

        let resp = app
            .client
            .get(app.url("/no/such/route"))
            .header("x-request-id", "caller-123")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.headers()["x-request-id"], "caller-123");
    }

    #[tokio::test]
    async fn slow_requests_get_a_408_problem_document() {
        // Arrange: a one-second budget, and a client that stops sending its body.
        let app = spawn_app_with(|s| s.request_timeout_secs = 1).await;
        let addr = app.base.trim_start_matches("http://").to_owned();
        let body = serde_json::to_vec(&module_doc("slow", "hi")).unwrap();

        // Act
        let mut s = stalled_upload(&addr, "/v1/templates", &body, 10).await;
        let (status, text) = read_response(&mut s).await;

        // Assert
        assert_eq!(status, 408, "{text}");
        assert!(text.contains("application/problem+json"), "{text}");
        assert!(text.contains("/problems/request-timeout"), "{text}");
        assert!(text.to_ascii_lowercase().contains("x-request-id"), "{text}");
    }

    #[tokio::test]
    async fn large_responses_are_gzipped_when_the_client_accepts_it() {
        let app = spawn_app().await;
        let gz = app
            .client
            .get(app.url("/openapi.json"))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(gz.headers()["content-encoding"], "gzip");
        let zipped = gz.bytes().await.unwrap().len();
        let plain = app.get("/openapi.json").await;
        assert!(plain.headers().get("content-encoding").is_none());
        let plain = plain.bytes().await.unwrap().len();
        assert!(zipped * 3 < plain, "{zipped} vs {plain}");
    }

    #[tokio::test]
    async fn shutdown_drains_for_the_grace_period_then_returns_and_cancels_the_token() {
        // Arrange: a request that never completes, and a one-second grace period.
        let dir = tempfile::tempdir().unwrap();
        let app = Application::build(settings_in(&dir))
            .await
            .unwrap()
            .with_shutdown_grace(Duration::from_secs(1));
        let addr = app.local_addr().to_string();
        let token = app.shutdown_token();
        let tracked = app.tasks().spawn({
            let token = token.clone();
            async move {
                token.cancelled().await;
                "worker saw shutdown"
            }
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        let body = serde_json::to_vec(&module_doc("stuck", "hi")).unwrap();
        let _stuck = stalled_upload(&addr, "/v1/templates", &body, 5).await;
        tokio::time::sleep(Duration::from_millis(100)).await;

        // Act
        let started = std::time::Instant::now();
        tx.send(()).unwrap();
        let result = tokio::time::timeout(Duration::from_secs(10), server).await;

        // Assert
        result
            .expect("run_until returns after the grace period")
            .unwrap()
            .unwrap();
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(900), "{took:?}");
        assert!(took < Duration::from_secs(8), "{took:?}");
        assert!(token.is_cancelled());
        assert_eq!(tracked.await.unwrap(), "worker saw shutdown");
        assert!(TcpStream::connect(&addr).await.is_err(), "still accepting");
    }
}

mod binary {
    use super::*;
    use crate::service::{Service, bin, serve, serve_url};
    use std::process::{Command, Stdio};

    /// `flowsmith serve` on port 0 over a fresh database in a temporary directory (also its
    /// working directory), with `args` and `env` added.
    fn start(args: &[&str], env: &[(&str, &str)]) -> (Service, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = serve(&dir.path().join("flowsmith.db"));
        cmd.current_dir(dir.path())
            .args(args)
            .envs(env.iter().copied());
        (Service::spawn(cmd), dir)
    }

    /// [`start`] on SQLite whatever the environment says (for what is about the file).
    fn start_on_sqlite() -> (Service, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = serve_url(&crate::db::sqlite_url(&dir.path().join("flowsmith.db")));
        cmd.current_dir(dir.path());
        (Service::spawn(cmd), dir)
    }

    /// The `sh` blocks of the README section under `heading`, in order (its subsections
    /// continue the story).
    fn readme_sh_blocks(heading: &str) -> Vec<String> {
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
                .unwrap();
        let from = readme.find(heading).expect("the section");
        let to = from + 3 + readme[from + 3..].find("\n## ").expect("next section");
        let mut blocks = Vec::new();
        let mut rest = &readme[from..to];
        while let Some(at) = rest.find("```sh") {
            let body = &rest[at + 5..];
            let end = body.find("```").expect("block end");
            blocks.push(body[..end].to_owned());
            rest = &body[end + 3..];
        }
        blocks
    }

    /// Runs `script` with bash from the project's root against the service at `addr` (in
    /// place of localhost:8080); answers its standard output, failing on an error.
    async fn run_walkthrough(script: String, addr: &str, env: Vec<(String, String)>) -> String {
        let script = format!("set -euo pipefail\n{script}").replace("localhost:8080", addr);
        let out = tokio::task::spawn_blocking(move || {
            Command::new("bash")
                .args(["-c", &script])
                .envs(env)
                .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
                .output()
                .expect("bash runs")
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "walkthrough failed: {}\n{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
        for expected in [
            "/problems/validation-failed",
            "did you mean 'Choose'?",
            "\"kind\":\"routed\"",
            "inboundCall:",
            "flowchart",
            "event: job.succeeded",
            "\"action\":\"unchanged\"",
            "\"action\":\"republish\"",
            "\"auth_status\":\"ok\"",
            "\"customer_id\":\"C-1001\"",
            "\"authenticated\":\"yes\"",
            "Main_Line job: event: job.created",
            "Main_Line job: event: job.started",
            "Main_Line job: event: job.succeeded",
            "\"state\":\"deleted\"",
            "deleted_in_org",
            "\"releases\":[",
            "module_in_use",
            "rollback of job",
        ] {
            assert!(
                stdout.contains(expected),
                "missing {expected:?} in:\n{stdout}"
            );
        }
        stdout
    }

    /// The README's curl walkthrough, run as written (with the service's real address)
    /// against `serve --sandbox`: every command succeeds and does what the README says.
    #[tokio::test]
    async fn the_readme_walkthrough_works_as_written() {
        let (svc, _dir) = start(&["--sandbox"], &[]);
        let blocks = readme_sh_blocks("## Walkthrough with curl");
        assert!(blocks.len() >= 3, "the walkthrough and its subsections");
        run_walkthrough(blocks.concat(), &svc.addr, Vec::new()).await;
    }

    /// The README's compose variant: its block (without the `docker` lines), then the
    /// walkthrough, against `serve` as compose runs it: an API token required, and target
    /// `sandbox` a separate sandbox org seeded with the examples' org.
    #[tokio::test]
    async fn the_readme_walkthrough_works_under_the_compose_settings() {
        let (org, _sandbox) = flowsmith_sandbox::spawn_local(flowsmith_sandbox::SandboxOptions {
            org: Some(flowsmith_sandbox::demo_org()),
            ..Default::default()
        })
        .await
        .unwrap();
        let compose = std::fs::read_to_string(concat!(
            concat!(env!("CARGO_MANIFEST_DIR"), "/../.."),
            "/docker/flowsmith/compose.toml"
        ))
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("flowsmith.toml");
        std::fs::write(&config, compose.replace("http://sandbox:9090", &org)).unwrap();
        let token = "walkthrough-token";
        let mut cmd = serve(&dir.path().join("flowsmith.db"));
        cmd.current_dir(dir.path())
            .env("FLOWSMITH_CONFIG", &config)
            .env("FLOWSMITH_API_TOKENS", token);
        let svc = Service::spawn(cmd);
        let unauthorised = reqwest::get(svc.url("/v1/targets")).await.unwrap();
        assert_eq!(
            unauthorised.status(),
            401,
            "compose's flowsmith wants the token"
        );

        let variant = readme_sh_blocks("## The walkthrough under docker compose");
        assert_eq!(variant.len(), 1, "{variant:?}");
        assert!(variant[0].contains("ORG=http://127.0.0.1:9090"));
        let prelude: String = variant[0]
            .lines()
            .filter(|l| !l.starts_with("docker ") && !l.starts_with("export FLOWSMITH_API_TOKENS="))
            .map(|l| format!("{}\n", l.replace("http://127.0.0.1:9090", &org)))
            .collect();
        let walkthrough = readme_sh_blocks("## Walkthrough with curl").concat();
        let env = vec![("FLOWSMITH_API_TOKENS".to_owned(), token.to_owned())];
        run_walkthrough(format!("{prelude}{walkthrough}"), &svc.addr, env).await;
    }

    #[tokio::test]
    async fn sigterm_drains_the_in_flight_request_exits_zero_and_leaves_the_database_intact() {
        // Arrange: a running service with one stored template, and a request in flight. On
        // SQLite whatever the environment says: the test checks the file and its WAL.
        let (mut svc, dir) = start_on_sqlite();
        let client = reqwest::Client::new();
        let r = client
            .post(svc.url("/v1/templates"))
            .json(&module_doc("before-shutdown", "hi"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let health = bin()
            .args(["healthcheck", "--url", &svc.url("/healthz")])
            .status()
            .unwrap();
        assert!(health.success(), "healthcheck against a running service");
        let body = serde_json::to_vec(&module_doc("in-flight", "hello")).unwrap();
        let mut in_flight = stalled_upload(&svc.addr, "/v1/templates", &body, 20).await;
        tokio::time::sleep(Duration::from_millis(300)).await;

        // Act: SIGTERM while the request's body is still arriving, then finish the body.
        svc.sigterm();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let still_running = svc.child.try_wait().unwrap().is_none();
        in_flight.write_all(&body[20..]).await.unwrap();
        let (status, text) = read_response(&mut in_flight).await;
        let exit = svc.wait(Duration::from_secs(30)).await;

        // Assert
        assert!(still_running, "exited before draining: {}", svc.log_text());
        assert_eq!(status, 201, "in-flight request answered: {text}");
        assert_eq!(exit.code(), Some(0), "{}", svc.log_text());
        let log = svc.log_text();
        for line in [
            "shutdown requested",
            "draining in-flight requests",
            "database closed",
            "flowsmith stopped",
        ] {
            assert!(log.contains(line), "missing {line:?} in {log}");
        }
        let health = bin()
            .args(["healthcheck", "--url", &svc.url("/healthz")])
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(!health.success(), "healthcheck against a stopped service");
        // The database was closed cleanly: no write-ahead log left, and it reopens with both
        // templates.
        let db = dir.path().join("flowsmith.db");
        let wal = dir.path().join("flowsmith.db-wal");
        assert!(
            std::fs::metadata(&wal).map_or(true, |m| m.len() == 0),
            "WAL left behind"
        );
        let url = format!("sqlite://{}", db.display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(check, "ok");
        pool.close().await;
        let store = flowsmith::store::Store::open(&url).await.unwrap();
        for name in ["before-shutdown", "in-flight"] {
            assert!(
                store.latest_template(name).await.unwrap().is_some(),
                "{name} lost"
            );
        }
        store.close().await;
    }

    #[tokio::test]
    async fn json_logs_carry_request_ids_and_never_the_bearer_token() {
        // Arrange: every log level on, JSON, and a token that must not appear.
        let (mut svc, _dir) = start(
            &["--log-format", "json"],
            &[("FLOWSMITH_API_TOKENS", "sekrit"), ("RUST_LOG", "trace")],
        );
        let client = reqwest::Client::new();

        // Act
        for (path, token, want) in [
            ("/v1/targets", "sekrit", 200),
            ("/v1/templates/nope", "sekrit", 404),
            ("/v1/targets", "sekrit-wrong", 401),
        ] {
            let r = client
                .get(svc.url(path))
                .header("authorization", format!("Bearer {token}"))
                .header("x-request-id", format!("rid-{want}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), want);
        }
        svc.sigterm();
        assert_eq!(svc.wait(Duration::from_secs(30)).await.code(), Some(0));

        // Assert
        let lines = svc.log_lines();
        assert!(!lines.is_empty());
        for line in &lines {
            assert!(!line.contains("sekrit"), "secret in the log: {line}");
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            assert!(v["level"].is_string(), "{line}");
        }
        // One info line per response, inside a span with the request id, method and route.
        let response_line = lines
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| {
                v["message"] == "finished processing request"
                    && v["span"]["request_id"] == "rid-404"
            })
            .unwrap_or_else(|| panic!("no response line: {lines:#?}"));
        assert_eq!(response_line["level"], "INFO");
        assert_eq!(response_line["status"], 404);
        assert_eq!(response_line["span"]["method"], "GET");
        assert_eq!(response_line["span"]["route"], "/v1/templates/{name}");
        assert!(response_line["latency"].is_string(), "{response_line}");
    }
}

mod containers {
    use clap::Parser;
    use flowsmith_cli::cli::{Cli, Command};
    use serde_yaml_ng::Value;
    use std::collections::HashMap;
    use std::path::Path;

    /// The workspace's top level (the tests are targets of crates/cli).
    fn repo_root() -> &'static Path {
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
    }

    fn read(name: &str) -> String {
        std::fs::read_to_string(repo_root().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn compose() -> Value {
        serde_yaml_ng::from_str(&read("docker-compose.yml")).expect("compose file is YAML")
    }

    fn strings(v: &Value) -> Vec<String> {
        v.as_sequence()
            .unwrap_or_else(|| panic!("not a list: {v:?}"))
            .iter()
            .map(|s| s.as_str().expect("string").to_owned())
            .collect()
    }

    /// `environment:` as a map (compose allows a map or a list of `K=V`).
    fn environment(service: &Value) -> HashMap<String, String> {
        match &service["environment"] {
            Value::Mapping(m) => m
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => serde_yaml_ng::to_string(other).unwrap().trim().to_owned(),
                    };
                    (k.as_str().unwrap().to_owned(), v)
                })
                .collect(),
            Value::Sequence(items) => items
                .iter()
                .filter_map(|i| i.as_str()?.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            _ => HashMap::new(),
        }
    }

    /// Compose's `${VAR:-default}` and `${VAR:?message}` with the variables `vars` set.
    fn interpolate(v: &str, vars: &HashMap<&str, &str>) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = v;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let end = rest[i..].find('}').expect("closing brace") + i;
            let inner = &rest[i + 2..end];
            if let Some((name, message)) = inner.split_once(":?") {
                match vars.get(name).filter(|v| !v.is_empty()) {
                    Some(v) => out.push_str(v),
                    None => return Err(message.to_owned()),
                }
            } else {
                let (name, default) = inner.split_once(":-").unwrap_or((inner, ""));
                out.push_str(vars.get(name).copied().unwrap_or(default));
            }
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// The arguments after `flowsmith` in a healthcheck `test`, checked against the real CLI.
    fn healthcheck_command(service: &Value) -> Cli {
        let test = strings(&service["healthcheck"]["test"]);
        assert_eq!(test[0], "CMD", "exec form, no shell in the image: {test:?}");
        assert_eq!(test[1], "flowsmith");
        Cli::try_parse_from(&test[1..]).unwrap_or_else(|e| panic!("{test:?}: {e}"))
    }

    /// `ENV A=1 B=2` lines of a Dockerfile stage.
    fn dockerfile_env(stage: &str) -> HashMap<String, String> {
        stage
            .lines()
            .filter_map(|l| l.trim().strip_prefix("ENV "))
            .flat_map(|l| l.split_whitespace())
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
            .collect()
    }

    fn final_stage(dockerfile: &str) -> &str {
        let i = dockerfile.rfind("\nFROM ").expect("more than one stage");
        &dockerfile[i..]
    }

    #[test]
    fn compose_runs_flowsmith_next_to_the_sandbox_with_a_data_volume() {
        let c = compose();
        let services = c["services"].as_mapping().expect("services");
        // Without a profile: the sandbox and one flowsmith on SQLite.
        let default_profile = services
            .values()
            .filter(|s| s.get("profiles").is_none())
            .count();
        assert_eq!(default_profile, 2);
        let sandbox = &c["services"]["sandbox"];
        let app = &c["services"]["flowsmith"];

        // Both run the image built from this repository's Dockerfile.
        for s in [sandbox, app] {
            assert!(s["build"].is_mapping() || s["build"].is_string() || s["image"].is_string());
            assert!(s["healthcheck"]["interval"].is_string());
        }
        let sandbox_cmd = strings(&sandbox["command"]);
        // The sandbox starts seeded with the example org the walkthrough's contact centre needs.
        assert_eq!(
            sandbox_cmd,
            [
                "sandbox",
                "--listen",
                "0.0.0.0:9090",
                "--org",
                "/etc/flowsmith/sandbox-org.json"
            ]
        );
        assert_eq!(
            strings(&sandbox["volumes"]),
            ["./examples/sandbox-org.json:/etc/flowsmith/sandbox-org.json:ro"]
        );
        // Parsed by the binary's own command line, with the mounted file at its host path.
        let host_org = repo_root().join("examples/sandbox-org.json");
        let args = sandbox_cmd.into_iter().map(|a| {
            if a == "/etc/flowsmith/sandbox-org.json" {
                host_org.display().to_string()
            } else {
                a
            }
        });
        let cli = Cli::try_parse_from(std::iter::once("flowsmith".to_owned()).chain(args)).unwrap();
        assert!(matches!(cli.command, Command::Sandbox(_)));

        match healthcheck_command(sandbox).command {
            Command::Healthcheck(h) => assert_eq!(
                h.url.as_deref(),
                Some("http://127.0.0.1:9090/sandbox/counters")
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            healthcheck_command(app).command,
            Command::Healthcheck(_)
        ));

        assert_eq!(
            app["depends_on"]["sandbox"]["condition"].as_str(),
            Some("service_healthy")
        );
        assert_eq!(
            strings(&app["ports"]),
            ["127.0.0.1:8080:8080"],
            "published on loopback only"
        );
        assert!(
            c.get("name").is_none(),
            "docker-compose 1.29 refuses a top-level name"
        );
        assert_eq!(
            strings(&app["volumes"]),
            [
                "flowsmith-data:/data",
                "./docker/flowsmith/compose.toml:/etc/flowsmith/flowsmith.toml:ro"
            ]
        );
        assert!(
            c["volumes"]["flowsmith-data"].is_null() || c["volumes"]["flowsmith-data"].is_mapping()
        );
        assert!(
            c["volumes"]
                .as_mapping()
                .unwrap()
                .contains_key("flowsmith-data")
        );
    }

    #[test]
    fn compose_environment_configures_a_public_listener_with_tokens_and_the_sandbox_target() {
        // The service's own configuration code, fed the image's ENV plus the compose file's,
        // with the configuration file compose mounts read from this repository.
        let c = compose();
        let app = &c["services"]["flowsmith"];
        let image_env = dockerfile_env(final_stage(&read("Dockerfile")));
        let service_env = environment(app);
        let mounted = strings(&app["volumes"])
            .into_iter()
            .find(|v| v.ends_with(":/etc/flowsmith/flowsmith.toml:ro"))
            .expect("the configuration file is mounted");
        let host_file = mounted.split(':').next().unwrap().trim_start_matches("./");
        let settings_with = |vars: &HashMap<&str, &str>| {
            let mut env = image_env.clone();
            for (k, v) in &service_env {
                // `docker-compose ps/logs/down` must work without the token exported.
                env.insert(
                    k.clone(),
                    interpolate(v, vars).expect("no mandatory variable"),
                );
            }
            assert_eq!(env["FLOWSMITH_CONFIG"], "/etc/flowsmith/flowsmith.toml");
            env.insert(
                "FLOWSMITH_CONFIG".into(),
                repo_root().join(host_file).display().to_string(),
            );
            flowsmith::config::Settings::load_from(&flowsmith::config::Overrides::default(), |k| {
                env.get(k).cloned()
            })
            .expect("compose environment is valid configuration")
        };

        // Without a token the service itself refuses its public listener, and says why.
        let refused = settings_with(&HashMap::new())
            .check_bind()
            .expect_err("no public listener without API tokens");
        assert!(
            refused.to_string().contains("FLOWSMITH_API_TOKENS"),
            "{refused}"
        );

        let settings = settings_with(&HashMap::from([("FLOWSMITH_API_TOKENS", "a-real-token")]));
        assert_eq!(settings.listen.to_string(), "0.0.0.0:8080");
        settings
            .check_bind()
            .expect("a public listener has API tokens");
        assert_eq!(settings.database_url, "sqlite:///data/flowsmith.db");
        // The walkthrough's target name, pointing at the compose sandbox.
        let target = &settings.targets[0];
        assert_eq!(target.name, "sandbox");
        assert_eq!(target.api_base_url, "http://sandbox:9090");
        assert_eq!(target.client_id, flowsmith_sandbox::DEFAULT_CLIENT_ID);
    }

    /// The `replicas` profile: PostgreSQL built from Debian's packages on the runtime stage's
    /// base image, and two replicas whose environment is valid configuration for one
    /// PostgreSQL database (they lease each target's rate budget from it).
    #[test]
    fn compose_replicas_profile_runs_two_replicas_on_one_postgres() {
        let c = compose();
        let services = c["services"].as_mapping().expect("services");
        let in_profile: Vec<&str> = services
            .iter()
            .filter(|(_, s)| {
                s.get("profiles")
                    .is_some_and(|p| strings(p).contains(&"replicas".to_owned()))
            })
            .map(|(k, _)| k.as_str().unwrap())
            .collect();
        assert_eq!(in_profile, ["postgres", "flowsmith-a", "flowsmith-b"]);

        // PostgreSQL: built here, from the base image flowsmith's runtime already uses.
        let pg = &c["services"]["postgres"];
        assert_eq!(pg["build"].as_str(), Some("docker/postgres"));
        let pg_dockerfile = read("docker/postgres/Dockerfile");
        let from: Vec<&str> = pg_dockerfile
            .lines()
            .filter(|l| l.starts_with("FROM "))
            .collect();
        let runtime_from = final_stage(&read("Dockerfile"))
            .lines()
            .find(|l| l.starts_with("FROM "))
            .unwrap()
            .to_owned();
        assert_eq!(from, [runtime_from.as_str()]);
        assert!(pg_dockerfile.contains("postgresql-15"));
        assert!(pg_dockerfile.contains("COPY entrypoint.sh "));
        assert!(
            Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
                .join("docker/postgres/entrypoint.sh")
                .exists()
        );
        assert!(pg.get("ports").is_none(), "the database is not published");
        let pg_env = environment(pg);
        let vars = HashMap::from([
            ("FLOWSMITH_API_TOKENS", "a-real-token"),
            ("FLOWSMITH_POSTGRES_PASSWORD", "pg-secret"),
        ]);
        assert_eq!(
            interpolate(&pg_env["POSTGRES_PASSWORD"], &vars).unwrap(),
            "pg-secret"
        );

        let mut ports = Vec::new();
        for name in ["flowsmith-a", "flowsmith-b"] {
            let app = &c["services"][name];
            assert_eq!(
                app["depends_on"]["postgres"]["condition"].as_str(),
                Some("service_healthy"),
                "{name}"
            );
            assert_eq!(
                app["depends_on"]["sandbox"]["condition"].as_str(),
                Some("service_healthy"),
                "{name}"
            );
            assert!(matches!(
                healthcheck_command(app).command,
                Command::Healthcheck(_)
            ));
            // The configuration file of the `flowsmith` service, mounted the same way.
            assert_eq!(
                strings(&app["volumes"]),
                ["./docker/flowsmith/compose.toml:/etc/flowsmith/flowsmith.toml:ro"],
                "{name}"
            );
            let mut env = dockerfile_env(final_stage(&read("Dockerfile")));
            for (k, v) in environment(app) {
                env.insert(k, interpolate(&v, &vars).unwrap());
            }
            assert!(
                !env.keys().any(|k| k.starts_with("GENESYS_")),
                "{name}: the target comes from the configuration file, as for `flowsmith`"
            );
            assert_eq!(
                env["FLOWSMITH_CONFIG"], "/etc/flowsmith/flowsmith.toml",
                "{name}"
            );
            env.insert(
                "FLOWSMITH_CONFIG".into(),
                repo_root()
                    .join("docker/flowsmith/compose.toml")
                    .display()
                    .to_string(),
            );
            let settings = flowsmith::config::Settings::load_from(
                &flowsmith::config::Overrides::default(),
                |k| env.get(k).cloned(),
            )
            .expect("the replica's environment is valid configuration");
            settings.check_bind().expect("tokens for a public listener");
            assert_eq!(
                settings.database_url, "postgres://postgres:pg-secret@postgres:5432/flowsmith",
                "{name}"
            );
            assert_eq!(settings.replicas, 2, "{name}");
            assert_eq!(settings.targets.len(), 1, "{name}");
            let target = &settings.targets[0];
            assert_eq!(target.name, "sandbox", "{name}: the walkthrough's target");
            assert_eq!(target.api_base_url, "http://sandbox:9090");
            let p = strings(&app["ports"]);
            assert_eq!(p.len(), 1);
            assert!(p[0].starts_with("127.0.0.1:"), "loopback only: {p:?}");
            ports.push(p[0].clone());
        }
        assert_ne!(ports[0], ports[1]);
        assert!(
            c["volumes"]
                .as_mapping()
                .unwrap()
                .contains_key("flowsmith-postgres")
        );
    }

    #[test]
    fn dockerfile_builds_the_release_binary_and_runs_it_as_a_non_root_user() {
        let d = read("Dockerfile");
        let froms: Vec<&str> = d.lines().filter(|l| l.starts_with("FROM ")).collect();
        assert_eq!(froms.len(), 2, "builder and runtime stages: {froms:?}");
        assert!(froms[0].starts_with("FROM rust:") && froms[0].ends_with(" AS builder"));
        assert!(froms[1].starts_with("FROM debian:bookworm-slim"));

        // The builder caches dependencies, embeds the migrations and builds what the docs run.
        let build_lines: Vec<&str> = d
            .lines()
            .filter(|l| !l.starts_with('#') && l.contains("cargo build --release --locked"))
            .collect();
        assert_eq!(build_lines.len(), 2, "dependencies first, then the sources");
        let copy_src = d.find("COPY src ./src").expect("sources copied");
        let copy_migrations = d
            .find("COPY migrations ./migrations")
            .expect("migrations copied");
        assert!(d.find("COPY Cargo.toml Cargo.lock ./").unwrap() < copy_src);
        assert!(copy_migrations < d.rfind("cargo build --release --locked").unwrap());
        let docs = read("README.md");
        assert!(docs.contains("cargo build --release --locked"));
        assert!(docs.contains("flowsmith serve"));

        let runtime = final_stage(&d);
        assert!(runtime.contains(
            "COPY --from=builder /app/target/release/flowsmith /usr/local/bin/flowsmith"
        ));
        let user = runtime
            .lines()
            .find_map(|l| l.strip_prefix("USER "))
            .expect("USER in the final stage");
        assert!(!matches!(user.trim(), "root" | "0" | "0:0"), "{user}");
        assert!(runtime.contains("VOLUME [\"/data\"]"));
        assert!(runtime.contains("EXPOSE 8080"));
        let env = dockerfile_env(runtime);
        assert_eq!(env["FLOWSMITH_LISTEN"], "0.0.0.0:8080");
        assert_eq!(env["FLOWSMITH_DATABASE_URL"], "sqlite:///data/flowsmith.db");

        let health = runtime
            .lines()
            .find(|l| l.starts_with("HEALTHCHECK "))
            .expect("HEALTHCHECK");
        let cmd = &health[health.find("CMD ").expect("exec form") + 4..];
        let args: Vec<String> = serde_json::from_str(cmd).expect("CMD is a JSON array");
        assert!(matches!(
            Cli::try_parse_from(&args).unwrap().command,
            Command::Healthcheck(_)
        ));
        assert!(runtime.contains("ENTRYPOINT [\"flowsmith\"]"));
        assert!(runtime.contains("CMD [\"serve\"]"));
        assert!(matches!(
            Cli::try_parse_from(["flowsmith", "serve"]).unwrap().command,
            Command::Serve(_)
        ));

        let ignore = read(".dockerignore");
        for entry in ["target", "*.db", ".git"] {
            assert!(ignore.lines().any(|l| l.trim() == entry), "{entry}");
        }
    }
}
