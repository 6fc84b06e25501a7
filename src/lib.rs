//! flowsmith: write Genesys Cloud call-flow logic once as common modules, call it from many
//! inbound call flows, and provision all of them in the right order.
//!
//! Where things live, by layer (lowest first; the README's "Code map" has every folder, and
//! `tests/architecture.rs` checks that each module imports only lower layers):
//! - leaves: [`findings`], [`calls`], [`job_model`], [`config`], [`metrics`];
//! - what a template is: [`template`];
//! - pure rules: [`compile`], [`validate`], [`simulate`], [`diagram`];
//! - the outside world and rows: [`genesys`], [`store`], [`telemetry`];
//! - use cases: `templates` (check, store, compile/draw/simulate a stored template), [`jobs`]
//!   (create, submit, plan, the worker, control, releases), [`offline`];
//! - HTTP: [`error`] (the one mapping to HTTP), [`api`]; the process: [`app`];
//! - beside the service: [`archy`], [`loadgen`], [`sandbox`] (the emulator), [`bench`], [`cli`].

pub mod api;
pub mod app;
pub mod archy;
pub mod bench;
pub mod calls;
pub mod cli;
pub mod compile;
pub mod config;
pub mod diagram;
pub mod error;
pub mod findings;
pub mod genesys;
pub mod job_model;
pub mod jobs;
pub mod loadgen;
pub mod metrics;
pub mod offline;
pub mod sandbox;
pub mod simulate;
pub mod store;
pub mod telemetry;
pub mod template;
pub(crate) mod templates;
pub mod validate;
