//! Fixtures for the gateway's integration tests: a JWKS/discovery server on a free port whose
//! behaviour the test switches (serve, garbage, 500, hang) and which counts the requests it gets,
//! and a config builder that points tenants at such servers.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use gateway::auth::{Authenticator, JwksCache};
use gateway::config::Config;
use serde_json::{json, Value};

#[path = "../../src/testkit.rs"]
pub mod testkit;

pub mod raw_tls;
pub mod stack;
pub mod upstream;

/// What the JWKS endpoint answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Serve,
    /// 200 with an HTML page.
    Garbage,
    /// 200 with `{"keys": []}`.
    NoKeys,
    /// 500.
    Error,
    /// Never answers.
    Hang,
}

struct ServerState {
    issuer: String,
    base: String,
    jwks: Mutex<Value>,
    mode: Mutex<Mode>,
    jwks_hits: AtomicU64,
    discovery_hits: AtomicU64,
}

/// A JWKS (and OIDC discovery) server on 127.0.0.1 with a free port.
pub struct JwksServer {
    state: Arc<ServerState>,
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl JwksServer {
    /// Serves `keys` (JWK values) for `issuer`.
    pub async fn spawn(issuer: &str, keys: Vec<Value>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(ServerState {
            issuer: issuer.to_owned(),
            base: format!("http://{addr}"),
            jwks: Mutex::new(testkit::jwks(&keys)),
            mode: Mutex::new(Mode::Serve),
            jwks_hits: AtomicU64::new(0),
            discovery_hits: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/.well-known/jwks.json", get(serve_jwks))
            .route("/.well-known/openid-configuration", get(serve_discovery))
            .with_state(Arc::clone(&state))
            // No keep-alive: a stopped server must really be unreachable, and pooled
            // connections would outlive the accept loop.
            .layer(axum::middleware::map_response(
                |mut res: Response| async move {
                    res.headers_mut().insert(
                        axum::http::header::CONNECTION,
                        axum::http::HeaderValue::from_static("close"),
                    );
                    res
                },
            ));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { state, addr, task }
    }

    pub fn jwks_uri(&self) -> String {
        format!("http://{}/.well-known/jwks.json", self.addr)
    }

    pub fn discovery_url(&self) -> String {
        format!("http://{}/.well-known/openid-configuration", self.addr)
    }

    pub fn set_keys(&self, keys: Vec<Value>) {
        *self.state.jwks.lock().unwrap() = testkit::jwks(&keys);
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
    }

    /// Requests the JWKS endpoint received.
    pub fn jwks_hits(&self) -> u64 {
        self.state.jwks_hits.load(Ordering::SeqCst)
    }

    pub fn discovery_hits(&self) -> u64 {
        self.state.discovery_hits.load(Ordering::SeqCst)
    }

    /// Stops listening; later fetches get connection refused.
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

async fn serve_jwks(State(state): State<Arc<ServerState>>) -> Response {
    state.jwks_hits.fetch_add(1, Ordering::SeqCst);
    let mode = state.mode.lock().unwrap().clone();
    match mode {
        Mode::Serve => axum::Json(state.jwks.lock().unwrap().clone()).into_response(),
        Mode::Garbage => (StatusCode::OK, "<html>maintenance</html>").into_response(),
        Mode::NoKeys => axum::Json(json!({"keys": []})).into_response(),
        Mode::Error => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(600)).await;
            StatusCode::OK.into_response()
        }
    }
}

async fn serve_discovery(State(state): State<Arc<ServerState>>) -> Response {
    state.discovery_hits.fetch_add(1, Ordering::SeqCst);
    axum::Json(json!({
        "issuer": state.issuer,
        "jwks_uri": format!("{}/.well-known/jwks.json", state.base),
        "token_endpoint": format!("{}/oauth/token", state.base),
    }))
    .into_response()
}

pub const HOST_A: &str = "a.example.com";
pub const HOST_B: &str = "b.example.com";
pub const ISSUER_B: &str = "https://other.eu.auth0.com/";
pub const ISSUER_ORG: &str = "https://shared.eu.auth0.com/";

/// Three tenants: `exampleco` (RS256/ES256/EdDSA, at `a.example.com`), `other` (at
/// `b.example.com`) and `orgco` (Auth0 Organization `org_a`, keys via discovery). `extra` is
/// inserted into `[jwks]`.
pub fn config(a: &JwksServer, b: &JwksServer, org: &JwksServer, jwks_extra: &str) -> Config {
    let text = format!(
        r#"
[jwks]
fetch_timeout = "500ms"
{jwks_extra}

[[tenant]]
id = "exampleco"
issuer = "{issuer_a}"
audiences = ["{aud}"]
algorithms = ["RS256", "ES256", "EdDSA"]
jwks_uri = "{a}"
hostnames = ["{HOST_A}"]

[[tenant]]
id = "other"
issuer = "{ISSUER_B}"
audiences = ["{aud}"]
jwks_uri = "{b}"
hostnames = ["{HOST_B}"]

[[tenant]]
id = "orgco"
issuer = "{ISSUER_ORG}"
audiences = ["{aud}"]
discovery = "{org}"
org_id = "org_a"

[[route]]
method = "GET"
path = "/v1/timesheets/entries"
scopes = ["read:timesheets"]
"#,
        issuer_a = testkit::ISSUER,
        aud = testkit::AUDIENCE,
        a = a.jwks_uri(),
        b = b.jwks_uri(),
        org = org.discovery_url(),
    );
    Config::from_toml_str(&text).unwrap()
}

/// A primed authenticator over `config`; panics if priming fails.
pub async fn authenticator(config: &Config) -> Authenticator {
    let jwks = Arc::new(JwksCache::new(&config.jwks, &config.tenant).unwrap());
    let failures = jwks.prime().await;
    assert!(failures.is_empty(), "prime failed: {failures:?}");
    Authenticator::new(&config.tenant, &config.token_cache, jwks)
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}
