//! The one way a worker writes to its job: a [`Write`] is an `UPDATE` whose `WHERE` gets
//! the fence appended (the job is `running` under the claiming attempt), what goes with it
//! when it applies (a flow record), and the event that describes it. [`settle`] runs it in
//! a transaction holding the job's lock, and commits.
//!
//! The fence is appended here, with the attempt bound as the statement's last parameter,
//! so a statement cannot forget it or number it wrong.

use serde_json::Value;

use super::Tx;
use super::flows::{FlowRecordRow, upsert_record};
use super::jobs::append_event;

/// A parameter of a fenced statement (`$1`, `$2`, ... in order).
#[derive(Debug, Clone, Copy)]
pub(super) enum Arg<'a> {
    Text(Option<&'a str>),
    Int(i64),
    /// The time the statement runs (inside the transaction, after its lock): [`super::now`].
    Now,
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Self {
        Arg::Text(Some(s))
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(s: Option<&'a str>) -> Self {
        Arg::Text(s)
    }
}

impl From<i64> for Arg<'_> {
    fn from(i: i64) -> Self {
        Arg::Int(i)
    }
}

/// The rows a statement changes, and so the form of its fence.
#[derive(Debug, Clone, Copy)]
pub(super) enum Fence {
    /// The `jobs` row itself (its `WHERE` names the job id).
    Job,
    /// Rows of `job_steps` (their `WHERE` names the job id and step).
    Steps,
}

impl Fence {
    /// The condition `AND`ed to the statement's `WHERE`; `$n` is the attempt.
    fn clause(self, n: usize) -> String {
        match self {
            Fence::Job => format!("attempt = ${n} AND status = 'running'"),
            Fence::Steps => format!(
                "EXISTS (SELECT 1 FROM jobs WHERE jobs.id = job_steps.job_id AND jobs.attempt = ${n} AND jobs.status = 'running')"
            ),
        }
    }
}

/// What a write changes besides its own row, in the same transaction, when it applies.
#[derive(Debug, Clone, Copy)]
pub(super) enum Also<'a> {
    Nothing,
    /// The flow record of a step that published its flow.
    UpsertRecord(&'a FlowRecordRow),
    /// The flow record of a step that deleted its flow.
    DeleteRecord {
        target: &'a str,
        name: &'a str,
    },
}

/// One fenced write.
#[derive(Debug)]
pub(super) struct Write<'a> {
    fence: Fence,
    /// `UPDATE … WHERE …` without the fence; its parameters are `args`.
    sql: &'static str,
    args: Vec<Arg<'a>>,
    also: Also<'a>,
    /// `(kind, data)` of the event appended when the write applies.
    event: Option<(String, Value)>,
}

impl<'a> Write<'a> {
    pub(super) fn new(fence: Fence, sql: &'static str, args: Vec<Arg<'a>>) -> Self {
        Write {
            fence,
            sql,
            args,
            also: Also::Nothing,
            event: None,
        }
    }

    pub(super) fn also(mut self, also: Also<'a>) -> Self {
        self.also = also;
        self
    }

    pub(super) fn event(mut self, kind: impl Into<String>, data: Value) -> Self {
        self.event = Some((kind.into(), data));
        self
    }

    /// Runs the statement with its fence in `tx`; true when it changed its one row.
    pub(super) async fn execute(&self, tx: &mut Tx, attempt: i64) -> Result<bool, sqlx::Error> {
        let sql = format!(
            "{} AND {}",
            self.sql,
            self.fence.clause(self.args.len() + 1)
        );
        let at = super::now();
        let n: u64 = on_tx!(tx, |c| {
            let mut q = sqlx::query(&sql);
            for arg in &self.args {
                q = match *arg {
                    Arg::Text(t) => q.bind(t),
                    Arg::Int(i) => q.bind(i),
                    Arg::Now => q.bind(at.as_str()),
                };
            }
            q.bind(attempt).execute(c).await?.rows_affected()
        });
        Ok(n == 1)
    }
}

/// Runs `write` in `tx` (a transaction holding the job's lock) under the fence of
/// `(job_id, attempt)`; when it applied, also what goes with it and its event. Commits, and
/// says whether it applied (false: the lease is lost).
pub(super) async fn settle(
    mut tx: Tx,
    job_id: &str,
    attempt: i64,
    write: &Write<'_>,
) -> Result<bool, sqlx::Error> {
    let applied = write.execute(&mut tx, attempt).await?;
    if applied {
        match write.also {
            Also::Nothing => {}
            Also::UpsertRecord(record) => upsert_record(&mut tx, record).await?,
            Also::DeleteRecord { target, name } => {
                on_tx!(&mut tx, |c| sqlx::query(
                    "DELETE FROM flow_records WHERE target = $1 AND name = $2"
                )
                .bind(target)
                .bind(name)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?;
            }
        }
        if let Some((kind, data)) = &write.event {
            append_event(&mut tx, job_id, kind, data).await?;
        }
    }
    tx.commit().await?;
    Ok(applied)
}
