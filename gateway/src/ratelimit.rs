//! Rate limits per tenant and per client, with pingora-limits' `Rate` estimator over one-second
//! windows. The estimator is a count-min sketch: constant memory whatever the number of clients,
//! at the price of rare over-counting on hash collisions (which errs towards limiting).
//!
//! A request is refused when the current window already holds `burst` requests of that key, or
//! when the previous window ran above `requests_per_second` and the current one has reached it
//! too (a sustained overload). Limits come from the tenant's configuration on every call, so a
//! reload applies without resetting counters.

use std::time::Duration;

use pingora_limits::rate::Rate as Estimator;
use serde::Deserialize;
use timesheet_domain::TenantId;

/// Length of one counting window, hence also the `Retry-After` the client gets.
const WINDOW: Duration = Duration::from_secs(1);

/// `rate_limit` of a `[[tenant]]`: an absent limit is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, garde::Validate)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimits {
    /// All the tenant's requests together.
    #[garde(dive)]
    pub tenant: Option<Rate>,
    /// Each client of the tenant (the token's client id, else its subject) on its own.
    #[garde(dive)]
    pub client: Option<Rate>,
}

/// `{ requests_per_second = 100, burst = 200 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, garde::Validate)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    #[garde(range(min = 1))]
    pub requests_per_second: u32,
    #[garde(range(min = 1))]
    pub burst: u32,
}

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitScope {
    Tenant,
    Client,
}

/// A refusal: who hit the limit and when to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub scope: LimitScope,
    pub retry_after: Duration,
}

/// The gateway's rate limiter; one per process, shared by all workers.
pub struct RateLimiter {
    tenants: Estimator,
    clients: Estimator,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter").finish_non_exhaustive()
    }
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl RateLimiter {
    pub fn new() -> Self {
        Self {
            tenants: Estimator::new(WINDOW),
            clients: Estimator::new(WINDOW),
        }
    }

    /// Counts one request of `client` (client id, or subject when the token names no client)
    /// at `tenant`, whose limits are `limits`, and says whether it may pass.
    pub fn check(
        &self,
        tenant: &TenantId,
        limits: &RateLimits,
        client: &str,
    ) -> Result<(), Limited> {
        if let Some(limit) = limits.tenant {
            if over(&self.tenants, &tenant.as_ref(), limit) {
                return Err(limited(LimitScope::Tenant));
            }
        }
        if let Some(limit) = limits.client {
            if over(&self.clients, &(tenant.as_ref(), client), limit) {
                return Err(limited(LimitScope::Client));
            }
        }
        Ok(())
    }
}

fn limited(scope: LimitScope) -> Limited {
    Limited {
        scope,
        retry_after: WINDOW,
    }
}

fn over<K: std::hash::Hash>(estimator: &Estimator, key: &K, limit: Rate) -> bool {
    let current = estimator.observe(key, 1);
    let sustained = i64::from(limit.requests_per_second);
    let current = i64::try_from(current).unwrap_or(i64::MAX);
    current > i64::from(limit.burst)
        || (estimator.rate(key) > f64::from(limit.requests_per_second) && current > sustained)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tenant id and its limits.
    fn tenant(id: &str, tenant: Option<Rate>, client: Option<Rate>) -> (TenantId, RateLimits) {
        (TenantId::parse(id).unwrap(), RateLimits { tenant, client })
    }

    const TINY: Rate = Rate {
        requests_per_second: 1,
        burst: 2,
    };

    #[test]
    fn a_client_over_its_burst_is_limited_and_others_are_not() {
        let limiter = RateLimiter::new();
        let t = tenant("acme", None, Some(TINY));
        assert!(limiter.check(&t.0, &t.1, "c1").is_ok());
        assert!(limiter.check(&t.0, &t.1, "c1").is_ok());
        let refused = limiter.check(&t.0, &t.1, "c1").unwrap_err();
        assert_eq!(refused.scope, LimitScope::Client);
        assert_eq!(refused.retry_after, Duration::from_secs(1));
        assert!(
            limiter.check(&t.0, &t.1, "c2").is_ok(),
            "another client has its own budget"
        );
    }

    #[test]
    fn the_tenant_limit_counts_all_clients_together() {
        let limiter = RateLimiter::new();
        let t = tenant("acme", Some(TINY), None);
        assert!(limiter.check(&t.0, &t.1, "c1").is_ok());
        assert!(limiter.check(&t.0, &t.1, "c2").is_ok());
        assert_eq!(
            limiter.check(&t.0, &t.1, "c3").unwrap_err().scope,
            LimitScope::Tenant
        );
        let other = tenant("other", Some(TINY), None);
        assert!(limiter.check(&other.0, &other.1, "c1").is_ok());
    }

    #[test]
    fn no_limit_means_unlimited() {
        let limiter = RateLimiter::new();
        let t = tenant("acme", None, None);
        for _ in 0..1000 {
            assert!(limiter.check(&t.0, &t.1, "c1").is_ok());
        }
    }
}
