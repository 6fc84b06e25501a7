//! flowsmith: write Genesys Cloud call-flow logic once as common modules, call it from many
//! inbound call flows, and provision all of them in the right order.

pub mod api;
pub mod config;
pub mod error;
pub mod store;
pub mod template;
pub mod app;
pub mod cli;
pub mod telemetry;
