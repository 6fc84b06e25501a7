//! The value types the expression language and the flow model share: variable types,
//! variable references and interpolated text. A leaf below both [`super::expr`] (which parses
//! into them) and [`super::model`] (which holds them and re-exports them), so neither of the
//! two imports the other in a circle.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Variable and parameter types of the template language.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum VarType {
    String,
    Integer,
    Boolean,
}

impl VarType {
    pub fn parse(s: &str) -> Option<VarType> {
        match s {
            "string" => Some(VarType::String),
            "integer" => Some(VarType::Integer),
            "boolean" => Some(VarType::Boolean),
            _ => None,
        }
    }
}

/// Text with `{var}` and `{Node.digits}` interpolations.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Text(pub Vec<Segment>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    Var(VarRef),
}

impl Text {
    pub fn literal(s: impl Into<String>) -> Text {
        Text(vec![Segment::Literal(s.into())])
    }

    /// The variables this text reads.
    pub fn vars(&self) -> impl Iterator<Item = &VarRef> {
        self.0.iter().filter_map(|s| match s {
            Segment::Var(v) => Some(v),
            Segment::Literal(_) => None,
        })
    }
}

/// A variable reference. Gather results are flow variables named `<Node>_digits`, so
/// `{GatherInput.digits}` and `{GatherInput_digits}` name the same variable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VarRef(pub String);

impl VarRef {
    pub fn digits_of(node: &str) -> VarRef {
        VarRef(format!("{node}_digits"))
    }

    pub fn name(&self) -> &str {
        &self.0
    }
}
