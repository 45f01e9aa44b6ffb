//! Exports two spans to an in-process OTLP receiver and prints what it received, plus the log
//! line written inside them (note its `trace_id`).
//!
//! Run: `cargo run -p service-telemetry --example export_spans --features test-util`
//!
//! Against a real collector (`otelcol`, Jaeger, Tempo on :4318) set the endpoint instead:
//! `OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 cargo run …` exports there too.

use std::time::Duration;

use service_telemetry::testing::OtlpReceiver;
use service_telemetry::{build_subscriber, TelemetryConfig, ENV_OTLP_ENDPOINT};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let receiver = OtlpReceiver::start().await?;
    let mut config = TelemetryConfig::new("example");
    config.otlp_endpoint =
        Some(std::env::var(ENV_OTLP_ENDPOINT).unwrap_or_else(|_| receiver.endpoint()));
    let (dispatch, guard) = build_subscriber(&config, std::io::stdout)?;
    tracing::dispatcher::with_default(&dispatch, || {
        let request = tracing::info_span!("request", otel.kind = "server", http.route = "/demo");
        let _entered = request.enter();
        let query = tracing::info_span!("db.query", db.system = "sqlite", db.operation = "SELECT");
        let _inner = query.enter();
        tracing::info!("inside both spans");
    });
    guard.flush()?;
    for span in receiver
        .wait_for(Duration::from_secs(5), |spans| spans.len() >= 2)
        .await
    {
        println!(
            "{} {} trace={} span={} parent={:?}",
            span.service_name, span.name, span.trace_id, span.span_id, span.parent_span_id
        );
    }
    Ok(())
}
