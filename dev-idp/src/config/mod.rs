//! Configuration: defaults, then an optional TOML file (`--config` or `DEVIDP_CONFIG`), then
//! `DEVIDP__*` environment variables (`__` separates sections), read by service-config: every
//! mistake is reported at once, each with its key, before anything binds a port (exit 64).
//!
//! The layout mirrors what an Auth0 tenant holds; those sections (`[[api]]`, `[[client]]`,
//! `[[client.grant]]`) and the rules across them are in [`crate::tenant`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use service_config::rule::within;
use service_config::{ConfigError, Issues, Loader, Settings};
use service_telemetry::LogConfig;
use url::Url;

use crate::tenant::{self, ApiConfig, ClientConfig};

/// Prefix of the environment variables that override the file (`DEVIDP__ADMIN_TOKEN=…`).
pub const ENV_PREFIX: &str = "DEVIDP__";
/// The configuration file, when `--config` is not given.
pub const ENV_CONFIG: &str = "DEVIDP_CONFIG";

/// Auth0 refuses token lifetimes above 30 days; so do we.
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

#[derive(Debug, Clone, Deserialize, garde::Validate)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the issuer listens. Port 0 picks a free port (tests).
    #[garde(skip)]
    pub listen: SocketAddr,
    /// The `iss` of every token, with a trailing slash as Auth0 writes it. When unset it is
    /// `http://<bound address>/`, which is `http://127.0.0.1:8090/` with the default `listen`.
    #[garde(custom(issuer_url))]
    pub issuer: Option<Url>,
    /// `expires_in` of machine tokens, and the default for user tokens.
    #[serde(with = "humantime_serde")]
    #[garde(custom(within(Duration::from_secs(1), MAX_TOKEN_LIFETIME)))]
    pub token_lifetime: Duration,
    /// Signing keys (PKCS#8 PEM, mode 0600) and `keys.json`, which says which key signs and which
    /// are published. Created on first start and reused afterwards.
    #[garde(skip)]
    pub keys_dir: PathBuf,
    /// Bearer secret of the `/admin/*` endpoints; when unset they answer 404.
    #[garde(custom(non_blank_secret))]
    pub admin_token: Option<SecretString>,
    /// Enables `POST /admin/tokens` (user tokens minted on request, for tests).
    #[garde(skip)]
    pub allow_user_tokens: bool,
    #[garde(dive)]
    pub log: LogConfig,
    #[garde(dive)]
    pub api: Vec<ApiConfig>,
    #[garde(dive)]
    pub client: Vec<ClientConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8090)),
            issuer: None,
            token_lifetime: Duration::from_secs(24 * 3600),
            keys_dir: PathBuf::from(".devstack/dev-idp/keys"),
            admin_token: None,
            allow_user_tokens: false,
            log: LogConfig::default(),
            api: Vec::new(),
            client: Vec::new(),
        }
    }
}

impl Settings for Config {
    fn check(&self, issues: &mut Issues) {
        tenant::check(&self.api, &self.client, issues);
    }
}

impl Config {
    /// Reads defaults, then `file` (if any), then `DEVIDP__*` variables, and checks the result
    /// (public key files of `private_key_jwt` clients are read here).
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Loader::new().optional_file(file).env(ENV_PREFIX).load()
    }

    /// Defaults, then `toml`, without looking at the environment: for tests and for embedding.
    pub fn from_toml(toml: &str) -> Result<Self, ConfigError> {
        Loader::new().toml(toml).load()
    }

    /// The issuer for a listener bound at `addr`: the configured one, or `http://<addr>/`.
    pub fn issuer_for(&self, addr: SocketAddr) -> String {
        self.issuer
            .as_ref()
            .map_or_else(|| format!("http://{addr}/"), Url::to_string)
    }

    /// What `check-config` says of a good configuration.
    pub fn summary(&self) -> String {
        format!(
            "listen {}, {} API(s), {} client(s)",
            self.listen,
            self.api.len(),
            self.client.len()
        )
    }
}

/// An Auth0 issuer: `http(s)`, a host, a path ending in '/', nothing after it.
fn issuer_url(issuer: &Option<Url>, _: &()) -> garde::Result {
    let Some(url) = issuer else {
        return Ok(());
    };
    let problem = if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        "must be an http(s) URL"
    } else if !url.path().ends_with('/') {
        "must end with '/', as Auth0 issuers do (https://tenant.auth0.com/)"
    } else if url.query().is_some() || url.fragment().is_some() {
        "must not have a query or fragment"
    } else {
        return Ok(());
    };
    Err(garde::Error::new(problem))
}

fn non_blank_secret(token: &Option<SecretString>, _: &()) -> garde::Result {
    match token {
        Some(token) if token.expose_secret().trim().is_empty() => Err(garde::Error::new(
            "must not be empty (leave it unset to disable /admin)",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
