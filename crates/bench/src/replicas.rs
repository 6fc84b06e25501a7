//! `flowsmith bench provision --replicas N`: the same job, provisioned by N real
//! `flowsmith serve` child processes (this binary) on one database (PostgreSQL for N > 1),
//! with the service's default settings and the target's whole budget configured on each;
//! the replicas lease it from the database. With `--kill-after-secs`, the replica that
//! claimed the job is SIGKILLed that long after the job was created: another replica takes
//! the job over once its lease (30 s by default) has expired. Prints each replica's peak
//! memory beside the figures of [`super::provision`].

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flowsmith_sandbox as sandbox;

/// One replica: a `flowsmith serve` child, its address and the log lines that matter here.
pub(crate) struct Replica {
    child: Child,
    pub(crate) base: String,
    claims: Arc<Mutex<Vec<String>>>,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Replica {
    /// Starts `flowsmith serve` on `db` with target `default` at `org` and `rate` per minute,
    /// everything else at its default; `replicas` is what `FLOWSMITH_REPLICAS` says.
    pub(crate) fn spawn(db: &str, org: &str, rate: u32, replicas: u32) -> Result<Replica, String> {
        let exe = std::env::current_exe().map_err(|e| format!("current executable: {e}"))?;
        let mut cmd = Command::new(exe);
        for (k, _) in std::env::vars() {
            if k.starts_with("FLOWSMITH_") || k.starts_with("GENESYS_") || k == "RUST_LOG" {
                cmd.env_remove(k);
            }
        }
        let mut child = cmd
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url", db])
            .env("GENESYS_CLIENT_ID", sandbox::DEFAULT_CLIENT_ID)
            .env("GENESYS_CLIENT_SECRET", sandbox::DEFAULT_CLIENT_SECRET)
            .env("GENESYS_ENVIRONMENT", org)
            .env("GENESYS_RATE_LIMIT_PER_MINUTE", rate.to_string())
            .env("FLOWSMITH_REPLICAS", replicas.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start a replica: {e}"))?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let claims = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn({
            let claims = claims.clone();
            move || {
                // Keeps draining stderr so the replica never blocks on a full pipe.
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if line.contains("job claimed") {
                        claims.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                    } else if line.contains("flowsmith listening")
                        && let Some(i) = line.find("addr=")
                    {
                        let addr: String = line[i + 5..]
                            .chars()
                            .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | ':'))
                            .collect();
                        let _ = tx.send(addr);
                    }
                }
            }
        });
        let mut r = Replica {
            child,
            base: String::new(),
            claims,
        };
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .map_err(|_| "a replica printed no listening line".to_owned())?;
        r.base = format!("http://{addr}");
        Ok(r)
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether this replica logged claiming job `id`.
    fn claimed(&self, id: &str) -> bool {
        self.claims
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|l| l.contains(id))
    }

    /// SIGKILL.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `VmHWM` (peak resident memory) in MB, while the process lives.
    pub(crate) fn peak_mb(&self) -> f64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    }
}

/// SIGKILLs the replica that claimed job `id` (waiting for its log line, at most 10 s);
/// answers which one it was.
pub(crate) async fn kill_claimant(replicas: &Mutex<Vec<Replica>>, id: &str) -> Option<usize> {
    for _ in 0..200 {
        {
            let mut r = replicas.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(i) = r.iter().position(|r| r.claimed(id)) {
                r[i].kill();
                return Some(i);
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}
