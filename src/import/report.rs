//! What an import made of each action: its node, and whether flowsmith models the action
//! (a native node) or keeps it as written (an `Archy` node).

use serde::Serialize;
use utoipa::ToSchema;

/// One action of the file and the node it became.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Mapped {
    /// Pointer to the action in the YAML (`/inboundCall/tasks/0/task/actions/2`).
    pub pointer: String,
    /// The Archy action type (`playAudio`, `setScreenPop`, ...).
    pub action: String,
    /// The node id (`None` for a `jumpToTask`, which became an edge).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The node type (`Say`, `Archy`, ...; `edge` for a jump).
    pub node_type: String,
}

/// Per file: how many actions became native nodes and which were kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, ToSchema)]
pub struct Report {
    pub file: String,
    /// Actions in the file.
    pub actions: usize,
    /// Actions that became a node flowsmith models (or an edge: jumps).
    pub native: usize,
    /// Actions kept as written (`Archy` nodes).
    pub kept: usize,
    pub mapped: Vec<Mapped>,
}

impl Report {
    pub(super) fn add(&mut self, m: Mapped) {
        self.actions += 1;
        if m.node_type == "Archy" {
            self.kept += 1;
        } else {
            self.native += 1;
        }
        self.mapped.push(m);
    }

    /// The share of actions that became native nodes, in percent (100 for no actions).
    pub fn native_percent(&self) -> f64 {
        if self.actions == 0 {
            return 100.0;
        }
        #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
        let share = self.native as f64 * 100.0 / self.actions as f64;
        share
    }
}
