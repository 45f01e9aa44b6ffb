//! Prometheus metrics of the service, served at `GET /metrics` (`routes::metrics`): HTTP rate,
//! errors and duration per route template, the database pools, and what uploads carry and
//! become.
//!
//! Label values are bounded: routes are axum's matched templates (`/v1/timesheets/entries/{id}`)
//! or `unmatched`, methods are the standard ones or `other`; no ids, tenants or users.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use timesheet_domain::api::UploadResponse;
use timesheet_store::PoolStatus;

/// Marks a response whose cause was the database, so the request middleware can count it
/// without the error path knowing about metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbFailure {
    Unavailable,
    Internal,
}

impl DbFailure {
    fn label(self) -> &'static str {
        match self {
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }
}

pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    pool_connections: IntGaugeVec,
    pool_max: IntGauge,
    db_errors: IntCounterVec,
    upload_batch_size: Histogram,
    upload_items: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let http_requests = IntCounterVec::new(
            Opts::new(
                "timesheet_http_requests_total",
                "HTTP requests by method, route template and status",
            ),
            &["method", "route", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "timesheet_http_request_duration_seconds",
                "Time to answer an HTTP request, by method and route template",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["method", "route"],
        )?;
        let pool_connections = IntGaugeVec::new(
            Opts::new(
                "timesheet_db_pool_connections",
                "Open database connections by state",
            ),
            &["state"],
        )?;
        let pool_max = IntGauge::new(
            "timesheet_db_pool_max_connections",
            "Most connections the database pools may open",
        )?;
        let db_errors = IntCounterVec::new(
            Opts::new(
                "timesheet_db_errors_total",
                "Requests that failed because of the database, by kind",
            ),
            &["kind"],
        )?;
        let upload_batch_size = Histogram::with_opts(
            HistogramOpts::new("timesheet_upload_batch_size", "Items per upload request")
                .buckets(vec![1.0, 10.0, 50.0, 100.0, 250.0, 500.0, 750.0, 1000.0]),
        )?;
        let upload_items = IntCounterVec::new(
            Opts::new("timesheet_upload_items_total", "Uploaded items by outcome"),
            &["outcome"],
        )?;
        let registry = Registry::new();
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        registry.register(Box::new(pool_connections.clone()))?;
        registry.register(Box::new(pool_max.clone()))?;
        registry.register(Box::new(db_errors.clone()))?;
        registry.register(Box::new(upload_batch_size.clone()))?;
        registry.register(Box::new(upload_items.clone()))?;
        Ok(Self {
            registry,
            http_requests,
            http_duration,
            pool_connections,
            pool_max,
            db_errors,
            upload_batch_size,
            upload_items,
        })
    }

    pub fn observe_request(&self, method: &Method, route: &str, status: u16, elapsed: Duration) {
        let method = method_label(method);
        self.http_requests
            .with_label_values(&[method, route, status_label(status)])
            .inc();
        self.http_duration
            .with_label_values(&[method, route])
            .observe(elapsed.as_secs_f64());
    }

    pub fn observe_db_failure(&self, failure: DbFailure) {
        self.db_errors.with_label_values(&[failure.label()]).inc();
    }

    pub fn observe_upload(&self, items: usize, response: &UploadResponse) {
        self.upload_batch_size.observe(items as f64);
        for (outcome, count) in [
            ("created", response.created),
            ("updated", response.updated),
            ("unchanged", response.unchanged),
            ("rejected", response.rejected),
        ] {
            self.upload_items
                .with_label_values(&[outcome])
                .inc_by(count as u64);
        }
    }

    /// The text exposition, with the pool gauges read at scrape time.
    pub fn render(&self, pool: PoolStatus) -> Result<String, prometheus::Error> {
        self.pool_connections
            .with_label_values(&["idle"])
            .set(i64::from(pool.idle));
        self.pool_connections
            .with_label_values(&["in_use"])
            .set(i64::from(pool.in_use()));
        self.pool_max.set(i64::from(pool.max));
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        // The text format is UTF-8 by construction (names, labels and values are Rust strings).
        Ok(String::from_utf8_lossy(&buffer).into_owned())
    }
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Statuses as static strings: the label set stays small and no allocation per request.
fn status_label(status: u16) -> &'static str {
    const KNOWN: [(u16, &str); 22] = [
        (200, "200"),
        (201, "201"),
        (204, "204"),
        (304, "304"),
        (400, "400"),
        (401, "401"),
        (403, "403"),
        (404, "404"),
        (405, "405"),
        (406, "406"),
        (409, "409"),
        (412, "412"),
        (413, "413"),
        (415, "415"),
        (422, "422"),
        (428, "428"),
        (429, "429"),
        (500, "500"),
        (502, "502"),
        (503, "503"),
        (504, "504"),
        (408, "408"),
    ];
    KNOWN.iter().find(|(code, _)| *code == status).map_or(
        match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        },
        |(_, label)| label,
    )
}

/// Counts and times every request by its route template. Runs inside the router's per-route
/// layers, where axum has already put the [`MatchedPath`] in the request.
pub async fn track_requests(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let response = next.run(request).await;
    let route = route.as_deref().unwrap_or("unmatched");
    metrics.observe_request(
        &method,
        route,
        response.status().as_u16(),
        started.elapsed(),
    );
    if let Some(failure) = response.extensions().get::<DbFailure>() {
        metrics.observe_db_failure(*failure);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_outside_the_table_fall_into_their_class() {
        assert_eq!(status_label(200), "200");
        assert_eq!(status_label(418), "4xx");
        assert_eq!(status_label(599), "5xx");
        assert_eq!(status_label(102), "1xx");
    }

    #[test]
    fn render_shows_pool_and_upload_series() {
        let metrics = Metrics::new().unwrap();
        metrics.observe_upload(
            3,
            &UploadResponse {
                created: 2,
                rejected: 1,
                ..UploadResponse::default()
            },
        );
        metrics.observe_request(
            &Method::GET,
            "/v1/timesheets/entries/{id}",
            200,
            Duration::from_millis(3),
        );
        let text = metrics
            .render(PoolStatus {
                open: 3,
                idle: 1,
                max: 10,
            })
            .unwrap();
        assert!(
            text.contains("timesheet_db_pool_connections{state=\"in_use\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("timesheet_db_pool_max_connections 10"),
            "{text}"
        );
        assert!(
            text.contains("timesheet_upload_items_total{outcome=\"created\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("timesheet_upload_batch_size_count 1"),
            "{text}"
        );
        assert!(text.contains(
            "timesheet_http_requests_total{method=\"GET\",route=\"/v1/timesheets/entries/{id}\",status=\"200\"} 1"
        ), "{text}");
    }
}
