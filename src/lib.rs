//! flowsmith: write Genesys Cloud call-flow logic once as common modules, call it from many
//! inbound call flows, and provision all of them in the right order.
//!
//! Where things live, by layer (lowest first; the README's "Code map" has every folder, and
//! `tests/architecture.rs` checks that each module imports only lower layers):
//! - leaves: [`findings`], [`calls`] (the crate `flowsmith-calls`), [`job_model`], [`config`],
//!   [`work_limit`], [`metrics`];
//! - what a template is: [`template`];
//! - pure rules: [`compile`], [`validate`], [`simulate`], [`diagram`];
//! - the outside world and rows: [`genesys`], [`store`], [`telemetry`];
//! - use cases: `templates` (check, store, compile/draw/simulate a stored template), [`jobs`]
//!   (create, submit, plan, the worker, control, releases), [`offline`];
//! - HTTP: [`error`] (the one mapping to HTTP), [`api`]; the process: [`app`];
//!
//! Outside this library, in the workspace's crates/: the emulator (`flowsmith-sandbox`: the
//! sandbox org, the Archy judge, catalogue and interpreter, the load generator), the
//! benchmark drivers (`flowsmith-bench`) and the `flowsmith` binary (`flowsmith-cli`). This
//! library depends on none of them.

pub mod api;
pub mod app;
pub mod compile;
pub mod config;
pub mod diagram;
pub mod error;
pub mod findings;
pub mod genesys;
pub mod import;
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
pub mod work_limit;

/// The call vocabulary shared with the emulator's Archy interpreter (crate `flowsmith-calls`).
pub use flowsmith_calls as calls;
