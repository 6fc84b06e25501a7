//! Flow (a call of a common module): `callCommonModule` (see
//! [`crate::compile::archy::call_common_module`]). A module cannot call a module;
//! a module named by flow id must be resolved. Archy's callCommonModule has no failure
//! path, so an onError is not compiled.

use std::collections::BTreeMap;

use crate::compile::expr;
use crate::compile::yaml::Y;
use crate::compile::{CompileError, Compiler, ModuleTarget, archy, canonical, no_value, sanitize};
use crate::template::expr::Expr;
use crate::template::model::{
    FlowType, ModuleRef, Node, NodeKind, VarRef, VarType, output_mapping,
};

/// Refuses a module that calls a module (Genesys modules cannot).
pub(in crate::compile) fn refuse_in_module(
    nodes: &[&Node],
    ty: FlowType,
) -> Result<(), CompileError> {
    if ty == FlowType::Module
        && let Some(n) = nodes
            .iter()
            .find(|n| matches!(n.kind, NodeKind::CallModule { .. }))
    {
        return Err(CompileError::ModuleCallsModule { node: n.id.clone() });
    }
    Ok(())
}

/// Refuses a call of a flow id that was not resolved (before anything is emitted).
pub(in crate::compile) fn refuse_unresolved_ids(c: &Compiler<'_>) -> Result<(), CompileError> {
    for n in &c.nodes {
        if let NodeKind::CallModule {
            module: ModuleRef::Id(id),
            ..
        } = &n.kind
            && c.module_target(&ModuleRef::Id(id.clone())).is_none()
        {
            return Err(CompileError::UnresolvedModuleId {
                node: n.id.clone(),
                flow_id: id.clone(),
            });
        }
    }
    Ok(())
}

pub(super) fn reads(inputs: &[(String, Expr)], f: &mut dyn FnMut(&str)) {
    for (_, e) in inputs {
        expr::vars(e, f);
    }
}

/// The caller variables the module's outputs land in: the explicit mapping, else every
/// output of the module under its own name; typed by the module's interface when known.
pub(super) fn writes(
    c: &Compiler<'_>,
    module: &ModuleRef,
    outputs: &[(String, VarRef)],
    w: &mut dyn FnMut(&str, Option<VarType>),
) {
    let target = c.module_target(module);
    let mapped = output_mapping(outputs, || {
        target.into_iter().flat_map(|t| t.outputs.keys().cloned())
    });
    for (m, v) in mapped {
        w(&v, target.and_then(|t| t.outputs.get(&m).copied()));
    }
}

pub(super) fn emit(c: &mut Compiler<'_>, n: &Node, out: &mut Vec<Y>) {
    // `timeout_seconds` is not compiled: Genesys has no timeout on a module call (the
    // validator's `flow_timeout_ignored` says so).
    let NodeKind::CallModule {
        module,
        inputs,
        outputs,
        ..
    } = &n.kind
    else {
        return;
    };
    // Unresolved flow ids were refused in `Compiler::new`.
    if let Ok(action) = call_module(c, n, module, inputs, outputs) {
        out.push(action);
    }
}

/// The flow name of the called module (warning when it is not known).
fn flow_name(
    c: &mut Compiler<'_>,
    n: &Node,
    module: &ModuleRef,
    target: Option<&ModuleTarget>,
) -> Result<String, CompileError> {
    match (module, target) {
        (_, Some(t)) => Ok(t.flow_name.clone()),
        (ModuleRef::Id(id), None) => Err(CompileError::UnresolvedModuleId {
            node: n.id.clone(),
            flow_id: id.clone(),
        }),
        (ModuleRef::Name(name), None) => {
            c.warn(
                "module_unresolved",
                &n.id,
                "properties",
                format!(
                    "module {name:?} is not known: its template name is used as the flow \
                     name and only the explicit output mapping is compiled"
                ),
            );
            Ok(name.clone())
        }
    }
}

fn call_module(
    c: &mut Compiler<'_>,
    n: &Node,
    module: &ModuleRef,
    inputs: &[(String, Expr)],
    outputs: &[(String, VarRef)],
) -> Result<Y, CompileError> {
    let target = c.module_target(module);
    let flow_name = flow_name(c, n, module, target)?;
    let module_prefix = archy::var_prefix(FlowType::Module);
    let caller = c.names();
    let mut ins: BTreeMap<String, Y> = BTreeMap::new();
    if let Some(t) = target {
        for k in t.inputs.keys() {
            ins.insert(format!("{module_prefix}{}", sanitize(k)), no_value());
        }
    }
    for (k, e) in inputs {
        ins.insert(
            format!("{module_prefix}{}", sanitize(k)),
            Y::one("exp", Y::s(caller.expr(e))),
        );
    }
    let mut outs: BTreeMap<String, Y> = BTreeMap::new();
    if outputs.is_empty() {
        for k in target.iter().flat_map(|t| t.outputs.keys()) {
            outs.insert(
                format!("{module_prefix}{}", sanitize(k)),
                Y::one("var", Y::s(caller.var_name(k))),
            );
        }
    } else {
        for (m, v) in outputs {
            outs.insert(
                format!("{module_prefix}{}", sanitize(&canonical(m))),
                Y::one("var", Y::s(caller.var(v))),
            );
        }
    }
    Ok(archy::call_common_module(
        &n.id,
        &flow_name,
        ins.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        outs.into_iter().map(|(k, v)| (k.into(), v)).collect(),
    ))
}
