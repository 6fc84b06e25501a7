//! Actions on org objects: `callData` takes the data action's answer to its inputs,
//! `dataTableLookup` reads a table row, `evaluateScheduleGroup` branches by the group's
//! state, `findQueue` finds a queue by name. An object the org lacks is an error naming it
//! (a queue that is not found takes `findQueue`'s `notFound`).

use std::collections::BTreeMap;

use serde_yaml_ng::Mapping;

use super::expr::{Val, json_val, text_of};
use super::machine::{Machine, Signal};
use super::yaml::{get, map, string};
use flowsmith_calls::DataActionAnswer;

impl Machine<'_> {
    pub(super) fn call_data(&mut self, name: &str, body: &Mapping) -> Signal {
        let found = map(get(body, "category"))
            .and_then(|c| c.iter().next())
            .and_then(|(integration, spec)| {
                let (action, contract) = map(get(map(Some(spec))?, "dataAction"))?.iter().next()?;
                // A key may read as a number [corpus: data action `2445093` in
                // CI_CD_Test_Flow-INBOUNDCALL.yaml].
                Some((
                    string(Some(integration))?,
                    string(Some(action))?,
                    map(Some(contract))?,
                ))
            });
        let Some((integration, action, contract)) = found else {
            return self.error(name, "callData names no data action".into());
        };
        let key = format!("{integration}/{action}");
        let mut values = BTreeMap::new();
        if let Some(inputs) = map(get(contract, "inputs")) {
            for (k, v) in inputs {
                match self.expression(Some(v)) {
                    Ok(v) => {
                        if let Some(k) = k.as_str() {
                            values.insert(k.to_owned(), v.map(|v| text_of(&v).into_owned()));
                        }
                    }
                    Err(e) => return self.error(name, e),
                }
            }
        }
        let used = self.answers_used.entry(key.clone()).or_default();
        let answer = self.org.data_action(&integration, &action, &values, *used);
        *used += 1;
        match answer {
            None => self.error(name, format!("data action {key:?} is not in the org")),
            Some(DataActionAnswer::Outputs { outputs }) => {
                self.line(name, "DataAction", Some(format!("{key}: success")), None);
                if let Some(success) = map(get(contract, "successOutputs")) {
                    for (k, v) in success {
                        let (Some(k), Some(var)) =
                            (k.as_str(), map(Some(v)).and_then(|v| string(get(v, "var"))))
                        else {
                            continue;
                        };
                        if let Err(e) = self.set_typed(&var, outputs.get(k).and_then(json_val)) {
                            return self.error(name, e);
                        }
                    }
                }
                self.branch(body, "success")
            }
            Some(DataActionAnswer::Error { error }) => {
                self.line(
                    name,
                    "DataAction",
                    Some(format!("{key}: failure: {error}")),
                    None,
                );
                self.branch(body, "failure")
            }
            Some(DataActionAnswer::Timeout { .. }) => {
                self.line(name, "DataAction", Some(format!("{key}: timeout")), None);
                self.branch(body, "timeout")
            }
        }
    }

    pub(super) fn table_lookup(&mut self, name: &str, body: &Mapping) -> Signal {
        let Some((table, spec)) = map(get(body, "dataTable")).and_then(|t| t.iter().next()) else {
            return self.error(name, "dataTableLookup names no table".into());
        };
        let table = string(Some(table)).unwrap_or_default();
        let key = match self.expression(get(body, "lookupValue")) {
            Ok(v) => v.map(|v| text_of(&v).into_owned()).unwrap_or_default(),
            Err(e) => return self.error(name, e),
        };
        let Some(row) = self.org.table_row(&table, &key) else {
            return self.error(name, format!("data table {table:?} is not in the org"));
        };
        let Some(row) = row else {
            return self.branch(body, "notFound");
        };
        if let Some(found) = map(Some(spec)).and_then(|s| map(get(s, "foundOutputs"))) {
            for (col, v) in found {
                let (Some(col), Some(var)) = (
                    col.as_str(),
                    map(Some(v)).and_then(|v| string(get(v, "var"))),
                ) else {
                    continue;
                };
                if let Err(e) = self.set_typed(&var, row.get(col).and_then(json_val)) {
                    return self.error(name, e);
                }
            }
        }
        self.branch(body, "found")
    }

    /// `findQueue`: the queue `findName` names, from the org: found, `findResult` holds
    /// it (its `id` the org's) and `outputs.found` runs; else `outputs.notFound`
    /// [corpus: archy_flow.yml; the action's outputs as the corpus writes them].
    pub(super) fn find_queue(&mut self, name: &str, body: &Mapping) -> Signal {
        let wanted = match self.expression(get(body, "findName")) {
            Ok(Some(v)) => text_of(&v).into_owned(),
            // Assumed: nothing to find is not found.
            Ok(None) => return self.branch(body, "notFound"),
            Err(e) => return self.error(name, e),
        };
        let Some(id) = self.org.queue(&wanted) else {
            return self.branch(body, "notFound");
        };
        if let Some(var) = map(get(body, "findResult")).and_then(|r| string(get(r, "var"))) {
            self.set(
                &var,
                Some(Val::Queue {
                    name: wanted,
                    id: Some(id),
                }),
            );
        }
        self.branch(body, "found")
    }

    pub(super) fn schedule_group(&mut self, name: &str, body: &Mapping) -> Signal {
        let group = map(get(body, "scheduleGroup"))
            .and_then(|g| map(get(g, "lit")))
            .and_then(|l| string(get(l, "name")))
            .unwrap_or_default();
        match self.org.schedule_group(&group) {
            Some(state) => self.branch(body, state.as_str()),
            None => self.error(name, format!("schedule group {group:?} is not in the org")),
        }
    }
}
