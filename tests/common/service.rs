//! The real `flowsmith` binary as a child process: started with `serve --listen 127.0.0.1:0`
//! and whatever else a test adds, its stderr collected, its port read from the start-up line.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// The binary with no `FLOWSMITH_*`, `GENESYS_*` or `RUST_LOG` inherited from the test run.
pub fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flowsmith"));
    for (k, _) in std::env::vars() {
        if k.starts_with("FLOWSMITH_") || k.starts_with("GENESYS_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// `serve` on port 0 over `db`, provisioning into the sandbox at `org` as target `default`.
pub fn serve_against(db: &Path, org: &str) -> Command {
    let mut cmd = serve(db);
    cmd.env("GENESYS_CLIENT_ID", flowsmith_sandbox::DEFAULT_CLIENT_ID)
        .env(
            "GENESYS_CLIENT_SECRET",
            flowsmith_sandbox::DEFAULT_CLIENT_SECRET,
        )
        .env("GENESYS_ENVIRONMENT", org);
    cmd
}

/// `serve` on port 0 over the test database `db` names (a SQLite file, or the PostgreSQL
/// database noted beside it: [`crate::db::database_url`]).
pub fn serve(db: &Path) -> Command {
    serve_url(&crate::db::database_url(db))
}

/// `serve` on port 0 over the database at `url`.
pub fn serve_url(url: &str) -> Command {
    let mut cmd = bin();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--database-url", url]);
    cmd
}

/// The address in the start-up line, as text (`... flowsmith listening addr=IP:PORT`) or
/// JSON (`{"message":"flowsmith listening","addr":"IP:PORT",..}`).
pub fn listening_addr(line: &str) -> Option<String> {
    if !line.contains("flowsmith listening") {
        return None;
    }
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
        let addr = v.get("addr").or_else(|| v["fields"].get("addr"))?;
        return addr.as_str().map(str::to_owned);
    }
    let rest = &line[line.find("addr=")? + 5..];
    let addr: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | ':' | '[' | ']'))
        .collect();
    (!addr.is_empty()).then_some(addr)
}

pub struct Service {
    pub child: Child,
    /// `IP:PORT`
    pub addr: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Service {
    /// Spawns `cmd` and waits for its listening line. Worktrees sharing one target directory
    /// may overwrite the binary between build and test: that is said instead of failing
    /// obscurely.
    pub fn spawn(mut cmd: Command) -> Service {
        let ok = bin()
            .args(["healthcheck", "--help"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "{} is not from this build (another checkout sharing the target directory rebuilt it?): rerun the tests",
            env!("CARGO_BIN_EXE_flowsmith")
        );
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("flowsmith starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        std::thread::spawn({
            let log = log.clone();
            move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(addr) = listening_addr(&line) {
                        let _ = tx.send(addr);
                    }
                    log.lock().unwrap().push(line);
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => Service { child, addr, log },
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no listening line in: {:?}", log.lock().unwrap());
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn sigterm(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs")
            .success();
        assert!(ok);
    }

    /// SIGKILL (what `Child::kill` sends on unix) and reap.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL is delivered");
        self.child.wait().unwrap();
    }

    /// Waits up to `limit` for the process to exit (then lets the reader take the last lines).
    pub async fn wait(&mut self, limit: Duration) -> ExitStatus {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                tokio::time::sleep(Duration::from_millis(100)).await;
                return status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = self.child.kill();
        panic!(
            "flowsmith did not exit within {limit:?}: {}",
            self.log_text()
        );
    }

    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
