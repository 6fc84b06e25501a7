//! Flow (a call of a common module): runs the module in its own variable scope, its inputs
//! evaluated in the caller; on the module's End the call returns here and the module's
//! outputs are copied back (the explicit mapping, else every module output to the same
//! name). A module that is not available is an error (callCommonModule has no failure
//! path, so onError is not followed).

use super::super::LimitError;
use super::super::Prog;
use super::super::eval::{CExpr, EvalError, V, Vars, eval};
use super::super::machine::{At, Frame, Machine, Step};
use super::super::program::Builder;
use super::Kind;
use crate::compile::effective_outputs;
use crate::template::expr::Expr;
use crate::template::model::{ModuleRef, VarRef, output_mapping};

pub(in crate::simulate) struct Call<'a> {
    /// The module's program, or why it cannot run.
    module: Result<usize, String>,
    /// (module slot, caller expression)
    inputs: Vec<(usize, CExpr<'a>)>,
    /// (module slot, caller slot)
    outputs: Vec<(usize, usize)>,
}

pub(super) fn build<'a>(
    b: &mut Builder<'a, '_>,
    module: &ModuleRef,
    inputs: &'a [(String, Expr)],
    outputs: &[(String, VarRef)],
) -> Kind<'a> {
    let target = match module {
        ModuleRef::Name(n) => b
            .module(n)
            .ok_or_else(|| format!("module {n:?} is not stored")),
        ModuleRef::Id(id) => Err(format!(
            "module flow id {id:?} cannot be simulated (name the template)"
        )),
    };
    let m = match target {
        Ok(m) => m,
        Err(e) => {
            return Kind::Call(Call {
                module: Err(e),
                inputs: Vec::new(),
                outputs: Vec::new(),
            });
        }
    };
    let ins = inputs
        .iter()
        .map(|(k, e)| (b.slot_in(m, k), b.expr(e)))
        .collect();
    let mapping = output_mapping(outputs, || effective_outputs(b.flow_of(m)).into_keys());
    let outs = mapping
        .iter()
        .map(|(k, v)| (b.slot_in(m, k), b.slot(v)))
        .collect();
    Kind::Call(Call {
        module: Ok(m),
        inputs: ins,
        outputs: outs,
    })
}

/// Enters the module: a new frame with its inputs, at its start node.
pub(super) fn step(
    m: &Machine<'_, '_>,
    at: At<'_, '_>,
    stack: &mut Vec<Frame>,
    cur: usize,
    k: &Call<'_>,
) -> Result<Step, LimitError> {
    let module = match &k.module {
        Err(e) => return Ok(Step::Fail(e.clone())),
        Ok(module) => *module,
    };
    let prog = &m.progs[module];
    let Some(start) = prog.start else {
        return Ok(Step::Fail("the module's start node does not exist".into()));
    };
    let mut frame = Frame::new(prog, module, Some(cur));
    let caller: &Vars = &stack[stack.len() - 1].vars;
    for (slot, e) in &k.inputs {
        match eval(e, caller, m.limits.max_value_bytes) {
            Ok(v) => frame.vars[*slot] = v.map(V::into_val),
            Err(EvalError::Fail(e)) => return Ok(Step::Fail(e)),
            Err(EvalError::TooLong(len)) => return Err(m.too_long(at, len)),
        }
    }
    stack.push(frame);
    Ok(Step::Go(start))
}

/// End semantics at `at`: returns from the module (its outputs copied to the caller) to
/// the Flow node's `next`, and from the caller's caller when that node has no exit; in
/// the entry flow, `Err` with the node where the call ends.
pub(in crate::simulate) fn return_to_caller<'p, 'a>(
    progs: &'p [Prog<'a>],
    stack: &mut Vec<Frame>,
    at: At<'p, 'a>,
) -> Result<usize, At<'p, 'a>> {
    let mut at = at;
    loop {
        if stack.len() == 1 {
            return Err(at);
        }
        let Some(frame) = stack.pop() else {
            return Err(at);
        };
        let call = frame.call_node.unwrap_or_default();
        let top = stack.len() - 1;
        let caller = &progs[stack[top].prog].nodes[call];
        if let Kind::Call(k) = &caller.kind {
            for (m, c) in &k.outputs {
                stack[top].vars[*c] = frame.vars[*m].clone();
            }
        }
        match caller.next {
            Some(n) => return Ok(n),
            None => {
                at = At {
                    prog: stack[top].prog,
                    node: caller,
                }
            }
        }
    }
}
