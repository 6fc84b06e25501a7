//! Template parameters: `{{name}}` placeholders in string values, substituted textually
//! before anything else is checked (as Terraform's CX-as-code does with its templates).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::expr::is_var_name;
use super::model::VarType;
use crate::findings::{Finding, pointer};

/// One declared parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamDecl {
    pub ty: VarType,
    pub required: bool,
    pub default: Option<Value>,
    pub description: Option<String>,
}

/// A `{{name}}` occurrence found in a string: byte range and trimmed name.
fn placeholders(s: &str) -> Vec<(usize, usize, &str)> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(p) = s[i..].find("{{") {
        let start = i + p;
        let Some(q) = s[start + 2..].find("}}") else {
            break;
        };
        let end = start + 2 + q + 2;
        let name = s[start + 2..end - 2].trim();
        if is_var_name(name) {
            out.push((start, end, name));
            i = end;
        } else {
            i = start + 1;
        }
    }
    out
}

/// Parses the `parameters` section; findings point at `/parameters/...`.
pub fn declarations(doc: &Value, findings: &mut Vec<Finding>) -> BTreeMap<String, ParamDecl> {
    let mut out = BTreeMap::new();
    let Some(raw) = doc.get("parameters") else {
        return out;
    };
    let Some(obj) = raw.as_object() else {
        if !raw.is_null() {
            findings.push(Finding::error(
                "invalid_type",
                "/parameters",
                "parameters must be an object of {name: {type, required, default, description}}",
            ));
        }
        return out;
    };
    for (name, decl) in obj {
        if let Some(d) = declaration(name, decl, findings) {
            out.insert(name.clone(), d);
        }
    }
    out
}

/// One parameter's declaration `{type, required, default, description}`; `None` when it is
/// not an object.
fn declaration(name: &str, decl: &Value, findings: &mut Vec<Finding>) -> Option<ParamDecl> {
    let at = pointer(["parameters", name]);
    if !is_var_name(name) {
        findings.push(
            Finding::error(
                "invalid_parameter",
                &at,
                format!("parameter name '{name}' is not valid"),
            )
            .with_hint("use letters, digits and '_', not starting with a digit"),
        );
    }
    let Some(d) = decl.as_object() else {
        findings.push(Finding::error(
            "invalid_type",
            &at,
            "a parameter declaration must be an object {type, required, default, description}",
        ));
        return None;
    };
    for key in d.keys() {
        if !["type", "required", "default", "description"].contains(&key.as_str()) {
            findings.push(
                Finding::error(
                    "unknown_field",
                    format!("{at}{}", pointer([key.as_str()])),
                    format!("unknown field '{key}' in parameter '{name}'"),
                )
                .with_hint("allowed: type, required, default, description"),
            );
        }
    }
    let ty = declared_type(d, &at, findings);
    let default = d.get("default").filter(|v| !v.is_null()).cloned();
    // As a Terraform variable: without a default a parameter is required, unless it says
    // `required: false` (then it is empty, 0 or false when not passed).
    let required = match d.get("required") {
        None | Some(Value::Null) => default.is_none(),
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            findings.push(Finding::error(
                "invalid_type",
                format!("{at}/required"),
                "required must be true or false",
            ));
            default.is_none()
        }
    };
    if let Some(v) = &default
        && !type_matches(ty, v)
    {
        findings.push(Finding::error(
            "parameter_type",
            format!("{at}/default"),
            format!(
                "default of parameter '{name}' is not of type {}",
                ty_name(ty)
            ),
        ));
    }
    let description = match d.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            findings.push(Finding::error(
                "invalid_type",
                format!("{at}/description"),
                "description must be a string",
            ));
            None
        }
    };
    Some(ParamDecl {
        ty,
        required,
        default,
        description,
    })
}

/// A declaration's `type` (string when absent or unreadable, with a finding for the latter).
fn declared_type(d: &Map<String, Value>, at: &str, findings: &mut Vec<Finding>) -> VarType {
    match d.get("type") {
        None | Some(Value::Null) => VarType::String,
        Some(Value::String(t)) => match VarType::parse(t) {
            Some(ty) => ty,
            None => {
                findings.push(
                    Finding::error(
                        "invalid_value",
                        format!("{at}/type"),
                        format!("unknown parameter type '{t}'"),
                    )
                    .with_hint("use string, integer or boolean"),
                );
                VarType::String
            }
        },
        Some(_) => {
            findings.push(Finding::error(
                "invalid_type",
                format!("{at}/type"),
                "type must be a string",
            ));
            VarType::String
        }
    }
}

fn ty_name(t: VarType) -> &'static str {
    match t {
        VarType::String => "string",
        VarType::Integer => "integer",
        VarType::Boolean => "boolean",
    }
}

fn type_matches(ty: VarType, v: &Value) -> bool {
    match ty {
        VarType::String => v.is_string(),
        VarType::Integer => v.is_i64(),
        VarType::Boolean => v.is_boolean(),
    }
}

/// A stand-in value of a parameter's type (string: its name) for checking the rest of a
/// document when the parameter has no value.
fn sample(name: &str, ty: VarType) -> Value {
    match ty {
        VarType::String => Value::String(name.to_owned()),
        VarType::Integer => Value::from(0),
        VarType::Boolean => Value::Bool(false),
    }
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every parameter a document declares or uses: the names a caller may pass.
pub fn known_names(doc: &Value) -> std::collections::BTreeSet<String> {
    let mut uses = BTreeMap::new();
    collect_uses(doc, &mut Vec::new(), &mut uses);
    let mut names: std::collections::BTreeSet<String> = uses.into_keys().collect();
    if let Some(decls) = doc.get("parameters").and_then(Value::as_object) {
        names.extend(decls.keys().cloned());
    }
    names
}

/// A finding for each passed parameter that is not in `known` (a misspelt parameter would
/// otherwise be ignored silently), pointing at `{base}/{name}` and naming the closest
/// known name.
pub fn unknown_parameters(
    params: &Map<String, Value>,
    known: &std::collections::BTreeSet<String>,
    base: &str,
) -> Vec<Finding> {
    params
        .keys()
        .filter(|k| !known.contains(*k))
        .map(|k| {
            let name = super::excerpt(k, 100);
            let f = Finding::error(
                "unknown_parameter",
                format!("{base}{}", pointer([k.as_str()])),
                format!("the template declares no parameter '{name}'"),
            );
            match crate::findings::did_you_mean(k, known.iter().map(String::as_str)) {
                Some(close) => f.with_hint(format!("did you mean '{close}'?")),
                None if known.is_empty() => f.with_hint("the template takes no parameters"),
                None => f.with_hint(format!(
                    "its parameters are: {}",
                    known.iter().cloned().collect::<Vec<_>>().join(", ")
                )),
            }
        })
        .collect()
}

/// Records the pointer of the first use of every placeholder (outside `parameters`).
fn collect_uses(v: &Value, path: &mut Vec<String>, uses: &mut BTreeMap<String, String>) {
    match v {
        Value::String(s) => {
            for (_, _, name) in placeholders(s) {
                uses.entry(name.to_owned())
                    .or_insert_with(|| pointer(path.iter()));
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                path.push(i.to_string());
                collect_uses(x, path, uses);
                path.pop();
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                if path.is_empty() && k == "parameters" {
                    continue;
                }
                path.push(k.clone());
                collect_uses(x, path, uses);
                path.pop();
            }
        }
        _ => {}
    }
}

fn substitute(v: &mut Value, values: &BTreeMap<String, Value>, top: bool) {
    match v {
        Value::String(s) => {
            let found = placeholders(s);
            if found.is_empty() {
                return;
            }
            if let [(0, end, name)] = found.as_slice()
                && *end == s.len()
                && let Some(val) = values.get(*name)
                && !val.is_string()
            {
                *v = val.clone();
                return;
            }
            let mut out = String::with_capacity(s.len());
            let mut last = 0;
            for (start, end, name) in &found {
                out.push_str(&s[last..*start]);
                match values.get(*name) {
                    Some(val) => out.push_str(&as_text(val)),
                    None => out.push_str(&s[*start..*end]),
                }
                last = *end;
            }
            out.push_str(&s[last..]);
            *s = out;
        }
        Value::Array(a) => a.iter_mut().for_each(|x| substitute(x, values, false)),
        Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                if top && k == "parameters" {
                    continue;
                }
                substitute(x, values, false);
            }
        }
        _ => {}
    }
}

/// Substitutes every `{{name}}` placeholder and reports parameter findings (errors and
/// warnings: `missing_parameter`, `parameter_type`, `undeclared_parameter`,
/// `unused_parameter`, and problems in the `parameters` section).
///
/// Values come from `params`, else the declared `default`. With `store_time` (no values
/// known yet) a parameter without a value gets a sample of its type (string: its name,
/// integer: 0, boolean: false) so that the rest of the document can still be checked. At
/// job time a required parameter without a value (declared `required: true` with no
/// default, or used but undeclared, which counts as a required string) is an error; an
/// optional one without a value becomes the empty string, 0 or false.
///
/// A string that is exactly one placeholder of an integer or boolean parameter becomes the
/// typed JSON value; anywhere else the value is inserted as text.
pub fn instantiate_with_findings(
    doc: &Value,
    params: &Map<String, Value>,
    store_time: bool,
) -> (Value, Vec<Finding>) {
    let (value, findings) = instantiate_borrowed(doc, params, store_time);
    (value.into_owned(), findings)
}

/// As [`instantiate_with_findings`], borrowing the document when there is nothing to
/// substitute (most documents): validation then copies nothing.
pub(crate) fn instantiate_borrowed<'a>(
    doc: &'a Value,
    params: &Map<String, Value>,
    store_time: bool,
) -> (std::borrow::Cow<'a, Value>, Vec<Finding>) {
    let mut findings = Vec::new();
    let decls = declarations(doc, &mut findings);
    let mut uses = BTreeMap::new();
    collect_uses(doc, &mut Vec::new(), &mut uses);

    let mut values: BTreeMap<String, Value> = BTreeMap::new();
    for (name, first_use) in &uses {
        if !decls.contains_key(name) {
            findings.push(
                Finding::warning(
                    "undeclared_parameter",
                    first_use,
                    format!("parameter '{{{{{name}}}}}' is not declared; it is a required string"),
                )
                .with_hint(format!(
                    "declare it under /parameters/{name} with a type and a description"
                )),
            );
        }
    }
    for name in decls.keys() {
        if !uses.contains_key(name) {
            findings.push(
                Finding::warning(
                    "unused_parameter",
                    pointer(["parameters", name.as_str()]),
                    format!("parameter '{name}' is declared but never used"),
                )
                .with_hint(format!(
                    "use it as {{{{{name}}}}} or remove the declaration"
                )),
            );
        }
    }
    let names: std::collections::BTreeSet<&String> = uses.keys().chain(decls.keys()).collect();
    for name in names {
        let decl = decls.get(name);
        let ty = decl.map_or(VarType::String, |d| d.ty);
        let at = match decl {
            Some(_) => pointer(["parameters", name.as_str()]),
            None => uses[name].clone(),
        };
        let value = match params.get(name) {
            Some(v) if type_matches(ty, v) => v.clone(),
            Some(v) => {
                findings.push(Finding::error(
                    "parameter_type",
                    &at,
                    format!(
                        "parameter '{name}' must be of type {}, got {v}",
                        ty_name(ty)
                    ),
                ));
                continue;
            }
            None => match decl.and_then(|d| d.default.clone()) {
                Some(v) => v,
                None if store_time => sample(name, ty),
                // A declaration nothing uses needs no value (it has its own warning).
                None if decl.is_none_or(|d| d.required) && uses.contains_key(name) => {
                    findings.push(
                        Finding::error(
                            "missing_parameter",
                            &uses[name],
                            format!("required parameter '{name}' has no value"),
                        )
                        .with_hint(format!(
                            "pass \"{name}\" in the parameters, or declare a default under /parameters/{name}"
                        )),
                    );
                    // A sample stands in so that the rest of the document reports only
                    // its own mistakes (not this placeholder again as an unknown variable).
                    sample(name, ty)
                }
                None => match ty {
                    VarType::String => Value::String(String::new()),
                    VarType::Integer => Value::from(0),
                    VarType::Boolean => Value::Bool(false),
                },
            },
        };
        values.insert(name.clone(), value);
    }
    if values.is_empty() {
        return (std::borrow::Cow::Borrowed(doc), findings);
    }
    let mut out = doc.clone();
    substitute(&mut out, &values, true);
    // An instance has no parameters left: validating it again must not call the
    // declarations unused.
    if let Some(o) = out.as_object_mut() {
        o.remove("parameters");
    }
    (std::borrow::Cow::Owned(out), findings)
}

/// Instantiates a template document with `params` (see [`instantiate_with_findings`]);
/// returns the substituted document, or the error findings.
pub fn instantiate(
    doc: &Value,
    params: &Map<String, Value>,
    store_time: bool,
) -> Result<Value, Vec<Finding>> {
    let (value, findings) = instantiate_with_findings(doc, params, store_time);
    let errors: Vec<Finding> = findings.into_iter().filter(Finding::is_error).collect();
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn codes(f: &[Finding]) -> Vec<&str> {
        f.iter().map(|f| f.code.as_str()).collect()
    }

    #[test]
    fn finds_placeholders() {
        let p = placeholders("a {{x}} b {{ y_1 }} {{not valid}} {{z");
        let names: Vec<_> = p.iter().map(|p| p.2).collect();
        assert_eq!(names, ["x", "y_1"]);
    }

    #[test]
    fn substitutes_text_and_typed_values() {
        let doc = json!({
            "parameters": {
                "n": {"type": "integer", "required": true},
                "flag": {"type": "boolean", "default": true},
                "q": {"type": "string"}
            },
            "a": "{{n}}", "b": "x{{n}}y", "c": ["{{flag}}"], "d": "{{q}}!"
        });
        let out = instantiate(&doc, &map(json!({"n": 5, "q": "Sales"})), false).unwrap();
        assert_eq!(out["a"], json!(5));
        assert_eq!(out["b"], json!("x5y"));
        assert_eq!(out["c"][0], json!(true));
        assert_eq!(out["d"], json!("Sales!"));
        // The instance keeps no declarations: nothing is left to substitute.
        assert!(out.get("parameters").is_none());
    }

    #[test]
    fn an_instance_validates_without_parameter_warnings() {
        let doc = json!({"name": "P", "type": "module",
            "parameters": {"greeting": {"type": "string", "default": "hi"}},
            "draft": {"startNode": "S", "nodes": {
                "S": {"id": "S", "type": "Say", "properties": {"sayText": "{{greeting}}"}, "onComplete": {"nextNode": "E"}},
                "E": {"id": "E", "type": "End"}}}});
        let inst = instantiate(&doc, &map(json!({"greeting": "hello"})), false).unwrap();
        let report = crate::validate::validate(&inst, &crate::validate::NoModules);
        assert!(report.findings.is_empty(), "{:?}", report.findings);
    }

    #[test]
    fn store_time_uses_samples() {
        let doc = json!({
            "parameters": {"n": {"type": "integer", "required": true}, "s": {"required": true}},
            "a": "{{n}}", "b": "{{s}}", "c": "{{undeclared}}"
        });
        let (out, f) = instantiate_with_findings(&doc, &Map::new(), true);
        assert_eq!(out["a"], json!(0));
        assert_eq!(out["b"], json!("s"));
        assert_eq!(out["c"], json!("undeclared"));
        assert_eq!(codes(&f), ["undeclared_parameter"]);
        assert_eq!(f[0].pointer, "/c");
    }

    #[test]
    fn job_time_errors() {
        let doc = json!({
            "parameters": {
                "n": {"type": "integer", "required": true},
                "opt": {"type": "string", "required": false},
                "unused": {"type": "string"}
            },
            "a": "{{n}}", "b": "{{undeclared}}", "c": "[{{opt}}]"
        });
        let (out, f) = instantiate_with_findings(&doc, &map(json!({"x": 1})), false);
        let mut c = codes(&f);
        c.sort();
        assert_eq!(
            c,
            [
                "missing_parameter",
                "missing_parameter",
                "undeclared_parameter",
                "unused_parameter"
            ]
        );
        // At the place of use, not the declaration.
        assert!(
            f.iter()
                .any(|f| f.code == "missing_parameter" && f.pointer == "/a")
        );
        assert!(
            f.iter()
                .any(|f| f.code == "missing_parameter" && f.pointer == "/b")
        );
        assert_eq!(out["c"], json!("[]"));
        let err =
            instantiate(&doc, &map(json!({"n": "five", "undeclared": "u"})), false).unwrap_err();
        assert_eq!(codes(&err), ["parameter_type"]);
        assert!(instantiate(&doc, &map(json!({"n": 1, "undeclared": "u"})), false).is_ok());
    }

    #[test]
    fn no_default_means_required() {
        let doc = json!({
            "parameters": {"brand": {"type": "string"}, "x": {"type": "integer", "default": 2}},
            "a": "Welcome to {{brand}}.", "b": "{{x}}"
        });
        let (_, f) = instantiate_with_findings(&doc, &Map::new(), false);
        assert_eq!(codes(&f), ["missing_parameter"]);
        assert_eq!(f[0].pointer, "/a");
        let out = instantiate(&doc, &map(json!({"brand": "Acme"})), false).unwrap();
        assert_eq!(out["a"], json!("Welcome to Acme."));
        assert_eq!(out["b"], json!(2));
    }

    #[test]
    fn a_missing_parameter_is_the_only_finding() {
        let doc = json!({"name": "P", "type": "module",
            "parameters": {"brand": {"type": "string"}},
            "draft": {"startNode": "S", "nodes": {
                "S": {"id": "S", "type": "Say", "properties": {"sayText": "Welcome to {{brand}}."}, "onComplete": {"nextNode": "E"}},
                "E": {"id": "E", "type": "End"}}}});
        let report =
            crate::validate::validate_with_params(&doc, &Map::new(), &crate::validate::NoModules);
        assert_eq!(codes(&report.findings), ["missing_parameter"]);
        assert_eq!(
            report.findings[0].pointer,
            "/draft/nodes/S/properties/sayText"
        );
        assert!(
            crate::validate::validate(&doc, &crate::validate::NoModules)
                .findings
                .is_empty()
        );
    }

    #[test]
    fn unknown_parameters_name_the_closest() {
        let doc = json!({"parameters": {"queue": {"type": "string"}}, "x": "{{greeting}}"});
        let known = known_names(&doc);
        let f = unknown_parameters(
            &map(json!({"queue": "a", "greting": "b"})),
            &known,
            "/params",
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].pointer, "/params/greting");
        assert_eq!(f[0].hint.as_deref(), Some("did you mean 'greeting'?"));
        let f = unknown_parameters(&map(json!({"zzzzzzzz": 1})), &known, "/flows/0/params");
        assert!(f[0].hint.as_deref().unwrap().contains("greeting, queue"));
    }

    #[test]
    fn bad_declarations() {
        let doc =
            json!({"parameters": {"p": {"type": "float", "default": 1, "x": 1}}, "a": "{{p}}"});
        let (_, f) = instantiate_with_findings(&doc, &Map::new(), true);
        let mut c = codes(&f);
        c.sort();
        assert_eq!(c, ["invalid_value", "parameter_type", "unknown_field"]);
    }
}
