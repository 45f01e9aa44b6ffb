//! The OTLP/HTTP pipeline: a batch span processor on its own thread, posting protobuf to
//! `<endpoint>/v1/traces` with a reqwest blocking client, behind a parent-based ratio sampler;
//! and the [`Guard`] that flushes it when the service stops.
//!
//! Why blocking: the SDK's batch processor runs its exports on a dedicated thread with no async
//! runtime, which is also what keeps export working in Pingora, whose runtimes are its own. A
//! blocking client brings its runtime along, so nothing here depends on the caller's.

use std::io::Read as _;
use std::time::Duration;

use async_trait::async_trait;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use opentelemetry_sdk::Resource;

use crate::config::traces_url;
use crate::{TelemetryConfig, TelemetryError};

/// Upper bound on one export (connect, send, answer); a collector that hangs costs this much
/// per batch, on the exporter's thread only.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// A collector's answer is a few bytes; anything bigger is not read.
const MAX_RESPONSE_BYTES: u64 = 64 * 1024;
/// How long dropping the [`Guard`] waits for the last spans to leave.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Builds the tracer provider for `config` (whose endpoint is set).
pub(crate) fn tracer_provider(
    config: &TelemetryConfig,
    endpoint: &str,
) -> Result<SdkTracerProvider, TelemetryError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(BlockingClient::new()?)
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(traces_url(endpoint))
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|err| TelemetryError::Exporter(err.to_string()))?;
    let sampler = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(config.sampling_ratio)));
    let resource = Resource::builder()
        .with_service_name(config.service_name.clone())
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(sampler)
        .with_resource(resource)
        .build())
}

/// Keeps span export and the log writer thread alive; dropping it flushes what is queued (spans
/// first, then log lines, so that lines about the last export are written too) and stops both
/// threads. Hold it in `main` until the server has stopped (after SIGTERM's drain), so the spans
/// and log lines of the last requests leave before the process does.
#[must_use = "dropping the guard stops span export and log writing"]
#[derive(Debug, Default)]
pub struct Guard {
    provider: Option<SdkTracerProvider>,
    /// Declared (and so dropped) after `provider`: see [`Drop for Guard`](Guard#impl-Drop-for-Guard).
    log_worker: Option<tracing_appender::non_blocking::WorkerGuard>,
}

impl Guard {
    pub(crate) fn exporting(provider: SdkTracerProvider) -> Self {
        Self {
            provider: Some(provider),
            log_worker: None,
        }
    }

    /// This guard, also keeping the log writer thread of `worker` until it is dropped.
    pub(crate) fn with_log_worker(
        mut self,
        worker: tracing_appender::non_blocking::WorkerGuard,
    ) -> Self {
        self.log_worker = Some(worker);
        self
    }

    /// Whether spans are exported (an endpoint was configured).
    pub fn is_exporting(&self) -> bool {
        self.provider.is_some()
    }

    /// Exports every ended span now and waits for the collector's answer. Does nothing when
    /// tracing is off. Fails when the export fails or times out.
    pub fn flush(&self) -> Result<(), TelemetryError> {
        match &self.provider {
            Some(provider) => provider
                .force_flush()
                .map_err(|err| TelemetryError::Flush(err.to_string())),
            None => Ok(()),
        }
    }
}

/// Shuts span export down here; the log worker's own guard drops afterwards, with the fields,
/// and writes the lines still queued (waiting at most a second for the writer thread).
impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            if let Err(err) = provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT) {
                // The subscriber may be gone or be this very exporter: stderr is what is left.
                eprintln!("telemetry: flushing spans at shutdown failed: {err}");
            }
        }
    }
}

/// reqwest's blocking client as the exporter's `HttpClient`.
#[derive(Debug)]
struct BlockingClient(reqwest::blocking::Client);

impl BlockingClient {
    fn new() -> Result<Self, TelemetryError> {
        // reqwest refuses to build a blocking client inside an async runtime, and services call
        // `init` from `#[tokio::main]`: build it on a thread of its own.
        std::thread::Builder::new()
            .name("otlp-client-build".to_owned())
            .spawn(|| {
                reqwest::blocking::Client::builder()
                    .timeout(EXPORT_TIMEOUT)
                    .connect_timeout(CONNECT_TIMEOUT)
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
            })
            .map_err(|err| TelemetryError::Exporter(format!("spawning a thread: {err}")))?
            .join()
            .map_err(|_| TelemetryError::Exporter("building the HTTP client panicked".to_owned()))?
            .map(Self)
            .map_err(|err| TelemetryError::Exporter(format!("building the HTTP client: {err}")))
    }
}

#[async_trait]
impl HttpClient for BlockingClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let (parts, body) = request.into_parts();
        let response = self
            .0
            .request(parts.method, parts.uri.to_string())
            .headers(parts.headers)
            .body(body.to_vec())
            .send()?;
        let mut answer = Response::builder().status(response.status());
        if let Some(headers) = answer.headers_mut() {
            *headers = response.headers().clone();
        }
        let mut bytes = Vec::new();
        response.take(MAX_RESPONSE_BYTES).read_to_end(&mut bytes)?;
        Ok(answer.body(Bytes::from(bytes))?)
    }
}
