//! The tenant dev-idp stands in for, as its configuration describes it: APIs (`[[api]]`, Auth0
//! "resource servers"), applications (`[[client]]`) and the client grants that authorise an
//! application for an API (`[[client.grant]]`), with the rules that hold across them.
//!
//! What it is not: the lookup tables handlers use (`state::Registry`, built from these sections).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use jsonwebtoken::DecodingKey;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use service_config::Issues;

/// `[[api]]`: an API (Auth0 "resource server"); its identifier is the `audience` of its tokens.
#[derive(Debug, Clone, Deserialize, garde::Validate)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    #[garde(custom(word))]
    pub identifier: String,
    #[serde(default)]
    #[garde(inner(custom(word)))]
    pub scopes: Vec<String>,
    /// Auth0's "Enable RBAC" with "Add Permissions in the Access Token": tokens also carry the
    /// granted scopes as a `permissions` array.
    #[serde(default)]
    #[garde(skip)]
    pub rbac_permissions: bool,
}

/// `[[client]]`: an application allowed to ask for tokens.
#[derive(Debug, Clone, Deserialize, garde::Validate)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    #[garde(skip)]
    pub name: String,
    #[garde(custom(client_id_rule))]
    pub client_id: String,
    /// For `client_secret_post` and `client_secret_basic`. Never logged.
    #[serde(default)]
    #[garde(skip)]
    pub client_secret: Option<SecretString>,
    /// For `private_key_jwt`: the client's RSA public key (SubjectPublicKeyInfo or PKCS#1 PEM).
    #[serde(default)]
    #[garde(skip)]
    pub public_key_file: Option<PathBuf>,
    /// The one way this client authenticates, as Auth0's application setting of that name.
    #[serde(default)]
    #[garde(skip)]
    pub token_endpoint_auth_method: AuthMethod,
    /// Auth0 Organizations: tokens of this client carry this `org_id`.
    #[serde(default)]
    #[garde(custom(optional_word))]
    pub org_id: Option<String>,
    /// Auth0's "grant types" of the application; without `client_credentials` a token request
    /// is refused with `unauthorized_client`.
    #[serde(default = "default_grant_types")]
    #[garde(skip)]
    pub grant_types: Vec<String>,
    /// Client grants: which APIs this client may call, with which scopes.
    #[serde(default)]
    #[garde(dive)]
    pub grant: Vec<GrantConfig>,
}

/// `[[client.grant]]`: the client may ask for tokens for `audience`, with these of its scopes.
/// Whether they name a configured API and its scopes is a rule across sections ([`check`]).
#[derive(Debug, Clone, Deserialize, garde::Validate)]
#[serde(deny_unknown_fields)]
pub struct GrantConfig {
    #[garde(skip)]
    pub audience: String,
    #[serde(default)]
    #[garde(skip)]
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

/// The rules across `[[api]]` and `[[client]]`: identifiers and client ids unique, each client
/// holding the credential its method needs and no other (a public key file is read here, so that
/// `check-config` finds a bad one), each grant naming a configured API, once, and only its scopes.
pub fn check(apis: &[ApiConfig], clients: &[ClientConfig], issues: &mut Issues) {
    let identifiers = apis.iter().map(|a| a.identifier.as_str());
    no_repeats(identifiers, |i| format!("api[{i}].identifier"), issues);
    let client_ids = clients.iter().map(|c| c.client_id.as_str());
    no_repeats(client_ids, |i| format!("client[{i}].client_id"), issues);
    for (i, client) in clients.iter().enumerate() {
        let key = format!("client[{i}]");
        check_credential(&key, client, issues);
        check_grants(&key, client, apis, issues);
    }
}

/// The credential the client's method needs is there, and the other one is not.
fn check_credential(key: &str, client: &ClientConfig, issues: &mut Issues) {
    let method = client.token_endpoint_auth_method;
    let has_secret = client
        .client_secret
        .as_ref()
        .is_some_and(|s| !s.expose_secret().is_empty());
    let has_key = client.public_key_file.is_some();
    let (has_needed, needed, has_other, other) = match method {
        AuthMethod::PrivateKeyJwt => (has_key, "public_key_file", has_secret, "client_secret"),
        _ => (has_secret, "client_secret", has_key, "public_key_file"),
    };
    let name = method.as_str();
    if !has_needed {
        let message = format_args!("required when token_endpoint_auth_method is {name}");
        issues.push(format!("{key}.{needed}"), message);
    }
    if has_other {
        let message = format_args!("not used with token_endpoint_auth_method {name}");
        issues.push(format!("{key}.{other}"), message);
    }
    if let (AuthMethod::PrivateKeyJwt, Some(path)) = (method, &client.public_key_file) {
        if let Err(reason) = read_public_key(path) {
            issues.push(format!("{key}.public_key_file"), reason);
        }
    }
}

/// Each grant names a configured API, once, and only scopes that API defines.
fn check_grants(key: &str, client: &ClientConfig, apis: &[ApiConfig], issues: &mut Issues) {
    let audiences = client.grant.iter().map(|g| g.audience.as_str());
    no_repeats(audiences, |j| format!("{key}.grant[{j}].audience"), issues);
    for (j, grant) in client.grant.iter().enumerate() {
        let key = format!("{key}.grant[{j}]");
        let Some(api) = apis.iter().find(|a| a.identifier == grant.audience) else {
            let message = format_args!("{} is not the identifier of any [[api]]", grant.audience);
            issues.push(format!("{key}.audience"), message);
            continue;
        };
        for scope in grant.scopes.iter().filter(|s| !api.scopes.contains(s)) {
            let message = format_args!("{scope} is not a scope of {}", api.identifier);
            issues.push(format!("{key}.scopes"), message);
        }
    }
}

/// An issue, keyed by `key(index)`, for each value already seen earlier in `values`.
fn no_repeats<'a>(
    values: impl Iterator<Item = &'a str>,
    key: impl Fn(usize) -> String,
    issues: &mut Issues,
) {
    let mut seen = HashSet::new();
    for (i, value) in values.enumerate() {
        if !seen.insert(value) {
            issues.push(key(i), format_args!("{value} is configured twice"));
        }
    }
}

/// Reads a client's public key for `private_key_jwt`. The error says what is wrong, not the key.
pub fn read_public_key(path: &Path) -> Result<DecodingKey, String> {
    let pem = std::fs::read(path).map_err(|err| format!("reading {}: {err}", path.display()))?;
    DecodingKey::from_rsa_pem(&pem)
        .map_err(|err| format!("{} is not an RSA public key PEM: {err}", path.display()))
}

/// Identifiers and scopes travel space-separated (`scope`) or as one form value each.
fn word(value: &str, _: &()) -> garde::Result {
    if value.is_empty() || value.contains(char::is_whitespace) {
        return Err(garde::Error::new("must be non-empty, without spaces"));
    }
    Ok(())
}

fn optional_word(value: &Option<String>, context: &()) -> garde::Result {
    value.as_deref().map_or(Ok(()), |v| word(v, context))
}

/// Client ids travel in HTTP Basic credentials too, where ':' ends the id.
fn client_id_rule(id: &str, context: &()) -> garde::Result {
    if id.contains(':') {
        return Err(garde::Error::new("must not contain ':'"));
    }
    word(id, context)
}
