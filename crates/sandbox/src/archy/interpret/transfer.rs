//! Actions that end the call: `transferToAcd` (routed: the sandbox's queues never refuse
//! a transfer), `transferToVoicemail`, `disconnect`, `transferToFlow(Secure)`.

use serde_yaml_ng::Mapping;

use super::expr::{Val, text_of};
use super::machine::{Machine, Signal};
use super::yaml::{get, map, string};
use flowsmith_calls::OutcomeKind;

impl Machine<'_> {
    /// The queue is a literal (`lit: {name}`) or an expression giving a queue or its name
    /// [corpus: `targetQueue: {exp: Task.Queue}` in CacheExampleFlow.yaml]; an expression
    /// that is NOT_SET is an error (assumed: the evidence does not say).
    pub(super) fn transfer_to_acd(&mut self, name: &str, body: &Mapping) -> Signal {
        let target = map(get(body, "targetQueue"));
        let queue = match target.and_then(|q| get(q, "exp")) {
            Some(_) => match self.expression(get(body, "targetQueue")) {
                Ok(Some(Val::Queue { name, .. })) => Some(name),
                Ok(Some(v)) => Some(text_of(&v).into_owned()),
                Ok(None) => return self.error(name, "transferToAcd to a NOT_SET queue".into()),
                Err(e) => return self.error(name, e),
            },
            None => target
                .and_then(|q| map(get(q, "lit")))
                .and_then(|l| string(get(l, "name"))),
        };
        Signal::End(self.outcome(OutcomeKind::Routed, name, queue, None))
    }

    /// `transferToFlow` / `transferToFlowSecure` hand the call to the flow `targetFlow.name`
    /// names. When that flow is published the call leaves this flow: it ends `routed` with
    /// no queue and a message naming the flow (the call's outcome kinds have no transfer
    /// to a flow; an IVR-started secure flow does not return, Genesys help "End flow
    /// action"). When it is not, the transfer fails and `outputs.failure` runs, then the
    /// list goes on (Genesys help "Transfer to Flow action": failure is taken when the
    /// call cannot be transferred; a flow that no longer exists fails the action).
    pub(super) fn transfer_to_flow(&mut self, kind: &str, name: &str, body: &Mapping) -> Signal {
        let Some(flow) = map(get(body, "targetFlow")).and_then(|f| string(get(f, "name"))) else {
            return self.error(name, format!("{kind} names no targetFlow"));
        };
        if self.modules.module(&flow).is_some() {
            let msg = format!("transferred to flow '{flow}'");
            return Signal::End(self.outcome(OutcomeKind::Routed, name, None, Some(msg)));
        }
        self.line(
            name,
            "TransferToFlow",
            Some(format!("transfer to flow '{flow}' failed: not published")),
            None,
        );
        self.branch(body, "failure")
    }

    pub(super) fn transfer_to_voicemail(&mut self, name: &str, body: &Mapping) -> Signal {
        let queue = map(get(body, "destination"))
            .and_then(|d| map(get(d, "queue")))
            .and_then(|q| map(get(q, "targetQueue")))
            .and_then(|q| map(get(q, "lit")))
            .and_then(|l| string(get(l, "name")));
        Signal::End(self.outcome(OutcomeKind::Voicemail, name, queue, None))
    }

    pub(super) fn disconnect(&mut self, name: &str) -> Signal {
        Signal::End(self.outcome(OutcomeKind::Disconnected, name, None, None))
    }
}
