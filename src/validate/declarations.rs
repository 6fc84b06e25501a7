//! A module's declared `inputs` and `outputs` (`{name: {type, description}}`), and their
//! absence on an inbound flow.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::validator::{Validator, at};
use crate::template::model::VarType;
use crate::template::pointer;

/// Declared variables: name to type and the pointer of the declaration.
pub(super) type Decls = BTreeMap<String, (VarType, String)>;

impl Validator<'_> {
    /// `{name: {type}}` declarations of module inputs/outputs.
    pub(super) fn var_decls(&mut self, doc: &Map<String, Value>, key: &str) -> Option<Decls> {
        let raw = doc.get(key)?;
        let base = pointer([key]);
        let Some(obj) = raw.as_object() else {
            if !raw.is_null() {
                self.wrong_type(
                    &base,
                    &format!("'{key}' must be an object {{name: {{type}}}}"),
                    raw,
                );
            }
            return None;
        };
        let mut out = BTreeMap::new();
        for (name, decl) in obj {
            let dat = at(&base, name);
            self.var_name(name, &dat, &format!("{key} variable"));
            let ty = match decl {
                Value::Object(d) => self.var_decl(d, &dat),
                v => {
                    self.wrong_type(&dat, "a variable declaration must be an object {type}", v);
                    VarType::String
                }
            };
            out.insert(name.clone(), (ty, dat));
        }
        Some(out)
    }

    /// One declaration `{type, description}` (at `dat`): its type, string by default.
    fn var_decl(&mut self, d: &Map<String, Value>, dat: &str) -> VarType {
        self.unknown_fields(d, dat, &["type", "description"], "a variable declaration");
        self.opt_str(d, "description", dat);
        match d.get("type") {
            Some(Value::String(t)) => match VarType::parse(t) {
                Some(t) => t,
                None => {
                    self.error_hint(
                        "invalid_value",
                        at(dat, "type"),
                        format!("unknown variable type '{t}'"),
                        "use string, integer or boolean",
                    );
                    VarType::String
                }
            },
            None | Some(Value::Null) => VarType::String,
            Some(v) => {
                self.wrong_type(&at(dat, "type"), "'type' must be a string", v);
                VarType::String
            }
        }
    }

    /// An inbound flow declares neither inputs nor outputs.
    pub(super) fn io_on_inbound(&mut self, obj: &Map<String, Value>) {
        for key in ["inputs", "outputs"] {
            if obj.get(key).is_some_and(|v| !v.is_null()) {
                self.error_hint(
                    "inputs_on_inbound",
                    pointer([key]),
                    format!("an inbound flow cannot declare {key}"),
                    "use \"type\": \"module\" for a flow that other flows call",
                );
            }
        }
    }
}
