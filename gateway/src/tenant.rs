//! Which tenant a token belongs to: the [`TenantRegistry`] and its pure [`TenantRegistry::resolve`].
//!
//! Resolution uses the token's `iss` (exact match), then its `org_id` where tenants share an
//! issuer and differ by Auth0 Organization, and the request's host where tenants have their own
//! hostnames. The rules that keep this unambiguous (unique ids, unique hostnames, unique
//! issuer/organization pairs among tenants without hostnames) are checked when the registry is
//! built, so resolution never has to pick between two tenants.
//!
//! What it does not hold: signature checks. The `iss`/`org_id` read here come from the
//! *unverified* payload and only choose whose keys to verify with; `auth::verify` checks them
//! again after the signature.

use std::collections::HashMap;
use std::sync::Arc;

use timesheet_domain::TenantId;

use crate::auth::AuthError;
use crate::config::{ConfigIssue, TenantConfig};

/// The configured tenants, indexed for resolution.
#[derive(Debug, Clone)]
pub struct TenantRegistry {
    tenants: Vec<Arc<TenantConfig>>,
    by_host: HashMap<String, usize>,
}

impl TenantRegistry {
    /// Builds the registry, refusing configurations where a token could match two tenants.
    pub fn new(tenants: Vec<TenantConfig>) -> Result<Self, Vec<ConfigIssue>> {
        let mut issues = Vec::new();
        let mut by_host = HashMap::new();
        for (i, tenant) in tenants.iter().enumerate() {
            if let Some(j) = tenants[..i].iter().position(|t| t.id == tenant.id) {
                issues.push(ConfigIssue::new(
                    format!("tenant[{i}].id"),
                    format!("duplicates tenant[{j}].id"),
                ));
            }
            for (h, host) in tenant.hostnames.iter().enumerate() {
                if let Some(j) = by_host.insert(host.clone(), i) {
                    issues.push(ConfigIssue::new(
                        format!("tenant[{i}].hostnames[{h}]"),
                        format!("{host} is already a hostname of tenant[{j}]"),
                    ));
                }
            }
            // Tenants without hostnames are told apart only by issuer and organization.
            if tenant.hostnames.is_empty() {
                let clash = tenants[..i].iter().position(|t| {
                    t.hostnames.is_empty() && t.issuer == tenant.issuer && t.org_id == tenant.org_id
                });
                if let Some(j) = clash {
                    issues.push(ConfigIssue::new(
                        format!("tenant[{i}]"),
                        format!(
                            "has the same issuer and org_id as tenant[{j}]; give one of them \
                             an org_id or hostnames"
                        ),
                    ));
                }
            }
        }
        if !issues.is_empty() {
            return Err(issues);
        }
        Ok(Self {
            tenants: tenants.into_iter().map(Arc::new).collect(),
            by_host,
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<TenantConfig>> {
        self.tenants.iter()
    }

    pub fn get(&self, id: &TenantId) -> Option<&Arc<TenantConfig>> {
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
    /// Fails with [`AuthError::WrongIssuer`] when no tenant has the issuer,
    /// [`AuthError::WrongTenant`] when the host belongs to another tenant (or the issuer's tenants
    /// are served only on their own hostnames), and [`AuthError::WrongOrganization`] when the
    /// token's organization is not the tenant's.
    pub fn resolve(
        &self,
        host: Option<&str>,
        issuer: &str,
        org_id: Option<&str>,
    ) -> Result<&Arc<TenantConfig>, AuthError> {
        if !self.tenants.iter().any(|t| t.issuer == issuer) {
            return Err(AuthError::WrongIssuer);
        }
        let host_tenant = host
            .map(normalize_host)
            .and_then(|h| self.by_host.get(h.as_str()).copied());
        let candidates: Vec<&Arc<TenantConfig>> = match host_tenant {
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
            return Err(AuthError::WrongTenant);
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
            _ => Err(AuthError::WrongOrganization),
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
    use crate::config::{KeySource, TenantRateLimit};

    fn tenant(id: &str, issuer: &str, org: Option<&str>, hosts: &[&str]) -> TenantConfig {
        TenantConfig {
            id: TenantId::parse(id).unwrap(),
            issuer: issuer.to_owned(),
            audiences: vec!["https://api".to_owned()],
            algorithms: vec![jsonwebtoken::Algorithm::RS256],
            key_source: KeySource::JwksUri(format!("{issuer}.well-known/jwks.json")),
            org_id: org.map(str::to_owned),
            hostnames: hosts.iter().map(|h| (*h).to_owned()).collect(),
            rate_limit: TenantRateLimit::default(),
            leeway_secs: 30,
            tls: None,
        }
    }

    const A: &str = "https://a.auth0.com/";
    const B: &str = "https://b.auth0.com/";

    fn registry() -> TenantRegistry {
        TenantRegistry::new(vec![
            tenant("alpha", A, None, &["alpha.example.com"]),
            tenant("beta", B, None, &["beta.example.com"]),
            tenant("shared-x", "https://shared.auth0.com/", Some("org_x"), &[]),
            tenant("shared-y", "https://shared.auth0.com/", Some("org_y"), &[]),
            tenant("plain", "https://plain.auth0.com/", None, &[]),
        ])
        .unwrap()
    }

    fn resolved(host: Option<&str>, iss: &str, org: Option<&str>) -> Result<String, AuthError> {
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
            Err(AuthError::WrongTenant)
        );
    }

    #[test]
    fn tenants_with_hostnames_are_not_served_on_other_hosts() {
        assert_eq!(
            resolved(Some("127.0.0.1:8443"), A, None),
            Err(AuthError::WrongTenant)
        );
        assert_eq!(resolved(None, A, None), Err(AuthError::WrongTenant));
    }

    #[test]
    fn an_unknown_issuer_is_a_wrong_issuer() {
        assert_eq!(
            resolved(None, "https://evil.example/", None),
            Err(AuthError::WrongIssuer)
        );
        // Exact match: the missing trailing slash is another issuer.
        assert_eq!(
            resolved(None, "https://plain.auth0.com", None),
            Err(AuthError::WrongIssuer)
        );
    }

    #[test]
    fn organizations_pick_the_tenant_when_issuers_are_shared() {
        let iss = "https://shared.auth0.com/";
        assert_eq!(resolved(None, iss, Some("org_x")).unwrap(), "shared-x");
        assert_eq!(resolved(None, iss, Some("org_y")).unwrap(), "shared-y");
        assert_eq!(
            resolved(None, iss, Some("org_z")),
            Err(AuthError::WrongOrganization)
        );
        assert_eq!(resolved(None, iss, None), Err(AuthError::WrongOrganization));
    }

    #[test]
    fn a_tenant_without_organizations_ignores_org_id() {
        let iss = "https://plain.auth0.com/";
        assert_eq!(resolved(None, iss, Some("org_q")).unwrap(), "plain");
        assert_eq!(resolved(None, iss, None).unwrap(), "plain");
    }

    #[test]
    fn ambiguous_registries_are_refused_naming_the_key() {
        let issues = TenantRegistry::new(vec![
            tenant("one", A, None, &["x.example.com"]),
            tenant("one", B, None, &["x.example.com"]),
            tenant("three", "https://s/", None, &[]),
            tenant("four", "https://s/", None, &[]),
        ])
        .unwrap_err();
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
