//! Integration tests: the real service on port 0 with a fresh SQLite file, over HTTP.

mod compile;
mod conformance;
#[path = "../common/db.rs"]
mod db;
mod helpers;
mod malformed;
mod openapi;
mod templates;
