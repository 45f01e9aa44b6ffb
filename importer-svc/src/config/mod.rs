//! Configuration: a TOML file (`--config` or `IMPORTER_CONFIG`), then `IMPORTER__*` environment
//! variables (`__` separates sections: `IMPORTER__AUTH__CLIENT_SECRET`), over defaults.
//!
//! Validation happens in two tiers, both before anything is read or sent, and both name the
//! offending key (exit 64): [`Config::load`] checks every value that is present (types, ranges,
//! URLs, unknown keys); [`Config::check_run`] and [`Config::check_api`] check that what a run
//! and an API client need is there, so that `status` works without API credentials.

mod section;

use std::path::Path;

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use secrecy::ExposeSecret;
use serde::Deserialize;
use service_telemetry::{LogFormat, TelemetryConfig, TelemetryError};

use crate::run::RunSettings;
pub use section::{
    ApiConfig, AuthConfig, AuthMethod, FilesConfig, HarvestSettings, LogConfig, RunConfig,
    SourceConfig, SourceKind, StateConfig, TelemetrySection,
};

/// Prefix of the environment variables that override the file.
pub const ENV_PREFIX: &str = "IMPORTER__";
/// The configuration file, when `--config` is not given.
pub const ENV_CONFIG: &str = "IMPORTER_CONFIG";

/// More uploads in flight only queue at the service, which stores a tenant's uploads one at a
/// time.
const MAX_UPLOADS_IN_FLIGHT: usize = 8;

/// A configuration value that cannot be used, named by its key (`api.batch_size`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }

    fn from_figment(err: figment::Error) -> Self {
        use figment::error::Kind;
        let mut path = err.path.clone();
        // serde names an unknown or missing field in the kind; figment may or may not have put
        // it in the path too.
        let field = match &err.kind {
            Kind::UnknownField(field, _) => Some(field.clone()),
            Kind::MissingField(field) => Some(field.to_string()),
            _ => None,
        };
        if let Some(field) = field {
            if path.last() != Some(&field) {
                path.push(field);
            }
        }
        let key = if path.is_empty() {
            "(file)".to_owned()
        } else {
            path.join(".")
        };
        let from = err
            .metadata
            .as_ref()
            .map(|m| format!(" (from {})", m.name))
            .unwrap_or_default();
        Self::new(key, format!("{}{from}", err.kind))
    }
}

/// The importer's configuration. Secrets are `SecretString`: `Debug` prints them redacted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub source: SourceConfig,
    #[serde(default)]
    pub api: ApiConfig,
    #[serde(default)]
    pub auth: AuthConfig,
    #[serde(default)]
    pub state: StateConfig,
    #[serde(default)]
    pub run: RunConfig,
    #[serde(default)]
    pub log: LogConfig,
    #[serde(default)]
    pub telemetry: TelemetrySection,
}

impl Config {
    /// Reads `file` (if any) and the environment, and validates every value present.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(file) = file {
            if !file.is_file() {
                return Err(ConfigError::new(
                    "--config",
                    format!("{} is not a readable file", file.display()),
                ));
            }
            figment = figment.merge(Toml::file(file));
        }
        Self::from_figment(figment.merge(Env::prefixed(ENV_PREFIX).split("__")))
    }

    /// Extracts and validates a configuration from any figment (tests give strings).
    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let config: Config = figment.extract().map_err(ConfigError::from_figment)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let url = self.state.url.expose_secret();
        if url.starts_with("sqlite:") {
            if url.contains(":memory:") || url.contains("mode=memory") {
                return Err(ConfigError::new(
                    "state.url",
                    "an in-memory database cannot keep state between runs",
                ));
            }
        } else if !(url.starts_with("postgres:") || url.starts_with("postgresql:")) {
            return Err(ConfigError::new(
                "state.url",
                "must start with sqlite:// or postgres://",
            ));
        }
        if !(1..=timesheet_domain::api::MAX_BATCH_ITEMS).contains(&self.api.batch_size) {
            return Err(ConfigError::new(
                "api.batch_size",
                format!(
                    "must be between 1 and {}, got {}",
                    timesheet_domain::api::MAX_BATCH_ITEMS,
                    self.api.batch_size
                ),
            ));
        }
        if !(1..=MAX_UPLOADS_IN_FLIGHT).contains(&self.api.uploads_in_flight) {
            return Err(ConfigError::new(
                "api.uploads_in_flight",
                format!(
                    "must be between 1 and {MAX_UPLOADS_IN_FLIGHT}, got {}",
                    self.api.uploads_in_flight
                ),
            ));
        }
        if self.api.timeout.is_zero() {
            return Err(ConfigError::new("api.timeout", "must be more than zero"));
        }
        let fraction = self.run.max_delete_fraction;
        if !(0.0..=1.0).contains(&fraction) {
            return Err(ConfigError::new(
                "run.max_delete_fraction",
                format!("must be between 0.0 and 1.0 (1.0 disables the check), got {fraction}"),
            ));
        }
        self.source.validate()?;
        self.auth.validate()?;
        // The keys are `telemetry.otlp_endpoint` and `telemetry.sampling_ratio`; the log format
        // does not matter to what is checked.
        self.telemetry(LogFormat::Json)
            .validate()
            .map_err(|err| match err {
                TelemetryError::InvalidConfig { key, reason } => {
                    ConfigError::new(format!("telemetry.{key}"), reason)
                }
                other => ConfigError::new("telemetry", other.to_string()),
            })?;
        Ok(())
    }

    /// Logs and traces as `service-telemetry` takes them: `[log]` and `[telemetry]` together,
    /// with the log format the command line chose.
    pub fn telemetry(&self, log_format: LogFormat) -> TelemetryConfig {
        TelemetryConfig {
            service_name: crate::telemetry::SERVICE_NAME.to_owned(),
            log_format,
            filter: self.log.filter.clone(),
            otlp_endpoint: self
                .telemetry
                .otlp_endpoint
                .clone()
                .filter(|e| !e.trim().is_empty()),
            sampling_ratio: self.telemetry.sampling_ratio,
        }
    }

    /// Checks that the configured source has what a read needs.
    pub fn check_run(&self) -> Result<(), ConfigError> {
        self.source.check_complete()
    }

    /// Checks that the API and token settings are complete, for a run that sends.
    pub fn check_api(&self) -> Result<(), ConfigError> {
        if self.api.base_url.is_none() {
            return Err(ConfigError::new(
                "api.base_url",
                "is required to send entries",
            ));
        }
        self.auth.check_complete()
    }

    /// The run's tunables.
    pub fn run_settings(&self) -> RunSettings {
        RunSettings {
            batch_size: self.api.batch_size,
            uploads_in_flight: self.api.uploads_in_flight,
            max_delete_fraction: self.run.max_delete_fraction,
            lock_timeout: self.run.lock_timeout,
        }
    }
}

#[cfg(test)]
mod tests;
