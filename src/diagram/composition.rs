//! The composition of a target: its flows (recorded ones, and stored templates never
//! deployed there), which modules each calls, and each one's state in the org — as JSON, or
//! drawn as SVG with one colour per state.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::svg::{NodeShape, SvgEdge, SvgGraph, SvgGroup, SvgNode, render};
use crate::template::FlowType;

/// Where a flow stands in the target's org.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeployState {
    /// The org publishes what flowsmith recorded.
    InSync,
    /// The org publishes another version (published outside flowsmith), or has a flow of
    /// that name that flowsmith never recorded.
    Drifted,
    /// flowsmith recorded it, and it is gone from the org.
    Deleted,
    /// A stored template with no flow in this target.
    NeverDeployed,
    /// An open step of a queued or running job deploys it now.
    Deploying,
}

impl DeployState {
    pub const ALL: [DeployState; 5] = [
        DeployState::InSync,
        DeployState::Drifted,
        DeployState::Deleted,
        DeployState::NeverDeployed,
        DeployState::Deploying,
    ];

    pub fn label(self) -> &'static str {
        match self {
            DeployState::InSync => "in sync",
            DeployState::Drifted => "drifted",
            DeployState::Deleted => "deleted",
            DeployState::NeverDeployed => "never deployed",
            DeployState::Deploying => "deploying",
        }
    }

    pub fn colour(self) -> &'static str {
        match self {
            DeployState::InSync => "#bfe8c8",
            DeployState::Drifted => "#ffd97a",
            DeployState::Deleted => "#f4a9a9",
            DeployState::NeverDeployed => "#e4e4e4",
            DeployState::Deploying => "#b9d5ff",
        }
    }
}

/// One flow of a target.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ComposedFlow {
    /// The Genesys flow name.
    pub name: String,
    #[serde(rename = "type")]
    pub flow_type: FlowType,
    /// The template it is (or would be) made from.
    pub template: String,
    pub state: DeployState,
    /// The flow names of the modules it calls.
    pub calls: Vec<String>,
}

/// `GET /v1/targets/{target}/composition`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Composition {
    pub target: String,
    /// When the org was read.
    pub checked_at: String,
    /// Callers first, then modules; by name.
    pub flows: Vec<ComposedFlow>,
}

/// The composition as SVG: callers above the modules they call, each flow filled with its
/// state's colour and linking to `link(flow)`.
pub fn render_svg(c: &Composition, link: &dyn Fn(&ComposedFlow) -> Option<String>) -> String {
    let index: std::collections::HashMap<&str, usize> = c
        .flows
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.as_str(), i))
        .collect();
    let nodes = c
        .flows
        .iter()
        .map(|f| SvgNode {
            lines: vec![
                f.name.clone(),
                format!("{} · {}", f.flow_type.as_str(), f.state.label()),
            ],
            title: format!(
                "{} ({} from template {}): {}",
                f.name,
                f.flow_type.as_str(),
                f.template,
                f.state.label()
            ),
            shape: match f.flow_type {
                FlowType::Module => NodeShape::Call,
                FlowType::Inbound => NodeShape::Step,
            },
            fill: f.state.colour(),
            href: link(f),
            kind: f.flow_type.as_str().to_owned(),
        })
        .collect();
    let edges = c
        .flows
        .iter()
        .enumerate()
        .flat_map(|(i, f)| {
            f.calls
                .iter()
                .filter_map(|m| index.get(m.as_str()))
                .map(move |&to| SvgEdge {
                    from: i,
                    to,
                    label: "calls".into(),
                    dashed: false,
                })
        })
        .collect();
    render(&SvgGraph {
        title: format!("Composition of target {}", c.target),
        nodes,
        edges,
        groups: vec![SvgGroup {
            label: format!("{} (checked {})", c.target, c.checked_at),
            nodes: (0..c.flows.len()).collect(),
        }],
        legend: DeployState::ALL
            .iter()
            .map(|s| (s.label().to_owned(), s.colour()))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_flow_is_drawn_in_its_state_colour_with_its_calls() {
        let flow = |name: &str, t, state, calls: &[&str]| ComposedFlow {
            name: name.into(),
            flow_type: t,
            template: name.into(),
            state,
            calls: calls.iter().map(|c| (*c).to_owned()).collect(),
        };
        let c = Composition {
            target: "sandbox & <co>".into(),
            checked_at: "now".into(),
            flows: vec![
                flow("Line_A", FlowType::Inbound, DeployState::InSync, &["Mod"]),
                flow(
                    "Line_B",
                    FlowType::Inbound,
                    DeployState::Deploying,
                    &["Mod", "Gone"],
                ),
                flow("Mod", FlowType::Module, DeployState::Drifted, &[]),
            ],
        };
        let svg = render_svg(&c, &|f| Some(format!("#/templates/{}", f.template)));
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let fills: Vec<&str> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("node"))
            .filter_map(|g| g.descendants().find_map(|r| r.attribute("fill")))
            .collect();
        assert_eq!(fills, ["#bfe8c8", "#b9d5ff", "#ffd97a"]);
        let edges = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("edge"));
        assert_eq!(
            edges.count(),
            2,
            "a call of a flow not in the target is not drawn"
        );
        assert!(svg.contains("sandbox &amp; &lt;co&gt;"));
        assert!(svg.contains("href=\"#/templates/Mod\""));
        for s in DeployState::ALL {
            assert!(svg.contains(&format!(">{}<", s.label())), "legend {s:?}");
        }
    }
}
