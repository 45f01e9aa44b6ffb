//! The access log: one JSON line per request through `tracing` (target `access`), written by
//! the proxy's `logging` hook. It carries the path without its query (queries may hold personal
//! data) and never the token, the assertion or any header value.

use std::time::Duration;

/// One request's access-log record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRecord<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub tenant: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub route: Option<&'a str>,
    pub latency: Duration,
    pub request_id: &'a str,
    pub auth_failure: Option<&'a str>,
    /// Why the proxying failed (Pingora's error type), when it did.
    pub error: Option<String>,
}

impl AccessRecord<'_> {
    pub fn emit(&self) {
        tracing::info!(
            target: "access",
            method = self.method,
            path = self.path,
            status = self.status,
            tenant = self.tenant.unwrap_or("-"),
            client_id = self.client_id.unwrap_or("-"),
            route = self.route.unwrap_or("-"),
            latency_ms = u64::try_from(self.latency.as_millis()).unwrap_or(u64::MAX),
            request_id = self.request_id,
            auth_failure = self.auth_failure.unwrap_or("-"),
            error = self.error.as_deref().unwrap_or("-"),
            "request"
        );
    }
}
