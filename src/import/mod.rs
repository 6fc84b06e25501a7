//! Archy YAML to template documents (issue 22): the reverse of [`crate::compile`]. Pure and
//! deterministic: the same files give the same documents, and node ids come from action
//! names (sanitised, made unique in document order), so a diff of two imports reads like a
//! diff of the flows.
//!
//! Every action becomes a node: the kinds flowsmith models become their node
//! (`nodes/<kind>.rs`, named as in `compile/nodes/`), any other action an `Archy` node that
//! keeps it as written, its branching outputs' actions imported as nodes too (so the graph
//! reads as the flow does in Architect). A branch that neither closes nor jumps merges back:
//! its last node moves to the node after the branching action. `jumpToTask` is an edge to
//! the task's first node. Task variables become flow variables (`Task.X` → `Flow.X`), since
//! the compiler lays tasks out afresh.
//!
//! Layout: `read` (the file: placeholders, bounded YAML, the root), `flow` (the header,
//! variables, tasks), `actions` (action lists to nodes), `nodes/<kind>.rs` (one action kind
//! each), `report` (what became what).

mod actions;
mod expr;
mod flow;
mod nodes;
mod read;
mod report;
#[cfg(test)]
mod tests;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

pub use report::{Mapped, Report};

use crate::template::document::DocumentLimits;
use crate::template::{Finding, FlowType};

/// One Archy file to import.
#[derive(Debug, Clone)]
pub struct ArchyFile {
    /// What the findings call it (a file name).
    pub name: String,
    pub yaml: String,
}

/// One imported file: its template document and what became of each action.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Imported {
    /// The template (and Genesys flow) name: the file's `name`.
    pub name: String,
    #[serde(rename = "type")]
    pub flow_type: FlowType,
    /// The template document, ready for `POST /v1/templates`.
    #[schema(value_type = std::collections::BTreeMap<String, Value>)]
    pub document: Value,
    pub report: Report,
}

/// The import of several files: the templates, and the findings (warnings: what could not
/// be carried over, with a pointer into the file).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Imports {
    pub templates: Vec<Imported>,
    pub findings: Vec<Finding>,
}

/// Why the files cannot be imported: the error findings (and the warnings met on the way),
/// each naming its file in the message and its place as a pointer into the YAML.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the Archy files cannot be imported ({} finding(s))", .findings.len())]
pub struct ImportError {
    pub findings: Vec<Finding>,
}

/// The limits of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportLimits {
    /// Each file's nesting and size (YAML aliases expanded).
    pub document: DocumentLimits,
    /// The most nodes one file may become.
    pub max_nodes: usize,
}

impl Default for ImportLimits {
    fn default() -> Self {
        ImportLimits {
            document: DocumentLimits {
                max_depth: 128,
                max_bytes: 4 * 1024 * 1024,
            },
            max_nodes: 20_000,
        }
    }
}

/// Imports Archy files (`inboundCall`, `commonModule`) as template documents. A file that
/// calls a common module must be imported with the module's file.
pub fn import(files: &[ArchyFile], limits: ImportLimits) -> Result<Imports, ImportError> {
    let mut findings = Vec::new();
    let mut read = Vec::with_capacity(files.len());
    for f in files {
        match read::read(f, limits.document) {
            Ok(r) => read.push((f, r)),
            Err(e) => findings.push(e),
        }
    }
    if !findings.is_empty() {
        return Err(ImportError { findings });
    }
    let mut templates = Vec::with_capacity(read.len());
    let mut modules: Vec<(String, &str)> = Vec::new();
    for (f, (ty, root)) in &read {
        let out = flow::import_flow(f, *ty, root, limits.max_nodes);
        findings.extend(out.findings);
        for m in out.calls {
            modules.push((m, f.name.as_str()));
        }
        if let Some(t) = out.imported {
            templates.push(t);
        }
    }
    for (module, file) in modules {
        let given = templates
            .iter()
            .any(|t| t.flow_type == FlowType::Module && t.name == module);
        if !given {
            findings.push(Finding::error(
                "module_not_given",
                "",
                format!(
                    "{file}: calls the common module '{module}', which is not among the imported files; import it with its callers"
                ),
            ));
        }
    }
    if findings
        .iter()
        .any(|f| f.severity == crate::findings::Severity::Error)
    {
        return Err(ImportError { findings });
    }
    Ok(Imports {
        templates,
        findings,
    })
}

/// A finding about file `file`, at `pointer` in its YAML.
fn error(file: &str, code: &str, pointer: &str, message: impl std::fmt::Display) -> Finding {
    Finding::error(code, pointer, format!("{file}: {message}"))
}

fn warning(file: &str, code: &str, pointer: &str, message: impl std::fmt::Display) -> Finding {
    Finding::warning(code, pointer, format!("{file}: {message}"))
}
