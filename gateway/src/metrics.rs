//! Prometheus metrics of the gateway, in their own registry, rendered as text for `/metrics`.
//!
//! Request, auth-failure, rate-limit and latency metrics are recorded by the proxy's `logging`
//! hook (once per request). JWKS fetches, key ages and verified-token cache hits are counted by
//! the auth core itself; [`Metrics::sync_auth`] copies them in at scrape time, so the hot path
//! pays nothing for them. Labels are bounded: tenants and route patterns come from the config,
//! never from the raw request.

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::auth::Authenticator;

/// Label used when a request matched no tenant or no route.
pub const NONE_LABEL: &str = "none";

/// The gateway's metrics.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    auth_failures: IntCounterVec,
    jwks_fetches: IntCounterVec,
    jwks_key_age: IntGaugeVec,
    token_cache_hits: IntCounter,
    upstream_duration: Histogram,
    rate_limited: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "gateway_requests_total",
                "Requests by tenant, route pattern and status",
            ),
            &["tenant", "route", "status"],
        )?;
        let auth_failures = IntCounterVec::new(
            Opts::new(
                "gateway_auth_failures_total",
                "Failed authentications by reason",
            ),
            &["reason"],
        )?;
        let jwks_fetches = IntCounterVec::new(
            Opts::new(
                "gateway_jwks_fetches_total",
                "JWKS fetches by tenant and outcome",
            ),
            &["tenant", "outcome"],
        )?;
        let jwks_key_age = IntGaugeVec::new(
            Opts::new(
                "gateway_jwks_key_age_seconds",
                "Age of the signing keys served",
            ),
            &["tenant"],
        )?;
        let token_cache_hits = IntCounter::new(
            "gateway_token_cache_hits_total",
            "Requests answered from the verified-token cache",
        )?;
        // No label: one series is enough to see the upstream's latency from the edge.
        let upstream_duration = Histogram::with_opts(
            HistogramOpts::new(
                "gateway_upstream_duration_seconds",
                "Time from choosing the upstream to the end of the response",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
        )?;
        let rate_limited = IntCounterVec::new(
            Opts::new(
                "gateway_rate_limited_total",
                "Requests refused by a rate limit",
            ),
            &["tenant"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(auth_failures.clone()))?;
        registry.register(Box::new(jwks_fetches.clone()))?;
        registry.register(Box::new(jwks_key_age.clone()))?;
        registry.register(Box::new(token_cache_hits.clone()))?;
        registry.register(Box::new(upstream_duration.clone()))?;
        registry.register(Box::new(rate_limited.clone()))?;
        Ok(Self {
            registry,
            requests,
            auth_failures,
            jwks_fetches,
            jwks_key_age,
            token_cache_hits,
            upstream_duration,
            rate_limited,
        })
    }

    pub fn request(&self, tenant: Option<&str>, route: Option<&str>, status: u16) {
        let status = status.to_string();
        self.requests
            .with_label_values(&[
                tenant.unwrap_or(NONE_LABEL),
                route.unwrap_or(NONE_LABEL),
                status.as_str(),
            ])
            .inc();
    }

    pub fn auth_failure(&self, reason: &str) {
        self.auth_failures.with_label_values(&[reason]).inc();
    }

    pub fn rate_limited(&self, tenant: Option<&str>) {
        self.rate_limited
            .with_label_values(&[tenant.unwrap_or(NONE_LABEL)])
            .inc();
    }

    pub fn upstream(&self, elapsed: std::time::Duration) {
        self.upstream_duration.observe(elapsed.as_secs_f64());
    }

    /// Brings the auth core's counters into the registry. Counters only move forward: after a
    /// reload the new authenticator starts from zero and the exported totals pause until it
    /// catches up, rather than going backwards.
    pub async fn sync_auth(&self, auth: &Authenticator) {
        for stats in auth.jwks().stats().await {
            let tenant = stats.tenant.as_ref();
            let ok = stats.fetches.saturating_sub(stats.fetch_errors);
            advance(&self.jwks_fetches.with_label_values(&[tenant, "ok"]), ok);
            advance(
                &self.jwks_fetches.with_label_values(&[tenant, "error"]),
                stats.fetch_errors,
            );
            if let Some(age) = stats.key_age_secs {
                self.jwks_key_age
                    .with_label_values(&[tenant])
                    .set(i64::try_from(age).unwrap_or(i64::MAX));
            }
        }
        advance(&self.token_cache_hits, auth.stats().cache_hits);
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Encoding into a Vec only fails on invalid metric names, which are constants here.
        if let Err(err) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %err, "encoding metrics failed");
        }
        out
    }
}

fn advance(counter: &IntCounter, total: u64) {
    let now = counter.get();
    if total > now {
        counter.inc_by(total - now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_requests_appear_in_the_text_exposition() {
        let m = Metrics::new().unwrap();
        m.request(Some("acme"), Some("/v1/timesheets/entries/{id}"), 200);
        m.request(Some("acme"), Some("/v1/timesheets/entries/{id}"), 200);
        m.request(None, None, 404);
        m.auth_failure("expired");
        m.rate_limited(Some("acme"));
        m.upstream(std::time::Duration::from_millis(3));
        let text = String::from_utf8(m.render()).unwrap();
        assert!(text.contains(
            "gateway_requests_total{route=\"/v1/timesheets/entries/{id}\",status=\"200\",tenant=\"acme\"} 2"
        ), "{text}");
        assert!(text
            .contains("gateway_requests_total{route=\"none\",status=\"404\",tenant=\"none\"} 1"));
        assert!(text.contains("gateway_auth_failures_total{reason=\"expired\"} 1"));
        assert!(text.contains("gateway_rate_limited_total{tenant=\"acme\"} 1"));
        assert!(text.contains("gateway_upstream_duration_seconds_count 1"));
    }

    #[test]
    fn advance_never_goes_backwards() {
        let c = IntCounter::new("c", "c").unwrap();
        advance(&c, 5);
        advance(&c, 3);
        assert_eq!(c.get(), 5);
    }
}
