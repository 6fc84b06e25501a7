use std::path::{Path, PathBuf};

use flowsmith::app::{Application, LocalOrg};
use flowsmith::config::Settings;
pub use flowsmith_cli::cli::BuiltInSandbox;
use reqwest::{Client, Response};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running service on a fresh database.
pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub dir: tempfile::TempDir,
    settings: Settings,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
}

pub fn seed_dir() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("tests/fixtures")
}

/// A fixture document as JSON.
pub fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(seed_dir().join(name)).expect("fixture exists");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// A document from the project's `examples/`.
pub fn example(name: &str) -> Value {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .join("examples")
        .join(name);
    let text = std::fs::read_to_string(path).expect("example exists");
    serde_json::from_str(&text).expect("example is JSON")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: crate::db::database_url(&dir.path().join("flowsmith.db")),
        ..Default::default()
    };
    configure(&mut settings);
    start(dir, settings).await
}

/// The service with a built-in org (as `serve --sandbox` starts it).
pub async fn spawn_app_with_org(org: Box<dyn LocalOrg>) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: crate::db::database_url(&dir.path().join("flowsmith.db")),
        ..Default::default()
    };
    start_with_org(dir, settings, Some(org)).await
}

async fn start(dir: tempfile::TempDir, settings: Settings) -> TestApp {
    start_with_org(dir, settings, None).await
}

async fn start_with_org(
    dir: tempfile::TempDir,
    settings: Settings,
    org: Option<Box<dyn LocalOrg>>,
) -> TestApp {
    let app = Application::build_with_org(settings.clone(), org)
        .await
        .expect("service starts");
    let base = format!("http://{}", app.local_addr());
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    TestApp {
        base,
        client: Client::new(),
        dir,
        settings,
        stop: Some(tx),
        handle: Some(handle),
    }
}

impl TestApp {
    /// The URL of the service's database.
    pub fn database_url(&self) -> &str {
        &self.settings.database_url
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.expect("server task").expect("server stops cleanly");
        }
    }

    /// Stops the service and starts it again on the same database (on a new port).
    pub async fn restart(mut self) -> TestApp {
        self.stop().await;
        let mut settings = self.settings.clone();
        settings.listen = "127.0.0.1:0".parse().unwrap();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        start(dir, settings).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub async fn store(&self, doc: &Value) -> (u16, Value) {
        let r = self.post_json("/v1/templates", doc).await;
        let status = r.status().as_u16();
        (status, r.json().await.expect("JSON body"))
    }
}

/// Asserts a problem document with the given status and returns it.
pub async fn assert_problem(resp: Response, status: u16) -> Value {
    assert_eq!(resp.status().as_u16(), status, "status");
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert_eq!(ct, "application/problem+json", "content type");
    let body: Value = resp.json().await.expect("problem is JSON");
    assert_eq!(body["status"], status);
    assert!(
        body["type"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    assert!(body["title"].as_str().is_some(), "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    body
}

/// A small valid module document with a given name.
pub fn module_doc(name: &str, greeting: &str) -> Value {
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
