//! One token request (RFC 6749 §4.4, client credentials) and how the client authenticates in it:
//! `client_secret_post`, `client_secret_basic` (§2.3.1) or `private_key_jwt` (RFC 7523 §2.2).
//!
//! The body is built by hand with `form_urlencoded` so that exactly the fields the identity
//! provider documents are sent, and the secret leaves its `SecretString` only to be written
//! into the request.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::form_urlencoded;
use url::Url;

use super::TokenError;
use crate::config::{http_client, AuthConfig, AuthMethod, ConfigError};
use crate::retry::{parse_retry_after, Step};

/// RFC 7523 §2.2.
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Lifetime of a client assertion: long enough for clock skew, short enough that a captured
/// one is soon useless (the identity provider also refuses a `jti` it has seen).
const ASSERTION_LIFETIME: Duration = Duration::from_secs(60);

/// How the client proves who it is.
enum ClientAuth {
    SecretPost(SecretString),
    SecretBasic(SecretString),
    PrivateKeyJwt(AssertionSigner),
}

/// Signs client assertions. The key never leaves it, and it has no `Debug` that could print it.
struct AssertionSigner {
    key: EncodingKey,
    algorithm: Algorithm,
    kid: Option<String>,
    audience: String,
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    jti: String,
    iat: u64,
    exp: u64,
}

/// The token endpoint, with everything a request to it needs.
pub(crate) struct TokenEndpoint {
    http: reqwest::Client,
    url: Url,
    client_id: String,
    auth: ClientAuth,
    audience: Option<String>,
    resource: Option<String>,
    scope: Option<String>,
}

impl std::fmt::Debug for TokenEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let method = match self.auth {
            ClientAuth::SecretPost(_) => "client_secret_post",
            ClientAuth::SecretBasic(_) => "client_secret_basic",
            ClientAuth::PrivateKeyJwt(_) => "private_key_jwt",
        };
        f.debug_struct("TokenEndpoint")
            .field("url", &self.url.as_str())
            .field("client_id", &self.client_id)
            .field("method", &method)
            .finish_non_exhaustive()
    }
}

/// A successful token response (Auth0: `access_token`, `token_type`, `expires_in`, `scope`).
#[derive(Deserialize)]
pub(crate) struct TokenGrant {
    pub access_token: SecretString,
    pub token_type: String,
    #[serde(default)]
    pub expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl TokenEndpoint {
    /// Checks the settings and loads the private key, if any. Fails on a missing secret or key,
    /// an unreadable key file, or a key that cannot sign RS256 or ES256.
    pub fn from_config(config: &AuthConfig) -> Result<Self, ConfigError> {
        if config.client_id.is_empty() {
            return Err(ConfigError::invalid("auth.client_id", "must not be empty"));
        }
        let secret = || {
            config.client_secret.clone().ok_or_else(|| {
                ConfigError::invalid("auth.client_secret", "required by this auth method")
            })
        };
        let auth = match config.method() {
            AuthMethod::ClientSecretPost => ClientAuth::SecretPost(secret()?),
            AuthMethod::ClientSecretBasic => ClientAuth::SecretBasic(secret()?),
            AuthMethod::PrivateKeyJwt => ClientAuth::PrivateKeyJwt(AssertionSigner::load(config)?),
        };
        if config.timeout.is_zero() {
            return Err(ConfigError::invalid("auth.timeout", "must be positive"));
        }
        let http = http_client(
            config.timeout,
            config.timeout,
            config.ca_cert.as_ref(),
            "auth.ca_cert",
        )?;
        Ok(Self {
            http,
            url: config.token_url.clone(),
            client_id: config.client_id.clone(),
            auth,
            audience: config.audience.clone(),
            resource: config.resource.clone(),
            scope: config.scope.clone(),
        })
    }

    /// Sends one token request; the caller retries. Connection failures, 429 and 5xx are worth
    /// another attempt; other refusals (`invalid_client`, `access_denied`, ...) are final.
    pub async fn request(&self) -> Step<TokenGrant, TokenError> {
        let (body, basic) = match self.form() {
            Ok(form) => form,
            Err(err) => return Step::Done(Err(err)),
        };
        let mut request = self
            .http
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(body);
        if let Some(basic) = basic {
            request = request.header(AUTHORIZATION, basic);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(source) => {
                return Step::Retry {
                    error: TokenError::Transport {
                        url: self.url.to_string(),
                        source,
                    },
                    retry_after: None,
                }
            }
        };
        let status = response.status().as_u16();
        let retry_after = parse_retry_after(response.headers(), SystemTime::now());
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(source) => {
                return Step::Retry {
                    error: TokenError::Transport {
                        url: self.url.to_string(),
                        source,
                    },
                    retry_after: None,
                }
            }
        };
        if (200..300).contains(&status) {
            return Step::Done(parse_grant(&bytes));
        }
        let error = match serde_json::from_slice::<OAuthErrorBody>(&bytes) {
            Ok(body) => TokenError::Refused {
                status,
                error: body.error,
                description: body.error_description,
            },
            Err(_) => TokenError::Status { status },
        };
        if status == 429 || (500..600).contains(&status) {
            Step::Retry { error, retry_after }
        } else {
            Step::Done(Err(error))
        }
    }

    /// The form body, and the `Authorization` value for `client_secret_basic`. A fresh client
    /// assertion (new `jti`, `iat`) is made for every attempt.
    fn form(&self) -> Result<(String, Option<HeaderValue>), TokenError> {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials");
        let mut basic = None;
        match &self.auth {
            ClientAuth::SecretPost(secret) => {
                form.append_pair("client_id", &self.client_id);
                form.append_pair("client_secret", secret.expose_secret());
            }
            ClientAuth::SecretBasic(secret) => {
                basic = Some(basic_authorization(&self.client_id, secret)?);
            }
            ClientAuth::PrivateKeyJwt(signer) => {
                let assertion = signer.sign(&self.client_id, SystemTime::now())?;
                form.append_pair("client_id", &self.client_id);
                form.append_pair("client_assertion_type", CLIENT_ASSERTION_TYPE);
                form.append_pair("client_assertion", &assertion);
            }
        }
        for (name, value) in [
            ("audience", &self.audience),
            ("resource", &self.resource),
            ("scope", &self.scope),
        ] {
            if let Some(value) = value {
                form.append_pair(name, value);
            }
        }
        Ok((form.finish(), basic))
    }

    pub fn url(&self) -> &Url {
        &self.url
    }
}

fn parse_grant(bytes: &[u8]) -> Result<TokenGrant, TokenError> {
    // serde's message names the field and position, never the value: safe to keep.
    let grant: TokenGrant =
        serde_json::from_slice(bytes).map_err(|e| TokenError::Decode(e.to_string()))?;
    if !grant.token_type.eq_ignore_ascii_case("bearer") {
        return Err(TokenError::UnsupportedTokenType(grant.token_type));
    }
    if grant.access_token.expose_secret().is_empty() {
        return Err(TokenError::Decode("empty access_token".to_owned()));
    }
    Ok(grant)
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`: RFC 6749 §2.3.1 form-encodes both
/// before joining them, so a `:` in the id cannot shift the split. The header value is marked
/// sensitive, so that HTTP libraries never print it.
fn basic_authorization(client_id: &str, secret: &SecretString) -> Result<HeaderValue, TokenError> {
    let id: String = form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
    let secret = SecretString::from(
        form_urlencoded::byte_serialize(secret.expose_secret().as_bytes()).collect::<String>(),
    );
    let encoded = SecretString::from(format!(
        "Basic {}",
        STANDARD.encode(format!("{id}:{}", secret.expose_secret()))
    ));
    let mut value = HeaderValue::from_str(encoded.expose_secret()).map_err(|_| {
        TokenError::ClientAuth("the basic credentials are not a header value".into())
    })?;
    value.set_sensitive(true);
    Ok(value)
}

impl AssertionSigner {
    fn load(config: &AuthConfig) -> Result<Self, ConfigError> {
        let pem: SecretString = match (&config.private_key, &config.private_key_file) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::invalid(
                    "auth.private_key",
                    "give private_key or private_key_file, not both",
                ))
            }
            (Some(inline), None) => inline.clone(),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map(SecretString::from)
                .map_err(|source| ConfigError::Unreadable {
                    key: "auth.private_key_file",
                    path: path.clone(),
                    source,
                })?,
            (None, None) => {
                return Err(ConfigError::invalid(
                    "auth.private_key_file",
                    "required by private_key_jwt",
                ))
            }
        };
        let audience = match &config.assertion_audience {
            Some(audience) => audience.clone(),
            None => format!("{}/", config.token_url.origin().ascii_serialization()),
        };
        let pem = pem.expose_secret().as_bytes();
        // The PEM does not say which algorithm to use; the key type does. Each candidate signs a
        // throwaway assertion so that a key of an unsupported curve or size fails here, at start-up.
        let candidates = [
            EncodingKey::from_rsa_pem(pem).map(|k| (k, Algorithm::RS256)),
            EncodingKey::from_ec_pem(pem).map(|k| (k, Algorithm::ES256)),
        ];
        for (key, algorithm) in candidates.into_iter().flatten() {
            let signer = Self {
                key,
                algorithm,
                kid: config.kid.clone(),
                audience: audience.clone(),
            };
            if signer.sign(&config.client_id, SystemTime::now()).is_ok() {
                return Ok(signer);
            }
        }
        Err(ConfigError::invalid(
            "auth.private_key_file",
            "not a PEM private key that signs RS256 (RSA) or ES256 (P-256)",
        ))
    }

    fn sign(&self, client_id: &str, now: SystemTime) -> Result<String, TokenError> {
        let iat = now
            .duration_since(UNIX_EPOCH)
            .map_err(|_| TokenError::ClientAuth("the clock is before 1970".to_owned()))?
            .as_secs();
        let mut header = Header::new(self.algorithm);
        header.kid = self.kid.clone();
        let claims = AssertionClaims {
            iss: client_id,
            sub: client_id,
            aud: &self.audience,
            jti: URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>()),
            iat,
            exp: iat + ASSERTION_LIFETIME.as_secs(),
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| TokenError::ClientAuth(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_encoded_before_base64() {
        let value = basic_authorization("id:with space", &SecretString::from("p@ss/wörd")).unwrap();
        assert!(value.is_sensitive());
        let encoded = value.to_str().unwrap().trim_start_matches("Basic ");
        let decoded = String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap();
        assert_eq!(decoded, "id%3Awith+space:p%40ss%2Fw%C3%B6rd");
    }

    #[test]
    fn bearer_is_the_only_token_type_accepted() {
        let ok =
            parse_grant(br#"{"access_token":"a.b.c","token_type":"bearer","expires_in":86400}"#);
        assert_eq!(ok.map(|g| g.expires_in).ok(), Some(Some(86400)));
        let mac = parse_grant(br#"{"access_token":"x","token_type":"mac","expires_in":1}"#);
        assert!(matches!(mac, Err(TokenError::UnsupportedTokenType(t)) if t == "mac"));
        assert!(parse_grant(br#"{"token_type":"Bearer"}"#).is_err());
    }

    #[test]
    fn a_missing_secret_or_key_is_a_config_error_naming_the_key() {
        let url = Url::parse("https://tenant.auth0.com/oauth/token").unwrap();
        let mut config = AuthConfig::new(url, "client");
        let err = TokenEndpoint::from_config(&config).unwrap_err();
        assert!(err.to_string().starts_with("auth.client_secret"), "{err}");
        config.method = Some(AuthMethod::PrivateKeyJwt);
        let err = TokenEndpoint::from_config(&config).unwrap_err();
        assert!(
            err.to_string().starts_with("auth.private_key_file"),
            "{err}"
        );
        config.private_key = Some(SecretString::from(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ));
        let err = TokenEndpoint::from_config(&config).unwrap_err();
        assert!(err.to_string().contains("RS256"), "{err}");
    }
}
