//! The flow's variables: every variable it declares or touches (each node kind says what
//! it reads and writes in [`super::nodes`]), the loop counters, and their declarations.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::graph::collect_loops;
use super::structure;
use super::yaml::{self, Y};
use super::{CompileError, Compiler, canonical, effective_outputs, no_value, nodes, sanitize};
use crate::template::model::{FlowType, VarType};

/// Fails when two names sanitise to the same Genesys name.
fn refuse_collisions(types: &BTreeMap<String, VarType>) -> Result<(), CompileError> {
    let mut seen: HashMap<String, &str> = HashMap::with_capacity(types.len());
    for k in types.keys() {
        let s = sanitize(k);
        if let Some(prev) = seen.insert(s.clone(), k) {
            return Err(CompileError::NameCollision {
                kind: "variable",
                first: prev.to_owned(),
                second: k.clone(),
                sanitized: s,
            });
        }
    }
    Ok(())
}

impl Compiler<'_> {
    /// Every variable the flow declares or touches, by canonical name, with its type; fails
    /// on sanitising collisions. A variable is a string unless something gives it a type
    /// (the last type given wins).
    pub(super) fn collect_variables(&mut self) -> Result<(), CompileError> {
        let f = self.flow;
        let mut types: BTreeMap<String, VarType> = BTreeMap::new();
        let mut add = |name: &str, ty: Option<VarType>| {
            let e = types
                .entry(canonical(name).into_owned())
                .or_insert(VarType::String);
            if let Some(t) = ty {
                *e = t;
            }
        };
        for (i, n) in self.nodes.iter().enumerate() {
            nodes::reads(n, &mut |v| add(v, None));
            nodes::writes(self, i, &mut add);
        }
        // A `menus` entry stores no digits, whatever the flow's interface lists.
        let menu_digits: HashSet<String> = self
            .menus
            .keys()
            .map(|&i| format!("{}_digits", self.nodes[i].id))
            .collect();
        for (k, t) in f.inputs.iter().chain(&f.outputs).chain(&f.variables) {
            if !menu_digits.contains(k) {
                add(k, Some(*t));
            }
        }
        if self.ty == FlowType::Module {
            for (k, t) in effective_outputs(f) {
                add(&k, Some(t));
            }
        }
        refuse_collisions(&types)?;
        self.types = types;
        Ok(())
    }

    /// Declares the `currentIndex` variable of every loop (`<header>_loop`, integer).
    pub(super) fn declare_loop_vars(
        &mut self,
        s: &structure::Structured,
    ) -> Result<(), CompileError> {
        let mut headers = Vec::new();
        for (_, b) in &s.tasks {
            collect_loops(b, &mut headers);
        }
        headers.sort_unstable();
        headers.dedup();
        for h in headers {
            let name = format!("{}_loop", self.ref_ids[h]);
            let san = sanitize(&name);
            if let Some(k) = self.types.keys().find(|k| sanitize(k) == san) {
                return Err(CompileError::NameCollision {
                    kind: "variable",
                    first: k.clone(),
                    second: format!("{name} (the loop counter of node {:?})", self.nodes[h].id),
                    sanitized: san,
                });
            }
            self.types.insert(name.clone(), VarType::Integer);
            self.loop_vars.insert(h, name);
        }
        Ok(())
    }

    /// The `variables` declarations (a module marks its inputs and outputs).
    pub(super) fn variables(&self) -> Vec<Y> {
        let names = self.names();
        let outputs = if self.ty == FlowType::Module {
            effective_outputs(self.flow)
        } else {
            BTreeMap::new()
        };
        let kept = nodes::declared_kinds(&self.nodes);
        self.types
            .iter()
            .map(|(k, t)| {
                let kind = match (kept.get(k), t) {
                    (Some(kept), _) => kept.as_str(),
                    (None, VarType::String) => "stringVariable",
                    (None, VarType::Integer) => "integerVariable",
                    (None, VarType::Boolean) => "booleanVariable",
                };
                let mut e: Vec<(yaml::Key, Y)> = vec![
                    ("name".into(), Y::s(names.var_name(k))),
                    (
                        "initialValue".into(),
                        self.flow
                            .initial_values
                            .get(k)
                            .map_or_else(no_value, nodes::archy::to_y),
                    ),
                ];
                if self.ty == FlowType::Module {
                    e.push(("isInput".into(), Y::Bool(self.flow.inputs.contains_key(k))));
                    e.push(("isOutput".into(), Y::Bool(outputs.contains_key(k))));
                }
                Y::one(kind.to_owned(), Y::Map(e))
            })
            .collect()
    }
}
