//! Who is asking: client authentication at the token endpoint by `client_secret_post`,
//! `client_secret_basic` or `private_key_jwt`. Exactly one method per request (RFC 6749 2.3), and
//! only the one configured for the client (Auth0's `token_endpoint_auth_method`).
//!
//! Failures are 401 `invalid_client`. A wrong secret and an unknown client get the same answer;
//! the log (never the response) says which it was.

use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::assertion::{self, ReplayCache, JWT_BEARER};
use crate::error::OAuthError;
use crate::params::TokenParams;
use crate::secret::secrets_match;
use crate::state::{Client, Credential, Registry, Urls};
use crate::tenant::AuthMethod;

/// RFC 6749 5.2: a client that tried HTTP Basic is told which scheme to use.
const BASIC_CHALLENGE: &str = "Basic realm=\"dev-idp\"";
const AUTH_FAILED: &str = "Client authentication failed";

/// Client credentials from the Authorization header.
struct Basic {
    client_id: String,
    secret: String,
}

/// RFC 6749 2.3.1: `base64(urlencode(id) ":" urlencode(secret))`.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<Basic>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || {
        OAuthError::invalid_client("Malformed Basic Authorization header")
            .with_challenge(BASIC_CHALLENGE)
    };
    let value = value.to_str().map_err(|_| malformed())?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(malformed());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client(
            "Only Basic authorization is accepted at the token endpoint",
        )
        .with_challenge(BASIC_CHALLENGE));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    Ok(Some(Basic {
        client_id: form_decode(id),
        secret: form_decode(secret),
    }))
}

fn form_decode(component: &str) -> String {
    url::form_urlencoded::parse(format!("v={component}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Finds the client the request authenticates as, and checks its credentials.
pub fn authenticate<'a>(
    registry: &'a Registry,
    urls: &Urls,
    replay: &ReplayCache,
    params: &TokenParams,
    headers: &HeaderMap,
    now: i64,
) -> Result<&'a Client, OAuthError> {
    let basic = basic_credentials(headers)?;
    let post_secret = params.get("client_secret");
    let assertion = params.get("client_assertion");
    let methods = usize::from(basic.is_some())
        + usize::from(post_secret.is_some())
        + usize::from(assertion.is_some());
    if methods > 1 {
        return Err(OAuthError::invalid_request(
            "Only one client authentication method may be used",
        ));
    }
    let challenge = |err: OAuthError| {
        if basic.is_some() {
            err.with_challenge(BASIC_CHALLENGE)
        } else {
            err
        }
    };

    let (method, client_id) = if let Some(basic) = &basic {
        if params
            .get("client_id")
            .is_some_and(|id| id != basic.client_id)
        {
            return Err(OAuthError::invalid_request(
                "client_id does not match the Authorization header",
            ));
        }
        (AuthMethod::ClientSecretBasic, basic.client_id.clone())
    } else if let Some(assertion) = assertion {
        if params.get("client_assertion_type") != Some(JWT_BEARER) {
            return Err(OAuthError::invalid_request(format!(
                "client_assertion_type must be {JWT_BEARER}"
            )));
        }
        let client_id = match params.get("client_id") {
            Some(id) => id.to_owned(),
            None => assertion::unverified_issuer(assertion).ok_or_else(|| {
                OAuthError::invalid_client("client_assertion is not a JWT with an iss")
            })?,
        };
        (AuthMethod::PrivateKeyJwt, client_id)
    } else if post_secret.is_some() {
        let client_id = params
            .get("client_id")
            .ok_or_else(|| OAuthError::invalid_request("Missing required parameter: client_id"))?;
        (AuthMethod::ClientSecretPost, client_id.to_owned())
    } else {
        return Err(OAuthError::invalid_client(
            "Client authentication is required",
        ));
    };

    let Some(client) = registry.client(&client_id) else {
        tracing::info!(client_id = %client_id, "token request from an unknown client");
        return Err(challenge(OAuthError::invalid_client(AUTH_FAILED)));
    };
    if client.method != method {
        return Err(challenge(OAuthError::invalid_client(format!(
            "Client authentication method {} is not allowed for this client; it uses {}",
            method.as_str(),
            client.method.as_str()
        ))));
    }
    let verified = match (&client.credential, method) {
        (Credential::Secret(expected), AuthMethod::ClientSecretBasic) => basic
            .as_ref()
            .is_some_and(|b| secrets_match(&b.secret, expected)),
        (Credential::Secret(expected), AuthMethod::ClientSecretPost) => {
            post_secret.is_some_and(|s| secrets_match(s, expected))
        }
        (Credential::PublicKey(key), AuthMethod::PrivateKeyJwt) => {
            let audiences = [urls.issuer.as_str(), urls.token_endpoint.as_str()];
            let assertion = assertion.unwrap_or_default();
            if let Err(err) =
                assertion::verify(assertion, key, &client.client_id, &audiences, replay, now)
            {
                tracing::info!(client_id = %client.client_id, reason = %err, "client assertion refused");
                return Err(OAuthError::invalid_client(err.to_string()));
            }
            true
        }
        _ => false,
    };
    if !verified {
        tracing::info!(client_id = %client.client_id, method = method.as_str(), "wrong client secret");
        return Err(challenge(OAuthError::invalid_client(AUTH_FAILED)));
    }
    Ok(client)
}
