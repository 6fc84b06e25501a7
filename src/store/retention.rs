//! Retention: the details of finished jobs older than a cut-off are pruned, one job per
//! transaction, so that a year of history neither grows without bound nor holds the writer
//! for long. What goes: a job's events but its last (event numbers carry on), and its steps
//! that changed no flow (unchanged, failed, skipped, cancelled; every step of a dry run).
//! What stays: the job's row and the steps that published or deleted a flow, which are each
//! flow's release history (`GET /v1/flows/{target}/{name}/history`, rollbacks).

use super::{Lock, Store};

/// What pruning removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub jobs: u64,
    pub steps: u64,
    pub events: u64,
}

impl Pruned {
    fn add(&mut self, other: Pruned) {
        self.jobs += other.jobs;
        self.steps += other.steps;
        self.events += other.events;
    }
}

/// One batch of [`Store::prune_batch`]: the jobs it chose and what pruning them removed
/// (fewer jobs when one was retried since it was chosen).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Batch {
    pub chosen: usize,
    pub pruned: Pruned,
}

/// The steps to keep: they changed a flow (the release history reads them).
const RELEASE: &str = "state = 'succeeded' AND action IN ('create', 'update', 'republish', 'delete') \
     AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = job_steps.job_id AND j.dry_run = TRUE)";

impl Store {
    /// Prunes up to `jobs` jobs that finished before `cutoff` (RFC 3339), oldest first, each
    /// in a transaction of its own (a request's write waits at most one job's transaction);
    /// nothing is left to prune when it chose fewer than `jobs`.
    pub async fn prune_batch(&self, cutoff: &str, jobs: u32) -> Result<Batch, sqlx::Error> {
        let ids: Vec<(String,)> = on_reads!(self, |p| sqlx::query_as(
            "SELECT id FROM jobs WHERE pruned_at IS NULL AND finished_at < $1 \
             AND status IN ('succeeded', 'failed', 'cancelled') ORDER BY finished_at LIMIT $2"
        )
        .bind(cutoff)
        .bind(i64::from(jobs))
        .fetch_all(p)
        .await)?;
        let mut total = Pruned::default();
        for (id,) in &ids {
            total.add(self.tracked(self.prune_job(id)).await?);
        }
        Ok(Batch {
            chosen: ids.len(),
            pruned: total,
        })
    }

    /// Prunes one job, under its lock, if it is still finished (a retry may have queued it
    /// again since it was chosen).
    async fn prune_job(&self, id: &str) -> Result<Pruned, sqlx::Error> {
        let mut tx = self.begin_locked(Lock::Job(id)).await?;
        let now = super::now();
        let jobs = tx
            .execute(
                "UPDATE jobs SET pruned_at = $2 WHERE id = $1 AND pruned_at IS NULL \
                 AND status IN ('succeeded', 'failed', 'cancelled')",
                &[id, &now],
            )
            .await?;
        if jobs == 0 {
            return Ok(Pruned::default());
        }
        let steps = tx
            .execute(
                &format!("DELETE FROM job_steps WHERE job_id = $1 AND NOT ({RELEASE})"),
                &[id],
            )
            .await?;
        // The job's view changed: a last event says so (and versions the cached view), and
        // is the only one kept, so event numbers carry on from it.
        super::jobs::append_event(
            &mut tx,
            id,
            "job.pruned",
            &serde_json::json!({"steps_removed": steps}),
        )
        .await?;
        let events = tx
            .execute(
                "DELETE FROM job_events WHERE job_id = $1 \
                 AND seq < (SELECT MAX(seq) FROM job_events WHERE job_id = $1)",
                &[id],
            )
            .await?;
        tx.commit().await?;
        Ok(Pruned {
            jobs,
            steps,
            events,
        })
    }
}
