//! The sandbox's stand-in for the server-side Archy run of an Architect job: parse the
//! uploaded YAML and find the defects a real publish would reject, with Archy-like messages.
//!
//! Checks that need the org's state (called modules exist and are published, queues exist)
//! are done by the caller with [`Analysis::modules`] and [`Analysis::queues`].

use serde_yaml_ng::{Mapping, Value};

/// Shapes and values the sandbox emulates but that could not be confirmed against a real
/// Genesys org. Keep every such guess here, so it is cheap to correct after comparing with an
/// export from a real org (`POST /api/v2/flows/export/jobs`, `exportType: Yaml`) and with the
/// raw responses of a real org.
pub mod unverified {
    /// Root keys the job accepts: (YAML root key, `Flow.type`, `Dependency.type`).
    /// `commonModule` as a root key is [M] (third-party fixtures only).
    pub const ROOT_KEYS: &[(&str, &str, &str)] = &[
        ("inboundCall", "INBOUNDCALL", "INBOUNDCALLFLOW"),
        ("commonModule", "COMMONMODULE", "COMMONMODULEFLOW"),
        ("inqueueCall", "INQUEUECALL", "INQUEUECALLFLOW"),
        ("outboundCall", "OUTBOUNDCALL", "OUTBOUNDCALLFLOW"),
    ];
    /// The action that jumps to a reusable task ([unverified action name], design section 4).
    pub const JUMP_TO_TASK_ACTION: &str = "jumpToTask";
    /// Keys whose string value is a reference (`./tasks/task[X]`, `/inboundCall/tasks/task[X]`)
    /// that must resolve. `targetTaskRef`/`targetMenuRef` are [H]; the walk finds them anywhere.
    pub const REFERENCE_KEYS: &[&str] = &["targetTaskRef", "targetMenuRef"];
    /// The Call Common Module action: `callCommonModule: {name, commonModule: {<Module>: {ver_latestPublished: ...}}}` [M].
    pub const CALL_COMMON_MODULE_ACTION: &str = "callCommonModule";
    pub const CALL_COMMON_MODULE_KEY: &str = "commonModule";
    /// Actions that name a queue as `targetQueue: {lit: {name: X}}` [H].
    pub const TRANSFER_ACTIONS: &[&str] = &["transferToAcd", "menuTransferToAcd"];
    /// Message of the random job failure, mimicking a backend rate limit that TF retries
    /// (`isRetryableJobFailure` looks for "exit code: 107").
    pub const RETRYABLE_FAILURE: &str = "Error: ArchSession.startWithAuthToken - backend request failed with status 429 (Too Many Requests) while publishing flow '{name}': could not find the flow with id '{id}'. exit code: 107";
    /// Headers the presigned upload requires (besides a per-job signature header).
    pub const UPLOAD_CONTENT_TYPE: &str = "application/octet-stream";
    pub const UPLOAD_SSE_HEADER: &str = "x-amz-server-side-encryption";
    pub const UPLOAD_SIGNATURE_HEADER: &str = "x-amz-meta-signature";
    /// ErrorBody codes for cases we could not observe.
    pub const CODE_MISSING_TOKEN: &str = "bad.credentials";
    pub const CODE_BAD_TOKEN: &str = "bad.credentials";
    pub const CODE_FLOW_IN_USE: &str = "architect.dependency.object.in.use";
    pub const CODE_FLOW_LOCKED: &str = "architect.flow.locked";
    pub const CODE_FLOW_NOT_LOCKED: &str = "architect.flow.not.locked";
    pub const CODE_FLOW_EXISTS: &str = "architect.flow.name.conflict";
    pub const CODE_NO_CONFIGURATION: &str = "architect.flow.no.configuration";
    /// The division every sandbox object lives in.
    pub const HOME_DIVISION_ID: &str = "4f5d8c19-6e2a-4e58-9a6b-0c8b1b1f9a01";
    pub const HOME_DIVISION_NAME: &str = "Home";
}

use unverified::*;

/// What a structurally valid flow file says.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub root_key: String,
    /// `Flow.type` (upper case, e.g. `INBOUNDCALL`).
    pub flow_type: &'static str,
    pub name: String,
    /// (module name, calling action name), in document order, one entry per call.
    pub modules: Vec<(String, String)>,
    /// (queue name, transfer action name).
    pub queues: Vec<(String, String)>,
}

/// `Flow.type` and `Dependency.type` for a root key.
pub fn flow_type_of_root(root: &str) -> Option<(&'static str, &'static str)> {
    ROOT_KEYS
        .iter()
        .find(|(k, _, _)| *k == root)
        .map(|(_, t, d)| (*t, *d))
}

/// Dependency-tracking type (`INBOUNDCALLFLOW`) for a `Flow.type`.
pub fn dependency_type(flow_type: &str) -> String {
    format!("{flow_type}FLOW")
}

fn as_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn get<'a>(m: &'a Mapping, key: &str) -> Option<&'a Value> {
    m.get(Value::String(key.to_owned()))
}

/// Parses and checks a flow file. `Err` holds every Archy-like error message found.
pub fn analyze(yaml: &str) -> Result<Analysis, Vec<String>> {
    let doc: Value = serde_yaml_ng::from_str(yaml)
        .map_err(|e| vec![format!("Error: Unable to parse the flow file as YAML: {e}")])?;
    let Value::Mapping(top) = doc else {
        return Err(vec![
            "Error: The flow file must be a YAML mapping with one flow type key such as 'inboundCall' or 'commonModule'".to_owned(),
        ]);
    };
    let keys: Vec<String> = top.keys().filter_map(as_str).collect();
    let known: Vec<&String> = keys
        .iter()
        .filter(|k| flow_type_of_root(k).is_some())
        .collect();
    if keys.len() != 1 || known.len() != 1 {
        let supported: Vec<&str> = ROOT_KEYS.iter().map(|(k, _, _)| *k).collect();
        return Err(vec![format!(
            "Error: Unknown or missing flow type key {:?} at the root of the flow file; expected exactly one of {}",
            keys,
            supported.join(", ")
        )]);
    }
    let root_key = known[0].clone();
    let (flow_type, _) = flow_type_of_root(&root_key).expect("checked above");
    let Some(Value::Mapping(root)) = get(&top, &root_key) else {
        return Err(vec![format!(
            "Error: The '{root_key}' flow definition must be a mapping"
        )]);
    };
    let Some(name) = get(root, "name")
        .and_then(as_str)
        .filter(|s| !s.trim().is_empty())
    else {
        return Err(vec![format!(
            "Error: Missing required property 'name' in '{root_key}'"
        )]);
    };
    let mut errors = Vec::new();
    // A flow with one start-up sequence (`startUpTaskActions`: in-queue flows, common
    // modules) has no `startUpRef` [corpus: every inqueueCall file].
    let sequence = matches!(get(root, "startUpTaskActions"), Some(Value::Sequence(_)));
    match get(root, "startUpRef").and_then(as_str) {
        None if sequence => {}
        None => errors.push(format!(
            "Error: Flow '{name}': missing required property 'startUpRef' in '{root_key}'"
        )),
        Some(r) => {
            if !resolves(&root_key, root, &r) {
                errors.push(format!(
                    "Error: Flow '{name}': Unable to resolve startUpRef '{r}'"
                ));
            }
        }
    }
    let mut walk = Walk {
        root_key: &root_key,
        root,
        name: &name,
        errors: &mut errors,
        modules: Vec::new(),
        queues: Vec::new(),
    };
    walk.value(&Value::Mapping(root.clone()), &root_key);
    let Walk {
        modules, queues, ..
    } = walk;
    if root_key == "commonModule" {
        for (module, action) in &modules {
            errors.push(format!(
                "Error: Flow '{name}': a common module cannot call a common module: action '{action}' calls '{module}'"
            ));
        }
    }
    if errors.is_empty() {
        Ok(Analysis {
            root_key,
            flow_type,
            name,
            modules,
            queues,
        })
    } else {
        Err(errors)
    }
}

/// Does `r` (`./tasks/task[X]` or `/<root>/tasks/task[X]`) select an item of the flow?
pub fn resolves(root_key: &str, root: &Mapping, r: &str) -> bool {
    let abs = format!("/{root_key}/");
    let Some(rest) = r
        .strip_prefix("./")
        .or_else(|| r.strip_prefix(abs.as_str()))
    else {
        return false;
    };
    let Some((collection, item)) = rest.split_once('/') else {
        return false;
    };
    let Some((item_key, ref_id)) = item.strip_suffix(']').and_then(|i| i.split_once('[')) else {
        return false;
    };
    let Some(Value::Sequence(items)) = get(root, collection) else {
        return false;
    };
    items.iter().any(|it| {
        let Value::Mapping(m) = it else { return false };
        let Some(Value::Mapping(inner)) = get(m, item_key) else {
            return false;
        };
        get(inner, "refId").and_then(as_str).as_deref() == Some(ref_id)
    })
}

struct Walk<'a> {
    root_key: &'a str,
    root: &'a Mapping,
    name: &'a str,
    errors: &'a mut Vec<String>,
    modules: Vec<(String, String)>,
    queues: Vec<(String, String)>,
}

impl Walk<'_> {
    fn value(&mut self, v: &Value, key: &str) {
        match v {
            Value::Mapping(m) => self.mapping(m, key),
            Value::Sequence(s) => {
                for item in s {
                    self.value(item, key);
                }
            }
            Value::Tagged(t) => self.value(&t.value, key),
            _ => {}
        }
    }

    fn mapping(&mut self, m: &Mapping, _parent: &str) {
        let name = self.name;
        let action_name = get(m, "name").and_then(as_str).unwrap_or_default();
        for (k, v) in m {
            let Some(k) = as_str(k) else {
                self.value(v, "");
                continue;
            };
            if REFERENCE_KEYS.contains(&k.as_str()) {
                match as_str(v) {
                    Some(r) if resolves(self.root_key, self.root, &r) => {}
                    Some(r) => self.errors.push(format!(
                        "Error: Flow '{name}': Unable to resolve {k} '{r}' in action '{action_name}'"
                    )),
                    None => self.errors.push(format!(
                        "Error: Flow '{name}': {k} in action '{action_name}' must be a reference string"
                    )),
                }
                continue;
            }
            let Value::Mapping(inner) = v else {
                self.value(v, &k);
                continue;
            };
            let inner_name = get(inner, "name").and_then(as_str).unwrap_or_default();
            if k == JUMP_TO_TASK_ACTION && get(inner, "targetTaskRef").is_none() {
                self.errors.push(format!(
                    "Error: Flow '{name}': action '{inner_name}' ({JUMP_TO_TASK_ACTION}) is missing required property 'targetTaskRef'"
                ));
            }
            if k == CALL_COMMON_MODULE_ACTION {
                match get(inner, CALL_COMMON_MODULE_KEY) {
                    Some(Value::Mapping(cm)) if !cm.is_empty() => {
                        for module in cm.keys().filter_map(as_str) {
                            self.modules.push((module, inner_name.clone()));
                        }
                    }
                    _ => self.errors.push(format!(
                        "Error: Flow '{name}': action '{inner_name}' ({CALL_COMMON_MODULE_ACTION}) does not name a common module"
                    )),
                }
            }
            if TRANSFER_ACTIONS.contains(&k.as_str()) {
                if let Some(Value::Mapping(tq)) = get(inner, "targetQueue") {
                    if let Some(Value::Mapping(lit)) = get(tq, "lit") {
                        match get(lit, "name").and_then(as_str) {
                            Some(q) => self.queues.push((q, inner_name.clone())),
                            None => self.errors.push(format!(
                                "Error: Flow '{name}': action '{inner_name}' ({k}) has a literal targetQueue without a name"
                            )),
                        }
                    }
                }
            }
            self.mapping(inner, &k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
inboundCall:
  name: Main IVR
  startUpRef: "/inboundCall/tasks/task[Main]"
  tasks:
    - task:
        name: Main
        refId: Main
        actions:
          - callCommonModule:
              name: Lookup
              commonModule:
                Lookup Customer:
                  ver_latestPublished: {inputs: {}, outputs: {}}
          - decision:
              name: Gold?
              condition: {exp: "true"}
              outputs:
                "yes":
                  actions:
                    - jumpToTask: {name: Go, targetTaskRef: "./tasks/task[Other]"}
          - transferToAcd: {name: Xfer, targetQueue: {lit: {name: General}}}
    - task:
        name: Other
        refId: Other
        actions:
          - disconnect: {name: Bye}
"#;

    #[test]
    fn good_flow() {
        let a = analyze(GOOD).unwrap();
        assert_eq!(a.name, "Main IVR");
        assert_eq!(a.flow_type, "INBOUNDCALL");
        assert_eq!(
            a.modules,
            vec![("Lookup Customer".to_owned(), "Lookup".to_owned())]
        );
        assert_eq!(a.queues, vec![("General".to_owned(), "Xfer".to_owned())]);
    }

    #[test]
    fn bad_refs() {
        let y = GOOD.replace("task[Other]\"", "task[Nope]\"");
        let e = analyze(&y).unwrap_err();
        assert!(e[0].contains("Unable to resolve targetTaskRef './tasks/task[Nope]'"));
        let y = GOOD.replace(
            "/inboundCall/tasks/task[Main]",
            "/inboundCall/tasks/task[X]",
        );
        let e = analyze(&y).unwrap_err();
        assert!(e[0].contains("startUpRef"), "{e:?}");
    }
}
