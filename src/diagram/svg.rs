//! A laid-out graph as a standalone SVG document: groups (a flow, a target) side by side,
//! each laid out by [`super::layout`], nodes told apart by shape and fill, edges labelled.
//! Every text goes through maud, which escapes it; nothing is scripted.

use maud::{Markup, html};

use super::layout::layered;

/// How a node is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeShape {
    /// A step (Say, Set, ...): a rounded box.
    Step,
    /// A decision (If, Switch): a hexagon.
    Decision,
    /// The end of a path (End, Disconnect): a stadium.
    Terminal,
    /// A call into another flow: a box with a double border.
    Call,
    /// Caller input (Gather, Menu): a parallelogram.
    Input,
    /// The call leaves the flow (Route, Voicemail): a box with a heavy border.
    Exit,
    /// Where the flow starts: a small circle.
    Start,
}

pub struct SvgNode {
    /// Lines of text drawn in the node.
    pub lines: Vec<String>,
    /// The full text (a tooltip).
    pub title: String,
    pub shape: NodeShape,
    pub fill: &'static str,
    /// The node links here (a module's diagram, say).
    pub href: Option<String>,
    /// `data-kind` of the node's group element.
    pub kind: String,
}

pub struct SvgEdge {
    pub from: usize,
    pub to: usize,
    pub label: String,
    pub dashed: bool,
}

/// Nodes laid out together, drawn in a frame with a label.
pub struct SvgGroup {
    pub label: String,
    /// Indices into the graph's nodes; the first is the root of the layout.
    pub nodes: Vec<usize>,
}

pub struct SvgGraph {
    pub title: String,
    pub nodes: Vec<SvgNode>,
    pub edges: Vec<SvgEdge>,
    pub groups: Vec<SvgGroup>,
    /// Colour keys drawn under the title.
    pub legend: Vec<(String, &'static str)>,
}

const FONT: f64 = 12.0;
const LINE: f64 = 16.0;
/// An estimate of a character's width at [`FONT`] (no font metrics on the server).
const CHAR: f64 = 7.0;
const PAD: f64 = 24.0;
const HEADER: f64 = 44.0;
/// Farthest an upward edge's loop reaches right of its nodes.
const LOOP: f64 = 64.0;

fn size(n: &SvgNode) -> (f64, f64) {
    if n.shape == NodeShape::Start {
        return (24.0, 24.0);
    }
    let chars = n.lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let extra = match n.shape {
        NodeShape::Decision | NodeShape::Input => 32.0,
        _ => 20.0,
    };
    let w = (chars as f64 * CHAR + extra).max(64.0);
    (w, n.lines.len() as f64 * LINE + 14.0)
}

/// A number as SVG wants it: one decimal.
fn num(v: f64) -> String {
    format!("{v:.1}")
}

/// The graph as an SVG document.
pub fn render(g: &SvgGraph) -> String {
    let sizes: Vec<(f64, f64)> = g.nodes.iter().map(size).collect();
    let mut pos = vec![(0f64, 0f64); g.nodes.len()];
    let mut frames = Vec::new();
    let legend_h = if g.legend.is_empty() { 0.0 } else { 24.0 };
    let top = HEADER + legend_h;
    let mut left = PAD;
    let mut height = top;
    for group in &g.groups {
        let local: std::collections::HashMap<usize, usize> = group
            .nodes
            .iter()
            .enumerate()
            .map(|(i, &n)| (n, i))
            .collect();
        let edges: Vec<(usize, usize)> = g
            .edges
            .iter()
            .filter_map(|e| Some((*local.get(&e.from)?, *local.get(&e.to)?)))
            .collect();
        let group_sizes: Vec<(f64, f64)> = group.nodes.iter().map(|&n| sizes[n]).collect();
        let l = layered(&group_sizes, &edges, 0);
        let label_w = group.label.chars().count() as f64 * CHAR + 2.0 * PAD;
        // Room on the right for the loops of upward edges.
        let w = (l.width + 2.0 * PAD + LOOP).max(label_w);
        let x0 = left + PAD;
        for (i, &n) in group.nodes.iter().enumerate() {
            pos[n] = (x0 + l.pos[i].0, top + 2.0 * PAD + l.pos[i].1);
        }
        let h = l.height + 3.0 * PAD;
        frames.push((left, top, w, h, group.label.as_str()));
        height = height.max(top + h);
        left += w + PAD;
    }
    let width = left.max(320.0);
    let height = height + PAD;
    let doc = html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(num(width)) height=(num(height))
            viewBox={ "0 0 " (num(width)) " " (num(height)) }
            font-family="sans-serif" font-size=(num(FONT)) role="img" {
            title { (g.title) }
            defs {
                marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7"
                    markerHeight="7" orient="auto-start-reverse" {
                    path d="M0,0 L10,5 L0,10 z" fill="#555" {}
                }
            }
            rect width="100%" height="100%" fill="#ffffff" {}
            text x=(num(PAD)) y="28" font-size="16" font-weight="bold" { (g.title) }
            (legend(&g.legend))
            @for (x, y, w, h, label) in &frames {
                g class="group" {
                    rect x=(num(*x)) y=(num(*y)) width=(num(*w)) height=(num(*h)) rx="8"
                        fill="#f7f8fa" stroke="#c8ccd4" {}
                    text x=(num(x + 12.0)) y=(num(y + 20.0)) font-weight="bold" fill="#333" { (label) }
                }
            }
            @for e in &g.edges {
                (edge(e, &pos, &sizes))
            }
            @for (i, n) in g.nodes.iter().enumerate() {
                (node(n, pos[i], sizes[i]))
            }
        }
    };
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&doc.into_string());
    out.push('\n');
    out
}

fn legend(keys: &[(String, &'static str)]) -> Markup {
    let mut x = PAD;
    let mut placed = Vec::with_capacity(keys.len());
    for (label, fill) in keys {
        placed.push((x, label, *fill));
        x += label.chars().count() as f64 * CHAR + 40.0;
    }
    html! {
        @for (at, label, fill) in placed {
            g class="legend" {
                rect x=(num(at)) y="40" width="14" height="14" rx="3" fill=(fill) stroke="#555" {}
                text x=(num(at + 20.0)) y="52" { (label) }
            }
        }
    }
}

fn node(n: &SvgNode, (x, y): (f64, f64), (w, h): (f64, f64)) -> Markup {
    let stroke = "#444";
    let shape = match n.shape {
        NodeShape::Step | NodeShape::Call | NodeShape::Exit | NodeShape::Terminal => {
            let rx = match n.shape {
                NodeShape::Terminal => h / 2.0,
                NodeShape::Exit => 0.0,
                _ => 4.0,
            };
            let sw = if n.shape == NodeShape::Exit {
                "2.5"
            } else {
                "1"
            };
            html! {
                rect x=(num(x)) y=(num(y)) width=(num(w)) height=(num(h)) rx=(num(rx))
                    fill=(n.fill) stroke=(stroke) stroke-width=(sw) {}
                @if n.shape == NodeShape::Call {
                    rect x=(num(x + 4.0)) y=(num(y + 4.0)) width=(num(w - 8.0)) height=(num(h - 8.0))
                        rx="3" fill="none" stroke=(stroke) {}
                }
            }
        }
        NodeShape::Decision => {
            let d = 12.0;
            let pts = [
                (x + d, y),
                (x + w - d, y),
                (x + w, y + h / 2.0),
                (x + w - d, y + h),
                (x + d, y + h),
                (x, y + h / 2.0),
            ];
            html! { polygon points=(points(&pts)) fill=(n.fill) stroke=(stroke) {} }
        }
        NodeShape::Input => {
            let d = 12.0;
            let pts = [(x + d, y), (x + w, y), (x + w - d, y + h), (x, y + h)];
            html! { polygon points=(points(&pts)) fill=(n.fill) stroke=(stroke) {} }
        }
        NodeShape::Start => html! {
            circle cx=(num(x + w / 2.0)) cy=(num(y + h / 2.0)) r=(num(w / 2.0)) fill=(n.fill) {}
        },
    };
    let first = y + h / 2.0 - (n.lines.len() as f64 - 1.0) * LINE / 2.0 + FONT / 3.0;
    let body = html! {
        title { (n.title) }
        (shape)
        @for (i, line) in n.lines.iter().enumerate() {
            text x=(num(x + w / 2.0)) y=(num(first + i as f64 * LINE)) text-anchor="middle"
                font-weight=(if i == 0 { "bold" } else { "normal" }) { (line) }
        }
    };
    html! {
        g class="node" data-kind=(n.kind) {
            @if let Some(href) = &n.href {
                a href=(href) { (body) }
            } @else {
                (body)
            }
        }
    }
}

fn points(pts: &[(f64, f64)]) -> String {
    pts.iter()
        .map(|(x, y)| format!("{},{}", num(*x), num(*y)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A curve from the bottom of `from` to the top of `to` when `to` is lower; otherwise a loop
/// on the right from side to side.
fn edge(e: &SvgEdge, pos: &[(f64, f64)], sizes: &[(f64, f64)]) -> Markup {
    let (Some(&(fx, fy)), Some(&(fw, fh)), Some(&(tx, ty)), Some(&(tw, th))) = (
        pos.get(e.from),
        sizes.get(e.from),
        pos.get(e.to),
        sizes.get(e.to),
    ) else {
        return html! {};
    };
    let (p0, p1, p2, p3) = if ty >= fy + fh {
        let (a, b) = ((fx + fw / 2.0, fy + fh), (tx + tw / 2.0, ty));
        let dy = ((b.1 - a.1) / 2.0).max(20.0);
        (a, (a.0, a.1 + dy), (b.0, b.1 - dy), b)
    } else {
        let (a, b) = ((fx + fw, fy + fh / 2.0), (tx + tw, ty + th / 2.0));
        let out = a.0.max(b.0) + (24.0 + (a.1 - b.1).abs() / 20.0).min(LOOP);
        (a, (out, a.1), (out, b.1), b)
    };
    let d = format!(
        "M{},{} C{},{} {},{} {},{}",
        num(p0.0),
        num(p0.1),
        num(p1.0),
        num(p1.1),
        num(p2.0),
        num(p2.1),
        num(p3.0),
        num(p3.1)
    );
    // The curve's midpoint (t = 1/2).
    let mx = (p0.0 + 3.0 * p1.0 + 3.0 * p2.0 + p3.0) / 8.0;
    let my = (p0.1 + 3.0 * p1.1 + 3.0 * p2.1 + p3.1) / 8.0;
    html! {
        g class="edge" {
            path d=(d) fill="none" stroke="#555" marker-end="url(#arrow)"
                stroke-dasharray=[e.dashed.then_some("5,4")] {}
            @if !e.label.is_empty() {
                text x=(num(mx)) y=(num(my)) text-anchor="middle" font-size="11" fill="#225"
                    stroke="#ffffff" stroke-width="3" paint-order="stroke" { (e.label) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(label: &str) -> SvgGraph {
        let node = |t: &str, shape| SvgNode {
            lines: vec![t.to_owned()],
            title: t.to_owned(),
            shape,
            fill: "#ffffff",
            href: None,
            kind: "Say".into(),
        };
        SvgGraph {
            title: label.to_owned(),
            nodes: vec![
                node(label, NodeShape::Decision),
                node("b", NodeShape::Input),
            ],
            edges: vec![SvgEdge {
                from: 0,
                to: 1,
                label: label.to_owned(),
                dashed: true,
            }],
            groups: vec![SvgGroup {
                label: label.to_owned(),
                nodes: vec![0, 1],
            }],
            legend: vec![(label.to_owned(), "#ff0000")],
        }
    }

    #[test]
    fn text_is_escaped_and_the_document_is_xml() {
        let svg = render(&graph("<script>alert(\"&\")</script>"));
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(
            svg.contains("&lt;script&gt;alert(&quot;&amp;&quot;)&lt;/script&gt;"),
            "{svg}"
        );
        let doc = roxmltree::Document::parse(&svg).unwrap();
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        assert!(svg.contains("stroke-dasharray=\"5,4\""));
        assert!(svg.contains("<polygon"));
    }
}
