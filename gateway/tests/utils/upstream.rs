//! The upstream of the proxy tests: an axum server that verifies the gateway's identity
//! assertion (as timesheet-svc does) and echoes what it received (principal, headers, path), and
//! that can be stopped and restarted on the same port.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::response::IntoResponse;
use axum::Router;
use identity_assertion::{AssertionVerifier, RequestBinding, VerifierKey, AUDIENCE_TIMESHEET_SVC};
use serde_json::{json, Value};

use super::testkit;

/// How long `/slow` makes the upstream wait; the gateway's read timeout is shorter.
pub const SLOW: Duration = Duration::from_secs(3);

pub struct UpstreamState {
    verifier: AssertionVerifier,
    hits: AtomicU64,
    last: Mutex<Option<Value>>,
}

/// The echoing upstream.
pub struct Upstream {
    pub addr: SocketAddr,
    state: Arc<UpstreamState>,
    task: tokio::task::JoinHandle<()>,
}

impl Upstream {
    /// Serves on `addr` (port 0 for a free one), trusting assertions signed by `public_pem`.
    pub async fn spawn(addr: SocketAddr, public_pem: &str) -> Self {
        let verifier = AssertionVerifier::new(
            &[VerifierKey {
                kid: Some("gw-1".into()),
                public_pem: public_pem.to_owned(),
            }],
            AUDIENCE_TIMESHEET_SVC,
            5,
        )
        .unwrap();
        let state = Arc::new(UpstreamState {
            verifier,
            hits: AtomicU64::new(0),
            last: Mutex::new(None),
        });
        Self::serve(addr, state).await
    }

    async fn serve(addr: SocketAddr, state: Arc<UpstreamState>) -> Self {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().fallback(echo).with_state(Arc::clone(&state));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, state, task }
    }

    /// Requests received so far.
    pub fn hits(&self) -> u64 {
        self.state.hits.load(Ordering::SeqCst)
    }

    /// Stops listening (the port is free again).
    pub async fn stop(self) -> (SocketAddr, Arc<UpstreamState>) {
        self.task.abort();
        let _ = self.task.await;
        (self.addr, self.state)
    }

    /// Starts again on the port of a stopped upstream.
    pub async fn restart_from(addr: SocketAddr, state: Arc<UpstreamState>) -> Self {
        Self::serve(addr, state).await
    }
}

async fn echo(State(state): State<Arc<UpstreamState>>, req: Request) -> impl IntoResponse {
    state.hits.fetch_add(1, Ordering::SeqCst);
    if req.uri().path() == "/slow" {
        tokio::time::sleep(SLOW).await;
    }
    let headers: serde_json::Map<String, Value> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                json!(v.to_str().unwrap_or("<binary>")),
            )
        })
        .collect();
    // Every value of every header, so a test can see a repeated header `headers` would hide.
    let mut all_headers = serde_json::Map::new();
    for (k, v) in req.headers() {
        if let Value::Array(values) = all_headers
            .entry(k.as_str().to_owned())
            .or_insert_with(|| json!([]))
        {
            values.push(json!(v.to_str().unwrap_or("<binary>")));
        }
    }
    let binding = RequestBinding {
        method: req.method().as_str().to_owned(),
        path_and_query: req
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned(),
        request_id: req
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
    };
    let principal = req
        .headers()
        .get(identity_assertion::HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|token| state.verifier.verify(token, &binding, testkit::now()));
    let body = json!({
        "method": req.method().as_str(),
        "path_and_query": binding.path_and_query,
        "headers": headers,
        "all_headers": all_headers,
        "principal": match &principal {
            Some(Ok(p)) => json!({
                "tenant": p.tenant.as_ref(),
                "sub": p.subject,
                "client_id": p.client_id,
                "kind": format!("{:?}", p.kind),
                "scopes": p.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            }),
            _ => Value::Null,
        },
        "assertion_error": match &principal {
            Some(Err(e)) => json!(e.to_string()),
            _ => Value::Null,
        },
    });
    *state.last.lock().unwrap() = Some(body.clone());
    axum::Json(body)
}
