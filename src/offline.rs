//! Offline CLI helpers for people without a server: `flowsmith compile FILE...` and
//! `flowsmith simulate FILE...` read template documents from disk, validate them with their
//! parameters, and compile or simulate them with the same code the service uses.
//!
//! Files are loaded modules first: a file whose template another file calls by name (or whose
//! type is `module`) is validated before its callers, so their Flow nodes see its interface,
//! and a called template of type `inbound` is compiled as a common module (spec section 3).

mod import;
pub use import::{ImportArgs, import_files};

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::compile::{self, CompileContext, CompileError, ModuleTarget};
use crate::simulate::{self, DEFAULT_MAX_STEPS, SimInput};
use crate::template::{self, DocumentError, Finding, Flow, FlowType, Header, Severity};
use crate::templates::as_module::as_module;
use crate::templates::check::{Modules, Params};

/// `flowsmith compile FILE... [--param k=v] [--name NAME] [--out DIR]`
#[derive(Debug, Clone, clap::Args)]
pub struct CompileArgs {
    /// Template documents (.json, or .yaml/.yml); modules and callers in any order.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// A template parameter, `name=value` (repeatable).
    #[arg(long = "param", value_name = "K=V", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
    /// Genesys flow name of the first FILE (default: its template name).
    #[arg(long)]
    pub name: Option<String>,
    /// Write one `<flow name>.yaml` per flow into DIR instead of printing the YAML.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `flowsmith simulate FILE... [--param k=v] --input 1 --input timeout [--max-steps N]`
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// The entry (inbound) template first, then the modules it calls.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// A template parameter, `name=value` (repeatable).
    #[arg(long = "param", value_name = "K=V", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
    /// Caller input for the next Gather: digits, or `timeout` (repeatable, in order).
    #[arg(long = "input", value_name = "DIGITS|timeout", value_parser = parse_input)]
    pub inputs: Vec<SimInput>,
    /// Ends runaway loops.
    #[arg(long, default_value_t = DEFAULT_MAX_STEPS)]
    pub max_steps: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Document {
        path: PathBuf,
        source: DocumentError,
    },
    #[error("{count} file(s) have errors")]
    Invalid { count: usize },
    #[error("{}: {source}", path.display())]
    Compile { path: PathBuf, source: CompileError },
    #[error("two files define the template {0:?}")]
    DuplicateName(String),
    #[error("output: {0}")]
    Write(#[from] std::io::Error),
}

/// Parses `name=value` (the value may contain `=`).
pub fn parse_param(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("expected name=value, got {s:?}")),
    }
}

/// Parses `--input`: digits (`0-9*#`) or `timeout`.
pub fn parse_input(s: &str) -> Result<SimInput, String> {
    SimInput::parse(s).ok_or_else(|| format!("expected digits or \"timeout\", got {s:?}"))
}

/// Parameters as JSON values, typed by the document's declared parameter types
/// (`integer`, `boolean`); everything else stays a string.
pub fn params_for(params: &[(String, String)], doc: &Value) -> Map<String, Value> {
    params
        .iter()
        .map(|(k, v)| {
            let declared = doc
                .pointer(&template::pointer(["parameters", k.as_str(), "type"]))
                .and_then(Value::as_str);
            let value = match declared {
                Some("integer") => v.trim().parse::<i64>().map(Value::from).ok(),
                Some("boolean") => v.trim().parse::<bool>().map(Value::Bool).ok(),
                _ => None,
            }
            .unwrap_or_else(|| Value::String(v.clone()));
            (k.clone(), value)
        })
        .collect()
}

/// Which files are used as modules ([`as_module`]): of type module, or called by name from
/// another file.
pub fn module_files(headers: &[Header]) -> Vec<bool> {
    headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let called_by = h.name.as_deref().and_then(|name| {
                headers
                    .iter()
                    .enumerate()
                    .find(|(j, o)| *j != i && o.called_modules.iter().any(|m| m == name))
                    .map(|(_, o)| o.name.as_deref().unwrap_or("?"))
            });
            as_module(h.flow_type, called_by, false).is_some()
        })
        .collect()
}

/// Load order: modules first, then the others, each group in command-line order.
pub fn load_order(headers: &[Header]) -> Vec<usize> {
    let is_module = module_files(headers);
    let mut order: Vec<usize> = (0..headers.len()).filter(|&i| is_module[i]).collect();
    order.extend((0..headers.len()).filter(|&i| !is_module[i]));
    order
}

/// `file: severity code pointer: message`
pub fn finding_line(path: &Path, f: &Finding) -> String {
    let sev = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    format!(
        "{}: {sev} {} {}: {}",
        path.display(),
        f.code,
        f.pointer,
        f.message
    )
}

struct Loaded {
    path: PathBuf,
    doc: Value,
    header: Header,
}

fn read(files: &[PathBuf]) -> Result<Vec<Loaded>, OfflineError> {
    files
        .iter()
        .map(|path| {
            let bytes = std::fs::read(path).map_err(|source| OfflineError::Read {
                path: path.clone(),
                source,
            })?;
            let yaml = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
            let doc = template::parse_document(&bytes, yaml).map_err(|source| {
                OfflineError::Document {
                    path: path.clone(),
                    source,
                }
            })?;
            let header = template::header(&doc);
            Ok(Loaded {
                path: path.clone(),
                doc,
                header,
            })
        })
        .collect()
}

/// Validates files in `order`, modules feeding the catalog of later files. Returns the
/// flows by file index, or `Invalid` after printing every finding.
fn validate_all(
    files: &[Loaded],
    order: &[usize],
    params: Option<&[(String, String)]>,
    out: &mut dyn Write,
) -> Result<Vec<Option<Flow>>, OfflineError> {
    let mut modules = Modules::default();
    let mut flows: Vec<Option<Flow>> = vec![None; files.len()];
    let mut bad = 0;
    for &i in order {
        let f = &files[i];
        // Without parameters (`flowsmith validate`) placeholders are checked with samples,
        // as when a template is stored; with them, a missing required one is an error.
        let given;
        let params = match params {
            Some(p) => {
                given = params_for(p, &f.doc);
                Params::Given(&given)
            }
            None => Params::Samples,
        };
        let report = modules.check(&f.doc, params);
        for finding in &report.findings {
            writeln!(out, "{}", finding_line(&f.path, finding))?;
        }
        match report.flow {
            Some(flow) if !report.has_errors() => {
                if modules.contains(&flow.name) {
                    return Err(OfflineError::DuplicateName(flow.name));
                }
                modules.add_interface_of(flow.name.clone(), &flow);
                flows[i] = Some(flow);
            }
            Some(_) => bad += 1,
            None => {
                if !report.has_errors() {
                    let f = Finding::error("not_validated", "", "the validator returned no flow");
                    writeln!(out, "{}", finding_line(&files[i].path, &f))?;
                }
                bad += 1;
            }
        }
    }
    if bad > 0 {
        return Err(OfflineError::Invalid { count: bad });
    }
    Ok(flows)
}

/// `flowsmith validate`: validates every file (modules among them feed the callers'
/// checks) as the service does when storing; prints every finding.
pub fn validate_files(files: &[PathBuf], out: &mut dyn Write) -> Result<(), OfflineError> {
    let files = read(files)?;
    let headers: Vec<Header> = files.iter().map(|f| f.header.clone()).collect();
    let order = load_order(&headers);
    validate_all(&files, &order, None, out)?;
    for f in &files {
        writeln!(out, "{}: ok", f.path.display())?;
    }
    Ok(())
}

/// `flowsmith compile`: validates and compiles every file; prints findings, then the YAML
/// (or writes it to `--out`). Fails (non-zero exit) when any file has errors.
pub fn compile_files(args: &CompileArgs, out: &mut dyn Write) -> Result<(), OfflineError> {
    let files = read(&args.files)?;
    let headers: Vec<Header> = files.iter().map(|f| f.header.clone()).collect();
    let order = load_order(&headers);
    let is_module = module_files(&headers);
    let flows = validate_all(&files, &order, Some(&args.params), out)?;

    let flow_name = |i: usize, flow: &Flow| -> String {
        match (&args.name, i) {
            (Some(n), 0) => n.clone(),
            _ => flow.name.clone(),
        }
    };
    let mut targets: BTreeMap<String, ModuleTarget> = BTreeMap::new();
    for &i in &order {
        if let (true, Some(flow)) = (is_module[i], &flows[i]) {
            targets.insert(
                flow.name.clone(),
                ModuleTarget::of(flow, &flow_name(i, flow)),
            );
        }
    }
    let queue_names = BTreeMap::new();
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)?;
    }
    for &i in &order {
        let Some(flow) = &flows[i] else { continue };
        let path = &files[i].path;
        let as_type = if is_module[i] {
            FlowType::Module
        } else {
            flow.flow_type
        };
        if as_type != flow.flow_type {
            let f = Finding::warning(
                "inbound_as_module",
                "/type",
                format!(
                    "{:?} is of type {} but another file calls it: it is compiled as a common module",
                    flow.name,
                    flow.flow_type.as_str()
                ),
            );
            writeln!(out, "{}", finding_line(path, &f))?;
        }
        let name = flow_name(i, flow);
        let compiled = compile::compile(
            flow,
            &CompileContext {
                flow_name: &name,
                as_type,
                modules: &targets,
                queue_names: &queue_names,
            },
        )
        .map_err(|source| OfflineError::Compile {
            path: path.clone(),
            source,
        })?;
        for w in &compiled.warnings {
            writeln!(out, "{}", finding_line(path, w))?;
        }
        match &args.out {
            Some(dir) => {
                let file = dir.join(format!("{}.yaml", compile::sanitize(&name)));
                std::fs::write(&file, &compiled.yaml)?;
                writeln!(
                    out,
                    "{}: {} {:?} -> {} (sha256 {})",
                    path.display(),
                    as_type.as_str(),
                    name,
                    file.display(),
                    compiled.content_hash
                )?;
            }
            None => {
                writeln!(
                    out,
                    "--- # {} {:?} sha256 {}",
                    as_type.as_str(),
                    name,
                    compiled.content_hash
                )?;
                out.write_all(compiled.yaml.as_bytes())?;
            }
        }
    }
    Ok(())
}

/// `flowsmith simulate`: the first file is the entry flow, the others its modules. Prints
/// findings, then the simulation as pretty JSON.
pub fn simulate_files(args: &SimulateArgs, out: &mut dyn Write) -> Result<(), OfflineError> {
    let files = read(&args.files)?;
    // Modules (every file after the first) before the entry.
    let mut order: Vec<usize> = (1..files.len()).collect();
    order.push(0);
    let flows = validate_all(&files, &order, Some(&args.params), out)?;
    let mut flows = flows.into_iter();
    let Some(Some(entry)) = flows.next() else {
        return Err(OfflineError::Invalid { count: 1 });
    };
    let modules: BTreeMap<String, Flow> = flows.flatten().map(|f| (f.name.clone(), f)).collect();
    let sim = simulate::simulate(&entry, &modules, &args.inputs, args.max_steps);
    let json = serde_json::to_string_pretty(&sim).map_err(std::io::Error::other)?;
    writeln!(out, "{json}")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use serde_json::json;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        cmd: Cmd,
    }

    #[derive(clap::Subcommand)]
    enum Cmd {
        Compile(CompileArgs),
        Simulate(SimulateArgs),
    }

    #[test]
    fn parses_params_and_inputs() {
        assert_eq!(parse_param("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert_eq!(parse_param(" q =x"), Ok(("q".into(), "x".into())));
        assert!(parse_param("novalue").is_err());
        assert!(parse_param("=x").is_err());
        assert_eq!(parse_input("12#"), Ok(SimInput::Digits("12#".into())));
        assert_eq!(parse_input("TIMEOUT"), Ok(SimInput::Timeout));
        assert!(parse_input("1a").is_err());
        assert!(parse_input("").is_err());

        let cli = Cli::try_parse_from([
            "flowsmith",
            "simulate",
            "a.json",
            "m.yaml",
            "--param",
            "queue_id=q-1",
            "--input",
            "1",
            "--input",
            "timeout",
            "--max-steps",
            "50",
        ])
        .unwrap();
        let Cmd::Simulate(s) = cli.cmd else {
            panic!("not simulate")
        };
        assert_eq!(s.files.len(), 2);
        assert_eq!(s.params, [("queue_id".to_owned(), "q-1".to_owned())]);
        assert_eq!(s.inputs, [SimInput::Digits("1".into()), SimInput::Timeout]);
        assert_eq!(s.max_steps, 50);

        let cli = Cli::try_parse_from(["flowsmith", "compile", "a.json", "--name", "N"]).unwrap();
        let Cmd::Compile(c) = cli.cmd else {
            panic!("not compile")
        };
        assert_eq!(c.name.as_deref(), Some("N"));
        assert!(c.out.is_none());
        assert!(Cli::try_parse_from(["flowsmith", "simulate", "a.json", "--input", "x"]).is_err());
        assert!(Cli::try_parse_from(["flowsmith", "compile"]).is_err());
    }

    /// One rule, one finding: compiling the seed documents prints each finding once (the
    /// validator's `on_error_not_compiled` and `flow_timeout_ignored` used to come back from
    /// the compiler under other pointers and codes).
    #[test]
    fn compiling_the_seed_prints_each_finding_once() {
        let dir = tempfile::tempdir().unwrap();
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let args = CompileArgs {
            files: vec![
                fixtures.join("seed_shared_module.json"),
                fixtures.join("seed_inbound_flow.json"),
            ],
            params: vec![("queue_id".into(), "q-1".into())],
            name: None,
            out: Some(dir.path().to_path_buf()),
        };
        let mut out = Vec::new();
        compile_files(&args, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let warnings: Vec<&str> = text.lines().filter(|l| l.contains(": warning ")).collect();
        // Per node and rule: one line (the node's pointer and the code, without the rest).
        let mut places: Vec<(String, String)> = warnings
            .iter()
            .map(|l| {
                let mut words = l.split(' ');
                let code = words.nth(2).unwrap_or_default().to_owned();
                let node = words
                    .next()
                    .unwrap_or_default()
                    .split('/')
                    .take(4)
                    .collect();
                (node, code)
            })
            .collect();
        let n = places.len();
        places.sort();
        places.dedup();
        assert_eq!(places.len(), n, "{text}");
        for code in [
            "on_error_not_compiled",
            "flow_timeout_ignored",
            "inbound_as_module",
        ] {
            assert!(text.contains(code), "{code}: {text}");
        }
        assert!(
            !text.contains("timeout_ignored /draft/nodes/CallShared/properties:"),
            "{text}"
        );
    }

    #[test]
    fn params_are_typed_by_declaration() {
        let doc = json!({"parameters": {"n": {"type": "integer"}, "b": {"type": "boolean"}}});
        let p = params_for(
            &[
                ("n".into(), "5".into()),
                ("b".into(), "true".into()),
                ("s".into(), "7".into()),
                ("n2".into(), "x".into()),
            ],
            &doc,
        );
        assert_eq!(p["n"], json!(5));
        assert_eq!(p["b"], json!(true));
        assert_eq!(p["s"], json!("7"));
        assert_eq!(p["n2"], json!("x"));
    }

    #[test]
    fn modules_load_first() {
        let caller = template::header(&json!({"name": "A", "type": "inbound", "draft": {"nodes": {
            "c": {"id": "c", "type": "Flow", "properties": {"flowName": "Shared"}}}}}));
        let shared = template::header(&json!({"name": "Shared", "type": "inbound"}));
        let other = template::header(&json!({"name": "M", "type": "module"}));
        let lone = template::header(&json!({"name": "B", "type": "inbound"}));
        let headers = [caller, lone, shared, other];
        assert_eq!(module_files(&headers), [false, false, true, true]);
        assert_eq!(load_order(&headers), [2, 3, 0, 1]);
    }

    #[test]
    fn finding_lines() {
        let f = Finding::error("unknown_next_node", "/draft/nodes/a", "no such node");
        assert_eq!(
            finding_line(Path::new("x.json"), &f),
            "x.json: error unknown_next_node /draft/nodes/a: no such node"
        );
    }

    #[test]
    fn unreadable_files_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, b"[1]").unwrap();
        let args = CompileArgs {
            files: vec![bad],
            params: vec![],
            name: None,
            out: None,
        };
        let mut out = Vec::new();
        assert!(matches!(
            compile_files(&args, &mut out),
            Err(OfflineError::Document { .. })
        ));
        let args = CompileArgs {
            files: vec![dir.path().join("missing.json")],
            ..args
        };
        assert!(matches!(
            compile_files(&args, &mut out),
            Err(OfflineError::Read { .. })
        ));
    }
}
