//! The job domain's vocabulary: job statuses, step states and step actions, each with its one
//! text form (what the database stores and the API shows), [`StepError`] (why a step did not
//! succeed, as stored JSON), and [`Corrupt`], the error of a stored value that does not read
//! back.
//!
//! A leaf: it imports nothing from the crate, so the store (rows) and the jobs layer (use
//! cases, worker) share it without depending on each other. The text mapping is plain
//! `as_str` / `FromStr` rather than a backend's type traits: the store reads a TEXT column and
//! parses it, the same way on every database.

use std::fmt;
use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A stored text that is not one of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a {kind}")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
}

/// Declares a text-mapped enum: serde and OpenAPI use the same lowercase strings as
/// `as_str`/`FromStr`, and `ALL` lists the values in order.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "lowercase")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The text stored and shown.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, UnknownValue> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(UnknownValue { kind: $kind, value: other.to_owned() }),
                }
            }
        }

        /// For `#[sqlx(try_from = "String")]`: a row with an unknown value fails to decode.
        impl TryFrom<String> for $name {
            type Error = UnknownValue;
            fn try_from(s: String) -> Result<Self, UnknownValue> {
                s.parse()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum! {
    /// A job's status.
    JobStatus, "job status" {
        /// Waiting for a worker.
        Queued => "queued",
        /// Claimed by a worker under a lease.
        Running => "running",
        Succeeded => "succeeded",
        Failed => "failed",
        Cancelled => "cancelled",
    }
}

impl JobStatus {
    /// Final (until a retry).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled
        )
    }
}

text_enum! {
    /// A step's state.
    StepState, "step state" {
        Pending => "pending",
        Running => "running",
        Succeeded => "succeeded",
        Failed => "failed",
        /// A module it calls did not succeed (or a dry run).
        Skipped => "skipped",
        Cancelled => "cancelled",
    }
}

impl StepState {
    /// Not ended yet: the worker may still run it.
    pub fn is_open(self) -> bool {
        matches!(self, StepState::Pending | StepState::Running)
    }

    /// Ended without success: the steps waiting for it cannot run.
    pub fn is_unsuccessful(self) -> bool {
        matches!(
            self,
            StepState::Failed | StepState::Skipped | StepState::Cancelled
        )
    }
}

text_enum! {
    /// What a step does to its flow.
    Action, "step action" {
        /// No flow record: the flow is created (or adopted by name) and published.
        Create => "create",
        /// The compiled YAML differs from the recorded one.
        Update => "update",
        /// Same YAML as recorded and published: nothing to do.
        Unchanged => "unchanged",
        /// A caller of a module that this job changes: republished to snapshot the new module.
        Republish => "republish",
        /// Retire the flow: delete it in the org and remove its record.
        Delete => "delete",
        /// Take over a flow the org already runs: export its published version, import it
        /// as a template, and record it as flowsmith's (nothing is published).
        Adopt => "adopt",
    }
}

impl Action {
    pub fn parse(s: &str) -> Option<Action> {
        s.parse().ok()
    }

    /// Whether the step changes the flow in Genesys.
    pub fn changes(self) -> bool {
        !matches!(self, Action::Unchanged | Action::Adopt)
    }
}

/// A stored JSON value that does not decode as what was written: the row is named so that
/// an operator can find it. Never defaulted: a corrupt `depends_on` read as `[]` would let a
/// caller publish before its module.
#[derive(Debug, Clone, thiserror::Error)]
#[error("stored {table}.{column} of {key} is corrupt: {reason}")]
pub struct Corrupt {
    pub table: &'static str,
    pub column: &'static str,
    /// The row's key, e.g. `job 01H… step 3`.
    pub key: String,
    pub reason: String,
}

/// Why a step ended without success, as `job_steps.error` stores it and the API shows it:
/// JSON `{"kind": …, "message": …, …}`. The kinds and field names are the stored format
/// (rows written by earlier versions must read back): never rename them. Written by the
/// worker (a failed, skipped or cancelled step), a cancel of a queued job, and a dry run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepError {
    /// A stored value of the step (context, parameters, template) does not read back.
    #[error("{message}")]
    CorruptRow { message: String },
    /// The template version the step was planned from is gone.
    #[error("{message}")]
    TemplateMissing { message: String },
    /// The template no longer validates with the step's parameters.
    #[error("{message}")]
    InvalidTemplate {
        message: String,
        /// The validation's findings, as JSON.
        findings: Vec<serde_json::Value>,
    },
    #[error("{message}")]
    UnknownQueue { message: String },
    #[error("{message}")]
    ModuleNotUsable { message: String },
    #[error("{message}")]
    ModuleNotFound { message: String },
    /// The compile errors of a step (one kind per `CompileError::code`).
    #[error("{message}")]
    NameCollision { message: String },
    #[error("{message}")]
    ModuleIdUnresolved { message: String },
    #[error("{message}")]
    UnknownNode { message: String },
    #[error("{message}")]
    ModuleCallsModule { message: String },
    #[error("{message}")]
    ModuleNotStructurable { message: String },
    /// The Architect job ended in `Failure`.
    #[error("{message}")]
    ArchitectJobFailed {
        message: String,
        /// Its messages (`{type, text}`), every one of them.
        messages: Vec<serde_json::Value>,
        genesys_job_id: String,
        /// Re-registrations after a backend rate limit.
        retries: u32,
    },
    /// Architect jobs kept getting lost (unknown, or never got their upload).
    #[error("{message}")]
    ArchitectJobLost { message: String },
    /// The Architect job did not finish within the job timeout.
    #[error("{message}")]
    Timeout {
        message: String,
        genesys_job_id: String,
    },
    /// Someone else holds the flow checked out (`on_locked`).
    #[error("{message}")]
    FlowLocked { message: String },
    /// Genesys answered an error that retrying does not fix.
    #[error("{message}")]
    GenesysApi {
        message: String,
        status: u16,
        code: String,
        correlation_id: Option<String>,
    },
    #[error("{message}")]
    GenesysAuth { message: String },
    #[error("{message}")]
    GenesysUnavailable { message: String },
    #[error("{message}")]
    GenesysProtocol { message: String },
    /// An adopted flow's export job ended in `Failure` or did not end in time.
    #[error("{message}")]
    ExportFailed {
        message: String,
        messages: Vec<serde_json::Value>,
        genesys_job_id: String,
    },
    /// An adopted flow's YAML cannot be imported (the importer's error findings).
    #[error("{message}")]
    ImportRefused {
        message: String,
        findings: Vec<serde_json::Value>,
    },
    /// A caller to adopt calls a common module flowsmith has not adopted (or deployed).
    #[error("{message}")]
    ModuleNotAdopted { message: String },
    /// A module step it waits for did not succeed (the step is skipped).
    #[error("{message}")]
    DependencyFailed { message: String, depends_on: usize },
    /// The job was cancelled before the step started.
    #[error("{message}")]
    Cancelled { message: String },
    /// A dry run: planned, not provisioned.
    #[error("{message}")]
    DryRun { message: String },
    /// A kind this version does not write (a row of an earlier version, e.g. `internal`):
    /// read, and shown, as it is.
    #[serde(untagged)]
    #[error("{message}")]
    Other { kind: String, message: String },
}

impl StepError {
    /// The error of a step the cancel of its job reached before it started.
    pub fn cancelled() -> StepError {
        StepError::Cancelled {
            message: "the job was cancelled before this step started".to_owned(),
        }
    }

    /// The stored `kind`.
    pub fn kind(&self) -> &str {
        match self {
            StepError::CorruptRow { .. } => "corrupt_row",
            StepError::TemplateMissing { .. } => "template_missing",
            StepError::InvalidTemplate { .. } => "invalid_template",
            StepError::UnknownQueue { .. } => "unknown_queue",
            StepError::ModuleNotUsable { .. } => "module_not_usable",
            StepError::ModuleNotFound { .. } => "module_not_found",
            StepError::NameCollision { .. } => "name_collision",
            StepError::ModuleIdUnresolved { .. } => "module_id_unresolved",
            StepError::UnknownNode { .. } => "unknown_node",
            StepError::ModuleCallsModule { .. } => "module_calls_module",
            StepError::ModuleNotStructurable { .. } => "module_not_structurable",
            StepError::ArchitectJobFailed { .. } => "architect_job_failed",
            StepError::ArchitectJobLost { .. } => "architect_job_lost",
            StepError::Timeout { .. } => "timeout",
            StepError::FlowLocked { .. } => "flow_locked",
            StepError::GenesysApi { .. } => "genesys_api",
            StepError::GenesysAuth { .. } => "genesys_auth",
            StepError::GenesysUnavailable { .. } => "genesys_unavailable",
            StepError::GenesysProtocol { .. } => "genesys_protocol",
            StepError::ExportFailed { .. } => "export_failed",
            StepError::ImportRefused { .. } => "import_refused",
            StepError::ModuleNotAdopted { .. } => "module_not_adopted",
            StepError::DependencyFailed { .. } => "dependency_failed",
            StepError::Cancelled { .. } => "cancelled",
            StepError::DryRun { .. } => "dry_run",
            StepError::Other { kind, .. } => kind,
        }
    }

    /// The human-readable message every kind has.
    pub fn message(&self) -> &str {
        match self {
            StepError::CorruptRow { message }
            | StepError::TemplateMissing { message }
            | StepError::InvalidTemplate { message, .. }
            | StepError::UnknownQueue { message }
            | StepError::ModuleNotUsable { message }
            | StepError::ModuleNotFound { message }
            | StepError::NameCollision { message }
            | StepError::ModuleIdUnresolved { message }
            | StepError::UnknownNode { message }
            | StepError::ModuleCallsModule { message }
            | StepError::ModuleNotStructurable { message }
            | StepError::ArchitectJobFailed { message, .. }
            | StepError::ArchitectJobLost { message }
            | StepError::Timeout { message, .. }
            | StepError::FlowLocked { message }
            | StepError::GenesysApi { message, .. }
            | StepError::GenesysAuth { message }
            | StepError::GenesysUnavailable { message }
            | StepError::GenesysProtocol { message }
            | StepError::ExportFailed { message, .. }
            | StepError::ImportRefused { message, .. }
            | StepError::ModuleNotAdopted { message }
            | StepError::DependencyFailed { message, .. }
            | StepError::Cancelled { message }
            | StepError::DryRun { message }
            | StepError::Other { message, .. } => message,
        }
    }

    /// As a JSON value (the stored text is its `to_string()`, the events embed it). Built
    /// through `Value`, as the `json!` objects it replaces were, so the stored text keeps its
    /// key order byte for byte.
    pub fn to_json(&self) -> serde_json::Value {
        // Cannot fail: every field is a string, a number or a JSON value.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// Whether a caller whose flow record was written at `caller_at` still runs the previous
/// version of a module whose record was written at `module_at`: Genesys snapshots a module
/// into a caller when the caller is published. Record times are RFC 3339 UTC text with
/// milliseconds, so they compare as text. The planner and the worker's run-time re-check
/// both decide by this.
pub fn caller_behind_module(caller_at: &str, module_at: &str) -> bool {
    module_at > caller_at
}

/// Decodes a stored JSON text, naming the row when it does not decode.
pub fn decode_json<T: DeserializeOwned>(
    table: &'static str,
    column: &'static str,
    key: impl fmt::Display,
    text: &str,
) -> Result<T, Corrupt> {
    serde_json::from_str(text).map_err(|e| Corrupt {
        table,
        column,
        key: key.to_string(),
        reason: e.to_string(),
    })
}

/// Reads a stored value back through a query that expects a `sqlx::Error` (e.g. a planning
/// read inside the submission use case): the decode failure keeps its message.
impl From<Corrupt> for sqlx::Error {
    fn from(c: Corrupt) -> sqlx::Error {
        sqlx::Error::Decode(Box::new(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_and_matches_serde() {
        for s in JobStatus::ALL {
            assert_eq!(s.as_str().parse::<JobStatus>(), Ok(*s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in StepState::ALL {
            assert_eq!(s.as_str().parse::<StepState>(), Ok(*s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(*a));
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
        }
    }

    #[test]
    fn unknown_text_is_an_error_naming_it() {
        let e = "Running".parse::<JobStatus>().unwrap_err();
        assert_eq!(e.to_string(), "\"Running\" is not a job status");
        assert!("".parse::<StepState>().is_err());
    }

    #[test]
    fn terminal_and_open() {
        let terminal: Vec<_> = JobStatus::ALL.iter().filter(|s| s.is_terminal()).collect();
        assert_eq!(terminal.len(), 3);
        assert!(!JobStatus::Running.is_terminal());
        assert!(StepState::Running.is_open() && !StepState::Succeeded.is_open());
        assert!(StepState::Skipped.is_unsuccessful() && !StepState::Pending.is_unsuccessful());
    }

    #[test]
    fn step_errors_store_the_json_the_old_objects_did() {
        let api = StepError::GenesysApi {
            message: "nope".into(),
            status: 400,
            code: "bad.request".into(),
            correlation_id: None,
        };
        let old = serde_json::json!({"kind": "genesys_api", "message": "nope", "status": 400, "code": "bad.request", "correlation_id": null});
        assert_eq!(api.to_json().to_string(), old.to_string());
        assert_eq!(serde_json::from_value::<StepError>(old).unwrap(), api);
        let failed = StepError::ArchitectJobFailed {
            message: "m".into(),
            messages: vec![serde_json::json!({"type": "error", "text": "m"})],
            genesys_job_id: "g".into(),
            retries: 1,
        };
        let old = serde_json::json!({"kind": "architect_job_failed", "message": "m", "messages": [{"type": "error", "text": "m"}], "genesys_job_id": "g", "retries": 1});
        assert_eq!(failed.to_json().to_string(), old.to_string());
        assert_eq!(
            StepError::cancelled().to_json().to_string(),
            serde_json::json!({"kind": "cancelled", "message": "the job was cancelled before this step started"}).to_string()
        );
    }

    #[test]
    fn step_error_kinds_match_their_stored_text() {
        let m = || "m".to_owned();
        let all = [
            StepError::CorruptRow { message: m() },
            StepError::TemplateMissing { message: m() },
            StepError::InvalidTemplate {
                message: m(),
                findings: vec![],
            },
            StepError::UnknownQueue { message: m() },
            StepError::ModuleNotUsable { message: m() },
            StepError::ModuleNotFound { message: m() },
            StepError::NameCollision { message: m() },
            StepError::ModuleIdUnresolved { message: m() },
            StepError::UnknownNode { message: m() },
            StepError::ModuleCallsModule { message: m() },
            StepError::ModuleNotStructurable { message: m() },
            StepError::ArchitectJobLost { message: m() },
            StepError::Timeout {
                message: m(),
                genesys_job_id: m(),
            },
            StepError::FlowLocked { message: m() },
            StepError::GenesysAuth { message: m() },
            StepError::GenesysUnavailable { message: m() },
            StepError::GenesysProtocol { message: m() },
            StepError::DependencyFailed {
                message: m(),
                depends_on: 2,
            },
            StepError::DryRun { message: m() },
        ];
        for e in all {
            let v = e.to_json();
            assert_eq!(v["kind"], e.kind());
            assert_eq!(v["message"], e.message());
            assert_eq!(serde_json::from_value::<StepError>(v).unwrap(), e);
        }
    }

    #[test]
    fn an_unknown_stored_kind_still_reads() {
        let old =
            serde_json::json!({"kind": "internal", "message": "stored step context unreadable"});
        let e: StepError = serde_json::from_value(old.clone()).unwrap();
        assert_eq!(
            (e.kind(), e.message()),
            ("internal", "stored step context unreadable")
        );
        assert_eq!(e.to_json(), old);
    }

    #[test]
    fn corrupt_json_names_the_row() {
        let e =
            decode_json::<Vec<usize>>("job_steps", "depends_on", "job j step 2", "x").unwrap_err();
        assert_eq!(
            (e.table, e.column, e.key.as_str()),
            ("job_steps", "depends_on", "job j step 2")
        );
        assert!(
            e.to_string()
                .starts_with("stored job_steps.depends_on of job j step 2 is corrupt")
        );
        assert_eq!(
            decode_json::<Vec<usize>>("job_steps", "depends_on", "k", "[0,1]").unwrap(),
            vec![0, 1]
        );
    }
}
