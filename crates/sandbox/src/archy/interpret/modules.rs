//! `callCommonModule`: runs the published module's `startUpTaskActions` in the module's
//! own variables (inputs evaluated in the caller, `noValue` = NOT_SET); when its list runs
//! out, or at an `endTask` (every corpus module ends with one), the module returns and its outputs are copied to the caller's variables.

use serde_yaml_ng::{Mapping, Value};

use super::machine::{Frame, Machine, Signal};
use super::yaml::{get, map, root, string};

impl Machine<'_> {
    pub(super) fn call_module(&mut self, name: &str, body: &Mapping) -> Signal {
        let Some((module, spec)) = map(get(body, "commonModule")).and_then(|m| m.iter().next())
        else {
            return self.error(name, "callCommonModule names no module".into());
        };
        let module = module.as_str().unwrap_or_default().to_owned();
        let spec = map(Some(spec)).and_then(|s| map(get(s, "ver_latestPublished")));
        let Some(doc) = self.modules.module(&module) else {
            return self.error(name, format!("common module '{module}' is not published"));
        };
        let Some((_, mroot)) = root(&doc) else {
            return self.error(name, format!("common module '{module}' has no root"));
        };
        let (mut vars, types) = self.declared(mroot);
        if let Some(inputs) = spec.and_then(|s| map(get(s, "inputs"))) {
            for (k, v) in inputs {
                let Some(k) = k.as_str() else { continue };
                match self.expression(Some(v)) {
                    Ok(val) => {
                        vars.insert(k.to_owned(), val);
                    }
                    Err(e) => return self.error(name, e),
                }
            }
        }
        let Some(Value::Sequence(actions)) = get(mroot, "startUpTaskActions") else {
            return self.error(
                name,
                format!("common module '{module}' has no startUpTaskActions"),
            );
        };
        self.frames.push(Frame {
            flow: string(get(mroot, "name")).unwrap_or(module.clone()),
            vars,
            types,
        });
        let signal = self.list(actions);
        match signal {
            Signal::Continue | Signal::Return => {}
            Signal::End(o) => return Signal::End(o),
            Signal::Jump(_) | Signal::LoopExit => {
                let s = self.error(
                    name,
                    "jumpToTask or loopExit escaped a common module".into(),
                );
                return s;
            }
        }
        let Some(frame) = self.frames.pop() else {
            return Signal::Continue;
        };
        if let Some(outputs) = spec.and_then(|s| map(get(s, "outputs"))) {
            for (k, v) in outputs {
                let (Some(k), Some(target)) =
                    (k.as_str(), map(Some(v)).and_then(|m| string(get(m, "var"))))
                else {
                    continue;
                };
                let val = frame.vars.get(k).cloned().flatten();
                if let Err(e) = self.set_typed(&target, val) {
                    return self.error(name, e);
                }
            }
        }
        Signal::Continue
    }
}
