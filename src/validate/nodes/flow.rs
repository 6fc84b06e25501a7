//! Flow: call a common module by name (checked against the catalog) or by id, mapping
//! inputs from expressions and outputs to caller variables.

use serde_json::{Map, Value};

use super::NodeIn;
use crate::template::expr::Expr;
use crate::template::model::{ModuleRef, NodeKind, VarRef};
use crate::template::{Finding, ModuleInterface};
use crate::validate::rules::Rules;
use crate::validate::validator::{PNode, Typed, Validator, Write, at};

pub(super) const RULES: Rules = Rules {
    properties: &["flowName", "flowId", "inputs", "outputs", "timeoutSeconds"],
    accepts_silently: |key, value| matches!(key, "flowId" | "flowName") && value.is_null(),
    uncompiled_on_error: Some("callCommonModule"),
    leaves_loops: true,
    ..Rules::PLAIN
};

impl Validator<'_> {
    pub(super) fn flow_call(&mut self, n: NodeIn<'_>) -> Option<NodeKind> {
        let NodeIn { props, pat, p, .. } = n;
        if n.is_module {
            self.error_hint(
                "module_calls_module",
                p.at.clone(),
                format!(
                    "module node '{}' calls another flow; Genesys modules cannot call modules",
                    p.key
                ),
                "move the call into the inbound flow, or copy the logic into this module",
            );
        }
        let module = self.module_ref(props, pat);
        let iface: Option<ModuleInterface> = match &module {
            Some(ModuleRef::Name(n)) => self.catalog.module(n),
            _ => None,
        };
        if let Some(m) = &iface
            && m.calls_modules
        {
            self.error_hint(
                "module_calls_module",
                at(pat, "flowName"),
                format!(
                    "module '{}' itself calls modules; Genesys modules cannot call modules",
                    m.name
                ),
                "remove the Flow nodes from that module",
            );
        }
        if props.get("timeoutSeconds").is_some_and(|v| !v.is_null()) {
            self.findings.push(
                Finding::warning(
                    "flow_timeout_ignored",
                    at(pat, "timeoutSeconds"),
                    "Genesys has no timeout for calling a common module; timeoutSeconds is ignored",
                )
                .with_hint("remove timeoutSeconds"),
            );
        }
        let timeout_seconds = self.opt_seconds(props, "timeoutSeconds", pat);
        let inputs = self.module_inputs(props, pat, p, iface.as_ref());
        let outputs = self.module_outputs(props, pat, p, iface.as_ref(), module.as_ref());
        Some(NodeKind::CallModule {
            module: module?,
            inputs: inputs?,
            outputs: outputs?,
            timeout_seconds,
        })
    }

    /// Exactly one of `flowName` and `flowId`.
    fn module_ref(&mut self, props: &Map<String, Value>, pat: &str) -> Option<ModuleRef> {
        let named = self.one_of(
            props,
            pat,
            ["flowName", "flowId"],
            ("Flow", "invalid_flow_reference"),
            "name the module template in flowName",
        )?;
        Some(named.map_or_else(ModuleRef::Id, ModuleRef::Name))
    }

    /// `inputs: {moduleVar: expression}`, checked against the module's inputs when it is
    /// known; `None` when any is unusable.
    fn module_inputs(
        &mut self,
        props: &Map<String, Value>,
        pat: &str,
        p: &mut PNode,
        iface: Option<&ModuleInterface>,
    ) -> Option<Vec<(String, Expr)>> {
        let iat = at(pat, "inputs");
        let Some(o) = self.object_prop(props, "inputs", &iat, "{moduleVar: expression}")? else {
            return Some(Vec::new());
        };
        let mut ok = true;
        let mut inputs = Vec::new();
        for (mv, e) in o {
            let eat = at(&iat, mv);
            ok &= self.var_name(mv, &eat, "module input");
            if let Some(m) = iface
                && !m.inputs.contains_key(mv)
            {
                self.unknown_module_var(m, "input", mv, &eat);
            }
            let parsed = self.value_expr(e, &eat, "a module input must be an expression string");
            match parsed {
                Some(e) => {
                    self.expr_reads(&e, &eat, p, 0);
                    if let Some(t) = iface.and_then(|m| m.inputs.get(mv)) {
                        p.typed.push(Typed {
                            expr: e.clone(),
                            at: eat.clone(),
                            want: *t,
                            what: "the module input",
                        });
                    }
                    inputs.push((mv.clone(), e));
                }
                None => ok = false,
            }
        }
        ok.then_some(inputs)
    }

    /// `outputs: {moduleVar: callerVar}`, or without it every output of a known module into
    /// the variable of the same name; each a write on the success exit. `None` when any is
    /// unusable.
    fn module_outputs(
        &mut self,
        props: &Map<String, Value>,
        pat: &str,
        p: &mut PNode,
        iface: Option<&ModuleInterface>,
        module: Option<&ModuleRef>,
    ) -> Option<Vec<(String, VarRef)>> {
        let oat = at(pat, "outputs");
        let Some(o) = self.object_prop(props, "outputs", &oat, "{moduleVar: callerVar}")? else {
            return Some(self.implicit_outputs(p, iface, module));
        };
        let mut ok = true;
        let mut outputs = Vec::new();
        for (mv, cv) in o {
            let mat = at(&oat, mv);
            ok &= self.var_name(mv, &mat, "module output");
            let ty = iface.and_then(|m| self.module_output_type(m, mv, &mat));
            match cv {
                Value::String(c) => {
                    if self.var_name(c, &mat, "caller variable") {
                        outputs.push((mv.clone(), VarRef(c.clone())));
                        p.success_writes.push(Write {
                            var: VarRef(c.clone()),
                            ty,
                            at: mat,
                        });
                    } else {
                        ok = false;
                    }
                }
                v => {
                    self.wrong_type(&mat, "an output mapping must name a caller variable", v);
                    ok = false;
                }
            }
        }
        ok.then_some(outputs)
    }

    /// Without an `outputs` mapping: each output of a known module into the variable of the
    /// same name; for an unknown module, the call is marked unverified.
    fn implicit_outputs(
        &mut self,
        p: &mut PNode,
        iface: Option<&ModuleInterface>,
        module: Option<&ModuleRef>,
    ) -> Vec<(String, VarRef)> {
        let mut outputs = Vec::new();
        match iface {
            Some(m) => {
                for (mv, t) in &m.outputs {
                    outputs.push((mv.clone(), VarRef(mv.clone())));
                    p.success_writes.push(Write {
                        var: VarRef(mv.clone()),
                        ty: Some(*t),
                        at: p.at.clone(),
                    });
                }
            }
            None => {
                p.unverified_call = Some(match module {
                    Some(ModuleRef::Name(n)) => format!("'{n}'"),
                    Some(ModuleRef::Id(i)) => format!("with id '{i}'"),
                    None => "?".into(),
                });
            }
        }
        outputs
    }

    /// The type of module output `mv` (mapped at `mat`), with a finding when the module has
    /// no such output.
    fn module_output_type(
        &mut self,
        m: &ModuleInterface,
        mv: &str,
        mat: &str,
    ) -> Option<crate::template::model::VarType> {
        let t = m.outputs.get(mv).copied();
        if t.is_none() {
            self.unknown_module_var(m, "output", mv, mat);
        }
        t
    }

    /// Module `m` has no `what` (`input` or `output`) `mv` (at `mat`): a finding that names
    /// those it has.
    fn unknown_module_var(&mut self, m: &ModuleInterface, what: &str, mv: &str, mat: &str) {
        let vars = if what == "input" {
            &m.inputs
        } else {
            &m.outputs
        };
        let known: Vec<&str> = vars.keys().map(String::as_str).collect();
        self.error_hint(
            &format!("unknown_module_{what}"),
            mat.to_owned(),
            format!("module '{}' has no {what} '{mv}'", m.name),
            if known.is_empty() {
                format!("the module has no {what}s")
            } else {
                format!("its {what}s: {}", known.join(", "))
            },
        );
    }
}
