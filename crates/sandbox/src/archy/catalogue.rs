//! The key-path catalogue of real Archy files, and the check of a document against it.
//!
//! A document is reduced to *generalised key paths* exactly as the shared tool
//! `tools/archy_corpus.py` writes them into `reference/archy-catalogue.json`
//! (`inboundCall.tasks[].task.actions[].transferToAcd.targetQueue.lit.name`): list items
//! become `[]`, names chosen by the author or the org (module, data action, integration and
//! table names, variables as keys of `inputs`/`outputs`, languages, output names) become
//! `<name>`, and keys that are variables (`Flow.x`, `Common.x`, ...) become `<var>`.
//!
//! Real files nest actions to any depth, so a path is compared in its *context-free form*:
//! the part after the last action-list item (`…actions[].` or `startUpTaskActions[].`),
//! written `@action.<action>.<keys>`, or after the last variable-declaration item
//! (`variables[].`), written `@variable.<type>.<keys>`; a path with neither is compared
//! whole. The shape of an action does not depend on where its list is, and every list's own
//! key (`decision.outputs.yes.actions`) is checked as part of the action that holds it, so
//! nothing escapes the check.
//!
//! The catalogue the project reads is `catalogue-paths.txt` next to this file: the sorted
//! context-free forms of every path of the shared catalogue. Regenerate it after the shared
//! catalogue changes with
//! `FLOWSMITH_UPDATE_CATALOGUE=1 cargo test --lib archy::catalogue::tests::matches_the_shared_catalogue`;
//! without the variable that test fails when the two differ (it is skipped when
//! `../shared/reference/archy-catalogue.json` is absent).

use std::collections::HashSet;
use std::sync::OnceLock;

use serde_yaml_ng::Value;

use super::generalise::Index;

/// The context-free forms of every key path in the corpus of real flow files.
pub const CORPUS_PATHS: &str = include_str!("catalogue-paths.txt");

/// One key of a document: its generalised path and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPath {
    /// Generalised, as the shared catalogue writes it.
    pub path: String,
    /// JSON Pointer of the key in the document (`/inboundCall/tasks/0/task/actions/1/decision`).
    pub at: String,
}

impl KeyPath {
    /// The form the catalogue is compared in (see the module documentation).
    pub fn context_free(&self) -> String {
        context_free(&self.path)
    }
}

/// Output names that are schema keys rather than names chosen by the author.
const SCHEMA_OUTPUTS: &[&str] = &[
    "success",
    "failure",
    "timeout",
    "yes",
    "no",
    "found",
    "notFound",
    "loop",
    "default",
    "emergency",
    "open",
    "closed",
    "holiday",
    "exit",
    "noMatch",
    "maxAttempts",
    "agentsAvailable",
    "noAgentsAvailable",
];

/// Parents whose keys are always names.
const NAME_PARENTS: &[&str] = &[
    "inputs",
    "successOutputs",
    "foundOutputs",
    "supportedLanguages",
    "dataAction",
    "category",
    "dataTable",
    "botFlow",
];

const VAR_PREFIXES: &[&str] = &[
    "Flow.",
    "Common.",
    "Task.",
    "State.",
    "Slot.",
    "Session.",
    "Interaction.",
    "Memory.",
];

/// `gen_key` of `archy_corpus.py`. `depth` is the number of segments above the key.
fn gen_key(parent: Option<&str>, key: &str, depth: usize) -> String {
    match parent {
        Some(p) if NAME_PARENTS.contains(&p) => return "<name>".into(),
        Some("commonModule") if depth > 1 => return "<name>".into(),
        Some("outputs") if !SCHEMA_OUTPUTS.contains(&key) => return "<name>".into(),
        _ => {}
    }
    if VAR_PREFIXES.iter().any(|p| key.starts_with(p)) {
        return "<var>".into();
    }
    key.to_owned()
}

/// A YAML key as Python's `str()` of the PyYAML value prints it.
fn key_text(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::Null => "None".into(),
        other => format!("{other:?}"),
    }
}

fn escape(seg: &str) -> String {
    seg.replace('~', "~0").replace('/', "~1")
}

/// Every key of `doc`, in document order, generalised as the shared catalogue writes it.
pub fn key_paths(doc: &Value) -> Vec<KeyPath> {
    let mut out = Vec::new();
    let mut path = Vec::new();
    walk(doc, &mut path, &mut String::new(), None, &mut out);
    out
}

fn walk(
    node: &Value,
    path: &mut Vec<String>,
    at: &mut String,
    parent: Option<&str>,
    out: &mut Vec<KeyPath>,
) {
    match node {
        Value::Mapping(m) => {
            for (k, v) in m {
                let key = key_text(k);
                let g = gen_key(parent, &key, path.len());
                path.push(g);
                let len = at.len();
                at.push('/');
                at.push_str(&escape(&key));
                out.push(KeyPath {
                    path: path.join("."),
                    at: at.clone(),
                });
                walk(v, path, at, Some(&key), out);
                at.truncate(len);
                path.pop();
            }
        }
        Value::Sequence(items) => {
            // The list's own segment gains `[]` while its items are walked.
            let marked = match path.last_mut() {
                Some(last) => {
                    last.push_str("[]");
                    true
                }
                None => {
                    path.push("[]".into());
                    false
                }
            };
            for (i, item) in items.iter().enumerate() {
                let len = at.len();
                at.push('/');
                at.push_str(&i.to_string());
                walk(item, path, at, parent, out);
                at.truncate(len);
            }
            if marked {
                if let Some(last) = path.last_mut() {
                    last.truncate(last.len() - 2);
                }
            } else {
                path.pop();
            }
        }
        Value::Tagged(t) => walk(&t.value, path, at, parent, out),
        _ => {}
    }
}

/// The context-free form of a generalised path (see the module documentation).
pub fn context_free(path: &str) -> String {
    let segs: Vec<&str> = path.split('.').collect();
    let anchor = segs
        .iter()
        .rposition(|s| matches!(*s, "actions[]" | "startUpTaskActions[]" | "variables[]"));
    match anchor {
        Some(i) if i + 1 < segs.len() => {
            let kind = if segs[i] == "variables[]" {
                "@variable"
            } else {
                "@action"
            };
            format!("{kind}.{}", segs[i + 1..].join("."))
        }
        _ => path.to_owned(),
    }
}

/// A set of context-free key paths that Genesys is known (or assumed, with evidence) to
/// accept.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    known: HashSet<String>,
    /// Root keys checked as if they were another root: (root, as root).
    aliases: Vec<(String, String)>,
    /// With the roots it knows: also accept what the known paths and the SDK reference say
    /// in general ([`crate::archy::generalise`]); built on first use.
    generalise: Option<Vec<String>>,
    index: OnceLock<Index>,
}

impl Catalogue {
    /// The corpus catalogue alone.
    pub fn corpus() -> &'static Catalogue {
        static C: OnceLock<Catalogue> = OnceLock::new();
        C.get_or_init(|| Catalogue {
            known: CORPUS_PATHS
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            aliases: Vec::new(),
            generalise: None,
            index: OnceLock::new(),
        })
    }

    /// A catalogue of exactly these context-free paths (e.g. the corpus without some files).
    pub fn of_paths(paths: impl IntoIterator<Item = String>) -> Catalogue {
        Catalogue {
            known: paths.into_iter().collect(),
            ..Catalogue::default()
        }
    }

    /// This catalogue, also accepting what its paths and the SDK reference say in general
    /// about the flow types `roots` ([`crate::archy::generalise`]).
    pub fn generalised(&self, roots: &[&str]) -> Catalogue {
        let mut c = self.clone();
        c.generalise = Some(roots.iter().map(|r| (*r).to_owned()).collect());
        c.index = OnceLock::new();
        c
    }

    /// This catalogue plus `paths` (generalised or context-free; each normally with its
    /// evidence beside it in the caller's list of unverified shapes).
    pub fn with_paths<'a>(&self, paths: impl IntoIterator<Item = &'a str>) -> Catalogue {
        let mut c = self.clone();
        c.known.extend(paths.into_iter().map(context_free));
        c.index = OnceLock::new();
        c
    }

    /// This catalogue, where every path under root key `root` is also accepted when the same
    /// path under `as_root` is known (a flow type with no file in the corpus whose members
    /// are documented to match another type's).
    pub fn with_alias(&self, root: &str, as_root: &str) -> Catalogue {
        let mut c = self.clone();
        c.aliases.push((root.to_owned(), as_root.to_owned()));
        c.index = OnceLock::new();
        c
    }

    /// Is this context-free form known?
    pub fn knows(&self, context_free: &str) -> bool {
        if self.known.contains(context_free) {
            return true;
        }
        let aliased = self.aliases.iter().any(|(root, as_root)| {
            let rest = context_free
                .strip_prefix(root.as_str())
                .filter(|r| r.is_empty() || r.starts_with('.'));
            rest.is_some_and(|r| self.known.contains(&format!("{as_root}{r}")))
        });
        if aliased {
            return true;
        }
        let Some(roots) = &self.generalise else {
            return false;
        };
        self.index
            .get_or_init(|| {
                let roots: Vec<&str> = roots.iter().map(String::as_str).collect();
                Index::new(&self.known, &roots)
            })
            .knows(context_free)
    }

    /// Is this context-free form known by the paths themselves (no generalisation)?
    pub fn knows_exactly(&self, context_free: &str) -> bool {
        self.known.contains(context_free)
    }

    /// The keys of `doc` whose path is unknown, first occurrence of each form only.
    pub fn unknown(&self, doc: &Value) -> Vec<KeyPath> {
        let mut seen = HashSet::new();
        key_paths(doc)
            .into_iter()
            .filter(|k| {
                let cf = k.context_free();
                !self.knows(&cf) && seen.insert(cf)
            })
            .collect()
    }

    pub fn len(&self) -> usize {
        self.known.len()
    }

    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }
}

/// The context-free forms of the paths of the shared catalogue's JSON, sorted.
pub fn derive_from_shared(json: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = json["paths"]
        .as_object()
        .map(|m| m.keys().map(|k| context_free(k)).collect())
        .unwrap_or_default();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(y: &str) -> Value {
        serde_yaml_ng::from_str(y).unwrap()
    }

    #[test]
    fn generalises_as_the_shared_tool_does() {
        let d = doc(r#"
inboundCall:
  name: X
  supportedLanguages:
    en-us:
      defaultLanguageSkill: {noValue: true}
  tasks:
    - task:
        actions:
          - callData:
              category:
                Web Services:
                  dataAction:
                    Get Customer:
                      inputs: {Flow.ani: {exp: Call.Ani}}
                      successOutputs: {name: {var: Flow.name}}
              outputs:
                success: {actions: [{disconnect: {name: a}}]}
                My Output: {actions: []}
          - updateData:
              statements:
                - string: {variable: Flow.x, value: {lit: a}}
          - callCommonModule:
              commonModule:
                Mod: {ver_latestPublished: {inputs: {Common.a: {noValue: true}}}}
"#);
        let paths: Vec<String> = key_paths(&d).into_iter().map(|k| k.path).collect();
        for p in [
            "inboundCall.supportedLanguages.<name>.defaultLanguageSkill.noValue",
            "inboundCall.tasks[].task.actions[].callData.category.<name>.dataAction.<name>.inputs.<name>.exp",
            "inboundCall.tasks[].task.actions[].callData.category.<name>.dataAction.<name>.successOutputs.<name>.var",
            "inboundCall.tasks[].task.actions[].callData.outputs.success.actions[].disconnect.name",
            "inboundCall.tasks[].task.actions[].callData.outputs.<name>.actions",
            "inboundCall.tasks[].task.actions[].updateData.statements[].string.variable",
            "inboundCall.tasks[].task.actions[].callCommonModule.commonModule.<name>.ver_latestPublished.inputs.<name>.noValue",
        ] {
            assert!(paths.iter().any(|x| x == p), "{p} missing from {paths:#?}");
        }
        let k = key_paths(&d)
            .into_iter()
            .find(|k| k.path.ends_with("disconnect.name"))
            .unwrap();
        assert_eq!(
            k.at,
            "/inboundCall/tasks/0/task/actions/0/callData/outputs/success/actions/0/disconnect/name"
        );
        // `Flow.` keys outside a named parent are variables.
        let v = doc("inboundCall: {x: {Flow.y: 1}}");
        assert_eq!(key_paths(&v)[2].path, "inboundCall.x.<var>");
    }

    #[test]
    fn context_free_forms() {
        assert_eq!(
            context_free(
                "inboundCall.tasks[].task.actions[].decision.outputs.yes.actions[].playAudio.audio.tts"
            ),
            "@action.playAudio.audio.tts"
        );
        assert_eq!(
            context_free("inqueueCall.startUpTaskActions[].loop.outputs.loop.actions"),
            "@action.loop.outputs.loop.actions"
        );
        assert_eq!(
            context_free("inboundCall.tasks[].task.variables[].stringVariable.isInput"),
            "@variable.stringVariable.isInput"
        );
        assert_eq!(
            context_free("inboundCall.tasks[].task.actions"),
            "inboundCall.tasks[].task.actions"
        );
    }

    #[test]
    fn corpus_catalogue_knows_and_refuses() {
        let c = Catalogue::corpus();
        assert!(c.len() > 1000, "{}", c.len());
        assert!(c.knows("@action.loop.loopCount.lit"));
        assert!(c.knows("inboundCall.initialGreeting.tts"));
        assert!(!c.knows("@action.transferToNumber"));
        assert!(!c.knows("inboundCall.supportedLanguages.<name>.none"));
        let d = doc(r#"
inboundCall:
  name: X
  supportedLanguages: {en-us: {none: true}}
  tasks:
    - task:
        name: A
        refId: A
        actions:
          - playAudio: {name: a, audio: {tts: hi}}
          - transferToNumber: {name: j, targetTaskRef: "/inboundCall/tasks/task[A]"}
          - transferToNumber: {name: k, targetTaskRef: "/inboundCall/tasks/task[A]"}
"#);
        let unknown: Vec<(String, String)> = c
            .unknown(&d)
            .into_iter()
            .map(|k| (k.context_free(), k.at))
            .collect();
        assert_eq!(
            unknown,
            vec![
                (
                    "inboundCall.supportedLanguages.<name>.none".to_owned(),
                    "/inboundCall/supportedLanguages/en-us/none".to_owned()
                ),
                (
                    "@action.transferToNumber".to_owned(),
                    "/inboundCall/tasks/0/task/actions/1/transferToNumber".to_owned()
                ),
                (
                    "@action.transferToNumber.name".to_owned(),
                    "/inboundCall/tasks/0/task/actions/1/transferToNumber/name".to_owned()
                ),
                (
                    "@action.transferToNumber.targetTaskRef".to_owned(),
                    "/inboundCall/tasks/0/task/actions/1/transferToNumber/targetTaskRef".to_owned()
                ),
            ]
        );
        let with = c.with_paths(["inboundCall.tasks[].task.actions[].transferToNumber"]);
        assert!(with.knows("@action.transferToNumber"));
    }

    #[test]
    fn an_alias_root_borrows_the_paths_of_another() {
        let c = Catalogue::corpus().with_alias("commonModule", "inqueueCall");
        assert!(c.knows("commonModule.startUpTaskActions"));
        assert!(c.knows("commonModule"));
        assert!(!c.knows("commonModule.tasks"));
        assert!(!c.knows("commonModule.startUpRef"));
        assert!(!c.knows("commonModuleX.name"));
    }

    /// The in-repo catalogue is derived from the shared one (when it is beside the clone).
    #[test]
    fn matches_the_shared_catalogue() {
        let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/reference/archy-catalogue.json");
        let Ok(text) = std::fs::read_to_string(&shared) else {
            eprintln!("skipped: {} is absent", shared.display());
            return;
        };
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let derived = derive_from_shared(&json);
        let mut file = derived.join("\n");
        file.push('\n');
        if std::env::var_os("FLOWSMITH_UPDATE_CATALOGUE").is_some() {
            let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("src/archy/catalogue-paths.txt");
            std::fs::write(here, &file).unwrap();
            return;
        }
        assert!(
            file == CORPUS_PATHS,
            "crates/sandbox/src/archy/catalogue-paths.txt is stale: regenerate it with \
             FLOWSMITH_UPDATE_CATALOGUE=1 cargo test -p flowsmith-sandbox --lib archy::catalogue"
        );
    }
}
