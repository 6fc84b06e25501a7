//! Start-up and shutdown: open the store, bind the listener, serve until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use futures::future::BoxFuture;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use std::collections::BTreeMap;

use crate::config::{ConfigError, Settings, TargetConfig};
use crate::genesys::{ClientOptions, GenesysClient, GenesysError};
use crate::jobs::{Liveness, Signals, Worker, WorkerOptions};
use crate::store::sqlite_lock::SqliteFileLock;
use crate::store::{Store, StoreError};

mod serve;
pub use serve::{ServeOptions, connections_for_file_limit};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("target {name}: {source}")]
    Client { name: String, source: GenesysError },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the in-process sandbox org: {0}")]
    Sandbox(std::io::Error),
    #[error(transparent)]
    Lock(#[from] crate::store::sqlite_lock::LockError),
}

/// A built service: the listener is bound (so tests can ask for port 0 and read the port).
///
/// Shutdown has one path: when the future given to [`Application::run_until`] resolves, the
/// [`Application::shutdown_token`] is cancelled; the listener stops accepting, in-flight
/// requests are drained, tasks spawned on [`Application::tasks`] are awaited, all within the
/// grace period, and then the database is closed.
pub struct Application {
    listener: TcpListener,
    router: Router,
    store: Store,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    grace: Duration,
    worker: Option<Worker>,
    serve_options: ServeOptions,
    /// A SQLite database's `<db>.lock`, held until the process ends: one replica per file.
    _file_lock: Option<SqliteFileLock>,
}

/// A built-in org the service starts before it opens the database and adds as target
/// `sandbox` (`serve --sandbox`). The binary supplies it, so the service library does not
/// depend on the emulator.
pub trait LocalOrg: Send {
    /// Starts the org; its state is kept in the file `kept` (beside a SQLite database, so the
    /// two agree after a restart) when given.
    fn start(
        self: Box<Self>,
        kept: Option<PathBuf>,
    ) -> BoxFuture<'static, std::io::Result<StartedOrg>>;
}

/// Where a started [`LocalOrg`] answers, and the OAuth client the service uses with it.
pub struct StartedOrg {
    pub base_url: String,
    pub client_id: String,
    pub client_secret: secrecy::SecretString,
}

impl Application {
    /// Builds the service as its settings say.
    pub async fn build(settings: Settings) -> Result<Application, StartError> {
        Application::build_with_org(settings, None).await
    }

    /// Builds the service, starting `org` first as target `sandbox` when given.
    pub async fn build_with_org(
        settings: Settings,
        org: Option<Box<dyn LocalOrg>>,
    ) -> Result<Application, StartError> {
        let worker_options = WorkerOptions::from_settings(&settings.worker);
        Application::start(settings, worker_options, org).await
    }

    /// Builds the service with explicit worker options (tests use short leases).
    pub async fn build_with(
        settings: Settings,
        worker_options: WorkerOptions,
    ) -> Result<Application, StartError> {
        Application::start(settings, worker_options, None).await
    }

    async fn start(
        mut settings: Settings,
        mut worker_options: WorkerOptions,
        org: Option<Box<dyn LocalOrg>>,
    ) -> Result<Application, StartError> {
        let backend = check_settings(&settings)?;
        // Before anything else touches the file (the kept sandbox org too).
        let file_lock = crate::store::database_file(&settings.database_url)
            .map(|db| SqliteFileLock::acquire(&db))
            .transpose()?;
        if let Some(org) = org {
            settings.upsert_target(start_local_org(org, &settings.database_url).await?);
        }
        if settings.api_tokens.is_empty() {
            tracing::warn!(
                listen = %settings.listen,
                "no API tokens configured: /v1 is open, so the service listens on loopback only"
            );
        }
        let store = Store::open_with(
            &settings.database_url,
            Duration::from_secs(settings.database_start_wait_secs),
            Duration::from_millis(settings.database_acquire_timeout_ms),
        )
        .await?;
        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: settings.listen,
                    source,
                })?;
        let clients = clients(&settings, &store, &mut worker_options)?;
        let signals = Signals::default();
        let liveness = Liveness::default();
        liveness.beat();
        let shared: crate::jobs::Clients = Arc::new(clients.clone());
        let worker = Worker::with_signals(
            store.clone(),
            clients,
            worker_options,
            signals.clone(),
            liveness.clone(),
        );
        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();
        let grace = Duration::from_secs_f64(settings.shutdown_grace_secs);
        let serve_options = ServeOptions::from_limits(&settings.limits);
        spawn_background(
            &settings, backend, &store, &shared, &signals, &shutdown, &tasks,
        );
        let router = crate::api::app_with_clients(
            store.clone(),
            Arc::new(settings),
            signals,
            Some(liveness),
            shutdown.clone(),
            shared,
        );
        Ok(Application {
            listener,
            router,
            store,
            shutdown,
            tasks,
            grace,
            worker: Some(worker),
            serve_options,
            _file_lock: file_lock,
        })
    }

    /// Cancelled when shutdown begins. Background work (the jobs worker) watches it: stop
    /// claiming new work, and leave a running step at a point it can resume from.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Spawn background tasks on this tracker (`app.tasks().spawn(..)`): shutdown waits for
    /// them, within the grace period, before closing the database.
    pub fn tasks(&self) -> TaskTracker {
        self.tasks.clone()
    }

    /// How long shutdown waits for in-flight requests and tracked tasks.
    pub fn with_shutdown_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The database handle (tests close it to make an in-process "crash" release what a
    /// dead process would: its SQLite locks).
    pub fn store(&self) -> Store {
        self.store.clone()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound TCP listener has an address")
    }

    /// Serves and runs the job worker until `shutdown` resolves. Then the shutdown token is
    /// cancelled: the listener stops accepting, the worker stops claiming and leaves running
    /// steps at a checkpoint (their leases are given back), in-flight requests and tracked
    /// tasks drain — all within the grace period — and the database is closed. The worker
    /// runs inside this future: dropping it (a crash, in tests) stops everything at once and
    /// leaves the leases to expire.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Application {
            listener,
            router,
            store,
            shutdown: token,
            tasks,
            grace,
            worker,
            serve_options,
            _file_lock,
        } = self;
        let addr = listener.local_addr()?;
        // Stable and parseable: scripts and tests read the bound port from this line.
        tracing::info!(
            %addr,
            max_connections = serve_options.max_connections,
            "flowsmith listening"
        );
        let trigger = tokio::spawn({
            let token = token.clone();
            async move {
                shutdown.await;
                token.cancel();
            }
        });
        // The grace period starts when shutdown is requested, not at start-up.
        let deadline = Deadline {
            token: token.clone(),
            grace,
            at: tokio::sync::OnceCell::new(),
        };
        let worker = async {
            let Some(w) = worker else { return };
            let run = w.run(token.clone());
            tokio::pin!(run);
            tokio::select! {
                () = &mut run => {}
                () = async { tokio::time::sleep_until(deadline.wait().await).await } => {
                    tracing::warn!("the job worker outlasted the grace period; its leases will expire");
                }
            }
        };
        let serve = async {
            let serve = serve::serve(listener, router, serve_options, token.clone());
            tokio::pin!(serve);
            let mut result = tokio::select! {
                () = &mut serve => Some(()),
                _ = deadline.wait() => None,
            };
            if result.is_none() {
                tracing::info!(
                    grace_secs = grace.as_secs_f64(),
                    "draining in-flight requests"
                );
                match tokio::time::timeout_at(deadline.wait().await, &mut serve).await {
                    Ok(()) => result = Some(()),
                    Err(_) => {
                        tracing::warn!(
                            "in-flight requests outlasted the grace period; stopping anyway"
                        )
                    }
                }
            }
            // Serving stopped (by request or by an error): background work stops too.
            token.cancel();
            let _ = result;
        };
        let ((), ()) = tokio::join!(serve, worker);
        trigger.abort();
        tasks.close();
        if tokio::time::timeout_at(deadline.wait().await, tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                tasks = tasks.len(),
                "background tasks outlasted the grace period; stopping anyway"
            );
        }
        // A request still running past the deadline may hold a connection; closing waits for
        // it, so bound that too. SQLite's WAL keeps the database consistent either way.
        if tokio::time::timeout(Duration::from_secs(5), store.close())
            .await
            .is_err()
        {
            tracing::warn!("database connections still in use; exiting without closing them");
        } else {
            tracing::info!("database closed");
        }
        tracing::info!("flowsmith stopped");
        Ok(())
    }
}

/// The end of the grace period: fixed when shutdown is requested, shared by everything that
/// drains.
struct Deadline {
    token: CancellationToken,
    grace: Duration,
    at: tokio::sync::OnceCell<tokio::time::Instant>,
}

impl Deadline {
    /// Waits for shutdown to be requested; then the instant the grace period ends.
    async fn wait(&self) -> tokio::time::Instant {
        self.token.cancelled().await;
        *self
            .at
            .get_or_init(|| async { tokio::time::Instant::now() + self.grace })
            .await
    }
}

/// The settings' own checks that need no I/O; answers the database's backend.
fn check_settings(settings: &Settings) -> Result<crate::store::Backend, StartError> {
    settings.check_bind()?;
    let backend = crate::store::check_scheme(&settings.database_url)?;
    if settings.replicas > 1 && backend == crate::store::Backend::Sqlite {
        return Err(ConfigError::Env {
            name: "FLOWSMITH_REPLICAS".into(),
            message: format!(
                "{} replicas need a shared PostgreSQL database (postgres://...); \
                 a SQLite database serves one replica",
                settings.replicas
            ),
        }
        .into());
    }
    Ok(backend)
}

/// Starts the built-in org (kept beside a SQLite database) and answers its target.
async fn start_local_org(
    org: Box<dyn LocalOrg>,
    database_url: &str,
) -> Result<TargetConfig, StartError> {
    let kept = crate::store::database_file(database_url).map(|db| {
        let mut kept = db.into_os_string();
        kept.push("-sandbox.json");
        PathBuf::from(kept)
    });
    let started = org.start(kept).await.map_err(StartError::Sandbox)?;
    tracing::info!(url = %started.base_url, "in-process sandbox org started as target `sandbox`");
    Ok(TargetConfig {
        name: "sandbox".into(),
        api_base_url: started.base_url.clone(),
        login_base_url: started.base_url,
        client_id: started.client_id,
        client_secret: started.client_secret,
        rate_limit_per_minute: crate::config::GENESYS_DEFAULT_RATE_LIMIT,
        concurrency: None,
    })
}

/// The store's budget ledger as the Genesys clients' (the two layers do not know each other).
struct Ledger(crate::store::budget::PgBudgetLedger);

impl crate::genesys::budget::BudgetLedger for Ledger {
    fn lease<'a>(
        &'a self,
        target: &'a str,
        holder: &'a str,
        length_us: i64,
    ) -> futures::future::BoxFuture<'a, Result<crate::genesys::budget::Granted, String>> {
        let guard_us = i64::try_from(crate::genesys::budget::GUARD.as_micros()).unwrap_or(i64::MAX);
        Box::pin(async move {
            let (start_us, now_us) = self
                .0
                .lease(target, holder, length_us, guard_us)
                .await
                .map_err(|e| e.to_string())?;
            Ok(crate::genesys::budget::Granted { start_us, now_us })
        })
    }

    fn give_back<'a>(
        &'a self,
        target: &'a str,
        end_us: i64,
        from_us: i64,
    ) -> futures::future::BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            self.0
                .give_back(target, end_us, from_us)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// One Genesys client per target. On PostgreSQL every replica shares each target's budget
/// through the database (`genesys::budget`: leased slices, not a static share), so one busy
/// replica may use all of it; on SQLite (one process) the client paces the target alone. A
/// target without a concurrency cap in `worker_options` gets its configured one, if any.
fn clients(
    settings: &Settings,
    store: &Store,
    worker_options: &mut WorkerOptions,
) -> Result<BTreeMap<String, Arc<GenesysClient>>, StartError> {
    let ledger: Option<Arc<dyn crate::genesys::budget::BudgetLedger>> = store
        .postgres_pool()
        .map(|p| Arc::new(Ledger(crate::store::budget::PgBudgetLedger::new(p.clone()))) as _);
    let mut clients = BTreeMap::new();
    for t in &settings.targets {
        let client = GenesysClient::with_budget(t, client_options(settings), ledger.clone())
            .map_err(|source| StartError::Client {
                name: t.name.clone(),
                source,
            })?;
        clients.insert(t.name.clone(), Arc::new(client));
        if let Some(cap) = t.concurrency {
            worker_options
                .concurrency
                .entry(t.name.clone())
                .or_insert(cap.max(1) as usize);
        }
    }
    Ok(clients)
}

/// The Genesys clients' options: the defaults, with the attempts the settings give.
fn client_options(settings: &Settings) -> ClientOptions {
    let mut o = ClientOptions::default();
    if let Some(n) = settings.worker.genesys_attempts {
        o.retry.max_attempts = u32::try_from(n).unwrap_or(u32::MAX).max(1);
    }
    o
}

/// The background tasks beside the worker: other replicas' events (PostgreSQL), the
/// pruning of old job details and the periodic drift check.
fn spawn_background(
    settings: &Settings,
    backend: crate::store::Backend,
    store: &Store,
    clients: &crate::jobs::Clients,
    signals: &Signals,
    shutdown: &CancellationToken,
    tasks: &TaskTracker,
) {
    if backend == crate::store::Backend::Postgres {
        // Other replicas' job events and queued jobs, through LISTEN/NOTIFY.
        tasks.spawn(crate::jobs::replica_events::forward(
            settings.database_url.clone(),
            signals.clone(),
            shutdown.clone(),
        ));
    }
    if settings.retention_days > 0 {
        tasks.spawn(crate::jobs::retention::prune_periodically(
            store.clone(),
            settings.retention_days,
            crate::jobs::retention::Pacing::of(settings),
            shutdown.clone(),
        ));
    }
    if settings.drift_check_interval_secs > 0 {
        tasks.spawn(crate::jobs::releases::check_drift_periodically(
            store.clone(),
            clients.clone(),
            Duration::from_secs(settings.drift_check_interval_secs),
            shutdown.clone(),
        ));
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested");
}
