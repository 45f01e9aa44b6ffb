//! service-telemetry: logs and traces of every Timesheets service, set up one way.
//!
//! What it is: [`init`] installs the global `tracing` subscriber of a service — JSON (or pretty)
//! log lines filtered by an `EnvFilter` directive (`RUST_LOG` wins), and, when an OTLP endpoint
//! is configured, the tracing-opentelemetry layer exporting spans over OTLP/HTTP (protobuf) with
//! a parent-based ratio sampler and the W3C trace-context propagator. Log lines written inside a
//! traced span carry its `trace_id` and `span_id`. The [`Guard`] it returns flushes the last
//! spans when dropped. [`inject`], [`extract`] and [`set_parent_from_headers`] carry the trace
//! across HTTP hops (`traceparent`). With the `test-util` feature, [`testing::OtlpReceiver`] is
//! an in-process collector for tests of any crate.
//!
//! What it is not: it creates no spans of its own (services name theirs: `request`, `upstream`,
//! `jwt.verify`, `db.query`, …) and exports no metrics or logs over OTLP.
//!
//! Tracing off (no endpoint) costs nothing beyond logging: no exporter, thread or
//! OpenTelemetry layer is built. Log lines are written by a thread of their own
//! ([`LogWriter`]; see `log_writer.rs` for the policy when it falls behind), so a request pays
//! for formatting its line, not for the write.
//!
//! Try it: `cargo run -p service-telemetry --example export_spans --features test-util`.

mod any_filter;
#[cfg(feature = "test-util")]
mod captured_lines;
mod config;
mod error;
mod exporter;
mod log_line;
mod log_writer;
mod propagation;
#[cfg(feature = "test-util")]
pub mod testing;

use any_filter::AnyFilter;
use tracing::Dispatch;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::JsonFields;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer, Registry};

pub use config::{
    traces_url, LogConfig, LogFormat, TelemetryConfig, TracingConfig, ENV_OTLP_ENDPOINT,
    ENV_RUST_LOG, ENV_SAMPLER_ARG, ENV_SDK_DISABLED, ENV_SERVICE_NAME,
};
pub use error::TelemetryError;
pub use exporter::Guard;
pub use log_writer::{LogWriter, BUFFERED_LINES};
pub use propagation::{
    extract, inject, inject_span, set_global_propagator, set_parent_from_headers, span_id,
    trace_id, TRACEPARENT, TRACESTATE,
};

/// Instrumentation scope of the spans a service creates through `tracing`.
const SCOPE: &str = "service-telemetry";

/// Installs logging (and, with an endpoint, tracing) for the whole process: `config` with the
/// standard environment overrides applied ([`TelemetryConfig::with_env_overrides`]), lines to
/// stdout, `log` records (Pingora's, sqlx's) bridged into `tracing`, and the W3C propagator as
/// OpenTelemetry's global one. Call it once, early in `main`, and keep the [`Guard`] until the
/// service has stopped.
///
/// Fails on an unusable configuration or exporter, and with
/// [`TelemetryError::AlreadyInitialized`] when a global subscriber exists (a second call).
pub fn init(config: &TelemetryConfig) -> Result<Guard, TelemetryError> {
    init_with_writer(config, LogWriter::Stdout)
}

/// [`init`], with log lines written to `writer` (stderr for a tool whose stdout is its output).
/// Lines go through the log writer thread, which the returned [`Guard`] flushes when dropped.
///
/// Fails as [`init`] does.
pub fn init_with_writer(
    config: &TelemetryConfig,
    writer: LogWriter,
) -> Result<Guard, TelemetryError> {
    let mut config = config
        .clone()
        .with_env_overrides(|name| std::env::var(name).ok())?;
    config.log_format = config.log_format.resolve(writer.is_terminal());
    // Checked before the writer thread exists, so a refused configuration starts nothing.
    config.validate()?;
    let (lines, worker) = log_writer::non_blocking(writer);
    let (dispatch, guard) = build_subscriber(&config, lines)?;
    let guard = guard.with_log_worker(worker);
    dispatch
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInitialized)?;
    set_global_propagator();
    warn_if_bad_filter(&config.filter);
    if let Some(endpoint) = &config.otlp_endpoint {
        tracing::info!(
            endpoint = %traces_url(endpoint),
            sampling_ratio = config.sampling_ratio,
            service = %config.service_name,
            "exporting spans over OTLP/HTTP"
        );
    }
    Ok(guard)
}

/// The subscriber [`init`] would install, writing lines to `writer`, without installing it and
/// without reading the environment. Tests scope it with `tracing::dispatcher::set_default` (or
/// `with_default`), and capture lines with their own writer (`std::io::sink` to drop them).
///
/// Fails on an unusable configuration or exporter.
pub fn build_subscriber<W>(
    config: &TelemetryConfig,
    writer: W,
) -> Result<(Dispatch, Guard), TelemetryError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    config.validate()?;
    let mut layers: Vec<Box<dyn Layer<Registry> + Send + Sync>> = Vec::with_capacity(2);
    layers.push(log_layer(config, writer));
    let guard = match &config.otlp_endpoint {
        Some(endpoint) => {
            let provider = exporter::tracer_provider(config, endpoint)?;
            let tracer = opentelemetry::trace::TracerProvider::tracer(&provider, SCOPE);
            layers.push(
                tracing_opentelemetry::layer()
                    .with_tracer(tracer)
                    .with_filter(span_filter())
                    .boxed(),
            );
            Guard::exporting(provider)
        }
        None => Guard::default(),
    };
    // In front of both layers' own filters: see any_filter for the tracing-subscriber bug this
    // works around.
    let any = AnyFilter::new(
        log_filter(config),
        config.otlp_endpoint.as_ref().map(|_| span_filter()),
    );
    Ok((
        Dispatch::new(tracing_subscriber::registry().with(layers).with(any)),
        guard,
    ))
}

/// The log line layer: `config.log_format`, filtered by `config.filter` (`info` if it does not
/// parse). Its filter is its own, so that a quiet log level does not remove spans from traces.
fn log_layer<W>(config: &TelemetryConfig, writer: W) -> Box<dyn Layer<Registry> + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = log_filter(config);
    // `Auto` is decided by `init`, which knows the destination; a writer given here is taken
    // for a collector's.
    match config.log_format.resolve(false) {
        LogFormat::Json | LogFormat::Auto => tracing_subscriber::fmt::layer()
            .fmt_fields(JsonFields::new())
            .event_format(log_line::WithTraceIds::json(
                tracing_subscriber::fmt::format()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            ))
            .with_writer(writer)
            .with_filter(filter)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .event_format(log_line::WithTraceIds::text(
                tracing_subscriber::fmt::format(),
            ))
            .with_writer(writer)
            .with_filter(filter)
            .boxed(),
    }
}

/// The log lines' filter: `config.filter`, or `info` if it does not parse.
fn log_filter(config: &TelemetryConfig) -> EnvFilter {
    EnvFilter::try_new(&config.filter).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Which spans (and events, which become span events) are exported: `info` and above, except
/// OpenTelemetry's own, which would otherwise report on the exporter through the exporter.
fn span_filter() -> Targets {
    Targets::new()
        .with_default(LevelFilter::INFO)
        .with_target("opentelemetry", LevelFilter::OFF)
}

fn warn_if_bad_filter(filter: &str) {
    if let Err(err) = EnvFilter::try_new(filter) {
        tracing::warn!(filter, error = %err, "invalid log filter; logging at info");
    }
}
