//! The job the crash tests give the real binary (one process SIGKILLed and restarted, or two
//! replicas taking over from each other): the seed module and N callers of it, provisioned
//! into a sandbox org whose Architect jobs take a moment; and what must hold once it ended.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use flowsmith_sandbox::{self as sandbox, Sandbox, SandboxOptions};
use reqwest::Client;
use serde_json::{Value, json};

pub const MODULE: &str = "Shared_Module_Language_Select";
pub const CALLER: &str = "Inbound_Flow_A";

/// A sandbox org for a crash test, and the id of its one queue.
pub struct CrashOrg {
    pub base: String,
    pub http: Client,
    queue_id: String,
    _sandbox: Sandbox,
}

impl CrashOrg {
    /// Architect jobs of 300 ms and 5 ms of latency: long enough for kills to land mid-job.
    pub async fn start() -> CrashOrg {
        let (base, sandbox) = sandbox::spawn_local(SandboxOptions {
            queues: vec!["General".into()],
            job_duration_ms: 300,
            latency_ms: 5,
            rate_limit: 100_000,
            ..Default::default()
        })
        .await
        .expect("sandbox starts");
        let http = Client::new();
        let queue_id = get_json(&http, &format!("{base}/sandbox/queues")).await[0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        CrashOrg {
            base,
            http,
            queue_id,
            _sandbox: sandbox,
        }
    }

    /// Stores the seed templates on the service at `store_on` and submits the module plus
    /// `callers` callers on the one at `submit_on` (base URLs). Returns the job id and the
    /// flow names the job provisions.
    pub async fn submit(
        &self,
        store_on: &str,
        submit_on: &str,
        callers: usize,
    ) -> (String, BTreeSet<String>) {
        for doc in ["seed_shared_module.json", "seed_inbound_flow.json"] {
            let r = self
                .http
                .post(format!("{store_on}/v1/templates"))
                .json(&fixture(doc))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{:?}", r.text().await);
        }
        let names: Vec<String> = (1..=callers).map(|i| format!("Caller_{i:02}")).collect();
        let mut flows = vec![json!({"template": MODULE})];
        flows.extend(names.iter().map(
            |name| json!({"template": CALLER, "name": name, "params": {"queue_id": self.queue_id}}),
        ));
        let r = self
            .http
            .post(format!("{submit_on}/v1/jobs"))
            .json(&json!({"target": "default", "flows": flows}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 202, "{:?}", r.text().await);
        let id = r.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut expected: BTreeSet<String> = names.into_iter().collect();
        expected.insert(MODULE.to_owned());
        (id, expected)
    }

    /// After the job: the org holds one flow per name, exactly `expected`, each published at
    /// its latest version, and the flow records on every service in `services` (base URLs)
    /// agree with it. Returns the org's flows by name.
    pub async fn assert_provisioned_once(
        &self,
        expected: &BTreeSet<String>,
        services: &[String],
    ) -> BTreeMap<String, Value> {
        let in_org = get_json(&self.http, &format!("{}/sandbox/flows", self.base)).await["flows"]
            .as_array()
            .unwrap()
            .clone();
        let mut seen = BTreeSet::new();
        for f in &in_org {
            assert!(
                seen.insert((f["name"].to_string(), f["type"].to_string())),
                "duplicate flow {f:#}"
            );
        }
        let by_name: BTreeMap<String, Value> = in_org
            .into_iter()
            .map(|f| (f["name"].as_str().unwrap().to_owned(), f))
            .collect();
        assert_eq!(&by_name.keys().cloned().collect::<BTreeSet<_>>(), expected);
        for svc in services {
            let url = format!("{svc}/v1/flows?target=default&page_size=100");
            let records = get_json(&self.http, &url).await;
            let records = records["items"].as_array().unwrap();
            assert_eq!(records.len(), expected.len(), "{records:#?}");
            for r in records {
                let f = &by_name[r["name"].as_str().unwrap()];
                let latest = f["versions"].as_array().unwrap().last().unwrap()["id"].clone();
                assert_eq!(f["publishedVersion"], latest, "{f:#}");
                assert_eq!(r["flow_id"], f["id"], "{r:#}");
                assert_eq!(r["published_version"], latest, "{r:#}");
            }
        }
        by_name
    }

    /// Architect jobs registered in the org so far.
    pub async fn jobs_registered(&self) -> Value {
        get_json(&self.http, &format!("{}/sandbox/counters", self.base)).await["endpoints"]
            ["POST /api/v2/flows/jobs"]["total"]
            .clone()
    }
}

pub fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// GET `url` as JSON; anything but a 2xx fails the test.
pub async fn get_json(http: &Client, url: &str) -> Value {
    let r = http.get(url).send().await.unwrap();
    assert!(r.status().is_success(), "{url}: {}", r.status());
    r.json().await.unwrap()
}
