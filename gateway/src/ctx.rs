//! [`RequestCtx`]: what one request's hooks share, from `request_filter` to `logging`.
//!
//! It holds the configuration snapshot the request started with (so a SIGHUP reload mid-request
//! never mixes two configurations), the gateway's request id, what admission decided, and the
//! request's spans (hooks are separate calls, so the spans are kept here, not in a call tree).

use std::sync::Arc;
use std::time::{Duration, Instant};

use timesheet_domain::Principal;

use crate::state::Runtime;

/// Per-request state of the proxy.
#[derive(Debug)]
pub struct RequestCtx {
    /// The gateway's own request id (UUID v7), forwarded as `x-request-id`.
    pub request_id: String,
    pub started: Instant,
    /// The configuration this request is served with.
    pub runtime: Option<Arc<Runtime>>,
    /// Route pattern (a metrics label, never the raw path); `None` when unlisted.
    pub route: Option<String>,
    pub principal: Option<Principal>,
    /// Stable reason code of a failed authentication, for the access log and metrics.
    pub auth_failure: Option<&'static str>,
    /// Status of a response the gateway wrote itself.
    pub synthetic_status: Option<u16>,
    /// A rate limit refused the request.
    pub limited: bool,
    pub upstream_started: Option<Instant>,
    /// The server span of this request (disabled until `request_filter` makes it, and when
    /// tracing and logging are off).
    pub span: tracing::Span,
    /// The client span of the proxied call, from `upstream_peer` until the upstream's response
    /// ends.
    pub upstream_span: tracing::Span,
}

impl RequestCtx {
    pub fn new() -> Self {
        Self {
            request_id: uuid::Uuid::now_v7().to_string(),
            started: Instant::now(),
            runtime: None,
            route: None,
            principal: None,
            auth_failure: None,
            synthetic_status: None,
            limited: false,
            upstream_started: None,
            span: tracing::Span::none(),
            upstream_span: tracing::Span::none(),
        }
    }

    pub fn tenant(&self) -> Option<&str> {
        self.principal.as_ref().map(|p| p.tenant.as_ref())
    }

    pub fn client_id(&self) -> Option<&str> {
        self.principal.as_ref().and_then(|p| p.client_id.as_deref())
    }

    /// Time spent on the upstream so far, if the request got that far.
    pub fn upstream_elapsed(&self) -> Option<Duration> {
        self.upstream_started.map(|t| t.elapsed())
    }
}

impl Default for RequestCtx {
    fn default() -> Self {
        Self::new()
    }
}
