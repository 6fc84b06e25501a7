//! `flowsmith import FILE... [--out DIR]`: Archy files to template documents, offline.

use std::io::Write;
use std::path::PathBuf;

use super::{OfflineError, finding_line};
use crate::import::{self, ArchyFile, ImportLimits};

/// `flowsmith import FILE... [--out DIR]`
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// Archy YAML files (`inboundCall`, `commonModule`); a module with its callers.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Write one `<template name>.json` per flow into DIR instead of printing them.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Imports the files; prints the findings (with the file), a line per template (actions,
/// native nodes, kept actions), then the documents (or writes them to `--out`).
pub fn import_files(args: &ImportArgs, out: &mut dyn Write) -> Result<(), OfflineError> {
    let limits = ImportLimits::default();
    let mut files = Vec::with_capacity(args.files.len());
    for path in &args.files {
        let len = std::fs::metadata(path)
            .map_err(|source| OfflineError::Read {
                path: path.clone(),
                source,
            })?
            .len();
        // Refused before it is read: the file's size against the limit.
        let yaml = if usize::try_from(len).is_ok_and(|l| l <= limits.document.max_bytes) {
            std::fs::read_to_string(path).map_err(|source| OfflineError::Read {
                path: path.clone(),
                source,
            })?
        } else {
            " ".repeat(limits.document.max_bytes + 1)
        };
        files.push(ArchyFile {
            name: path.display().to_string(),
            yaml,
        });
    }
    let imports = match import::import(&files, limits) {
        Ok(i) => i,
        Err(e) => {
            for f in &e.findings {
                writeln!(out, "{}", finding_line(std::path::Path::new(""), f))?;
            }
            return Err(OfflineError::Invalid {
                count: e.findings.len(),
            });
        }
    };
    for f in &imports.findings {
        writeln!(out, "{}", finding_line(std::path::Path::new(""), f))?;
    }
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)?;
    }
    for t in &imports.templates {
        let r = &t.report;
        writeln!(
            out,
            "{}: {} {:?}: {} actions, {} native ({:.0}%), {} kept as written",
            r.file,
            t.flow_type.as_str(),
            t.name,
            r.actions,
            r.native,
            r.native_percent(),
            r.kept
        )?;
        let json = serde_json::to_string_pretty(&t.document).unwrap_or_default();
        match &args.out {
            Some(dir) => {
                let file = dir.join(format!("{}.json", crate::compile::sanitize(&t.name)));
                std::fs::write(&file, json + "\n")?;
            }
            None => writeln!(out, "{json}")?,
        }
    }
    Ok(())
}
