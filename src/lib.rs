//! flowsmith: write Genesys Cloud call-flow logic once as common modules, call it from many
//! inbound call flows, and provision all of them in the right order.

pub mod api;
pub mod app;
pub mod archy;
pub mod bench;
pub mod cli;
pub mod compile;
pub mod config;
pub mod diagram;
pub mod error;
pub mod genesys;
pub mod jobs;
pub mod loadgen;
pub mod metrics;
pub mod offline;
pub mod sandbox;
pub mod simulate;
pub mod store;
pub mod telemetry;
pub mod template;
