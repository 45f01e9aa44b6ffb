//! Configuration: a TOML file (`--config` or `IMPORTER_CONFIG`), then `IMPORTER__*` environment
//! variables (`__` separates sections: `IMPORTER__AUTH__CLIENT_SECRET`), over defaults.
//!
//! Each section's type lives with what it configures; [`Config`] only composes them. Checks
//! happen in two tiers, both before anything is read or sent, both reporting every issue with
//! its key (exit 64): [`Config::load`] checks every value that is present (types, ranges, URLs,
//! unknown keys, settings that contradict each other); [`Config::check_run`] and
//! [`Config::check_api`] check that what a run needs is there, so that `status` works without
//! a source or API credentials.

use std::path::Path;

use serde::Deserialize;
use service_config::{ConfigError, Issues, Loader, Settings};
use service_telemetry::{LogConfig, TracingConfig};
use timesheet_client::{AuthConfig, AuthMethod};

use crate::run::{RunConfig, RunSettings};
use crate::source::{SourceConfig, SourceKind};
use crate::state::StateConfig;
use crate::sync::api_destination::ApiConfig;

/// Prefix of the environment variables that override the file.
pub const ENV_PREFIX: &str = "IMPORTER__";
/// The configuration file, when `--config` is not given.
pub const ENV_CONFIG: &str = "IMPORTER_CONFIG";

/// The importer's configuration. Secrets are `SecretString`: `Debug` prints them redacted.
#[derive(Debug, Clone, Default, Deserialize, garde::Validate)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    #[garde(dive)]
    pub source: SourceConfig,
    #[garde(dive)]
    pub api: ApiConfig,
    /// `[auth]`: the API client's own settings, the OAuth 2.0 client-credentials grant. Only
    /// a run that sends needs it; given, its `token_url` and `client_id` are required.
    #[garde(dive)]
    pub auth: Option<AuthConfig>,
    #[garde(dive)]
    pub state: StateConfig,
    #[garde(dive)]
    pub run: RunConfig,
    #[garde(dive)]
    pub log: LogConfig,
    #[garde(dive)]
    pub telemetry: TracingConfig,
}

// Every rule holds within one section: the sections' garde rules say it all.
impl Settings for Config {}

impl Config {
    /// Reads `file` (if any) and the environment, and checks every value present.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Loader::new().optional_file(file).env(ENV_PREFIX).load()
    }

    /// What `check-config` prints of a configuration that loads.
    pub fn summary(&self) -> String {
        let source = match self.source.kind {
            SourceKind::Files => "files",
            SourceKind::Harvest => "harvest",
        };
        let api = self
            .api
            .base_url
            .as_ref()
            .map_or_else(|| "none".to_owned(), ToString::to_string);
        format!(
            "source {source} as {}, api {api}",
            self.source.source_name()
        )
    }

    /// Checks that the configured source has what a read needs.
    pub fn check_run(&self) -> Result<(), ConfigError> {
        let mut issues = Issues::default();
        match self.source.kind {
            SourceKind::Files if self.source.files.dir.is_none() => {
                issues.push(
                    "source.files.dir",
                    "is required when source.kind = \"files\"",
                );
            }
            SourceKind::Harvest if self.source.harvest.is_none() => {
                issues.push(
                    "source.harvest.account_id",
                    "is required when source.kind = \"harvest\"",
                );
                issues.push(
                    "source.harvest.access_token",
                    "is required when source.kind = \"harvest\" \
                     (set IMPORTER__SOURCE__HARVEST__ACCESS_TOKEN)",
                );
            }
            _ => {}
        }
        issues.into_result(())
    }

    /// Checks that the API and token settings are complete, for a run that sends.
    pub fn check_api(&self) -> Result<(), ConfigError> {
        const REQUIRED: &str = "is required to send entries";
        let mut issues = Issues::default();
        if self.api.base_url.is_none() {
            issues.push("api.base_url", REQUIRED);
        }
        match &self.auth {
            None => {
                issues.push("auth.token_url", REQUIRED);
                issues.push("auth.client_id", REQUIRED);
            }
            Some(auth) => match auth.method() {
                AuthMethod::PrivateKeyJwt
                    if auth.private_key_file.is_none() && auth.private_key.is_none() =>
                {
                    issues.push(
                        "auth.private_key_file",
                        "is required with method = \"private_key_jwt\"",
                    );
                }
                AuthMethod::ClientSecretPost | AuthMethod::ClientSecretBasic
                    if auth.client_secret.is_none() =>
                {
                    issues.push(
                        "auth.client_secret",
                        "is required (set IMPORTER__AUTH__CLIENT_SECRET), or give \
                         auth.private_key_file",
                    );
                }
                _ => {}
            },
        }
        issues.into_result(())
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
