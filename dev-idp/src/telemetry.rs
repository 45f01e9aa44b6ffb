//! Logging, set up as every service of the stack does it (service-telemetry, from `[log]`,
//! `--log-format` and `RUST_LOG`), but on stderr: stdout carries only the "listening on" line
//! that scripts wait for. No log line carries a secret, an assertion or a token: handlers log
//! client ids, audiences, scopes and key ids only. Traces are exported only when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` asks for them: the issuer has no `[telemetry]` section.

use service_telemetry::{
    Guard, LogConfig, LogWriter, TelemetryConfig, TelemetryError, TracingConfig,
};

/// `service.name` of the issuer's spans.
pub const SERVICE_NAME: &str = "dev-idp";

/// Installs the global subscriber; keep the [`Guard`] until the process ends, so the last lines
/// are written. Fails when called twice or on an unusable `OTEL_*` variable.
pub fn init(log: &LogConfig) -> Result<Guard, TelemetryError> {
    let config = TelemetryConfig::from_sections(SERVICE_NAME, log, &TracingConfig::default());
    service_telemetry::init_with_writer(&config, LogWriter::Stderr)
}
