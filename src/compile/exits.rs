//! Exits of a node: which document field each is, and the shapes several node kinds share
//! (a leaf: the kinds in [`super::nodes`] use it).

use super::structure::Shape;
use crate::template::model::Node;

/// Which exit of a node an edge is (for pointers into the document).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitField {
    /// `onComplete.nextNode` (a Route: its failure path, `onError` else `onComplete`).
    Next,
    /// `onError.nextNode` (or the seed's `onComplete.onError`).
    OnError,
    /// `properties.conditions[k].nextNode`.
    Condition(usize),
    /// `properties.defaultNextNode`.
    Default,
}

/// A node with one exit, `onComplete`, that its action falls through to.
pub(super) fn linear_next(n: &Node) -> (Shape, Vec<Option<&str>>) {
    (Shape::Linear, vec![n.next.as_deref()])
}

/// A transfer: when it fails, the next action runs, so its one exit is the failure path
/// (`onError`, else `onComplete`).
pub(super) fn linear_failure_path(n: &Node) -> (Shape, Vec<Option<&str>>) {
    (
        Shape::Linear,
        vec![n.on_error.as_deref().or(n.next.as_deref())],
    )
}
