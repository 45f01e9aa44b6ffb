//! The JWKS cache against a live server: priming and discovery, key rotation, forged-kid floods,
//! a provider that stops, hangs or answers garbage, and the verified-token cache.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gateway::auth::{AuthError, Authenticator, FetchError, JwksCache};
use serde_json::json;
use timesheet_domain::TenantId;

use crate::utils::testkit::{encode_json, machine_claims, now, with, TestKey, ISSUER};
use crate::utils::{authenticator, bearer, config, JwksServer, Mode, HOST_A, ISSUER_B, ISSUER_ORG};

struct Setup {
    auth: Authenticator,
    key: TestKey,
    a: JwksServer,
    org: JwksServer,
    _b: JwksServer,
}

async fn setup(jwks_extra: &str) -> Setup {
    let key = TestKey::rsa(0, "rsa-1");
    let a = JwksServer::spawn(ISSUER, vec![key.jwk.clone()]).await;
    let b = JwksServer::spawn(ISSUER_B, vec![TestKey::rsa(1, "b-1").jwk]).await;
    let org = JwksServer::spawn(ISSUER_ORG, vec![TestKey::rsa(1, "org-1").jwk]).await;
    let auth = authenticator(&config(&a, &b, &org, jwks_extra)).await;
    Setup {
        auth,
        key,
        a,
        org,
        _b: b,
    }
}

impl Setup {
    async fn check(&self, token: &str) -> Result<timesheet_domain::Principal, AuthError> {
        self.auth
            .authenticate(Some(HOST_A), Some(&bearer(token)))
            .await
    }

    /// A fresh token (distinct jti) so the verified-token cache cannot answer for it.
    fn fresh(&self, key: &TestKey, n: u64) -> String {
        key.sign(&with(machine_claims(now()), "jti", json!(format!("t-{n}"))))
    }

    async fn stats_of(&self, tenant: &str) -> gateway::auth::TenantJwksStats {
        self.auth
            .jwks()
            .stats()
            .await
            .into_iter()
            .find(|s| s.tenant.as_ref() == tenant)
            .unwrap()
    }
}

#[tokio::test]
async fn prime_fetches_every_tenant_and_resolves_discovery_once() {
    let s = setup("").await;
    assert_eq!(s.a.jwks_hits(), 1);
    assert_eq!(s.org.discovery_hits(), 1);
    assert_eq!(s.org.jwks_hits(), 1);
    assert!(s.auth.jwks().is_ready().await);
    s.auth.jwks().refresh_all().await;
    assert_eq!(s.org.discovery_hits(), 1, "discovery is resolved once");
    assert_eq!(s.org.jwks_hits(), 2);
    let stats = s.stats_of("exampleco").await;
    assert_eq!((stats.fetches, stats.fetch_errors, stats.keys), (2, 0, 1));
    assert!(stats.key_age_secs.is_some());
}

#[tokio::test]
async fn prime_reports_tenants_whose_keys_cannot_be_fetched() {
    let key = TestKey::rsa(0, "rsa-1");
    let a = JwksServer::spawn(ISSUER, vec![key.jwk.clone()]).await;
    let b = JwksServer::spawn(ISSUER_B, vec![]).await;
    // Discovery that names another issuer must not be trusted.
    let org = JwksServer::spawn("https://impostor.example/", vec![key.jwk.clone()]).await;
    let cfg = config(&a, &b, &org, "");
    let jwks = JwksCache::new(&cfg.jwks, &cfg.tenant).unwrap();
    let mut failures = jwks.prime().await;
    failures.sort_by(|x, y| x.0.as_ref().cmp(y.0.as_ref()));
    let failed: Vec<&str> = failures.iter().map(|(t, _)| t.as_ref()).collect();
    assert_eq!(failed, ["orgco", "other"]);
    assert!(
        matches!(failures[0].1, FetchError::IssuerMismatch { .. }),
        "{:?}",
        failures[0].1
    );
    assert!(
        matches!(failures[1].1, FetchError::NoUsableKeys { .. }),
        "{:?}",
        failures[1].1
    );
    assert_eq!(
        org.jwks_hits(),
        0,
        "keys of a mismatched discovery are never fetched"
    );
    assert!(!jwks.is_ready().await);
    assert_eq!(
        jwks.key(&TenantId::parse("other").unwrap(), "b-1")
            .await
            .unwrap_err(),
        AuthError::JwksUnavailable
    );
}

#[tokio::test]
async fn a_rotated_key_passes_after_exactly_one_refetch() {
    let s = setup("").await;
    let new_key = TestKey::rsa(1, "rsa-2");
    s.a.set_keys(vec![s.key.jwk.clone(), new_key.jwk.clone()]);
    let hits = s.a.jwks_hits();
    let p = s.check(&s.fresh(&new_key, 1)).await.unwrap();
    assert_eq!(p.tenant.as_ref(), "exampleco");
    assert_eq!(s.a.jwks_hits(), hits + 1);
    // Further tokens of the new key need no fetch.
    s.check(&s.fresh(&new_key, 2)).await.unwrap();
    s.check(&s.fresh(&s.key, 3)).await.unwrap();
    assert_eq!(s.a.jwks_hits(), hits + 1);
}

#[tokio::test]
async fn a_flood_of_forged_kids_costs_at_most_one_fetch_per_cooldown() {
    let s = Arc::new(setup("").await);
    let hits = s.a.jwks_hits();
    // The kid is refused before any signature check, so one signature serves every token.
    let signed = TestKey::rsa(2, "x").sign(&machine_claims(now()));
    let (_, rest) = signed.split_once('.').unwrap();
    let rest: Arc<str> = Arc::from(rest);
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..20u32 {
        let s = Arc::clone(&s);
        let rest = Arc::clone(&rest);
        tasks.spawn(async move {
            let mut refused = 0u32;
            for i in 0..500u32 {
                let header = json!({"alg": "RS256", "kid": format!("forged-{worker}-{i}")});
                let token = format!("{}.{rest}", encode_json(&header));
                if s.check(&token).await == Err(AuthError::UnknownKid) {
                    refused += 1;
                }
            }
            refused
        });
    }
    let mut refused = 0;
    while let Some(done) = tasks.join_next().await {
        refused += done.unwrap();
    }
    assert_eq!(refused, 10_000);
    assert_eq!(
        s.a.jwks_hits(),
        hits + 1,
        "one refetch for 10,000 unknown kids"
    );
    let stats = s.stats_of("exampleco").await;
    assert_eq!(stats.refetches, 1);
    assert!(stats.refetches_suppressed >= 9_000, "{stats:?}");
    // Valid tokens were never blocked by the flood.
    s.check(&s.fresh(&s.key, 1)).await.unwrap();
}

#[tokio::test]
async fn a_kid_that_stayed_unknown_is_answered_from_the_negative_cache() {
    let s = setup("").await;
    let forger = TestKey::rsa(2, "ghost");
    let token = forger.sign(&machine_claims(now()));
    assert_eq!(s.check(&token).await, Err(AuthError::UnknownKid));
    let hits = s.a.jwks_hits();
    assert_eq!(s.check(&token).await, Err(AuthError::UnknownKid));
    assert_eq!(s.a.jwks_hits(), hits, "no fetch");
    let stats = s.stats_of("exampleco").await;
    // Answered by the negative cache, not merely by the cooldown.
    assert_eq!((stats.negative_hits, stats.refetches_suppressed), (1, 0));
    // Once the kid is published it is found again (the refresh clears the negative entry).
    s.a.set_keys(vec![s.key.jwk.clone(), forger.jwk.clone()]);
    assert!(s.auth.jwks().refresh_all().await.is_empty());
    let fresh = forger.sign(&with(machine_claims(now()), "jti", json!("again")));
    s.check(&fresh).await.unwrap();
}

#[tokio::test]
async fn cached_keys_keep_working_when_the_provider_stops() {
    let s = setup("").await;
    let Setup { auth, key, a, .. } = s;
    a.stop().await;
    let failures = auth.jwks().refresh_all().await;
    assert_eq!(failures.len(), 1);
    assert!(
        matches!(failures[0].1, FetchError::Transport { .. }),
        "{:?}",
        failures[0].1
    );
    for n in 0..3 {
        let token = key.sign(&with(machine_claims(now()), "jti", json!(format!("t-{n}"))));
        auth.authenticate(Some(HOST_A), Some(&bearer(&token)))
            .await
            .unwrap();
    }
    assert_eq!(auth.stats().verifications, 3);
    // A kid we never saw cannot be checked while the provider is down: 503, not 401.
    let stranger = TestKey::rsa(1, "rsa-9").sign(&machine_claims(now()));
    assert_eq!(
        auth.authenticate(Some(HOST_A), Some(&bearer(&stranger)))
            .await,
        Err(AuthError::JwksUnavailable)
    );
}

#[tokio::test]
async fn a_hanging_provider_does_not_hang_requests_past_the_fetch_timeout() {
    let s = setup("").await; // fetch_timeout = "500ms"
    s.a.set_mode(Mode::Hang);
    let stranger = TestKey::rsa(1, "rsa-9").sign(&machine_claims(now()));
    let started = Instant::now();
    assert_eq!(s.check(&stranger).await, Err(AuthError::JwksUnavailable));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // Known keys are served from the cache meanwhile, without waiting on the provider.
    let started = Instant::now();
    s.check(&s.fresh(&s.key, 1)).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let stats = s.stats_of("exampleco").await;
    assert_eq!(stats.fetch_errors, 1);
}

#[tokio::test]
async fn garbage_from_the_provider_keeps_the_last_good_keys() {
    let s = setup("").await;
    for (mode, expect) in [
        (Mode::Garbage, "not a JSON document"),
        (Mode::NoKeys, "no usable signing keys"),
        (Mode::Error, "HTTP status 500"),
    ] {
        s.a.set_mode(mode.clone());
        let failures = s.auth.jwks().refresh_all().await;
        assert_eq!(failures.len(), 1, "{mode:?}");
        assert!(
            failures[0].1.to_string().contains(expect),
            "{mode:?}: {}",
            failures[0].1
        );
    }
    let stats = s.stats_of("exampleco").await;
    assert_eq!((stats.fetch_errors, stats.keys), (3, 1));
    s.check(&s.fresh(&s.key, 1)).await.unwrap();
    // Back to normal: the next refresh succeeds.
    s.a.set_mode(Mode::Serve);
    assert!(s.auth.jwks().refresh_all().await.is_empty());
}

#[tokio::test]
async fn a_tenant_that_failed_to_prime_recovers_on_demand() {
    let key = TestKey::rsa(0, "rsa-1");
    let a = JwksServer::spawn(ISSUER, vec![key.jwk.clone()]).await;
    let b = JwksServer::spawn(ISSUER_B, vec![TestKey::rsa(1, "b-1").jwk]).await;
    let org = JwksServer::spawn(ISSUER_ORG, vec![TestKey::rsa(1, "org-1").jwk]).await;
    a.set_mode(Mode::Error);
    let cfg = config(&a, &b, &org, "");
    let jwks = Arc::new(JwksCache::new(&cfg.jwks, &cfg.tenant).unwrap());
    assert_eq!(jwks.prime().await.len(), 1);
    let auth = Authenticator::new(&cfg.tenant, &cfg.token_cache, jwks);
    a.set_mode(Mode::Serve);
    let token = key.sign(&machine_claims(now()));
    auth.authenticate(Some(HOST_A), Some(&bearer(&token)))
        .await
        .unwrap();
    assert_eq!(a.jwks_hits(), 2);
}
