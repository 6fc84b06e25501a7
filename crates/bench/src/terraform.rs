//! A Terraform-style client, run for real against an org (`flowsmith bench provision`'s
//! comparison). Modelled on what `genesyscloud_flow` does (reference `genesys-api.md` §3.2,
//! `peers.md`): `terraform apply -parallelism=10` walks the graph, so the module is applied
//! alone and then its callers ten at a time; each resource registers an Architect job, `PUT`s
//! its YAML, sleeps 15 s before every `GET /api/v2/flows/jobs/{id}` until the job ends, and then
//! reads the flow back with `GET /api/v2/flows/{id}` (retrying a 404). The Go SDK has no
//! client-side pacing; it retries a 429 after its `Retry-After`, which this client's
//! [`GenesysClient`] does too (built with no rate limit of its own).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use flowsmith::config::TargetConfig;
use flowsmith::genesys::{GenesysClient, JobStatus};
use flowsmith_sandbox as sandbox;

/// One flow to apply: its name (for messages) and its Archy YAML.
#[derive(Debug, Clone)]
pub struct Resource {
    pub name: String,
    pub yaml: String,
}

/// How the apply went.
#[derive(Debug, Clone)]
pub struct Applied {
    /// From the first request to the last read-back.
    pub makespan: Duration,
    /// Resources whose apply failed, with why.
    pub failed: Vec<String>,
}

/// Applies `module`, then `callers` `parallelism` at a time, polling every `poll_every`.
pub async fn apply(
    org: &str,
    module: Resource,
    callers: Vec<Resource>,
    parallelism: usize,
    poll_every: Duration,
) -> Result<Applied, String> {
    let client = Arc::new(
        GenesysClient::new(&TargetConfig {
            name: "terraform-style".into(),
            api_base_url: org.to_owned(),
            login_base_url: org.to_owned(),
            client_id: sandbox::DEFAULT_CLIENT_ID.into(),
            client_secret: sandbox::DEFAULT_CLIENT_SECRET.to_owned().into(),
            rate_limit_per_minute: 0,
            concurrency: parallelism as u32,
        })
        .map_err(|e| e.to_string())?,
    );
    let start = Instant::now();
    let mut failed = Vec::new();
    if let Err(e) = apply_one(&client, &module, poll_every).await {
        // Terraform skips the dependants of a failed resource.
        failed.push(format!("{}: {e}", module.name));
        return Ok(Applied {
            makespan: start.elapsed(),
            failed,
        });
    }
    let queue = Arc::new(Mutex::new(callers.into_iter()));
    let failures = Arc::new(Mutex::new(failed));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..parallelism.max(1) {
        let (client, queue, failures) = (client.clone(), queue.clone(), failures.clone());
        workers.spawn(async move {
            loop {
                let Some(r) = queue.lock().await.next() else {
                    return;
                };
                if let Err(e) = apply_one(&client, &r, poll_every).await {
                    failures.lock().await.push(format!("{}: {e}", r.name));
                }
            }
        });
    }
    while workers.join_next().await.is_some() {}
    let makespan = start.elapsed();
    let failed = std::mem::take(&mut *failures.lock().await);
    Ok(Applied { makespan, failed })
}

/// One `genesyscloud_flow` create: register, upload, poll every `poll_every`, read back.
async fn apply_one(
    client: &GenesysClient,
    r: &Resource,
    poll_every: Duration,
) -> Result<(), String> {
    let job = client.register_job().await.map_err(|e| e.to_string())?;
    client
        .upload(&job, &r.yaml)
        .await
        .map_err(|e| e.to_string())?;
    let flow_id = loop {
        tokio::time::sleep(poll_every).await;
        let j = client.job(&job.id).await.map_err(|e| e.to_string())?;
        match j.status {
            JobStatus::Success => {
                break j
                    .flow
                    .map(|f| f.id)
                    .ok_or("the job succeeded without a flow")?;
            }
            JobStatus::Failure => {
                let texts: Vec<String> = j.messages.into_iter().map(|m| m.text).collect();
                return Err(format!("flow publish failed: {}", texts.join("; ")));
            }
            JobStatus::Registered | JobStatus::Started => {}
        }
    };
    for _ in 0..10 {
        if client
            .flow(&flow_id)
            .await
            .map_err(|e| e.to_string())?
            .is_some()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Err(format!("flow {flow_id} not found after its job succeeded"))
}
