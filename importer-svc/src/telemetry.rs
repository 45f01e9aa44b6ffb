//! Logs and traces of the importer, through `service-telemetry` as in the other services: log
//! lines on stderr (stdout is kept for `--json` output), JSON for collectors or human-readable
//! at a terminal, filtered by `RUST_LOG`, else by `log.filter`; and, when `[telemetry]` (or
//! `OTEL_EXPORTER_OTLP_ENDPOINT`) names an OTLP endpoint, spans exported as `importer-svc`.
//!
//! A run is one trace: `importer.run` at its root (source, mode, then the outcome and counts),
//! one `importer.batch` per upload below it (batch size, then the API's answers), and below
//! each batch the client's `oauth.token` and `http.request` spans, whose `traceparent` the
//! gateway continues. Attributes are counts and bounded names, never external ids or paths.

use service_telemetry::{
    Guard, LogConfig, LogWriter, TelemetryConfig, TelemetryError, TracingConfig,
};
use tracing::field::Empty;
use tracing::Span;

use crate::report::{Counts, RunOutcome, RunReport};

/// `service.name` of the importer's spans.
pub const SERVICE_NAME: &str = "importer-svc";

/// Installs the global subscriber (and the exporter, with an endpoint). Keep the guard until
/// the command has finished and drop it before the process exits: that exports the run's
/// spans and writes the last log lines, whatever the exit code.
///
/// `log.format = "auto"` is decided for stderr: pretty at a terminal, JSON otherwise.
///
/// Fails on an unusable endpoint or sampling ratio (from the environment), or when a
/// subscriber is already installed.
pub fn init(log: &LogConfig, tracing: &TracingConfig) -> Result<Guard, TelemetryError> {
    let config = TelemetryConfig::from_sections(SERVICE_NAME, log, tracing);
    service_telemetry::init_with_writer(&config, LogWriter::Stderr)
}

/// The root span of one run.
pub fn run_span(source: &str, dry_run: bool) -> Span {
    tracing::info_span!(
        "importer.run",
        importer.source = source,
        importer.dry_run = dry_run,
        importer.outcome = Empty,
        importer.read = Empty,
        importer.created = Empty,
        importer.updated = Empty,
        importer.unchanged = Empty,
        importer.skipped = Empty,
        importer.deleted = Empty,
        importer.rejected = Empty,
        otel.status_code = Empty,
    )
}

/// Records how the run ended; a failed or interrupted run marks its span as failed.
pub fn record_run(span: &Span, report: &RunReport) {
    span.record("importer.outcome", report.outcome.as_str());
    span.record("importer.read", report.counts.read);
    span.record("importer.created", report.counts.created);
    span.record("importer.updated", report.counts.updated);
    span.record("importer.unchanged", report.counts.unchanged);
    span.record("importer.skipped", report.counts.skipped);
    span.record("importer.deleted", report.counts.deleted);
    span.record("importer.rejected", report.counts.rejected);
    if matches!(report.outcome, RunOutcome::Failed | RunOutcome::Interrupted) {
        span.record("otel.status_code", "ERROR");
    }
}

/// Marks a run refused because another run holds the lock.
pub fn record_lock_refused(span: &Span) {
    span.record("importer.outcome", "locked");
    span.record("otel.status_code", "ERROR");
}

/// The span of one upload of `size` entries.
pub fn batch_span(size: usize) -> Span {
    tracing::info_span!(
        "importer.batch",
        importer.batch.size = size,
        importer.batch.created = Empty,
        importer.batch.updated = Empty,
        importer.batch.unchanged = Empty,
        importer.batch.rejected = Empty,
        otel.status_code = Empty,
    )
}

/// Records the API's answers to one upload.
pub fn record_batch(span: &Span, counts: &Counts) {
    span.record("importer.batch.created", counts.created);
    span.record("importer.batch.updated", counts.updated);
    span.record("importer.batch.unchanged", counts.unchanged);
    span.record("importer.batch.rejected", counts.rejected);
}

/// Marks a batch's span as failed (the upload or its state write did not go through).
pub fn record_failure(span: &Span) {
    span.record("otel.status_code", "ERROR");
}
