//! Audio and input actions: `playAudio` plays its audio; `collectInput` plays its prompt
//! and takes the next caller input: digits of an accepted length go to `inputData` and
//! `outputs.success`; no input, a timeout or another length take `outputs.failure`.

use serde_yaml_ng::{Mapping, Value};

use super::expr::Val;
use super::machine::{Machine, Signal};
use super::yaml::{get, map, string};
use flowsmith_calls::SimInput;

impl Machine<'_> {
    pub(super) fn play_audio(&mut self, name: &str, body: &Mapping) -> Signal {
        match self.audio(get(body, "audio")) {
            Ok(text) => {
                self.line(name, "Say", Some(text), None);
                Signal::Continue
            }
            Err(e) => self.error(name, e),
        }
    }

    pub(super) fn collect_input(&mut self, name: &str, body: &Mapping) -> Signal {
        let prompt = match self.audio(get(body, "inputAudio")) {
            Ok(t) => t,
            Err(e) => return self.error(name, e),
        };
        let (min, max) = digit_range(body);
        let input = self.inputs.get(self.next_input).cloned();
        self.next_input += 1;
        let ok = match input {
            Some(SimInput::Digits(d)) => {
                self.line(name, "Gather", Some(prompt), Some(d.clone()));
                if (min..=max).contains(&d.chars().count()) {
                    match map(get(body, "inputData")).and_then(|m| string(get(m, "var"))) {
                        Some(var) => self.set(&var, Some(Val::S(d))),
                        None => return self.error(name, "no inputData variable".into()),
                    }
                    true
                } else {
                    false
                }
            }
            _ => {
                self.line(name, "Gather", Some(prompt), None);
                false
            }
        };
        self.branch(body, if ok { "success" } else { "failure" })
    }
}

/// The accepted number of digits: `digits.exact`, else `digits.range`, else one.
fn digit_range(body: &Mapping) -> (usize, usize) {
    match map(get(body, "digits")) {
        Some(d) => match (get(d, "exact"), map(get(d, "range"))) {
            (Some(Value::Number(n)), _) => {
                let n = n.as_u64().unwrap_or(1) as usize;
                (n, n)
            }
            (_, Some(r)) => (
                get(r, "min").and_then(Value::as_u64).unwrap_or(1) as usize,
                get(r, "max").and_then(Value::as_u64).unwrap_or(1) as usize,
            ),
            _ => (1, 1),
        },
        None => (1, 1),
    }
}
