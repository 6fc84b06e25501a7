//! Action lists to nodes: ids from action names, branches merging back to the action
//! after their branching action, `jumpToTask` as an edge to the task's first node, and task
//! variables renamed to flow variables.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value};

use super::expr;
use super::nodes::loops;
use super::nodes::menu::{self, MenuDefaults};
use super::nodes::{self, Lists};
use super::report::{Mapped, Report};
use super::{error, warning};
use crate::compile::{archy, sanitize};
use crate::findings::pointer;
use crate::template::{Finding, FlowType};

/// A jump target before the tasks are all read: the marker, then the task's reference.
const TASK_MARK: &str = "\u{1}task:";

/// The reference of a loop's first node among the tasks' (no task can be named so).
const LOOP_MARK: &str = "\u{2}loop:";

/// Whether a module has a `loop` action (only then is its text kept for the counters).
fn mentions_loop(root: &Map<String, Value>) -> bool {
    root.get("startUpTaskActions")
        .is_some_and(|a| serde_json::to_string(a).is_ok_and(|t| t.contains("\"loop\":")))
}

/// The nodes of one flow as they are built.
pub(super) struct Builder<'f> {
    file: &'f str,
    ty: FlowType,
    root_key: &'static str,
    max_nodes: usize,
    nodes: BTreeMap<String, Value>,
    used: HashSet<String>,
    /// Variable as written (`Task.X`, `Flow.X`, `Common.X`) → (template name, kind).
    vars: BTreeMap<String, (String, String)>,
    /// Task refId or name → the task's first node (or a jump marker).
    tasks: BTreeMap<String, Option<String>>,
    pub(super) findings: Vec<Finding>,
    calls: Vec<String>,
    report: Report,
    too_many: bool,
    /// Every `jumpToTask`: its target task and where it is.
    jumps: Vec<(String, String)>,
    /// Menu refId or name → the Menu node's id.
    menus: BTreeMap<String, String>,
    /// Actions (by pointer) kept as written although a native node could take them.
    demoted: HashSet<String>,
    /// The loops being imported, innermost last: where a native loop's `loopExit` leads
    /// (`None` for a loop kept as written, whose `loopExit` is kept too).
    loops: Vec<Option<String>>,
    /// Loop markers handed out (each a task-like reference to the loop's first node).
    loop_marks: usize,
    /// A module's root and its text (to tell whether a loop counter is named elsewhere).
    module: Option<(Map<String, Value>, String)>,
}

/// What [`Builder::finish`] gives: the start node and the nodes (`None` after an error).
pub(super) struct Built {
    pub(super) graph: Option<(String, BTreeMap<String, Value>)>,
    pub(super) findings: Vec<Finding>,
    pub(super) calls: Vec<String>,
    pub(super) report: Report,
}

/// The bracketed reference of `/inboundCall/tasks/task[X_12]` or `./menus/menu[X]`, and
/// whether it is a menu.
fn bracketed(r: &str) -> Option<(&str, bool)> {
    let open = r.find('[')?;
    let close = r.rfind(']')?;
    (close > open).then(|| (&r[open + 1..close], r[..open].ends_with("menu")))
}

impl<'f> Builder<'f> {
    pub(super) fn new(
        file: &'f str,
        ty: FlowType,
        root_key: &'static str,
        max_nodes: usize,
    ) -> Self {
        Builder {
            file,
            ty,
            root_key,
            max_nodes,
            nodes: BTreeMap::new(),
            used: HashSet::new(),
            vars: BTreeMap::new(),
            tasks: BTreeMap::new(),
            findings: Vec::new(),
            calls: Vec::new(),
            report: Report {
                file: file.to_owned(),
                ..Report::default()
            },
            too_many: false,
            jumps: Vec::new(),
            menus: BTreeMap::new(),
            demoted: HashSet::new(),
            loops: Vec::new(),
            loop_marks: 0,
            module: None,
        }
    }

    /// Keeps the actions at `pointers` as written.
    pub(super) fn demote(&mut self, pointers: HashSet<String>) {
        self.demoted = pointers;
    }

    /// A declared variable (`Flow.X`, `Task.X`, `Common.X`) and its declaration kind. Task
    /// variables become flow variables of the same name.
    pub(super) fn declare(&mut self, written: &str, kind: &str) {
        let bare = written
            .split_once('.')
            .map_or(written, |(_, rest)| rest)
            .to_owned();
        self.vars
            .insert(written.to_owned(), (bare, kind.to_owned()));
    }

    /// Rewrites every variable `body` names to the name the compiler gives it
    /// (`Task.X` → `Flow.X`), and lists each with its kind in `named`.
    pub(super) fn rename_vars(&self, body: &mut Value, named: &mut BTreeMap<String, String>) {
        match body {
            Value::String(s) => {
                if let Some(r) = self.rename(s, named) {
                    *s = r;
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|v| self.rename_vars(v, named)),
            Value::Object(m) => {
                // Keys name variables too (`outputs: {Common.X: ...}` of a module call).
                let renamed: Vec<(String, String)> = m
                    .keys()
                    .filter_map(|k| self.rename(k, named).map(|r| (k.clone(), r)))
                    .collect();
                for (old, new) in renamed {
                    if let Some(v) = m.remove(&old) {
                        m.insert(new, v);
                    }
                }
                m.values_mut().for_each(|v| self.rename_vars(v, named));
            }
            _ => {}
        }
    }

    /// `s` with its declared variables renamed (`None` when unchanged); records each.
    fn rename(&self, s: &str, named: &mut BTreeMap<String, String>) -> Option<String> {
        let prefix = archy::var_prefix(self.ty);
        let mut out = String::with_capacity(s.len());
        let mut changed = false;
        let mut rest = s;
        while let Some(i) = rest.find(|c: char| c.is_ascii_alphabetic()) {
            let word_len = rest[i..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                .unwrap_or(rest.len() - i);
            let word = &rest[i..i + word_len];
            let before = rest[..i].chars().next_back();
            out.push_str(&rest[..i]);
            // The longest declared prefix of the dotted word (`Task.Queue.id` → `Task.Queue`).
            let hit = (!before.is_some_and(|c| c == '_' || c.is_ascii_digit()))
                .then(|| {
                    let mut ends: Vec<usize> =
                        word.match_indices('.').map(|(k, _)| k).skip(1).collect();
                    ends.push(word.len());
                    ends.into_iter()
                        .rev()
                        .find_map(|e| self.vars.get(&word[..e]).map(|v| (e, v)))
                })
                .flatten();
            match hit {
                Some((e, (bare, kind))) => {
                    let new = format!("{prefix}{}", sanitize(bare));
                    changed |= new != word[..e];
                    out.push_str(&new);
                    out.push_str(&word[e..]);
                    named.insert(sanitize(bare), kind.clone());
                }
                None => out.push_str(word),
            }
            rest = &rest[i + word_len..];
        }
        out.push_str(rest);
        changed.then_some(out)
    }

    /// A fresh node id from an action's name (sanitised, made unique).
    fn id_for(&mut self, name: Option<&str>, kind: &str) -> String {
        let base = sanitize(name.filter(|n| !n.trim().is_empty()).unwrap_or(kind));
        let mut id = base.clone();
        let mut k = 2;
        while !self.used.insert(id.clone()) {
            id = format!("{base}_{k}");
            k += 1;
        }
        id
    }

    fn err(&mut self, code: &str, at: &str, msg: impl std::fmt::Display) {
        self.findings.push(error(self.file, code, at, msg));
    }

    /// Imports an action list at `at` whose end moves to `cont`; returns where it starts
    /// (`cont` when empty).
    fn import_list(&mut self, actions: &Value, at: &str, cont: Option<String>) -> Option<String> {
        let Some(items) = actions.as_array() else {
            self.err("invalid_actions", at, "an action list must be a sequence");
            return cont;
        };
        // Targets first (ids in document order), then the nodes.
        let mut targets: Vec<Option<String>> = Vec::with_capacity(items.len());
        let mut parsed = Vec::with_capacity(items.len());
        // `loopExit`s that are edges, and loops that may be cycles (with their markers).
        let mut edges: HashSet<usize> = HashSet::new();
        let mut loop_keys: BTreeMap<usize, String> = BTreeMap::new();
        for (i, item) in items.iter().enumerate() {
            let a_at = format!("{at}/{i}");
            let Some((kind, body)) = item
                .as_object()
                .filter(|m| m.len() == 1)
                .and_then(|m| m.iter().next())
                .and_then(|(k, v)| Some((k.clone(), v.as_object()?.clone())))
            else {
                self.err(
                    "invalid_action",
                    &a_at,
                    "an action must be a mapping with one key, its type, holding a mapping",
                );
                targets.push(None);
                parsed.push(None);
                continue;
            };
            let target = match kind.as_str() {
                "jumpToTask" => self.jump(&body, &a_at),
                "jumpToMenu" => self.jump_to_menu(&body, &a_at),
                "loopExit" if matches!(self.loops.last(), Some(Some(_))) => {
                    edges.insert(i);
                    self.loops.last().cloned().flatten()
                }
                "loop" if self.loop_may_be_native(&body) => {
                    // The loop's first node is known once its body is imported: a marker
                    // resolved with the tasks (also when the loop ends up kept).
                    let key = format!("{LOOP_MARK}{}", self.loop_marks);
                    self.loop_marks += 1;
                    loop_keys.insert(i, key.clone());
                    Some(format!("{TASK_MARK}{key}"))
                }
                _ => {
                    if self.used.len() >= self.max_nodes {
                        if !self.too_many {
                            self.too_many = true;
                            self.err(
                                "too_many_actions",
                                &a_at,
                                format!("the flow has more than {} actions", self.max_nodes),
                            );
                        }
                        return None;
                    }
                    let name = body.get("name").and_then(Value::as_str);
                    Some(self.id_for(name, &kind))
                }
            };
            targets.push(target);
            parsed.push(Some((kind, body, a_at)));
        }
        for (i, p) in parsed.into_iter().enumerate() {
            let Some((kind, body, a_at)) = p else {
                continue;
            };
            let next = targets.get(i + 1).cloned().unwrap_or_else(|| cont.clone());
            if let Some(key) = loop_keys.remove(&i) {
                self.import_loop(&body, &a_at, next, &key);
                continue;
            }
            if kind == "jumpToTask" || kind == "jumpToMenu" || edges.contains(&i) {
                self.report.add(Mapped {
                    pointer: a_at,
                    action: kind,
                    node: None,
                    node_type: "edge".into(),
                });
                continue;
            }
            let Some(Some(id)) = targets.get(i).cloned() else {
                continue;
            };
            let (node_type, mut node) = nodes::node(self, &kind, &body, &a_at, next);
            if let Some(o) = node.as_object_mut() {
                o.insert("id".into(), Value::String(id.clone()));
            }
            self.report.add(Mapped {
                pointer: a_at,
                action: kind,
                node: Some(id.clone()),
                node_type: node_type.into(),
            });
            self.nodes.insert(id, node);
        }
        targets.into_iter().next().flatten().or(cont)
    }

    /// Whether a `loop` has the shape the compiler writes and its counter is named nowhere
    /// else (see `nodes/loops.rs`); whether its first node gets the counter's name is known
    /// when it is imported.
    fn loop_may_be_native(&self, body: &Map<String, Value>) -> bool {
        let Some((var, _)) = loops::shape(self.ty, body) else {
            return false;
        };
        let Some((root, text)) = &self.module else {
            return false;
        };
        self.vars
            .get(var)
            .is_some_and(|(_, kind)| kind == "integerVariable")
            && var.starts_with(archy::var_prefix(FlowType::Module))
            && loops::mentions(text, var) == 2
            && !loops::in_interface(root, var)
    }

    /// The id [`Self::id_for`] would give now.
    fn peek_id(&self, name: Option<&str>, kind: &str) -> String {
        let base = sanitize(name.filter(|n| !n.trim().is_empty()).unwrap_or(kind));
        let mut id = base.clone();
        let mut k = 2;
        while self.used.contains(&id) {
            id = format!("{base}_{k}");
            k += 1;
        }
        id
    }

    /// A `loop` that [`Self::loop_may_be_native`] let through, reached by the marker
    /// `key`: a cycle when its first node gets the name the compiler gives its counter
    /// (`<start>_loop`) and something follows it, else a node that keeps it as written.
    fn import_loop(
        &mut self,
        body: &Map<String, Value>,
        at: &str,
        next: Option<String>,
        key: &str,
    ) {
        let Some((var, actions)) = loops::shape(self.ty, body) else {
            return;
        };
        let start = loops::first_node(actions).map(|(name, kind)| self.peek_id(name, kind));
        let prefix = archy::var_prefix(FlowType::Module);
        let native = next.is_some()
            && self.native_allowed(at)
            && start.is_some_and(|s| var == format!("{prefix}{}", sanitize(&format!("{s}_loop"))));
        if native {
            let actions = actions.clone();
            self.loops.push(next);
            let first = self.import_list(
                &actions,
                &format!("{at}/outputs/loop/actions"),
                Some(format!("{TASK_MARK}{key}")),
            );
            self.loops.pop();
            self.tasks.insert(key.to_owned(), first);
            self.report_edge(at, "loop");
            return;
        }
        let name = body.get("name").and_then(Value::as_str);
        let id = self.id_for(name, "loop");
        let (node_type, node) = nodes::node(self, "loop", body, at, next);
        self.tasks.insert(key.to_owned(), Some(id.clone()));
        self.add(id, node, at, "loop", node_type);
    }

    /// A `jumpToTask`'s target (a marker resolved once every task is read).
    fn jump(&mut self, body: &Map<String, Value>, at: &str) -> Option<String> {
        let r = body.get("targetTaskRef").and_then(Value::as_str);
        match r.and_then(bracketed) {
            Some((t, false)) => {
                self.jumps.push((t.to_owned(), at.to_owned()));
                Some(format!("{TASK_MARK}{t}"))
            }
            _ => {
                self.err(
                    "invalid_jump",
                    &format!("{at}/targetTaskRef"),
                    "a jumpToTask needs a targetTaskRef such as /inboundCall/tasks/task[Name_12]",
                );
                None
            }
        }
    }

    /// A `jumpToMenu`'s target: the menu's node.
    fn jump_to_menu(&mut self, body: &Map<String, Value>, at: &str) -> Option<String> {
        let r = body.get("targetMenuRef").and_then(Value::as_str);
        match r.and_then(bracketed) {
            Some((m, true)) => {
                let hit = self.menus.get(m).cloned();
                if hit.is_none() {
                    self.err(
                        "unknown_menu",
                        &format!("{at}/targetMenuRef"),
                        format!("a jump to the menu '{m}', which does not exist"),
                    );
                }
                hit
            }
            _ => {
                self.err(
                    "invalid_jump",
                    &format!("{at}/targetMenuRef"),
                    "a jumpToMenu needs a targetMenuRef such as /inboundCall/menus/menu[Name_10]",
                );
                None
            }
        }
    }

    /// An inbound flow's menus and tasks; returns the start (from `startUpRef`).
    pub(super) fn tasks(&mut self, root: &Map<String, Value>) -> Option<String> {
        let rk = self.root_key;
        let empty = Vec::new();
        // Menu ids first (jumps to them are edges), in document order.
        let menus: Vec<(usize, &Map<String, Value>)> = root
            .get("menus")
            .and_then(Value::as_array)
            .unwrap_or(&empty)
            .iter()
            .enumerate()
            .filter_map(|(i, m)| Some((i, m.get("menu")?.as_object()?)))
            .collect();
        let mut menu_ids = Vec::with_capacity(menus.len());
        for (i, m) in &menus {
            let id = self.id_for(m.get("name").and_then(Value::as_str), "Menu");
            for k in ["refId", "name"] {
                if let Some(r) = m.get(k).and_then(Value::as_str) {
                    self.menus.entry(r.to_owned()).or_insert(id.clone());
                }
            }
            menu_ids.push((*i, id));
        }
        if let Some(list) = root.get("menus").and_then(Value::as_array) {
            for (i, m) in list.iter().enumerate() {
                if m.get("menu").and_then(Value::as_object).is_none() {
                    self.err(
                        "invalid_menu",
                        &format!("{}/{i}", pointer([rk, "menus"])),
                        "a menu must be `menu:` with its name, audio and choices",
                    );
                }
            }
        }
        let tasks = root
            .get("tasks")
            .and_then(Value::as_array)
            .unwrap_or(&empty);
        for (i, t) in tasks.iter().enumerate() {
            let at = format!("{}/{i}/task", pointer([rk, "tasks"]));
            let Some(task) = t.get("task").and_then(Value::as_object) else {
                self.err(
                    "invalid_task",
                    &at,
                    "a task must be `task:` with its name and actions",
                );
                continue;
            };
            let actions = task
                .get("actions")
                .cloned()
                .unwrap_or(Value::Array(Vec::new()));
            if actions.as_array().is_none_or(Vec::is_empty) {
                self.err(
                    "empty_task",
                    &format!("{at}/actions"),
                    "the task has no actions",
                );
                continue;
            }
            let entry = self.import_list(&actions, &format!("{at}/actions"), None);
            for k in ["refId", "name"] {
                if let Some(r) = task.get(k).and_then(Value::as_str) {
                    self.tasks.entry(r.to_owned()).or_insert(entry.clone());
                }
            }
        }
        let defaults = MenuDefaults::of(root);
        for ((i, m), (_, id)) in menus.iter().zip(menu_ids) {
            let at = format!("{}/{i}/menu", pointer([rk, "menus"]));
            if let Some(node) = menu::import(self, m, &at, defaults) {
                self.add(id, node, &at, "menu", "Menu");
            }
        }
        let start_at = pointer([rk, "startUpRef"]);
        match root
            .get("startUpRef")
            .and_then(Value::as_str)
            .map(bracketed)
        {
            Some(Some((t, false))) => Some(format!("{TASK_MARK}{t}")),
            Some(Some((m, true))) => match self.menus.get(m) {
                Some(id) => Some(id.clone()),
                None => {
                    self.err(
                        "unknown_menu",
                        &start_at,
                        format!("the flow starts at the menu '{m}', which does not exist"),
                    );
                    None
                }
            },
            _ => {
                self.err(
                    "invalid_start",
                    &start_at,
                    "an inbound flow needs a startUpRef naming one of its tasks",
                );
                None
            }
        }
    }

    /// A common module's `startUpTaskActions`; returns the start.
    pub(super) fn module_actions(&mut self, root: &Map<String, Value>) -> Option<String> {
        let at = pointer([self.root_key, "startUpTaskActions"]);
        if root.contains_key("startUpTaskActions") && mentions_loop(root) {
            let text = serde_json::to_string(root).unwrap_or_default();
            self.module = Some((root.clone(), text));
        }
        match root.get("startUpTaskActions") {
            Some(a) if a.as_array().is_some_and(|a| !a.is_empty()) => {
                self.import_list(a, &at, None)
            }
            _ => {
                self.err("empty_module", &at, "the module has no start-up actions");
                None
            }
        }
    }

    /// Where a target leads once every task is read: a jump marker becomes the task's first
    /// node (following jumps to jumps); `None` for a task that does not exist.
    fn resolve(&self, t: &str) -> Result<String, String> {
        let mut cur = t.to_owned();
        for _ in 0..=self.tasks.len() {
            let Some(r) = cur.strip_prefix(TASK_MARK) else {
                return Ok(cur);
            };
            match self.tasks.get(r) {
                Some(Some(e)) => cur = e.clone(),
                _ => return Err(r.to_owned()),
            }
        }
        Err(cur.trim_start_matches(TASK_MARK).to_owned())
    }

    /// Resolves the jump markers in `v` (an unknown task is reported at its jump).
    fn resolve_all(&self, v: &mut Value) {
        match v {
            Value::String(s) if s.starts_with(TASK_MARK) => {
                if let Ok(r) = self.resolve(s) {
                    *s = r;
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| self.resolve_all(x)),
            Value::Object(m) => m.values_mut().for_each(|x| self.resolve_all(x)),
            _ => {}
        }
    }

    /// The start and the nodes, with every jump resolved.
    pub(super) fn finish(mut self, start: Option<String>) -> Built {
        let mut nodes = std::mem::take(&mut self.nodes);
        for (target, at) in std::mem::take(&mut self.jumps) {
            if let Err(r) = self.resolve(&format!("{TASK_MARK}{target}")) {
                let msg = format!(
                    "a jump to the task '{r}', which does not exist (or only jumps in a circle)"
                );
                self.err("unknown_task", &format!("{at}/targetTaskRef"), msg);
            }
        }
        for n in nodes.values_mut() {
            // Only exits hold markers (an If's condition, a Schedule's state, ...); a kept
            // action's body never does.
            let kept = n.pointer_mut("/properties/action").map(Value::take);
            self.resolve_all(n);
            if let (Some(k), Some(p)) = (kept, n.pointer_mut("/properties")) {
                p["action"] = k;
            }
        }
        let start = match start.map(|s| self.resolve(&s)) {
            Some(Ok(s)) => Some(s),
            Some(Err(r)) => {
                let at = pointer([self.root_key, "startUpRef"]);
                self.err(
                    "unknown_task",
                    &at,
                    format!("the flow starts at the task '{r}', which does not exist"),
                );
                None
            }
            None => None,
        };
        let failed = self
            .findings
            .iter()
            .any(|f| f.severity == crate::findings::Severity::Error);
        Built {
            graph: start.filter(|_| !failed).map(|s| (s, nodes)),
            findings: self.findings,
            calls: self.calls,
            report: self.report,
        }
    }
}

impl Lists for Builder<'_> {
    fn ty(&self) -> FlowType {
        self.ty
    }

    fn list(&mut self, actions: &Value, at: &str, cont: Option<String>) -> Option<String> {
        self.import_list(actions, at, cont)
    }

    fn rename_variables(&self, body: &mut Value, named: &mut BTreeMap<String, String>) {
        self.rename_vars(body, named);
    }

    fn calls(&mut self, name: &str) {
        self.calls.push(name.to_owned());
    }

    fn fresh_id(&mut self, name: Option<&str>, kind: &str) -> String {
        self.id_for(name, kind)
    }

    fn add(&mut self, id: String, mut node: Value, at: &str, action: &str, node_type: &str) {
        if let Some(o) = node.as_object_mut() {
            o.insert("id".into(), Value::String(id.clone()));
        }
        self.report.add(Mapped {
            pointer: at.to_owned(),
            action: action.to_owned(),
            node: Some(id.clone()),
            node_type: node_type.to_owned(),
        });
        self.nodes.insert(id, node);
    }

    fn report_edge(&mut self, at: &str, action: &str) {
        self.report.add(Mapped {
            pointer: at.to_owned(),
            action: action.to_owned(),
            node: None,
            node_type: "edge".into(),
        });
    }

    fn task_target(&mut self, r: Option<&str>, at: &str) -> Option<String> {
        match r.and_then(bracketed) {
            Some((t, false)) => {
                self.jumps.push((t.to_owned(), at.to_owned()));
                Some(format!("{TASK_MARK}{t}"))
            }
            _ => {
                self.err(
                    "invalid_jump",
                    &format!("{at}/targetTaskRef"),
                    "a targetTaskRef names a task, such as /inboundCall/tasks/task[Name_12]",
                );
                None
            }
        }
    }

    fn error(&mut self, code: &str, at: &str, message: String) {
        self.err(code, at, message);
    }

    fn warn(&mut self, code: &str, at: &str, message: String) {
        self.findings.push(warning(self.file, code, at, message));
    }

    fn vars(&self) -> &dyn expr::Vars {
        self
    }

    fn native_allowed(&self, at: &str) -> bool {
        !self.demoted.contains(at)
    }

    fn enter_kept_loop(&mut self) {
        self.loops.push(None);
    }

    fn leave_loop(&mut self) {
        self.loops.pop();
    }
}

impl expr::Vars for Builder<'_> {
    fn var(&self, written: &str) -> Option<(String, String)> {
        self.vars
            .get(written)
            .map(|(bare, kind)| (sanitize(bare), kind.clone()))
    }
}
