//! The admin listener (`[admin] listen`, plain HTTP, meant for loopback or a private network):
//! `/healthz` (the process answers), `/readyz` (every tenant's keys are usable and the upstream
//! passed its last health check) and `/metrics` (Prometheus text).
//!
//! It is a Pingora `ServeHttp` app on its own listening service, so it shares the proxy's
//! lifecycle, including graceful shutdown.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use http::{Response, StatusCode};
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;

use crate::metrics::Metrics;
use crate::state::SharedRuntime;

/// Whether the upstream answered its last health check; written by the health-check service.
#[derive(Debug, Default)]
pub struct UpstreamHealth(AtomicBool);

impl UpstreamHealth {
    pub fn set(&self, healthy: bool) {
        self.0.store(healthy, Ordering::Relaxed);
    }

    pub fn is_healthy(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The admin HTTP app.
#[derive(Debug)]
pub struct AdminApp {
    pub runtime: Arc<SharedRuntime>,
    pub metrics: Arc<Metrics>,
    pub upstream: Arc<UpstreamHealth>,
}

#[async_trait]
impl ServeHttp for AdminApp {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let path = session.req_header().uri.path().to_owned();
        match path.as_str() {
            "/healthz" => text(StatusCode::OK, "ok\n"),
            "/readyz" => self.readyz().await,
            "/metrics" => {
                self.metrics.sync_auth(&self.runtime.load().auth).await;
                respond(
                    StatusCode::OK,
                    "text/plain; version=0.0.4",
                    self.metrics.render(),
                )
            }
            _ => text(StatusCode::NOT_FOUND, "not found\n"),
        }
    }
}

impl AdminApp {
    async fn readyz(&self) -> Response<Vec<u8>> {
        let keys = self.runtime.load().auth.jwks().is_ready().await;
        let upstream = self.upstream.is_healthy();
        let (status, body) = readiness(keys, upstream);
        text(status, body)
    }
}

/// Ready only with usable keys for every tenant and a healthy upstream.
pub fn readiness(keys_ready: bool, upstream_healthy: bool) -> (StatusCode, &'static str) {
    match (keys_ready, upstream_healthy) {
        (true, true) => (StatusCode::OK, "ready\n"),
        (false, _) => (StatusCode::SERVICE_UNAVAILABLE, "signing keys not loaded\n"),
        (true, false) => (StatusCode::SERVICE_UNAVAILABLE, "upstream unhealthy\n"),
    }
}

fn text(status: StatusCode, body: &str) -> Response<Vec<u8>> {
    respond(
        status,
        "text/plain; charset=utf-8",
        body.as_bytes().to_vec(),
    )
}

fn respond(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response<Vec<u8>> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    headers.insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    let len = response.body().len();
    response
        .headers_mut()
        .insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(len));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_needs_keys_and_a_healthy_upstream() {
        assert_eq!(readiness(true, true).0, StatusCode::OK);
        assert_eq!(readiness(false, true).0, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(readiness(true, false).0, StatusCode::SERVICE_UNAVAILABLE);
    }
}
