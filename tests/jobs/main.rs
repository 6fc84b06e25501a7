//! Provisioning jobs end to end: the real service on port 0 with a fresh SQLite file,
//! provisioning into a sandbox org spawned next to it, over HTTP.

// Test code: a panic is a failed assertion, and a scenario may read top to bottom.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

mod adoption;
mod concurrent;
mod crash;
#[path = "../common/crash_job.rs"]
mod crash_job;
#[path = "../common/db.rs"]
mod db;
mod faults;
mod helpers;
mod jobs;
mod kill;
mod org_calls;
mod releases;
#[path = "../common/service.rs"]
mod service;
mod storage;
