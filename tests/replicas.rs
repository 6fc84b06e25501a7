//! Several `flowsmith serve` processes, as real child processes.
//!
//! - SQLite: a second process on the same database file is refused at start-up, and the lock
//!   is free again once the first is SIGKILLed.

#[path = "common/service.rs"]
mod service;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use service::{Service, serve};

/// Runs `cmd` to its end (at most `limit`), returning its exit status and stderr.
fn run_to_exit(mut cmd: Command, limit: Duration) -> (std::process::ExitStatus, String) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flowsmith starts");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {limit:?}: a second replica was not refused");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    (status, err)
}

#[test]
fn a_second_replica_on_one_sqlite_file_is_refused_until_the_first_is_gone() {
    // Arrange: one process serving the file.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("flowsmith.db");
    let mut first = Service::spawn(serve(&db));

    // Act: a second one on the same file.
    let (status, stderr) = run_to_exit(serve(&db), Duration::from_secs(30));

    // Assert: refused, naming the file and what to do instead.
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains(&db.display().to_string()), "{stderr}");
    assert!(
        stderr.contains("in use by another flowsmith process"),
        "{stderr}"
    );
    assert!(stderr.contains("PostgreSQL"), "{stderr}");
    assert!(
        first.child.try_wait().unwrap().is_none(),
        "the first process keeps running"
    );

    // A SIGKILLed process leaves no stale lock: the OS releases it.
    first.kill();
    let again = Service::spawn(serve(&db));
    assert!(again.addr.contains(':'));
}
