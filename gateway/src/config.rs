//! The gateway's configuration: a TOML file plus `GATEWAY__*` environment overrides, read by
//! `service-config` into one [`Config`] that composes the sections of the modules using them
//! (`[[tenant]]` in `tenant`, `[[route]]` in `policy`, `[jwks]` and `[token_cache]` in `auth`,
//! `[server]` in `workers`, `[upstream]` in `forward`, `[assertion]` in `assertion_cache`).
//! Every issue names its key and all are reported at once; `main` exits 64 before binding a
//! port. The certificate and assertion key are optional, so that a tenants-only file checks;
//! [`Config::require_proxy`] insists on them for `gateway run`. No runtime object lives here.

use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;
use service_config::{ConfigError, ConfigIssue, Issues, Loader, Settings};
use service_telemetry::{LogConfig, TracingConfig};

use crate::assertion_cache::AssertionConfig;
use crate::auth::{JwksConfig, TokenCacheConfig};
use crate::forward::{self, UpstreamConfig};
use crate::policy::RouteTable;
use crate::tenant::TenantRegistry;
use crate::workers::ServerConfig;

/// Prefix of environment overrides, `__` between levels: `GATEWAY__JWKS__FETCH_TIMEOUT=1500ms`
/// sets `[jwks] fetch_timeout`. Arrays of tables (`[[tenant]]`, `[[route]]`) come from the file.
pub const ENV_PREFIX: &str = "GATEWAY__";
/// Sets `log.filter`; `RUST_LOG` wins over both.
pub const ENV_LOG: &str = "GATEWAY_LOG";

/// The gateway's configuration, and the tenant registry and route table read from it. Every
/// section may be left out of the file, but at least one `[[tenant]]` is required
/// ([`TenantRegistry::check`]).
#[derive(Debug, Clone, Deserialize, garde::Validate)]
#[serde(deny_unknown_fields)]
#[garde(allow_unvalidated)]
pub struct Config {
    /// `realm` of every `WWW-Authenticate` challenge.
    #[serde(default = "default_realm")]
    #[garde(custom(printable))]
    pub realm: String,
    /// Lowercase names of the headers removed from every forwarded request, beyond those
    /// always removed (`forward::IDENTITY_HEADERS` among them).
    #[serde(default, deserialize_with = "forward::strip_headers")]
    #[garde(inner(custom(forward::header_name)))]
    pub strip_headers: Vec<String>,
    #[serde(default)]
    #[garde(dive)]
    pub server: ServerConfig,
    #[serde(default)]
    #[garde(dive)]
    pub upstream: UpstreamConfig,
    #[garde(dive)]
    pub assertion: Option<AssertionConfig>,
    #[serde(default)]
    pub admin: AdminConfig,
    #[serde(default)]
    #[garde(dive)]
    pub jwks: JwksConfig,
    #[serde(default)]
    #[garde(dive)]
    pub token_cache: TokenCacheConfig,
    #[serde(default)]
    #[garde(dive)]
    pub tenant: TenantRegistry,
    #[serde(default)]
    #[garde(dive)]
    pub route: RouteTable,
    /// Read at start only, as `telemetry` is: a SIGHUP reload leaves logs and traces alone.
    #[serde(default)]
    #[garde(dive)]
    pub log: LogConfig,
    #[serde(default)]
    #[garde(dive)]
    pub telemetry: TracingConfig,
}

/// `[admin]`: `/healthz`, `/readyz` and `/metrics`, in plain HTTP: bind it to loopback or a
/// private interface.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    pub listen: SocketAddr,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
        }
    }
}

fn default_realm() -> String {
    "timesheets".to_owned()
}

/// Quoted in `WWW-Authenticate` challenges.
fn printable(realm: &str, _: &()) -> garde::Result {
    if !realm.is_empty() && realm.bytes().all(|c| c.is_ascii_graphic() || c == b' ') {
        return Ok(());
    }
    Err(garde::Error::new("must be non-empty printable ASCII"))
}

impl Settings for Config {
    fn check(&self, issues: &mut Issues) {
        if self.server.cert_file.is_some() != self.server.key_file.is_some() {
            issues.push("server", "set both cert_file and key_file, or neither");
        }
        self.tenant.check(self.jwks.allow_http, issues);
        self.route.check(issues);
    }
}

impl Config {
    /// Reads `path` with the `GATEWAY__*` overrides (and [`ENV_LOG`]); what `gateway run`,
    /// `check-config` and a SIGHUP reload read.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Loader::new()
            .file(path)
            .env(ENV_PREFIX)
            .env_alias(ENV_LOG, "log.filter")
            .load()
    }

    /// A TOML document alone, without the environment (tests).
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        Loader::new().toml(text).load()
    }

    /// What `check-config` says of a usable file.
    pub fn summary(&self) -> String {
        format!("{} tenants, {} routes", self.tenant.len(), self.route.len())
    }

    /// What `gateway run` needs beyond a valid file: the default certificate and the assertion
    /// key. Each missing key is one issue.
    pub fn require_proxy(&self) -> Result<&AssertionConfig, ConfigError> {
        let mut missing = Vec::new();
        if self.server.cert_file.is_none() {
            let why = "required to run the proxy (with server.key_file)";
            missing.push(ConfigIssue::new("server.cert_file", why));
        }
        if self.assertion.is_none() {
            let why = "required to run the proxy: accepted requests carry a signed assertion";
            missing.push(ConfigIssue::new("assertion.private_key_file", why));
        }
        match &self.assertion {
            Some(assertion) if missing.is_empty() => Ok(assertion),
            _ => Err(ConfigError::Invalid(missing)),
        }
    }
}

#[cfg(test)]
mod tests;
