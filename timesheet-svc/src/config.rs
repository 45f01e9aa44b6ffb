//! The service's configuration: an optional TOML file, then `TIMESHEET__*` environment variables
//! (`__` between levels), then `DATABASE_URL`; typed and checked by `service-config`, every issue
//! reported at once, before anything binds a port.
//!
//! `[assertion]` is `assertion`'s, `[log]` and `[telemetry]` are `service-telemetry`'s; the store's
//! pool (`[database]`) is a plain section here, and `[date_window]` is the domain's `DateWindow`.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::Path;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use service_config::rule::within;
use service_config::{ConfigError, Issues, Loader, Settings};
use service_telemetry::{LogConfig, TelemetryConfig, TracingConfig};
use timesheet_domain::DateWindow;

use crate::assertion::AssertionConfig;
use crate::telemetry::SERVICE_NAME;

/// Prefix of the environment variables that override the file.
pub const ENV_PREFIX: &str = "TIMESHEET__";
/// The database URL, as most tools name it.
pub const ENV_DATABASE_URL: &str = "DATABASE_URL";

#[derive(Debug, Clone, Deserialize, garde::Validate)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the API listens. Internal only: the gateway is the public edge.
    #[garde(skip)]
    pub listen_addr: SocketAddr,
    /// `sqlite://path?mode=rwc` or `postgres://user:pass@host/db`. Never logged.
    #[garde(custom(store_url))]
    pub database_url: SecretString,
    #[garde(dive)]
    pub database: DatabaseConfig,
    #[garde(dive)]
    pub assertion: AssertionConfig,
    /// Entry dates must lie within this many days of today (at most `DateWindow::MAX_DAYS`).
    #[garde(skip)]
    pub date_window: DateWindow,
    #[garde(dive)]
    pub log: LogConfig,
    #[garde(dive)]
    pub telemetry: TracingConfig,
    /// A request that takes longer is answered 503 and its transaction rolled back.
    #[serde(with = "humantime_serde")]
    #[garde(custom(within(Duration::from_secs(1), Duration::from_secs(3600))))]
    pub request_timeout: Duration,
    /// An Idempotency-Key still in flight after this long is considered abandoned.
    #[serde(with = "humantime_serde")]
    #[garde(custom(within(Duration::from_secs(1), Duration::from_secs(86_400))))]
    pub idempotency_stale: Duration,
    /// On SIGTERM, how long in-flight requests may take to finish.
    #[serde(with = "humantime_serde")]
    #[garde(custom(within(Duration::ZERO, Duration::from_secs(3600))))]
    pub shutdown_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 8081)),
            database_url: SecretString::from("sqlite://.devstack/timesheets.db?mode=rwc"),
            database: DatabaseConfig::default(),
            assertion: AssertionConfig::default(),
            date_window: DateWindow::default(),
            log: LogConfig::default(),
            telemetry: TracingConfig::default(),
            request_timeout: Duration::from_secs(30),
            idempotency_stale: Duration::from_secs(60),
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

/// `[database]`: the store's connection pool.
#[derive(Debug, Clone, Deserialize, garde::Validate)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    #[garde(skip)]
    pub max_connections: NonZeroU32,
    /// How long a request waits for a connection before answering 503.
    #[serde(with = "humantime_serde")]
    #[garde(custom(within(Duration::from_millis(1), Duration::from_secs(60))))]
    pub acquire_timeout: Duration,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            max_connections: NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN),
            acquire_timeout: Duration::from_secs(3),
        }
    }
}

impl Settings for Config {
    fn check(&self, issues: &mut Issues) {
        let window = self.date_window;
        for (key, days) in [
            ("past_days", window.past_days),
            ("future_days", window.future_days),
        ] {
            if days > DateWindow::MAX_DAYS {
                let why = format!("must be at most {}", DateWindow::MAX_DAYS);
                issues.push(format!("date_window.{key}"), why);
            }
        }
        if !self.assertion.has_keys() {
            let var = format!("{ENV_PREFIX}ASSERTION__PUBLIC_KEY_FILES");
            issues.push(
                "assertion.public_key_files",
                format!("at least one gateway public key is required (set {var})"),
            );
        }
    }
}

/// The stores `timesheet_store::connect` opens, by the scheme of their URL.
const STORES: [(&str, &str); 3] = [
    ("sqlite:", "SQLite"),
    ("postgres:", "PostgreSQL"),
    ("postgresql:", "PostgreSQL"),
];

fn store_name(url: &SecretString) -> Option<&'static str> {
    let url = url.expose_secret();
    STORES
        .iter()
        .find(|(scheme, _)| url.starts_with(scheme))
        .map(|(_, name)| *name)
}

/// The message never repeats the URL: it may hold a password.
fn store_url(url: &SecretString, _: &()) -> garde::Result {
    store_name(url)
        .map(drop)
        .ok_or_else(|| garde::Error::new("must start with sqlite:, postgres: or postgresql:"))
}

impl Config {
    /// Reads `file` (if any), then the environment, and checks the result.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Loader::new()
            .optional_file(file)
            .env(ENV_PREFIX)
            .env_alias(ENV_DATABASE_URL, "database_url")
            .load()
    }

    /// A configuration for tests: port 0, the given database and gateway public key.
    pub fn for_tests(database_url: &str, public_key_pem: &str) -> Self {
        let defaults = Self::default();
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: SecretString::from(database_url.to_owned()),
            // Many test services share one PostgreSQL server (100 connections by default).
            database: DatabaseConfig {
                max_connections: NonZeroU32::new(4).unwrap_or(NonZeroU32::MIN),
                ..defaults.database
            },
            assertion: AssertionConfig {
                public_keys: vec![public_key_pem.to_owned()],
                ..defaults.assertion
            },
            shutdown_timeout: Duration::from_secs(5),
            ..defaults
        }
    }

    /// What `check-config` says of a good configuration; nothing secret.
    pub fn summary(&self) -> String {
        let keys = self.assertion.public_key_files.len() + self.assertion.public_keys.len();
        format!(
            "listening on {}, {} store, {keys} gateway key{}",
            self.listen_addr,
            store_name(&self.database_url).unwrap_or("unknown"),
            if keys == 1 { "" } else { "s" },
        )
    }

    /// Logs and traces as `service-telemetry` takes them: `[log]` and `[telemetry]` together.
    pub fn telemetry(&self) -> TelemetryConfig {
        TelemetryConfig::from_sections(SERVICE_NAME, &self.log, &self.telemetry)
    }

    pub fn store_options(&self) -> timesheet_store::StoreOptions {
        timesheet_store::StoreOptions {
            max_connections: self.database.max_connections.get(),
            acquire_timeout: self.database.acquire_timeout,
        }
    }
}

#[cfg(test)]
mod tests;
