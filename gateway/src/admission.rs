//! Admission of one request, in the order the style guide fixes: route → token → scope → rate
//! limit. A plain async function over plain inputs, so `request_filter` stays a few lines and
//! each refusal is tested without a server. A refusal is a value ([`Refusal`]): `respond`
//! renders it, the access log and metrics read it from the request's context.

use timesheet_domain::Principal;

use crate::auth::AuthError;
use crate::policy::{self, Denied, RouteRule};
use crate::ratelimit::{Limited, RateLimiter};
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
    /// The request's route, looked up once by the proxy (it names the request's span before
    /// admission runs); `None` when unlisted.
    pub route: Option<&'a RouteRule>,
    /// `Host` (HTTP/1.1) or `:authority` (HTTP/2).
    pub host: Option<&'a str>,
    pub authorization: AuthorizationHeader<'a>,
}

/// Why the gateway answers a request itself rather than sending it upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The route is not listed: 404, before any token work.
    RouteNotFound,
    /// No usable token: 401 with a Bearer challenge, or 503 when the signing keys cannot be
    /// fetched.
    Unauthenticated(AuthError),
    /// The principal lacks the route's scopes: 403 naming the scopes that would do.
    InsufficientScope {
        principal: Principal,
        denied: Denied,
    },
    /// A rate limit of the principal's tenant: 429 with `Retry-After`.
    RateLimited {
        principal: Principal,
        limited: Limited,
    },
}

impl Refusal {
    /// Whom the request came from, when its token was verified before the refusal.
    pub fn principal(&self) -> Option<&Principal> {
        match self {
            Self::InsufficientScope { principal, .. } | Self::RateLimited { principal, .. } => {
                Some(principal)
            }
            Self::RouteNotFound | Self::Unauthenticated(_) => None,
        }
    }

    /// The stable reason code of a failed authentication, for the access log and metrics.
    pub fn auth_failure(&self) -> Option<&'static str> {
        match self {
            Self::Unauthenticated(err) => Some(err.reason()),
            _ => None,
        }
    }
}

/// Decides whether the request goes upstream, and as whom (`None` on public routes).
pub async fn admit(
    rt: &Runtime,
    limiter: &RateLimiter,
    req: &RequestFacts<'_>,
) -> Result<Option<Principal>, Refusal> {
    let Some(rule) = req.route else {
        return Err(Refusal::RouteNotFound);
    };
    if rule.public {
        return Ok(None);
    }
    let authorization = match req.authorization {
        AuthorizationHeader::Absent => None,
        AuthorizationHeader::One(value) => Some(value),
        AuthorizationHeader::Several => {
            let err = AuthError::Malformed("several Authorization headers");
            return Err(Refusal::Unauthenticated(err));
        }
        AuthorizationHeader::NotText => {
            let err = AuthError::Malformed("the Authorization header is not text");
            return Err(Refusal::Unauthenticated(err));
        }
    };
    let principal = rt
        .auth
        .authenticate(req.host, authorization)
        .await
        .map_err(Refusal::Unauthenticated)?;
    if let Err(denied) = policy::authorize(&principal, rule) {
        return Err(Refusal::InsufficientScope { principal, denied });
    }
    if let Some(tenant) = rt.config.tenant.get(&principal.tenant) {
        let client = principal.client_id.as_deref().unwrap_or(&principal.subject);
        if let Err(limited) = limiter.check(&tenant.id, &tenant.rate_limit, client) {
            return Err(Refusal::RateLimited { principal, limited });
        }
    }
    Ok(Some(principal))
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

    /// Admits a GET of `path`, its route looked up as the proxy does.
    async fn admit_get(
        path: &str,
        authorization: AuthorizationHeader<'_>,
    ) -> Result<Option<Principal>, Refusal> {
        let rt = runtime();
        let facts = RequestFacts {
            route: rt.config.route.find("GET", path).map(|(_, rule)| rule),
            host: Some("localhost"),
            authorization,
        };
        admit(&rt, &RateLimiter::new(), &facts).await
    }

    #[tokio::test]
    async fn an_unlisted_route_is_refused_before_any_token_work() {
        let refusal = admit_get("/admin", AuthorizationHeader::One("Bearer x"))
            .await
            .unwrap_err();
        assert_eq!(refusal, Refusal::RouteNotFound);
        assert_eq!(refusal.auth_failure(), None);
    }

    #[tokio::test]
    async fn a_public_route_needs_no_token() {
        let admitted = admit_get("/v1/openapi.json", AuthorizationHeader::Absent).await;
        assert_eq!(admitted, Ok(None));
    }

    #[tokio::test]
    async fn a_missing_token_is_an_authentication_failure_without_a_principal() {
        let refusal = admit_get("/v1/timesheets/entries", AuthorizationHeader::Absent)
            .await
            .unwrap_err();
        assert_eq!(refusal, Refusal::Unauthenticated(AuthError::Missing));
        assert_eq!(refusal.auth_failure(), Some(AuthError::Missing.reason()));
        assert_eq!(refusal.principal(), None);
    }

    #[tokio::test]
    async fn several_authorization_headers_are_refused_as_malformed() {
        let refusal = admit_get("/v1/timesheets/entries", AuthorizationHeader::Several)
            .await
            .unwrap_err();
        assert!(
            matches!(refusal, Refusal::Unauthenticated(AuthError::Malformed(_))),
            "{refusal:?}"
        );
    }
}
