//! Integration tests: the real service on port 0 with a fresh SQLite file, over HTTP.

// Test code: a panic is a failed assertion, and a scenario may read top to bottom.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

mod compile;
mod conformance;
mod console;
#[path = "../common/db.rs"]
mod db;
mod helpers;
mod malformed;
mod openapi;
mod templates;
