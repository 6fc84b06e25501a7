//! Data actions: `updateData` assigns its statements in order, each converted to its
//! type; `setParticipantData` and `getParticipantData` write and read participant data;
//! `setScreenPop` evaluates its script's inputs;
//! `setLanguage` sets the call's language from its `languageValue` (`lit` or `exp`; NOT_SET
//! is an error).

use serde_yaml_ng::{Mapping, Value};

use super::expr::{Val, coerce, text_of};
use super::machine::{Machine, Signal};
use super::yaml::{get, map, string};

impl Machine<'_> {
    pub(super) fn set_language(&mut self, name: &str, body: &Mapping) -> Signal {
        match self.expression(get(body, "languageValue")) {
            Ok(Some(v)) => {
                self.language = Some(text_of(&v).into_owned());
                Signal::Continue
            }
            Ok(None) => self.error(name, "setLanguage to a value that is NOT_SET".into()),
            Err(e) => self.error(name, e),
        }
    }

    pub(super) fn update_data(&mut self, name: &str, body: &Mapping) -> Signal {
        let Some(Value::Sequence(statements)) = get(body, "statements") else {
            return Signal::Continue;
        };
        for s in statements {
            let Some((ty, st)) = map(Some(s)).and_then(|m| m.iter().next()) else {
                continue;
            };
            let ty = ty.as_str().unwrap_or("string");
            let Some(st) = map(Some(st)) else { continue };
            let Some(var) = string(get(st, "variable")) else {
                return self.error(name, "a statement without a variable".into());
            };
            match self
                .expression(get(st, "value"))
                .and_then(|v| v.map(|v| coerce(v, ty)).transpose())
            {
                Ok(v) => self.set(&var, v),
                Err(e) => return self.error(name, e),
            }
        }
        Signal::Continue
    }

    /// `setScreenPop` names the script the agent who takes the call will see: nothing the
    /// caller hears or the call's data changes. Its inputs are evaluated (one that fails
    /// enters error handling) [corpus: CI_CD_Test_Flow-INBOUNDCALL.yaml's
    /// `screenPopScript: {<script>: {inputs}}`].
    pub(super) fn screen_pop(&mut self, name: &str, body: &Mapping) -> Signal {
        let inputs = map(get(body, "screenPopScript"))
            .and_then(|m| m.iter().next())
            .and_then(|(_, script)| map(Some(script)))
            .and_then(|script| map(get(script, "inputs")));
        for (_, v) in inputs.into_iter().flatten() {
            if let Err(e) = self.expression(Some(v)) {
                return self.error(name, e);
            }
        }
        Signal::Continue
    }

    pub(super) fn participant_data(&mut self, kind: &str, name: &str, body: &Mapping) -> Signal {
        let Some(Value::Sequence(attrs)) = get(body, "attributes") else {
            return Signal::Continue;
        };
        for a in attrs {
            let Some(attr) = map(Some(a)).and_then(|a| map(get(a, "attribute"))) else {
                continue;
            };
            let key = map(get(attr, "name"))
                .and_then(|n| string(get(n, "lit")))
                .unwrap_or_default();
            if kind == "setParticipantData" {
                match self.expression(get(attr, "value")) {
                    Ok(v) => {
                        let v = v.map(|v| text_of(&v).into_owned()).unwrap_or_default();
                        self.participant.insert(key.clone(), v.clone());
                        self.participant_set.insert(key, v);
                    }
                    Err(e) => return self.error(name, e),
                }
            } else if let Some(var) = string(get(attr, "variable")) {
                let v = self.participant.get(&key).map(|v| Val::S(v.clone()));
                self.set(&var, v);
            }
        }
        Signal::Continue
    }
}
