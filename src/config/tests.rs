use super::*;
use std::collections::HashMap;

fn load(vars: &[(&str, &str)], overrides: Overrides) -> Result<Settings, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::load_from(&overrides, |k| map.get(k).cloned())
}

/// Overrides naming a config file with `text`, in a folder that lives as long as the
/// returned `TempDir`.
fn with_file(text: &str) -> (tempfile::TempDir, Overrides) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.toml");
    std::fs::write(&path, text).unwrap();
    let o = Overrides {
        config_file: Some(path),
        ..Default::default()
    };
    (dir, o)
}

#[test]
fn defaults_are_loopback_and_sqlite_file() {
    let s = load(&[], Overrides::default()).unwrap();
    assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(s.database_url, "sqlite://flowsmith.db");
    assert!(s.targets.is_empty());
    s.check_bind().unwrap();
}

#[test]
fn seed_variables_define_default_target_and_secret_is_redacted() {
    let s = load(
        &[
            ("GENESYS_CLIENT_ID", "abc"),
            ("GENESYS_CLIENT_SECRET", "hunter2"),
            ("GENESYS_ENVIRONMENT", "mypurecloud.ie"),
        ],
        Overrides::default(),
    )
    .unwrap();
    let t = &s.targets[0];
    assert_eq!(t.name, "default");
    assert_eq!(t.api_base_url, "https://api.mypurecloud.ie");
    assert_eq!(t.login_base_url, "https://login.mypurecloud.ie");
    assert_eq!(t.rate_limit_per_minute, 300);
    let dbg = format!("{s:?}");
    assert!(!dbg.contains("hunter2"), "{dbg}");
}

#[test]
fn a_database_password_is_not_in_debug() {
    let s = load(
        &[(
            "FLOWSMITH_DATABASE_URL",
            "postgres://flowsmith:hunter2@db/flowsmith",
        )],
        Overrides::default(),
    )
    .unwrap();
    let dbg = format!("{s:?}");
    assert!(!dbg.contains("hunter2"), "{dbg}");
    assert!(
        dbg.contains("postgres://flowsmith:***@db/flowsmith"),
        "{dbg}"
    );
}

#[test]
fn environment_may_be_a_base_url() {
    assert_eq!(
        resolve_environment("http://127.0.0.1:9090/").unwrap(),
        (
            "http://127.0.0.1:9090".into(),
            "http://127.0.0.1:9090".into()
        )
    );
    assert!(resolve_environment("not a host").is_err());
    assert!(resolve_environment("").is_err());
}

#[test]
fn environment_beats_file_and_flags_beat_environment() {
    let (_dir, o) = with_file(
        "listen = \"127.0.0.1:7000\"\ndatabase_url = \"sqlite://a.db\"\n[[targets]]\nname = \"eu\"\nenvironment = \"mypurecloud.de\"\nclient_id = \"i\"\nclient_secret = \"s\"\nrate_limit_per_minute = 120\n",
    );
    let s = load(&[("FLOWSMITH_DATABASE_URL", "sqlite://b.db")], o.clone()).unwrap();
    assert_eq!(s.listen.port(), 7000);
    assert_eq!(s.database_url, "sqlite://b.db");
    assert_eq!(s.targets[0].rate_limit_per_minute, 120);
    let o2 = Overrides {
        database_url: Some("sqlite://c.db".into()),
        ..o
    };
    let s = load(&[("FLOWSMITH_DATABASE_URL", "sqlite://b.db")], o2).unwrap();
    assert_eq!(s.database_url, "sqlite://c.db");
}

#[test]
fn unknown_file_keys_and_bad_env_are_errors() {
    let (_dir, o) = with_file("lisen = \"127.0.0.1:7000\"\n");
    assert!(matches!(load(&[], o), Err(ConfigError::Toml { .. })));
    assert!(matches!(
        load(&[("FLOWSMITH_LISTEN", "nope")], Overrides::default()),
        Err(ConfigError::Env { .. })
    ));
}

#[test]
fn public_bind_needs_tokens() {
    let s = load(
        &[("FLOWSMITH_LISTEN", "0.0.0.0:8080")],
        Overrides::default(),
    )
    .unwrap();
    assert!(matches!(
        s.check_bind(),
        Err(ConfigError::PublicWithoutTokens(_))
    ));
    let s = load(
        &[
            ("FLOWSMITH_LISTEN", "0.0.0.0:8080"),
            ("FLOWSMITH_API_TOKENS", "a, b"),
        ],
        Overrides::default(),
    )
    .unwrap();
    s.check_bind().unwrap();
    assert!(s.token_allowed("b"));
    assert!(!s.token_allowed("c"));
    assert!(!s.token_allowed(""));
}

#[test]
fn an_empty_token_variable_is_no_token() {
    // What compose passes when FLOWSMITH_API_TOKENS is not exported: the service refuses.
    let s = load(
        &[
            ("FLOWSMITH_LISTEN", "0.0.0.0:8080"),
            ("FLOWSMITH_API_TOKENS", ""),
        ],
        Overrides::default(),
    )
    .unwrap();
    assert!(s.api_tokens.is_empty());
    assert!(matches!(
        s.check_bind(),
        Err(ConfigError::PublicWithoutTokens(_))
    ));
}

#[test]
fn empty_tokens_are_not_tokens() {
    let (_dir, o) = with_file("listen = \"0.0.0.0:8080\"\napi_tokens = [\"\", \" \"]\n");
    let s = load(&[], o).unwrap();
    assert!(s.api_tokens.is_empty());
    assert!(!s.token_allowed(""));
    assert!(matches!(
        s.check_bind(),
        Err(ConfigError::PublicWithoutTokens(_))
    ));
}

#[test]
fn replicas_come_from_the_file_and_the_environment() {
    // Arrange: two replicas in the file, three from the environment.
    let (_dir, o) = with_file(
        "replicas = 2\n[[targets]]\nname = \"eu\"\nenvironment = \"mypurecloud.de\"\nclient_id = \"i\"\nclient_secret = \"s\"\nrate_limit_per_minute = 300\n",
    );
    assert_eq!(load(&[], o.clone()).unwrap().replicas, 2);
    let s = load(&[("FLOWSMITH_REPLICAS", "3")], o.clone()).unwrap();
    assert_eq!(s.replicas, 3);
    // The budget is the target's, whatever the replicas (they lease it from the database).
    assert_eq!(s.targets[0].rate_limit_per_minute, 300);
    assert_eq!(load(&[], Overrides::default()).unwrap().replicas, 1);
    assert!(load(&[("FLOWSMITH_REPLICAS", "0")], o.clone()).is_err());
    assert!(load(&[("FLOWSMITH_REPLICAS", "two")], o).is_err());
}

#[test]
fn the_database_start_wait_comes_from_the_file_and_the_environment() {
    let (_dir, o) = with_file("database_start_wait_secs = 5\n");
    assert_eq!(
        load(&[], Overrides::default())
            .unwrap()
            .database_start_wait_secs,
        30
    );
    assert_eq!(load(&[], o.clone()).unwrap().database_start_wait_secs, 5);
    let s = load(&[("FLOWSMITH_DATABASE_START_WAIT_SECS", "0")], o.clone()).unwrap();
    assert_eq!(s.database_start_wait_secs, 0);
    let err = load(&[("FLOWSMITH_DATABASE_START_WAIT_SECS", "soon")], o)
        .unwrap_err()
        .to_string();
    assert!(err.contains("FLOWSMITH_DATABASE_START_WAIT_SECS"), "{err}");
}

#[test]
fn worker_and_shutdown_settings_come_from_the_file_and_the_environment() {
    let (_dir, o) =
        with_file("shutdown_grace_secs = 2.5\n[worker]\nlease_secs = 12\npoll_ms = 40\n");
    let s = load(&[], Overrides::default()).unwrap();
    assert_eq!(s.worker, WorkerSettings::default());
    assert_eq!(s.shutdown_grace_secs, 30.0);
    let s = load(
        &[
            ("FLOWSMITH_HEARTBEAT_SECS", "3"),
            ("FLOWSMITH_GENESYS_ATTEMPTS", "2"),
        ],
        o.clone(),
    )
    .unwrap();
    assert_eq!(
        s.worker,
        WorkerSettings {
            lease_secs: Some(12),
            heartbeat_secs: Some(3),
            poll_ms: Some(40),
            genesys_attempts: Some(2),
        }
    );
    assert_eq!(s.shutdown_grace_secs, 2.5);
    // A bad value is an error naming the variable, never dropped for the default.
    for (name, value) in [
        ("FLOWSMITH_LEASE_SECS", "soon"),
        ("FLOWSMITH_LEASE_SECS", "0"),
        ("FLOWSMITH_WORKER_POLL_MS", "-5"),
        ("FLOWSMITH_GENESYS_ATTEMPTS", "0"),
        ("FLOWSMITH_SHUTDOWN_GRACE_SECS", "NaN"),
        ("FLOWSMITH_SHUTDOWN_GRACE_SECS", "-1"),
    ] {
        let err = load(&[(name, value)], o.clone()).unwrap_err().to_string();
        assert!(err.contains(name), "{name}={value}: {err}");
    }
}

#[test]
fn limits_come_from_the_file_and_the_environment() {
    let (_dir, o) = with_file("[limits]\nmax_value_bytes = 100\nmax_document_depth = 10\n");
    let s = load(&[("FLOWSMITH_REQUEST_WORK_MS", "250")], o.clone()).unwrap();
    assert_eq!(s.limits.max_value_bytes, 100);
    assert_eq!(s.limits.max_document_depth, 10);
    assert_eq!(s.limits.request_work_ms, 250);
    assert_eq!(
        s.limits.max_simulation_steps,
        Limits::default().max_simulation_steps
    );
    assert!(load(&[("FLOWSMITH_MAX_DOCUMENT_DEPTH", "500")], o.clone()).is_err());
    assert!(load(&[("FLOWSMITH_MAX_VALUE_BYTES", "0")], o).is_err());
}

#[test]
fn the_retention_pacing_comes_from_the_file_and_the_environment() {
    let d = load(&[], Overrides::default()).unwrap();
    assert_eq!(
        (
            d.retention_days,
            d.retention_batch_jobs,
            d.retention_pause_ms
        ),
        (90, 50, 250)
    );
    let (_dir, o) = with_file("retention_batch_jobs = 10\nretention_pause_ms = 0\n");
    let s = load(&[], o.clone()).unwrap();
    assert_eq!((s.retention_batch_jobs, s.retention_pause_ms), (10, 0));
    let s = load(
        &[
            ("FLOWSMITH_RETENTION_BATCH_JOBS", "500"),
            ("FLOWSMITH_RETENTION_PAUSE_MS", "1000"),
        ],
        o.clone(),
    )
    .unwrap();
    assert_eq!((s.retention_batch_jobs, s.retention_pause_ms), (500, 1000));
    for (name, value) in [
        ("FLOWSMITH_RETENTION_BATCH_JOBS", "0"),
        ("FLOWSMITH_RETENTION_BATCH_JOBS", "many"),
        ("FLOWSMITH_RETENTION_PAUSE_MS", "-1"),
    ] {
        let err = load(&[(name, value)], o.clone()).unwrap_err().to_string();
        assert!(err.contains(name), "{name}={value}: {err}");
    }
}
