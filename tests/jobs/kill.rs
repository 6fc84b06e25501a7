//! Crash safety with the real binary: `flowsmith serve` is SIGKILLed many times at random
//! moments while it provisions a multi-flow job into a sandbox org, and restarted on the same
//! database each time. The job must still succeed with exactly one flow per name in the org
//! and flow records that match it.

use std::path::Path;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

use crate::crash_job::{CrashOrg, get_json};
use crate::service::{Service, serve_against};

/// `flowsmith serve` provisioning into the sandbox at `org`, with a 1 s lease so that a
/// killed process's job is reclaimed quickly.
fn start(org: &str, db: &Path) -> Service {
    let mut cmd = serve_against(db, org);
    cmd.env("GENESYS_RATE_LIMIT_PER_MINUTE", "6000")
        .env("FLOWSMITH_LEASE_SECS", "1")
        .env("FLOWSMITH_WORKER_POLL_MS", "50");
    Service::spawn(cmd)
}

#[tokio::test]
async fn sigkilled_many_times_the_real_binary_still_finishes_the_job_without_duplicates() {
    // Arrange: an org whose Architect jobs take a moment, and the binary pointed at it.
    let seed: u64 = std::env::var("KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("kill test seed: {seed} (rerun with KILL_SEED={seed})");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let org = CrashOrg::start().await;
    let http = org.http.clone();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("flowsmith.db");
    let started = Instant::now();
    let mut svc = start(&org.base, &db);
    let (id, expected) = org.submit(&svc.url(""), &svc.url(""), 10).await;

    // Act: SIGKILL at a random moment 0–600 ms after each (re)start, and start again on the
    // same database.
    let kills = rng.gen_range(8..=12);
    for k in 0..kills {
        let after = Duration::from_millis(rng.gen_range(0..=600));
        tokio::time::sleep(after).await;
        svc.kill();
        println!("kill {}/{kills} after {after:?}", k + 1);
        svc = start(&org.base, &db);
    }
    let job = {
        let deadline = Instant::now() + Duration::from_secs(45);
        loop {
            let j = get_json(&http, &format!("{}/v1/jobs/{id}", svc.url(""))).await;
            if matches!(
                j["status"].as_str(),
                Some("succeeded" | "failed" | "cancelled")
            ) {
                break j;
            }
            assert!(
                Instant::now() < deadline,
                "job not finished: {j:#}\nlog: {:?}",
                svc.log_lines()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };

    // Assert: succeeded after reclaims, one flow per name, records agree with the org.
    assert_eq!(job["status"], "succeeded", "{job:#}");
    assert!(job["attempt"].as_i64().unwrap() >= 2, "{job:#}");
    let org_by_name = org.assert_provisioned_once(&expected, &[svc.url("")]).await;
    for s in job["steps"].as_array().unwrap() {
        assert_eq!(s["state"], "succeeded", "{s:#}");
        let f = &org_by_name[s["flow_name"].as_str().unwrap()];
        assert_eq!(s["flow_id"], f["id"], "{s:#}");
        assert!(s["published_version"].is_string(), "{s:#}");
    }
    println!(
        "{kills} kills, attempt {}, {} Architect jobs registered for {} flows, {:.1?} in all",
        job["attempt"],
        org.jobs_registered().await,
        expected.len(),
        started.elapsed()
    );
}
