//! What every handler shares: the tenant (APIs and clients, as loaded from the configuration),
//! the keys, the counters, the fault switches and the assertion replay cache.

use std::collections::HashMap;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use jsonwebtoken::DecodingKey;
use secrecy::SecretString;
use service_config::{ConfigError, Issues};

use crate::assertion::ReplayCache;
use crate::config::Config;
use crate::fault::Faults;
use crate::keys::KeyManager;
use crate::stats::Stats;
use crate::tenant::{read_public_key, AuthMethod};

/// An API, by its identifier (the audience).
#[derive(Debug, Clone)]
pub struct Api {
    pub identifier: String,
    pub scopes: Vec<String>,
    pub rbac_permissions: bool,
}

/// What a client proves itself with.
pub enum Credential {
    Secret(SecretString),
    PublicKey(Box<DecodingKey>),
}

pub struct Client {
    pub name: String,
    pub client_id: String,
    pub method: AuthMethod,
    pub credential: Credential,
    pub org_id: Option<String>,
    pub grant_types: Vec<String>,
    /// Granted scopes per audience, in configuration order.
    pub grants: HashMap<String, Vec<String>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.client_id)
            .field("method", &self.method)
            .field("org_id", &self.org_id)
            .finish_non_exhaustive()
    }
}

/// The configured tenant, indexed for lookups.
#[derive(Debug, Default)]
pub struct Registry {
    apis: HashMap<String, Api>,
    clients: HashMap<String, Client>,
}

impl Registry {
    /// Builds the lookup tables; reads the public keys of `private_key_jwt` clients (again: the
    /// file may have changed since the configuration was checked).
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let apis = config
            .api
            .iter()
            .map(|a| {
                let api = Api {
                    identifier: a.identifier.clone(),
                    scopes: a.scopes.clone(),
                    rbac_permissions: a.rbac_permissions,
                };
                (a.identifier.clone(), api)
            })
            .collect();
        let mut issues = Issues::default();
        let mut clients = HashMap::new();
        for (i, c) in config.client.iter().enumerate() {
            let credential = match (&c.client_secret, &c.public_key_file) {
                (Some(secret), _) => Credential::Secret(secret.clone()),
                (None, Some(path)) => match read_public_key(path) {
                    Ok(key) => Credential::PublicKey(Box::new(key)),
                    Err(reason) => {
                        issues.push(format!("client[{i}].public_key_file"), reason);
                        continue;
                    }
                },
                (None, None) => {
                    issues.push(
                        format!("client[{i}]"),
                        "has neither client_secret nor public_key_file",
                    );
                    continue;
                }
            };
            let client = Client {
                name: c.name.clone(),
                client_id: c.client_id.clone(),
                method: c.token_endpoint_auth_method,
                credential,
                org_id: c.org_id.clone(),
                grant_types: c.grant_types.clone(),
                grants: c
                    .grant
                    .iter()
                    .map(|g| (g.audience.clone(), g.scopes.clone()))
                    .collect(),
            };
            clients.insert(c.client_id.clone(), client);
        }
        issues.into_result(Self { apis, clients })
    }

    pub fn api(&self, identifier: &str) -> Option<&Api> {
        self.apis.get(identifier)
    }

    pub fn client(&self, client_id: &str) -> Option<&Client> {
        self.clients.get(client_id)
    }

    /// Every scope of every API, sorted (for discovery's `scopes_supported`).
    pub fn all_scopes(&self) -> Vec<String> {
        let mut scopes: Vec<String> = self
            .apis
            .values()
            .flat_map(|a| a.scopes.iter().cloned())
            .collect();
        scopes.sort();
        scopes.dedup();
        scopes
    }
}

/// The issuer's URLs, derived once from its `iss`.
#[derive(Debug, Clone)]
pub struct Urls {
    /// With the trailing slash.
    pub issuer: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

impl Urls {
    pub fn new(issuer: &str) -> Self {
        let base = issuer.trim_end_matches('/');
        Self {
            issuer: format!("{base}/"),
            token_endpoint: format!("{base}/oauth/token"),
            jwks_uri: format!("{base}/.well-known/jwks.json"),
        }
    }
}

#[derive(Debug)]
pub struct Inner {
    pub registry: Registry,
    pub keys: KeyManager,
    pub urls: Urls,
    pub token_lifetime_secs: u64,
    pub admin_token: Option<SecretString>,
    pub allow_user_tokens: bool,
    pub stats: Stats,
    pub faults: Faults,
    pub replay: ReplayCache,
}

/// The state handed to every handler (cheap to clone).
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

impl AppState {
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}
