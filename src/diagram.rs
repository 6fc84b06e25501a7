//! Diagrams of a flow and the modules it calls, as Mermaid or Graphviz DOT text, or as a
//! standalone SVG picture laid out here ([`layout`], [`svg`]).
//!
//! Exits are labelled `next` (onComplete), `error` (onError), an If condition's source text
//! (or `cond N` when empty) and `default`. A Flow node whose module is in `modules` gets an
//! edge (`calls`) to the module's start node, drawn inside its own subgraph/cluster, and a
//! dashed `returns` edge from each End node of the module back to the Flow node's next node.
//! Output is deterministic: flows in order (entry, then called modules by name), nodes by id.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub mod composition;
mod layout;
pub mod svg;

use crate::compile::expr_source;
use crate::template::model::{
    Flow, Language, ModuleRef, Node, NodeKind, Prompt, QueueRef, Segment, SetValue, Text,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DiagramFormat {
    Mermaid,
    Dot,
    Svg,
}

/// Longest node detail (characters) before it is cut with `…`.
const MAX_DETAIL: usize = 60;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Solid,
    Dashed,
}

struct Edge {
    from: String,
    to: String,
    label: String,
    style: Style,
}

struct Shape {
    id: String,
    label: String,
    kind: &'static str,
    /// The module a Flow node calls, by name.
    module: Option<String>,
}

struct Cluster {
    id: String,
    label: String,
    nodes: Vec<Shape>,
}

/// Renders `entry` and the modules it calls; in SVG, a Flow node links to the API's SVG
/// diagram of its module.
pub fn render(entry: &Flow, modules: &BTreeMap<String, Flow>, format: DiagramFormat) -> String {
    render_linked(entry, modules, format, &|m| {
        format!("/v1/templates/{}/diagram?format=svg", path_segment(m))
    })
}

/// [`render`], with `link(module)` the address a Flow node calling `module` links to in SVG.
pub fn render_linked(
    entry: &Flow,
    modules: &BTreeMap<String, Flow>,
    format: DiagramFormat,
    link: &dyn Fn(&str) -> String,
) -> String {
    // Flows: the entry, then every module it calls that is available, by name.
    let called: BTreeSet<&str> = entry
        .nodes
        .values()
        .filter_map(|n| match &n.kind {
            NodeKind::CallModule {
                module: ModuleRef::Name(m),
                ..
            } if modules.contains_key(m) => Some(m.as_str()),
            _ => None,
        })
        .collect();
    let flows: Vec<&Flow> = std::iter::once(entry)
        .chain(called.iter().filter_map(|m| modules.get(*m)))
        .collect();
    let mut d = Drawing {
        ids: flows
            .iter()
            .enumerate()
            .map(|(fi, f)| {
                f.nodes
                    .keys()
                    .enumerate()
                    .map(|(ni, k)| (k.as_str(), format!("f{fi}_n{ni}")))
                    .collect()
            })
            .collect(),
        module_index: called
            .iter()
            .enumerate()
            .map(|(i, m)| (*m, i + 1))
            .collect(),
        modules,
        edges: Vec::new(),
    };
    let clusters: Vec<Cluster> = flows
        .iter()
        .enumerate()
        .map(|(fi, f)| d.flow(fi, f))
        .collect();
    let start = d.ids[0].get(entry.start.as_str()).cloned();
    match format {
        DiagramFormat::Mermaid => mermaid(&clusters, &d.edges, start),
        DiagramFormat::Dot => dot(&clusters, &d.edges, start),
        DiagramFormat::Svg => {
            svg::render(&svg_graph(&entry.name, &clusters, &d.edges, start, link))
        }
    }
}

/// Every byte but the URL path's unreserved characters (`A-Za-z0-9-._~`).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `s` percent-encoded as one segment of a URL path (every byte but `A-Za-z0-9-._~`): the
/// one encoder of names in the links and `Location` headers the service writes.
pub fn path_segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

/// How a node kind is drawn in SVG: its shape and fill.
fn svg_look(kind: &str) -> (svg::NodeShape, &'static str) {
    use svg::NodeShape as S;
    match kind {
        "If" | "Switch" => (S::Decision, "#fff4cc"),
        "End" | "Disconnect" => (S::Terminal, "#e6e6e6"),
        "Flow" => (S::Call, "#dbeafe"),
        "Gather" | "Menu" => (S::Input, "#dcf2e6"),
        "Route" | "Voicemail" => (S::Exit, "#fde2e2"),
        _ => (S::Step, "#ffffff"),
    }
}

/// The drawing as an SVG graph: one group per flow, the start marker first in the entry's.
fn svg_graph(
    name: &str,
    clusters: &[Cluster],
    edges: &[Edge],
    start: Option<String>,
    link: &dyn Fn(&str) -> String,
) -> svg::SvgGraph {
    let mut nodes = Vec::new();
    let mut index = std::collections::HashMap::new();
    let mut groups = Vec::new();
    let mut svg_edges = Vec::new();
    for (ci, c) in clusters.iter().enumerate() {
        let mut members = Vec::new();
        if ci == 0 && start.is_some() {
            members.push(nodes.len());
            index.insert("start".to_owned(), nodes.len());
            nodes.push(svg::SvgNode {
                lines: Vec::new(),
                title: "start".into(),
                shape: svg::NodeShape::Start,
                fill: "#333333",
                href: None,
                kind: "start".into(),
            });
        }
        for s in &c.nodes {
            let (shape, fill) = svg_look(s.kind);
            members.push(nodes.len());
            index.insert(s.id.clone(), nodes.len());
            nodes.push(svg::SvgNode {
                lines: s.label.lines().map(cut).collect(),
                title: s.label.clone(),
                shape,
                fill,
                href: s.module.as_deref().map(link),
                kind: s.kind.to_owned(),
            });
        }
        groups.push(svg::SvgGroup {
            label: c.label.clone(),
            nodes: members,
        });
    }
    let start_edge = start.map(|s| ("start".to_owned(), s, String::new(), Style::Solid));
    let all = start_edge.into_iter().chain(
        edges
            .iter()
            .map(|e| (e.from.clone(), e.to.clone(), e.label.clone(), e.style)),
    );
    for (from, to, label, style) in all {
        if let (Some(&from), Some(&to)) = (index.get(&from), index.get(&to)) {
            svg_edges.push(svg::SvgEdge {
                from,
                to,
                label: cut(&label),
                dashed: style == Style::Dashed,
            });
        }
    }
    svg::SvgGraph {
        title: name.to_owned(),
        nodes,
        edges: svg_edges,
        groups,
        legend: Vec::new(),
    }
}

/// A diagram being drawn: the shape id of every node (flow by flow), where each called
/// module is drawn, and the edges so far.
struct Drawing<'a> {
    ids: Vec<BTreeMap<&'a str, String>>,
    module_index: BTreeMap<&'a str, usize>,
    modules: &'a BTreeMap<String, Flow>,
    edges: Vec<Edge>,
}

impl Drawing<'_> {
    /// The shape id of node `n` of flow `fi`.
    fn id_of(&self, fi: usize, n: &str) -> Option<String> {
        self.ids[fi].get(n).cloned()
    }

    fn edge(&mut self, from: &str, to: Option<String>, label: String, style: Style) {
        if let Some(to) = to {
            self.edges.push(Edge {
                from: from.to_owned(),
                to,
                label,
                style,
            });
        }
    }

    /// Flow `fi` as a cluster of shapes, adding the edges of its nodes.
    fn flow(&mut self, fi: usize, f: &Flow) -> Cluster {
        let gathers: std::collections::HashSet<&str> = f
            .nodes
            .values()
            .filter(|n| matches!(n.kind, NodeKind::Gather { .. }))
            .map(|n| n.id.as_str())
            .collect();
        let mut shapes = Vec::new();
        for node in f.nodes.values() {
            let me = self.ids[fi][node.id.as_str()].clone();
            shapes.push(Shape {
                id: me.clone(),
                label: as_written(&node_label(node), &gathers),
                kind: node.kind.type_name(),
                module: match &node.kind {
                    NodeKind::CallModule {
                        module: ModuleRef::Name(m),
                        ..
                    } => Some(m.clone()),
                    _ => None,
                },
            });
            self.kind_exits(fi, node, &me, &gathers);
            let next = node.next.as_deref().and_then(|n| self.id_of(fi, n));
            self.edge(&me, next, "next".into(), Style::Solid);
            if node.on_error != node.next || matches!(node.kind, NodeKind::Gather { .. }) {
                let error = node.on_error.as_deref().and_then(|n| self.id_of(fi, n));
                self.edge(&me, error, "error".into(), Style::Solid);
            }
        }
        Cluster {
            id: format!("f{fi}"),
            label: format!("{} ({})", f.name, if fi == 0 { "entry" } else { "module" }),
            nodes: shapes,
        }
    }

    /// The exits a node kind has besides `next` and `error` (drawn before them).
    fn kind_exits(&mut self, fi: usize, node: &Node, me: &str, gathers: &HashSet<&str>) {
        match &node.kind {
            NodeKind::If { branches, default } | NodeKind::Switch { branches, default } => {
                for (k, b) in branches.iter().enumerate() {
                    let src = as_written(&expr_source(&b.condition), gathers);
                    let label = if src.is_empty() {
                        format!("cond {}", k + 1)
                    } else {
                        src
                    };
                    self.edge(me, self.id_of(fi, &b.target), label, Style::Solid);
                }
                if let Some(d) = default {
                    self.edge(me, self.id_of(fi, d), "default".into(), Style::Solid);
                }
            }
            NodeKind::CallModule {
                module: ModuleRef::Name(m),
                ..
            } => self.module_call(fi, node, me, m),
            NodeKind::Menu { choices, .. } => {
                for c in choices {
                    let label = match &c.label {
                        Some(l) => format!("{} {l}", c.digit),
                        None => c.digit.to_string(),
                    };
                    self.edge(me, self.id_of(fi, &c.target), label, Style::Solid);
                }
            }
            NodeKind::Schedule { exits, .. } => {
                for (state, t) in exits {
                    self.edge(me, self.id_of(fi, t), state.as_str().into(), Style::Solid);
                }
            }
            NodeKind::DataAction {
                on_timeout: Some(t),
                ..
            } => self.edge(me, self.id_of(fi, t), "timeout".into(), Style::Solid),
            NodeKind::TableLookup {
                on_not_found: Some(t),
                ..
            } => self.edge(me, self.id_of(fi, t), "not found".into(), Style::Solid),
            NodeKind::Archy(a) => {
                for (name, t) in &a.exits {
                    self.edge(me, self.id_of(fi, t), name.clone(), Style::Solid);
                }
            }
            _ => {}
        }
    }

    /// A Flow node calling module `m`, when it is drawn: `calls` to its start node, and a
    /// dashed `returns` from each of its End nodes to the Flow node's next node.
    fn module_call(&mut self, fi: usize, node: &Node, me: &str, m: &str) {
        let modules = self.modules;
        let (Some(&mi), Some(mf)) = (self.module_index.get(m), modules.get(m)) else {
            return;
        };
        let start = self.ids[mi].get(mf.start.as_str()).cloned();
        self.edge(me, start, "calls".into(), Style::Solid);
        let Some(back) = node.next.as_deref().and_then(|n| self.id_of(fi, n)) else {
            return;
        };
        for end in mf.nodes.values() {
            if matches!(end.kind, NodeKind::End { .. }) {
                self.edges.push(Edge {
                    from: self.ids[mi][end.id.as_str()].clone(),
                    to: back.clone(),
                    label: "returns".into(),
                    style: Style::Dashed,
                });
            }
        }
    }
}

fn text_source(t: &Text) -> String {
    let mut s = String::new();
    for seg in &t.0 {
        match seg {
            Segment::Literal(l) => s.push_str(l),
            Segment::Var(v) => {
                s.push('{');
                s.push_str(v.name());
                s.push('}');
            }
        }
    }
    s
}

fn cut(s: &str) -> String {
    if s.chars().count() <= MAX_DETAIL {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX_DETAIL - 1).collect();
        out.push('…');
        out
    }
}

/// Shows Gather results as the author writes them: `{Menu_digits}` → `{Menu.digits}` when
/// `Menu` is a Gather node (the model stores one canonical name for both spellings).
fn as_written(label: &str, gathers: &std::collections::HashSet<&str>) -> String {
    let mut out = String::with_capacity(label.len());
    let mut rest = label;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let inner = &after[..close];
                match inner.strip_suffix("_digits") {
                    Some(node) if gathers.contains(node) => {
                        out.push('{');
                        out.push_str(node);
                        out.push_str(".digits}");
                    }
                    _ => {
                        out.push('{');
                        out.push_str(inner);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn node_label(n: &Node) -> String {
    let detail = match &n.kind {
        NodeKind::Say { text, .. } => text_source(text),
        NodeKind::Gather {
            prompt,
            min_digits,
            max_digits,
            ..
        } => format!("{} [{min_digits}..{max_digits}]", text_source(prompt)),
        NodeKind::Set { assignments } => assignments
            .iter()
            .map(|a| {
                let v = match &a.value {
                    SetValue::Text(t) => format!("\"{}\"", text_source(t)),
                    SetValue::Expr(e) => expr_source(e),
                };
                format!("{} = {v}", a.var.name())
            })
            .collect::<Vec<_>>()
            .join("; "),
        NodeKind::If { .. } => String::new(),
        NodeKind::Route { queue, .. } => match queue {
            QueueRef::Name(q) => format!("queue {q}"),
            QueueRef::Id(q) => format!("queue id {q}"),
        },
        NodeKind::CallModule { module, .. } => match module {
            ModuleRef::Name(m) => format!("module {m}"),
            ModuleRef::Id(m) => format!("module id {m}"),
        },
        NodeKind::End { .. } | NodeKind::Disconnect => String::new(),
        NodeKind::Archy(a) => format!("kept Archy {}", a.action),
        NodeKind::PlayPrompt { prompt } => format!("prompt {prompt}"),
        NodeKind::Menu { prompt, .. } => match prompt {
            Prompt::Text(t) => text_source(t),
            Prompt::Named(p) => format!("prompt {p}"),
        },
        NodeKind::DataAction {
            integration,
            action,
            ..
        } => format!("{integration}/{action}"),
        NodeKind::TableLookup { table, key, .. } => {
            format!("table {table} [{}]", text_source(key))
        }
        NodeKind::Switch { .. } => String::new(),
        NodeKind::SetParticipantData { attributes } => attributes
            .iter()
            .map(|(k, t)| format!("{k} = \"{}\"", text_source(t)))
            .collect::<Vec<_>>()
            .join("; "),
        NodeKind::GetParticipantData { attributes } => attributes
            .iter()
            .map(|(k, v)| format!("{} = {k}", v.name()))
            .collect::<Vec<_>>()
            .join("; "),
        NodeKind::Schedule { group, .. } => format!("schedule group {group}"),
        NodeKind::Voicemail { queue } => format!("voicemail {queue}"),
        NodeKind::SetLanguage { language } => match language {
            Language::Literal(tag) => format!("language {tag}"),
            Language::Expr(e) => format!("language {}", expr_source(e)),
        },
    };
    let head = format!("{}: {}", n.kind.type_name(), n.id);
    if detail.is_empty() {
        head
    } else {
        format!("{head}\n{}", cut(&detail))
    }
}

/// Mermaid label text inside `"..."`: entity codes for the characters Mermaid treats
/// specially, `<br/>` for newlines.
fn mermaid_escape(s: &str) -> String {
    escape(
        s,
        &[
            ('#', "#35;"),
            ('"', "#quot;"),
            ('<', "#lt;"),
            ('>', "#gt;"),
            ('&', "#amp;"),
            ('|', "#124;"),
            ('`', "#96;"),
            ('\n', "<br/>"),
        ],
    )
}

/// `s` with each character of `table` replaced by its text, and any other control
/// character by a space.
fn escape(s: &str, table: &[(char, &str)]) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match table.iter().find(|(k, _)| *k == c) {
            Some((_, r)) => out.push_str(r),
            None if c.is_control() => out.push(' '),
            None => out.push(c),
        }
    }
    out
}

fn mermaid(clusters: &[Cluster], edges: &[Edge], start: Option<String>) -> String {
    let mut out = String::from("flowchart TD\n");
    for c in clusters {
        let _ = writeln!(out, "  subgraph {}[\"{}\"]", c.id, mermaid_escape(&c.label));
        for s in &c.nodes {
            let l = mermaid_escape(&s.label);
            let shape = match s.kind {
                "If" => format!("{{\"{l}\"}}"),
                "End" | "Disconnect" => format!("([\"{l}\"])"),
                "Flow" => format!("[[\"{l}\"]]"),
                "Gather" => format!("[/\"{l}\"/]"),
                _ => format!("[\"{l}\"]"),
            };
            let _ = writeln!(out, "    {}{shape}", s.id);
        }
        out.push_str("  end\n");
    }
    if let Some(s) = start {
        let _ = writeln!(out, "  start((start)) --> {s}");
    }
    for e in edges {
        let arrow = match e.style {
            Style::Solid => "-->",
            Style::Dashed => "-.->",
        };
        let _ = writeln!(
            out,
            "  {} {arrow}|\"{}\"| {}",
            e.from,
            mermaid_escape(&e.label),
            e.to
        );
    }
    out
}

/// DOT double-quoted string content.
fn dot_escape(s: &str) -> String {
    escape(s, &[('\\', "\\\\"), ('"', "\\\""), ('\n', "\\n")])
}

fn dot(clusters: &[Cluster], edges: &[Edge], start: Option<String>) -> String {
    let mut out = String::from(
        "digraph flowsmith {\n  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\"];\n",
    );
    for c in clusters {
        let _ = writeln!(out, "  subgraph cluster_{} {{", c.id);
        let _ = writeln!(out, "    label=\"{}\";", dot_escape(&c.label));
        for s in &c.nodes {
            let shape = match s.kind {
                "If" => ", shape=diamond",
                "End" | "Disconnect" => ", shape=oval",
                "Flow" => ", shape=box, peripheries=2",
                "Gather" => ", shape=parallelogram",
                _ => "",
            };
            let _ = writeln!(
                out,
                "    {} [label=\"{}\"{shape}];",
                s.id,
                dot_escape(&s.label)
            );
        }
        out.push_str("  }\n");
    }
    if let Some(s) = start {
        let _ = writeln!(
            out,
            "  start [shape=circle, label=\"start\"];\n  start -> {s};"
        );
    }
    for e in edges {
        let style = match e.style {
            Style::Solid => "",
            Style::Dashed => ", style=dashed",
        };
        let _ = writeln!(
            out,
            "  {} -> {} [label=\"{}\"{style}];",
            e.from,
            e.to,
            dot_escape(&e.label)
        );
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::fixtures::{seed_caller, seed_module};

    fn modules() -> BTreeMap<String, Flow> {
        let m = seed_module();
        [(m.name.clone(), m)].into_iter().collect()
    }

    #[test]
    fn mermaid_of_the_seed() {
        let text = render(&seed_caller(), &modules(), DiagramFormat::Mermaid);
        assert!(text.starts_with("flowchart TD\n  subgraph f0[\"Inbound_Flow_A (entry)\"]\n"));
        assert!(text.contains("  subgraph f1[\"Shared_Module_Language_Select (module)\"]\n"));
        // Nodes are numbered in id order: CallShared f0_n0, CheckResult f0_n1, ...
        assert!(text.contains(
            "    f0_n0[[\"Flow: CallShared<br/>module Shared_Module_Language_Select\"]]\n"
        ));
        assert!(text.contains("    f0_n1{\"If: CheckResult\"}\n"));
        assert!(
            text.contains("  f0_n1 -->|\"{shared_module_result} == '1'\"| f0_n5\n"),
            "{text}"
        );
        assert!(text.contains("  f0_n1 -->|\"default\"| f0_n4\n"));
        // calls the module start (SayHello is f1_n3) and returns from both End nodes.
        assert!(text.contains("  f0_n0 -->|\"calls\"| f1_n3\n"));
        assert!(text.contains("  f1_n0 -.->|\"returns\"| f0_n1\n"), "{text}");
        assert!(text.contains("  f1_n1 -.->|\"returns\"| f0_n1\n"));
        assert!(text.contains("  f0_n0 -->|\"error\"| f0_n3\n"));
        assert!(text.contains("  start((start)) --> f0_n0\n"));
        assert_eq!(
            text,
            render(&seed_caller(), &modules(), DiagramFormat::Mermaid)
        );
    }

    #[test]
    fn dot_of_the_seed() {
        let text = render(&seed_caller(), &modules(), DiagramFormat::Dot);
        assert!(text.starts_with("digraph flowsmith {\n"));
        assert!(text.ends_with("}\n"));
        assert!(text.contains("  subgraph cluster_f1 {\n"));
        assert!(text.contains("  f0_n1 -> f0_n5 [label=\"{shared_module_result} == '1'\"];\n"));
        assert!(text.contains("  f1_n0 -> f0_n1 [label=\"returns\", style=dashed];\n"));
        assert!(
            text.contains("    f1_n4 [label=\"Set: SetResult\\n"),
            "{text}"
        );
        assert_eq!(text.matches('{').count(), text.matches('}').count());
    }

    #[test]
    fn set_language_is_drawn_with_its_language() {
        let f = crate::compile::fixtures::validated(&serde_json::json!({
            "name": "L", "type": "inbound", "draft": {"startNode": "A", "nodes": {
                "A": {"id": "A", "type": "SetLanguage", "properties": {"language": "fr-fr"},
                      "onComplete": {"nextNode": "B"}},
                "B": {"id": "B", "type": "Disconnect"}}}
        }));
        let text = render(&f, &BTreeMap::new(), DiagramFormat::Mermaid);
        assert!(text.contains("SetLanguage: A"), "{text}");
        assert!(text.contains("language fr-fr"), "{text}");
    }

    #[test]
    fn gather_results_show_as_written() {
        let text = render(&seed_module(), &BTreeMap::new(), DiagramFormat::Mermaid);
        assert!(text.contains("{GatherInput.digits}"), "{text}");
        assert!(!text.contains("GatherInput_digits"), "{text}");
        let gathers = ["Menu"].into_iter().collect();
        assert_eq!(
            as_written("{Menu_digits} == '1' and {my_digits} {x", &gathers),
            "{Menu.digits} == '1' and {my_digits} {x"
        );
    }

    #[test]
    fn without_the_module_only_the_entry_is_drawn() {
        let text = render(&seed_caller(), &BTreeMap::new(), DiagramFormat::Mermaid);
        assert!(!text.contains("subgraph f1"));
        assert!(!text.contains("calls"));
    }

    /// The `<title>` of every node of an SVG diagram, which must parse as XML.
    fn svg_titles(svg: &str) -> Vec<String> {
        let doc = roxmltree::Document::parse(svg).unwrap();
        doc.descendants()
            .filter(|n| n.has_tag_name("g") && n.attribute("class") == Some("node"))
            .filter_map(|g| g.descendants().find(|c| c.has_tag_name("title")))
            .filter_map(|t| t.text().map(str::to_owned))
            .collect()
    }

    #[test]
    fn svg_of_the_seed_names_every_node_and_links_the_module() {
        let caller = seed_caller();
        let svg = render(&caller, &modules(), DiagramFormat::Svg);
        let titles = svg_titles(&svg);
        for f in [&caller, &seed_module()] {
            for n in f.nodes.values() {
                let head = format!("{}: {}", n.kind.type_name(), n.id);
                assert!(
                    titles.iter().any(|t| t.starts_with(&head)),
                    "{head} in {titles:?}"
                );
            }
        }
        assert!(svg.contains(
            "<a href=\"/v1/templates/Shared_Module_Language_Select/diagram?format=svg\">"
        ));
        for shape in [
            "<polygon",
            "data-kind=\"If\"",
            "data-kind=\"Gather\"",
            ">returns<",
        ] {
            assert!(svg.contains(shape), "{shape}");
        }
        assert_eq!(svg, render(&caller, &modules(), DiagramFormat::Svg));
        assert_eq!(path_segment("a b/é"), "a%20b%2F%C3%A9");
    }

    #[test]
    fn svg_of_a_large_flow_is_quick_and_bounded() {
        // The documented bound: 2,000 nodes in well under a second of layout (release; the
        // test allows a loaded debug build more).
        let f = crate::compile::fixtures::generated_flow(2000);
        let t = std::time::Instant::now();
        let svg = render(&f, &BTreeMap::new(), DiagramFormat::Svg);
        assert!(
            t.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            t.elapsed()
        );
        assert!(svg.len() < 2 * 1024 * 1024, "{} bytes", svg.len());
        assert_eq!(svg_titles(&svg).len(), f.nodes.len() + 1);
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(
            mermaid_escape("a\"b<c>#|\nd"),
            "a#quot;b#lt;c#gt;#35;#124;<br/>d"
        );
        assert_eq!(dot_escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let mut f = seed_caller();
        if let Some(n) = f.nodes.get_mut("PlayGoodbye") {
            n.kind = NodeKind::Say {
                text: Text::literal("Say \"hi\" <now> & #1"),
                language: None,
                beep: false,
            };
        }
        let m = render(&f, &BTreeMap::new(), DiagramFormat::Mermaid);
        assert!(
            m.contains("Say #quot;hi#quot; #lt;now#gt; #amp; #35;1"),
            "{m}"
        );
        let d = render(&f, &BTreeMap::new(), DiagramFormat::Dot);
        assert!(d.contains("Say \\\"hi\\\" <now> & #1"), "{d}");
        let s = render(&f, &BTreeMap::new(), DiagramFormat::Svg);
        assert!(s.contains("Say &quot;hi&quot; &lt;now&gt; &amp; #1"), "{s}");
        assert!(
            svg_titles(&s)
                .iter()
                .any(|t| t.contains("Say \"hi\" <now> & #1"))
        );
        assert_eq!(cut(&"x".repeat(100)).chars().count(), MAX_DETAIL);
    }
}
