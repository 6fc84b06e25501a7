//! DataAction: evaluates its inputs (as Genesys does before the call), then takes the
//! org's next answer for the action: outputs set the mapped variables and go to `next`;
//! an error takes onError; a timeout takes onTimeout, else onError. An action the org
//! lacks is an error.

use super::super::LimitError;
use super::super::eval::{CSeg, json_val};
use super::super::machine::{Cx, Step};
use super::super::program::Builder;
use super::Kind;
use crate::calls::DataActionAnswer;
use crate::template::model::{Text, VarRef};

pub(in crate::simulate) struct DataAction<'a> {
    /// `Integration/Action`, as the org's `data_actions` names it.
    key: String,
    inputs: Vec<Vec<CSeg<'a>>>,
    outputs: Vec<(&'a str, usize)>,
    on_timeout: Option<usize>,
}

pub(super) fn build<'a>(
    b: &mut Builder<'a, '_>,
    integration: &str,
    action: &str,
    inputs: &'a [(String, Text)],
    outputs: &'a [(String, VarRef)],
    on_timeout: &Option<String>,
) -> Kind<'a> {
    Kind::DataAction(DataAction {
        key: format!("{integration}/{action}"),
        inputs: inputs.iter().map(|(_, t)| b.text(t)).collect(),
        outputs: outputs
            .iter()
            .map(|(k, v)| (k.as_str(), b.slot(v.name())))
            .collect(),
        on_timeout: b.at(on_timeout),
    })
}

pub(super) fn step(cx: &mut Cx<'_, '_, '_>, k: &DataAction<'_>) -> Result<Step, LimitError> {
    let key = &k.key;
    // Inputs are evaluated (as Genesys does before the call) but the simulated answer
    // does not depend on them.
    for t in &k.inputs {
        cx.text(t)?;
    }
    Ok(match cx.m.answer(key) {
        None => Step::Fail(format!(
            "data action {key:?} is not in the simulation's org.data_actions"
        )),
        Some(DataActionAnswer::Outputs { outputs: got }) => {
            cx.line(Some(format!("{key}: success")), None)?;
            for (name, slot) in &k.outputs {
                cx.vars[*slot] = got.get(*name).and_then(json_val);
            }
            cx.at.next()
        }
        Some(DataActionAnswer::Error { error }) => {
            cx.line(Some(format!("{key}: failure: {error}")), None)?;
            cx.at.on_error()
        }
        Some(DataActionAnswer::Timeout { .. }) => {
            cx.line(Some(format!("{key}: timeout")), None)?;
            k.on_timeout
                .or(cx.at.node.on_error)
                .map_or(Step::End, Step::Go)
        }
    })
}
