//! TableLookup: the row of the table with the key: its columns set the mapped variables
//! and go to `next`; no such row takes onNotFound (else End semantics). A table the org
//! lacks is an error.

use super::super::LimitError;
use super::super::eval::{CSeg, json_val};
use super::super::machine::{Cx, Step};
use super::super::program::Builder;
use super::Kind;
use crate::template::model::{Text, VarRef};

pub(in crate::simulate) struct TableLookup<'a> {
    table: &'a str,
    key: Vec<CSeg<'a>>,
    outputs: Vec<(&'a str, usize)>,
    on_not_found: Option<usize>,
}

pub(super) fn build<'a>(
    b: &mut Builder<'a, '_>,
    table: &'a str,
    key: &'a Text,
    outputs: &'a [(String, VarRef)],
    on_not_found: &Option<String>,
) -> Kind<'a> {
    Kind::TableLookup(TableLookup {
        table,
        key: b.text(key),
        outputs: outputs
            .iter()
            .map(|(k, v)| (k.as_str(), b.slot(v.name())))
            .collect(),
        on_not_found: b.at(on_not_found),
    })
}

pub(super) fn step(cx: &mut Cx<'_, '_, '_>, k: &TableLookup<'_>) -> Result<Step, LimitError> {
    let org = cx.m.org;
    let key = cx.text(&k.key)?;
    let table = k.table;
    Ok(match org.data_tables.get(table) {
        None => Step::Fail(format!(
            "data table {table:?} is not in the simulation's org.data_tables"
        )),
        Some(rows) => match rows.get(key) {
            Some(row) => {
                for (col, slot) in &k.outputs {
                    cx.vars[*slot] = row.get(*col).and_then(json_val);
                }
                cx.at.next()
            }
            None => k.on_not_found.map_or(Step::End, Step::Go),
        },
    })
}
