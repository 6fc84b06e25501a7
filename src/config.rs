//! Configuration: built-in defaults, then an optional `flowsmith.toml`, then environment
//! variables, then command-line flags (each layer wins over the one before).
//!
//! Secrets (API tokens, OAuth client secrets) are `SecretString`: their `Debug` prints
//! `[REDACTED]`, and nothing here serialises them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Default per-token request budget of a Genesys Cloud org (requests per minute).
pub const GENESYS_DEFAULT_RATE_LIMIT: u32 = 300;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Toml { path: PathBuf, message: String },
    #[error("{name}: {message}")]
    Env { name: String, message: String },
    #[error("target {target}: {message}")]
    Target { target: String, message: String },
    #[error(
        "refusing to listen on {0} without API tokens: set FLOWSMITH_API_TOKENS (or api_tokens in flowsmith.toml), or listen on a loopback address"
    )]
    PublicWithoutTokens(SocketAddr),
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// How long start-up waits for a PostgreSQL server that is not up yet, unless
/// `database_start_wait_secs` says otherwise.
pub const DEFAULT_DATABASE_START_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// How long a request waits for a database connection unless
/// `database_acquire_timeout_ms` says otherwise: a load balancer's readiness probe (1-5 s)
/// sees a 503, not a timeout.
pub const DEFAULT_DATABASE_ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// How long job events and finished jobs' steps are kept unless `retention_days` says
/// otherwise: long enough for event-stream resumption and audits.
pub const DEFAULT_RETENTION_DAYS: u64 = 90;

/// Jobs the retention pass prunes in one batch (each in a transaction of its own) before
/// it pauses, unless `retention_batch_jobs` says otherwise.
pub const DEFAULT_RETENTION_BATCH_JOBS: u64 = 50;

/// The retention pass's pause after each batch, unless `retention_pause_ms` says otherwise:
/// requests get the database (and, on a small machine, the CPU) to themselves meanwhile.
pub const DEFAULT_RETENTION_PAUSE_MS: u64 = 250;

/// The URL as it may be shown: a password in it is replaced by `***`.
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

#[derive(Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub database_url: String,
    pub api_tokens: Vec<SecretString>,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Longest a request may take before the service answers 408.
    pub request_timeout_secs: u64,
    pub log_format: LogFormat,
    pub targets: Vec<TargetConfig>,
    /// Seconds between periodic drift checks of every target (the
    /// `flowsmith_drifted_flows` gauge); 0, the default, turns them off.
    pub drift_check_interval_secs: u64,
    /// How long start-up waits for a PostgreSQL server that refuses connections (not up
    /// yet, starting, out of slots) before it gives up; 30 by default.
    pub database_start_wait_secs: u64,
    /// Longest a request (or the worker) waits for a database connection, in milliseconds;
    /// past it the request answers 503 `storage-unavailable` with `Retry-After`. Shorter
    /// than the request timeout, so an unreachable database is a prompt 503, not a 408.
    pub database_acquire_timeout_ms: u64,
    /// Days after which job events and finished jobs' steps are pruned (each flow's
    /// deployment history is kept whole); 0 keeps everything.
    pub retention_days: u64,
    /// Jobs pruned per batch of the retention pass (`retention_batch_jobs`,
    /// `FLOWSMITH_RETENTION_BATCH_JOBS`; at least 1).
    pub retention_batch_jobs: u64,
    /// Pause after each batch of the retention pass, in milliseconds (`retention_pause_ms`,
    /// `FLOWSMITH_RETENTION_PAUSE_MS`; 0: none).
    pub retention_pause_ms: u64,
    /// Bounds on what one request may make the service do (`[limits]`).
    pub limits: Limits,
    /// How many `serve` processes share the database (`replicas`, `FLOWSMITH_REPLICAS`;
    /// 1 by default). More than one needs PostgreSQL; there the replicas lease each
    /// target's rate budget from the database (`genesys::budget`), whatever their number.
    pub replicas: u32,
    /// The job worker's timing (`[worker]`, `FLOWSMITH_LEASE_SECS`, ...).
    pub worker: WorkerSettings,
    /// How long shutdown waits for in-flight requests and background tasks
    /// (`shutdown_grace_secs`, `FLOWSMITH_SHUTDOWN_GRACE_SECS`; 30 by default).
    pub shutdown_grace_secs: f64,
}

/// The job worker's timing; `None` keeps the worker's default (see `jobs::WorkerOptions`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerSettings {
    /// How long a claimed job's lease lasts without a heartbeat (`FLOWSMITH_LEASE_SECS`).
    pub lease_secs: Option<u64>,
    /// Seconds between lease heartbeats (`FLOWSMITH_HEARTBEAT_SECS`).
    pub heartbeat_secs: Option<u64>,
    /// How often an idle worker looks for work (`FLOWSMITH_WORKER_POLL_MS`).
    pub poll_ms: Option<u64>,
    /// Attempts of one Genesys request on 5xx, timeouts and connection errors, the first
    /// included, before the caller sees it fail (`FLOWSMITH_GENESYS_ATTEMPTS`; 8 by default,
    /// with capped exponential backoff between them).
    pub genesys_attempts: Option<u64>,
}

impl WorkerSettings {
    fn check(&self) -> Result<(), ConfigError> {
        for (name, v) in [
            ("FLOWSMITH_LEASE_SECS", self.lease_secs),
            ("FLOWSMITH_HEARTBEAT_SECS", self.heartbeat_secs),
            ("FLOWSMITH_WORKER_POLL_MS", self.poll_ms),
            ("FLOWSMITH_GENESYS_ATTEMPTS", self.genesys_attempts),
        ] {
            if v == Some(0) {
                return Err(ConfigError::Env {
                    name: name.into(),
                    message: "must be positive".into(),
                });
            }
        }
        Ok(())
    }
}

/// How long shutdown waits for in-flight work unless `shutdown_grace_secs` says otherwise.
pub const DEFAULT_SHUTDOWN_GRACE_SECS: f64 = 30.0;

/// By hand: a PostgreSQL URL may hold a password, shown as `***`.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("database_url", &redacted(&self.database_url))
            .field("api_tokens", &self.api_tokens)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("request_timeout_secs", &self.request_timeout_secs)
            .field("log_format", &self.log_format)
            .field("targets", &self.targets)
            .field("drift_check_interval_secs", &self.drift_check_interval_secs)
            .field("database_start_wait_secs", &self.database_start_wait_secs)
            .field(
                "database_acquire_timeout_ms",
                &self.database_acquire_timeout_ms,
            )
            .field("retention_days", &self.retention_days)
            .field("retention_batch_jobs", &self.retention_batch_jobs)
            .field("retention_pause_ms", &self.retention_pause_ms)
            .field("limits", &self.limits)
            .field("replicas", &self.replicas)
            .field("worker", &self.worker)
            .field("shutdown_grace_secs", &self.shutdown_grace_secs)
            .finish()
    }
}

/// Bounds on the work and memory of one request; every one answers a 4xx problem naming
/// the setting and the place. `[limits]` in `flowsmith.toml`, `FLOWSMITH_<NAME>` in the
/// environment (e.g. `FLOWSMITH_MAX_DOCUMENT_DEPTH`). The expression limits are fixed by
/// the template language: see `template::expr::MAX_EXPR_LEN` and `MAX_EXPR_DEPTH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Deepest nesting of arrays/objects in any JSON or YAML body (at most 120: the JSON and
    /// YAML readers stop at 128 on their own).
    pub max_document_depth: usize,
    /// Largest template, in bytes of its JSON form, after YAML aliases are expanded.
    pub max_document_bytes: usize,
    /// Largest `max_steps` a simulation may ask for.
    pub max_simulation_steps: usize,
    /// Largest simulation transcript, in bytes of its texts.
    pub max_transcript_bytes: usize,
    /// Longest string a simulation may produce (a variable, a prompt), in bytes.
    pub max_value_bytes: usize,
    /// Longest the CPU work of one request (reading and validating a document, running a
    /// simulation) may take, in milliseconds.
    pub request_work_ms: u64,
    /// Most `/v1` requests handled at once; one more is answered 503 with `Retry-After` at
    /// once, instead of waiting in memory (for a database connection, say) without bound.
    /// A request counts once its body has come (see `body_read_timeout_secs`).
    pub max_requests_in_flight: usize,
    /// Longest a client may take to send a request body, in seconds: 408 after it. The body
    /// is read before the request counts as in flight, so slow clients hold no place.
    pub body_read_timeout_secs: u64,
    /// Longest a client may take to send a request's headers, in seconds, and how long a
    /// keep-alive connection may sit idle between requests (hyper's header-read timer runs
    /// in both cases): the connection is closed after it.
    pub header_read_timeout_secs: u64,
    /// Most connections open at once; 0 (the default) is three quarters of the process's
    /// file limit (`RLIMIT_NOFILE`), leaving the rest for the database, the log and Genesys.
    /// Past it, the connection idle longest is closed to make room.
    pub max_connections: usize,
}

/// Largest accepted `max_document_depth`.
pub const MAX_DOCUMENT_DEPTH_CEILING: usize = 120;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_document_depth: 64,
            max_document_bytes: 4 * 1024 * 1024,
            max_simulation_steps: 1_000_000,
            max_transcript_bytes: 1024 * 1024,
            max_value_bytes: 64 * 1024,
            request_work_ms: 10_000,
            max_requests_in_flight: 512,
            body_read_timeout_secs: 10,
            header_read_timeout_secs: 10,
            max_connections: 0,
        }
    }
}

impl Limits {
    fn check(&self) -> Result<(), String> {
        let d = self.max_document_depth;
        if !(2..=MAX_DOCUMENT_DEPTH_CEILING).contains(&d) {
            return Err(format!(
                "max_document_depth must be 2 to {MAX_DOCUMENT_DEPTH_CEILING}, not {d}"
            ));
        }
        let positive = [
            ("max_document_bytes", self.max_document_bytes as u64),
            ("max_simulation_steps", self.max_simulation_steps as u64),
            ("max_transcript_bytes", self.max_transcript_bytes as u64),
            ("max_value_bytes", self.max_value_bytes as u64),
            ("request_work_ms", self.request_work_ms),
            ("max_requests_in_flight", self.max_requests_in_flight as u64),
            ("body_read_timeout_secs", self.body_read_timeout_secs),
            ("header_read_timeout_secs", self.header_read_timeout_secs),
        ];
        match positive.iter().find(|(_, v)| *v == 0) {
            Some((name, _)) => Err(format!("{name} must be positive")),
            None => Ok(()),
        }
    }

    /// How long one request's CPU work may take.
    pub fn work(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.request_work_ms)
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://flowsmith.db".to_owned(),
            api_tokens: Vec::new(),
            max_body_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            log_format: LogFormat::Text,
            targets: Vec::new(),
            drift_check_interval_secs: 0,
            database_start_wait_secs: DEFAULT_DATABASE_START_WAIT.as_secs(),
            database_acquire_timeout_ms: DEFAULT_DATABASE_ACQUIRE_TIMEOUT.as_millis() as u64,
            retention_days: DEFAULT_RETENTION_DAYS,
            retention_batch_jobs: DEFAULT_RETENTION_BATCH_JOBS,
            retention_pause_ms: DEFAULT_RETENTION_PAUSE_MS,
            limits: Limits::default(),
            replicas: 1,
            worker: WorkerSettings::default(),
            shutdown_grace_secs: DEFAULT_SHUTDOWN_GRACE_SECS,
        }
    }
}

/// One Genesys Cloud org (or the sandbox).
#[derive(Debug, Clone)]
pub struct TargetConfig {
    pub name: String,
    /// Platform API base, e.g. `https://api.mypurecloud.com`.
    pub api_base_url: String,
    /// OAuth base, e.g. `https://login.mypurecloud.com`.
    pub login_base_url: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub rate_limit_per_minute: u32,
    /// At most this many steps of one job in flight (`None`: as many as keep the target's
    /// rate limiter busy, which the worker measures).
    pub concurrency: Option<u32>,
}

/// `flowsmith.toml`. Unknown keys are errors, so a typo does not silently do nothing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<SocketAddr>,
    database_url: Option<String>,
    api_tokens: Option<Vec<String>>,
    max_body_bytes: Option<usize>,
    request_timeout_secs: Option<u64>,
    drift_check_interval_secs: Option<u64>,
    database_start_wait_secs: Option<u64>,
    database_acquire_timeout_ms: Option<u64>,
    retention_days: Option<u64>,
    retention_batch_jobs: Option<u64>,
    retention_pause_ms: Option<u64>,
    replicas: Option<u32>,
    log_format: Option<LogFormat>,
    #[serde(default)]
    targets: Vec<FileTarget>,
    limits: Option<Limits>,
    worker: Option<WorkerSettings>,
    shutdown_grace_secs: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTarget {
    name: String,
    environment: Option<String>,
    api_base_url: Option<String>,
    login_base_url: Option<String>,
    client_id: String,
    client_secret: String,
    rate_limit_per_minute: Option<u32>,
    concurrency: Option<u32>,
}

/// Where the API and login hosts of a target are, from a Genesys environment such as
/// `mypurecloud.ie`, or from a base URL such as `http://127.0.0.1:9090` that serves both
/// `/api/v2` and `/oauth/token` (the sandbox).
pub fn resolve_environment(environment: &str) -> Result<(String, String), String> {
    let env = environment.trim().trim_end_matches('/');
    if env.is_empty() {
        return Err("environment is empty".into());
    }
    if env.starts_with("http://") || env.starts_with("https://") {
        let url = url::Url::parse(env).map_err(|e| format!("invalid base URL {env:?}: {e}"))?;
        if url.host_str().is_none() {
            return Err(format!("base URL {env:?} has no host"));
        }
        return Ok((env.to_owned(), env.to_owned()));
    }
    // The SDKs accept `api.<env>` too; normalise to the bare environment.
    let bare = env.strip_prefix("api.").unwrap_or(env);
    if bare.contains('/') || bare.contains(' ') || !bare.contains('.') {
        return Err(format!(
            "environment {env:?} is neither a Genesys environment like mypurecloud.com nor a base URL"
        ));
    }
    Ok((
        format!("https://api.{bare}"),
        format!("https://login.{bare}"),
    ))
}

impl FileTarget {
    fn into_target(self) -> Result<TargetConfig, ConfigError> {
        let err = |message: String| ConfigError::Target {
            target: self.name.clone(),
            message,
        };
        let (api, login) = match (&self.environment, &self.api_base_url) {
            (Some(env), None) => resolve_environment(env).map_err(err)?,
            (None, Some(api)) => {
                let login = self.login_base_url.clone().unwrap_or_else(|| api.clone());
                (
                    api.trim_end_matches('/').to_owned(),
                    login.trim_end_matches('/').to_owned(),
                )
            }
            (Some(_), Some(_)) => {
                return Err(err("give environment or api_base_url, not both".into()));
            }
            (None, None) => return Err(err("environment or api_base_url is required".into())),
        };
        validate_target_name(&self.name).map_err(err)?;
        Ok(TargetConfig {
            name: self.name,
            api_base_url: api,
            login_base_url: login,
            client_id: self.client_id,
            client_secret: SecretString::from(self.client_secret),
            rate_limit_per_minute: self
                .rate_limit_per_minute
                .unwrap_or(GENESYS_DEFAULT_RATE_LIMIT),
            concurrency: self.concurrency.map(|n| n.max(1)),
        })
    }
}

fn validate_target_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err("target names are 1-64 characters of letters, digits, '-' and '_'".into())
    }
}

/// Values given on the command line (they win over everything else).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub database_url: Option<String>,
    pub log_format: Option<LogFormat>,
}

impl Settings {
    /// Loads settings from the file named in `overrides` (or `./flowsmith.toml` if present),
    /// the process environment and the overrides.
    pub fn load(overrides: &Overrides) -> Result<Settings, ConfigError> {
        Self::load_from(overrides, |name| std::env::var(name).ok())
    }

    /// As [`Settings::load`], with the environment given as a lookup (for tests).
    pub fn load_from(
        overrides: &Overrides,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        let mut s = Settings::default();

        let file = overrides
            .config_file
            .clone()
            .or_else(|| env("FLOWSMITH_CONFIG").map(PathBuf::from));
        let (path, required) = match file {
            Some(p) => (p, true),
            None => (PathBuf::from("flowsmith.toml"), false),
        };
        if let Some(fs) = read_file(&path, required)? {
            s.apply_file(fs)?;
        }
        s.apply_env(&env)?;
        if s.replicas == 0 {
            return Err(ConfigError::Env {
                name: "FLOWSMITH_REPLICAS".into(),
                message: "replicas must be at least 1".into(),
            });
        }
        s.limits.check().map_err(|message| ConfigError::Env {
            name: "limits".into(),
            message,
        })?;
        s.worker.check()?;
        if s.retention_batch_jobs == 0 {
            return Err(ConfigError::Env {
                name: "FLOWSMITH_RETENTION_BATCH_JOBS".into(),
                message: "must be positive".into(),
            });
        }
        if s.database_acquire_timeout_ms == 0 {
            return Err(ConfigError::Env {
                name: "FLOWSMITH_DATABASE_ACQUIRE_TIMEOUT_MS".into(),
                message: "must be positive".into(),
            });
        }
        if !(s.shutdown_grace_secs.is_finite() && s.shutdown_grace_secs >= 0.0) {
            return Err(ConfigError::Env {
                name: "FLOWSMITH_SHUTDOWN_GRACE_SECS".into(),
                message: "must be a number of seconds, 0 or more".into(),
            });
        }

        if let Some(l) = overrides.listen {
            s.listen = l;
        }
        if let Some(u) = &overrides.database_url {
            s.database_url = u.clone();
        }
        if let Some(f) = overrides.log_format {
            s.log_format = f;
        }
        Ok(s)
    }

    fn apply_file(&mut self, f: FileSettings) -> Result<(), ConfigError> {
        set(&mut self.listen, f.listen);
        set(&mut self.database_url, f.database_url);
        if let Some(v) = f.api_tokens {
            // An empty token would let `Authorization: Bearer ` through.
            self.api_tokens = v
                .into_iter()
                .filter(|t| !t.trim().is_empty())
                .map(SecretString::from)
                .collect();
        }
        set(&mut self.limits, f.limits);
        set(&mut self.worker, f.worker);
        set(&mut self.shutdown_grace_secs, f.shutdown_grace_secs);
        set(&mut self.max_body_bytes, f.max_body_bytes);
        set(
            &mut self.drift_check_interval_secs,
            f.drift_check_interval_secs,
        );
        set(
            &mut self.database_start_wait_secs,
            f.database_start_wait_secs,
        );
        set(
            &mut self.database_acquire_timeout_ms,
            f.database_acquire_timeout_ms,
        );
        set(&mut self.retention_days, f.retention_days);
        set(&mut self.retention_batch_jobs, f.retention_batch_jobs);
        set(&mut self.retention_pause_ms, f.retention_pause_ms);
        set(&mut self.replicas, f.replicas);
        set(&mut self.request_timeout_secs, f.request_timeout_secs);
        set(&mut self.log_format, f.log_format);
        for t in f.targets {
            let t = t.into_target()?;
            self.upsert_target(t);
        }
        Ok(())
    }

    fn apply_env(&mut self, env: &impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        self.apply_env_service(env)?;
        self.apply_env_limits(env)?;
        self.apply_env_worker(env)?;
        self.apply_env_target(env)
    }

    /// Where the service listens, its database, tokens, logging and shutdown.
    fn apply_env_service(
        &mut self,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        set_from_env(env, "FLOWSMITH_LISTEN", &mut self.listen)?;
        if let Some(v) = env("FLOWSMITH_DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = env("FLOWSMITH_API_TOKENS") {
            self.api_tokens = v
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| SecretString::from(t.to_owned()))
                .collect();
        }
        set_from_env(env, "FLOWSMITH_MAX_BODY_BYTES", &mut self.max_body_bytes)?;
        set_from_env(
            env,
            "FLOWSMITH_DRIFT_CHECK_INTERVAL_SECS",
            &mut self.drift_check_interval_secs,
        )?;
        set_from_env(
            env,
            "FLOWSMITH_DATABASE_START_WAIT_SECS",
            &mut self.database_start_wait_secs,
        )?;
        set_from_env(
            env,
            "FLOWSMITH_DATABASE_ACQUIRE_TIMEOUT_MS",
            &mut self.database_acquire_timeout_ms,
        )?;
        set_from_env(env, "FLOWSMITH_RETENTION_DAYS", &mut self.retention_days)?;
        set_from_env(
            env,
            "FLOWSMITH_RETENTION_BATCH_JOBS",
            &mut self.retention_batch_jobs,
        )?;
        set_from_env(
            env,
            "FLOWSMITH_RETENTION_PAUSE_MS",
            &mut self.retention_pause_ms,
        )?;
        set_from_env(env, "FLOWSMITH_REPLICAS", &mut self.replicas)?;
        set_from_env(
            env,
            "FLOWSMITH_REQUEST_TIMEOUT_SECS",
            &mut self.request_timeout_secs,
        )?;
        set_from_env(
            env,
            "FLOWSMITH_SHUTDOWN_GRACE_SECS",
            &mut self.shutdown_grace_secs,
        )?;
        if let Some(v) = env("FLOWSMITH_LOG_FORMAT") {
            self.log_format = match v.trim() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                other => {
                    return Err(ConfigError::Env {
                        name: "FLOWSMITH_LOG_FORMAT".into(),
                        message: format!("{other:?} is not text or json"),
                    });
                }
            };
        }
        Ok(())
    }

    /// `[limits]` from `FLOWSMITH_<NAME>`.
    fn apply_env_limits(
        &mut self,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        let limits = &mut self.limits;
        for (name, slot) in [
            (
                "FLOWSMITH_MAX_DOCUMENT_DEPTH",
                &mut limits.max_document_depth,
            ),
            (
                "FLOWSMITH_MAX_DOCUMENT_BYTES",
                &mut limits.max_document_bytes,
            ),
            (
                "FLOWSMITH_MAX_SIMULATION_STEPS",
                &mut limits.max_simulation_steps,
            ),
            (
                "FLOWSMITH_MAX_TRANSCRIPT_BYTES",
                &mut limits.max_transcript_bytes,
            ),
            ("FLOWSMITH_MAX_VALUE_BYTES", &mut limits.max_value_bytes),
            (
                "FLOWSMITH_MAX_REQUESTS_IN_FLIGHT",
                &mut limits.max_requests_in_flight,
            ),
        ] {
            set_from_env(env, name, slot)?;
        }
        set_from_env(
            env,
            "FLOWSMITH_MAX_CONNECTIONS",
            &mut self.limits.max_connections,
        )?;
        for (name, slot) in [
            (
                "FLOWSMITH_REQUEST_WORK_MS",
                &mut self.limits.request_work_ms,
            ),
            (
                "FLOWSMITH_BODY_READ_TIMEOUT_SECS",
                &mut self.limits.body_read_timeout_secs,
            ),
            (
                "FLOWSMITH_HEADER_READ_TIMEOUT_SECS",
                &mut self.limits.header_read_timeout_secs,
            ),
        ] {
            set_from_env(env, name, slot)?;
        }
        Ok(())
    }

    /// `[worker]` from `FLOWSMITH_LEASE_SECS`, `FLOWSMITH_HEARTBEAT_SECS`,
    /// `FLOWSMITH_WORKER_POLL_MS` and `FLOWSMITH_GENESYS_ATTEMPTS`.
    fn apply_env_worker(
        &mut self,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        let w = &mut self.worker;
        for (name, slot) in [
            ("FLOWSMITH_LEASE_SECS", &mut w.lease_secs),
            ("FLOWSMITH_HEARTBEAT_SECS", &mut w.heartbeat_secs),
            ("FLOWSMITH_WORKER_POLL_MS", &mut w.poll_ms),
            ("FLOWSMITH_GENESYS_ATTEMPTS", &mut w.genesys_attempts),
        ] {
            if let Some(v) = env(name) {
                *slot = Some(parse_env(name, &v)?);
            }
        }
        Ok(())
    }

    /// The seed tutorial's variables define a target named `default`.
    fn apply_env_target(
        &mut self,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        let id = env("GENESYS_CLIENT_ID");
        let secret = env("GENESYS_CLIENT_SECRET");
        if id.is_none() && secret.is_none() {
            return Ok(());
        }
        let genv = env("GENESYS_ENVIRONMENT").unwrap_or_else(|| "mypurecloud.com".into());
        let (Some(id), Some(secret)) = (id, secret) else {
            return Err(ConfigError::Env {
                name: "GENESYS_CLIENT_ID".into(),
                message: "GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET go together".into(),
            });
        };
        let (api, login) = resolve_environment(&genv).map_err(|message| ConfigError::Env {
            name: "GENESYS_ENVIRONMENT".into(),
            message,
        })?;
        let mut rate = GENESYS_DEFAULT_RATE_LIMIT;
        set_from_env(env, "GENESYS_RATE_LIMIT_PER_MINUTE", &mut rate)?;
        self.upsert_target(TargetConfig {
            name: "default".into(),
            api_base_url: api,
            login_base_url: login,
            client_id: id,
            client_secret: SecretString::from(secret),
            rate_limit_per_minute: rate,
            concurrency: None,
        });
        Ok(())
    }

    /// Adds a target, replacing one of the same name.
    pub fn upsert_target(&mut self, t: TargetConfig) {
        self.targets.retain(|x| x.name != t.name);
        self.targets.push(t);
        self.targets.sort_by(|a, b| a.name.cmp(&b.name));
    }

    /// Applies the bind rule of spec section 5: without tokens only loopback is allowed.
    pub fn check_bind(&self) -> Result<(), ConfigError> {
        if self.api_tokens.is_empty() && !self.listen.ip().is_loopback() {
            return Err(ConfigError::PublicWithoutTokens(self.listen));
        }
        Ok(())
    }

    /// Whether `token` is one of the configured API tokens (compared in constant time).
    pub fn token_allowed(&self, token: &str) -> bool {
        self.api_tokens
            .iter()
            .any(|t| constant_time_eq(t.expose_secret().as_bytes(), token.as_bytes()))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn read_file(path: &Path, required: bool) -> Result<Option<FileSettings>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(None),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    toml::from_str(&text)
        .map(Some)
        .map_err(|e| ConfigError::Toml {
            path: path.to_owned(),
            message: e.to_string(),
        })
}

/// A setting's value from the environment variable `name`, or an error naming it.
fn parse_env<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    v.trim().parse().map_err(|e: T::Err| ConfigError::Env {
        name: name.to_owned(),
        message: e.to_string(),
    })
}

/// Sets `slot` to the value a file gives, when it gives one.
fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

/// Sets `slot` from the environment variable `name` when it is set.
fn set_from_env<T: std::str::FromStr>(
    env: &impl Fn(&str) -> Option<String>,
    name: &str,
    slot: &mut T,
) -> Result<(), ConfigError>
where
    T::Err: std::fmt::Display,
{
    if let Some(v) = env(name) {
        *slot = parse_env(name, &v)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
