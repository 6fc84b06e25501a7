//! What every node is checked for whatever its type: its id, its type, its properties
//! against the type's list, and its exits (onComplete, onError and a type's extra exit).
//! What differs by type comes from the type's [`Rules`] and parser in [`super::nodes`].

use serde_json::{Map, Value};

use super::nodes::{self, NODE_TYPES};
use super::rules::Rules;
use super::validator::{PNode, Validator, at};
use crate::template::{Finding, pointer};

/// Longest node id accepted (node ids become Archy task reference ids).
const MAX_NODE_ID_LEN: usize = 100;

const NODE_FIELDS: &[&str] = &[
    "id",
    "type",
    "properties",
    "onComplete",
    "onError",
    "onTimeout",
    "onNotFound",
];

/// The node-level exit objects a type may take besides onComplete/onError, in the order
/// they are checked.
const EXTRA_EXITS: [&str; 2] = ["onTimeout", "onNotFound"];

/// The exits of a node as written: `onComplete.nextNode`, and the error exit from
/// `onError.nextNode` or the seed's `onComplete.onError`.
struct Exits {
    next: Option<(String, String)>,
    on_error: Option<(String, String)>,
}

impl Validator<'_> {
    pub(super) fn node(&mut self, key: &str, node: &Value, is_module: bool) -> Option<PNode> {
        let base = pointer(["draft", "nodes", key]);
        let Some(obj) = node.as_object() else {
            self.wrong_type(
                &base,
                "a node must be an object {id, type, properties, onComplete, onError}",
                node,
            );
            return None;
        };
        self.unknown_fields(obj, &base, NODE_FIELDS, "a node");
        self.node_id(key, obj, &base);
        let ty = self.node_type(key, obj, &base)?;
        let rules = nodes::rules(&ty);
        if is_module && rules.leaves_call {
            self.warning(
                "module_leaves_call",
                at(&base, "type"),
                crate::compile::unverified::module_leaves_call_warning(&ty),
            );
        }
        let exits = self.exits(obj, &base);
        let pat = at(&base, "properties");
        let props = self.properties(obj, &ty, rules, &pat);
        let mut p = PNode {
            key: key.to_owned(),
            at: base.clone(),
            ty: ty.clone(),
            kind: None,
            exits: Vec::new(),
            next: None,
            on_error: None,
            reads: Vec::new(),
            writes: Vec::new(),
            success_writes: Vec::new(),
            unverified_call: None,
            typed: Vec::new(),
        };
        let extra = self.type_exits(obj, &base, rules, exits, &mut p);
        p.kind = self.kind(&props, &pat, &mut p, is_module, extra);
        Some(p)
    }

    /// The node's key as an id, and its `id` field against the key.
    fn node_id(&mut self, key: &str, obj: &Map<String, Value>, base: &str) {
        if key.is_empty() || key.chars().count() > MAX_NODE_ID_LEN {
            self.error(
                "invalid_node_id",
                base.to_owned(),
                format!("node ids must have 1 to {MAX_NODE_ID_LEN} characters"),
            );
        } else if let Some(c) = key.chars().find(|c| c.is_control()) {
            self.error_hint(
                "invalid_node_id",
                base.to_owned(),
                format!("node id {key:?} contains the control character {c:?}"),
                "node ids become Archy action names and task ids: use printable characters",
            );
        }
        match obj.get("id") {
            None | Some(Value::Null) => self.error_hint(
                "missing_field",
                at(base, "id"),
                format!("node '{key}' has no id"),
                format!("add \"id\": \"{key}\""),
            ),
            Some(Value::String(id)) if id != key => self.error_hint(
                "id_mismatch",
                at(base, "id"),
                format!("node id '{id}' differs from its key '{key}'"),
                "the key in draft.nodes and the id must be equal",
            ),
            Some(Value::String(_)) => {}
            Some(v) => self.wrong_type(&at(base, "id"), "'id' must be a string", v),
        }
    }

    /// The node's type, one of [`NODE_TYPES`]; `None` (with a finding) otherwise.
    fn node_type(&mut self, key: &str, obj: &Map<String, Value>, base: &str) -> Option<String> {
        match obj.get("type") {
            Some(Value::String(t)) if NODE_TYPES.contains(&t.as_str()) => Some(t.clone()),
            Some(Value::String(t)) => {
                let hint = match NODE_TYPES.iter().find(|n| n.eq_ignore_ascii_case(t)) {
                    Some(n) => format!("did you mean '{n}'?"),
                    None => format!("node types: {}", NODE_TYPES.join(", ")),
                };
                self.error_hint(
                    "unknown_node_type",
                    at(base, "type"),
                    format!("unknown node type '{t}'"),
                    hint,
                );
                None
            }
            None | Some(Value::Null) => {
                self.error_hint(
                    "missing_field",
                    at(base, "type"),
                    format!("node '{key}' has no type"),
                    format!("node types: {}", NODE_TYPES.join(", ")),
                );
                None
            }
            Some(v) => {
                self.wrong_type(&at(base, "type"), "'type' must be a string", v);
                None
            }
        }
    }

    /// The node's `properties`, with a warning for each one its type does not take.
    fn properties(
        &mut self,
        obj: &Map<String, Value>,
        ty: &str,
        rules: &Rules,
        pat: &str,
    ) -> Map<String, Value> {
        let props = match obj.get("properties") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(p)) => p.clone(),
            Some(v) => {
                self.wrong_type(pat, "'properties' must be an object", v);
                Map::new()
            }
        };
        let allowed = rules.properties;
        for (k, v) in &props {
            if !allowed.contains(&k.as_str()) && !(rules.accepts_silently)(k, v) {
                self.findings.push(
                    Finding::warning(
                        "unknown_property",
                        at(pat, k),
                        format!("{ty} nodes have no property '{k}'; it is ignored"),
                    )
                    .with_hint(if allowed.is_empty() {
                        format!("{ty} nodes have no properties")
                    } else {
                        format!("{ty} properties: {}", allowed.join(", "))
                    }),
                );
            }
        }
        props
    }

    /// The node's exits as its type uses them, into `p`: warnings for exits the type
    /// ignores or cannot compile. Returns the target of the type's extra exit.
    fn type_exits(
        &mut self,
        obj: &Map<String, Value>,
        base: &str,
        rules: &Rules,
        mut exits: Exits,
        p: &mut PNode,
    ) -> Option<String> {
        let ty = p.ty.clone();
        if let Some(hint) = rules.ignores_exits {
            for (_, eat) in exits.next.iter().chain(&exits.on_error) {
                self.findings.push(
                    Finding::warning(
                        "ignored_exit",
                        eat.clone(),
                        format!("{ty} nodes do not use onComplete/onError; this exit is ignored"),
                    )
                    .with_hint(hint),
                );
            }
        }
        let keep_exits = rules.ignores_exits.is_none();
        if let (true, Some(action), Some((e, eat))) = (
            keep_exits,
            rules.uncompiled_on_error,
            exits.on_error.as_ref(),
        ) && exits.next.as_ref().map(|(n, _)| n) != Some(e)
        {
            self.findings.push(
                Finding::warning(
                    "on_error_not_compiled",
                    eat.clone(),
                    format!(
                        "Archy's {action} has no failure path: onError → '{e}' is not \
                             compiled; in Genesys an error here goes to the flow's error \
                             handling (a disconnect), and the simulator does the same"
                    ),
                )
                .with_hint("remove onError, or check the failing value first with an If"),
            );
        }
        if rules.ignores_on_complete
            && let Some((_, nat)) = exits.next.take()
        {
            self.findings.push(
                Finding::warning(
                    "ignored_exit",
                    nat,
                    format!("{ty} nodes leave by their choices and onError; onComplete is ignored"),
                )
                .with_hint("remove it"),
            );
        }
        let mut extra = None;
        for key in EXTRA_EXITS {
            if rules.extra_exit == Some(key) {
                extra = self.extra_exit(obj, key, base, p);
            } else if obj.get(key).is_some_and(|x| !x.is_null()) {
                self.warning(
                    "ignored_exit",
                    at(base, key),
                    format!("{ty} nodes have no {key} exit; it is ignored"),
                );
            }
        }
        if keep_exits {
            if let Some((t, tat)) = exits.next {
                p.exits.push((t.clone(), tat, false));
                p.next = Some(t);
            }
            if let Some((t, tat)) = exits.on_error {
                p.exits.push((t.clone(), tat, true));
                p.on_error = Some(t);
            }
        }
        extra
    }

    fn exit_field(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        base: &str,
    ) -> Option<(String, String)> {
        let p = at(base, key);
        self.opt_str(obj, key, base).map(|s| (s, p))
    }

    fn exits(&mut self, node: &Map<String, Value>, base: &str) -> Exits {
        let mut next = None;
        let mut err_a = None;
        let mut err_b = None;
        match node.get("onComplete") {
            None | Some(Value::Null) => {}
            Some(Value::Object(oc)) => {
                let ocat = at(base, "onComplete");
                self.unknown_fields(oc, &ocat, &["nextNode", "onError"], "onComplete");
                next = self.exit_field(oc, "nextNode", &ocat);
                err_a = self.exit_field(oc, "onError", &ocat);
            }
            Some(v) => self.wrong_type(
                &at(base, "onComplete"),
                "'onComplete' must be an object {nextNode, onError}",
                v,
            ),
        }
        match node.get("onError") {
            None | Some(Value::Null) => {}
            Some(Value::Object(oe)) => {
                let oeat = at(base, "onError");
                self.unknown_fields(oe, &oeat, &["nextNode"], "onError");
                err_b = self.exit_field(oe, "nextNode", &oeat);
            }
            Some(v) => self.wrong_type(
                &at(base, "onError"),
                "'onError' must be an object {nextNode}",
                v,
            ),
        }
        if let (Some((a, _)), Some((b, bat))) = (&err_a, &err_b)
            && a != b
        {
            self.error_hint(
                "conflicting_on_error",
                bat.clone(),
                format!("onError.nextNode is '{b}' but onComplete.onError is '{a}'"),
                "they mean the same exit: keep one of them",
            );
        }
        Exits {
            next,
            on_error: err_b.or(err_a),
        }
    }

    /// A node-level exit object such as `onTimeout: {nextNode}`.
    fn extra_exit(
        &mut self,
        node: &Map<String, Value>,
        key: &str,
        base: &str,
        p: &mut PNode,
    ) -> Option<String> {
        match node.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Object(o)) => {
                let eat = at(base, key);
                self.unknown_fields(o, &eat, &["nextNode"], key);
                let t = self.opt_str(o, "nextNode", &eat)?;
                p.exits.push((t.clone(), at(&eat, "nextNode"), true));
                Some(t)
            }
            Some(v) => {
                self.wrong_type(
                    &at(base, key),
                    &format!("'{key}' must be an object {{nextNode}}"),
                    v,
                );
                None
            }
        }
    }
}
