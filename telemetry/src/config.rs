//! [`TelemetryConfig`]: what a service says about its logs and traces, as a serde struct each
//! service embeds in (or builds from) its own configuration, plus the standard environment
//! variables that override it.

use serde::{Deserialize, Serialize};

use crate::TelemetryError;

/// `EnvFilter` directive that replaces [`TelemetryConfig::filter`] (as everywhere in Rust).
pub const ENV_RUST_LOG: &str = "RUST_LOG";
/// OTLP base URL (`http://collector:4318`); setting it turns tracing on.
pub const ENV_OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// Sampling ratio of root spans, `0.0..=1.0`.
pub const ENV_SAMPLER_ARG: &str = "OTEL_TRACES_SAMPLER_ARG";
/// The `service.name` resource attribute.
pub const ENV_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
/// `true` turns span export off whatever else is configured.
pub const ENV_SDK_DISABLED: &str = "OTEL_SDK_DISABLED";

/// The OTLP/HTTP path of traces, appended to a base endpoint.
const TRACES_PATH: &str = "/v1/traces";

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line, for log collectors.
    #[default]
    Json,
    /// Human-readable, for a terminal.
    Pretty,
    /// Pretty when the lines go to a terminal, JSON otherwise (a file, a pipe, a container's
    /// log): what an operator at a shell and a collector each want, from one setting.
    Auto,
}

impl LogFormat {
    /// The names an operator writes, as `--log-format` and `log.format` take them.
    pub const NAMES: [&'static str; 3] = ["json", "pretty", "auto"];

    /// `json`, `pretty` or `auto`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "json" => Some(LogFormat::Json),
            "pretty" => Some(LogFormat::Pretty),
            "auto" => Some(LogFormat::Auto),
            _ => None,
        }
    }

    /// [`LogFormat::Auto`] decided for a destination that is (or is not) a terminal.
    pub fn resolve(self, to_terminal: bool) -> Self {
        match self {
            LogFormat::Auto if to_terminal => LogFormat::Pretty,
            LogFormat::Auto => LogFormat::Json,
            other => other,
        }
    }
}

/// `[log]` of every binary: the format of its lines and which are written. `--log-format`
/// overrides `format`, and `RUST_LOG` overrides `filter`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, garde::Validate)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    #[garde(skip)]
    pub format: LogFormat,
    /// An `EnvFilter` directive: `info`, `timesheet_svc=debug,sqlx=warn`.
    #[garde(custom(valid_filter))]
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Auto,
            filter: "info".to_owned(),
        }
    }
}

fn valid_filter(filter: &String, _: &()) -> garde::Result {
    tracing_subscriber::EnvFilter::try_new(filter)
        .map(|_| ())
        .map_err(|err| garde::Error::new(format!("is not a log filter directive ({err})")))
}

/// `[telemetry]` of every service: span export over OTLP/HTTP. Off unless `otlp_endpoint` is
/// set here or in `OTEL_EXPORTER_OTLP_ENDPOINT`, which wins, as `OTEL_TRACES_SAMPLER_ARG` does
/// over `sampling_ratio`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, garde::Validate)]
#[serde(default, deny_unknown_fields)]
pub struct TracingConfig {
    /// OTLP/HTTP base URL of a collector (`http://127.0.0.1:4318`).
    #[garde(custom(valid_endpoint))]
    pub otlp_endpoint: Option<String>,
    /// Share of new traces recorded, `0.0..=1.0`; a request that arrives with a sampled
    /// `traceparent` is recorded whatever this says (parent-based sampling).
    #[garde(range(min = 0.0, max = 1.0))]
    pub sampling_ratio: f64,
}

impl Default for TracingConfig {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            sampling_ratio: 1.0,
        }
    }
}

fn valid_endpoint(endpoint: &Option<String>, _: &()) -> garde::Result {
    match endpoint.as_deref().map(str::trim) {
        None | Some("") => Ok(()),
        Some(endpoint) => check_endpoint(endpoint).map_err(garde::Error::new),
    }
}

/// Logs and traces of one service. Tracing is off unless `otlp_endpoint` is set (here or by
/// `OTEL_EXPORTER_OTLP_ENDPOINT`); with it off no exporter, thread or OpenTelemetry layer
/// exists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    /// `service.name` of exported spans (`timesheet-svc`, `gateway`, `importer-svc`).
    pub service_name: String,
    pub log_format: LogFormat,
    /// An `EnvFilter` directive for log lines (`info`, `timesheet_svc=debug,sqlx=warn`);
    /// `RUST_LOG` wins. Spans are exported at `info` and above whatever this says, so quieter
    /// logs do not cut holes in traces.
    pub filter: String,
    /// OTLP/HTTP base URL of a collector (`http://127.0.0.1:4318`); spans go to
    /// `<endpoint>/v1/traces` as protobuf. A URL already ending in `/v1/traces` is used as is.
    pub otlp_endpoint: Option<String>,
    /// Share of new traces that are recorded, `0.0..=1.0`. A request that arrives with a
    /// `traceparent` follows its caller's decision (parent-based sampling).
    pub sampling_ratio: f64,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            service_name: "unknown_service".to_owned(),
            log_format: LogFormat::Json,
            filter: "info".to_owned(),
            otlp_endpoint: None,
            sampling_ratio: 1.0,
        }
    }
}

impl TelemetryConfig {
    /// The defaults (JSON logs at `info`, tracing off, every trace sampled) for `service_name`.
    pub fn new(service_name: impl Into<String>) -> Self {
        Self {
            service_name: service_name.into(),
            ..Self::default()
        }
    }

    /// What a service's `[log]` and `[telemetry]` sections say, for `service_name`.
    pub fn from_sections(service_name: &str, log: &LogConfig, tracing: &TracingConfig) -> Self {
        Self {
            service_name: service_name.to_owned(),
            log_format: log.format,
            filter: log.filter.clone(),
            otlp_endpoint: tracing
                .otlp_endpoint
                .as_deref()
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(str::to_owned),
            sampling_ratio: tracing.sampling_ratio,
        }
    }

    /// Applies the standard variables that override a configuration file: `RUST_LOG`,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_TRACES_SAMPLER_ARG`, `OTEL_SERVICE_NAME` and
    /// `OTEL_SDK_DISABLED`. `env` looks one up (`|name| std::env::var(name).ok()` in a service, a
    /// map in tests); empty values count as unset.
    ///
    /// Fails when `OTEL_TRACES_SAMPLER_ARG` is not a number.
    pub fn with_env_overrides(
        mut self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, TelemetryError> {
        let var = |name: &str| env(name).filter(|value| !value.trim().is_empty());
        if let Some(filter) = var(ENV_RUST_LOG) {
            self.filter = filter;
        }
        if let Some(endpoint) = var(ENV_OTLP_ENDPOINT) {
            self.otlp_endpoint = Some(endpoint.trim().to_owned());
        }
        if let Some(ratio) = var(ENV_SAMPLER_ARG) {
            self.sampling_ratio =
                ratio
                    .trim()
                    .parse()
                    .map_err(|_| TelemetryError::InvalidConfig {
                        key: ENV_SAMPLER_ARG,
                        reason: format!("{ratio:?} is not a number"),
                    })?;
        }
        if let Some(name) = var(ENV_SERVICE_NAME) {
            self.service_name = name;
        }
        if var(ENV_SDK_DISABLED).is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
            self.otlp_endpoint = None;
        }
        Ok(self)
    }

    /// Checks what would make the exporter misbehave: an empty service name, a ratio outside
    /// `0.0..=1.0`, an endpoint that is not an absolute `http(s)` URL. The log filter is not
    /// checked here: a bad one falls back to `info` with a warning, as it always has.
    pub fn validate(&self) -> Result<(), TelemetryError> {
        if self.service_name.trim().is_empty() {
            return Err(TelemetryError::InvalidConfig {
                key: "service_name",
                reason: "must not be empty".to_owned(),
            });
        }
        if !(0.0..=1.0).contains(&self.sampling_ratio) {
            return Err(TelemetryError::InvalidConfig {
                key: "sampling_ratio",
                reason: format!("{} is not within 0.0..=1.0", self.sampling_ratio),
            });
        }
        if let Some(endpoint) = &self.otlp_endpoint {
            check_endpoint(endpoint).map_err(|reason| TelemetryError::InvalidConfig {
                key: "otlp_endpoint",
                reason,
            })?;
        }
        Ok(())
    }

    /// Whether spans are exported (an endpoint is set).
    pub fn is_tracing(&self) -> bool {
        self.otlp_endpoint.is_some()
    }
}

/// The URL spans are posted to: `<base>/v1/traces`, or `endpoint` itself when it already names
/// that path (as `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` would).
pub fn traces_url(endpoint: &str) -> String {
    let base = endpoint.trim().trim_end_matches('/');
    if base.ends_with(TRACES_PATH) {
        base.to_owned()
    } else {
        format!("{base}{TRACES_PATH}")
    }
}

/// Why `endpoint` cannot be posted to. The value itself is never echoed: it may hold
/// credentials, and the message names the key anyway.
fn check_endpoint(endpoint: &str) -> Result<(), String> {
    let uri: http::Uri = traces_url(endpoint)
        .parse()
        .map_err(|_| "is not an absolute URL".to_owned())?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err("must start with http:// or https://".to_owned()),
    }
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        // Credentials belong in OTEL_EXPORTER_OTLP_HEADERS, never in a URL that gets logged.
        return Err("must not carry credentials".to_owned());
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err("has no host".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn tracing_is_off_by_default() {
        let config = TelemetryConfig::new("svc");
        assert!(!config.is_tracing());
        assert_eq!(config.sampling_ratio, 1.0);
        assert_eq!(config.log_format, LogFormat::Json);
        config.validate().unwrap();
    }

    #[test]
    fn standard_variables_override_the_file() {
        let config = TelemetryConfig::new("svc")
            .with_env_overrides(env(&[
                ("RUST_LOG", "debug"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
                ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
                ("OTEL_SERVICE_NAME", "renamed"),
            ]))
            .unwrap();
        assert_eq!(config.filter, "debug");
        assert_eq!(
            config.otlp_endpoint.as_deref(),
            Some("http://collector:4318")
        );
        assert_eq!(config.sampling_ratio, 0.25);
        assert_eq!(config.service_name, "renamed");
    }

    #[test]
    fn empty_variables_are_unset_and_sdk_disabled_wins() {
        let mut config = TelemetryConfig::new("svc");
        config.otlp_endpoint = Some("http://a:4318".to_owned());
        let kept = config
            .clone()
            .with_env_overrides(env(&[
                ("RUST_LOG", " "),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", ""),
            ]))
            .unwrap();
        assert_eq!(kept, config);
        let disabled = config
            .with_env_overrides(env(&[("OTEL_SDK_DISABLED", "TRUE")]))
            .unwrap();
        assert!(!disabled.is_tracing());
    }

    #[test]
    fn a_sampler_argument_that_is_not_a_number_is_refused() {
        let err = TelemetryConfig::new("svc")
            .with_env_overrides(env(&[("OTEL_TRACES_SAMPLER_ARG", "half")]))
            .unwrap_err();
        assert!(err.to_string().contains("OTEL_TRACES_SAMPLER_ARG"), "{err}");
    }

    #[test]
    fn bad_values_name_their_key() {
        let mut config = TelemetryConfig::new("svc");
        config.sampling_ratio = 1.5;
        assert!(config
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("sampling_ratio:"));
        for bad in [
            "collector:4318",
            "ftp://collector",
            "http://",
            "http://user:pw@collector",
        ] {
            let mut config = TelemetryConfig::new("svc");
            config.otlp_endpoint = Some(bad.to_owned());
            let err = config.validate().unwrap_err().to_string();
            assert!(err.starts_with("otlp_endpoint:"), "{bad}: {err}");
            assert!(!err.contains("pw@"), "{err}");
        }
        assert!(TelemetryConfig::new(" ").validate().is_err());
    }

    #[test]
    fn the_traces_path_is_appended_once() {
        assert_eq!(
            traces_url("http://127.0.0.1:4318"),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(traces_url("http://c:4318/"), "http://c:4318/v1/traces");
        assert_eq!(
            traces_url("https://c/otlp/v1/traces"),
            "https://c/otlp/v1/traces"
        );
    }

    #[test]
    fn a_service_reads_it_from_its_own_file() {
        let config: TelemetryConfig = toml::from_str(
            "service_name = \"gw\"\nlog_format = \"pretty\"\notlp_endpoint = \"http://c:4318\"\nsampling_ratio = 0.5\n",
        )
        .unwrap();
        assert_eq!(config.log_format, LogFormat::Pretty);
        assert_eq!(config.filter, "info");
        assert_eq!(config.sampling_ratio, 0.5);
        assert!(toml::from_str::<TelemetryConfig>("sample_ratio = 1.0").is_err());
    }
}
