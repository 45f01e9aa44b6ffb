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
    #[garde(custom(not_blank))]
    pub identifier: String,
    #[serde(default)]
    #[garde(inner(custom(scope_name)))]
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
    #[garde(custom(org_id_rule))]
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
    let mut identifiers = HashSet::new();
    for (i, api) in apis.iter().enumerate() {
        if !identifiers.insert(api.identifier.as_str()) {
            issues.push(
                format!("api[{i}].identifier"),
                format_args!("{} is configured twice", api.identifier),
            );
        }
    }
    let mut client_ids = HashSet::new();
    for (i, client) in clients.iter().enumerate() {
        let key = format!("client[{i}]");
        if !client_ids.insert(client.client_id.as_str()) {
            issues.push(
                format!("{key}.client_id"),
                format_args!("{} is configured twice", client.client_id),
            );
        }
        check_credential(&key, client, issues);
        check_grants(&key, client, apis, issues);
    }
}

fn check_credential(key: &str, client: &ClientConfig, issues: &mut Issues) {
    let method = client.token_endpoint_auth_method.as_str();
    let secret = format!("{key}.client_secret");
    let public_key = format!("{key}.public_key_file");
    match client.token_endpoint_auth_method {
        AuthMethod::ClientSecretPost | AuthMethod::ClientSecretBasic => {
            if client
                .client_secret
                .as_ref()
                .is_none_or(|s| s.expose_secret().is_empty())
            {
                issues.push(
                    secret,
                    format_args!("required when token_endpoint_auth_method is {method}"),
                );
            }
            if client.public_key_file.is_some() {
                issues.push(
                    public_key,
                    format_args!("not used with token_endpoint_auth_method {method}"),
                );
            }
        }
        AuthMethod::PrivateKeyJwt => {
            if client.client_secret.is_some() {
                issues.push(
                    secret,
                    "not used with token_endpoint_auth_method private_key_jwt",
                );
            }
            match &client.public_key_file {
                None => issues.push(
                    public_key,
                    "required when token_endpoint_auth_method is private_key_jwt",
                ),
                Some(path) => {
                    if let Err(reason) = read_public_key(path) {
                        issues.push(public_key, reason);
                    }
                }
            }
        }
    }
}

fn check_grants(key: &str, client: &ClientConfig, apis: &[ApiConfig], issues: &mut Issues) {
    let mut audiences = HashSet::new();
    for (j, grant) in client.grant.iter().enumerate() {
        let key = format!("{key}.grant[{j}]");
        let Some(api) = apis.iter().find(|a| a.identifier == grant.audience) else {
            issues.push(
                format!("{key}.audience"),
                format_args!("{} is not the identifier of any [[api]]", grant.audience),
            );
            continue;
        };
        if !audiences.insert(grant.audience.as_str()) {
            issues.push(
                format!("{key}.audience"),
                "the client already has a grant for this audience",
            );
        }
        let unknown: Vec<&str> = grant
            .scopes
            .iter()
            .filter(|s| !api.scopes.contains(s))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            issues.push(
                format!("{key}.scopes"),
                format_args!(
                    "not among the scopes of {}: {}",
                    api.identifier,
                    unknown.join(", ")
                ),
            );
        }
    }
}

/// Reads a client's public key for `private_key_jwt`. The error says what is wrong, not the key.
pub fn read_public_key(path: &Path) -> Result<DecodingKey, String> {
    let pem = std::fs::read(path).map_err(|err| format!("reading {}: {err}", path.display()))?;
    DecodingKey::from_rsa_pem(&pem)
        .map_err(|err| format!("{} is not an RSA public key PEM: {err}", path.display()))
}

fn not_blank(value: &str, _: &()) -> garde::Result {
    if value.trim().is_empty() {
        return Err(garde::Error::new("must not be empty"));
    }
    Ok(())
}

fn scope_name(scope: &str, _: &()) -> garde::Result {
    if scope.is_empty() || scope.contains(char::is_whitespace) {
        return Err(garde::Error::new(format!(
            "{scope:?} is not a scope (no spaces, not empty)"
        )));
    }
    Ok(())
}

/// Client ids travel in HTTP Basic credentials, where ':' ends the id.
fn client_id_rule(id: &str, _: &()) -> garde::Result {
    if id.is_empty() || id.contains(|c: char| c.is_whitespace() || c == ':') {
        return Err(garde::Error::new(
            "must be non-empty, without spaces or ':'",
        ));
    }
    Ok(())
}

fn org_id_rule(org: &Option<String>, _: &()) -> garde::Result {
    match org {
        Some(org) if org.is_empty() || org.contains(char::is_whitespace) => {
            Err(garde::Error::new("must be a non-empty id without spaces"))
        }
        _ => Ok(()),
    }
}
