//! The walk over a flow file: every key, with its JSON pointer; collects the modules,
//! queues and org objects the flow names and the errors of actions and references.

use std::collections::HashSet;

use serde_yaml_ng::{Mapping, Value};

use super::functions::{arity, calls, known_function};
use super::objects::{NamedObject, OrgObject, org_objects, prompt_names, queue_literal};
use super::references::resolve;
use super::unverified::{
    CALL_COMMON_MODULE_ACTION, CALL_COMMON_MODULE_KEY, CALL_DATA_ACTION, JUMP_TO_TASK_ACTION,
    QUEUE_KEY, SCHEDULE_GROUP_KEY, TABLE_LOOKUP_ACTION,
};
use super::{as_str, escape, get};

/// What a walk over the root finds: (modules, queues, org objects) as in [`super::Analysis`].
pub(super) type Found = (
    Vec<(String, String)>,
    Vec<(String, String)>,
    Vec<NamedObject>,
);

/// Walks the flow's root mapping (under `/root_key`), adding errors to `errors`.
pub(super) fn walk(
    top: &Mapping,
    root: &Mapping,
    root_key: &str,
    name: &str,
    module: bool,
    functions: &HashSet<String>,
    errors: &mut Vec<String>,
) -> Found {
    let mut walk = Walk {
        top,
        name,
        functions,
        module,
        errors,
        modules: Vec::new(),
        queues: Vec::new(),
        objects: Vec::new(),
        ancestors: Vec::new(),
    };
    let mut at = format!("/{}", escape(root_key));
    walk.mapping(root, &mut at, Place::default());
    (walk.modules, walk.queues, walk.objects)
}

/// Where the walk is: inside an action (relative references are wrong there) and how many
/// loops enclose it.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Place {
    in_action: bool,
    loops: usize,
}

/// What the walk collects, and the errors it finds.
pub(super) struct Walk<'a> {
    pub(super) top: &'a Mapping,
    pub(super) name: &'a str,
    /// The lower-cased functions the corpus calls.
    pub(super) functions: &'a HashSet<String>,
    pub(super) module: bool,
    pub(super) errors: &'a mut Vec<String>,
    pub(super) modules: Vec<(String, String)>,
    pub(super) queues: Vec<(String, String)>,
    pub(super) objects: Vec<NamedObject>,
    pub(super) ancestors: Vec<&'a Mapping>,
}

impl<'a> Walk<'a> {
    pub(super) fn mapping(&mut self, m: &'a Mapping, at: &mut String, place: Place) {
        self.ancestors.push(m);
        let owner = get(m, "name").and_then(as_str).unwrap_or_default();
        for (k, v) in m {
            let Some(k) = as_str(k) else { continue };
            let len = at.len();
            at.push('/');
            at.push_str(&escape(&k));
            if k.ends_with("Ref")
                && let Some(r) = as_str(v)
            {
                self.reference(&k, &r, at, place);
            }
            // Strings that may hold an expression (not spoken text, names or descriptions).
            let text = match v {
                Value::String(t)
                    if !matches!(k.as_str(), "tts" | "name" | "description" | "refId") =>
                {
                    t.as_str()
                }
                _ => "",
            };
            {
                for p in prompt_names(text) {
                    self.objects.push(NamedObject {
                        object: OrgObject::Prompt(p),
                        action: owner.clone(),
                        at: at.clone(),
                    });
                }
            }
            if k == SCHEDULE_GROUP_KEY
                && let Some(g) = queue_literal(v)
            {
                self.objects.push(NamedObject {
                    object: OrgObject::ScheduleGroup(g),
                    action: owner.clone(),
                    at: at.clone(),
                });
            }
            if k == "exp"
                && let Some(e) = as_str(v)
            {
                for (f, n) in calls(&e) {
                    let name = self.name;
                    if !known_function(self.functions, &f) {
                        self.errors.push(format!(
                            "Error: Flow '{name}': unknown function '{f}' in the expression at {at}"
                        ));
                    } else if let Some((lo, hi)) = arity(&f)
                        && !(lo..=hi).contains(&n)
                    {
                        let takes = match (lo, hi) {
                            (lo, usize::MAX) => format!("at least {lo}"),
                            (lo, hi) if lo == hi => lo.to_string(),
                            (lo, hi) => format!("{lo} to {hi}"),
                        };
                        self.errors.push(format!(
                            "Error: Flow '{name}': function '{f}' takes {takes} argument(s), not {n}, in the expression at {at}"
                        ));
                    }
                }
            }
            if k == QUEUE_KEY
                && let Some(q) = queue_literal(v)
            {
                self.queues.push((q, owner.clone()));
            }
            match v {
                Value::Sequence(items) if k == "actions" || k == "startUpTaskActions" => {
                    self.actions(items, at, place);
                }
                Value::Mapping(inner) => self.mapping(inner, at, place),
                Value::Sequence(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if let Value::Mapping(inner) = item {
                            let l = at.len();
                            at.push('/');
                            at.push_str(&i.to_string());
                            self.mapping(inner, at, place);
                            at.truncate(l);
                        }
                    }
                }
                _ => {}
            }
            at.truncate(len);
        }
        self.ancestors.pop();
    }

    fn actions(&mut self, items: &'a [Value], at: &mut String, place: Place) {
        let name = self.name;
        for (i, item) in items.iter().enumerate() {
            let len = at.len();
            at.push('/');
            at.push_str(&i.to_string());
            let Value::Mapping(m) = item else {
                self.errors.push(format!(
                    "Error: Flow '{name}': the action at {at} must be a mapping with one action type key"
                ));
                at.truncate(len);
                continue;
            };
            if m.len() != 1 {
                self.errors.push(format!(
                    "Error: Flow '{name}': the action at {at} must have exactly one action type key"
                ));
            }
            for (k, body) in m {
                let Some(kind) = as_str(k) else { continue };
                let l = at.len();
                at.push('/');
                at.push_str(&escape(&kind));
                let action_name = match body {
                    Value::Mapping(b) => get(b, "name").and_then(as_str).unwrap_or_default(),
                    _ => String::new(),
                };
                let mut inner = Place {
                    in_action: true,
                    ..place
                };
                match kind.as_str() {
                    "loop" => inner.loops += 1,
                    "loopExit" if place.loops == 0 => self.errors.push(format!(
                        "Error: Flow '{name}': loopExit '{action_name}' at {at} is not inside a loop"
                    )),
                    JUMP_TO_TASK_ACTION => {
                        if self.module {
                            self.errors.push(format!(
                                "Error: Flow '{name}': action '{action_name}' at {at}: a common module has no reusable tasks to jump to"
                            ));
                        }
                        let has_target =
                            matches!(body, Value::Mapping(b) if get(b, "targetTaskRef").is_some());
                        if !has_target {
                            self.errors.push(format!(
                                "Error: Flow '{name}': action '{action_name}' ({JUMP_TO_TASK_ACTION}) at {at} is missing required property 'targetTaskRef'"
                            ));
                        }
                    }
                    CALL_COMMON_MODULE_ACTION => {
                        match body {
                            Value::Mapping(b) => match get(b, CALL_COMMON_MODULE_KEY) {
                                Some(Value::Mapping(cm)) if !cm.is_empty() => {
                                    for module in cm.keys().filter_map(as_str) {
                                        self.modules.push((module, action_name.clone()));
                                    }
                                }
                                _ => self.errors.push(format!(
                                    "Error: Flow '{name}': action '{action_name}' ({CALL_COMMON_MODULE_ACTION}) at {at} does not name a common module"
                                )),
                            },
                            _ => self.errors.push(format!(
                                "Error: Flow '{name}': action at {at} ({CALL_COMMON_MODULE_ACTION}) does not name a common module"
                            )),
                        }
                    }
                    CALL_DATA_ACTION | TABLE_LOOKUP_ACTION => {
                        if let Value::Mapping(b) = body {
                            org_objects(
                                &kind,
                                b,
                                at,
                                &action_name,
                                name,
                                self.errors,
                                &mut self.objects,
                            );
                        }
                    }
                    _ => {}
                }
                if let Value::Mapping(b) = body {
                    self.mapping(b, at, inner);
                }
                at.truncate(l);
            }
            at.truncate(len);
        }
    }

    fn reference(&mut self, key: &str, r: &str, at: &str, place: Place) {
        let name = self.name;
        if place.in_action && r.starts_with("./") {
            let absolute = r.replacen("./", "/<root>/", 1);
            self.errors.push(format!(
                "Error: Flow '{name}': relative reference {key} '{r}' at {at}: inside an action './' resolves from the action's own place; write the absolute path ('{absolute}')"
            ));
            return;
        }
        if resolve(self.top, &self.ancestors, r).is_none() {
            self.errors.push(format!(
                "Error: Flow '{name}': Unable to resolve {key} '{r}' at {at}"
            ));
        }
    }
}
