//! The configuration file as written (serde structs with `deny_unknown_fields`) and its
//! validation into the types of the parent module. Every problem becomes a [`ConfigIssue`] naming
//! its key; validation goes on after the first one so all are reported together.
//!
//! What it does not hold: loading and environment overrides (the parent module).

use std::time::Duration;

use jsonwebtoken::Algorithm;
use serde::Deserialize;
use timesheet_domain::TenantId;

use super::proxy::{
    default_strip_headers, tenant_cert, RawAdmin, RawAssertion, RawProxy, RawServer, RawUpstream,
};
use super::{
    ConfigIssue, GatewayConfig, JwksConfig, KeySource, Rate, TenantConfig, TenantRateLimit,
    TokenCacheConfig, SUPPORTED_ALGORITHMS,
};
use crate::policy::RouteTable;
use crate::tenant::TenantRegistry;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default = "default_realm")]
    realm: String,
    #[serde(default)]
    jwks: RawJwks,
    #[serde(default)]
    token_cache: RawTokenCache,
    #[serde(default)]
    tenant: Vec<RawTenant>,
    #[serde(default, rename = "route")]
    routes: Vec<crate::policy::RawRoute>,
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    upstream: RawUpstream,
    assertion: Option<RawAssertion>,
    #[serde(default)]
    admin: RawAdmin,
    #[serde(default = "default_strip_headers")]
    strip_headers: Vec<String>,
    #[serde(default)]
    telemetry: super::telemetry::RawTelemetry,
}

fn default_realm() -> String {
    "timesheets".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawJwks {
    refresh_interval_secs: u64,
    min_refetch_interval_secs: u64,
    max_stale_secs: u64,
    fetch_timeout_ms: u64,
    negative_cache_secs: u64,
    allow_http: bool,
}

impl Default for RawJwks {
    fn default() -> Self {
        Self {
            refresh_interval_secs: 300,
            min_refetch_interval_secs: 30,
            max_stale_secs: 86_400,
            fetch_timeout_ms: 2_000,
            negative_cache_secs: 300,
            allow_http: false,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawTokenCache {
    max_entries: u64,
    max_ttl_secs: u64,
}

impl Default for RawTokenCache {
    fn default() -> Self {
        Self {
            max_entries: 100_000,
            max_ttl_secs: 300,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTenant {
    id: String,
    issuer: String,
    audiences: Vec<String>,
    #[serde(default = "default_algorithms")]
    algorithms: Vec<String>,
    jwks_uri: Option<String>,
    discovery: Option<String>,
    org_id: Option<String>,
    #[serde(default)]
    hostnames: Vec<String>,
    #[serde(default)]
    rate_limit: RawTenantRateLimit,
    #[serde(default = "default_leeway")]
    leeway_secs: u64,
    /// Certificate served (by SNI) on this tenant's hostnames.
    cert_file: Option<std::path::PathBuf>,
    key_file: Option<std::path::PathBuf>,
}

fn default_algorithms() -> Vec<String> {
    vec!["RS256".to_owned()]
}

fn default_leeway() -> u64 {
    30
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTenantRateLimit {
    tenant: Option<RawRate>,
    client: Option<RawRate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRate {
    requests_per_second: u32,
    burst: u32,
}

impl RawConfig {
    pub(super) fn validate(self) -> Result<GatewayConfig, Vec<ConfigIssue>> {
        let mut issues = Vec::new();
        if self.realm.is_empty() || !self.realm.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
            issues.push(ConfigIssue::new(
                "realm",
                "must be non-empty printable ASCII",
            ));
        }
        let jwks = self.jwks.validate(&mut issues);
        let token_cache = TokenCacheConfig {
            max_entries: self.token_cache.max_entries,
            max_ttl: Duration::from_secs(self.token_cache.max_ttl_secs),
        };
        if self.token_cache.max_ttl_secs == 0 {
            issues.push(ConfigIssue::new(
                "token_cache.max_ttl_secs",
                "must be at least 1",
            ));
        }

        if self.tenant.is_empty() {
            issues.push(ConfigIssue::new(
                "tenant",
                "at least one [[tenant]] is required",
            ));
        }
        let tenants: Vec<TenantConfig> = self
            .tenant
            .into_iter()
            .enumerate()
            .filter_map(|(i, raw)| raw.validate(&format!("tenant[{i}]"), &jwks, &mut issues))
            .collect();
        let tenants = match TenantRegistry::new(tenants) {
            Ok(registry) => Some(registry),
            Err(more) => {
                issues.extend(more);
                None
            }
        };
        let proxy = RawProxy {
            server: self.server,
            upstream: self.upstream,
            assertion: self.assertion,
            admin: self.admin,
            strip_headers: self.strip_headers,
        }
        .validate(&mut issues);
        let telemetry = self.telemetry.validate(&mut issues);
        let routes = match RouteTable::from_raw(self.routes) {
            Ok(table) => Some(table),
            Err(more) => {
                issues.extend(more);
                None
            }
        };
        match (tenants, routes, proxy) {
            (Some(tenants), Some(routes), Some(proxy)) if issues.is_empty() => Ok(GatewayConfig {
                realm: self.realm,
                jwks,
                token_cache,
                tenants,
                routes,
                proxy,
                telemetry,
            }),
            _ => Err(issues),
        }
    }
}

impl RawJwks {
    fn validate(&self, issues: &mut Vec<ConfigIssue>) -> JwksConfig {
        let positive = [
            ("jwks.refresh_interval_secs", self.refresh_interval_secs),
            (
                "jwks.min_refetch_interval_secs",
                self.min_refetch_interval_secs,
            ),
            ("jwks.max_stale_secs", self.max_stale_secs),
            ("jwks.fetch_timeout_ms", self.fetch_timeout_ms),
            ("jwks.negative_cache_secs", self.negative_cache_secs),
        ];
        for (key, value) in positive {
            if value == 0 {
                issues.push(ConfigIssue::new(key, "must be at least 1"));
            }
        }
        if self.fetch_timeout_ms > 60_000 {
            issues.push(ConfigIssue::new(
                "jwks.fetch_timeout_ms",
                "must be at most 60000: requests wait on it",
            ));
        }
        if self.max_stale_secs < self.refresh_interval_secs {
            issues.push(ConfigIssue::new(
                "jwks.max_stale_secs",
                "must be at least jwks.refresh_interval_secs, or keys expire between refreshes",
            ));
        }
        JwksConfig {
            refresh_interval: Duration::from_secs(self.refresh_interval_secs),
            min_refetch_interval: Duration::from_secs(self.min_refetch_interval_secs),
            max_stale: Duration::from_secs(self.max_stale_secs),
            fetch_timeout: Duration::from_millis(self.fetch_timeout_ms),
            negative_cache: Duration::from_secs(self.negative_cache_secs),
            allow_http: self.allow_http,
        }
    }
}

impl RawTenant {
    fn validate(
        self,
        at: &str,
        jwks: &JwksConfig,
        issues: &mut Vec<ConfigIssue>,
    ) -> Option<TenantConfig> {
        let before = issues.len();
        let id = TenantId::parse(&self.id)
            .map_err(|e| issues.push(ConfigIssue::new(format!("{at}.id"), e.reason)))
            .ok();
        if let Err(why) = check_url(&self.issuer, true) {
            issues.push(ConfigIssue::new(format!("{at}.issuer"), why));
        }
        if self.audiences.is_empty() {
            issues.push(ConfigIssue::new(
                format!("{at}.audiences"),
                "at least one audience is required",
            ));
        }
        for (i, aud) in self.audiences.iter().enumerate() {
            if aud.trim().is_empty() || aud.trim() != aud {
                issues.push(ConfigIssue::new(
                    format!("{at}.audiences[{i}]"),
                    "must be non-empty, without surrounding spaces",
                ));
            }
        }
        let algorithms = parse_algorithms(&self.algorithms, &format!("{at}.algorithms"), issues);
        let key_source = match (self.jwks_uri, self.discovery) {
            (Some(uri), None) => check_url(&uri, jwks.allow_http)
                .map(|()| KeySource::JwksUri(uri))
                .map_err(|why| issues.push(ConfigIssue::new(format!("{at}.jwks_uri"), why)))
                .ok(),
            (None, Some(url)) => check_url(&url, jwks.allow_http)
                .and_then(|()| {
                    if url.ends_with("/.well-known/openid-configuration") {
                        Ok(KeySource::Discovery(url))
                    } else {
                        Err("must end with /.well-known/openid-configuration".to_owned())
                    }
                })
                .map_err(|why| issues.push(ConfigIssue::new(format!("{at}.discovery"), why)))
                .ok(),
            (Some(_), Some(_)) => {
                issues.push(ConfigIssue::new(at, "set jwks_uri or discovery, not both"));
                None
            }
            (None, None) => {
                issues.push(ConfigIssue::new(
                    at,
                    "one of jwks_uri or discovery is required",
                ));
                None
            }
        };
        if self.org_id.as_deref().is_some_and(|o| o.trim().is_empty()) {
            issues.push(ConfigIssue::new(
                format!("{at}.org_id"),
                "must not be empty",
            ));
        }
        let mut hostnames = Vec::with_capacity(self.hostnames.len());
        for (i, host) in self.hostnames.iter().enumerate() {
            let lower = host.to_ascii_lowercase();
            if is_hostname(&lower) {
                hostnames.push(lower);
            } else {
                issues.push(ConfigIssue::new(
                    format!("{at}.hostnames[{i}]"),
                    "must be a DNS name without scheme, port or wildcard",
                ));
            }
        }
        if self.leeway_secs > 300 {
            issues.push(ConfigIssue::new(
                format!("{at}.leeway_secs"),
                "must be at most 300",
            ));
        }
        let rate_limit = TenantRateLimit {
            tenant: validate_rate(
                self.rate_limit.tenant,
                &format!("{at}.rate_limit.tenant"),
                issues,
            ),
            per_client: validate_rate(
                self.rate_limit.client,
                &format!("{at}.rate_limit.client"),
                issues,
            ),
        };
        let tls = tenant_cert(self.cert_file, self.key_file, at, &hostnames, issues);
        if issues.len() != before {
            return None;
        }
        Some(TenantConfig {
            id: id?,
            issuer: self.issuer,
            audiences: self.audiences,
            algorithms,
            key_source: key_source?,
            org_id: self.org_id,
            hostnames,
            rate_limit,
            leeway_secs: self.leeway_secs,
            tls,
        })
    }
}

fn parse_algorithms(raw: &[String], at: &str, issues: &mut Vec<ConfigIssue>) -> Vec<Algorithm> {
    if raw.is_empty() {
        issues.push(ConfigIssue::new(at, "at least one algorithm is required"));
    }
    let mut out = Vec::with_capacity(raw.len());
    for (i, name) in raw.iter().enumerate() {
        let key = format!("{at}[{i}]");
        if name.eq_ignore_ascii_case("none") || name.to_ascii_uppercase().starts_with("HS") {
            issues.push(ConfigIssue::new(
                key,
                format!("{name:?} is refused: only asymmetric signatures are accepted"),
            ));
            continue;
        }
        match SUPPORTED_ALGORITHMS
            .iter()
            .find(|a| format!("{a:?}") == *name)
        {
            Some(alg) if !out.contains(alg) => out.push(*alg),
            Some(_) => {}
            None => issues.push(ConfigIssue::new(
                key,
                format!("{name:?} is not one of RS256, RS384, RS512, PS256, ES256, ES384, EdDSA"),
            )),
        }
    }
    out
}

fn validate_rate(raw: Option<RawRate>, at: &str, issues: &mut Vec<ConfigIssue>) -> Option<Rate> {
    let raw = raw?;
    if raw.requests_per_second == 0 {
        issues.push(ConfigIssue::new(
            format!("{at}.requests_per_second"),
            "must be at least 1",
        ));
    }
    if raw.burst == 0 {
        issues.push(ConfigIssue::new(
            format!("{at}.burst"),
            "must be at least 1",
        ));
    }
    Some(Rate {
        requests_per_second: raw.requests_per_second,
        burst: raw.burst,
    })
}

/// An absolute `https://` URL, or `http://` when allowed or on a loopback host (a local IdP).
/// Plain HTTP elsewhere would let anyone on the path substitute signing keys.
pub(crate) fn check_url(raw: &str, allow_http: bool) -> Result<(), String> {
    let url = reqwest::Url::parse(raw).map_err(|e| format!("not a URL ({e})"))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if allow_http || loopback => {}
        "http" => return Err("must be https (or set jwks.allow_http for a dev stack)".to_owned()),
        other => return Err(format!("scheme {other:?} is not http(s)")),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".to_owned());
    }
    Ok(())
}

fn is_hostname(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
}
