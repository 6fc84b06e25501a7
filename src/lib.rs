//! flowsmith: write Genesys Cloud call-flow logic once as common modules, call it from many
//! inbound call flows, and provision all of them in the right order.
//!
//! Where things live (the README's "Code map" says the same):
//! - a **route**: [`api`] (one file per resource; handlers parse, call one use case, map the
//!   result); errors meet HTTP only in [`error`];
//! - a **use case**: [`jobs`] (`create`, `submit`, `control`, `releases`) and the worker
//!   that runs a job ([`jobs::worker`]); `templates` (check a document against the modules
//!   it calls, store a version, compile, draw, simulate);
//! - a **rule** (pure, unit-tested): [`jobs::model`], [`jobs::plan`], [`template`],
//!   [`compile`], [`simulate`], [`diagram`];
//! - a **row**: [`store`] (SQL, rows, and the [`store::Lease`] whose methods are the
//!   worker's only writes);
//! - the outside world: [`genesys`] (the Platform API client); [`metrics`] (a leaf).
//!
//! Dependencies point down (`api` → `jobs` → `store`, `genesys`, `template`, `compile`;
//! `api` → `templates` → `store`, `template`, `compile`; the planner in `jobs` uses
//! `templates`' pure check, `templates` imports nothing from `jobs`); nothing below `api`
//! imports it.
//!
//! The emulator (the sandbox org, the Archy judge, catalogue and interpreter, the load
//! generator) is the workspace's crate `flowsmith-sandbox`. Only what the binary needs beside
//! the service uses it: `cli` and `bench`, behind the default feature `cli`; without it
//! (`cargo build --lib --no-default-features`) the library does not depend on the emulator.

pub mod api;
pub mod app;
#[cfg(feature = "cli")]
pub mod bench;
#[cfg(feature = "cli")]
pub mod cli;
pub mod compile;
pub mod config;
pub mod diagram;
pub mod error;
pub mod findings;
pub mod genesys;
pub mod job_model;
pub mod jobs;
pub mod metrics;
pub mod offline;
pub mod simulate;
pub mod store;
pub mod telemetry;
pub mod template;
pub(crate) mod templates;
pub mod validate;

/// The call vocabulary shared with the emulator's Archy interpreter (crate `flowsmith-calls`).
pub use flowsmith_calls as calls;
