//! Menus (see `compile::unverified::MENU_BEHAVIOUR`): a menu plays its audio and takes
//! the next caller input up to `repeatCount` times; one digit that is a choice's `dtmf`
//! runs the choice (`menuDisconnect`, `menuTransferToAcd`, `menuJumpToTask`, `menuTask`);
//! after the repeats the `defaultChildMenuRef` choice runs, else the call disconnects.

use serde_yaml_ng::{Mapping, Value};

use super::machine::{Machine, Signal};
use super::yaml::{choices, get, map, repeat_count, string};
use flowsmith_calls::{OutcomeKind, SimInput};

impl Machine<'_> {
    /// A menu (see `compile::unverified::MENU_BEHAVIOUR`): entering it counts as an action;
    /// it plays its audio and takes the next caller input up to `repeatCount` times; one
    /// digit that is a choice's `dtmf` runs that choice (an action); anything else plays it
    /// again; after the repeats the default choice (`defaultChildMenuRef`) runs, else the
    /// call disconnects.
    pub(super) fn menu(&mut self, root: &Mapping, menu: &Mapping) -> Signal {
        let name = string(get(menu, "name")).unwrap_or_default();
        if let Some(s) = self.count_action(&name) {
            return s;
        }
        let options = choices(menu);
        for _ in 0..repeat_count(root, menu).max(1) {
            let text = match self.audio(get(menu, "audio")) {
                Ok(t) => t,
                Err(e) => return self.error(&name, e),
            };
            let input = self.inputs.get(self.next_input).cloned();
            self.next_input += 1;
            let digits = match input {
                Some(SimInput::Digits(d)) => Some(d),
                _ => None,
            };
            self.line(&name, "Menu", Some(text), digits.clone());
            let Some(d) = digits.filter(|d| d.chars().count() == 1) else {
                continue;
            };
            let dtmf = format!("digit_{d}");
            if let Some(&(kind, body)) = options
                .iter()
                .find(|(_, b)| string(get(b, "dtmf")).as_deref() == Some(dtmf.as_str()))
            {
                return self.choice(kind, body);
            }
        }
        let default = string(get(menu, "defaultChildMenuRef")).and_then(|r| {
            let r = r.strip_prefix("./choices/")?;
            let (kind, id) = r.strip_suffix(']')?.split_once('[')?;
            options
                .iter()
                .copied()
                .find(|(k, b)| *k == kind && string(get(b, "refId")).as_deref() == Some(id))
        });
        match default {
            Some((kind, body)) => self.choice(kind, body),
            None => Signal::End(self.outcome(OutcomeKind::Disconnected, &name, None, None)),
        }
    }

    /// Runs a menu choice (one action).
    pub(super) fn choice(&mut self, kind: &str, body: &Mapping) -> Signal {
        let name = string(get(body, "name")).unwrap_or_default();
        if let Some(s) = self.count_action(&name) {
            return s;
        }
        match kind {
            "menuDisconnect" => {
                Signal::End(self.outcome(OutcomeKind::Disconnected, &name, None, None))
            }
            "menuTransferToAcd" => {
                let queue = map(get(body, "targetQueue"))
                    .and_then(|q| map(get(q, "lit")))
                    .and_then(|l| string(get(l, "name")));
                Signal::End(self.outcome(OutcomeKind::Routed, &name, queue, None))
            }
            "menuJumpToTask" => match string(get(body, "targetTaskRef")) {
                Some(r) => Signal::Jump(r),
                None => self.error(&name, "menuJumpToTask without targetTaskRef".into()),
            },
            "menuTask" => match map(get(body, "task")).and_then(|t| get(t, "actions")) {
                Some(Value::Sequence(actions)) => match self.list(actions) {
                    // A task that runs out ends the call, as a reusable task does.
                    Signal::Continue => {
                        Signal::End(self.outcome(OutcomeKind::Disconnected, &name, None, None))
                    }
                    other => other,
                },
                _ => self.error(&name, "menuTask without task actions".into()),
            },
            other => self.error(&name, format!("the interpreter does not run '{other}'")),
        }
    }
}
