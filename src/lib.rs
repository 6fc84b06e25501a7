//! flowsmith: write Genesys Cloud call-flow logic once as common modules, call it from many
//! inbound call flows, and provision all of them in the right order.

pub mod compile;
pub mod diagram;
pub mod offline;
pub mod simulate;
pub mod template;
