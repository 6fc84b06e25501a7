//! Switch: the first case whose expression is true, else the default: it runs as an If
//! ([`super::if_node`]), as it is compiled.

use super::super::program::Builder;
use super::{Kind, if_node};
use crate::template::model::Branch;

pub(super) fn build<'a>(
    b: &mut Builder<'a, '_>,
    branches: &'a [Branch],
    default: &Option<String>,
) -> Kind<'a> {
    Kind::If(if_node::resolve(b, branches, default))
}
