//! Configuration: defaults, then an optional TOML file, then `DEVIDP__*` environment variables
//! (`__` separates sections). Validated before anything binds a port, so a mistake is reported
//! with the key that holds it (exit 64 in the binary).
//!
//! The layout mirrors what an Auth0 tenant holds: APIs (`[[api]]`, Auth0 "resource servers"),
//! applications (`[[client]]`) and the client grants that authorise an application for an API
//! (`[[client.grant]]`).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use jsonwebtoken::DecodingKey;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// Prefix of the environment variables that override the file (`DEVIDP__ADMIN_TOKEN=…`).
pub const ENV_PREFIX: &str = "DEVIDP__";
/// The configuration file, when `--config` is not given.
pub const ENV_CONFIG: &str = "DEVIDP_CONFIG";

/// Auth0 refuses token lifetimes above 30 days; so do we.
const MAX_TOKEN_LIFETIME_SECS: u64 = 30 * 24 * 3600;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the issuer listens. Port 0 picks a free port (tests).
    pub listen: SocketAddr,
    /// The `iss` of every token, with a trailing slash as Auth0 writes it. When unset it is
    /// `http://<bound address>/`, which is `http://127.0.0.1:8090/` with the default `listen`.
    #[serde(default)]
    pub issuer: Option<String>,
    /// `expires_in` of machine tokens, and the default for user tokens.
    pub token_lifetime_secs: u64,
    /// Signing keys (PKCS#8 PEM, mode 0600) and `keys.json`, which says which key signs and which
    /// are published. Created on first start and reused afterwards.
    pub keys_dir: PathBuf,
    /// Bearer secret of the `/admin/*` endpoints; when unset they answer 404.
    #[serde(default)]
    pub admin_token: Option<SecretString>,
    /// Enables `POST /admin/tokens` (user tokens minted on request, for tests).
    pub allow_user_tokens: bool,
    #[serde(default)]
    pub api: Vec<ApiConfig>,
    #[serde(default)]
    pub client: Vec<ClientConfig>,
}

/// An API (Auth0 "resource server"): its identifier is the `audience` of its tokens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    pub identifier: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Auth0's "Enable RBAC" with "Add Permissions in the Access Token": tokens also carry the
    /// granted scopes as a `permissions` array.
    #[serde(default)]
    pub rbac_permissions: bool,
}

/// An application allowed to ask for tokens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    pub name: String,
    pub client_id: String,
    /// For `client_secret_post` and `client_secret_basic`. Never logged.
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    /// For `private_key_jwt`: the client's RSA public key (SubjectPublicKeyInfo or PKCS#1 PEM).
    #[serde(default)]
    pub public_key_file: Option<PathBuf>,
    /// The one way this client authenticates, as Auth0's application setting of that name.
    #[serde(default)]
    pub token_endpoint_auth_method: AuthMethod,
    /// Auth0 Organizations: tokens of this client carry this `org_id`.
    #[serde(default)]
    pub org_id: Option<String>,
    /// Auth0's "grant types" of the application; without `client_credentials` a token request
    /// is refused with `unauthorized_client`.
    #[serde(default = "default_grant_types")]
    pub grant_types: Vec<String>,
    /// Client grants: which APIs this client may call, with which scopes.
    #[serde(default)]
    pub grant: Vec<GrantConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantConfig {
    pub audience: String,
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// How a client proves who it is at the token endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// `client_id` and `client_secret` in the body (Auth0's default for machine apps).
    #[default]
    ClientSecretPost,
    /// HTTP Basic with the client id and secret.
    ClientSecretBasic,
    /// A JWT signed with the client's private key (RFC 7523).
    PrivateKeyJwt,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

fn default_grant_types() -> Vec<String> {
    vec!["client_credentials".to_owned()]
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {} does not exist", .0.display())]
    MissingFile(PathBuf),
    /// figment's message names the key and where its value came from.
    #[error("{0}")]
    Unreadable(Box<figment::Error>),
    #[error("{key}: {reason}")]
    Invalid { key: String, reason: String },
}

fn invalid(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        reason: reason.into(),
    }
}

#[derive(Serialize)]
struct Defaults {
    listen: &'static str,
    token_lifetime_secs: u64,
    keys_dir: &'static str,
    allow_user_tokens: bool,
}

fn defaults() -> Defaults {
    Defaults {
        listen: "127.0.0.1:8090",
        token_lifetime_secs: 86_400,
        keys_dir: ".devstack/dev-idp/keys",
        allow_user_tokens: false,
    }
}

impl Config {
    /// Reads defaults, then `file` (if any), then `DEVIDP__*` variables, and validates the result
    /// (public key files of `private_key_jwt` clients are read here).
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(defaults()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError::MissingFile(file.to_owned()));
            }
            figment = figment.merge(Toml::file(file));
        }
        Self::extract(figment.merge(Env::prefixed(ENV_PREFIX).split("__")))
    }

    /// Defaults, then `toml`, without looking at the environment: for tests and for embedding.
    pub fn from_toml(toml: &str) -> Result<Self, ConfigError> {
        Self::extract(Figment::from(Serialized::defaults(defaults())).merge(Toml::string(toml)))
    }

    fn extract(figment: Figment) -> Result<Self, ConfigError> {
        let config: Config = figment
            .extract()
            .map_err(|err| ConfigError::Unreadable(Box::new(err)))?;
        config.validate()?;
        Ok(config)
    }

    /// The issuer for a listener bound at `addr`: the configured one, or `http://<addr>/`.
    pub fn issuer_for(&self, addr: SocketAddr) -> String {
        match &self.issuer {
            Some(issuer) => issuer.clone(),
            None => format!("http://{addr}/"),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(issuer) = &self.issuer {
            validate_issuer(issuer)?;
        }
        if self.token_lifetime_secs == 0 || self.token_lifetime_secs > MAX_TOKEN_LIFETIME_SECS {
            return Err(invalid(
                "token_lifetime_secs",
                format!("must be between 1 and {MAX_TOKEN_LIFETIME_SECS}"),
            ));
        }
        if let Some(token) = &self.admin_token {
            if token.expose_secret().trim().is_empty() {
                return Err(invalid(
                    "admin_token",
                    "must not be empty (leave it unset to disable /admin)",
                ));
            }
        }
        let mut identifiers = HashSet::new();
        for (i, api) in self.api.iter().enumerate() {
            let key = format!("api[{i}]");
            if api.identifier.trim().is_empty() {
                return Err(invalid(format!("{key}.identifier"), "must not be empty"));
            }
            if !identifiers.insert(api.identifier.as_str()) {
                return Err(invalid(
                    format!("{key}.identifier"),
                    format!("{} is configured twice", api.identifier),
                ));
            }
            for scope in &api.scopes {
                if scope.is_empty() || scope.contains(char::is_whitespace) {
                    return Err(invalid(
                        format!("{key}.scopes"),
                        format!("{scope:?} is not a scope (no spaces, not empty)"),
                    ));
                }
            }
        }
        let mut client_ids = HashSet::new();
        for (i, client) in self.client.iter().enumerate() {
            let key = format!("client[{i}]");
            if client.client_id.is_empty()
                || client
                    .client_id
                    .contains(|c: char| c.is_whitespace() || c == ':')
            {
                return Err(invalid(
                    format!("{key}.client_id"),
                    "must be non-empty, without spaces or ':'",
                ));
            }
            if !client_ids.insert(client.client_id.as_str()) {
                return Err(invalid(
                    format!("{key}.client_id"),
                    format!("{} is configured twice", client.client_id),
                ));
            }
            self.validate_credentials(&key, client)?;
            if let Some(org) = &client.org_id {
                if org.is_empty() || org.contains(char::is_whitespace) {
                    return Err(invalid(format!("{key}.org_id"), "must be a non-empty id"));
                }
            }
            self.validate_grants(&key, client)?;
        }
        Ok(())
    }

    fn validate_credentials(&self, key: &str, client: &ClientConfig) -> Result<(), ConfigError> {
        let method = client.token_endpoint_auth_method.as_str();
        match client.token_endpoint_auth_method {
            AuthMethod::ClientSecretPost | AuthMethod::ClientSecretBasic => {
                if client
                    .client_secret
                    .as_ref()
                    .is_none_or(|s| s.expose_secret().is_empty())
                {
                    return Err(invalid(
                        format!("{key}.client_secret"),
                        format!("required when token_endpoint_auth_method is {method}"),
                    ));
                }
                if client.public_key_file.is_some() {
                    return Err(invalid(
                        format!("{key}.public_key_file"),
                        format!("not used with token_endpoint_auth_method {method}"),
                    ));
                }
            }
            AuthMethod::PrivateKeyJwt => {
                let Some(path) = &client.public_key_file else {
                    return Err(invalid(
                        format!("{key}.public_key_file"),
                        "required when token_endpoint_auth_method is private_key_jwt",
                    ));
                };
                if client.client_secret.is_some() {
                    return Err(invalid(
                        format!("{key}.client_secret"),
                        "not used with token_endpoint_auth_method private_key_jwt",
                    ));
                }
                read_public_key(path)
                    .map_err(|reason| invalid(format!("{key}.public_key_file"), reason))?;
            }
        }
        Ok(())
    }

    fn validate_grants(&self, key: &str, client: &ClientConfig) -> Result<(), ConfigError> {
        let mut audiences = HashSet::new();
        for (j, grant) in client.grant.iter().enumerate() {
            let gkey = format!("{key}.grant[{j}]");
            let Some(api) = self.api.iter().find(|a| a.identifier == grant.audience) else {
                return Err(invalid(
                    format!("{gkey}.audience"),
                    format!("{} is not the identifier of any [[api]]", grant.audience),
                ));
            };
            if !audiences.insert(grant.audience.as_str()) {
                return Err(invalid(
                    format!("{gkey}.audience"),
                    "the client already has a grant for this audience",
                ));
            }
            if let Some(unknown) = grant.scopes.iter().find(|s| !api.scopes.contains(s)) {
                return Err(invalid(
                    format!("{gkey}.scopes"),
                    format!("{unknown} is not a scope of {}", api.identifier),
                ));
            }
        }
        Ok(())
    }
}

fn validate_issuer(issuer: &str) -> Result<(), ConfigError> {
    let url = url::Url::parse(issuer).map_err(|err| invalid("issuer", err.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid("issuer", "must be an http(s) URL"));
    }
    if !issuer.ends_with('/') {
        return Err(invalid(
            "issuer",
            "must end with '/', as Auth0 issuers do (https://tenant.auth0.com/)",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("issuer", "must not have a query or fragment"));
    }
    Ok(())
}

/// Reads a client's public key for `private_key_jwt`. The error says what is wrong, not the key.
pub fn read_public_key(path: &Path) -> Result<DecodingKey, String> {
    let pem = std::fs::read(path).map_err(|err| format!("reading {}: {err}", path.display()))?;
    DecodingKey::from_rsa_pem(&pem)
        .map_err(|err| format!("{} is not an RSA public key PEM: {err}", path.display()))
}

#[cfg(test)]
mod tests;
