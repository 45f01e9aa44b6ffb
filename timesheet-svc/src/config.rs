//! Configuration: defaults, then an optional TOML file, then `TIMESHEET__*` environment variables
//! (`__` separates sections), then `DATABASE_URL`. Validated before anything binds a port.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use timesheet_domain::DateWindow;

/// Prefix of the environment variables that override the file.
pub const ENV_PREFIX: &str = "TIMESHEET__";
/// The database URL, as most tools name it.
pub const ENV_DATABASE_URL: &str = "DATABASE_URL";

#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// Where the API listens. Internal only: the gateway is the public edge.
    pub listen_addr: SocketAddr,
    /// `sqlite://path?mode=rwc` or `postgres://user:pass@host/db`. Never logged.
    pub database_url: SecretString,
    pub database: DatabaseConfig,
    pub assertion: AssertionConfig,
    /// Entry dates must lie within this many days of today.
    pub date_window: DateWindow,
    pub log: LogConfig,
    pub telemetry: TracingConfig,
    /// A request that takes longer is answered 503 and its transaction rolled back.
    pub request_timeout_secs: u64,
    /// An Idempotency-Key still in flight after this long is considered abandoned.
    pub idempotency_stale_secs: u64,
    /// On SIGTERM, how long in-flight requests may take to finish.
    pub shutdown_timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatabaseConfig {
    pub max_connections: u32,
    /// How long a request waits for a connection before answering 503.
    pub acquire_timeout_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AssertionConfig {
    /// Files holding the gateway's public keys (SubjectPublicKeyInfo PEM). Several keys may be
    /// trusted at once, for rotation. A comma-separated string is accepted from the environment.
    #[serde(deserialize_with = "string_or_list::deserialize")]
    pub public_key_files: Vec<PathBuf>,
    /// The same, inline (PEM text); used by tests and secret mounts given as values.
    #[serde(default)]
    pub public_keys: Vec<String>,
    pub audience: String,
    /// Clock skew tolerated between gateway and service.
    pub leeway_secs: u64,
}

pub use service_telemetry::LogFormat;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogConfig {
    pub format: LogFormat,
    /// An `EnvFilter` directive (`info`, `timesheet_svc=debug,sqlx=warn`); `RUST_LOG` wins.
    pub filter: String,
}

/// `[telemetry]`: span export. Off unless an endpoint is set here
/// (`TIMESHEET__TELEMETRY__OTLP_ENDPOINT`) or in `OTEL_EXPORTER_OTLP_ENDPOINT`, which wins, as
/// `OTEL_TRACES_SAMPLER_ARG` does over `sampling_ratio`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TracingConfig {
    /// OTLP/HTTP base URL of a collector, such as `http://127.0.0.1:4318`.
    pub otlp_endpoint: Option<String>,
    /// Share of new traces recorded (`0.0..=1.0`); requests that arrive with a `traceparent`
    /// follow the caller's decision.
    pub sampling_ratio: f64,
}

/// Defaults, as a serializable tree so that the file and the environment override any key.
#[derive(Serialize)]
struct Defaults {
    listen_addr: &'static str,
    database_url: &'static str,
    database: DatabaseConfig,
    assertion: AssertionConfig,
    date_window: DateWindow,
    log: LogConfig,
    telemetry: TracingConfig,
    request_timeout_secs: u64,
    idempotency_stale_secs: u64,
    shutdown_timeout_secs: u64,
}

fn defaults() -> Defaults {
    Defaults {
        listen_addr: "127.0.0.1:8081",
        database_url: "sqlite://.devstack/timesheets.db?mode=rwc",
        database: DatabaseConfig {
            max_connections: 10,
            acquire_timeout_ms: 3000,
        },
        assertion: AssertionConfig {
            public_key_files: Vec::new(),
            public_keys: Vec::new(),
            audience: identity_assertion::AUDIENCE_TIMESHEET_SVC.to_owned(),
            leeway_secs: 5,
        },
        date_window: DateWindow::default(),
        log: LogConfig {
            format: LogFormat::Json,
            filter: "info".to_owned(),
        },
        telemetry: TracingConfig {
            otlp_endpoint: None,
            sampling_ratio: 1.0,
        },
        request_timeout_secs: 30,
        idempotency_stale_secs: 60,
        shutdown_timeout_secs: 30,
    }
}

impl Config {
    /// Reads defaults, then `file` (if any), then the environment, and validates the result.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(defaults()));
        if let Some(file) = file {
            if !file.exists() {
                anyhow::bail!("configuration file {} does not exist", file.display());
            }
            figment = figment.merge(Toml::file(file));
        }
        figment = figment.merge(Env::prefixed(ENV_PREFIX).split("__")).merge(
            Env::raw()
                .only(&[ENV_DATABASE_URL])
                .map(|_| "database_url".into()),
        );
        let config: Config = figment.extract().map_err(|err| {
            // figment's message names the key and where its value came from.
            anyhow::anyhow!("{err}")
        })?;
        config.validate()?;
        Ok(config)
    }

    /// A configuration for tests: port 0, the given database and gateway public key.
    pub fn for_tests(database_url: &str, public_key_pem: &str) -> Self {
        let d = defaults();
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: SecretString::from(database_url.to_owned()),
            // Many test services share one PostgreSQL server (100 connections by default).
            database: DatabaseConfig {
                max_connections: 4,
                ..d.database
            },
            assertion: AssertionConfig {
                public_keys: vec![public_key_pem.to_owned()],
                ..d.assertion
            },
            date_window: d.date_window,
            log: d.log,
            telemetry: d.telemetry,
            request_timeout_secs: d.request_timeout_secs,
            idempotency_stale_secs: d.idempotency_stale_secs,
            shutdown_timeout_secs: 5,
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        let url = self.database_url.expose_secret();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres:")
            || url.starts_with("postgresql:"))
        {
            anyhow::bail!("database_url: must start with sqlite:, postgres: or postgresql:");
        }
        if self.assertion.public_key_files.is_empty() && self.assertion.public_keys.is_empty() {
            anyhow::bail!(
                "assertion.public_key_files: at least one gateway public key is required \
                 (set TIMESHEET__ASSERTION__PUBLIC_KEY_FILES)"
            );
        }
        if self.database.max_connections == 0 {
            anyhow::bail!("database.max_connections: must be at least 1");
        }
        if self.request_timeout_secs == 0 {
            anyhow::bail!("request_timeout_secs: must be at least 1");
        }
        // Its keys are `sampling_ratio` and `otlp_endpoint`, in `[telemetry]` here.
        self.telemetry()
            .validate()
            .map_err(|err| anyhow::anyhow!("telemetry.{err}"))?;
        Ok(())
    }

    /// Logs and traces as `service-telemetry` takes them: `[log]` and `[telemetry]` together.
    pub fn telemetry(&self) -> service_telemetry::TelemetryConfig {
        service_telemetry::TelemetryConfig {
            service_name: crate::telemetry::SERVICE_NAME.to_owned(),
            log_format: self.log.format,
            filter: self.log.filter.clone(),
            otlp_endpoint: self.telemetry.otlp_endpoint.clone(),
            sampling_ratio: self.telemetry.sampling_ratio,
        }
    }

    /// The gateway's public keys: inline ones, then those read from files.
    pub fn assertion_public_keys(&self) -> anyhow::Result<Vec<String>> {
        let mut keys = self.assertion.public_keys.clone();
        for path in &self.assertion.public_key_files {
            keys.push(std::fs::read_to_string(path).with_context(|| {
                format!("assertion.public_key_files: reading {}", path.display())
            })?);
        }
        Ok(keys)
    }

    pub fn store_options(&self) -> timesheet_store::StoreOptions {
        timesheet_store::StoreOptions {
            max_connections: self.database.max_connections,
            acquire_timeout: Duration::from_millis(self.database.acquire_timeout_ms),
        }
    }
}

mod string_or_list {
    use std::path::PathBuf;

    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        Many(Vec<PathBuf>),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PathBuf>, D::Error> {
        Ok(match Raw::deserialize(d)? {
            Raw::One(s) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .collect(),
            Raw::Many(v) => v,
        })
    }
}

#[cfg(test)]
// figment's own error type is large; these closures are its test harness, not our API.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_and_comma_lists_are_understood() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("TIMESHEET__ASSERTION__PUBLIC_KEY_FILES", "a.pem, b.pem");
            jail.set_env("TIMESHEET__DATE_WINDOW__PAST_DAYS", "10");
            jail.set_env("DATABASE_URL", "postgres://db/timesheets");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(
                config.assertion.public_key_files,
                vec![PathBuf::from("a.pem"), PathBuf::from("b.pem")]
            );
            assert_eq!(config.date_window.past_days, 10);
            assert_eq!(
                config.database_url.expose_secret(),
                "postgres://db/timesheets"
            );
            Ok(())
        });
    }

    #[test]
    fn a_missing_key_list_is_refused_naming_the_key() {
        figment::Jail::expect_with(|_jail| {
            let err = Config::load(None)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("assertion.public_key_files"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn a_bad_value_in_the_file_names_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("svc.toml", "listen_addr = \"nowhere\"\n")?;
            let err = Config::load(Some(Path::new("svc.toml")))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("listen_addr"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn tracing_is_off_by_default_and_configured_under_telemetry() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("TIMESHEET__ASSERTION__PUBLIC_KEY_FILES", "a.pem");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert!(!config.telemetry().is_tracing());
            jail.set_env(
                "TIMESHEET__TELEMETRY__OTLP_ENDPOINT",
                "http://127.0.0.1:4318",
            );
            jail.set_env("TIMESHEET__TELEMETRY__SAMPLING_RATIO", "0.5");
            jail.set_env("TIMESHEET__LOG__FORMAT", "pretty");
            let telemetry = Config::load(None).map_err(|e| e.to_string())?.telemetry();
            assert_eq!(telemetry.service_name, "timesheet-svc");
            assert_eq!(
                telemetry.otlp_endpoint.as_deref(),
                Some("http://127.0.0.1:4318")
            );
            assert_eq!(telemetry.sampling_ratio, 0.5);
            assert_eq!(telemetry.log_format, LogFormat::Pretty);
            jail.set_env("TIMESHEET__TELEMETRY__SAMPLING_RATIO", "2");
            let err = Config::load(None)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.starts_with("telemetry.sampling_ratio:"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn the_database_url_is_not_printed() {
        let config = Config::for_tests("postgres://u:hunter2@db/x", "PEM");
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
