//! The only builder of the gateway's own (synthetic) responses, as plain data independent of
//! Pingora: a status, headers and an RFC 9457 `application/problem+json` body built from
//! [`timesheet_domain::Problem`].
//!
//! - 401 carries `WWW-Authenticate: Bearer realm="…"`, plus `error="invalid_token"` and an
//!   `error_description` except when the client sent no bearer credentials (RFC 6750 §3.1);
//! - 403 carries `error="insufficient_scope"` and the `scope` that would do;
//! - 429 and 503 carry `Retry-After`; 502 and 504 are generic.
//!
//! Header parameter values are quoted strings with `"` and `\` escaped; `error_description` and
//! `scope` are further limited to the characters RFC 6750 §3 allows. Bodies never contain the token
//! or upstream error text. What it does not hold: deciding *which* response to send (admission
//! decides a [`Refusal`], the proxy maps upstream failures).

use std::time::Duration;

use timesheet_domain::{Problem, ProblemType, Scope};

use crate::admission::Refusal;
use crate::auth::AuthError;
use crate::policy::Denied;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Seconds a client should wait when the identity provider cannot be reached.
const JWKS_RETRY_AFTER_SECS: u64 = 5;

/// A response the gateway writes itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticResponse {
    pub status: u16,
    /// Lowercase names; written in this order.
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl SyntheticResponse {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    fn problem(problem: &Problem) -> Self {
        // Serialising a struct of strings cannot fail; the fallback keeps the type honest.
        let body = serde_json::to_vec(problem).unwrap_or_else(|_| b"{}".to_vec());
        Self {
            status: problem.status,
            headers: vec![
                ("content-type", PROBLEM_JSON.to_owned()),
                ("content-length", body.len().to_string()),
                // Refusals depend on credentials; no cache may reuse them.
                ("cache-control", "no-store".to_owned()),
            ],
            body,
        }
    }

    fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// The answer to a request admission refused.
pub fn refusal(realm: &str, refusal: &Refusal) -> SyntheticResponse {
    match refusal {
        Refusal::RouteNotFound => route_not_found(),
        Refusal::Unauthenticated(err) => unauthenticated(realm, err),
        Refusal::InsufficientScope { denied, .. } => insufficient_scope(realm, denied),
        Refusal::RateLimited { limited, .. } => rate_limited(limited.retry_after),
    }
}

/// The answer to a failed authentication: 401 with a Bearer challenge, or 503 when the signing
/// keys cannot be fetched (the client's token may well be valid).
pub fn unauthenticated(realm: &str, err: &AuthError) -> SyntheticResponse {
    if err.is_unavailable() {
        return service_unavailable(
            Duration::from_secs(JWKS_RETRY_AFTER_SECS),
            Some(err.description()),
        );
    }
    let mut challenge = format!("Bearer realm={}", quoted(realm));
    if !err.is_missing_credentials() {
        challenge.push_str(", error=\"invalid_token\", error_description=");
        challenge.push_str(&quoted(&rfc6750_chars(err.description())));
    }
    SyntheticResponse::problem(
        &Problem::new(ProblemType::Unauthenticated).with_detail(err.description()),
    )
    .with_header("www-authenticate", challenge)
}

/// 403 for a principal without the route's scope.
fn insufficient_scope(realm: &str, denied: &Denied) -> SyntheticResponse {
    let scopes = denied
        .missing_scope
        .iter()
        .map(|s| Scope::as_str(*s))
        .collect::<Vec<_>>()
        .join(" ");
    let challenge = format!(
        "Bearer realm={}, error=\"insufficient_scope\", scope={}",
        quoted(realm),
        quoted(&rfc6750_chars(&scopes))
    );
    SyntheticResponse::problem(
        &Problem::new(ProblemType::Forbidden)
            .with_detail(format!("the access token lacks the scope: {scopes}")),
    )
    .with_header("www-authenticate", challenge)
}

/// 404 for a route the gateway does not serve (unlisted routes are denied without saying why).
fn route_not_found() -> SyntheticResponse {
    SyntheticResponse::problem(&Problem::new(ProblemType::NotFound))
}

/// 429 with `Retry-After` in whole seconds (at least 1).
fn rate_limited(retry_after: Duration) -> SyntheticResponse {
    SyntheticResponse::problem(&Problem::new(ProblemType::RateLimited))
        .with_header("retry-after", retry_secs(retry_after))
}

/// 502: the upstream could not be reached. The cause goes to the log, never the body.
pub fn bad_gateway() -> SyntheticResponse {
    SyntheticResponse::problem(&Problem::new(ProblemType::BadGateway))
}

/// 504: the upstream did not answer in time.
pub fn gateway_timeout() -> SyntheticResponse {
    SyntheticResponse::problem(&Problem::new(ProblemType::GatewayTimeout))
}

/// 400: a request the gateway cannot parse (bad framing, bad header encoding).
pub fn malformed_request() -> SyntheticResponse {
    SyntheticResponse::problem(&Problem::new(ProblemType::MalformedRequest))
}

/// 500: the gateway itself failed; the cause goes to the log, never the body.
pub fn internal_error() -> SyntheticResponse {
    SyntheticResponse::problem(&Problem::new(ProblemType::Internal))
}

/// 503 with `Retry-After`, and a static detail when one helps the client.
pub fn service_unavailable(
    retry_after: Duration,
    detail: Option<&'static str>,
) -> SyntheticResponse {
    let mut problem = Problem::new(ProblemType::ServiceUnavailable);
    if let Some(detail) = detail {
        problem = problem.with_detail(detail);
    }
    SyntheticResponse::problem(&problem).with_header("retry-after", retry_secs(retry_after))
}

fn retry_secs(d: Duration) -> String {
    // Round up: telling a client to come back before the limit resets only earns another 429.
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    secs.max(1).to_string()
}

/// An RFC 9110 quoted-string: `"` and `\` escaped, control and non-ASCII characters replaced.
pub fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out.push('"');
    out
}

/// Keeps only what RFC 6750 §3 allows in `error_description` and `scope`
/// (%x20-21 / %x23-5B / %x5D-7E: printable ASCII without `"` and `\`).
fn rfc6750_chars(value: &str) -> String {
    value
        .chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            ' '..='~' => c,
            _ => '?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use timesheet_domain::{Principal, PrincipalKind, ScopeSet, TenantId};

    use super::*;
    use crate::ratelimit::{LimitScope, Limited};

    fn body(r: &SyntheticResponse) -> serde_json::Value {
        serde_json::from_slice(&r.body).unwrap()
    }

    #[test]
    fn a_missing_token_gets_a_challenge_without_error_code() {
        let r = unauthenticated("timesheets", &AuthError::Missing);
        assert_eq!(r.status, 401);
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer realm=\"timesheets\"")
        );
        assert_eq!(r.header("content-type"), Some(PROBLEM_JSON));
        assert_eq!(
            body(&r)["type"],
            "https://api.exampleco.com/problems/unauthenticated"
        );
    }

    #[test]
    fn an_invalid_token_gets_invalid_token_and_a_description() {
        let r = unauthenticated("timesheets", &AuthError::Expired);
        assert_eq!(r.status, 401);
        assert_eq!(
            r.header("www-authenticate"),
            Some(
                "Bearer realm=\"timesheets\", error=\"invalid_token\", \
                 error_description=\"the access token expired\""
            )
        );
        assert_eq!(body(&r)["detail"], "the access token expired");
        assert_eq!(
            r.header("content-length"),
            Some(r.body.len().to_string().as_str())
        );
    }

    #[test]
    fn unreachable_keys_are_a_503_with_retry_after() {
        let r = unauthenticated("timesheets", &AuthError::JwksUnavailable);
        assert_eq!(r.status, 503);
        assert_eq!(r.header("retry-after"), Some("5"));
        assert!(r.header("www-authenticate").is_none());
    }

    #[test]
    fn insufficient_scope_names_the_scopes() {
        let denied = Denied {
            missing_scope: vec![Scope::BatchUpload, Scope::CreateTimesheets],
        };
        let r = insufficient_scope("timesheets", &denied);
        assert_eq!(r.status, 403);
        assert_eq!(
            r.header("www-authenticate"),
            Some(
                "Bearer realm=\"timesheets\", error=\"insufficient_scope\", \
                 scope=\"batch:upload create:timesheets\""
            )
        );
        assert_eq!(body(&r)["status"], 403);
    }

    #[test]
    fn each_refusal_is_rendered_with_its_status_and_headers() {
        let principal = Principal {
            tenant: TenantId::parse("acme").unwrap(),
            subject: "svc@clients".to_owned(),
            client_id: Some("svc".to_owned()),
            kind: PrincipalKind::Machine,
            scopes: ScopeSet::from_scope_str("read:timesheets"),
            token_id: None,
            token_expires_at: 0,
        };
        let denied = Denied {
            missing_scope: vec![Scope::CreateTimesheets],
        };
        let limited = Limited {
            scope: LimitScope::Client,
            retry_after: Duration::from_secs(1),
        };
        let cases = [
            (Refusal::RouteNotFound, 404, None),
            (Refusal::Unauthenticated(AuthError::Missing), 401, None),
            (
                Refusal::Unauthenticated(AuthError::JwksUnavailable),
                503,
                Some("5"),
            ),
            (
                Refusal::InsufficientScope {
                    principal: principal.clone(),
                    denied,
                },
                403,
                None,
            ),
            (Refusal::RateLimited { principal, limited }, 429, Some("1")),
        ];
        for (refused, status, retry_after) in cases {
            let r = refusal("timesheets", &refused);
            assert_eq!(r.status, status, "{refused:?}");
            assert_eq!(r.header("retry-after"), retry_after, "{refused:?}");
            let challenged = r.header("www-authenticate").is_some();
            assert_eq!(challenged, matches!(status, 401 | 403), "{refused:?}");
            assert_eq!(r.header("content-type"), Some(PROBLEM_JSON));
        }
    }

    #[test]
    fn quotes_and_backslashes_in_the_realm_are_escaped() {
        let r = unauthenticated("a \"b\" \\ c\n", &AuthError::Missing);
        assert_eq!(
            r.header("www-authenticate"),
            Some(r#"Bearer realm="a \"b\" \\ c?""#)
        );
    }

    #[test]
    fn other_statuses_are_problems_with_their_headers() {
        let r = rate_limited(Duration::from_millis(1_200));
        assert_eq!((r.status, r.header("retry-after")), (429, Some("2")));
        assert_eq!(
            rate_limited(Duration::ZERO).header("retry-after"),
            Some("1")
        );
        assert_eq!(bad_gateway().status, 502);
        assert_eq!(gateway_timeout().status, 504);
        assert_eq!(route_not_found().status, 404);
        let r = service_unavailable(Duration::from_secs(30), None);
        assert_eq!((r.status, r.header("retry-after")), (503, Some("30")));
        assert_eq!(body(&r)["title"], "The service is temporarily unavailable");
    }

    #[test]
    fn descriptions_are_safe_header_values() {
        for err in [
            AuthError::Malformed("the token is not base64url"),
            AuthError::MissingClaim("exp"),
            AuthError::WrongTenant,
        ] {
            let d = err.description();
            assert_eq!(rfc6750_chars(d), d, "{d}");
        }
    }
}
