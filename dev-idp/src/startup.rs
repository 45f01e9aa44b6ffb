//! Building and running the issuer: bind the listener first (port 0 works, and the issuer URL
//! can then name the real port), load or create the keys, assemble the router, serve until told
//! to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::Router;
use service_config::ConfigError;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::assertion::ReplayCache;
use crate::config::Config;
use crate::fault::Faults;
use crate::keys::{KeyError, KeyManager};
use crate::routes;
use crate::state::{AppState, Inner, Registry, Urls};
use crate::stats::Stats;

/// Token requests are a few hundred bytes; assertions at most 8 KiB.
const BODY_LIMIT_BYTES: usize = 64 * 1024;
/// How long in-flight requests may take to finish after a stop signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("binding {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("keys_dir: {0}")]
    Keys(#[from] KeyError),
    #[error("loading keys: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// A bound, ready issuer. Nothing is served until [`run_until_stopped`](Self::run_until_stopped).
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    state: AppState,
}

impl Application {
    /// Binds `config.listen`, then loads the keys from `config.keys_dir` (generating the first
    /// one if there is none). Fails on a port in use, an unusable key directory or a client key
    /// file that cannot be read.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let registry = Registry::from_config(&config)?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
        let dir = config.keys_dir.clone();
        let keys = tokio::task::spawn_blocking(move || KeyManager::open(&dir)).await??;
        let state = AppState::new(Inner {
            registry,
            keys,
            urls: Urls::new(&config.issuer_for(addr)),
            token_lifetime_secs: config.token_lifetime.as_secs(),
            admin_token: config.admin_token,
            allow_user_tokens: config.allow_user_tokens,
            stats: Stats::default(),
            faults: Faults::default(),
            replay: ReplayCache::default(),
        });
        Ok(Self {
            listener,
            addr,
            state,
        })
    }

    /// The address actually bound (the real port when `listen` had port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `iss` of this issuer's tokens, with its trailing slash.
    pub fn issuer(&self) -> &str {
        &self.state.urls.issuer
    }

    /// The kid that signs now.
    pub fn current_kid(&self) -> String {
        self.state.keys.ring().current().kid().to_owned()
    }

    /// Serves until `shutdown` completes, then stops accepting and gives in-flight requests a
    /// few seconds to finish.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (draining_tx, draining_rx) = tokio::sync::oneshot::channel::<()>();
        let serve =
            axum::serve(self.listener, router(self.state)).with_graceful_shutdown(async move {
                shutdown.await;
                let _ = draining_tx.send(());
            });
        tokio::select! {
            result = serve => result,
            () = async move {
                if draining_rx.await.is_err() {
                    std::future::pending::<()>().await;
                }
                tokio::time::sleep(DRAIN_TIMEOUT).await;
            } => {
                tracing::warn!("drain timeout reached with requests still in flight");
                Ok(())
            }
        }
    }
}

/// The whole HTTP surface. A span per request records method and path only: query strings and
/// headers may carry credentials, so they are never logged.
pub fn router(state: AppState) -> Router {
    routes::router()
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                tracing::info_span!(
                    "request",
                    method = %request.method(),
                    path = %request.uri().path(),
                )
            }),
        )
}
