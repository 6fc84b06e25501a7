//! Template use cases, beside [`crate::jobs`]: what the `/v1/templates`, `/v1/validate`
//! and `/v1/simulations` handlers call, each one function that reads the store, checks or
//! compiles on the blocking pool, and answers a typed [`TemplateError`].
//!
//! - [`check`] (pure): a document against the modules it calls — the one place that runs
//!   the validator, used by these use cases, the job planner and the offline CLI;
//! - [`as_module`] (pure): the rule that makes a template a common module;
//! - [`load`]: a stored template with its stored modules, checked (compile, draw,
//!   simulate); [`store`]: check a document, store a version; [`compile`]: compile, draw
//!   and simulate a stored template.
//!
//! Dependencies point down: `api` → `templates` → `store`, `template`, `compile`,
//! `simulate`, `diagram`. The job planner uses [`check`] and [`as_module`]; nothing here
//! imports `jobs` or `api`.

pub(crate) mod as_module;
pub(crate) mod check;
pub(crate) mod compile;
pub(crate) mod import;
pub(crate) mod load;
pub(crate) mod store;

use std::time::Duration;

use crate::compile::CompileError;
use crate::simulate::LimitError;
use crate::store::{Corrupt, Store};
use crate::template::Finding;

pub use compile::CompileRequest;

/// What a template use case needs besides its request.
pub struct Templates<'a> {
    pub store: &'a Store,
    /// `request_work_ms`: checking, compiling and simulating run on the blocking pool, and
    /// twice this is their backstop (the simulator also stops itself at it).
    pub work_limit: Duration,
}

/// Why a template use case did not answer.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// No such template or version (404).
    #[error("{0}")]
    NotFound(String),
    /// The request itself is wrong, e.g. an unknown parameter (422).
    #[error("{detail}")]
    InvalidRequest {
        detail: String,
        errors: Vec<Finding>,
    },
    /// The document, or a module it calls, has errors (422).
    #[error("the template has errors")]
    Invalid(Vec<Finding>),
    /// The validated flow cannot be compiled (422).
    #[error("the template cannot be compiled: {0}")]
    Uncompilable(CompileError),
    /// A simulated call broke a limit (422).
    #[error("the simulation of {template:?} was stopped: {stop}")]
    SimulationStopped { template: String, stop: LimitError },
    /// The work passed `request_work_ms` (422).
    #[error("the request passed the work limit of {} ms", .0.as_millis())]
    WorkLimit(Duration),
    /// The work on the blocking pool failed (500).
    #[error("request work failed: {0}")]
    Internal(String),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
    /// A stored value does not read back (500, logged naming the row).
    #[error(transparent)]
    Corrupt(#[from] Corrupt),
}

impl Templates<'_> {
    /// Runs CPU work (checking, compiling, simulating) on the blocking pool so the async
    /// workers keep answering, with twice the work limit as a backstop.
    async fn cpu<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, TemplateError> {
        use crate::work_limit::{WorkError, run_bounded};
        match run_bounded(self.work_limit, work).await {
            Ok(v) => Ok(v),
            Err(WorkError::Failed(e)) => Err(TemplateError::Internal(e)),
            Err(WorkError::OverLimit(limit)) => Err(TemplateError::WorkLimit(limit)),
        }
    }
}
