//! The gateway's configuration: a TOML file plus `GATEWAY__*` environment overrides, read into raw
//! serde structs (`deny_unknown_fields`, so a typo is an error rather than a silent default) and
//! validated into a [`GatewayConfig`] holding a [`TenantRegistry`] and a [`RouteTable`].
//!
//! Every validation error names its key (`tenant[1].issuer: …`), and all of them are reported at
//! once, so an operator fixes a file in one pass. `main` exits 64 on any of them before binding a
//! port.
//!
//! Listener, TLS, upstream, assertion and admin settings live in [`proxy`]; they have defaults
//! or are optional so auth-only files stay valid, and [`GatewayConfig::require_proxy`] checks
//! what `gateway run` needs. What it does not hold: any runtime object (the JWKS cache and
//! authenticator are built *from* this config).

use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use jsonwebtoken::Algorithm;
use timesheet_domain::TenantId;

use crate::policy::{RouteTable, RAW_ROUTE_KEY};
use crate::tenant::TenantRegistry;

pub mod proxy;
mod raw;
mod telemetry;

pub use proxy::{
    AdminConfig, AssertionConfig, CertPaths, ProxySettings, ServerConfig, UpstreamConfig,
};
pub use telemetry::TracingConfig;

pub(crate) use raw::check_url;
use raw::RawConfig;

/// Prefix of environment overrides; `__` separates nesting levels:
/// `GATEWAY__JWKS__FETCH_TIMEOUT_MS=1500` sets `[jwks] fetch_timeout_ms`.
pub const ENV_PREFIX: &str = "GATEWAY__";

/// Algorithms a tenant may allow. Symmetric (HS*) and `none` are never accepted: the gateway
/// holds no shared secrets, and an HS* allow-list is the classic "RSA public key as HMAC secret"
/// confusion.
pub const SUPPORTED_ALGORITHMS: [Algorithm; 7] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", join_issues(.0))]
    Invalid(Vec<ConfigIssue>),
}

/// One invalid key and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigIssue {
    /// The key path as an operator writes it: `tenant[1].issuer`, `jwks.fetch_timeout_ms`.
    pub key: String,
    pub message: String,
}

impl ConfigIssue {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

fn join_issues(issues: &[ConfigIssue]) -> String {
    issues
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// `realm` of every `WWW-Authenticate` challenge.
    pub realm: String,
    pub jwks: JwksConfig,
    pub token_cache: TokenCacheConfig,
    pub tenants: TenantRegistry,
    pub routes: RouteTable,
    pub proxy: ProxySettings,
    /// `[telemetry]`: span export (read at start only).
    pub telemetry: TracingConfig,
}

/// `[jwks]`: how keys are fetched and how long they may be served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksConfig {
    /// How often the background service refreshes every tenant's keys.
    pub refresh_interval: Duration,
    /// Cooldown between refetches triggered by unknown `kid`s, per tenant.
    pub min_refetch_interval: Duration,
    /// How long the last good keys keep serving while the provider fails.
    pub max_stale: Duration,
    /// Upper bound on one discovery or JWKS fetch (connect + response).
    pub fetch_timeout: Duration,
    /// How long a `kid` that stayed unknown after a fetch is refused without asking again.
    pub negative_cache: Duration,
    /// Allow `http://` JWKS and discovery URLs on non-loopback hosts (a dev stack in containers).
    pub allow_http: bool,
}

/// `[token_cache]`: the verified-token cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenCacheConfig {
    pub max_entries: u64,
    /// Upper bound on how long a verified token is trusted without verifying it again, so a key
    /// removed from the JWKS stops being honoured within this time even for cached tokens.
    pub max_ttl: Duration,
}

/// One tenant: who issues its tokens and how they are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantConfig {
    pub id: TenantId,
    /// Compared to `iss` exactly (Auth0 issuers end with `/`).
    pub issuer: String,
    /// Accepted `aud` values; one match suffices.
    pub audiences: Vec<String>,
    pub algorithms: Vec<Algorithm>,
    pub key_source: KeySource,
    /// Auth0 Organizations: tokens must carry exactly this `org_id`.
    pub org_id: Option<String>,
    /// Lowercase hostnames; when set, the tenant is served only on them.
    pub hostnames: Vec<String>,
    pub rate_limit: TenantRateLimit,
    pub leeway_secs: u64,
    /// Certificate for this tenant's hostnames, chosen by SNI.
    pub tls: Option<CertPaths>,
}

/// Where a tenant's signing keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    JwksUri(String),
    /// An OIDC `/.well-known/openid-configuration` URL, resolved once to its `jwks_uri`.
    Discovery(String),
}

/// Rate limits of one tenant; `None` means unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TenantRateLimit {
    pub tenant: Option<Rate>,
    pub per_client: Option<Rate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub requests_per_second: u32,
    pub burst: u32,
}

// === impl GatewayConfig ===

impl GatewayConfig {
    /// Reads `path`, applies `GATEWAY__*` environment overrides and validates the result.
    ///
    /// Arrays of tables (`[[tenant]]`, `[[route]]`) come from the file only; the environment
    /// overrides scalar keys such as `realm` or `jwks.fetch_timeout_ms`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_figment(
            Figment::from(Toml::string(&text)).merge(Env::prefixed(ENV_PREFIX).split("__")),
        )
    }

    /// What `gateway run` needs beyond a valid file: the default certificate and the assertion
    /// key. Each missing key is one issue.
    pub fn require_proxy(&self) -> Result<&AssertionConfig, ConfigError> {
        let mut issues = Vec::new();
        if self.proxy.server.cert_file.is_none() {
            issues.push(ConfigIssue::new(
                "server.cert_file",
                "required to run the proxy (with server.key_file)",
            ));
        }
        match &self.proxy.assertion {
            Some(assertion) if issues.is_empty() => Ok(assertion),
            Some(_) => Err(ConfigError::Invalid(issues)),
            None => {
                issues.push(ConfigIssue::new(
                    "assertion.private_key_file",
                    "required to run the proxy: accepted requests carry a signed assertion",
                ));
                Err(ConfigError::Invalid(issues))
            }
        }
    }

    /// Validates a TOML document without environment overrides (tests, embedded defaults).
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        Self::from_figment(Figment::from(Toml::string(text)))
    }

    fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let raw: RawConfig = figment.extract().map_err(|err| {
            ConfigError::Invalid(
                err.into_iter()
                    .map(|e| ConfigIssue::new(key_path(&e.path), e.kind.to_string()))
                    .collect(),
            )
        })?;
        raw.validate().map_err(ConfigError::Invalid)
    }
}

/// `["tenant", "1", "issuer"]` → `tenant[1].issuer`.
fn key_path(path: &[String]) -> String {
    let mut key = String::new();
    for part in path {
        if part.chars().all(|c| c.is_ascii_digit()) && !part.is_empty() {
            key.push_str(&format!("[{part}]"));
        } else {
            if !key.is_empty() {
                key.push('.');
            }
            key.push_str(part);
        }
    }
    if key.is_empty() {
        key.push_str("(root)");
    }
    key
}

/// Key under which route errors are reported (`route[2].path`); shared with `policy`.
pub(crate) fn route_key(index: usize, field: &str) -> String {
    format!("{RAW_ROUTE_KEY}[{index}].{field}")
}

#[cfg(test)]
mod tests;
