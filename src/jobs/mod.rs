//! Provisioning jobs: the use cases the API calls, the pure rules they apply, and the
//! crash-safe worker.
//!
//! - Use cases: [`create`] (`POST /v1/jobs`: idempotency, then [`submit`]: read the org,
//!   plan, store), [`control`] (cancel, retry), [`releases`] (drift, history, rollback,
//!   retiring flows), [`adopt`] (take over the flows an org runs), [`composition`] (a target's flows, what they call, their states).
//! - Rules, pure and unit-tested: [`model`] (statuses, states, actions and their text),
//!   [`plan`] (what a request does to each flow, in which order), [`preflight`] (the org
//!   objects a job needs).
//! - The worker ([`worker`]) runs a claimed job under a [`crate::store::Lease`].
//! - Shared by them all ([`signals`], a leaf): the clients per target, the signals that
//!   wake event followers and the worker, the worker's liveness.

pub mod adopt;
pub mod composition;
pub mod control;
pub mod create;
/// The job vocabulary lives in the leaf [`crate::job_model`] (the store reads and writes it).
pub use crate::job_model as model;
pub mod plan;
pub mod preflight;
pub mod releases;
pub mod replica_events;
pub mod retention;
pub mod signals;
pub mod submit;
pub mod worker;

pub use create::{IdempotencyKey, Submitted};
pub use model::{Action, Corrupt, JobStatus, StepState};
pub use plan::{FlowRequest, JobRequest};
pub use signals::{Clients, Liveness, Signals};
pub use submit::{Submit, SubmitError};
pub use worker::{Outcome, Worker, WorkerOptions};
