//! The service stays answerable (issue 25), against the real binary: a database that cannot
//! be reached is a prompt 503 with `Retry-After` and the job carries on when it is back;
//! slow and idle clients cannot hold the doors (body and header timeouts, the connection cap
//! below the file limit).

// Test code: a panic is a failed assertion, and a scenario may read top to bottom.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

#[path = "common/db.rs"]
mod db;
#[path = "common/service.rs"]
mod service;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use flowsmith_sandbox::SandboxOptions;
use serde_json::{Value, json};
use service::{Service, serve_url};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The bound the issue sets for a 503 when the database is gone.
const PROMPT: Duration = Duration::from_secs(5);

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

fn fixture(name: &str) -> Value {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A 503 with `Retry-After` that came within [`PROMPT`]; its problem document.
async fn prompt_503(req: reqwest::RequestBuilder, what: &str) -> Value {
    let t = Instant::now();
    let r = req.send().await.unwrap();
    let took = t.elapsed();
    assert_eq!(r.status(), 503, "{what}");
    assert!(r.headers().contains_key("retry-after"), "{what}");
    assert!(took < PROMPT, "{what} took {took:?}");
    r.json().await.unwrap()
}

/// A PostgreSQL cluster of the test's own (`scripts/pg-test-cluster` on a free port and a
/// temporary directory), so stopping it disturbs no other test; stopped when dropped.
struct Cluster {
    port: u16,
    dir: tempfile::TempDir,
}

impl Cluster {
    fn start() -> (Cluster, String) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let c = Cluster {
            port,
            dir: tempfile::tempdir().unwrap(),
        };
        let url = c.run("start");
        (c, url)
    }

    fn run(&self, what: &str) -> String {
        let out = Command::new(concat!(
            concat!(env!("CARGO_MANIFEST_DIR"), "/../.."),
            "/scripts/pg-test-cluster"
        ))
        .arg(what)
        .env("FLOWSMITH_PG_PORT", self.port.to_string())
        .env("FLOWSMITH_PG_DIR", self.dir.path().join("pg"))
        .output()
        .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.run("stop");
    }
}

/// Waits until the job has reached `status`.
async fn wait_for_job(http: &reqwest::Client, svc: &Service, id: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let r = http.get(svc.url(&format!("/v1/jobs/{id}"))).send().await;
        if let Ok(r) = r
            && r.status() == 200
        {
            let job: Value = r.json().await.unwrap();
            if job["status"] == status {
                return job;
            }
        }
        assert!(
            Instant::now() < deadline,
            "job {id} not {status}: {}",
            svc.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn postgres_stopped_is_a_prompt_503_and_the_job_resumes_when_it_is_back() {
    // Needs the PostgreSQL binaries the test cluster uses.
    if db::postgres_only("postgres_stopped").is_none() {
        return;
    }
    // Arrange: a job whose step waits on a slow Architect job, on a cluster of its own.
    let (cluster, url) = Cluster::start();
    let (org, _sandbox) = flowsmith_sandbox::spawn_local(SandboxOptions {
        job_duration_ms: 3000,
        rate_limit: 100_000,
        ..Default::default()
    })
    .await
    .unwrap();
    let mut cmd = serve_url(&url);
    cmd.env("GENESYS_CLIENT_ID", flowsmith_sandbox::DEFAULT_CLIENT_ID)
        .env(
            "GENESYS_CLIENT_SECRET",
            flowsmith_sandbox::DEFAULT_CLIENT_SECRET,
        )
        .env("GENESYS_ENVIRONMENT", &org)
        .env("FLOWSMITH_WORKER_POLL_MS", "50");
    let svc = Service::spawn(cmd);
    let http = client();
    let module = fixture("seed_shared_module.json");
    let name = module["name"].as_str().unwrap().to_owned();
    let stored = http
        .post(svc.url("/v1/templates"))
        .json(&module)
        .send()
        .await
        .unwrap();
    assert_eq!(stored.status(), 201);
    let job: Value = http
        .post(svc.url("/v1/jobs"))
        .json(&json!({"target": "default", "flows": [{"template": name}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = job["id"].as_str().unwrap().to_owned();
    wait_for_job(&http, &svc, &id, "running").await;

    // Act: PostgreSQL stops (`pg_ctl stop -m fast`).
    cluster.run("stop");

    // Assert: readiness and /v1 answer 503 with Retry-After, promptly, naming the fault.
    let ready = prompt_503(http.get(svc.url("/readyz")), "/readyz").await;
    let why = ready["detail"].as_str().unwrap();
    assert!(why.contains("cannot be reached"), "{why}");
    let listed = prompt_503(http.get(svc.url("/v1/templates")), "GET /v1/templates").await;
    assert_eq!(listed["type"], "/problems/storage-unavailable", "{listed}");
    prompt_503(
        http.get(svc.url(&format!("/v1/jobs/{id}"))),
        "GET /v1/jobs/{id}",
    )
    .await;
    prompt_503(
        http.post(svc.url("/v1/templates")).json(&module),
        "POST /v1/templates",
    )
    .await;

    // The database comes back: the job finishes by itself, readiness recovers.
    cluster.run("start");
    let done = wait_for_job(&http, &svc, &id, "succeeded").await;
    assert_eq!(done["steps"][0]["state"], "succeeded", "{done}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while http.get(svc.url("/readyz")).send().await.unwrap().status() != 200 {
        assert!(Instant::now() < deadline, "never ready again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_sqlite_file_that_cannot_be_opened_is_a_prompt_503_for_readiness_and_v1() {
    // Arrange: the database in a directory of its own.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let svc = Service::spawn(serve_url(&db::sqlite_url(&data.join("flowsmith.db"))));
    let http = client();
    assert_eq!(
        http.get(svc.url("/readyz")).send().await.unwrap().status(),
        200
    );

    // Act: the file goes away (its directory moved; the open connections keep the old file,
    // as they would an unmounted or replaced one, but nothing can open it).
    let moved = dir.path().join("moved");
    std::fs::rename(&data, &moved).unwrap();

    // Assert: readiness says so at once, and so do /v1 reads and writes (the pools' open
    // connections could still answer from the moved file); back in place, all answer again.
    let ready = prompt_503(http.get(svc.url("/readyz")), "/readyz").await;
    let why = ready["detail"].as_str().unwrap();
    assert!(why.contains("cannot be reached (io)"), "{why}");
    let listed = prompt_503(http.get(svc.url("/v1/templates")), "GET /v1/templates").await;
    assert_eq!(listed["type"], "/problems/storage-unavailable", "{listed}");
    let module = fixture("seed_shared_module.json");
    prompt_503(
        http.post(svc.url("/v1/templates")).json(&module),
        "POST /v1/templates",
    )
    .await;
    std::fs::rename(&moved, &data).unwrap();
    assert_eq!(
        http.get(svc.url("/readyz")).send().await.unwrap().status(),
        200
    );
    let stored = http
        .post(svc.url("/v1/templates"))
        .json(&module)
        .send()
        .await
        .unwrap();
    assert_eq!(stored.status(), 201);
}

/// `flowsmith_http_connections` from `/metrics`.
async fn open_connections(http: &reqwest::Client, svc: &Service) -> f64 {
    let text = http
        .get(svc.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("flowsmith_http_connections "))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

fn sqlite_service(dir: &tempfile::TempDir, env: &[(&str, &str)]) -> Service {
    let mut cmd = serve_url(&db::sqlite_url(&dir.path().join("flowsmith.db")));
    for (k, v) in env {
        cmd.env(k, v);
    }
    Service::spawn(cmd)
}

#[tokio::test]
async fn slow_bodies_do_not_keep_other_clients_out_and_get_408() {
    // Arrange: 600 clients that announce a body and send one byte of it (more than the
    // 512 places of `max_requests_in_flight`).
    let dir = tempfile::tempdir().unwrap();
    let svc = sqlite_service(&dir, &[("FLOWSMITH_BODY_READ_TIMEOUT_SECS", "3")]);
    let http = client();
    let mut slow = Vec::new();
    for _ in 0..600 {
        let mut s = TcpStream::connect(&svc.addr).await.unwrap();
        s.write_all(
            b"POST /v1/simulations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{",
        )
        .await
        .unwrap();
        slow.push(s);
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs(20);
    while open_connections(&http, &svc).await < 600.0 {
        assert!(Instant::now() < deadline, "the service never took them");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Act: another client, while they are held.
    let t = Instant::now();
    let r = http.get(svc.url("/v1/templates")).send().await.unwrap();
    let took = t.elapsed();

    // Assert: answered at once, and the slow ones get 408 after the body timeout.
    assert_eq!(r.status(), 200);
    assert!(took < Duration::from_secs(1), "took {took:?}");
    let mut first = slow.swap_remove(0);
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), first.read(&mut buf))
        .await
        .expect("an answer within the body timeout")
        .unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(head.contains("body_read_timeout_secs"), "{head}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// How long until the server closes `s` (reads return 0 or fail), sending `trickle` one
/// byte at a time every 500 ms meanwhile; `None` if still open after `limit`.
async fn closed_after(mut s: TcpStream, trickle: &[u8], limit: Duration) -> Option<Duration> {
    let t = Instant::now();
    let mut bytes = trickle.iter();
    let mut buf = [0u8; 256];
    while t.elapsed() < limit {
        match tokio::time::timeout(Duration::from_millis(500), s.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return Some(t.elapsed()),
            Ok(Ok(_)) => {}
            Err(_) => {
                if let Some(b) = bytes.next()
                    && s.write_all(&[*b]).await.is_err()
                {
                    return Some(t.elapsed());
                }
            }
        }
    }
    None
}

#[tokio::test]
async fn slow_headers_and_idle_connections_are_closed_after_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let svc = sqlite_service(&dir, &[("FLOWSMITH_HEADER_READ_TIMEOUT_SECS", "2")]);
    let limit = Duration::from_secs(6);
    let header = b"GET /v1/templates HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa\r\n\r\n";

    // A client sending its headers at two bytes a second, one that sends nothing, and one
    // idle after a request on a keep-alive connection.
    let trickling = TcpStream::connect(&svc.addr).await.unwrap();
    let silent = TcpStream::connect(&svc.addr).await.unwrap();
    let mut kept = TcpStream::connect(&svc.addr).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = kept.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));

    let (a, b, c) = tokio::join!(
        closed_after(trickling, header, limit),
        closed_after(silent, b"", limit),
        closed_after(kept, b"", limit),
    );
    for (what, closed) in [("slow headers", a), ("silent", b), ("idle keep-alive", c)] {
        let closed = closed.unwrap_or_else(|| panic!("{what}: still open after {limit:?}"));
        assert!(closed >= Duration::from_millis(1500), "{what}: {closed:?}");
    }
}

#[tokio::test]
async fn two_thousand_idle_connections_under_a_file_limit_of_1024_leave_healthz_answering() {
    // Arrange: the binary under `prlimit --nofile=1024`, so its cap is 768 connections.
    let dir = tempfile::tempdir().unwrap();
    let url = db::sqlite_url(&dir.path().join("flowsmith.db"));
    let mut cmd = Command::new("prlimit");
    cmd.args(["--nofile=1024:1024", env!("CARGO_BIN_EXE_flowsmith")])
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &url]);
    for (k, _) in std::env::vars() {
        if k.starts_with("FLOWSMITH_") || k.starts_with("GENESYS_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    let svc = Service::spawn(cmd);

    // Act: 2,000 connections that send nothing.
    let mut idle = Vec::new();
    for _ in 0..2000 {
        let c = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(&svc.addr)).await;
        if let Ok(Ok(c)) = c {
            idle.push(c);
        }
    }

    // Assert: /healthz answers while they are held, the cap was logged, and the service
    // never ran out of descriptors.
    let r = client().get(svc.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let log = svc.log_text();
    assert!(log.contains("connection limit reached"), "{log}");
    assert!(log.contains("max_connections=768"), "{log}");
    assert!(!log.contains("Too many open files"), "{log}");
    let metrics = client()
        .get(svc.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("flowsmith_http_connection_limit_total{action=\"evicted\"}"),
        "{metrics}"
    );
    drop(idle);
}
