//! Admission of one request, in the order the style guide fixes: route → token → scope → rate
//! limit. A plain async function over plain inputs, so `request_filter` stays a few lines and
//! each refusal is tested without a server.

use timesheet_domain::Principal;

use crate::auth::AuthError;
use crate::policy;
use crate::ratelimit::{LimitScope, RateLimiter};
use crate::respond::{self, SyntheticResponse};
use crate::state::Runtime;

/// The request's `Authorization` header(s), as far as admission cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizationHeader<'a> {
    Absent,
    One(&'a str),
    /// More than one: which one a service behind us would read is anyone's guess.
    Several,
    /// Not visible ASCII.
    NotText,
}

/// What admission looks at.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    pub method: &'a str,
    /// Path without the query.
    pub path: &'a str,
    /// `Host` (HTTP/1.1) or `:authority` (HTTP/2).
    pub host: Option<&'a str>,
    pub authorization: AuthorizationHeader<'a>,
}

/// A request that may go upstream.
#[derive(Debug, Clone)]
pub struct Admitted {
    pub route: String,
    /// `None` on public routes.
    pub principal: Option<Principal>,
}

/// A request answered by the gateway itself.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub response: SyntheticResponse,
    pub route: Option<String>,
    pub principal: Option<Principal>,
    pub auth_failure: Option<&'static str>,
    /// Set when a rate limit refused the request.
    pub limited: Option<LimitScope>,
}

impl Refusal {
    fn new(response: SyntheticResponse, route: Option<String>) -> Self {
        Self {
            response,
            route,
            principal: None,
            auth_failure: None,
            limited: None,
        }
    }
}

/// Decides whether the request goes upstream.
pub async fn admit(
    rt: &Runtime,
    limiter: &RateLimiter,
    req: &RequestFacts<'_>,
) -> Result<Admitted, Refusal> {
    let Some(rule) = rt.config.route.find(req.method, req.path) else {
        return Err(Refusal::new(respond::route_not_found(), None));
    };
    let route = rule.label().to_owned();
    if rule.public {
        return Ok(Admitted {
            route,
            principal: None,
        });
    }
    let authorization = match req.authorization {
        AuthorizationHeader::Absent => None,
        AuthorizationHeader::One(value) => Some(value),
        AuthorizationHeader::Several => {
            return Err(auth_refusal(
                rt,
                route,
                AuthError::Malformed("several Authorization headers"),
            ))
        }
        AuthorizationHeader::NotText => {
            return Err(auth_refusal(
                rt,
                route,
                AuthError::Malformed("the Authorization header is not text"),
            ))
        }
    };
    let principal = match rt.auth.authenticate(req.host, authorization).await {
        Ok(principal) => principal,
        Err(err) => return Err(auth_refusal(rt, route, err)),
    };
    if let Err(denied) = policy::authorize(&principal, rule) {
        let mut refusal = Refusal::new(
            respond::insufficient_scope(&rt.config.realm, &denied),
            Some(route),
        );
        refusal.principal = Some(principal);
        return Err(refusal);
    }
    if let Some(tenant) = rt.config.tenant.get(&principal.tenant) {
        let client = principal.client_id.as_deref().unwrap_or(&principal.subject);
        if let Err(limited) = limiter.check(&tenant.id, &tenant.rate_limit, client) {
            let mut refusal = Refusal::new(respond::rate_limited(limited.retry_after), Some(route));
            refusal.principal = Some(principal);
            refusal.limited = Some(limited.scope);
            return Err(refusal);
        }
    }
    Ok(Admitted {
        route,
        principal: Some(principal),
    })
}

fn auth_refusal(rt: &Runtime, route: String, err: AuthError) -> Refusal {
    let mut refusal = Refusal::new(
        respond::unauthenticated(&rt.config.realm, &err),
        Some(route),
    );
    refusal.auth_failure = Some(err.reason());
    refusal
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn runtime() -> Runtime {
        let config = Config::from_toml_str(
            r#"
[[tenant]]
id = "exampleco"
issuer = "https://exampleco.eu.auth0.com/"
audiences = ["aud"]
jwks_uri = "http://127.0.0.1:9/jwks.json"

[[route]]
method = "GET"
path = "/v1/openapi.json"
public = true

[[route]]
method = "GET"
path = "/v1/timesheets/entries"
scopes = ["read:timesheets"]
"#,
        )
        .unwrap();
        Runtime::unprimed(config).unwrap()
    }

    fn facts<'a>(path: &'a str, authorization: AuthorizationHeader<'a>) -> RequestFacts<'a> {
        RequestFacts {
            method: "GET",
            path,
            host: Some("localhost"),
            authorization,
        }
    }

    #[tokio::test]
    async fn an_unlisted_route_is_a_404_problem() {
        let refusal = admit(
            &runtime(),
            &RateLimiter::new(),
            &facts("/admin", AuthorizationHeader::Absent),
        )
        .await
        .unwrap_err();
        assert_eq!(refusal.response.status, 404);
        assert_eq!(refusal.route, None);
    }

    #[tokio::test]
    async fn a_public_route_needs_no_token() {
        let admitted = admit(
            &runtime(),
            &RateLimiter::new(),
            &facts("/v1/openapi.json", AuthorizationHeader::Absent),
        )
        .await
        .unwrap();
        assert_eq!(admitted.route, "/v1/openapi.json");
        assert!(admitted.principal.is_none());
    }

    #[tokio::test]
    async fn a_missing_token_is_a_challenge_without_error_code() {
        let refusal = admit(
            &runtime(),
            &RateLimiter::new(),
            &facts("/v1/timesheets/entries", AuthorizationHeader::Absent),
        )
        .await
        .unwrap_err();
        assert_eq!(refusal.response.status, 401);
        assert_eq!(
            refusal.response.header("www-authenticate"),
            Some("Bearer realm=\"timesheets\"")
        );
        assert_eq!(refusal.auth_failure, Some(AuthError::Missing.reason()));
        assert_eq!(refusal.route.as_deref(), Some("/v1/timesheets/entries"));
    }

    #[tokio::test]
    async fn several_authorization_headers_are_refused_as_invalid() {
        let refusal = admit(
            &runtime(),
            &RateLimiter::new(),
            &facts("/v1/timesheets/entries", AuthorizationHeader::Several),
        )
        .await
        .unwrap_err();
        assert_eq!(refusal.response.status, 401);
        assert!(refusal
            .response
            .header("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_token\""));
    }
}
