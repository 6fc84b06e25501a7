//! The code map, checked (issue 20): every arrow between modules of a crate of the workspace
//! (the service library and each crate in `crates/`) points down. Reads each crate's `src/`
//! as text (no build of its own), so it runs in milliseconds:
//! - no import cycle between modules (each file is a module; test code is left out);
//! - no import of a layer above: each top-level module has a layer in its crate's layers
//!   ([`CRATES`]), and a module may use only modules of lower layers (or its own top-level
//!   module);
//! - no non-test file over [`MAX_FILE_LINES`] lines.
//!
//! Imports between crates are Cargo's business (a crate cannot import one that depends on
//! it). The README's "Code map" lists the same layers; change both together.

// Test code: a panic is a failed assertion, and a scenario may read top to bottom.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers of a crate's top-level modules, lowest first. A module may import its own
/// top-level module and any module of a lower layer; modules of one layer do not import each
/// other.
type Layers = &'static [&'static [&'static str]];

/// The layers of the service library (the root package).
const LAYERS: Layers = &[
    // Leaf vocabularies: import nothing of the crate (`calls` is the crate flowsmith-calls).
    &["findings", "calls", "job_model", "config", "work_limit"],
    &["metrics"],
    // What a template is.
    &["template"],
    // Pure rules over templates.
    &["compile"],
    &["validate"],
    &["simulate", "diagram"],
    // Archy YAML back to template documents (uses the compiler's names).
    &["import"],
    // The outside world and rows.
    &["genesys", "store", "telemetry"],
    // Use cases: templates (check, store a version), then jobs (plan, submit, run), and the
    // offline CLI commands over files.
    &["templates"],
    &["jobs"],
    &["offline"],
    // HTTP, then the process.
    &["error"],
    &["api"],
    &["app"],
];

/// The layers of the emulator (crates/sandbox): Archy (judge, catalogue, interpreter) and the
/// load generator below the sandbox org's modules.
const SANDBOX_LAYERS: Layers = &[
    &["archy", "loadgen"],
    &["shapes"],
    &["org"],
    &["state"],
    &["calls", "snapshot"],
    &["admin", "api"],
    &["bench"],
];

/// Every crate of the workspace, by its directory, with its layers.
const CRATES: &[(&str, Layers)] = &[
    (".", LAYERS),
    ("crates/calls", &[]),
    ("crates/sandbox", SANDBOX_LAYERS),
    ("crates/bench", BENCH_LAYERS),
    ("crates/cli", &[&["cli"]]),
];

/// The layers of the benchmark drivers (crates/bench): a database, the Terraform-style
/// client and the replica processes below the benchmarks that use them.
const BENCH_LAYERS: Layers = &[
    &["database", "terraform", "replicas"],
    &["history", "import", "provision", "service"],
];

/// The workspace's top level.
fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

const MAX_FILE_LINES: usize = 1000;

/// A module path inside the crate, e.g. `["jobs", "plan"]`; the crate root is `[]`.
type ModPath = Vec<String>;

struct Module {
    file: PathBuf,
    /// The file's text with comments, strings and test code blanked out.
    code: String,
    lines: usize,
}

/// The `src/` of a crate of the workspace.
fn src_of(dir: &str) -> PathBuf {
    root().join(dir).join("src")
}

#[test]
fn modules_form_no_cycle_and_import_no_layer_above() {
    let mut problems: Vec<String> = Vec::new();
    for (dir, layers) in CRATES {
        let modules = read_crate(&src_of(dir));
        let edges = edges(&modules);
        problems.extend(
            cycles(&modules, &edges)
                .iter()
                .map(|c| format!("{dir}: import cycle: {}", c.join(" -> "))),
        );
        problems.extend(
            upward_imports(&edges, layers)
                .into_iter()
                .map(|p| format!("{dir}: {p}")),
        );
    }
    assert!(
        problems.is_empty(),
        "{} problem(s) with the module graph (see the README's Code map):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn no_source_file_is_over_the_line_limit() {
    let long: Vec<String> = CRATES
        .iter()
        .flat_map(|(dir, _)| read_crate(&src_of(dir)).into_values())
        .filter(|m| m.lines > MAX_FILE_LINES)
        .map(|m| format!("{} has {} lines", m.file.display(), m.lines))
        .collect();
    assert!(
        long.is_empty(),
        "files over {MAX_FILE_LINES} lines (split them by what their parts are):\n{}",
        long.join("\n")
    );
}

#[test]
fn the_service_library_depends_on_no_emulator_or_benchmark() {
    // `cargo build -p flowsmith --lib` builds neither crates/sandbox nor crates/bench: the
    // service's [dependencies] name neither (its unit tests may, as dev-dependencies).
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let deps = section(&manifest, "[dependencies]");
    for other in ["flowsmith-sandbox", "flowsmith-bench", "flowsmith-cli"] {
        assert!(
            !deps.lines().any(|l| l.trim_start().starts_with(other)),
            "the service library must not depend on {other}"
        );
    }
}

#[test]
fn every_integration_test_is_a_target_of_the_binary_package() {
    // With `autotests = false`, a file in tests/ that crates/cli/Cargo.toml does not list
    // would never run.
    let manifest = std::fs::read_to_string(root().join("crates/cli/Cargo.toml")).unwrap();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(root().join("tests")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let target = if path.is_dir() && path.join("main.rs").exists() {
            format!("path = \"../../tests/{name}/main.rs\"")
        } else if name.ends_with(".rs") {
            format!("path = \"../../tests/{name}\"")
        } else {
            continue;
        };
        if !manifest.contains(&target) {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "tests/ files not listed as [[test]] in crates/cli/Cargo.toml: {missing:?}"
    );
}

/// The body of one `[section]` of a TOML file, up to the next section header.
fn section<'a>(toml: &'a str, header: &str) -> &'a str {
    let start = toml.find(header).map_or(toml.len(), |i| i + header.len());
    let rest = &toml[start..];
    let end = rest.find("\n[").map_or(rest.len(), |i| i + 1);
    &rest[..end]
}

#[test]
fn the_checker_sees_cycles_and_upward_imports() {
    // The checker itself: a two-module cycle and an import of a higher layer are found.
    let mut modules = BTreeMap::new();
    for (path, code) in [
        (vec!["store"], "use crate::jobs::model::X;"),
        (vec!["jobs"], ""),
        (vec!["jobs", "model"], "use crate::store::Row;"),
    ] {
        let path: ModPath = path.into_iter().map(String::from).collect();
        modules.insert(
            path,
            Module {
                file: PathBuf::new(),
                code: code.into(),
                lines: 1,
            },
        );
    }
    let edges = edges(&modules);
    assert_eq!(cycles(&modules, &edges).len(), 1);
    assert_eq!(
        upward_imports(&edges, LAYERS).len(),
        1,
        "store -> jobs goes up"
    );
}

/// Every module of the crate whose root is `src/lib.rs`, test modules left out.
fn read_crate(src: &Path) -> BTreeMap<ModPath, Module> {
    let mut out = BTreeMap::new();
    read_module(&src.join("lib.rs"), Vec::new(), &mut out);
    out
}

fn read_module(file: &Path, path: ModPath, out: &mut BTreeMap<ModPath, Module>) {
    let text = std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    let code = strip(&text);
    let lines = text.lines().count();
    // Child modules declared in this file (`mod x;`), test ones left out.
    let dir = if file.ends_with("mod.rs") || file.ends_with("lib.rs") {
        file.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        file.with_extension("")
    };
    for child in child_modules(&code) {
        let mut child_path = path.clone();
        child_path.push(child.clone());
        let flat = dir.join(format!("{child}.rs"));
        let nested = dir.join(&child).join("mod.rs");
        let child_file = if flat.exists() { flat } else { nested };
        read_module(&child_file, child_path, out);
    }
    out.insert(
        path,
        Module {
            file: file.to_path_buf(),
            code,
            lines,
        },
    );
}

/// The names of `mod x;` declarations (inline `mod x { .. }` blocks stay part of the file).
fn child_modules(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in code.lines() {
        let t = line.trim();
        let rest = ["pub mod ", "pub(crate) mod ", "pub(super) mod ", "mod "]
            .iter()
            .find_map(|p| t.strip_prefix(p));
        if let Some(rest) = rest
            && let Some(name) = rest.strip_suffix(';')
        {
            out.push(name.trim().to_owned());
        }
    }
    out
}

/// The code with comments and string literals blanked and `#[cfg(test)]` items removed.
fn strip(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == '/' && b.get(i + 1) == Some(&'/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && b.get(i + 1) == Some(&'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == '*' && b[i + 1] == '/') {
                if b[i] == '\n' {
                    out.push('\n');
                }
                i += 1;
            }
            i += 2;
        } else if c == 'r' && matches!(b.get(i + 1), Some('"') | Some('#')) && raw_start(&b, i) {
            i = skip_raw_string(&b, i, &mut out);
        } else if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                } else if b[i] == '\n' {
                    out.push('\n');
                }
                i += 1;
            }
            out.push_str("\"\"");
            i += 1;
        } else if c == '\'' && b.get(i + 2) == Some(&'\'') {
            out.push_str("' '");
            i += 3;
        } else if c == '\'' && b.get(i + 1) == Some(&'\\') {
            // An escaped char literal: '\n', '\'', '\u{..}'.
            let close = (i + 3..b.len()).find(|&j| b[j] == '\'').unwrap_or(b.len());
            out.push_str("' '");
            i = close + 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    remove_test_items(&out)
}

fn raw_start(b: &[char], i: usize) -> bool {
    // `r"…"` or `r#"…"#`, not an identifier ending in r.
    let before = if i == 0 { ' ' } else { b[i - 1] };
    if before.is_alphanumeric() || before == '_' {
        return false;
    }
    let mut j = i + 1;
    while b.get(j) == Some(&'#') {
        j += 1;
    }
    b.get(j) == Some(&'"')
}

fn skip_raw_string(b: &[char], mut i: usize, out: &mut String) -> usize {
    i += 1;
    let mut hashes = 0;
    while b[i] == '#' {
        hashes += 1;
        i += 1;
    }
    i += 1;
    loop {
        if i >= b.len() {
            return i;
        }
        if b[i] == '"' && (1..=hashes).all(|k| b.get(i + k) == Some(&'#')) {
            out.push_str("\"\"");
            return i + 1 + hashes;
        }
        if b[i] == '\n' {
            out.push('\n');
        }
        i += 1;
    }
}

/// Drops every item that follows a `#[cfg(test)]` attribute: a `mod x;` line or a braced
/// item up to its closing brace.
fn remove_test_items(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "#[cfg(test)]".len()..];
        let semi = after.find(';');
        let brace = after.find('{');
        let end = match (semi, brace) {
            (Some(s), Some(b)) if s < b => s + 1,
            (Some(s), None) => s + 1,
            (_, Some(b)) => matching_brace(after, b).map_or(after.len(), |e| e + 1),
            (None, None) => after.len(),
        };
        // Keep the line count of the file.
        out.extend(after[..end].chars().filter(|&c| c == '\n'));
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn matching_brace(s: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `from -> to` for every module path a module names (`crate::…`, `super::…`), resolved to
/// the deepest module that exists; a module naming its own descendants or ancestors is not an
/// edge (a parent declares and re-exports its children; a child reaching into its parent's
/// own items is counted when the parent is a separate file).
fn edges(modules: &BTreeMap<ModPath, Module>) -> BTreeSet<(ModPath, ModPath)> {
    let mut out = BTreeSet::new();
    for (from, m) in modules {
        for path in named_paths(&m.code, from) {
            let Some(to) = deepest_module(modules, &path) else {
                continue;
            };
            if to == *from || to.starts_with(from) || to.is_empty() {
                continue;
            }
            out.insert((from.clone(), to));
        }
    }
    out
}

fn deepest_module(modules: &BTreeMap<ModPath, Module>, path: &[String]) -> Option<ModPath> {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| modules.contains_key(p))
}

/// The absolute module paths a piece of code names: `crate::a::b`, `crate::{a, b::c}`,
/// `super::x`, expanded relative to `here`.
fn named_paths(code: &str, here: &ModPath) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let word_start = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        let rest: String = chars[i..chars.len().min(i + 7)].iter().collect();
        if word_start && (rest.starts_with("crate::") || rest.starts_with("super::")) {
            let (base, skip) = if rest.starts_with("crate::") {
                (Vec::new(), 7)
            } else {
                let mut base = here.clone();
                let mut j = i;
                // super::super::…
                while chars[j..].iter().take(7).collect::<String>() == "super::" {
                    base.pop();
                    j += 7;
                }
                (base, j - i)
            };
            let end = path_end(&chars, i + skip);
            let tail: String = chars[i + skip..end].iter().collect();
            for p in expand(&tail) {
                let mut full = base.clone();
                full.extend(p);
                out.push(full);
            }
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

/// The end of a path that starts at `i`: identifiers, `::`, and one braced group.
fn path_end(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphanumeric() || c == '_' || c == ':' {
            i += 1;
        } else if c == '{' {
            let mut depth = 0;
            while i < chars.len() {
                match chars[i] {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            return i;
        } else {
            break;
        }
    }
    i
}

/// `a::b::{c, d::{e, f}}` → `[a,b,c]`, `[a,b,d,e]`, `[a,b,d,f]`; `self` and `*` end a path.
fn expand(tail: &str) -> Vec<Vec<String>> {
    let tail: String = tail.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tail.find('{') else {
        return vec![segments(&tail)];
    };
    let prefix = segments(&tail[..open]);
    let inner = &tail[open + 1..tail.len().saturating_sub(1)];
    let mut out = Vec::new();
    for part in split_top(inner) {
        for mut p in expand(part) {
            let mut full = prefix.clone();
            full.append(&mut p);
            out.push(full);
        }
    }
    if out.is_empty() {
        out.push(prefix);
    }
    out
}

fn segments(s: &str) -> Vec<String> {
    s.split("::")
        .filter(|p| !p.is_empty() && *p != "self" && *p != "*")
        .map(String::from)
        .collect()
}

fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out.into_iter().filter(|p| !p.is_empty()).collect()
}

/// The strongly connected components with more than one module (Tarjan's algorithm).
fn cycles(
    modules: &BTreeMap<ModPath, Module>,
    edges: &BTreeSet<(ModPath, ModPath)>,
) -> Vec<Vec<String>> {
    let names: Vec<&ModPath> = modules.keys().collect();
    let index: BTreeMap<&ModPath, usize> = names.iter().enumerate().map(|(i, p)| (*p, i)).collect();
    let mut succ = vec![Vec::new(); names.len()];
    for (a, b) in edges {
        if let (Some(&a), Some(&b)) = (index.get(a), index.get(b)) {
            succ[a].push(b);
        }
    }
    let mut t = Tarjan {
        succ: &succ,
        index: vec![None; names.len()],
        low: vec![0; names.len()],
        on_stack: vec![false; names.len()],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..names.len() {
        if t.index[v].is_none() {
            t.visit(v);
        }
    }
    t.out
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|c| {
            let mut c: Vec<String> = c.iter().map(|&i| display(names[i])).collect();
            c.sort();
            c
        })
        .collect()
}

struct Tarjan<'a> {
    succ: &'a [Vec<usize>],
    index: Vec<Option<usize>>,
    low: Vec<usize>,
    on_stack: Vec<bool>,
    stack: Vec<usize>,
    next: usize,
    out: Vec<Vec<usize>>,
}

impl Tarjan<'_> {
    fn visit(&mut self, v: usize) {
        self.index[v] = Some(self.next);
        self.low[v] = self.next;
        self.next += 1;
        self.stack.push(v);
        self.on_stack[v] = true;
        for &w in &self.succ[v] {
            match self.index[w] {
                None => {
                    self.visit(w);
                    self.low[v] = self.low[v].min(self.low[w]);
                }
                Some(iw) if self.on_stack[w] => self.low[v] = self.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(self.low[v]) == self.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = self.stack.pop() {
                self.on_stack[w] = false;
                scc.push(w);
                if w == v {
                    break;
                }
            }
            self.out.push(scc);
        }
    }
}

fn layer_of(layers: Layers, top: &str) -> Option<usize> {
    layers.iter().position(|l| l.contains(&top))
}

/// Imports between top-level modules that do not point to a lower layer.
fn upward_imports(edges: &BTreeSet<(ModPath, ModPath)>, layers: Layers) -> Vec<String> {
    let mut out = Vec::new();
    for (a, b) in edges {
        let (Some(ta), Some(tb)) = (a.first(), b.first()) else {
            continue;
        };
        if ta == tb {
            continue;
        }
        match (layer_of(layers, ta), layer_of(layers, tb)) {
            (Some(la), Some(lb)) if lb < la => {}
            (Some(_), Some(_)) => out.push(format!(
                "{} imports {}: a layer above or beside it",
                display(a),
                display(b)
            )),
            _ => out.push(format!(
                "{} imports {}: add the top-level module to its crate's layers (tests/architecture.rs) and the README's Code map",
                display(a),
                display(b)
            )),
        }
    }
    out
}

fn display(p: &ModPath) -> String {
    if p.is_empty() {
        "crate".into()
    } else {
        p.join("::")
    }
}
