//! Settings of the client, as serde structs an application embeds in its own configuration file
//! (for example under `[api]` and `[auth]` of a TOML file). Every field but the URLs and the
//! client id has a default; durations are whole numbers with the unit in the name, as in the
//! other crates. Checking what serde cannot (a secret for the chosen method, a readable key) is
//! done when the client is built, with a [`ConfigError`] naming the key.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

/// Everything the [`ApiClient`](crate::ApiClient) needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The gateway, e.g. `https://127.0.0.1:8443`. API paths (`/v1/...`) are resolved against it.
    pub base_url: Url,
    /// A PEM file of extra trusted CA certificates (the development gateway's own CA); the
    /// public web roots stay trusted.
    #[serde(default)]
    pub ca_cert: Option<PathBuf>,
    /// Whole-request timeout, connection included.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    #[serde(default)]
    pub retry: RetryConfig,
    pub auth: AuthConfig,
}

/// How failed requests are repeated (API and token endpoint alike); see [`crate::retry`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Attempts in all, the first included; 1 turns retries off.
    pub max_attempts: u32,
    /// The backoff ceiling of the first retry; it doubles with each retry.
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
    /// The longest `Retry-After` honoured; a server asking for more gets this.
    pub retry_after_cap_secs: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay_ms: 200,
            max_delay_ms: 10_000,
            retry_after_cap_secs: 120,
        }
    }
}

/// How the client authenticates itself at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// `client_id` and `client_secret` as form fields (Auth0's default).
    #[default]
    ClientSecretPost,
    /// HTTP Basic over the form-urlencoded id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// A JWT signed with the client's private key (RFC 7523); no shared secret at all.
    PrivateKeyJwt,
}

/// The OAuth 2.0 client-credentials grant.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// E.g. `https://tenant.auth0.com/oauth/token`.
    pub token_url: Url,
    pub client_id: String,
    #[serde(default)]
    pub method: AuthMethod,
    /// For `client_secret_post` and `client_secret_basic`.
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    /// For `private_key_jwt`: a PEM file holding an RSA (signs RS256) or P-256 (ES256) key.
    #[serde(default)]
    pub private_key_file: Option<PathBuf>,
    /// For `private_key_jwt`, the same PEM given inline (e.g. from a secret store) instead.
    #[serde(default)]
    pub private_key: Option<SecretString>,
    /// `kid` header of the client assertion, when the identity provider holds several keys.
    #[serde(default)]
    pub kid: Option<String>,
    /// `aud` of the client assertion. Auth0 wants the tenant URL with its trailing slash;
    /// default: the token URL's origin followed by `/`.
    #[serde(default)]
    pub assertion_audience: Option<String>,
    /// Auth0's `audience` parameter (the API identifier).
    #[serde(default)]
    pub audience: Option<String>,
    /// RFC 8707 `resource` parameter, for identity providers that use it instead of `audience`.
    #[serde(default)]
    pub resource: Option<String>,
    /// Space-separated scopes to ask for; none means the grant's defaults.
    #[serde(default)]
    pub scope: Option<String>,
    /// Where a token is kept between runs, so that scheduled runs reuse it (Auth0 counts
    /// issued machine tokens against a quota).
    #[serde(default)]
    pub cache_file: Option<PathBuf>,
    /// A token is renewed this long before it expires (at most half its lifetime).
    #[serde(default = "default_refresh_margin_secs")]
    pub refresh_margin_secs: u64,
    /// Timeout of one token request.
    #[serde(default = "default_token_timeout_ms")]
    pub timeout_ms: u64,
    /// Extra trusted CA certificates (PEM) for the token endpoint.
    #[serde(default)]
    pub ca_cert: Option<PathBuf>,
}

impl AuthConfig {
    /// A client-secret configuration with every optional field at its default: a start for
    /// code (and tests) that build the settings rather than read them.
    pub fn new(token_url: Url, client_id: impl Into<String>) -> Self {
        Self {
            token_url,
            client_id: client_id.into(),
            method: AuthMethod::default(),
            client_secret: None,
            private_key_file: None,
            private_key: None,
            kid: None,
            assertion_audience: None,
            audience: None,
            resource: None,
            scope: None,
            cache_file: None,
            refresh_margin_secs: default_refresh_margin_secs(),
            timeout_ms: default_token_timeout_ms(),
            ca_cert: None,
        }
    }
}

impl Config {
    /// Settings with every optional field at its default.
    pub fn new(base_url: Url, auth: AuthConfig) -> Self {
        Self {
            base_url,
            ca_cert: None,
            timeout_ms: default_timeout_ms(),
            connect_timeout_ms: default_connect_timeout_ms(),
            retry: RetryConfig::default(),
            auth,
        }
    }

    /// The request and connect timeouts; zero is refused, as it would fail every request.
    pub(crate) fn timeouts(&self) -> Result<(Duration, Duration), ConfigError> {
        if self.timeout_ms == 0 {
            return Err(ConfigError::invalid("timeout_ms", "must be positive"));
        }
        if self.connect_timeout_ms == 0 {
            return Err(ConfigError::invalid(
                "connect_timeout_ms",
                "must be positive",
            ));
        }
        Ok((
            Duration::from_millis(self.timeout_ms),
            Duration::from_millis(self.connect_timeout_ms),
        ))
    }
}

fn default_timeout_ms() -> u64 {
    30_000
}

fn default_connect_timeout_ms() -> u64 {
    5_000
}

fn default_refresh_margin_secs() -> u64 {
    60
}

fn default_token_timeout_ms() -> u64 {
    10_000
}

/// A setting that cannot work, named by its key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{key}: {reason}")]
    Invalid { key: &'static str, reason: String },
    #[error("{key}: cannot read {path}: {source}")]
    Unreadable {
        key: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// reqwest could not build its client (in practice: a CA file it cannot use).
    #[error("cannot build the http client: {0}")]
    Http(#[source] reqwest::Error),
}

impl ConfigError {
    pub(crate) fn invalid(key: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            key,
            reason: reason.into(),
        }
    }
}

/// A reqwest client with the timeouts, user agent and extra CA certificates every request of
/// this crate uses. The callers check that the timeouts are positive.
pub(crate) fn http_client(
    timeout: Duration,
    connect_timeout: Duration,
    ca_cert: Option<&PathBuf>,
    ca_key: &'static str,
) -> Result<reqwest::Client, ConfigError> {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(connect_timeout)
        .user_agent(crate::USER_AGENT)
        // A redirect would carry the bearer token to wherever it points; the API never sends one.
        .redirect(reqwest::redirect::Policy::none());
    if let Some(path) = ca_cert {
        let pem = std::fs::read(path).map_err(|source| ConfigError::Unreadable {
            key: ca_key,
            path: path.clone(),
            source,
        })?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| ConfigError::invalid(ca_key, format!("not PEM certificates: {e}")))?;
        if certs.is_empty() {
            return Err(ConfigError::invalid(ca_key, "holds no certificate"));
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build().map_err(ConfigError::Http)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimal_config_gets_the_documented_defaults() {
        let json = r#"{
            "base_url": "https://127.0.0.1:8443",
            "auth": {"token_url": "https://tenant.auth0.com/oauth/token", "client_id": "abc",
                     "client_secret": "s3cret", "audience": "https://api.exampleco.com/timesheets"}
        }"#;
        let config: Config = serde_json::from_str(json).unwrap();
        assert_eq!(config.retry.max_attempts, 5);
        assert_eq!(config.retry.retry_after_cap_secs, 120);
        assert_eq!(config.auth.method, AuthMethod::ClientSecretPost);
        assert_eq!(config.auth.refresh_margin_secs, 60);
        assert!(config.auth.cache_file.is_none());
    }

    #[test]
    fn debug_output_hides_the_client_secret() {
        let json = r#"{"token_url": "https://t/oauth/token", "client_id": "abc",
                       "client_secret": "s3cret-value", "method": "client_secret_basic"}"#;
        let auth: AuthConfig = serde_json::from_str(json).unwrap();
        assert!(!format!("{auth:?}").contains("s3cret-value"));
        assert_eq!(auth.method, AuthMethod::ClientSecretBasic);
    }

    #[test]
    fn unknown_keys_and_methods_are_refused() {
        let typo = r#"{"token_url": "https://t/", "client_id": "a", "scopes": "x"}"#;
        assert!(serde_json::from_str::<AuthConfig>(typo).is_err());
        let method =
            r#"{"token_url": "https://t/", "client_id": "a", "method": "tls_client_auth"}"#;
        assert!(serde_json::from_str::<AuthConfig>(method).is_err());
    }
}
