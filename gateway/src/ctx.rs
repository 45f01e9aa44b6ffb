//! [`RequestCtx`]: what one request's hooks share, from `request_filter` to `logging`.
//!
//! It holds the configuration snapshot the request started with (so a SIGHUP reload mid-request
//! never mixes two configurations), the gateway's request id, the route found by the request's
//! one lookup, what admission decided, and the request's spans (hooks are separate calls, so the
//! spans are kept here, not in a call tree).

use std::sync::Arc;
use std::time::{Duration, Instant};

use timesheet_domain::Principal;

use crate::admission::Refusal;
use crate::policy::{RouteId, RouteRule};
use crate::state::Runtime;

/// What admission decided about a request.
#[derive(Debug, Default)]
pub enum Admission {
    /// Not decided (yet): the request did not get as far as admission.
    #[default]
    Pending,
    /// Sent upstream, as this principal (`None` on public routes).
    Admitted(Option<Principal>),
    /// Answered by the gateway itself.
    Refused(Refusal),
}

impl From<Result<Option<Principal>, Refusal>> for Admission {
    fn from(outcome: Result<Option<Principal>, Refusal>) -> Self {
        match outcome {
            Ok(principal) => Self::Admitted(principal),
            Err(refusal) => Self::Refused(refusal),
        }
    }
}

/// Per-request state of the proxy.
#[derive(Debug)]
pub struct RequestCtx {
    /// The gateway's own request id (UUID v7), forwarded as `x-request-id`.
    pub request_id: String,
    pub started: Instant,
    /// The configuration this request is served with.
    pub runtime: Option<Arc<Runtime>>,
    /// The request's route in `runtime`'s table; `None` when unlisted.
    pub route: Option<RouteId>,
    pub admission: Admission,
    /// Status of a response the gateway wrote itself.
    pub synthetic_status: Option<u16>,
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
            admission: Admission::Pending,
            synthetic_status: None,
            upstream_started: None,
            span: tracing::Span::none(),
            upstream_span: tracing::Span::none(),
        }
    }

    /// The request's route rule, as found by its one lookup.
    pub fn route(&self) -> Option<&RouteRule> {
        let (runtime, id) = self.runtime.as_ref().zip(self.route)?;
        runtime.config.route.get(id)
    }

    /// Route pattern (a metrics label, never the raw path); `None` when unlisted.
    pub fn route_label(&self) -> Option<&str> {
        self.route().map(RouteRule::label)
    }

    /// Whom the request came from: the admitted principal, or that of a request refused after
    /// its token was verified.
    pub fn principal(&self) -> Option<&Principal> {
        match &self.admission {
            Admission::Admitted(principal) => principal.as_ref(),
            Admission::Refused(refusal) => refusal.principal(),
            Admission::Pending => None,
        }
    }

    /// Why the gateway answered the request itself, when admission refused it.
    pub fn refusal(&self) -> Option<&Refusal> {
        match &self.admission {
            Admission::Refused(refusal) => Some(refusal),
            _ => None,
        }
    }

    pub fn tenant(&self) -> Option<&str> {
        self.principal().map(|p| p.tenant.as_ref())
    }

    pub fn client_id(&self) -> Option<&str> {
        self.principal().and_then(|p| p.client_id.as_deref())
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
