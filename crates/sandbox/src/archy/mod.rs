//! The sandbox's stand-in for the server-side Archy run of an Architect job: parse the
//! uploaded YAML and find the defects a real publish would reject, with Archy-like messages
//! that name the place (a JSON Pointer into the document).
//!
//! The judge is independent of flowsmith's compiler: it accepts what the evidence shows
//! Genesys accepts (`../shared/reference/archy-evidence.md`, the corpus of real files and its
//! key-path catalogue, [`crate::archy::catalogue`]) plus the shapes listed with their
//! evidence in [`unverified`], generalised by the Architect Scripting SDK reference and the
//! shapes the corpus writes elsewhere ([`generalise`]), and refuses the rest:
//! - any key none of these knows (an unknown action, `supportedLanguages.en-us.none` in an
//!   inbound flow);
//! - a relative reference (`./tasks/task[X]`) inside an action: Archy resolves `./` from the
//!   action's own place; references that do not resolve;
//! - a reusable task whose last action is not a closing action ("a task must have a closing
//!   action"; `transferToAcd` is not one: a failed transfer falls through);
//! - `tasks`, `startUpRef` or `jumpToTask` in a common module (one start-up sequence);
//! - `loopExit` outside a `loop`;
//! - a common module that calls a common module.
//!
//! Checks that need the org's state (called modules exist and are published, queues exist)
//! are done by the caller with [`Analysis::modules`] and [`Analysis::queues`]. Org objects of
//! types the sandbox does not model (data actions, data tables, schedule groups, prompts,
//! emergency groups, bot flows, flows named by transfer actions) are tolerated unresolved.
//!
//! Where things are: [`checks`] (the structure: start, unknown keys, tasks, menus),
//! [`walk`] (every key: actions, references, what the flow names), [`objects`] (the org
//! objects a flow names), [`references`], [`functions`] (what an expression may call), and
//! [`unverified`] (every shape and value not confirmed against a real org).
//!
//! Beside the judge: the key-path catalogue of real flow files ([`catalogue`]) and an
//! interpreter of the Archy subset flowsmith writes ([`interpret`]), independent of how
//! flowsmith writes it.

pub mod catalogue;
mod checks;
mod functions;
pub mod generalise;
pub mod interpret;
mod objects;
mod references;
pub mod unverified;
mod walk;

use std::collections::HashSet;
use std::sync::OnceLock;

use serde_yaml_ng::{Mapping, Value};

use crate::archy::catalogue::Catalogue;
pub use functions::called_functions;
pub use objects::{NamedObject, OrgObject, prompt_names};
pub use references::resolve;
use unverified::{KEY_PATHS, MODULE_ROOT_AS, ROOT_KEYS};

/// The key paths the evidence shows one by one: the corpus catalogue, the unverified paths,
/// and module roots read as in-queue roots. What flowsmith emits is checked against this
/// (emit narrowly); the judge generalises it ([`judge_catalogue`]).
pub fn catalogue() -> &'static Catalogue {
    static C: OnceLock<Catalogue> = OnceLock::new();
    C.get_or_init(|| with_unverified(Catalogue::corpus()))
}

/// What the judge accepts: [`catalogue`] generalised by the SDK reference and the shapes the
/// corpus writes anywhere ([`generalise`]; judge broadly).
pub fn judge_catalogue() -> &'static Catalogue {
    static C: OnceLock<Catalogue> = OnceLock::new();
    C.get_or_init(|| catalogue().generalised(&root_keys()))
}

/// `base` plus the unverified paths and the module-root alias.
pub fn with_unverified(base: &Catalogue) -> Catalogue {
    base.with_paths(KEY_PATHS.iter().map(|(p, _)| *p))
        .with_alias(MODULE_ROOT_AS.0, MODULE_ROOT_AS.1)
}

/// Every root key the judge accepts.
pub fn root_keys() -> Vec<&'static str> {
    ROOT_KEYS.iter().map(|(k, _, _)| *k).collect()
}

/// What a structurally valid flow file says.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub root_key: String,
    /// `Flow.type` (upper case, e.g. `INBOUNDCALL`).
    pub flow_type: &'static str,
    pub name: String,
    /// (module name, calling action name), in document order, one entry per call.
    pub modules: Vec<(String, String)>,
    /// (queue name, naming action or setting), in document order.
    pub queues: Vec<(String, String)>,
    /// Data actions, data tables, schedule groups and prompts the flow names, in document
    /// order.
    pub objects: Vec<NamedObject>,
}

/// The flow types a common module file says it may be called from
/// (`settingsCommonModule: {compatibleFlowTypes: [{flowType: inboundcall}, …]}`, every corpus
/// module; lower case), empty when it has no such setting: then no flow may call it.
pub fn compatible_flow_types(yaml: &str) -> Vec<String> {
    let Ok(Value::Mapping(top)) = serde_yaml_ng::from_str::<Value>(yaml) else {
        return Vec::new();
    };
    let types = get(&top, "commonModule")
        .and_then(|m| match m {
            Value::Mapping(m) => get(m, "settingsCommonModule"),
            _ => None,
        })
        .and_then(|s| match s {
            Value::Mapping(s) => get(s, "compatibleFlowTypes"),
            _ => None,
        });
    let Some(Value::Sequence(items)) = types else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|i| match i {
            Value::Mapping(m) => get(m, "flowType").and_then(as_str),
            _ => None,
        })
        .map(|t| t.to_ascii_lowercase())
        .collect()
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

fn escape(seg: &str) -> String {
    seg.replace('~', "~0").replace('/', "~1")
}

/// What the judge knows: the key paths it accepts and the functions the corpus calls.
#[derive(Debug, Clone)]
pub struct Knowledge {
    pub catalogue: Catalogue,
    /// Lower-cased.
    pub corpus_functions: HashSet<String>,
}

impl Knowledge {
    /// The judge's knowledge: the whole corpus, generalised ([`judge_catalogue`]).
    pub fn judge() -> &'static Knowledge {
        static K: OnceLock<Knowledge> = OnceLock::new();
        K.get_or_init(|| Knowledge {
            catalogue: judge_catalogue().clone(),
            corpus_functions: functions::corpus_functions(),
        })
    }

    /// Knowledge built from some corpus files only (generalised as the judge's is): their
    /// key paths and the functions their expressions call. For the leave-out measure.
    pub fn from_files<'a>(files: impl IntoIterator<Item = &'a Value>) -> Knowledge {
        let mut paths = HashSet::new();
        let mut corpus_functions = HashSet::new();
        for doc in files {
            for k in catalogue::key_paths(doc) {
                paths.insert(k.context_free());
            }
            expressions(doc, &mut |e| {
                corpus_functions.extend(called_functions(e).iter().map(|f| f.to_ascii_lowercase()));
            });
        }
        Knowledge {
            catalogue: with_unverified(&Catalogue::of_paths(paths)).generalised(&root_keys()),
            corpus_functions,
        }
    }
}

/// Calls `f` with every `exp` string of a document.
fn expressions(v: &Value, f: &mut dyn FnMut(&str)) {
    match v {
        Value::Mapping(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    (Some("exp"), Value::String(e)) => f(e),
                    _ => expressions(x, f),
                }
            }
        }
        Value::Sequence(s) => s.iter().for_each(|x| expressions(x, f)),
        Value::Tagged(t) => expressions(&t.value, f),
        _ => {}
    }
}

/// Parses and checks a flow file. `Err` holds every Archy-like error message found.
pub fn analyze(yaml: &str) -> Result<Analysis, Vec<String>> {
    analyze_with(yaml, Knowledge::judge())
}

/// [`analyze`] with the given knowledge.
pub fn analyze_with(yaml: &str, knowledge: &Knowledge) -> Result<Analysis, Vec<String>> {
    let doc: Value = serde_yaml_ng::from_str(yaml)
        .map_err(|e| vec![format!("Error: Unable to parse the flow file as YAML: {e}")])?;
    let Root {
        top,
        root,
        key: root_key,
        flow_type,
        name,
    } = flow_root(&doc)?;
    let flow = checks::Flow {
        top,
        root,
        root_key: &root_key,
        name: &name,
    };
    let mut errors = Vec::new();
    let module = root_key == "commonModule";
    let one_sequence = module || root_key == "inqueueCall";
    checks::start(&flow, module, one_sequence, &mut errors);
    checks::unknown_keys(&knowledge.catalogue, &doc, &name, &mut errors);
    if !one_sequence {
        checks::tasks(root, &root_key, &name, &mut errors);
        checks::menus(root, &root_key, &name, &mut errors);
    }
    checks::menu_settings(root, &root_key, &name, &mut errors);
    let (modules, queues, objects) = walk::walk(
        top,
        root,
        &root_key,
        &name,
        module,
        &knowledge.corpus_functions,
        &mut errors,
    );
    if module {
        for (m, action) in &modules {
            errors.push(format!(
                "Error: Flow '{name}': a common module cannot call a common module: action '{action}' calls '{m}'"
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
            objects,
        })
    } else {
        Err(errors)
    }
}

/// The structure every check needs: the document mapping, its one known flow type key
/// with `Flow.type`, the root mapping and the flow's name.
struct Root<'a> {
    top: &'a Mapping,
    root: &'a Mapping,
    key: String,
    flow_type: &'static str,
    name: String,
}

/// The flow's [`Root`]; `Err` when there is no such structure to check.
fn flow_root(doc: &Value) -> Result<Root<'_>, Vec<String>> {
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
    let Some(Value::Mapping(root)) = get(top, &root_key) else {
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
    Ok(Root {
        top,
        root,
        key: root_key,
        flow_type,
        name,
    })
}

#[cfg(test)]
mod tests;
