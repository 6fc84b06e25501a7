//! Contract test: the official Genesys Cloud Python SDK (`purecloudplatformclientv2`) drives
//! the sandbox and must deserialise every answer. Skipped (with a message) when the SDK is not
//! installed, unless `CI` is set: then it fails.
//!
//! Install: `pip install -r tests/sdk_contract/requirements.txt`.

// Test code: a panic is a failed assertion, and a scenario may read top to bottom.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

#[path = "common/skip.rs"]
mod skip;

use flowsmith_sandbox::{SandboxOptions, spawn_local};
use tokio::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_drives_the_sandbox() {
    let importable = Command::new("python3")
        .args(["-c", "import PureCloudPlatformClientV2"])
        .output()
        .await
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !importable {
        skip::skip(
            "official_python_sdk_drives_the_sandbox",
            "python3 cannot import PureCloudPlatformClientV2 (pip install -r tests/sdk_contract/requirements.txt)",
        );
        return;
    }
    let (base, _sb) = spawn_local(SandboxOptions {
        job_duration_ms: 50,
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let script = concat!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../.."),
        "/tests/sdk_contract/contract.py"
    );
    let out = Command::new("python3")
        .arg(script)
        .arg(&base)
        .output()
        .await
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "SDK contract failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("SDK contract OK"), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("data tables, schedule groups, prompts"),
        "{stdout}"
    );
}
