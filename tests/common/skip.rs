//! A test that cannot run here (a tool is not installed) says so visibly: under `CI` it
//! fails; otherwise it prints `SKIPPED <test>: <why>` and, when `scripts/test` set
//! `FLOWSMITH_TEST_SKIPS` to a file, appends that line to it. Cargo captures a passing
//! test's output, so the file is what lets `scripts/test` list every skip at its end.

use std::io::Write;

/// Records that `test` did not run, and why; panics under `CI`, where nothing may skip.
pub fn skip(test: &str, why: &str) {
    assert!(std::env::var_os("CI").is_none(), "CI is set but {why}");
    let line = format!("SKIPPED {test}: {why}");
    eprintln!("{line}");
    if let Some(path) = std::env::var_os("FLOWSMITH_TEST_SKIPS") {
        // One short line in append mode: concurrent tests do not interleave inside it.
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(format!("{line}\n").as_bytes()));
        assert!(
            written.is_ok(),
            "cannot record the skip in {path:?}: {written:?}"
        );
    }
}
