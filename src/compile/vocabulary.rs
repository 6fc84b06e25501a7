//! Archy actions for the IVR vocabulary of issue 10: menus, data actions, data table
//! look-ups, switch, participant data, schedule groups, voicemail and named prompts.

use super::Compiler;
use super::structure::Block;
use super::yaml::Y;
use crate::template::model::Node;

impl Compiler<'_> {
    /// The actions of a node of the IVR vocabulary, with its branches' blocks.
    pub(super) fn vocabulary(&mut self, n: &Node, blocks: &[Block], out: &mut Vec<Y>) {
        let _ = (n, blocks, out);
    }
}
