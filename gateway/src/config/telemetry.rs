//! `[telemetry]`: span export over OTLP/HTTP, as written in the file and validated.
//!
//! Off unless `otlp_endpoint` is set, here, as `GATEWAY__TELEMETRY__OTLP_ENDPOINT`, or as the
//! standard `OTEL_EXPORTER_OTLP_ENDPOINT` (which wins, as `OTEL_TRACES_SAMPLER_ARG` does over
//! `sampling_ratio`; see `service-telemetry`). Read at start only: a SIGHUP reload leaves it.

use serde::Deserialize;
use service_telemetry::{TelemetryConfig, TelemetryError};

use super::ConfigIssue;

/// The validated `[telemetry]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct TracingConfig {
    /// OTLP/HTTP base URL of a collector (`http://127.0.0.1:4318`).
    pub otlp_endpoint: Option<String>,
    /// Share of new traces recorded (`0.0..=1.0`); a request with a sampled `traceparent` is
    /// recorded whatever this says (parent-based sampling).
    pub sampling_ratio: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawTelemetry {
    otlp_endpoint: Option<String>,
    sampling_ratio: f64,
}

impl Default for RawTelemetry {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            sampling_ratio: 1.0,
        }
    }
}

impl RawTelemetry {
    pub(super) fn validate(self, issues: &mut Vec<ConfigIssue>) -> TracingConfig {
        let config = TracingConfig {
            otlp_endpoint: self.otlp_endpoint.filter(|e| !e.trim().is_empty()),
            sampling_ratio: self.sampling_ratio,
        };
        if let Err(err) = config.telemetry("gateway", "info").validate() {
            issues.push(match err {
                TelemetryError::InvalidConfig { key, reason } => {
                    ConfigIssue::new(format!("telemetry.{key}"), reason)
                }
                other => ConfigIssue::new("telemetry", other.to_string()),
            });
        }
        config
    }
}

impl TracingConfig {
    /// What `service-telemetry` takes: these settings, JSON lines filtered by `filter`.
    pub fn telemetry(&self, service_name: &str, filter: &str) -> TelemetryConfig {
        TelemetryConfig {
            service_name: service_name.to_owned(),
            filter: filter.to_owned(),
            otlp_endpoint: self.otlp_endpoint.clone(),
            sampling_ratio: self.sampling_ratio,
            ..TelemetryConfig::default()
        }
    }
}

#[cfg(test)]
// figment's own error type is large; these closures are its test harness, not our API.
#[allow(clippy::result_large_err)]
mod tests {
    use std::path::Path;

    use crate::config::{ConfigError, GatewayConfig};

    const TENANT: &str = r#"
[[tenant]]
id = "exampleco"
issuer = "https://exampleco.eu.auth0.com/"
audiences = ["aud"]
jwks_uri = "https://exampleco.eu.auth0.com/.well-known/jwks.json"
"#;

    #[test]
    fn tracing_is_off_unless_an_endpoint_is_configured() {
        let config = GatewayConfig::from_toml_str(TENANT).unwrap();
        assert_eq!(config.telemetry.otlp_endpoint, None);
        assert_eq!(config.telemetry.sampling_ratio, 1.0);
        let config = GatewayConfig::from_toml_str(&format!(
            "[telemetry]\notlp_endpoint = \"http://127.0.0.1:4318\"\nsampling_ratio = 0.1\n{TENANT}"
        ))
        .unwrap();
        assert_eq!(
            config.telemetry.otlp_endpoint.as_deref(),
            Some("http://127.0.0.1:4318")
        );
        assert_eq!(config.telemetry.sampling_ratio, 0.1);
    }

    #[test]
    fn bad_telemetry_settings_name_their_keys() {
        let text = format!(
            "[telemetry]\notlp_endpoint = \"collector:4318\"\nsampling_ratio = 2.0\nsample = 1\n{TENANT}"
        );
        let Err(ConfigError::Invalid(issues)) = GatewayConfig::from_toml_str(&text) else {
            panic!("expected issues");
        };
        assert!(
            issues.iter().any(|i| i.key == "telemetry.sample"),
            "{issues:?}"
        );
        let text = format!("[telemetry]\nsampling_ratio = 2.0\n{TENANT}");
        let Err(ConfigError::Invalid(issues)) = GatewayConfig::from_toml_str(&text) else {
            panic!("expected issues");
        };
        let keys: Vec<&str> = issues.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["telemetry.sampling_ratio"]);
    }

    #[test]
    fn the_environment_sets_the_telemetry_keys() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("gateway.toml", TENANT)?;
            jail.set_env("GATEWAY__TELEMETRY__OTLP_ENDPOINT", "http://collector:4318");
            jail.set_env("GATEWAY__TELEMETRY__SAMPLING_RATIO", "0.25");
            let config = GatewayConfig::load(Path::new("gateway.toml")).unwrap();
            assert_eq!(
                config.telemetry.otlp_endpoint.as_deref(),
                Some("http://collector:4318")
            );
            assert_eq!(config.telemetry.sampling_ratio, 0.25);
            Ok(())
        });
    }
}
