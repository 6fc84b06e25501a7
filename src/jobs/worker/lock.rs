//! A step whose flow someone else holds checked out in the org (`on_locked`).

use std::time::Instant;

use serde_json::json;

use super::Stop;
use super::step::StepTask;
use crate::jobs::model::StepError;
use crate::jobs::plan::{OnLocked, StepContext};

impl StepTask {
    /// Before a step changes a flow someone else holds checked out: fail naming the holder,
    /// wait (bounded by `lock_wait`) or unlock first, as the job's `on_locked` says. The
    /// flow is read only when the plan saw a lock or the job asked to wait or unlock; a lock
    /// taken after the plan with `fail` makes Genesys refuse the publish instead.
    pub(super) async fn respect_lock(&self, ctx: &StepContext) -> Result<(), Stop> {
        let Some(id) = ctx.org_flow_id.as_deref() else {
            return Ok(());
        };
        if ctx.locked_by.is_none() && ctx.on_locked == OnLocked::Fail {
            return Ok(());
        }
        self.starting.requesting();
        let (client, token) = (&self.client, &self.token);
        let opts = &self.worker.inner.opts;
        let deadline = Instant::now() + opts.lock_wait;
        let mut pause = opts.first_poll;
        let flow = &self.step.flow_name;
        loop {
            let Some(holder) = self
                .worker
                .call(token, || client.flow(id))
                .await?
                .and_then(|f| f.locked_by)
            else {
                return Ok(());
            };
            match ctx.on_locked {
                OnLocked::Fail => {
                    return Err(Stop::Failed(StepError::FlowLocked {
                        message: format!(
                            "flow '{flow}' is checked out by {holder}; flowsmith does not publish over someone else's draft (on_locked: fail)"
                        ),
                    }));
                }
                OnLocked::Unlock => return self.unlock(id, &holder).await,
                OnLocked::Wait => {
                    if Instant::now() >= deadline {
                        return Err(Stop::Failed(StepError::FlowLocked {
                            message: format!(
                                "flow '{flow}' is still checked out by {holder} after waiting {} s (on_locked: wait)",
                                opts.lock_wait.as_secs()
                            ),
                        }));
                    }
                    tracing::info!(flow = %flow, holder = %holder, "flow checked out by someone else; waiting");
                    super::sleep_or_stop(pause, token).await?;
                    pause = (pause * 2).min(opts.max_poll);
                }
            }
        }
    }

    /// Unlocks the flow `holder` has checked out, and notes it on the step.
    async fn unlock(&self, id: &str, holder: &str) -> Result<(), Stop> {
        let (client, flow) = (&self.client, &self.step.flow_name);
        self.worker
            .call(&self.token, || client.unlock_flow(id))
            .await?;
        let note = json!({
            "kind": "unlocked",
            "message": format!("flow '{flow}' was checked out by {holder}; flowsmith unlocked it before its step (on_locked: unlock)"),
        });
        tracing::warn!(flow = %flow, holder = %holder, "unlocked a flow checked out by someone else");
        self.worker
            .persist(&self.token, || self.lease.step_note(self.step.idx, &note))
            .await?;
        Ok(())
    }
}
