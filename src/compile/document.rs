//! The YAML document: the root settings, the variables, and the body: an inbound flow's
//! `menus` and `tasks`, or a module's one action sequence.

use std::collections::{BTreeSet, HashMap};

use super::graph::collect_nodes;
use super::structure::Structured;
use super::yaml::{self, Y};
use super::{CompileError, Compiler, archy, disconnect, menu, no_value, structured, task_ref};
use crate::template::model::{Flow, FlowType, Language, NodeKind};

impl Compiler<'_> {
    pub(super) fn document(&mut self) -> Result<Y, CompileError> {
        let f = self.flow;
        let s = structured(f, self.ty)?;
        self.declare_loop_vars(&s)?;
        let mut root = self.settings();
        let vars = self.variables();
        if !vars.is_empty() {
            root.push(("variables".into(), Y::Seq(vars)));
        }
        match self.ty {
            FlowType::Inbound => {
                let menus = self.menus_reached(&s);
                if !menus.is_empty() {
                    root.push(("menus".into(), Y::Seq(menus)));
                }
                let tasks = self.tasks(&s);
                if !tasks.is_empty() {
                    root.push(("tasks".into(), Y::Seq(tasks)));
                }
            }
            FlowType::Module => {
                // After the variables, as every exported module writes it.
                root.push(archy::module_settings(&f.compatible_flow_types));
                let actions = s
                    .tasks
                    .first()
                    .map(|(_, b)| self.block(b))
                    .unwrap_or_default();
                root.push((archy::module_sequence_key().into(), Y::Seq(actions)));
            }
        }
        Ok(Y::one(archy::root_key(self.ty), Y::Map(root)))
    }

    /// The root keys before the variables: name, description, division, languages, and
    /// an inbound flow's start and greeting.
    fn settings(&self) -> Vec<(yaml::Key, Y)> {
        let f = self.flow;
        let mut root: Vec<(yaml::Key, Y)> = vec![("name".into(), Y::s(self.ctx.flow_name))];
        if let Some(d) = &f.description {
            root.push(("description".into(), Y::s(d)));
        }
        root.push(("division".into(), Y::s(&f.division)));
        let langs = languages(f);
        match self.ty {
            FlowType::Inbound => {
                root.push(("defaultLanguage".into(), Y::s(&f.language)));
                let start = if self.menus.contains_key(&self.start) {
                    menu::menu_ref(self.ty, &self.ref_ids[self.start])
                } else {
                    task_ref(self.ty, &self.ref_ids[self.start])
                };
                root.push(("startUpRef".into(), Y::s(start)));
                root.push((
                    "supportedLanguages".into(),
                    Y::Map(
                        langs
                            .iter()
                            .map(|l| (yaml::Key::from(l.to_string()), supported_language(l)))
                            .collect(),
                    ),
                ));
                root.push(("initialGreeting".into(), initial_greeting(f)));
            }
            // No `defaultLanguage`: none of the 4 corpus modules has one (every other flow
            // type of the corpus does). No `settingsActionDefaults`/`settingsPrompts`: they
            // are the defaults Architect fills in on export (the voice modules and the
            // message modules carry different sets), optional on import as the inbound
            // files without them show (archy-evidence.md, "Settled by the corpus").
            FlowType::Module => {
                root.push((
                    "supportedLanguages".into(),
                    archy::module_supported_languages(langs.iter().copied()),
                ));
            }
        }
        root
    }

    /// The `menus` entries of the menus some task reaches (a task of a menu stands for the
    /// menu itself), in node order.
    fn menus_reached(&mut self, s: &Structured) -> Vec<Y> {
        let mut reached = BTreeSet::new();
        for (i, block) in &s.tasks {
            if self.menus.contains_key(i) {
                reached.insert(*i);
            }
            collect_nodes(block, &mut |k| {
                if self.menus.contains_key(&k) {
                    reached.insert(k);
                }
            });
        }
        let index: HashMap<&str, usize> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(k, n)| (n.id.as_str(), k))
            .collect();
        let mut menus = Vec::with_capacity(reached.len());
        for i in reached {
            let plan = self.menus[&i].clone();
            menus.push(self.menu_entry(i, &plan, &index));
        }
        menus
    }

    /// The reusable tasks (not those of menus), each ending with a closing action.
    fn tasks(&mut self, s: &Structured) -> Vec<Y> {
        let mut tasks = Vec::with_capacity(s.tasks.len());
        for (i, block) in &s.tasks {
            if self.menus.contains_key(i) {
                continue;
            }
            let mut actions = self.block(block);
            if !actions.last().is_some_and(is_closing) {
                actions.push(disconnect("Disconnect"));
            }
            tasks.push(Y::one(
                "task",
                Y::map([
                    ("name", Y::s(&self.nodes[*i].id)),
                    ("refId", Y::s(&self.ref_ids[*i])),
                    ("actions", Y::Seq(actions)),
                ]),
            ));
        }
        tasks
    }
}

/// The flow's languages: its default first, then every other language a SetLanguage node
/// sets literally, in order (a flow lists the languages it switches to: the corpus module
/// `2445093_Lang` lists `en-us` and `es-us`, the two its `setLanguage` actions set).
fn languages(f: &Flow) -> Vec<&str> {
    let mut out = vec![f.language.as_str()];
    let mut more: BTreeSet<&str> = BTreeSet::new();
    for n in f.nodes.values() {
        if let NodeKind::SetLanguage {
            language: Language::Literal(l),
        } = &n.kind
        {
            more.insert(l.as_str());
        }
    }
    more.remove(f.language.as_str());
    out.extend(more);
    out
}

/// One entry of an inbound `supportedLanguages` [corpus: every inbound file that has the
/// block writes `{en-us: {defaultLanguageSkill: {noValue: true}, textToSpeech:
/// {defaultEngine: {voice: Jill}}}}`]. The corpus names a voice for `en-us` only, so other
/// languages get the language skill alone (the `textToSpeech` key is then absent, as the
/// org default applies).
fn supported_language(lang: &str) -> Y {
    let mut e: Vec<(yaml::Key, Y)> = vec![("defaultLanguageSkill".into(), no_value())];
    if lang == "en-us" {
        e.push((
            "textToSpeech".into(),
            Y::one("defaultEngine", Y::one("voice", Y::s("Jill"))),
        ));
    }
    Y::Map(e)
}

/// `initialGreeting` [corpus: 18 of 19 inbound files]: the template's `greeting` as
/// `tts:`, else a silent `exp: ToAudioBlank(1)` (design-architect-flow-data-actions-for-
/// resiliency `CacheExampleFlow.yaml`), so the call starts with what the template says.
fn initial_greeting(f: &Flow) -> Y {
    match &f.greeting {
        Some(g) => Y::one("tts", Y::s(g)),
        None => Y::one("exp", Y::s("ToAudioBlank(1)")),
    }
}

/// Whether an action ends its path (a task must end with one).
fn is_closing(a: &Y) -> bool {
    matches!(a, Y::Map(e) if e.len() == 1
        && matches!(e[0].0.as_ref(), "disconnect" | "jumpToTask" | "jumpToMenu"))
}
