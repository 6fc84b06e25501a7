//! The `flowsmith` binary's command line: it parses the subcommands and starts the service
//! (`flowsmith` library), the emulator (`flowsmith-sandbox`) or a benchmark (`flowsmith-bench`).

pub mod cli;
