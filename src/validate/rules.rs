//! The rules by which the shared node checks ([`super::node`]) treat a node type, declared
//! by each type's file in [`super::nodes`].

use serde_json::Value;

/// What the shared node checks need to know about a node type. Each type's file in
/// [`super::nodes`] declares its own.
pub(super) struct Rules {
    /// The properties the type takes; any other is warned about and ignored.
    pub(super) properties: &'static [&'static str],
    /// Properties of the seed that are accepted silently (and ignored): key and value.
    pub(super) accepts_silently: fn(&str, &Value) -> bool,
    /// The Archy action of a type whose onError cannot be compiled (the action has no
    /// failure output).
    pub(super) uncompiled_on_error: Option<&'static str>,
    /// The type does not use onComplete/onError: the hint of the `ignored_exit` warning.
    pub(super) ignores_exits: Option<&'static str>,
    /// The type leaves by its own exits and onError, so onComplete is ignored.
    pub(super) ignores_on_complete: bool,
    /// The node-level exit object the type takes (`onTimeout` or `onNotFound`).
    pub(super) extra_exit: Option<&'static str>,
    /// The call ends or leaves the flow here: the node needs no exit.
    pub(super) terminal: bool,
    /// A loop through such a node can be left: it takes input, or calls a module that may.
    pub(super) leaves_loops: bool,
    /// In a module, the node leaves the call (`module_leaves_call`).
    pub(super) leaves_call: bool,
}

impl Rules {
    /// A type with no properties and no special exits.
    pub(super) const PLAIN: Rules = Rules {
        properties: &[],
        accepts_silently: |_, _| false,
        uncompiled_on_error: None,
        ignores_exits: None,
        ignores_on_complete: false,
        extra_exit: None,
        terminal: false,
        leaves_loops: false,
        leaves_call: false,
    };
}
