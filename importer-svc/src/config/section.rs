//! The configuration's sections, each with its defaults and its own checks.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use timesheet_domain::{SourceName, WorkerKind};
use url::Url;

use super::ConfigError;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// CSV and JSON Lines files in a directory.
    #[default]
    Files,
    /// Harvest API v2 time entries.
    Harvest,
}

/// `[source]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    #[serde(default)]
    pub kind: SourceKind,
    /// The `source` the API keys entries by; see [`SourceConfig::source_name`].
    #[serde(default)]
    pub source_name: Option<SourceName>,
    #[serde(default)]
    pub files: FilesConfig,
    #[serde(default)]
    pub harvest: HarvestSettings,
}

impl SourceConfig {
    /// The configured name, or the kind's default: `contractor-tracker` for files, `harvest`.
    pub fn source_name(&self) -> SourceName {
        if let Some(name) = &self.source_name {
            return name.clone();
        }
        let default = match self.kind {
            SourceKind::Files => "contractor-tracker",
            SourceKind::Harvest => "harvest",
        };
        SourceName::parse(default).unwrap_or_else(|_| SourceName::api())
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let h = &self.harvest;
        if !matches!(h.base_url.scheme(), "http" | "https") {
            return Err(ConfigError::new(
                "source.harvest.base_url",
                "must be an http(s) URL",
            ));
        }
        if let Some(per_page) = h.per_page {
            if !(1..=2000).contains(&per_page) {
                return Err(ConfigError::new(
                    "source.harvest.per_page",
                    format!("must be between 1 and 2000, got {per_page}"),
                ));
            }
        }
        Ok(())
    }

    pub(super) fn check_complete(&self) -> Result<(), ConfigError> {
        match self.kind {
            SourceKind::Files if self.files.dir.is_none() => Err(ConfigError::new(
                "source.files.dir",
                "is required when source.kind = \"files\"",
            )),
            SourceKind::Harvest if self.harvest.account_id.is_none() => Err(ConfigError::new(
                "source.harvest.account_id",
                "is required when source.kind = \"harvest\"",
            )),
            SourceKind::Harvest if self.harvest.access_token.is_none() => Err(ConfigError::new(
                "source.harvest.access_token",
                "is required when source.kind = \"harvest\" \
                 (set IMPORTER__SOURCE__HARVEST__ACCESS_TOKEN)",
            )),
            _ => Ok(()),
        }
    }
}

/// `[source.files]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesConfig {
    /// The directory whose `*.csv` and `*.jsonl` files are read.
    pub dir: Option<PathBuf>,
}

/// `[source.harvest]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HarvestSettings {
    pub base_url: Url,
    /// Digits, but an id, not a number: `IMPORTER__SOURCE__HARVEST__ACCOUNT_ID=123456` reaches
    /// us as an integer and is taken as its text.
    #[serde(deserialize_with = "text_or_integer")]
    pub account_id: Option<String>,
    pub access_token: Option<SecretString>,
    /// Harvest asks integrations to name themselves and a contact.
    pub user_agent: Option<String>,
    /// How far below the checkpoint each read starts again (late commits, clock skew).
    #[serde(with = "humantime_serde")]
    pub overlap: Duration,
    /// Days back that every read re-lists to detect deletions (0: no deletion detection).
    pub reconcile_days: u32,
    /// Page size, 1..=2000 (the source's own default when unset).
    pub per_page: Option<u32>,
    /// The kind given to every Harvest user (the source's default, contractor, when unset).
    pub worker_kind: Option<WorkerKind>,
}

impl Default for HarvestSettings {
    // A constant literal, not input: it parses or the tests fail.
    #[allow(clippy::expect_used)]
    fn default() -> Self {
        Self {
            base_url: Url::parse("https://api.harvestapp.com").expect("a valid constant URL"),
            account_id: None,
            access_token: None,
            user_agent: None,
            overlap: Duration::from_secs(600),
            reconcile_days: 30,
            per_page: None,
            worker_kind: None,
        }
    }
}

/// `[api]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// The gateway's base URL (`https://api.exampleco.com`); required to send.
    pub base_url: Option<Url>,
    /// A PEM file of extra CA certificates to trust (the dev stack's own CA).
    pub ca_cert: Option<PathBuf>,
    /// Entries per upload, 1..=1000.
    pub batch_size: usize,
    /// Uploads on their way at once, 1..=8: the next batch travels while the API stores one.
    pub uploads_in_flight: usize,
    /// Per-request timeout.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// `[api.retry]`: attempts and backoff for connection errors, 429 and 5xx.
    pub retry: timesheet_client::RetryConfig,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            base_url: None,
            ca_cert: None,
            batch_size: 500,
            // Two hide the trip and the parsing of one batch behind the storing of the other;
            // the service stores a tenant's uploads one at a time, so more only queue there.
            uploads_in_flight: 2,
            timeout: Duration::from_secs(30),
            // A scheduled job can afford to wait out a rollout of the gateway or the service
            // (tens of seconds) rather than fail the run: more, slower attempts than the
            // client's interactive defaults.
            retry: timesheet_client::RetryConfig {
                max_attempts: 8,
                base_delay: Duration::from_millis(500),
                ..timesheet_client::RetryConfig::default()
            },
        }
    }
}

/// How the client authenticates at the token endpoint: the shared client's own setting, so
/// the names are the same in every app's configuration.
pub use timesheet_client::AuthMethod;

/// `[auth]`: the OAuth 2.0 client-credentials grant.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    pub token_url: Option<Url>,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    /// PEM private key for `private_key_jwt`.
    pub private_key_file: Option<PathBuf>,
    /// The key id put in the client assertion's header.
    pub kid: Option<String>,
    /// Defaults to `private_key_jwt` when a key file is given, `client_secret_post` otherwise.
    pub method: Option<AuthMethod>,
    pub audience: Option<String>,
    pub resource: Option<String>,
    pub scope: Option<String>,
    /// Where the access token is cached between runs (so a CronJob does not ask every time).
    pub token_cache_file: Option<PathBuf>,
}

impl AuthConfig {
    /// The method in effect.
    pub fn method(&self) -> AuthMethod {
        self.method.unwrap_or(if self.private_key_file.is_some() {
            AuthMethod::PrivateKeyJwt
        } else {
            AuthMethod::ClientSecretPost
        })
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.token_url {
            if !matches!(url.scheme(), "http" | "https") {
                return Err(ConfigError::new("auth.token_url", "must be an http(s) URL"));
            }
        }
        if self.client_secret.is_some() && self.private_key_file.is_some() {
            return Err(ConfigError::new(
                "auth.private_key_file",
                "give either auth.client_secret or auth.private_key_file, not both",
            ));
        }
        match (self.method, &self.client_secret, &self.private_key_file) {
            (Some(AuthMethod::PrivateKeyJwt), Some(_), _) => Err(ConfigError::new(
                "auth.client_secret",
                "is not used with method = \"private_key_jwt\"; give auth.private_key_file",
            )),
            (Some(AuthMethod::ClientSecretPost | AuthMethod::ClientSecretBasic), _, Some(_)) => {
                Err(ConfigError::new(
                    "auth.private_key_file",
                    "is used only with method = \"private_key_jwt\"",
                ))
            }
            _ => Ok(()),
        }
    }

    pub(super) fn check_complete(&self) -> Result<(), ConfigError> {
        if self.token_url.is_none() {
            return Err(ConfigError::new(
                "auth.token_url",
                "is required to send entries",
            ));
        }
        if self.client_id.is_none() {
            return Err(ConfigError::new(
                "auth.client_id",
                "is required to send entries",
            ));
        }
        match self.method() {
            AuthMethod::PrivateKeyJwt if self.private_key_file.is_none() => Err(ConfigError::new(
                "auth.private_key_file",
                "is required with method = \"private_key_jwt\"",
            )),
            AuthMethod::ClientSecretPost | AuthMethod::ClientSecretBasic
                if self.client_secret.is_none() =>
            {
                Err(ConfigError::new(
                    "auth.client_secret",
                    "is required (set IMPORTER__AUTH__CLIENT_SECRET), or give auth.private_key_file",
                ))
            }
            _ => Ok(()),
        }
    }
}

/// `[state]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StateConfig {
    /// `sqlite://path` (default `sqlite://.importer/state.db`) or `postgres://…` when several
    /// hosts may run the job. A secret: a PostgreSQL URL may carry a password.
    pub url: SecretString,
}

impl Default for StateConfig {
    fn default() -> Self {
        Self {
            url: SecretString::from("sqlite://.importer/state.db"),
        }
    }
}

/// `[run]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Wait this long for another run's lock instead of giving up at once.
    #[serde(with = "humantime_serde")]
    pub lock_timeout: Option<Duration>,
    /// Refuse a run that would delete more than this fraction of the imported entries.
    pub max_delete_fraction: f64,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            lock_timeout: None,
            max_delete_fraction: 0.5,
        }
    }
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// An `EnvFilter` directive (`info`, `importer_svc=debug,sqlx=warn`); `RUST_LOG` wins.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            filter: "info".to_owned(),
        }
    }
}

/// `[telemetry]`: span export over OTLP/HTTP. Off unless an endpoint is set here
/// (`IMPORTER__TELEMETRY__OTLP_ENDPOINT`) or in `OTEL_EXPORTER_OTLP_ENDPOINT`, which wins, as
/// `OTEL_TRACES_SAMPLER_ARG` does over `sampling_ratio` (the gateway's and timesheet-svc's keys).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetrySection {
    /// OTLP/HTTP base URL of a collector, such as `http://127.0.0.1:4318`.
    pub otlp_endpoint: Option<String>,
    /// Share of runs traced, `0.0..=1.0`.
    pub sampling_ratio: f64,
}

impl Default for TelemetrySection {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            sampling_ratio: 1.0,
        }
    }
}

/// An optional text that the environment may have turned into an integer.
fn text_or_integer<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Integer(u64),
    }
    Ok(
        Option::<Raw>::deserialize(deserializer)?.map(|raw| match raw {
            Raw::Text(text) => text,
            Raw::Integer(n) => n.to_string(),
        }),
    )
}
