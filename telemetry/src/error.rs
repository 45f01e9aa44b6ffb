//! [`TelemetryError`]: why logs or traces could not be set up.

/// Why [`crate::init`] (or [`crate::build_subscriber`]) failed. A service treats all of them as
/// a configuration error and exits before it binds a port.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// A key of [`crate::TelemetryConfig`] (or the variable overriding it) is unusable.
    #[error("{key}: {reason}")]
    InvalidConfig { key: &'static str, reason: String },
    /// The OTLP exporter could not be built (its HTTP client, mostly).
    #[error("building the OTLP span exporter: {0}")]
    Exporter(String),
    /// Another global subscriber (or `log` logger) was installed first.
    #[error("a global tracing subscriber is already installed")]
    AlreadyInitialized,
    /// Spans could not be handed to the collector in time.
    #[error("flushing spans: {0}")]
    Flush(String),
}
