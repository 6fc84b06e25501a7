//! Start-up and shutdown: open the store, bind the listener, serve until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

use std::collections::BTreeMap;

use tokio_util::sync::CancellationToken;

use crate::config::{ConfigError, Settings, TargetConfig};
use crate::genesys::{GenesysClient, GenesysError};
use crate::jobs::{Liveness, Signals, Worker, WorkerOptions};
use crate::store::{Store, StoreError};

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
}

/// A built service: the listener is bound (so tests can ask for port 0 and read the port).
pub struct Application {
    listener: TcpListener,
    router: Router,
    store: Store,
    worker: Option<Worker>,
}

impl Application {
    /// Builds the service with the worker settings of the environment
    /// ([`WorkerOptions::from_env`]).
    pub async fn build(settings: Settings) -> Result<Application, StartError> {
        Application::build_with(settings, WorkerOptions::from_env()).await
    }

    /// Builds the service with explicit worker settings (tests use short leases).
    pub async fn build_with(
        mut settings: Settings,
        mut worker_options: WorkerOptions,
    ) -> Result<Application, StartError> {
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
        // One Genesys client per target, and the worker that provisions through them.
        let mut clients = BTreeMap::new();
        for t in &settings.targets {
            let client = GenesysClient::new(t).map_err(|source| StartError::Client {
                name: t.name.clone(),
                source,
            })?;
            clients.insert(t.name.clone(), Arc::new(client));
            worker_options
                .concurrency
                .entry(t.name.clone())
                .or_insert(t.concurrency.max(1) as usize);
        }
        let signals = Signals::default();
        let liveness = Liveness::default();
        liveness.beat();
        let worker = Worker::with_signals(
            store.clone(),
            clients,
            worker_options,
            signals.clone(),
            liveness.clone(),
        );
        let router =
            crate::api::app_with(store.clone(), Arc::new(settings), signals, Some(liveness));
        Ok(Application {
            listener,
            router,
            store,
            worker: Some(worker),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound TCP listener has an address")
    }

    /// Serves and runs the job worker until `shutdown` resolves, then drains in-flight
    /// requests, lets running steps stop at a checkpoint (their leases are given back) and
    /// closes the database. The worker runs inside this future: dropping it (a crash in
    /// tests) stops everything at once and leaves the leases to expire.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        tracing::info!(addr = %self.local_addr(), "flowsmith listening");
        let token = CancellationToken::new();
        let stop = token.clone();
        let serve = async move {
            let result = axum::serve(self.listener, self.router)
                .with_graceful_shutdown(shutdown)
                .await;
            stop.cancel();
            result
        };
        let worker = async {
            if let Some(w) = self.worker {
                w.run(token.clone()).await;
            }
        };
        let (result, ()) = tokio::join!(serve, worker);
        self.store.close().await;
        result
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
