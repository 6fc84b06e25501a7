//! Start-up and shutdown: open the store, bind the listener, serve until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{ConfigError, Settings, TargetConfig};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// How long in-flight requests (and background tasks) may take to finish after a shutdown is
/// requested, unless `FLOWSMITH_SHUTDOWN_GRACE_SECS` says otherwise.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

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
}

impl Application {
    pub async fn build(mut settings: Settings) -> Result<Application, StartError> {
        settings.check_bind()?;
        if let Some(opts) = settings.sandbox.clone() {
            let (base, _sandbox) =
                crate::sandbox::spawn_local(opts)
                    .await
                    .map_err(|source| StartError::Bind {
                        addr: ([127, 0, 0, 1], 0).into(),
                        source,
                    })?;
            tracing::info!(url = %base, "in-process sandbox org started as target `sandbox`");
            settings.upsert_target(TargetConfig {
                name: "sandbox".into(),
                api_base_url: base.clone(),
                login_base_url: base,
                client_id: crate::sandbox::DEFAULT_CLIENT_ID.into(),
                client_secret: crate::sandbox::DEFAULT_CLIENT_SECRET.to_owned().into(),
                rate_limit_per_minute: crate::config::GENESYS_DEFAULT_RATE_LIMIT,
                concurrency: 4,
            });
        }
        if settings.api_tokens.is_empty() {
            tracing::warn!(
                listen = %settings.listen,
                "no API tokens configured: /v1 is open, so the service listens on loopback only"
            );
        }
        let store = Store::open(&settings.database_url).await?;
        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: settings.listen,
                    source,
                })?;
        let router = crate::api::app(store.clone(), Arc::new(settings));
        Ok(Application {
            listener,
            router,
            store,
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            grace: grace_from_env(),
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

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound TCP listener has an address")
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests and tracked tasks for
    /// at most the grace period, and closes the database.
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
        } = self;
        let addr = listener.local_addr()?;
        // Stable and parseable: scripts and tests read the bound port from this line.
        tracing::info!(%addr, "flowsmith listening");
        let trigger = tokio::spawn({
            let token = token.clone();
            async move {
                shutdown.await;
                token.cancel();
            }
        });
        let serve = axum::serve(listener, router)
            .with_graceful_shutdown(token.clone().cancelled_owned())
            .into_future();
        tokio::pin!(serve);
        // The grace period starts when shutdown is requested, not at start-up.
        let deadline = async {
            token.cancelled().await;
            tracing::info!(
                grace_secs = grace.as_secs_f64(),
                "draining in-flight requests"
            );
            tokio::time::Instant::now() + grace
        };
        tokio::pin!(deadline);
        let mut result = Ok(());
        let mut deadline_at = None;
        tokio::select! {
            r = &mut serve => result = r,
            at = &mut deadline => deadline_at = Some(at),
        }
        if let Some(at) = deadline_at {
            match tokio::time::timeout_at(at, &mut serve).await {
                Ok(r) => result = r,
                Err(_) => {
                    tracing::warn!("in-flight requests outlasted the grace period; stopping anyway")
                }
            }
        }
        // Serving stopped (by request or by an error): background work stops too.
        token.cancel();
        trigger.abort();
        tasks.close();
        let at = deadline_at.unwrap_or_else(|| tokio::time::Instant::now() + grace);
        if tokio::time::timeout_at(at, tasks.wait()).await.is_err() {
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
        result
    }
}

/// `FLOWSMITH_SHUTDOWN_GRACE_SECS`, or [`DEFAULT_SHUTDOWN_GRACE`].
fn grace_from_env() -> Duration {
    match std::env::var("FLOWSMITH_SHUTDOWN_GRACE_SECS") {
        Ok(v) => match v.trim().parse::<f64>() {
            Ok(secs) if secs.is_finite() && secs >= 0.0 => Duration::from_secs_f64(secs),
            _ => {
                tracing::warn!(value = %v, "FLOWSMITH_SHUTDOWN_GRACE_SECS is not a number of seconds; using the default");
                DEFAULT_SHUTDOWN_GRACE
            }
        },
        Err(_) => DEFAULT_SHUTDOWN_GRACE,
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
