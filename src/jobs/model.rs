//! The job domain's vocabulary: job statuses, step states and step actions, each with its one
//! text form (what the database stores and the API shows), and [`Corrupt`], the error of a
//! stored value that does not read back.
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
    }
}

impl Action {
    pub fn parse(s: &str) -> Option<Action> {
        s.parse().ok()
    }

    /// Whether the step changes the flow in Genesys.
    pub fn changes(self) -> bool {
        !matches!(self, Action::Unchanged)
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
