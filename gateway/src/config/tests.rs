use super::*;

const GOOD: &str = r#"
realm = "timesheets"

[jwks]
fetch_timeout_ms = 1500

[[tenant]]
id = "exampleco"
issuer = "https://exampleco.eu.auth0.com/"
audiences = ["https://api.exampleco.com/timesheets"]
jwks_uri = "https://exampleco.eu.auth0.com/.well-known/jwks.json"
hostnames = ["API.exampleco.com"]
rate_limit.tenant = { requests_per_second = 500, burst = 1000 }
rate_limit.client = { requests_per_second = 50, burst = 100 }

[[tenant]]
id = "other"
issuer = "https://shared.eu.auth0.com/"
audiences = ["https://api.exampleco.com/timesheets", "urn:timesheets"]
algorithms = ["RS256", "ES256", "EdDSA"]
discovery = "https://shared.eu.auth0.com/.well-known/openid-configuration"
org_id = "org_123"
leeway_secs = 10

[[route]]
method = "GET"
path = "/v1/openapi.json"
public = true

[[route]]
method = "post"
path = "/v1/timesheets/upload"
scopes = ["batch:upload"]

[[route]]
method = "POST"
path = "/v1/timesheets/weeks/{worker}/{week}/approve"
scopes = ["approve:timesheets", "read:timesheets"]
mode = "all"
"#;

fn issues(text: &str) -> Vec<ConfigIssue> {
    match GatewayConfig::from_toml_str(text) {
        Err(ConfigError::Invalid(issues)) => issues,
        other => panic!("expected invalid config, got {other:?}"),
    }
}

fn keys(text: &str) -> Vec<String> {
    issues(text).into_iter().map(|i| i.key).collect()
}

#[test]
fn a_good_file_is_read_with_defaults() {
    let config = GatewayConfig::from_toml_str(GOOD).unwrap();
    assert_eq!(config.realm, "timesheets");
    assert_eq!(config.jwks.fetch_timeout, Duration::from_millis(1500));
    assert_eq!(config.jwks.refresh_interval, Duration::from_secs(300));
    assert_eq!(config.jwks.min_refetch_interval, Duration::from_secs(30));
    assert_eq!(config.jwks.max_stale, Duration::from_secs(86_400));
    assert_eq!(config.jwks.negative_cache, Duration::from_secs(300));
    assert_eq!(config.token_cache.max_entries, 100_000);
    assert!(!config.proxy.server.work_stealing);
    assert_eq!(config.tenants.len(), 2);
    assert_eq!(config.routes.len(), 3);

    let a = config.tenants.iter().next().unwrap();
    assert_eq!(a.algorithms, [Algorithm::RS256]);
    assert_eq!(a.leeway_secs, 30);
    assert_eq!(a.hostnames, ["api.exampleco.com"]);
    assert_eq!(
        a.rate_limit.per_client,
        Some(Rate {
            requests_per_second: 50,
            burst: 100
        })
    );
    let b = config.tenants.iter().nth(1).unwrap();
    assert_eq!(
        b.algorithms,
        [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA]
    );
    assert!(matches!(b.key_source, KeySource::Discovery(_)));
    assert_eq!(b.org_id.as_deref(), Some("org_123"));
    assert!(config
        .routes
        .find("POST", "/v1/timesheets/upload")
        .is_some());
}

#[test]
fn none_and_hmac_algorithms_are_refused_naming_the_key() {
    let text = GOOD.replace(
        r#"algorithms = ["RS256", "ES256", "EdDSA"]"#,
        r#"algorithms = ["RS256", "none", "HS256", "XY999"]"#,
    );
    let found = issues(&text);
    let keys: Vec<&str> = found.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "tenant[1].algorithms[1]",
            "tenant[1].algorithms[2]",
            "tenant[1].algorithms[3]"
        ]
    );
    assert!(found[1].message.contains("only asymmetric"), "{}", found[1]);
}

#[test]
fn exactly_one_key_source_is_required() {
    let both = GOOD.replace(
        "org_id = \"org_123\"",
        "org_id = \"org_123\"\njwks_uri = \"https://x.example/jwks.json\"",
    );
    assert_eq!(keys(&both), ["tenant[1]"]);
    let neither = GOOD.replace(
        "discovery = \"https://shared.eu.auth0.com/.well-known/openid-configuration\"",
        "",
    );
    assert_eq!(keys(&neither), ["tenant[1]"]);
}

#[test]
fn bad_values_are_reported_together_with_their_keys() {
    let text = GOOD
        .replace("id = \"other\"", "id = \"Other Tenant\"")
        .replace(
            "issuer = \"https://shared.eu.auth0.com/\"",
            "issuer = \"shared\"",
        )
        .replace(
            "discovery = \"https://shared.eu.auth0.com/.well-known/openid-configuration\"",
            "discovery = \"http://idp.internal/.well-known/openid-configuration\"",
        )
        .replace("leeway_secs = 10", "leeway_secs = 3600")
        .replace("fetch_timeout_ms = 1500", "fetch_timeout_ms = 0")
        .replace("burst = 100 }", "burst = 0 }");
    assert_eq!(
        keys(&text),
        [
            "jwks.fetch_timeout_ms",
            "tenant[0].rate_limit.client.burst",
            "tenant[1].id",
            "tenant[1].issuer",
            "tenant[1].discovery",
            "tenant[1].leeway_secs",
        ]
    );
}

#[test]
fn plain_http_key_urls_need_loopback_or_allow_http() {
    let local = GOOD.replace(
        "https://exampleco.eu.auth0.com/.well-known/jwks.json",
        "http://127.0.0.1:8090/.well-known/jwks.json",
    );
    assert!(GatewayConfig::from_toml_str(&local).is_ok());
    let remote = GOOD.replace(
        "https://exampleco.eu.auth0.com/.well-known/jwks.json",
        "http://dev-idp:8090/.well-known/jwks.json",
    );
    assert_eq!(keys(&remote), ["tenant[0].jwks_uri"]);
    let allowed = remote.replace("[jwks]", "[jwks]\nallow_http = true");
    assert!(GatewayConfig::from_toml_str(&allowed).is_ok());
}

#[test]
fn unknown_and_missing_keys_are_named() {
    let typo = GOOD.replace("leeway_secs = 10", "leway_secs = 10");
    let found = issues(&typo);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].key, "tenant[1].leway_secs");
    assert!(found[0].message.contains("unknown field"), "{}", found[0]);

    let missing = GOOD.replace(
        "audiences = [\"https://api.exampleco.com/timesheets\"]\n",
        "",
    );
    let found = issues(&missing);
    assert_eq!(found[0].key, "tenant[0]");
    assert!(found[0].message.contains("audiences"), "{}", found[0]);

    let wrong_type = GOOD.replace("fetch_timeout_ms = 1500", "fetch_timeout_ms = \"soon\"");
    assert_eq!(keys(&wrong_type), ["jwks.fetch_timeout_ms"]);
}

#[test]
fn a_config_without_tenants_is_refused() {
    assert_eq!(keys("realm = \"x\""), ["tenant"]);
}

#[test]
// The closure's error type is figment's own, fixed by `Jail`.
#[allow(clippy::result_large_err)]
fn environment_overrides_nest_with_double_underscores() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("gateway.toml", GOOD)?;
        jail.set_env("GATEWAY__JWKS__MIN_REFETCH_INTERVAL_SECS", "5");
        jail.set_env("GATEWAY__REALM", "override");
        jail.set_env("GATEWAY__SERVER__WORK_STEALING", "true");
        let config = GatewayConfig::load(Path::new("gateway.toml")).map_err(|e| e.to_string())?;
        assert_eq!(config.jwks.min_refetch_interval, Duration::from_secs(5));
        assert_eq!(config.realm, "override");
        assert!(config.proxy.server.work_stealing);

        jail.set_env("GATEWAY__JWKS__BOGUS", "1");
        let err = GatewayConfig::load(Path::new("gateway.toml")).unwrap_err();
        assert!(
            err.to_string().starts_with("jwks.bogus: unknown field"),
            "{err}"
        );
        Ok(())
    });
}

#[test]
fn a_missing_file_names_the_path() {
    let err = GatewayConfig::load(Path::new("/nonexistent/gateway.toml")).unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/gateway.toml"),
        "{err}"
    );
}

#[test]
fn the_example_file_is_valid() {
    let config =
        GatewayConfig::from_toml_str(include_str!("../../config/gateway.example.toml")).unwrap();
    assert_eq!(config.tenants.len(), 2);
    assert!(
        config
            .routes
            .find("GET", "/v1/openapi.json")
            .unwrap()
            .public
    );
    assert!(config.routes.find("PUT", "/approvals/42").is_some());
}
