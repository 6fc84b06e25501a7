//! The README's test command, `scripts/test`, with a stand-in for cargo: it still finds a
//! PostgreSQL cluster when the usual port is held by another listener, stops the cluster it
//! started, and ends by listing the tests that skipped.

// Test code: a panic is a failed assertion, and a scenario may read top to bottom.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

#[path = "common/skip.rs"]
mod skip;

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// Whether a PostgreSQL server answers at `url`.
fn answers(url: &str) -> bool {
    Command::new("psql")
        .args(["-qAt", url, "-c", "SELECT 1"])
        .env("PGCONNECT_TIMEOUT", "3")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_test_command_takes_a_free_port_stops_its_cluster_and_lists_skips() {
    if !Path::new("/usr/lib/postgresql/15/bin/postgres").exists() || !answers_needs_psql() {
        skip::skip(
            "the_test_command_takes_a_free_port_stops_its_cluster_and_lists_skips",
            "PostgreSQL 15 and psql are not installed (scripts/pg-test-cluster start installs them)",
        );
        return;
    }
    // The port the script tries first, held by something that is not PostgreSQL.
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let held_port = held.local_addr().unwrap().port();

    let dir = tempfile::tempdir().unwrap();
    // The cluster's directory belongs to the postgres user when this runs as root.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let calls = dir.path().join("calls");
    let stub = dir.path().join("cargo");
    std::fs::write(
        &stub,
        format!(
            "#!/usr/bin/env bash\n\
             # Records each run and whether its PostgreSQL URL answers; one test skips.\n\
             url=${{FLOWSMITH_TEST_POSTGRES_URL:-}}\n\
             if [ -n \"$url\" ] && psql -qAt \"$url\" -c 'SELECT 1' >/dev/null 2>&1; then pg=answers; else pg=\"none:$url\"; fi\n\
             echo \"$* $pg\" >> {calls}\n\
             echo 'SKIPPED stub_test: a tool is missing' >> \"$FLOWSMITH_TEST_SKIPS\"\n",
            calls = calls.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();

    let out = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/test"))
        .args(["--test", "none"])
        .env("FLOWSMITH_TEST_CARGO", &stub)
        .env("FLOWSMITH_PG_DEFAULT_PORT", held_port.to_string())
        .env("FLOWSMITH_PG_DIR", dir.path().join("pg"))
        .env_remove("FLOWSMITH_PG_PORT")
        .env_remove("FLOWSMITH_TEST_POSTGRES_URL")
        .env_remove("FLOWSMITH_TEST_SKIPS")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let text = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(
        stdout.contains(&format!("port {held_port} is taken")),
        "{text}"
    );
    let port: u16 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("== PostgreSQL: started a cluster on port "))
        .unwrap_or_else(|| panic!("{text}"))
        .trim()
        .parse()
        .unwrap();
    assert_ne!(port, held_port);

    // Both passes ran; the second one with a cluster that answered.
    let calls = std::fs::read_to_string(&calls).unwrap();
    let runs: Vec<&str> = calls.lines().collect();
    assert_eq!(runs.len(), 2, "{calls}");
    assert!(
        runs[0].starts_with("test --locked --workspace --test none"),
        "{calls}"
    );
    assert!(runs[0].ends_with("none:"), "{calls}");
    assert!(runs[1].ends_with("--test none answers"), "{calls}");

    // The cluster it started is stopped, and the last lines list the skip (once).
    assert!(
        !answers(&format!("postgres://postgres@127.0.0.1:{port}/postgres")),
        "{text}"
    );
    let tail: Vec<&str> = stdout.lines().rev().take(2).collect();
    assert_eq!(
        tail[0].trim(),
        "SKIPPED stub_test: a tool is missing",
        "{text}"
    );
    assert!(tail[1].starts_with("== skipped tests"), "{text}");
    drop(held);
}

/// psql is on the PATH (the stand-in and [`answers`] use it).
fn answers_needs_psql() -> bool {
    Command::new("psql")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}
