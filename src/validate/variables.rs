//! Flow variables: who writes each and with what type, reads of variables nothing writes,
//! and the types of expressions once every variable's type is known.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::declarations::Decls;
use super::validator::{PNode, Validator, ty_name};
use crate::findings::did_you_mean_within;
use crate::template::model::{VarRef, VarType};
use crate::template::{Finding, FlowType};

/// What the variable checks found out.
pub(super) struct Variables {
    /// Each written or declared variable's type (the first one seen).
    pub(super) types: BTreeMap<String, VarType>,
    /// The variables a node writes or, in a module, an input sets.
    pub(super) written: BTreeSet<String>,
    /// A module's declared inputs (empty for an inbound flow).
    pub(super) module_inputs: Decls,
}

/// Type conflicts: (variable, first type, this type, this pointer, first pointer).
type Conflict = (String, VarType, VarType, String, String);

impl Validator<'_> {
    /// The variables' types and writers, with findings for a variable written with two
    /// types and for a module output that no node sets.
    pub(super) fn variables(
        &mut self,
        pnodes: &[PNode],
        flow_type: Option<FlowType>,
        inputs: Option<&Decls>,
        outputs: Option<&Decls>,
    ) -> Variables {
        let is_module = flow_type == Some(FlowType::Module);
        let mut types: BTreeMap<String, VarType> = BTreeMap::new();
        let mut type_at: HashMap<String, String> = HashMap::new();
        let mut conflicts: Vec<Conflict> = Vec::new();
        let mut note =
            |var: &str, ty: Option<VarType>, wat: &str, types: &mut BTreeMap<String, VarType>| {
                let ty = ty.unwrap_or(VarType::String);
                match types.get(var) {
                    Some(&old) if old != ty => conflicts.push((
                        var.to_owned(),
                        old,
                        ty,
                        wat.to_owned(),
                        type_at.get(var).cloned().unwrap_or_default(),
                    )),
                    Some(_) => {}
                    None => {
                        types.insert(var.to_owned(), ty);
                        type_at.insert(var.to_owned(), wat.to_owned());
                    }
                }
            };
        let module_inputs: Decls = if is_module {
            inputs.cloned().unwrap_or_default()
        } else {
            BTreeMap::new()
        };
        for (n, (t, dat)) in &module_inputs {
            note(n, Some(*t), dat, &mut types);
        }
        for p in pnodes {
            for w in p.writes.iter().chain(&p.success_writes) {
                note(w.var.name(), w.ty, &w.at, &mut types);
            }
        }
        let written: BTreeSet<String> = types.keys().cloned().collect();
        if let Some(outs) = outputs {
            for (n, (t, dat)) in outs {
                note(n, Some(*t), dat, &mut types);
            }
        }
        for (var, old, new, wat, first) in conflicts {
            self.error_hint(
                "variable_type_conflict",
                wat,
                format!(
                    "variable '{var}' is {} here but {} at {first}",
                    ty_name(new),
                    ty_name(old)
                ),
                "a flow variable has one type: rename one of them",
            );
        }
        if is_module && let Some(outs) = outputs {
            for (n, (_, dat)) in outs {
                if !written.contains(n) {
                    self.warning(
                        "output_never_set",
                        dat.clone(),
                        format!("output '{n}' is declared but no node of the module sets it"),
                    );
                }
            }
        }
        Variables {
            types,
            written,
            module_inputs,
        }
    }

    /// Reads of variables written nowhere: an error, or a warning when a called module
    /// that is not stored yet may write them.
    pub(super) fn undefined_reads(&mut self, pnodes: &[PNode], written: &BTreeSet<String>) {
        let unverified: Vec<&str> = pnodes
            .iter()
            .filter_map(|p| p.unverified_call.as_deref())
            .collect();
        let mut undefined = Vec::new();
        for p in pnodes {
            for r in &p.reads {
                if !written.contains(r.var.name()) {
                    undefined.push((r.var.name().to_owned(), r.at.clone()));
                }
            }
        }
        for (var, rat) in undefined {
            if !unverified.is_empty() {
                let mut mods: Vec<&str> = unverified.clone();
                mods.sort();
                mods.dedup();
                self.findings.push(
                    Finding::warning(
                        "unverified_variable",
                        rat,
                        format!(
                            "variable '{var}' is set by no node of this flow; written by module {}? it is not stored yet, so this cannot be checked",
                            mods.join(", ")
                        ),
                    )
                    .with_hint("store the module first, or map its output explicitly in the Flow node's outputs"),
                );
            } else {
                let hint = did_you_mean_within(
                    &var,
                    written.iter().map(String::as_str),
                    &mut self.hint_work,
                )
                .map(|k| format!("did you mean '{{{k}}}'?"))
                .unwrap_or_else(|| {
                    "set it with a Set node, or read a Gather result as {Node.digits}".into()
                });
                self.error_hint(
                    "undefined_variable",
                    rat,
                    format!(
                        "variable '{var}' is read but never set in this flow nor by a called module"
                    ),
                    hint,
                );
            }
        }
    }

    /// The type of each typed expression (If conditions, Set expressions, module inputs)
    /// against the type it must have.
    pub(super) fn expression_types(&mut self, pnodes: &[PNode], types: &BTreeMap<String, VarType>) {
        for p in pnodes {
            for t in &p.typed {
                let lookup = |v: &VarRef| types.get(v.name()).copied();
                match t.expr.infer_any(&lookup) {
                    Err(msg) => self.error("expression_type", t.at.clone(), msg),
                    Ok(Some(got)) if got != t.want => {
                        let code = if t.what == "Set" {
                            "set_type_mismatch"
                        } else {
                            "expression_type"
                        };
                        self.error(
                            code,
                            t.at.clone(),
                            format!(
                                "{} must be {}, but the expression is {}",
                                t.what_text(),
                                ty_name(t.want),
                                ty_name(got)
                            ),
                        );
                    }
                    Ok(_) => {}
                }
            }
        }
    }
}
