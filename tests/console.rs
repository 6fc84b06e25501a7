//! The operator console in a real browser: Debian's headless Chromium driven through
//! chromedriver's WebDriver HTTP API (reqwest; no browser crate to build). The console must
//! load without console errors (a CSP violation is one), show a running job's progress
//! change live, and draw non-blank diagrams (a pixel check of element screenshots).
//!
//! `.ci/run` installs `chromium` and `chromium-driver`. Without them the test prints SKIPPED
//! with the reason and passes, except under `CI`, where it fails.

// Test code: a panic is a failed assertion, and a scenario may read top to bottom.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

/// The browser test runs on SQLite only (the console is the same on PostgreSQL, and the
/// PostgreSQL pass of `scripts/test` takes the binaries that include tests/common/db.rs).
mod db {
    pub fn database_url(db_file: &std::path::Path) -> String {
        format!("sqlite://{}", db_file.display())
    }
}
#[allow(dead_code)]
#[path = "jobs/helpers.rs"]
mod helpers;
#[path = "common/skip.rs"]
mod skip;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use flowsmith_sandbox::{self as sandbox, SandboxOptions};
use reqwest::Client;
use serde_json::{Value, json};

use helpers::*;

const CHROMIUM: &str = "/usr/bin/chromium";
const DRIVER: &str = "/usr/bin/chromedriver";
/// How long the page may take to show what is awaited.
const WAIT: Duration = Duration::from_secs(30);

fn browser_available() -> bool {
    if std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(DRIVER).exists() {
        return true;
    }
    let why = "chromium and chromedriver are needed: apt-get install chromium chromium-driver";
    skip::skip("console::the_console_in_a_browser", why);
    false
}

/// A chromedriver process and one headless Chromium session.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: Client,
}

impl Browser {
    async fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(DRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let http = Client::new();
        let start = Instant::now();
        loop {
            let ready = match http.get(format!("{base}/status")).send().await {
                Ok(r) => r.json::<Value>().await.ok(),
                Err(_) => None,
            };
            if ready.is_some_and(|s| s["value"]["ready"] == true) {
                break;
            }
            assert!(start.elapsed() < WAIT, "chromedriver did not get ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000"]},
            "goog:loggingPrefs": {"browser": "ALL"}
        }}});
        let r: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {r}"))
            .to_owned();
        Browser {
            driver,
            base,
            session,
            http,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        assert!(v["value"]["error"].is_null(), "{path}: {v}");
        v["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    async fn eval(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// Waits until `script` returns something truthy, and returns it.
    async fn until(&self, what: &str, script: &str) -> Value {
        let start = Instant::now();
        loop {
            let v = self.eval(script).await;
            if !(v.is_null() || v == false || v == "") {
                return v;
            }
            assert!(start.elapsed() < WAIT, "the page never showed {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The browser's console messages since the last call.
    async fn logs(&self) -> Vec<Value> {
        let v = self
            .call(
                reqwest::Method::POST,
                "/se/log",
                Some(json!({"type": "browser"})),
            )
            .await;
        v.as_array().cloned().unwrap_or_default()
    }

    /// A PNG screenshot of the element `css` selects.
    async fn screenshot(&self, css: &str) -> Vec<u8> {
        let el = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        let id = el["element-6066-11e4-a52e-4f735466cecf"].as_str().unwrap();
        let shot = self
            .call(
                reqwest::Method::GET,
                &format!("/element/{id}/screenshot"),
                None,
            )
            .await;
        base64::engine::general_purpose::STANDARD
            .decode(shot.as_str().unwrap())
            .unwrap()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ends the session's Chromium with the driver (killing the driver alone would
        // leave the browser running).
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async { Client::new().delete(url).send().await })
        })
        .join();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The pixels of a PNG as RGB triples.
fn pixels(png_bytes: &[u8]) -> (u32, u32, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = info.color_type.samples();
    assert!(step >= 3, "{:?}", info.color_type);
    let px = buf[..info.buffer_size()]
        .chunks(step)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    (info.width, info.height, px)
}

/// A drawing, not a blank: of a fair size, with many pixels that are not the background,
/// several colours, and (when given) pixels of `colour`.
fn assert_drawn(what: &str, png_bytes: &[u8], colour: Option<[u8; 3]>) {
    let (w, h, px) = pixels(png_bytes);
    assert!(w >= 200 && h >= 100, "{what}: {w}x{h}");
    let ink = px.iter().filter(|p| **p != [255, 255, 255]).count();
    assert!(
        ink * 50 > px.len(),
        "{what}: {ink} of {} pixels drawn",
        px.len()
    );
    let colours: std::collections::HashSet<[u8; 3]> = px.iter().copied().collect();
    assert!(colours.len() >= 8, "{what}: {} colours", colours.len());
    if let Some(c) = colour {
        assert!(
            px.iter().filter(|p| **p == c).count() > 50,
            "{what}: no {c:?} fill"
        );
    }
}

#[tokio::test]
async fn the_console_in_a_browser() {
    if !browser_available() {
        return;
    }
    // A sandbox org whose Architect jobs take a while, so the job is seen running.
    let (base, _sandbox) = sandbox::spawn_local(SandboxOptions {
        queues: vec!["General".into(), "Billing".into()],
        job_duration_ms: 1200,
        rate_limit: 100_000,
        ..Default::default()
    })
    .await
    .expect("sandbox starts");
    let org = Org {
        base,
        http: Client::new(),
    };
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(&org, dir.path(), fast_worker()).await;
    store_seed(&app).await;
    let browser = Browser::start().await;

    // The console opens on the templates, with no token (loopback, no tokens configured).
    browser.goto(&app.url("/console")).await;
    browser
        .until(
            "the templates",
            "return document.querySelector('#view h1')?.textContent === 'Templates'",
        )
        .await;

    // A job: its view shows it running, then its progress moves without a reload.
    let job = app.submit(&seed_request(&org).await).await;
    let id = job["id"].as_str().unwrap();
    browser
        .goto(&app.url(&format!("/console#/jobs/{id}")))
        .await;
    browser.eval("window.notReloaded = true; return true").await;
    let first = browser
        .until(
            "the running job",
            "const s = document.querySelector('#job'); return s && s.dataset.live ? document.getElementById('job-progress-text').textContent : null",
        )
        .await;
    assert_ne!(first, "3 of 3 steps done");
    browser
        .until(
            "the job's end",
            "return document.getElementById('job-status')?.textContent === 'succeeded'",
        )
        .await;
    let end = browser
        .eval("return [window.notReloaded === true, document.getElementById('job-progress-text').textContent, !!document.querySelector('#job[data-live]')]")
        .await;
    assert_eq!(end, json!([true, "3 of 3 steps done", false]));

    // The template's diagram and the target's composition, drawn.
    browser
        .goto(&app.url(&format!("/console#/templates/{CALLER}")))
        .await;
    browser
        .until(
            "the template diagram",
            "return !!document.querySelector('#template-diagram svg g.node')",
        )
        .await;
    let shot = browser.screenshot("#template-diagram svg").await;
    // A Flow node's fill (#dbeafe).
    assert_drawn("template diagram", &shot, Some([0xdb, 0xea, 0xfe]));
    browser
        .goto(&app.url(&format!("/console#/targets/{TARGET}")))
        .await;
    browser
        .until(
            "the composition",
            "return !!document.querySelector('#composition-diagram svg g.node')",
        )
        .await;
    let shot = browser.screenshot("#composition-diagram svg").await;
    // In sync (#bfe8c8): the job deployed every flow.
    assert_drawn("composition", &shot, Some([0xbf, 0xe8, 0xc8]));

    // Nothing went wrong in the page: no script error, no refused resource or CSP violation.
    let severe: Vec<Value> = browser
        .logs()
        .await
        .into_iter()
        .filter(|l| l["level"] == "SEVERE")
        .collect();
    assert!(severe.is_empty(), "console errors: {severe:#?}");

    // The log reader does see errors: a resource the page cannot load is one.
    browser
        .eval("const s = document.createElement('script'); s.src = '/console/missing.js'; document.head.append(s); return true")
        .await;
    let start = Instant::now();
    while !browser.logs().await.iter().any(|l| l["level"] == "SEVERE") {
        assert!(start.elapsed() < WAIT, "a failed load was never logged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
