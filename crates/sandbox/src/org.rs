//! The org objects a flow names besides queues and modules: data actions (with their input
//! and output contracts and scripted answers), data tables, schedule groups and prompts.
//! Created from `--org FILE` and from the admin API (`POST /sandbox/data-actions`, ...);
//! listed through the Platform API shapes of the official SDK models (`Action` with its
//! `ActionContract`, `DataTable` with its JSON-schema `schema`, `ScheduleGroup`, `Prompt`).
//!
//! The admin bodies are parsed and checked here, free of I/O: every finding names the place
//! in the body as a JSON pointer.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::archy::{NamedObject, OrgObject};
use super::shapes::{division_json, iso};

/// The longest name the admin API takes (Genesys names are at most a few hundred chars).
pub const MAX_NAME_LEN: usize = 200;
/// Most fields, rows or scripted responses in one admin body.
pub const MAX_ITEMS: usize = 1000;

/// A field type of a data action contract or a data table column (JSON-schema types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    String,
    Integer,
    Number,
    Boolean,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Integer => "integer",
            FieldType::Number => "number",
            FieldType::Boolean => "boolean",
        }
    }

    /// Whether a JSON value has this type.
    pub fn admits(self, v: &Value) -> bool {
        match self {
            FieldType::String => v.is_string(),
            FieldType::Integer => v.is_i64() || v.is_u64(),
            FieldType::Number => v.is_number(),
            FieldType::Boolean => v.is_boolean(),
        }
    }
}

/// What a schedule group evaluates to now (the sandbox holds the answer, not the schedules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleState {
    Open,
    Closed,
    Holiday,
    Emergency,
}

impl ScheduleState {
    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleState::Open => "open",
            ScheduleState::Closed => "closed",
            ScheduleState::Holiday => "holiday",
            ScheduleState::Emergency => "emergency",
        }
    }
}

/// One scripted answer of a data action: when the inputs match `when`, succeed with
/// `outputs` or fail with `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedResponse {
    #[serde(default)]
    pub when: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Body of `POST /sandbox/data-actions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataActionSpec {
    /// Integration (the category name flows write under `callData.category`).
    pub integration: String,
    pub name: String,
    #[serde(default)]
    pub inputs: BTreeMap<String, FieldType>,
    #[serde(default)]
    pub outputs: BTreeMap<String, FieldType>,
    #[serde(default)]
    pub responses: Vec<ScriptedResponse>,
}

/// Body of `POST /sandbox/data-tables`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataTableSpec {
    pub name: String,
    /// Name of the key column (its values are strings, as in Genesys).
    pub key: String,
    #[serde(default)]
    pub columns: BTreeMap<String, FieldType>,
    #[serde(default)]
    pub rows: BTreeMap<String, Map<String, Value>>,
}

/// Body of `POST /sandbox/schedule-groups`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleGroupSpec {
    pub name: String,
    pub state: ScheduleState,
}

/// Body of `POST /sandbox/prompts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptSpec {
    pub name: String,
}

/// The file of `--org FILE`: the four admin bodies, in lists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OrgFile {
    #[serde(default)]
    pub data_actions: Vec<DataActionSpec>,
    #[serde(default)]
    pub data_tables: Vec<DataTableSpec>,
    #[serde(default)]
    pub schedule_groups: Vec<ScheduleGroupSpec>,
    #[serde(default)]
    pub prompts: Vec<PromptSpec>,
}

/// A refused admin body: what is wrong and where (JSON pointer into the body).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pointer}: {message}")]
pub struct SpecError {
    pub pointer: String,
    pub message: String,
}

fn err(pointer: impl Into<String>, message: impl Into<String>) -> SpecError {
    SpecError {
        pointer: pointer.into(),
        message: message.into(),
    }
}

fn escape(seg: &str) -> String {
    seg.replace('~', "~0").replace('/', "~1")
}

fn check_name(pointer: &str, what: &str, name: &str) -> Result<(), SpecError> {
    if name.trim().is_empty() {
        return Err(err(pointer, format!("{what} must not be empty")));
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(err(
            pointer,
            format!("{what} is longer than {MAX_NAME_LEN} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(err(
            pointer,
            format!("{what} must not contain control characters"),
        ));
    }
    Ok(())
}

fn check_count(pointer: &str, n: usize) -> Result<(), SpecError> {
    if n > MAX_ITEMS {
        return Err(err(pointer, format!("at most {MAX_ITEMS} entries")));
    }
    Ok(())
}

impl DataActionSpec {
    /// Checks names, counts and that every scripted response uses declared inputs and
    /// outputs of the declared types, with exactly one of `outputs` and `error`.
    pub fn check(&self) -> Result<(), SpecError> {
        check_name("/integration", "integration", &self.integration)?;
        check_name("/name", "name", &self.name)?;
        check_count("/inputs", self.inputs.len())?;
        check_count("/outputs", self.outputs.len())?;
        check_count("/responses", self.responses.len())?;
        for k in self.inputs.keys() {
            check_name(&format!("/inputs/{}", escape(k)), "input name", k)?;
        }
        for k in self.outputs.keys() {
            check_name(&format!("/outputs/{}", escape(k)), "output name", k)?;
        }
        for (i, r) in self.responses.iter().enumerate() {
            let at = format!("/responses/{i}");
            for (k, v) in &r.when {
                let p = format!("{at}/when/{}", escape(k));
                let Some(t) = self.inputs.get(k) else {
                    return Err(err(p, format!("'{k}' is not a declared input")));
                };
                if !t.admits(v) {
                    return Err(err(p, format!("expected a {} value", t.as_str())));
                }
            }
            match (&r.outputs, &r.error) {
                (Some(_), Some(_)) => {
                    return Err(err(at, "give either 'outputs' or 'error', not both"));
                }
                (None, None) => return Err(err(at, "give 'outputs' or 'error'")),
                (None, Some(e)) if e.trim().is_empty() => {
                    return Err(err(format!("{at}/error"), "error must not be empty"));
                }
                (Some(outs), None) => {
                    for (k, v) in outs {
                        let p = format!("{at}/outputs/{}", escape(k));
                        let Some(t) = self.outputs.get(k) else {
                            return Err(err(p, format!("'{k}' is not a declared output")));
                        };
                        if !t.admits(v) {
                            return Err(err(p, format!("expected a {} value", t.as_str())));
                        }
                    }
                }
                (None, Some(_)) => {}
            }
        }
        Ok(())
    }
}

impl DataTableSpec {
    /// Checks names and counts, that the key is not also a column, and that every row
    /// gives declared columns values of their types.
    pub fn check(&self) -> Result<(), SpecError> {
        check_name("/name", "name", &self.name)?;
        check_name("/key", "key", &self.key)?;
        check_count("/columns", self.columns.len())?;
        check_count("/rows", self.rows.len())?;
        if self.columns.contains_key(&self.key) {
            return Err(err(
                format!("/columns/{}", escape(&self.key)),
                "the key column is implicit (a string); do not list it among the columns",
            ));
        }
        for k in self.columns.keys() {
            check_name(&format!("/columns/{}", escape(k)), "column name", k)?;
        }
        for (key, row) in &self.rows {
            let at = format!("/rows/{}", escape(key));
            if key.is_empty() {
                return Err(err(at, "a row key must not be empty"));
            }
            for (c, v) in row {
                let p = format!("{at}/{}", escape(c));
                let Some(t) = self.columns.get(c) else {
                    return Err(err(p, format!("'{c}' is not a column of the table")));
                };
                if !t.admits(v) {
                    return Err(err(p, format!("expected a {} value", t.as_str())));
                }
            }
        }
        Ok(())
    }
}

impl ScheduleGroupSpec {
    pub fn check(&self) -> Result<(), SpecError> {
        check_name("/name", "name", &self.name)
    }
}

impl PromptSpec {
    pub fn check(&self) -> Result<(), SpecError> {
        check_name("/name", "name", &self.name)?;
        // Architect prompt names are identifiers (`Prompt.<name>` in expressions).
        if !self
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
            || self.name.starts_with(|c: char| c.is_ascii_digit())
        {
            return Err(err(
                "/name",
                "a prompt name has letters, digits and '_' only, and does not start with a digit",
            ));
        }
        Ok(())
    }
}

impl OrgFile {
    /// Checks every object; pointers are into the file.
    pub fn check(&self) -> Result<(), SpecError> {
        fn within<T>(
            list: &[T],
            field: &str,
            f: impl Fn(&T) -> Result<(), SpecError>,
        ) -> Result<(), SpecError> {
            for (i, x) in list.iter().enumerate() {
                f(x).map_err(|e| err(format!("/{field}/{i}{}", e.pointer), e.message))?;
            }
            Ok(())
        }
        within(&self.data_actions, "dataActions", DataActionSpec::check)?;
        within(&self.data_tables, "dataTables", DataTableSpec::check)?;
        within(
            &self.schedule_groups,
            "scheduleGroups",
            ScheduleGroupSpec::check,
        )?;
        within(&self.prompts, "prompts", PromptSpec::check)
    }
}

/// A stored org object: its spec, id and creation time.
#[derive(Debug, Clone)]
pub struct Stored<T> {
    pub id: Uuid,
    pub created: DateTime<Utc>,
    pub spec: T,
}

/// Every org object of the sandbox (besides queues and flows).
#[derive(Debug, Clone, Default)]
pub struct Org {
    pub data_actions: Vec<Stored<DataActionSpec>>,
    pub data_tables: Vec<Stored<DataTableSpec>>,
    pub schedule_groups: Vec<Stored<ScheduleGroupSpec>>,
    pub prompts: Vec<Stored<PromptSpec>>,
}

/// Inserts or replaces (same name, case-insensitive) and returns whether it was new.
fn upsert<T>(list: &mut Vec<Stored<T>>, spec: T, same: impl Fn(&T) -> bool) -> (bool, &Stored<T>) {
    let now = Utc::now();
    match list.iter().position(|s| same(&s.spec)) {
        Some(i) => {
            list[i].spec = spec;
            (false, &list[i])
        }
        None => {
            list.push(Stored {
                id: Uuid::new_v4(),
                created: now,
                spec,
            });
            (true, list.last().expect("just pushed"))
        }
    }
}

impl Org {
    pub fn add_file(&mut self, f: OrgFile) {
        for s in f.data_actions {
            self.add_data_action(s);
        }
        for s in f.data_tables {
            self.add_data_table(s);
        }
        for s in f.schedule_groups {
            self.add_schedule_group(s);
        }
        for s in f.prompts {
            self.add_prompt(s);
        }
    }

    pub fn add_data_action(&mut self, s: DataActionSpec) -> (bool, Value) {
        let (i, n) = (s.integration.clone(), s.name.clone());
        let (new, st) = upsert(&mut self.data_actions, s, |x| {
            x.integration.eq_ignore_ascii_case(&i) && x.name.eq_ignore_ascii_case(&n)
        });
        (new, action_json(st))
    }

    pub fn add_data_table(&mut self, s: DataTableSpec) -> (bool, Value) {
        let n = s.name.clone();
        let (new, st) = upsert(&mut self.data_tables, s, |x| {
            x.name.eq_ignore_ascii_case(&n)
        });
        (new, data_table_json(st, true))
    }

    pub fn add_schedule_group(&mut self, s: ScheduleGroupSpec) -> (bool, Value) {
        let n = s.name.clone();
        let (new, st) = upsert(&mut self.schedule_groups, s, |x| {
            x.name.eq_ignore_ascii_case(&n)
        });
        (new, schedule_group_json(st))
    }

    pub fn add_prompt(&mut self, s: PromptSpec) -> (bool, Value) {
        let n = s.name.clone();
        let (new, st) = upsert(&mut self.prompts, s, |x| x.name.eq_ignore_ascii_case(&n));
        (new, prompt_json(st))
    }

    pub fn data_action(&self, integration: &str, name: &str) -> Option<&DataActionSpec> {
        self.data_actions.iter().map(|s| &s.spec).find(|a| {
            a.integration.eq_ignore_ascii_case(integration) && a.name.eq_ignore_ascii_case(name)
        })
    }

    pub fn data_table(&self, name: &str) -> Option<&DataTableSpec> {
        self.data_tables
            .iter()
            .map(|s| &s.spec)
            .find(|t| t.name.eq_ignore_ascii_case(name))
    }

    pub fn schedule_group(&self, name: &str) -> Option<&ScheduleGroupSpec> {
        self.schedule_groups
            .iter()
            .map(|s| &s.spec)
            .find(|g| g.name.eq_ignore_ascii_case(name))
    }

    pub fn prompt(&self, name: &str) -> Option<&PromptSpec> {
        self.prompts
            .iter()
            .map(|s| &s.spec)
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// Everything, in the `--org FILE` shape (for `GET /sandbox/org`).
    pub fn to_file(&self) -> OrgFile {
        OrgFile {
            data_actions: self.data_actions.iter().map(|s| s.spec.clone()).collect(),
            data_tables: self.data_tables.iter().map(|s| s.spec.clone()).collect(),
            schedule_groups: self
                .schedule_groups
                .iter()
                .map(|s| s.spec.clone())
                .collect(),
            prompts: self.prompts.iter().map(|s| s.spec.clone()).collect(),
        }
    }
}

impl Org {
    /// The judge's org check, as Archy refuses a flow naming an object the org lacks: one
    /// message per missing object, undeclared input or output, naming the place.
    pub fn refusals(&self, flow: &str, objects: &[NamedObject]) -> Vec<String> {
        let mut out = Vec::new();
        for n in objects {
            let (action, at) = (&n.action, &n.at);
            match &n.object {
                OrgObject::DataAction {
                    integration,
                    action: name,
                    inputs,
                    outputs,
                } => match self.data_action(integration, name) {
                    None => out.push(format!(
                        "Error: Flow '{flow}': Unable to find data action '{name}' in integration category '{integration}' referenced by action '{action}' at {at}"
                    )),
                    Some(spec) => {
                        for i in inputs.iter().filter(|i| !spec.inputs.contains_key(*i)) {
                            out.push(format!(
                                "Error: Flow '{flow}': data action '{name}' has no input '{i}' (action '{action}' at {at}/inputs/{})",
                                escape(i)
                            ));
                        }
                        for o in outputs.iter().filter(|o| !spec.outputs.contains_key(*o)) {
                            out.push(format!(
                                "Error: Flow '{flow}': data action '{name}' has no output '{o}' (action '{action}' at {at}/successOutputs/{})",
                                escape(o)
                            ));
                        }
                    }
                },
                OrgObject::DataTable { table, outputs } => match self.data_table(table) {
                    None => out.push(format!(
                        "Error: Flow '{flow}': Unable to find data table '{table}' referenced by action '{action}' at {at}"
                    )),
                    Some(spec) => {
                        for c in outputs.iter().filter(|c| !spec.columns.contains_key(*c)) {
                            out.push(format!(
                                "Error: Flow '{flow}': data table '{table}' has no column '{c}' (action '{action}' at {at}/foundOutputs/{})",
                                escape(c)
                            ));
                        }
                    }
                },
                OrgObject::ScheduleGroup(g) => {
                    if self.schedule_group(g).is_none() {
                        out.push(format!(
                            "Error: Flow '{flow}': Unable to find schedule group '{g}' referenced by action '{action}' at {at}"
                        ));
                    }
                }
                OrgObject::Prompt(p) => {
                    if self.prompt(p).is_none() {
                        out.push(format!(
                            "Error: Flow '{flow}': Unable to find prompt 'Prompt.{p}' referenced by action '{action}' at {at}"
                        ));
                    }
                }
            }
        }
        out
    }
}

/// Whether a scripted response's `when` holds for the call's inputs: every named input is
/// set and reads as the given value (inputs reach a data action as text).
fn matches(when: &BTreeMap<String, Value>, inputs: &BTreeMap<String, Option<String>>) -> bool {
    when.iter().all(|(k, want)| {
        let got = inputs
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(k))
            .and_then(|(_, v)| v.as_deref());
        match (got, want) {
            (None, _) => false,
            (Some(g), Value::String(w)) => g == w,
            (Some(g), Value::Number(n)) => g == n.to_string(),
            (Some(g), Value::Bool(b)) => g == if *b { "true" } else { "false" },
            // `check` admits only typed scalars in `when`.
            (Some(_), _) => false,
        }
    })
}

/// A call placed through the sandbox's published flows (`POST /sandbox/calls`) meets the
/// sandbox's own objects: a data action answers with its first scripted response whose
/// `when` matches the inputs (no match: the failure output), tables are read by key.
impl crate::archy::interpret::OrgObjects for Org {
    fn data_action(
        &self,
        integration: &str,
        action: &str,
        inputs: &BTreeMap<String, Option<String>>,
        _nth: usize,
    ) -> Option<flowsmith_calls::DataActionAnswer> {
        use flowsmith_calls::DataActionAnswer;
        let spec = self.data_action(integration, action)?;
        let answer = match spec.responses.iter().find(|r| matches(&r.when, inputs)) {
            Some(ScriptedResponse {
                outputs: Some(o), ..
            }) => DataActionAnswer::Outputs {
                outputs: o.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            },
            Some(ScriptedResponse { error: Some(e), .. }) => {
                DataActionAnswer::Error { error: e.clone() }
            }
            _ => DataActionAnswer::Error {
                error: "no scripted response matches the inputs".into(),
            },
        };
        Some(answer)
    }

    fn table_row(&self, table: &str, key: &str) -> Option<Option<BTreeMap<String, Value>>> {
        let t = self.data_table(table)?;
        Some(
            t.rows
                .get(key)
                .map(|r| r.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        )
    }

    fn schedule_group(&self, group: &str) -> Option<flowsmith_calls::ScheduleState> {
        use flowsmith_calls::ScheduleState as S;
        Some(match self.schedule_group(group)?.state {
            ScheduleState::Open => S::Open,
            ScheduleState::Closed => S::Closed,
            ScheduleState::Holiday => S::Holiday,
            ScheduleState::Emergency => S::Emergency,
        })
    }

    fn has_prompt(&self, name: &str) -> bool {
        self.prompt(name).is_some()
    }

    fn participant_data(&self) -> BTreeMap<String, String> {
        BTreeMap::new()
    }
}

/// `JsonSchemaDocument` of an object with these typed properties.
fn schema_json(title: &str, fields: &BTreeMap<String, FieldType>, required: &[&str]) -> Value {
    let props: Map<String, Value> = fields
        .iter()
        .map(|(k, t)| (k.clone(), json!({"type": t.as_str()})))
        .collect();
    json!({
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": title,
        "type": "object",
        "required": required,
        "properties": props,
        "additionalProperties": true,
    })
}

/// One stable id per integration name (actions of one integration share it).
fn integration_id(integration: &str) -> Uuid {
    // FNV-1a, twice with different offsets: stable across runs, no extra crate feature.
    let fnv = |offset: u64| {
        integration.to_lowercase().bytes().fold(offset, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    };
    Uuid::from_u64_pair(fnv(0xcbf2_9ce4_8422_2325), fnv(0x8422_2325_cbf2_9ce4))
}

/// `Action` (integrations) with its `ActionContract` (`input.inputSchema`,
/// `output.successSchema`).
pub fn action_json(a: &Stored<DataActionSpec>) -> Value {
    let s = &a.spec;
    let id = format!("custom_-_{}", a.id);
    json!({
        "id": id,
        "name": s.name,
        "category": s.integration,
        "integrationId": integration_id(&s.integration).to_string(),
        "secure": false,
        "version": 1,
        "contract": {
            "input": {"inputSchema": schema_json("Input", &s.inputs, &[])},
            "output": {"successSchema": schema_json("Output", &s.outputs, &[])},
        },
        "selfUri": format!("/api/v2/integrations/actions/{id}"),
    })
}

/// `DataTable`; `schema` (a `JsonSchemaDocument` whose `key` property is the key column,
/// titled with its name) only when asked for (`expand=schema`).
pub fn data_table_json(t: &Stored<DataTableSpec>, with_schema: bool) -> Value {
    let s = &t.spec;
    let mut m = json!({
        "id": t.id.to_string(),
        "name": s.name,
        "division": division_json(),
        "selfUri": format!("/api/v2/flows/datatables/{}", t.id),
    });
    if with_schema {
        let mut props = Map::new();
        props.insert(
            "key".into(),
            json!({"title": s.key, "type": "string", "$id": "/properties/key", "displayOrder": 0}),
        );
        for (i, (c, ty)) in s.columns.iter().enumerate() {
            props.insert(
                c.clone(),
                json!({"title": c, "type": ty.as_str(), "$id": format!("/properties/{c}"), "displayOrder": i + 1}),
            );
        }
        m["schema"] = json!({
            "$schema": "http://json-schema.org/draft-04/schema#",
            "type": "object",
            "required": ["key"],
            "properties": props,
            "additionalProperties": false,
        });
    }
    m
}

/// `ScheduleGroup` (the SDK's `state` is the entity's lifecycle, `active`; what the group
/// evaluates to is the sandbox's own and appears only in `GET /sandbox/org`).
pub fn schedule_group_json(g: &Stored<ScheduleGroupSpec>) -> Value {
    json!({
        "id": g.id.to_string(),
        "name": g.spec.name,
        "division": division_json(),
        "version": 1,
        "dateCreated": iso(g.created),
        "dateModified": iso(g.created),
        "state": "active",
        "timeZone": "Etc/UTC",
        "openSchedules": [],
        "closedSchedules": [],
        "holidaySchedules": [],
        "selfUri": format!("/api/v2/architect/schedulegroups/{}", g.id),
    })
}

/// `Prompt` (its `division` is the SDK model's `WritableStarrableDivision`).
pub fn prompt_json(p: &Stored<PromptSpec>) -> Value {
    json!({
        "id": p.id.to_string(),
        "name": p.spec.name,
        "division": division_json(),
        "resources": [],
        "selfUri": format!("/api/v2/architect/prompts/{}", p.id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(v: Value) -> Result<(), SpecError> {
        serde_json::from_value::<DataActionSpec>(v).unwrap().check()
    }

    #[test]
    fn data_action_responses_use_declared_fields_of_their_types() {
        let base = json!({
            "integration": "Customer DB", "name": "Verify PIN",
            "inputs": {"account": "string", "pin": "string"},
            "outputs": {"valid": "boolean", "customerId": "string"},
            "responses": [
                {"when": {"account": "1001", "pin": "1234"}, "outputs": {"valid": true, "customerId": "C-1"}},
                {"when": {"account": "9999"}, "error": "backend down"},
                {"outputs": {"valid": false}}
            ]
        });
        assert_eq!(action(base.clone()), Ok(()));
        let mut b = base.clone();
        b["responses"][0]["when"]["acct"] = json!("1");
        assert_eq!(action(b).unwrap_err().pointer, "/responses/0/when/acct");
        let mut b = base.clone();
        b["responses"][0]["outputs"]["valid"] = json!("yes");
        let e = action(b).unwrap_err();
        assert_eq!(e.pointer, "/responses/0/outputs/valid");
        assert!(e.message.contains("boolean"), "{e}");
        let mut b = base.clone();
        b["responses"][1]["outputs"] = json!({});
        assert_eq!(action(b).unwrap_err().pointer, "/responses/1");
        let mut b = base;
        b["name"] = json!("  ");
        assert_eq!(action(b).unwrap_err().pointer, "/name");
    }

    #[test]
    fn unknown_types_and_fields_are_refused_by_serde() {
        assert!(
            serde_json::from_value::<DataActionSpec>(
                json!({"integration": "a", "name": "b", "inputs": {"x": "date"}})
            )
            .is_err()
        );
        assert!(
            serde_json::from_value::<ScheduleGroupSpec>(json!({"name": "a", "state": "maybe"}))
                .is_err()
        );
        assert!(serde_json::from_value::<PromptSpec>(json!({"name": "a", "x": 1})).is_err());
    }

    #[test]
    fn data_table_rows_use_declared_columns() {
        let t = |v: Value| serde_json::from_value::<DataTableSpec>(v).unwrap().check();
        let base = json!({"name": "Accounts", "key": "account", "columns": {"tier": "string", "balance": "number"},
            "rows": {"1001": {"tier": "gold", "balance": 12.5}}});
        assert_eq!(t(base.clone()), Ok(()));
        let mut b = base.clone();
        b["rows"]["1001"]["colour"] = json!("red");
        assert_eq!(t(b).unwrap_err().pointer, "/rows/1001/colour");
        let mut b = base;
        b["columns"]["account"] = json!("string");
        assert_eq!(t(b).unwrap_err().pointer, "/columns/account");
    }

    #[test]
    fn prompt_names_are_identifiers_and_file_pointers_are_prefixed() {
        assert!(
            PromptSpec {
                name: "Welcome_1".into()
            }
            .check()
            .is_ok()
        );
        let f: OrgFile =
            serde_json::from_value(json!({"prompts": [{"name": "ok"}, {"name": "no way"}]}))
                .unwrap();
        assert_eq!(f.check().unwrap_err().pointer, "/prompts/1/name");
    }

    /// The judge's org check on a flow naming each kind of object (from the YAML walk).
    #[test]
    fn refusals_name_missing_objects_and_undeclared_fields() {
        let yaml = r#"
inboundCall:
  name: Line
  startUpRef: "/inboundCall/tasks/task[Main]"
  defaultLanguage: en-us
  supportedLanguages:
    en-us:
      defaultLanguageSkill: {noValue: true}
  initialGreeting: {tts: Hi}
  tasks:
    - task:
        name: Main
        refId: Main
        actions:
          - callData:
              name: Verify
              timeout: {lit: {minutes: 1}}
              category:
                Customer DB:
                  dataAction:
                    Verify PIN:
                      inputs:
                        pin: {exp: Task.pin}
                        extra: {exp: Task.pin}
                      successOutputs:
                        valid: {var: Task.valid}
                        tier: {var: Task.tier}
              outputs:
                success:
                  actions:
                    - dataTableLookup:
                        name: Lookup
                        lookupValue: {exp: Task.pin}
                        dataTable:
                          Accounts:
                            foundOutputs:
                              tier: {var: Task.tier}
                        outputs:
                          found:
                            actions: []
          - playAudio:
              name: Play
              audio: {exp: "Prompt.Welcome"}
          - disconnect:
              name: Bye
"#;
        let a = crate::archy::analyze(yaml).expect("the structure is fine");
        assert_eq!(a.objects.len(), 3, "{:#?}", a.objects);
        let mut org = Org::default();
        let r = org.refusals("Line", &a.objects);
        assert_eq!(r.len(), 3, "{r:#?}");
        assert!(r[0].contains("Unable to find data action 'Verify PIN' in integration category 'Customer DB' referenced by action 'Verify' at /inboundCall/tasks/0/task/actions/0/callData/category/Customer DB/dataAction/Verify PIN"), "{}", r[0]);
        assert!(r[1].contains("data table 'Accounts'"), "{}", r[1]);
        assert!(r[2].contains("'Prompt.Welcome'"), "{}", r[2]);
        org.add_data_action(DataActionSpec {
            integration: "customer db".into(),
            name: "Verify PIN".into(),
            inputs: [("pin".to_owned(), FieldType::String)].into(),
            outputs: [("valid".to_owned(), FieldType::Boolean)].into(),
            responses: vec![],
        });
        org.add_data_table(DataTableSpec {
            name: "Accounts".into(),
            key: "account".into(),
            columns: [("tier".to_owned(), FieldType::String)].into(),
            rows: BTreeMap::new(),
        });
        org.add_prompt(PromptSpec {
            name: "Welcome".into(),
        });
        let r = org.refusals("Line", &a.objects);
        assert_eq!(r.len(), 2, "{r:#?}");
        assert!(
            r[0].contains("has no input 'extra'") && r[0].ends_with("/inputs/extra)"),
            "{}",
            r[0]
        );
        assert!(r[1].contains("has no output 'tier'"), "{}", r[1]);
    }

    /// A call meets the sandbox's objects: a data action answers by input (first match; no
    /// match is a failure), a table by key, a schedule group with its state.
    #[test]
    fn calls_see_answers_chosen_by_input() {
        use crate::archy::interpret::OrgObjects as Calls;
        use flowsmith_calls::DataActionAnswer;
        let mut org = Org::default();
        org.add_data_action(
            serde_json::from_value(json!({
                "integration": "Customer DB", "name": "Verify PIN",
                "inputs": {"account": "string", "pin": "string", "n": "integer"},
                "outputs": {"status": "string"},
                "responses": [
                    {"when": {"account": "1001", "pin": "1234"}, "outputs": {"status": "ok"}},
                    {"when": {"n": 7}, "error": "seven"},
                    {"when": {"account": "1001"}, "outputs": {"status": "denied"}}
                ]
            }))
            .unwrap(),
        );
        let ask = |account: Option<&str>, pin: &str, n: Option<&str>| {
            let inputs: BTreeMap<String, Option<String>> = [
                ("account".to_owned(), account.map(str::to_owned)),
                ("PIN".to_owned(), Some(pin.to_owned())),
                ("n".to_owned(), n.map(str::to_owned)),
            ]
            .into();
            Calls::data_action(&org, "customer db", "verify pin", &inputs, 0)
        };
        let ok = |s: &str| DataActionAnswer::Outputs {
            outputs: [("status".to_owned(), json!(s))].into(),
        };
        assert_eq!(ask(Some("1001"), "1234", None), Some(ok("ok")));
        assert_eq!(ask(Some("1001"), "9999", None), Some(ok("denied")));
        assert_eq!(
            ask(Some("2002"), "1234", Some("7")),
            Some(DataActionAnswer::Error {
                error: "seven".into()
            })
        );
        assert!(matches!(
            ask(None, "1234", None),
            Some(DataActionAnswer::Error { error }) if error.contains("no scripted response")
        ));
        assert_eq!(
            Calls::data_action(&org, "Customer DB", "Other", &BTreeMap::new(), 0),
            None
        );

        org.add_data_table(
            serde_json::from_value(json!({"name": "Accounts", "key": "account",
                "columns": {"tier": "string"}, "rows": {"1001": {"tier": "gold"}}}))
            .unwrap(),
        );
        assert_eq!(
            Calls::table_row(&org, "accounts", "1001"),
            Some(Some([("tier".to_owned(), json!("gold"))].into()))
        );
        assert_eq!(Calls::table_row(&org, "Accounts", "1002"), Some(None));
        assert_eq!(Calls::table_row(&org, "Missing", "1001"), None);
        org.add_schedule_group(ScheduleGroupSpec {
            name: "Hours".into(),
            state: ScheduleState::Holiday,
        });
        assert_eq!(
            Calls::schedule_group(&org, "hours"),
            Some(flowsmith_calls::ScheduleState::Holiday)
        );
        assert!(!Calls::has_prompt(&org, "Welcome"));
    }

    /// The example org file (`flowsmith sandbox --org examples/sandbox-org.json`) is valid.
    #[test]
    fn the_example_org_file_parses_and_checks() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/sandbox-org.json"
        );
        let f = crate::parse_org_file(path).unwrap();
        assert_eq!(f.data_actions[0].name, "Verify PIN");
        assert_eq!(f.schedule_groups[0].state, ScheduleState::Open);
    }

    #[test]
    fn upsert_replaces_by_name_and_renders_sdk_shapes() {
        let mut org = Org::default();
        let spec = DataActionSpec {
            integration: "CRM".into(),
            name: "Lookup".into(),
            inputs: [("id".to_owned(), FieldType::String)].into(),
            outputs: [("tier".to_owned(), FieldType::String)].into(),
            responses: vec![],
        };
        let (new, v) = org.add_data_action(spec.clone());
        assert!(new);
        assert_eq!(v["category"], "CRM");
        assert_eq!(
            v["contract"]["input"]["inputSchema"]["properties"]["id"]["type"],
            "string"
        );
        assert_eq!(
            v["contract"]["output"]["successSchema"]["properties"]["tier"]["type"],
            "string"
        );
        let (new, _) = org.add_data_action(DataActionSpec {
            name: "lookup".into(),
            ..spec
        });
        assert!(!new);
        assert_eq!(org.data_actions.len(), 1);
        assert!(org.data_action("crm", "LOOKUP").is_some());
        let (_, t) = org.add_data_table(DataTableSpec {
            name: "T".into(),
            key: "k".into(),
            columns: [("c".to_owned(), FieldType::Integer)].into(),
            rows: BTreeMap::new(),
        });
        assert_eq!(t["schema"]["properties"]["key"]["title"], "k");
        assert_eq!(t["schema"]["properties"]["c"]["type"], "integer");
    }
}
