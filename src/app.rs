//! Start-up and shutdown: open the store, bind the listener, serve until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

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

/// A built service: the listener is bound (so tests can ask for port 0 and read the port).
pub struct Application {
    listener: TcpListener,
    router: Router,
    store: Store,
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
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound TCP listener has an address")
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests and closes the
    /// database.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        tracing::info!(addr = %self.local_addr(), "flowsmith listening");
        let result = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await;
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
