//! Settings of the client, as serde structs an application embeds in its own configuration file
//! (for example under `[api]` and `[auth]` of a TOML file), with garde rules on their fields so
//! that an application's configuration layer reports a bad value with its key. Every field but
//! the URLs and the client id has a default; durations are humantime strings (`"10s"`,
//! `"500ms"`). What needs files or the network (a readable key, usable CA certificates) is
//! checked when the client is built, with a [`ConfigError`] naming the key.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

/// Everything the [`ApiClient`](crate::ApiClient) needs.
#[derive(Debug, Clone, Deserialize, garde::Validate)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The gateway, e.g. `https://127.0.0.1:8443`. API paths (`/v1/...`) are resolved against it.
    #[garde(custom(http_url))]
    pub base_url: Url,
    /// A PEM file of extra trusted CA certificates (the development gateway's own CA); the
    /// public web roots stay trusted.
    #[serde(default)]
    #[garde(skip)]
    pub ca_cert: Option<PathBuf>,
    /// Whole-request timeout, connection included.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    #[garde(custom(positive))]
    pub timeout: Duration,
    #[serde(default = "default_connect_timeout", with = "humantime_serde")]
    #[garde(custom(positive))]
    pub connect_timeout: Duration,
    #[serde(default)]
    #[garde(dive)]
    pub retry: RetryConfig,
    #[garde(dive)]
    pub auth: AuthConfig,
}

/// How failed requests are repeated (API and token endpoint alike); see [`crate::retry`].
#[derive(Debug, Clone, Deserialize, garde::Validate)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Attempts in all, the first included; 1 turns retries off.
    #[garde(range(min = 1, max = 100))]
    pub max_attempts: u32,
    /// The backoff ceiling of the first retry; it doubles with each retry.
    #[serde(with = "humantime_serde")]
    #[garde(skip)]
    pub base_delay: Duration,
    #[serde(with = "humantime_serde")]
    #[garde(custom(at_least(self.base_delay, "retry.base_delay")))]
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; a server asking for more gets this.
    #[serde(with = "humantime_serde")]
    #[garde(skip)]
    pub retry_after_cap: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            retry_after_cap: Duration::from_secs(120),
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
///
/// Its garde rules refuse settings that contradict each other: a secret with `private_key_jwt`,
/// a private key with a secret method, a key given both inline and as a file. Whether the
/// method's secret or key is there at all is checked when the client is built, so that an
/// application can read its configuration without credentials (to show a status, say).
#[derive(Debug, Clone, Deserialize, garde::Validate)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// E.g. `https://tenant.auth0.com/oauth/token`.
    #[garde(custom(http_url))]
    pub token_url: Url,
    #[garde(length(min = 1))]
    pub client_id: String,
    /// See [`AuthConfig::method`] for the default.
    #[serde(default)]
    #[garde(skip)]
    pub method: Option<AuthMethod>,
    /// For `client_secret_post` and `client_secret_basic`.
    #[serde(default)]
    #[garde(custom(unused_if(self.method() == AuthMethod::PrivateKeyJwt, SECRET_WITH_KEY)))]
    pub client_secret: Option<SecretString>,
    /// For `private_key_jwt`: a PEM file holding an RSA (signs RS256) or P-256 (ES256) key.
    #[serde(default)]
    #[garde(custom(unused_if(self.method() != AuthMethod::PrivateKeyJwt, KEY_WITH_SECRET)))]
    pub private_key_file: Option<PathBuf>,
    /// For `private_key_jwt`, the same PEM given inline (e.g. from a secret store) instead.
    #[serde(default)]
    #[garde(
        custom(unused_if(self.method() != AuthMethod::PrivateKeyJwt, KEY_WITH_SECRET)),
        custom(unused_if(self.private_key_file.is_some(), INLINE_AND_FILE))
    )]
    pub private_key: Option<SecretString>,
    /// `kid` header of the client assertion, when the identity provider holds several keys.
    #[serde(default)]
    #[garde(skip)]
    pub kid: Option<String>,
    /// `aud` of the client assertion. Auth0 wants the tenant URL with its trailing slash;
    /// default: the token URL's origin followed by `/`.
    #[serde(default)]
    #[garde(skip)]
    pub assertion_audience: Option<String>,
    /// Auth0's `audience` parameter (the API identifier).
    #[serde(default)]
    #[garde(skip)]
    pub audience: Option<String>,
    /// RFC 8707 `resource` parameter, for identity providers that use it instead of `audience`.
    #[serde(default)]
    #[garde(skip)]
    pub resource: Option<String>,
    /// Space-separated scopes to ask for; none means the grant's defaults.
    #[serde(default)]
    #[garde(skip)]
    pub scope: Option<String>,
    /// Where a token is kept between runs, so that scheduled runs reuse it (Auth0 counts
    /// issued machine tokens against a quota).
    #[serde(default)]
    #[garde(skip)]
    pub token_cache_file: Option<PathBuf>,
    /// A token is renewed this long before it expires (at most half its lifetime).
    #[serde(default = "default_refresh_margin", with = "humantime_serde")]
    #[garde(skip)]
    pub refresh_margin: Duration,
    /// Timeout of one token request.
    #[serde(default = "default_token_timeout", with = "humantime_serde")]
    #[garde(custom(positive))]
    pub timeout: Duration,
    /// Extra trusted CA certificates (PEM) for the token endpoint.
    #[serde(default)]
    #[garde(skip)]
    pub ca_cert: Option<PathBuf>,
}

impl AuthConfig {
    /// A client-secret configuration with every optional field at its default: a start for
    /// code (and tests) that build the settings rather than read them.
    pub fn new(token_url: Url, client_id: impl Into<String>) -> Self {
        Self {
            token_url,
            client_id: client_id.into(),
            method: None,
            client_secret: None,
            private_key_file: None,
            private_key: None,
            kid: None,
            assertion_audience: None,
            audience: None,
            resource: None,
            scope: None,
            token_cache_file: None,
            refresh_margin: default_refresh_margin(),
            timeout: default_token_timeout(),
            ca_cert: None,
        }
    }

    /// The method in effect: `method` when set, else `private_key_jwt` when a private key is
    /// given and `client_secret_post` otherwise.
    pub fn method(&self) -> AuthMethod {
        self.method.unwrap_or(
            if self.private_key_file.is_some() || self.private_key.is_some() {
                AuthMethod::PrivateKeyJwt
            } else {
                AuthMethod::ClientSecretPost
            },
        )
    }
}

impl Config {
    /// Settings with every optional field at its default.
    pub fn new(base_url: Url, auth: AuthConfig) -> Self {
        Self {
            base_url,
            ca_cert: None,
            timeout: default_timeout(),
            connect_timeout: default_connect_timeout(),
            retry: RetryConfig::default(),
            auth,
        }
    }

    /// The request and connect timeouts; zero is refused, as it would fail every request.
    pub(crate) fn timeouts(&self) -> Result<(Duration, Duration), ConfigError> {
        if self.timeout.is_zero() {
            return Err(ConfigError::invalid("timeout", "must be positive"));
        }
        if self.connect_timeout.is_zero() {
            return Err(ConfigError::invalid("connect_timeout", "must be positive"));
        }
        Ok((self.timeout, self.connect_timeout))
    }
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

fn default_connect_timeout() -> Duration {
    Duration::from_secs(5)
}

fn default_refresh_margin() -> Duration {
    Duration::from_secs(60)
}

fn default_token_timeout() -> Duration {
    Duration::from_secs(10)
}

// === garde rules ===

/// An absolute `http` or `https` URL with a host.
fn http_url(url: &Url, _: &()) -> garde::Result {
    if matches!(url.scheme(), "http" | "https") && url.has_host() {
        Ok(())
    } else {
        Err(garde::Error::new("must be an absolute http(s) URL"))
    }
}

/// A duration above zero: a zero timeout would fail every request.
fn positive(value: &Duration, _: &()) -> garde::Result {
    if value.is_zero() {
        Err(garde::Error::new("must be more than zero"))
    } else {
        Ok(())
    }
}

/// At least `floor`, which is the value of `floor_key`.
fn at_least(floor: Duration, floor_key: &str) -> impl FnOnce(&Duration, &()) -> garde::Result + '_ {
    move |value, ()| {
        if *value < floor {
            Err(garde::Error::new(format!("must be at least {floor_key}")))
        } else {
            Ok(())
        }
    }
}

const SECRET_WITH_KEY: &str =
    "is not used with method = \"private_key_jwt\" (give a client secret or a private key, not both)";
const KEY_WITH_SECRET: &str = "is used only with method = \"private_key_jwt\"";
const INLINE_AND_FILE: &str = "give private_key or private_key_file, not both";

/// A setting that must be absent when `unused` holds, for the reason `why`.
fn unused_if<T>(unused: bool, why: &'static str) -> impl FnOnce(&Option<T>, &()) -> garde::Result {
    move |value, ()| match value {
        Some(_) if unused => Err(garde::Error::new(why)),
        _ => Ok(()),
    }
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

    fn auth(json: &str) -> AuthConfig {
        serde_json::from_str(json).unwrap()
    }

    /// The keys garde blames.
    fn refused(value: &impl garde::Validate<Context = ()>) -> Vec<String> {
        let mut keys: Vec<String> = match value.validate() {
            Ok(()) => Vec::new(),
            Err(report) => report.iter().map(|(path, _)| path.to_string()).collect(),
        };
        keys.sort();
        keys
    }

    #[test]
    fn a_minimal_config_gets_the_documented_defaults() {
        let json = r#"{
            "base_url": "https://127.0.0.1:8443",
            "auth": {"token_url": "https://tenant.auth0.com/oauth/token", "client_id": "abc",
                     "client_secret": "s3cret", "audience": "https://api.exampleco.com/timesheets"}
        }"#;
        let config: Config = serde_json::from_str(json).unwrap();
        assert_eq!(config.retry.max_attempts, 5);
        assert_eq!(config.retry.retry_after_cap, Duration::from_secs(120));
        assert_eq!(config.auth.method(), AuthMethod::ClientSecretPost);
        assert_eq!(config.auth.refresh_margin, Duration::from_secs(60));
        assert!(config.auth.token_cache_file.is_none());
        assert!(refused(&config).is_empty());
    }

    #[test]
    fn durations_are_read_as_humantime() {
        let auth = auth(
            r#"{"token_url": "https://t/oauth/token", "client_id": "abc",
                "timeout": "1500ms", "refresh_margin": "2m"}"#,
        );
        assert_eq!(auth.timeout, Duration::from_millis(1500));
        assert_eq!(auth.refresh_margin, Duration::from_secs(120));
    }

    #[test]
    fn debug_output_hides_the_client_secret() {
        let auth = auth(
            r#"{"token_url": "https://t/oauth/token", "client_id": "abc",
                "client_secret": "s3cret-value", "method": "client_secret_basic"}"#,
        );
        assert!(!format!("{auth:?}").contains("s3cret-value"));
        assert_eq!(auth.method(), AuthMethod::ClientSecretBasic);
    }

    #[test]
    fn unknown_keys_and_methods_are_refused() {
        let typo = r#"{"token_url": "https://t/", "client_id": "a", "scopes": "x"}"#;
        assert!(serde_json::from_str::<AuthConfig>(typo).is_err());
        let method =
            r#"{"token_url": "https://t/", "client_id": "a", "method": "tls_client_auth"}"#;
        assert!(serde_json::from_str::<AuthConfig>(method).is_err());
    }

    #[test]
    fn a_private_key_makes_private_key_jwt_the_default_method() {
        let with_key =
            auth(r#"{"token_url": "https://t/", "client_id": "a", "private_key_file": "k.pem"}"#);
        assert_eq!(with_key.method(), AuthMethod::PrivateKeyJwt);
        assert!(refused(&with_key).is_empty());
    }

    #[test]
    fn settings_that_contradict_the_method_are_refused_by_key() {
        let both = auth(
            r#"{"token_url": "https://t/", "client_id": "a",
                "client_secret": "s", "private_key_file": "k.pem"}"#,
        );
        assert_eq!(refused(&both), ["client_secret"]);
        let key_with_secret_method = auth(
            r#"{"token_url": "https://t/", "client_id": "a",
                "method": "client_secret_basic", "private_key_file": "k.pem"}"#,
        );
        assert_eq!(refused(&key_with_secret_method), ["private_key_file"]);
        let inline_and_file = auth(
            r#"{"token_url": "https://t/", "client_id": "a",
                "private_key": "pem", "private_key_file": "k.pem"}"#,
        );
        assert_eq!(refused(&inline_and_file), ["private_key"]);
    }

    #[test]
    fn bad_values_are_refused_by_key() {
        let bad = auth(r#"{"token_url": "ftp://t/", "client_id": "", "timeout": "0s"}"#);
        assert_eq!(refused(&bad), ["client_id", "timeout", "token_url"]);
        let retry: RetryConfig =
            serde_json::from_str(r#"{"max_attempts": 0, "base_delay": "1s", "max_delay": "10ms"}"#)
                .unwrap();
        assert_eq!(refused(&retry), ["max_attempts", "max_delay"]);
    }
}
