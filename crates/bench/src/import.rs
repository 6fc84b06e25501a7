//! `flowsmith bench import`: importing a 4,800-line Archy export (issue 22: under 1 s).
//!
//! The input is built deterministically from a corpus file (the repository's copy of
//! `design-architect-flow-data-actions-for-resiliency__CacheExampleFlow.yaml`, 181 lines,
//! one task of data table lookups, decisions and data actions): its task is repeated with
//! unique names (task `name` and `refId`, and every `Task.` variable, suffixed by the copy's
//! number) until the file has at least `lines` lines, as a large export of many tasks reads.

use flowsmith::import::{self, ArchyFile, ImportLimits};

const CORPUS_FILE: &str = include_str!(
    "../../../tests/fixtures/archy-corpus/design-architect-flow-data-actions-for-resiliency__CacheExampleFlow.yaml"
);

/// The corpus flow with its task repeated until the file has at least `lines` lines.
pub fn large_export(lines: usize) -> String {
    let split = CORPUS_FILE
        .find("    - task:")
        .expect("the corpus file has a task list");
    let task = &CORPUS_FILE[split..];
    let mut out = CORPUS_FILE.to_owned();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    let mut k = 1;
    while out.lines().count() < lines {
        let copy = suffix_task_variables(task, k)
            .replace("refId: startingTask", &format!("refId: startingTask{k}"))
            .replace(
                "name: IVR cache example",
                &format!("name: IVR cache example {k}"),
            );
        out.push_str(&copy);
        if !out.ends_with('\n') {
            out.push('\n');
        }
        k += 1;
    }
    out
}

/// `Task.X` → `Task.X_k` everywhere in `text` (task variables are per task; the importer
/// makes them flow variables, so each copy's must be its own).
fn suffix_task_variables(text: &str, k: usize) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    let mut rest = text;
    while let Some(i) = rest.find("Task.") {
        out.push_str(&rest[..i + 5]);
        rest = &rest[i + 5..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        out.push_str(&rest[..end]);
        if end > 0 {
            out.push_str(&format!("_{k}"));
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Times the import of the generated export; false when it does not import.
pub fn bench_import(lines: usize, iterations: usize) -> bool {
    let yaml = large_export(lines);
    let n = yaml.lines().count();
    let file = [ArchyFile {
        name: "large-export.yaml".into(),
        yaml,
    }];
    let nodes = match import::import(&file, ImportLimits::default()) {
        Ok(i) => i.templates[0].document["draft"]["nodes"]
            .as_object()
            .map_or(0, serde_json::Map::len),
        Err(e) => {
            println!("the generated export does not import: {:?}", e.findings);
            return false;
        }
    };
    let times = super::time_runs(iterations, || {
        std::hint::black_box(import::import(&file, ImportLimits::default()).ok());
    });
    let median = times[times.len() / 2];
    println!(
        "import a {n}-line export ({nodes} nodes): {}",
        super::describe(&times)
    );
    println!(
        "ratio of median to the 1 s target: {:.4}",
        median.as_secs_f64() / 1.0
    );
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_large_export_is_deterministic_long_enough_and_imports() {
        let a = large_export(4800);
        assert_eq!(a, large_export(4800));
        assert!(a.lines().count() >= 4800);
        assert!(a.contains("refId: startingTask3"));
        assert!(a.contains("Task.CacheDuration_3"));
        let file = [ArchyFile {
            name: "large.yaml".into(),
            yaml: a,
        }];
        let imported = import::import(&file, ImportLimits::default());
        assert!(imported.is_ok(), "{:?}", imported.err());
    }
}
