//! [`Gateway`]: the Pingora `ProxyHttp` implementation. Each hook is a few lines that call plain
//! functions: `admission::admit` decides, `respond` builds refusals, `forward` rewrites headers,
//! `metrics` and `access_log` record.
//!
//! Denials are responses (`Ok(true)` from `request_filter`), not errors; upstream failures are
//! mapped to 502/504 problem responses in `fail_to_proxy`.

use std::sync::Arc;

use async_trait::async_trait;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::prelude::HttpPeer;
use pingora::proxy::{FailToProxy, ProxyHttp, Session};
use pingora::{Error, ErrorSource, ErrorType, OrErr, Result};
use timesheet_domain::Principal;
use tracing::Instrument as _;

use crate::access_log::AccessRecord;
use crate::admission::{admit, AuthorizationHeader, Refusal, RequestFacts};
use crate::assertion_cache::Assertions;
use crate::ctx::{Admission, RequestCtx};
use crate::forward::{self, UpstreamConfig};
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;
use crate::respond::{self, SyntheticResponse};
use crate::state::SharedRuntime;
use crate::telemetry;

/// The proxy: one instance per worker service (see `workers`); clones share all state.
#[derive(Debug, Clone)]
pub struct Gateway {
    pub runtime: Arc<SharedRuntime>,
    pub assertions: Assertions,
    pub upstream: UpstreamConfig,
    pub limiter: Arc<RateLimiter>,
    pub metrics: Arc<Metrics>,
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> RequestCtx {
        RequestCtx::new()
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<bool> {
        let rt = self.runtime.load();
        let req = session.req_header();
        // The request's one route lookup: it names the span, admission decides on its rule, and
        // the context keeps its id for the access log and metrics.
        let found = rt.config.route.find(req.method.as_str(), req.uri.path());
        let route = found.map(|(_, rule)| rule);
        ctx.span = telemetry::request_span(req, &ctx.request_id, route.map(|r| r.label()));
        let facts = RequestFacts {
            route,
            host: request_host(req),
            authorization: authorization(req),
        };
        let outcome = admit(&rt, &self.limiter, &facts)
            .instrument(ctx.span.clone())
            .await;
        ctx.route = found.map(|(id, _)| id);
        ctx.admission = Admission::from(outcome);
        let response = ctx.refusal().map(|r| respond::refusal(&rt.config.realm, r));
        ctx.runtime = Some(rt);
        let Some(response) = response else {
            return Ok(false);
        };
        ctx.synthetic_status = Some(response.status);
        write_synthetic(session, &response).await?;
        Ok(true)
    }

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> Result<Box<HttpPeer>> {
        let mut peer = HttpPeer::new(self.upstream.address, false, String::new());
        peer.options.connection_timeout = Some(self.upstream.connect_timeout);
        peer.options.total_connection_timeout = Some(self.upstream.connect_timeout);
        peer.options.read_timeout = Some(self.upstream.read_timeout);
        peer.options.write_timeout = Some(self.upstream.write_timeout);
        ctx.upstream_started = Some(std::time::Instant::now());
        ctx.upstream_span = telemetry::upstream_span(&ctx.span, &self.upstream);
        Ok(Box::new(peer))
    }

    async fn upstream_request_filter(
        &self,
        session: &mut Session,
        upstream: &mut RequestHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        let strip = ctx
            .runtime
            .as_ref()
            .map(|rt| rt.config.strip_headers.as_slice())
            .unwrap_or(&[]);
        let client_ip = session
            .client_addr()
            .and_then(|a| a.as_inet())
            .map(|a| a.ip());
        forward::rewrite(upstream, strip, &ctx.request_id, client_ip)?;
        telemetry::propagate(upstream, &ctx.upstream_span)?;
        if let Admission::Admitted(Some(principal)) = &ctx.admission {
            let assertion = self.assertion(principal, upstream, &ctx.request_id)?;
            upstream.insert_header(identity_assertion::HEADER, &*assertion)?;
        }
        Ok(())
    }

    async fn upstream_response_filter(
        &self,
        _session: &mut Session,
        response: &mut ResponseHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        telemetry::record_status(&ctx.upstream_span, response.status.as_u16());
        Ok(())
    }

    fn fail_to_connect(
        &self,
        _s: &mut Session,
        _p: &HttpPeer,
        _c: &mut RequestCtx,
        mut e: Box<Error>,
    ) -> Box<Error> {
        // One upstream: retrying a refused connect only delays the 502.
        e.set_retry(false);
        e
    }

    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &Error,
        ctx: &mut RequestCtx,
    ) -> FailToProxy {
        telemetry::record_failure(&ctx.upstream_span);
        let Some(response) = failure_response(e) else {
            return FailToProxy {
                error_code: 0,
                can_reuse_downstream: false,
            };
        };
        ctx.synthetic_status = Some(response.status);
        if let Err(err) = write_synthetic(session, &response).await {
            tracing::debug!(error = %err, "writing the error response failed");
        }
        FailToProxy {
            error_code: response.status,
            can_reuse_downstream: false,
        }
    }

    fn suppress_error_log(&self, _session: &Session, _ctx: &RequestCtx, e: &Error) -> bool {
        // A client hanging up is the client's doing (with rustls, every close without
        // close_notify is one); the access log records it with the error's name. An ERROR line
        // per hang-up would bury the gateway's real faults.
        client_went_away(e)
    }

    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut RequestCtx) {
        let status = session
            .response_written()
            .map(|r| r.status.as_u16())
            .or(ctx.synthetic_status)
            .unwrap_or(0);
        let req = session.req_header();
        let record = AccessRecord {
            method: req.method.as_str(),
            path: req.uri.path(),
            status,
            tenant: ctx.tenant(),
            client_id: ctx.client_id(),
            route: ctx.route_label(),
            latency: ctx.started.elapsed(),
            request_id: &ctx.request_id,
            auth_failure: ctx.refusal().and_then(Refusal::auth_failure),
            error: e.map(|e| e.etype().as_str().to_owned()),
        };
        self.record_metrics(&record, ctx);
        telemetry::record_status(&ctx.span, status);
        if let Some(tenant) = record.tenant {
            ctx.span.record("tenant", tenant);
        }
        // Inside the request span, so the access line carries the trace id. Then both spans
        // end (the upstream one first), rather than whenever Pingora drops the context.
        ctx.span.in_scope(|| record.emit());
        ctx.upstream_span = tracing::Span::none();
        ctx.span = tracing::Span::none();
    }
}

// === impl Gateway ===

impl Gateway {
    /// The identity assertion for `principal`, bound to the request exactly as forwarded.
    fn assertion(
        &self,
        principal: &Principal,
        upstream: &RequestHeader,
        request_id: &str,
    ) -> Result<Arc<str>> {
        let path_and_query = upstream.uri.path_and_query().map_or("/", |p| p.as_str());
        self.assertions
            .assertion(
                principal,
                upstream.method.as_str(),
                path_and_query,
                request_id,
                timesheet_domain::unix_now(),
            )
            .or_err(ErrorType::InternalError, "signing the identity assertion")
    }

    fn record_metrics(&self, record: &AccessRecord<'_>, ctx: &RequestCtx) {
        self.metrics
            .request(record.tenant, record.route, record.status);
        if let Some(reason) = record.auth_failure {
            self.metrics.auth_failure(reason);
        }
        if let Some(Refusal::RateLimited { .. }) = ctx.refusal() {
            self.metrics.rate_limited(record.tenant);
        }
        if let Some(elapsed) = ctx.upstream_elapsed() {
            self.metrics.upstream(elapsed);
        }
    }
}

/// `Host`, or the HTTP/2 `:authority`.
fn request_host(req: &RequestHeader) -> Option<&str> {
    req.headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri.host())
}

fn authorization(req: &RequestHeader) -> AuthorizationHeader<'_> {
    let mut values = req.headers.get_all(http::header::AUTHORIZATION).iter();
    match (values.next(), values.next()) {
        (None, _) => AuthorizationHeader::Absent,
        (Some(_), Some(_)) => AuthorizationHeader::Several,
        (Some(v), None) => v
            .to_str()
            .map_or(AuthorizationHeader::NotText, AuthorizationHeader::One),
    }
}

/// The response for a failed proxy attempt; `None` when the client is gone.
pub fn failure_response(e: &Error) -> Option<SyntheticResponse> {
    use ErrorType::*;
    if client_went_away(e) {
        return None;
    }
    match (e.esource(), e.etype()) {
        (
            _,
            ConnectTimedout | ConnectRefused | ConnectNoRoute | ConnectError | TLSHandshakeFailure,
        ) => Some(respond::bad_gateway()),
        (ErrorSource::Upstream, ReadTimedout | WriteTimedout) => Some(respond::gateway_timeout()),
        (ErrorSource::Upstream, _) => Some(respond::bad_gateway()),
        (ErrorSource::Downstream, _) => Some(respond::malformed_request()),
        (_, HTTPStatus(400)) => Some(respond::malformed_request()),
        _ => Some(respond::internal_error()),
    }
}

/// The client hung up or its connection broke: there is no one to answer, and nothing went
/// wrong in the gateway.
pub fn client_went_away(e: &Error) -> bool {
    *e.esource() == ErrorSource::Downstream
        && matches!(
            e.etype(),
            ErrorType::ReadError | ErrorType::WriteError | ErrorType::ConnectionClosed
        )
}

/// Writes a response built by `respond` (the only builder of synthetic responses).
async fn write_synthetic(session: &mut Session, response: &SyntheticResponse) -> Result<()> {
    let mut header = ResponseHeader::build(response.status, Some(response.headers.len()))?;
    for (name, value) in &response.headers {
        header.insert_header(*name, value.as_str())?;
    }
    session
        .write_response_header(Box::new(header), false)
        .await?;
    session
        .write_response_body(Some(response.body.clone().into()), true)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(source: ErrorSource, etype: ErrorType) -> Option<u16> {
        let mut e = Error::new(etype);
        e.esource = source;
        failure_response(&e).map(|r| r.status)
    }

    #[test]
    fn upstream_failures_map_to_502_and_504() {
        assert_eq!(
            status(ErrorSource::Upstream, ErrorType::ConnectRefused),
            Some(502)
        );
        assert_eq!(
            status(ErrorSource::Upstream, ErrorType::ConnectTimedout),
            Some(502)
        );
        assert_eq!(
            status(ErrorSource::Upstream, ErrorType::ReadTimedout),
            Some(504)
        );
        assert_eq!(
            status(ErrorSource::Upstream, ErrorType::ConnectionClosed),
            Some(502)
        );
        assert_eq!(
            status(ErrorSource::Downstream, ErrorType::ConnectionClosed),
            None
        );
        assert_eq!(
            status(ErrorSource::Internal, ErrorType::InternalError),
            Some(500)
        );
    }

    #[test]
    fn only_a_broken_client_connection_counts_as_the_client_going_away() {
        let went_away = |source, etype| {
            let mut e = Error::new(etype);
            e.esource = source;
            client_went_away(&e)
        };
        for etype in [
            ErrorType::ReadError,
            ErrorType::WriteError,
            ErrorType::ConnectionClosed,
        ] {
            assert!(
                went_away(ErrorSource::Downstream, etype.clone()),
                "{etype:?}"
            );
            assert!(
                !went_away(ErrorSource::Upstream, etype.clone()),
                "{etype:?}"
            );
            assert!(!went_away(ErrorSource::Internal, etype), "internal");
        }
        assert!(!went_away(
            ErrorSource::Downstream,
            ErrorType::InvalidHTTPHeader
        ));
        assert!(!went_away(ErrorSource::Downstream, ErrorType::ReadTimedout));
    }

    #[test]
    fn several_authorization_headers_are_seen_as_several() {
        let mut req = RequestHeader::build("GET", b"/", None).unwrap();
        assert_eq!(authorization(&req), AuthorizationHeader::Absent);
        req.append_header("authorization", "Bearer a").unwrap();
        assert_eq!(authorization(&req), AuthorizationHeader::One("Bearer a"));
        req.append_header("authorization", "Bearer b").unwrap();
        assert_eq!(authorization(&req), AuthorizationHeader::Several);
    }
}
