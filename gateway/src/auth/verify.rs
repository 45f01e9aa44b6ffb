//! JWT access-token validation, in two steps.
//!
//! 1. [`inspect`]: structural checks on the *unverified* token, cheap and before any key lookup:
//!    size (8 KiB), JWS compact form (JWE's five parts refused), base64url, the header (`alg`
//!    never `none` or HS*, `typ` `JWT`/`at+jwt`, no `crit`), and the `iss`/`org_id` that choose
//!    the tenant. `jku`, `x5u`, `jwk` and `x5c` are never read: keys come only from the tenant's
//!    configured JWKS.
//! 2. [`verify`]: signature (jsonwebtoken, with the one algorithm of the header, which must be in
//!    the tenant's allow-list and fit the key), then the claims: `exp` required, `nbf`/`iat` with
//!    leeway, `iss` exact, `aud` one match, `org_id`; and builds the [`Principal`].
//!
//! What it does not hold: key fetching (`jwks`), caching (`token_cache`), tenant choice (`tenant`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};
use timesheet_domain::{Principal, PrincipalKind, Scope, ScopeSet};

use super::jwks::VerifyKey;
use super::AuthError;
use crate::tenant::TenantConfig;
use crate::trust::SUPPORTED_ALGORITHMS;

/// Tokens longer than this are refused before decoding. Auth0 access tokens are ~1 KiB.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// A structurally valid token whose signature is not checked yet.
#[derive(Debug)]
pub struct UnverifiedToken<'a> {
    raw: &'a str,
    pub alg: Algorithm,
    pub kid: Option<String>,
    /// Unverified: only used to choose the tenant, checked again after the signature.
    pub issuer: String,
    /// Unverified, as `issuer`.
    pub org_id: Option<String>,
}

/// Structural checks on a token (see the module docs). Never fetches anything.
pub fn inspect(token: &str) -> Result<UnverifiedToken<'_>, AuthError> {
    if token.is_empty() {
        return Err(AuthError::Malformed("the access token is empty"));
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::TooLarge);
    }
    if !token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(AuthError::Malformed("the token is not base64url"));
    }
    let parts: Vec<&str> = token.split('.').collect();
    let (header, payload, signature) = match parts.as_slice() {
        [h, p, s] => (*h, *p, *s),
        [_, _, _, _, _] => {
            return Err(AuthError::Malformed(
                "encrypted tokens (JWE) are not accepted",
            ))
        }
        _ => return Err(AuthError::Malformed("the token is not a signed JWT")),
    };
    let header = decode_object(header, "the token header is not a JSON object")?;
    if header.contains_key("crit") {
        return Err(AuthError::CriticalHeader);
    }
    if header.contains_key("enc") {
        return Err(AuthError::Malformed(
            "encrypted tokens (JWE) are not accepted",
        ));
    }
    let alg = match header.get("alg") {
        Some(Value::String(name)) => parse_alg(name)?,
        Some(_) => return Err(AuthError::Malformed("the token alg is not a string")),
        None => return Err(AuthError::Malformed("the token header has no alg")),
    };
    match header.get("typ") {
        None => {}
        Some(Value::String(typ)) if is_accepted_typ(typ) => {}
        Some(_) => return Err(AuthError::UnsupportedType),
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(AuthError::Malformed("the token kid is not a string")),
    };
    // After the header checks, so an unsigned `alg: none` token is reported as such.
    if signature.is_empty() {
        return Err(AuthError::Malformed("the token has no signature"));
    }
    let claims = decode_object(payload, "the token payload is not a JSON object")?;
    let issuer = match claims.get("iss") {
        Some(Value::String(iss)) => iss.clone(),
        Some(_) => return Err(AuthError::WrongIssuer),
        None => return Err(AuthError::MissingClaim("iss")),
    };
    let org_id = match claims.get("org_id") {
        None => None,
        Some(Value::String(org)) => Some(org.clone()),
        Some(_) => return Err(AuthError::WrongOrganization),
    };
    Ok(UnverifiedToken {
        raw: token,
        alg,
        kid,
        issuer,
        org_id,
    })
}

fn decode_object(segment: &str, what: &'static str) -> Result<Map<String, Value>, AuthError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| AuthError::Malformed("the token is not base64url"))?;
    serde_json::from_slice(&bytes).map_err(|_| AuthError::Malformed(what))
}

/// Only asymmetric algorithms exist for the gateway: `none` and HS* are refused here, before
/// the tenant's allow-list is even consulted.
fn parse_alg(name: &str) -> Result<Algorithm, AuthError> {
    SUPPORTED_ALGORITHMS
        .into_iter()
        .find(|alg| format!("{alg:?}") == name)
        .ok_or(AuthError::AlgNotAllowed)
}

/// RFC 9068 access tokens say `at+jwt` (or the full media type); Auth0 says `JWT`.
fn is_accepted_typ(typ: &str) -> bool {
    ["JWT", "at+jwt", "application/at+jwt", "application/jwt"]
        .iter()
        .any(|ok| typ.eq_ignore_ascii_case(ok))
}

/// The claims the gateway reads. Unknown claims are ignored; a known one of the wrong JSON type
/// makes the token malformed.
#[derive(Debug, Deserialize)]
struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<OneOrMany>,
    exp: Option<f64>,
    nbf: Option<f64>,
    iat: Option<f64>,
    jti: Option<String>,
    azp: Option<String>,
    client_id: Option<String>,
    gty: Option<String>,
    scope: Option<String>,
    scp: Option<OneOrMany>,
    permissions: Option<Vec<String>>,
    org_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn iter(&self) -> impl Iterator<Item = &str> {
        let (one, many) = match self {
            Self::One(s) => (Some(s.as_str()), &[][..]),
            Self::Many(v) => (None, v.as_slice()),
        };
        one.into_iter().chain(many.iter().map(String::as_str))
    }
}

/// Verifies `token` with `key` for `tenant` at Unix time `now`, and builds the principal.
pub fn verify(
    token: &UnverifiedToken<'_>,
    tenant: &TenantConfig,
    key: &VerifyKey,
    now: i64,
) -> Result<Principal, AuthError> {
    if !tenant.algorithms.contains(&token.alg) {
        return Err(AuthError::AlgNotAllowed);
    }
    if !key.fits(token.alg) {
        return Err(AuthError::KeyMismatch);
    }
    // jsonwebtoken checks the signature with exactly the header's algorithm, plus iss and aud;
    // the time claims are ours, so tests and leeway use one clock.
    let mut validation = Validation::new(token.alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.set_issuer(&[&tenant.issuer]);
    validation.set_audience(&tenant.audiences);
    let claims = jsonwebtoken::decode::<Claims>(token.raw, key.decoding(), &validation)
        .map_err(map_jwt_error)?
        .claims;
    check_claims(&claims, tenant, now)?;
    Ok(principal(claims, tenant))
}

fn map_jwt_error(err: jsonwebtoken::errors::Error) -> AuthError {
    use jsonwebtoken::errors::ErrorKind;
    match err.kind() {
        ErrorKind::InvalidSignature => AuthError::BadSignature,
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => AuthError::AlgNotAllowed,
        ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
        ErrorKind::InvalidAudience => AuthError::WrongAudience,
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
            "exp" => AuthError::MissingClaim("exp"),
            "iss" => AuthError::MissingClaim("iss"),
            "aud" => AuthError::MissingClaim("aud"),
            _ => AuthError::MissingClaim("required"),
        },
        ErrorKind::InvalidKeyFormat | ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidEcdsaKey => {
            AuthError::KeyMismatch
        }
        ErrorKind::Json(_) | ErrorKind::InvalidClaimFormat(_) => {
            AuthError::Malformed("the token claims have the wrong types")
        }
        _ => AuthError::Malformed("the token could not be decoded"),
    }
}

/// Everything after the signature: the checks jsonwebtoken made are repeated where cheap, so
/// a future change of its defaults cannot silently drop one.
fn check_claims(claims: &Claims, tenant: &TenantConfig, now: i64) -> Result<(), AuthError> {
    let leeway = i64::try_from(tenant.leeway.as_secs()).unwrap_or(0);
    let exp = numeric_date(claims.exp)?.ok_or(AuthError::MissingClaim("exp"))?;
    if now >= exp.saturating_add(leeway) {
        return Err(AuthError::Expired);
    }
    if numeric_date(claims.nbf)?.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
        return Err(AuthError::NotYetValid);
    }
    if numeric_date(claims.iat)?.is_some_and(|iat| iat > now.saturating_add(leeway)) {
        return Err(AuthError::IssuedInFuture);
    }
    if claims.iss.as_deref() != Some(tenant.issuer.as_str()) {
        return Err(AuthError::WrongIssuer);
    }
    let aud = claims.aud.as_ref().ok_or(AuthError::MissingClaim("aud"))?;
    if !aud
        .iter()
        .any(|a| tenant.audiences.iter().any(|ok| ok == a))
    {
        return Err(AuthError::WrongAudience);
    }
    if let Some(org) = &tenant.org_id {
        if claims.org_id.as_ref() != Some(org) {
            return Err(AuthError::WrongOrganization);
        }
    }
    if claims.sub.as_deref().is_none_or(str::is_empty) {
        return Err(AuthError::MissingClaim("sub"));
    }
    Ok(())
}

/// A NumericDate as whole seconds; fractions are allowed by RFC 7519 and truncated.
fn numeric_date(value: Option<f64>) -> Result<Option<i64>, AuthError> {
    match value {
        None => Ok(None),
        Some(v) if v.is_finite() && v.abs() < 1e15 => Ok(Some(v.trunc() as i64)),
        Some(_) => Err(AuthError::Malformed("the token has an invalid date claim")),
    }
}

fn principal(claims: Claims, tenant: &TenantConfig) -> Principal {
    let mut scopes = claims
        .scope
        .as_deref()
        .map(ScopeSet::from_scope_str)
        .unwrap_or_default();
    let extra = claims
        .scp
        .iter()
        .flat_map(OneOrMany::iter)
        .flat_map(str::split_ascii_whitespace)
        .chain(claims.permissions.iter().flatten().map(String::as_str));
    for scope in extra.filter_map(Scope::parse) {
        scopes.insert(scope);
    }
    let subject = claims.sub.unwrap_or_default();
    let kind =
        if claims.gty.as_deref() == Some("client-credentials") || subject.ends_with("@clients") {
            PrincipalKind::Machine
        } else {
            PrincipalKind::User
        };
    Principal {
        tenant: tenant.id.clone(),
        subject,
        client_id: claims.azp.or(claims.client_id),
        kind,
        scopes,
        token_id: claims.jti,
        token_expires_at: claims.exp.map_or(0, |e| e.trunc() as i64),
    }
}

#[cfg(test)]
mod tests;
