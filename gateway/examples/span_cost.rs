//! What the gateway's per-request spans cost on the hot path, with the gateway's own log filter
//! and without it, measured in-process (no server, no network): one iteration is what one
//! authenticated request does with spans and the access line — the `request` span, a
//! `jwt.verify` span entered around the token check, the `upstream` span, the status and tenant
//! records, and the access line written inside the request span (to a sink).
//!
//! ```text
//! cargo run --release -p gateway --example span_cost -- --iterations 200000
//! ```
//!
//! Prints ns per iteration for the log filter `info` as written (spans logged) and for
//! `gateway::telemetry::log_filter("info")` (what `gateway run` installs: spans off unless an
//! exporter wants them).

use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use gateway::access_log::AccessRecord;
use gateway::forward::UpstreamConfig;
use gateway::telemetry::{log_filter, record_status, request_span, upstream_span, SPAN_TARGET};
use pingora::http::RequestHeader;
use service_telemetry::{build_subscriber, TelemetryConfig};

#[derive(Debug, Parser)]
#[command(about = "Time the per-request spans of the gateway with and without its log filter")]
struct Args {
    #[arg(long, default_value_t = 200_000)]
    iterations: u32,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut req = RequestHeader::build("GET", b"/v1/timesheets/entries?limit=100", None)
        .context("building the request")?;
    req.insert_header("host", "127.0.0.1:8443")
        .context("adding host")?;
    let ms = Duration::from_millis(1000);
    let upstream = UpstreamConfig {
        address: ([127, 0, 0, 1], 8080).into(),
        connect_timeout: ms,
        read_timeout: ms,
        write_timeout: ms,
        health_check_interval: ms,
    };
    for (label, filter) in [
        ("filter \"info\" (spans logged)", "info".to_owned()),
        ("log_filter(\"info\") (spans off)", log_filter("info")),
    ] {
        let mut config = TelemetryConfig::new("gateway");
        config.filter = filter;
        let (dispatch, _guard) =
            build_subscriber(&config, std::io::sink).context("building the subscriber")?;
        let per_iteration = tracing::dispatcher::with_default(&dispatch, || {
            // Warm-up: callsite interest is cached on first use.
            one_request(&req, &upstream, 1_000);
            let started = Instant::now();
            one_request(&req, &upstream, args.iterations);
            started.elapsed() / args.iterations
        });
        println!("{label:<34} {:>6} ns per request", per_iteration.as_nanos());
    }
    Ok(())
}

fn one_request(req: &RequestHeader, upstream: &UpstreamConfig, iterations: u32) {
    for _ in 0..iterations {
        let request_id = "0193b3c2-6f1e-7c4a-9d2e-5b8f0a1c2d3e";
        let span = request_span(req, request_id, Some("/v1/timesheets/entries"));
        span.in_scope(|| {
            let verify = tracing::info_span!(
                target: SPAN_TARGET,
                "jwt.verify",
                auth.cache_hit = false,
                tenant = tracing::field::Empty,
            );
            verify.in_scope(|| {
                tracing::Span::current().record("auth.cache_hit", true);
                tracing::Span::current().record("tenant", "exampleco");
            });
        });
        let up = upstream_span(&span, upstream);
        record_status(&up, 200);
        let record = AccessRecord {
            method: "GET",
            path: "/v1/timesheets/entries",
            status: 200,
            tenant: Some("exampleco"),
            client_id: Some("reader"),
            route: Some("/v1/timesheets/entries"),
            latency: Duration::from_micros(420),
            request_id,
            auth_failure: None,
            error: None,
        };
        record_status(&span, 200);
        span.record("tenant", "exampleco");
        span.in_scope(|| record.emit());
        drop(up);
        drop(span);
    }
}
