//! Actions that end the call: `transferToAcd` (routed: the sandbox's queues never refuse
//! a transfer), `transferToVoicemail`, `disconnect`.

use serde_yaml_ng::Mapping;

use super::machine::{Machine, Signal};
use super::yaml::{get, map, string};
use flowsmith_calls::OutcomeKind;

impl Machine<'_> {
    pub(super) fn transfer_to_acd(&mut self, name: &str, body: &Mapping) -> Signal {
        let queue = map(get(body, "targetQueue"))
            .and_then(|q| map(get(q, "lit")))
            .and_then(|l| string(get(l, "name")));
        Signal::End(self.outcome(OutcomeKind::Routed, name, queue, None))
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
