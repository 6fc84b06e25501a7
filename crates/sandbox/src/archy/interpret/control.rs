//! Control actions: `decision` and `switch` branch (a branch that neither ends nor jumps
//! merges back); `loop` runs its actions `loopCount` times with `currentIndex` set, each
//! further iteration counting as an action, until `loopExit`; `jumpToTask` and
//! `jumpToMenu` go to what their absolute reference names and do not come back.

use serde_yaml_ng::{Mapping, Value};

use super::expr::Val;
use super::machine::{Machine, Signal};
use super::yaml::{get, map, string};

impl Machine<'_> {
    pub(super) fn decision(&mut self, name: &str, body: &Mapping) -> Signal {
        match self.expression(get(body, "condition")) {
            Ok(Some(Val::B(true))) => self.branch(body, "yes"),
            Ok(Some(Val::B(false)) | None) => self.branch(body, "no"),
            Ok(Some(other)) => self.error(name, format!("condition is not a boolean: {other:?}")),
            Err(e) => self.error(name, e),
        }
    }

    pub(super) fn switch(&mut self, name: &str, body: &Mapping) -> Signal {
        let Some(first) = map(get(body, "evaluate")).and_then(|e| map(get(e, "firstTrue"))) else {
            return self.error(name, "switch without evaluate.firstTrue".into());
        };
        if let Some(Value::Sequence(cases)) = get(first, "cases") {
            for c in cases {
                let Some(case) = map(Some(c)).and_then(|c| map(get(c, "case"))) else {
                    continue;
                };
                match self.expression(get(case, "value")) {
                    Ok(Some(Val::B(true))) => {
                        return match get(case, "actions") {
                            Some(Value::Sequence(a)) => self.list(a),
                            _ => Signal::Continue,
                        };
                    }
                    Ok(Some(Val::B(false)) | None) => {}
                    Ok(Some(other)) => {
                        return self.error(name, format!("case is not a boolean: {other:?}"));
                    }
                    Err(e) => return self.error(name, e),
                }
            }
        }
        match map(get(first, "default")).and_then(|d| get(d, "actions")) {
            Some(Value::Sequence(a)) => self.list(a),
            _ => Signal::Continue,
        }
    }

    pub(super) fn run_loop(&mut self, name: &str, body: &Mapping) -> Signal {
        let count = match self.expression(get(body, "loopCount")) {
            Ok(Some(Val::I(n))) => n.max(0),
            Ok(other) => {
                return self.error(name, format!("loopCount is not an integer: {other:?}"));
            }
            Err(e) => return self.error(name, e),
        };
        let index = map(get(body, "currentIndex")).and_then(|m| string(get(m, "var")));
        for i in 0..count {
            if let Some(var) = &index {
                self.set(var, Some(Val::I(i)));
            }
            // Each further iteration runs the loop action again.
            if i > 0
                && let Some(s) = self.count_action(name)
            {
                return s;
            }
            match self.branch(body, "loop") {
                Signal::Continue => {}
                Signal::LoopExit => break,
                other => return other,
            }
        }
        Signal::Continue
    }

    /// `jumpToTask` / `jumpToMenu`: the reference in `key`.
    pub(super) fn jump(&mut self, name: &str, body: &Mapping, action: &str, key: &str) -> Signal {
        match string(get(body, key)) {
            Some(r) => Signal::Jump(r),
            None => self.error(name, format!("{action} without {key}")),
        }
    }
}
