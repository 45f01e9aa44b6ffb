//! Pingora background services: the JWKS refresh (`refresh_all` every `refresh_interval`), the
//! upstream health check (a TCP connect every `health_check_interval`) and the SIGHUP config
//! reload. Each stops when Pingora broadcasts shutdown.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;

use crate::admin::UpstreamHealth;
use crate::forward::UpstreamConfig;
use crate::state::SharedRuntime;

/// Refreshes every tenant's keys before they go stale.
#[derive(Debug)]
pub struct JwksRefresh {
    pub runtime: Arc<SharedRuntime>,
}

#[async_trait]
impl BackgroundService for JwksRefresh {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        loop {
            // Read every round: a reload may have swapped the cache and its interval.
            let interval = self.runtime.load().auth.jwks().refresh_interval();
            tokio::select! {
                _ = shutdown.changed() => return,
                () = tokio::time::sleep(interval) => {}
            }
            let auth = Arc::clone(&self.runtime.load().auth);
            for (tenant, err) in auth.jwks().refresh_all().await {
                tracing::warn!(tenant = %tenant.as_ref(), error = %err, "JWKS refresh failed; last good keys keep serving");
            }
        }
    }
}

/// Marks the upstream healthy when a TCP connection to it succeeds.
#[derive(Debug)]
pub struct UpstreamHealthCheck {
    pub upstream: UpstreamConfig,
    pub health: Arc<UpstreamHealth>,
}

#[async_trait]
impl BackgroundService for UpstreamHealthCheck {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        loop {
            let healthy = probe(&self.upstream).await;
            if healthy != self.health.is_healthy() {
                tracing::info!(upstream = %self.upstream.address, healthy, "upstream health changed");
            }
            self.health.set(healthy);
            tokio::select! {
                _ = shutdown.changed() => return,
                () = tokio::time::sleep(self.upstream.health_check_interval) => {}
            }
        }
    }
}

async fn probe(upstream: &UpstreamConfig) -> bool {
    let timeout = upstream.connect_timeout.min(Duration::from_secs(5));
    matches!(
        tokio::time::timeout(timeout, tokio::net::TcpStream::connect(upstream.address)).await,
        Ok(Ok(_))
    )
}

/// Re-reads the configuration file on SIGHUP.
#[derive(Debug)]
pub struct ConfigReload {
    pub runtime: Arc<SharedRuntime>,
}

#[async_trait]
impl BackgroundService for ConfigReload {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(stream) => stream,
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGHUP; config reload disabled");
                return;
            }
        };
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                received = hangups.recv() => {
                    if received.is_none() {
                        return;
                    }
                }
            }
            match self.runtime.reload().await {
                Ok(()) => tracing::info!("configuration reloaded"),
                Err(err) => {
                    tracing::error!(error = %err, "configuration reload refused; the previous configuration keeps serving")
                }
            }
        }
    }
}
