//! Which tenant a token belongs to: the `[[tenant]]` sections ([`TenantConfig`]) read into the
//! [`TenantRegistry`], and its pure [`TenantRegistry::resolve`].
//!
//! Resolution uses the token's `iss` (exact match), then its `org_id` where tenants share an
//! issuer and differ by Auth0 Organization, and the request's host where tenants have their own
//! hostnames. The rules that keep this unambiguous (unique ids, unique hostnames, unique
//! issuer/organization pairs among tenants without hostnames) are checked when the configuration
//! is loaded ([`TenantRegistry::check`]), so resolution never has to pick between two tenants.
//!
//! What it does not hold: signature checks. The `iss`/`org_id` read here come from the
//! *unverified* payload and only choose whose keys to verify with; `auth::verify` checks them
//! again after the signature.

use std::path::PathBuf;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use serde::{Deserialize, Deserializer};
use service_config::rule::{trimmed, within};
use service_config::Issues;
use timesheet_domain::TenantId;

use crate::ratelimit::RateLimits;
use crate::trust::{check_url, SUPPORTED_ALGORITHMS};

/// `[[tenant]]`: who issues a tenant's tokens, how they are checked, and where it is served.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, garde::Validate)]
#[serde(deny_unknown_fields)]
#[garde(allow_unvalidated)]
pub struct TenantConfig {
    pub id: TenantId,
    /// Compared to `iss` exactly (Auth0 issuers end with `/`).
    #[garde(custom(issuer_url))]
    pub issuer: String,
    /// Accepted `aud` values, compared exactly; one match suffices.
    #[garde(length(min = 1), inner(custom(trimmed)))]
    pub audiences: Vec<String>,
    #[serde(default = "default_algorithms")]
    #[garde(length(min = 1), inner(custom(asymmetric)))]
    pub algorithms: Vec<Algorithm>,
    /// Where the signing keys are: a JWKS URL, or an OIDC discovery URL resolved once to its
    /// `jwks_uri`; exactly one of the two ([`TenantRegistry::check`]).
    pub jwks_uri: Option<String>,
    #[garde(suffix("/.well-known/openid-configuration"))]
    pub discovery: Option<String>,
    /// Auth0 Organizations: tokens must carry exactly this `org_id`.
    #[garde(length(min = 1))]
    pub org_id: Option<String>,
    /// Lowercase hostnames; when set, the tenant is served only on them.
    #[serde(default, deserialize_with = "lowercase")]
    #[garde(inner(custom(hostname)))]
    pub hostnames: Vec<String>,
    #[serde(default)]
    #[garde(dive)]
    pub rate_limit: RateLimits,
    /// Clock skew tolerated on `exp`, `nbf` and `iat` (whole seconds).
    #[serde(default = "default_leeway", with = "humantime_serde")]
    #[garde(custom(within(Duration::ZERO, Duration::from_secs(300))))]
    pub leeway: Duration,
    /// Certificate (and key) served, by SNI, on the tenant's hostnames.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

fn default_algorithms() -> Vec<Algorithm> {
    vec![Algorithm::RS256]
}

fn default_leeway() -> Duration {
    Duration::from_secs(30)
}

fn lowercase<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let names = Vec::<String>::deserialize(deserializer)?;
    Ok(names.iter().map(|n| n.to_ascii_lowercase()).collect())
}

fn issuer_url(issuer: &str, _: &()) -> garde::Result {
    check_url(issuer, true).map_err(garde::Error::new)
}

fn asymmetric(alg: &Algorithm, _: &()) -> garde::Result {
    if SUPPORTED_ALGORITHMS.contains(alg) {
        return Ok(());
    }
    Err(garde::Error::new(format!(
        "{alg:?} is refused: only asymmetric RS256, RS384, RS512, PS256, ES256, ES384 and EdDSA"
    )))
}

fn hostname(host: &str, _: &()) -> garde::Result {
    let label = |l: &str| {
        (1..=63).contains(&l.len())
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    };
    if host.len() <= 253 && host.split('.').all(label) {
        return Ok(());
    }
    Err(garde::Error::new(
        "must be a DNS name without scheme, port or wildcard",
    ))
}

/// Why no tenant takes a token (see [`TenantRegistry::resolve`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// No tenant has the token's issuer.
    #[error("no tenant has this issuer")]
    WrongIssuer,
    /// The issuer's tenants are not served at this host.
    #[error("no tenant of this issuer is served at this host")]
    WrongTenant,
    /// The token's organization is not the tenant's.
    #[error("no tenant of this issuer has this organization")]
    WrongOrganization,
}

/// The configured tenants (`[[tenant]]`), in the file's order.
#[derive(Debug, Clone, Default, Deserialize, garde::Validate)]
#[serde(transparent)]
#[garde(transparent)]
pub struct TenantRegistry {
    #[garde(dive)]
    tenants: Vec<TenantConfig>,
}

impl TenantRegistry {
    /// The rules across a tenant's keys and across tenants: one key source with a usable URL
    /// (plain HTTP as `allow_http` says), both certificate files or neither, and nothing that
    /// would let a token match two tenants (ids, hostnames, and issuer and organization among
    /// tenants without hostnames, are unique).
    pub fn check(&self, allow_http: bool, issues: &mut Issues) {
        if self.tenants.is_empty() {
            issues.push("tenant", "at least one [[tenant]] is required");
        }
        for (i, tenant) in self.tenants.iter().enumerate() {
            let at = format!("tenant[{i}]");
            match (&tenant.jwks_uri, &tenant.discovery) {
                (None, None) => issues.push(&at, "one of jwks_uri or discovery is required"),
                (Some(_), Some(_)) => issues.push(&at, "set jwks_uri or discovery, not both"),
                _ => {}
            }
            for (key, url) in [
                ("jwks_uri", &tenant.jwks_uri),
                ("discovery", &tenant.discovery),
            ] {
                if let Some(Err(why)) = url.as_deref().map(|url| check_url(url, allow_http)) {
                    issues.push(format!("{at}.{key}"), why);
                }
            }
            if tenant.cert_file.is_some() != tenant.key_file.is_some() {
                issues.push(&at, "set both cert_file and key_file, or neither");
            } else if tenant.cert_file.is_some() && tenant.hostnames.is_empty() {
                let why = "needs hostnames: the certificate is chosen by SNI";
                issues.push(format!("{at}.cert_file"), why);
            }
            let earlier = &self.tenants[..i];
            if let Some(j) = earlier.iter().position(|t| t.id == tenant.id) {
                issues.push(format!("{at}.id"), format!("duplicates tenant[{j}].id"));
            }
            for (h, host) in tenant.hostnames.iter().enumerate() {
                if let Some(j) = earlier.iter().position(|t| t.hostnames.contains(host)) {
                    let why = format!("{host} is already a hostname of tenant[{j}]");
                    issues.push(format!("{at}.hostnames[{h}]"), why);
                }
            }
            // Tenants without hostnames are told apart only by issuer and organization.
            let twin = earlier.iter().position(|t| {
                t.hostnames.is_empty() && t.issuer == tenant.issuer && t.org_id == tenant.org_id
            });
            if let Some(j) = twin.filter(|_| tenant.hostnames.is_empty()) {
                let why = format!(
                    "has the same issuer and org_id as tenant[{j}]; give one of them an org_id \
                     or hostnames"
                );
                issues.push(&at, why);
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &TenantConfig> {
        self.tenants.iter()
    }

    pub fn get(&self, id: &TenantId) -> Option<&TenantConfig> {
        self.tenants.iter().find(|t| &t.id == id)
    }

    pub fn len(&self) -> usize {
        self.tenants.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tenants.is_empty()
    }

    /// The tenant a token with this `iss` and `org_id`, presented at `host`, belongs to.
    ///
    /// Fails with [`ResolveError::WrongIssuer`] when no tenant has the issuer,
    /// [`ResolveError::WrongTenant`] when the host belongs to another tenant (or the issuer's
    /// tenants are served only on their own hostnames), and [`ResolveError::WrongOrganization`]
    /// when the token's organization is not the tenant's.
    pub fn resolve(
        &self,
        host: Option<&str>,
        issuer: &str,
        org_id: Option<&str>,
    ) -> Result<&TenantConfig, ResolveError> {
        if !self.tenants.iter().any(|t| t.issuer == issuer) {
            return Err(ResolveError::WrongIssuer);
        }
        let host_tenant = host
            .map(normalize_host)
            .and_then(|h| self.tenants.iter().position(|t| t.hostnames.contains(&h)));
        let candidates: Vec<&TenantConfig> = match host_tenant {
            // A tenant's own hostname serves that tenant only.
            Some(index) => self.tenants[index..=index]
                .iter()
                .filter(|t| t.issuer == issuer)
                .collect(),
            // Tenants with hostnames are not served on other hosts, so a token cannot reach
            // them through a shared or bare-IP host.
            None => self
                .tenants
                .iter()
                .filter(|t| t.issuer == issuer && t.hostnames.is_empty())
                .collect(),
        };
        if candidates.is_empty() {
            return Err(ResolveError::WrongTenant);
        }
        if let Some(org) = org_id {
            if let Some(tenant) = candidates.iter().find(|t| t.org_id.as_deref() == Some(org)) {
                return Ok(tenant);
            }
        }
        // A tenant without an org_id takes tokens without one; it takes tokens *with* one only
        // when none of its issuer's tenants uses organizations (a plain Auth0 tenant).
        let uses_orgs = candidates.iter().any(|t| t.org_id.is_some());
        match candidates.iter().find(|t| t.org_id.is_none()) {
            Some(tenant) if org_id.is_none() || !uses_orgs => Ok(tenant),
            _ => Err(ResolveError::WrongOrganization),
        }
    }
}

/// Lowercases a `Host`/SNI value and drops its port and a trailing dot.
pub fn normalize_host(raw: &str) -> String {
    let raw = raw.trim();
    let without_port = if let Some(rest) = raw.strip_prefix('[') {
        // IPv6 literal: keep the brackets' content.
        rest.split(']').next().unwrap_or(rest)
    } else {
        match raw.rsplit_once(':') {
            Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
            _ => raw,
        }
    };
    without_port.trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(id: &str, issuer: &str, org: Option<&str>, hosts: &[&str]) -> TenantConfig {
        TenantConfig {
            id: TenantId::parse(id).unwrap(),
            issuer: issuer.to_owned(),
            audiences: vec!["https://api".to_owned()],
            algorithms: vec![Algorithm::RS256],
            jwks_uri: Some(format!("{issuer}.well-known/jwks.json")),
            discovery: None,
            org_id: org.map(str::to_owned),
            hostnames: hosts.iter().map(|h| (*h).to_owned()).collect(),
            rate_limit: RateLimits::default(),
            leeway: Duration::from_secs(30),
            cert_file: None,
            key_file: None,
        }
    }

    const A: &str = "https://a.auth0.com/";
    const B: &str = "https://b.auth0.com/";

    fn registry() -> TenantRegistry {
        let tenants = vec![
            tenant("alpha", A, None, &["alpha.example.com"]),
            tenant("beta", B, None, &["beta.example.com"]),
            tenant("shared-x", "https://shared.auth0.com/", Some("org_x"), &[]),
            tenant("shared-y", "https://shared.auth0.com/", Some("org_y"), &[]),
            tenant("plain", "https://plain.auth0.com/", None, &[]),
        ];
        TenantRegistry { tenants }
    }

    fn resolved(host: Option<&str>, iss: &str, org: Option<&str>) -> Result<String, ResolveError> {
        registry()
            .resolve(host, iss, org)
            .map(|t| t.id.as_ref().to_owned())
    }

    #[test]
    fn a_tenant_is_found_at_its_own_hostname() {
        assert_eq!(
            resolved(Some("alpha.example.com"), A, None).unwrap(),
            "alpha"
        );
        assert_eq!(
            resolved(Some("ALPHA.example.com:8443"), A, None).unwrap(),
            "alpha"
        );
        assert_eq!(
            resolved(Some("alpha.example.com."), A, None).unwrap(),
            "alpha"
        );
    }

    #[test]
    fn a_token_of_tenant_b_at_tenant_a_hostname_is_refused() {
        assert_eq!(
            resolved(Some("alpha.example.com"), B, None),
            Err(ResolveError::WrongTenant)
        );
    }

    #[test]
    fn tenants_with_hostnames_are_not_served_on_other_hosts() {
        assert_eq!(
            resolved(Some("127.0.0.1:8443"), A, None),
            Err(ResolveError::WrongTenant)
        );
        assert_eq!(resolved(None, A, None), Err(ResolveError::WrongTenant));
    }

    #[test]
    fn an_unknown_issuer_is_a_wrong_issuer() {
        assert_eq!(
            resolved(None, "https://evil.example/", None),
            Err(ResolveError::WrongIssuer)
        );
        // Exact match: the missing trailing slash is another issuer.
        assert_eq!(
            resolved(None, "https://plain.auth0.com", None),
            Err(ResolveError::WrongIssuer)
        );
    }

    #[test]
    fn organizations_pick_the_tenant_when_issuers_are_shared() {
        let iss = "https://shared.auth0.com/";
        assert_eq!(resolved(None, iss, Some("org_x")).unwrap(), "shared-x");
        assert_eq!(resolved(None, iss, Some("org_y")).unwrap(), "shared-y");
        assert_eq!(
            resolved(None, iss, Some("org_z")),
            Err(ResolveError::WrongOrganization)
        );
        assert_eq!(
            resolved(None, iss, None),
            Err(ResolveError::WrongOrganization)
        );
    }

    #[test]
    fn a_tenant_without_organizations_ignores_org_id() {
        let iss = "https://plain.auth0.com/";
        assert_eq!(resolved(None, iss, Some("org_q")).unwrap(), "plain");
        assert_eq!(resolved(None, iss, None).unwrap(), "plain");
    }

    #[test]
    fn ambiguous_registries_are_refused_naming_the_key() {
        let tenants = vec![
            tenant("one", A, None, &["x.example.com"]),
            tenant("one", B, None, &["x.example.com"]),
            tenant("three", "https://s/", None, &[]),
            tenant("four", "https://s/", None, &[]),
        ];
        let registry = TenantRegistry { tenants };
        let mut issues = Issues::default();
        registry.check(false, &mut issues);
        let issues = issues.into_result(()).unwrap_err().issues();
        let keys: Vec<&str> = issues.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            ["tenant[1].id", "tenant[1].hostnames[0]", "tenant[3]"]
        );
    }

    #[test]
    fn hosts_are_normalized() {
        assert_eq!(normalize_host("Api.Example.COM:443"), "api.example.com");
        assert_eq!(normalize_host("[::1]:8443"), "::1");
        assert_eq!(normalize_host("example.com."), "example.com");
    }
}
