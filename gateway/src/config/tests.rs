use std::time::Duration;

use jsonwebtoken::Algorithm;
use service_config::ConfigIssue;

use super::*;
use crate::ratelimit::Rate;

const GOOD: &str = r#"
realm = "timesheets"

[jwks]
fetch_timeout = "1500ms"

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
leeway = "10s"

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

/// One tenant, for the tests of other sections.
const TENANT: &str = r#"
[[tenant]]
id = "exampleco"
issuer = "https://exampleco.eu.auth0.com/"
audiences = ["aud"]
jwks_uri = "https://exampleco.eu.auth0.com/.well-known/jwks.json"
"#;

fn issues(text: &str) -> Vec<ConfigIssue> {
    match Config::from_toml_str(text) {
        Err(err) => err.issues(),
        Ok(config) => panic!("expected issues, got {config:?}"),
    }
}

fn keys(text: &str) -> Vec<String> {
    issues(text).into_iter().map(|i| i.key).collect()
}

/// Keys of the issues of `text` below [`TENANT`], sorted.
fn sorted_keys(text: &str) -> Vec<String> {
    let mut found = keys(&format!("{text}\n{TENANT}"));
    found.sort();
    found
}

#[test]
fn a_good_file_is_read_with_defaults() {
    let config = Config::from_toml_str(GOOD).unwrap();
    assert_eq!(config.realm, "timesheets");
    assert_eq!(config.jwks.fetch_timeout, Duration::from_millis(1500));
    assert_eq!(config.jwks.refresh_interval, Duration::from_secs(300));
    assert_eq!(config.jwks.min_refetch_interval, Duration::from_secs(30));
    assert_eq!(config.jwks.max_stale, Duration::from_secs(86_400));
    assert_eq!(config.jwks.negative_cache, Duration::from_secs(300));
    assert_eq!(config.token_cache.max_entries, 100_000);
    assert!(!config.server.work_stealing);
    assert_eq!(config.summary(), "2 tenants, 3 routes");

    let a = config.tenant.iter().next().unwrap();
    assert_eq!(a.algorithms, [Algorithm::RS256]);
    assert_eq!(a.leeway, Duration::from_secs(30));
    assert_eq!(a.hostnames, ["api.exampleco.com"]);
    assert_eq!(
        a.rate_limit.client,
        Some(Rate {
            requests_per_second: 50,
            burst: 100
        })
    );
    let b = config.tenant.iter().nth(1).unwrap();
    assert_eq!(
        b.algorithms,
        [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA]
    );
    assert!(b.discovery.is_some() && b.jwks_uri.is_none());
    assert_eq!(b.org_id.as_deref(), Some("org_123"));
    assert_eq!(b.leeway, Duration::from_secs(10));
    assert!(config.route.find("POST", "/v1/timesheets/upload").is_some());
}

#[test]
fn hmac_and_unsupported_algorithms_are_refused_naming_the_key() {
    let text = GOOD.replace(
        r#"algorithms = ["RS256", "ES256", "EdDSA"]"#,
        r#"algorithms = ["RS256", "HS256", "PS512"]"#,
    );
    let found = issues(&text);
    let named: Vec<&str> = found.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(
        named,
        ["tenant[1].algorithms[1]", "tenant[1].algorithms[2]"]
    );
    assert!(found[0].message.contains("only asymmetric"), "{}", found[0]);
    // `none` is no algorithm at all.
    let none = GOOD.replace(r#""ES256", "EdDSA""#, r#""none""#);
    assert_eq!(keys(&none), ["tenant[1].algorithms[1]"]);
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
    let not_discovery = GOOD.replace("/.well-known/openid-configuration", "/discovery");
    assert_eq!(keys(&not_discovery), ["tenant[1].discovery"]);
}

#[test]
fn bad_values_are_reported_together_with_their_keys() {
    let text = GOOD
        .replace(
            "issuer = \"https://shared.eu.auth0.com/\"",
            "issuer = \"shared\"",
        )
        .replace(
            "discovery = \"https://shared.eu.auth0.com/.well-known/openid-configuration\"",
            "discovery = \"http://idp.internal/.well-known/openid-configuration\"",
        )
        .replace("leeway = \"10s\"", "leeway = \"1h\"")
        .replace("fetch_timeout = \"1500ms\"", "fetch_timeout = \"0s\"")
        .replace("burst = 100 }", "burst = 0 }");
    let mut found = keys(&text);
    found.sort();
    assert_eq!(
        found,
        [
            "jwks.fetch_timeout",
            "tenant[0].rate_limit.client.burst",
            "tenant[1].discovery",
            "tenant[1].issuer",
            "tenant[1].leeway",
        ]
    );
}

#[test]
fn a_tenant_id_must_be_a_tenant_id() {
    let text = GOOD.replace("id = \"other\"", "id = \"Other Tenant\"");
    assert_eq!(keys(&text), ["tenant[1].id"]);
}

#[test]
fn a_bad_tenant_does_not_hide_the_issues_of_other_sections() {
    let text = GOOD
        .replace("id = \"other\"", "id = \"Other Tenant\"")
        .replace("realm = \"timesheets\"", "realm = \"\"");
    assert_eq!(keys(&text), ["tenant[1].id", "realm"]);
}

#[test]
fn tenants_a_token_could_not_tell_apart_are_refused() {
    let third = TENANT.replace(
        "id = \"exampleco\"",
        "id = \"exampleco\"\nhostnames = [\"api.exampleco.com\"]",
    );
    assert_eq!(
        keys(&format!("{GOOD}\n{third}")),
        ["tenant[2].id", "tenant[2].hostnames[0]"]
    );
}

#[test]
fn plain_http_key_urls_need_loopback_or_allow_http() {
    let local = GOOD.replace(
        "https://exampleco.eu.auth0.com/.well-known/jwks.json",
        "http://127.0.0.1:8090/.well-known/jwks.json",
    );
    assert!(Config::from_toml_str(&local).is_ok());
    let remote = GOOD.replace(
        "https://exampleco.eu.auth0.com/.well-known/jwks.json",
        "http://dev-idp:8090/.well-known/jwks.json",
    );
    assert_eq!(keys(&remote), ["tenant[0].jwks_uri"]);
    let allowed = remote.replace("[jwks]", "[jwks]\nallow_http = true");
    assert!(Config::from_toml_str(&allowed).is_ok());
}

#[test]
fn unknown_and_missing_keys_are_named() {
    let typo = GOOD.replace("leeway = \"10s\"", "leway = \"10s\"");
    let found = issues(&typo);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].key, "tenant[1].leway");
    assert!(found[0].message.contains("unknown field"), "{}", found[0]);

    let missing = GOOD.replace(
        "audiences = [\"https://api.exampleco.com/timesheets\"]\n",
        "",
    );
    assert_eq!(keys(&missing), ["tenant[0].audiences"]);

    let wrong_type = GOOD.replace("fetch_timeout = \"1500ms\"", "fetch_timeout = \"soon\"");
    assert_eq!(keys(&wrong_type), ["jwks.fetch_timeout"]);
}

#[test]
fn a_config_without_tenants_is_refused() {
    assert_eq!(keys("realm = \"x\""), ["tenant"]);
}

#[test]
fn keys_must_not_expire_between_refreshes() {
    let text = "[jwks]\nrefresh_interval = \"10m\"\nmax_stale = \"5m\"";
    assert_eq!(sorted_keys(text), ["jwks.max_stale"]);
}

#[test]
fn bad_routes_are_refused_naming_the_key() {
    let route = |method: &str, path: &str, rest: &str| {
        format!("[[route]]\nmethod = \"{method}\"\npath = \"{path}\"\n{rest}\n")
    };
    let scoped = "scopes = [\"read:timesheets\"]";
    let text = [
        route("FETCH", "/a", scoped),
        route("GET", "/c", ""),
        route("GET", "/d", &format!("{scoped}\npublic = true")),
        route("GET", "/f/{id}", scoped),
        route("GET", "/f/{id}", scoped),
    ]
    .concat();
    assert_eq!(
        sorted_keys(&text),
        [
            "route[0].method",
            "route[1].scopes",
            "route[2].scopes",
            "route[4].path",
        ]
    );
    let unknown = route("GET", "/b", "scopes = [\"read:everything\"]");
    assert!(sorted_keys(&unknown).contains(&"route[0].scopes[0]".to_owned()));
    assert_eq!(
        sorted_keys(&route("GET", "/e/x*", scoped)),
        ["route[0].path"]
    );
}

#[test]
// The closure's error type is figment's own, fixed by `Jail`.
#[allow(clippy::result_large_err)]
fn environment_overrides_nest_with_double_underscores() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("gateway.toml", GOOD)?;
        jail.set_env("GATEWAY__JWKS__MIN_REFETCH_INTERVAL", "5s");
        jail.set_env("GATEWAY__REALM", "override");
        jail.set_env("GATEWAY__SERVER__WORK_STEALING", "true");
        jail.set_env("GATEWAY__TELEMETRY__OTLP_ENDPOINT", "http://collector:4318");
        jail.set_env("GATEWAY_LOG", "warn");
        let config = Config::load(Path::new("gateway.toml")).map_err(|e| e.to_string())?;
        assert_eq!(config.jwks.min_refetch_interval, Duration::from_secs(5));
        assert_eq!(config.realm, "override");
        assert!(config.server.work_stealing);
        assert_eq!(
            config.telemetry.otlp_endpoint.as_deref(),
            Some("http://collector:4318")
        );
        assert_eq!(config.log.filter, "warn");

        jail.set_env("GATEWAY__JWKS__BOGUS", "1");
        let err = Config::load(Path::new("gateway.toml")).unwrap_err();
        assert!(
            err.to_string().starts_with("jwks.bogus: unknown field"),
            "{err}"
        );
        Ok(())
    });
}

#[test]
fn a_missing_file_names_the_path() {
    let err = Config::load(Path::new("/nonexistent/gateway.toml")).unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/gateway.toml"),
        "{err}"
    );
}

#[test]
fn the_example_file_is_valid() {
    let config = Config::from_toml_str(include_str!("../../config/gateway.example.toml")).unwrap();
    assert_eq!(config.tenant.len(), 2);
    let (_, openapi) = config.route.find("GET", "/v1/openapi.json").unwrap();
    assert!(openapi.public);
    assert!(config.route.find("PUT", "/approvals/42").is_some());
    assert!(config.require_proxy().is_ok());
}

#[test]
fn proxy_settings_default_and_header_names_are_lowercase() {
    let config = Config::from_toml_str(&format!(
        "strip_headers = [\"X-Custom-Identity\"]\n{TENANT}"
    ))
    .unwrap();
    assert_eq!(config.server.listen.to_string(), "127.0.0.1:8443");
    assert_eq!(config.admin.listen.to_string(), "127.0.0.1:9464");
    assert_eq!(config.upstream.read_timeout, Duration::from_secs(30));
    assert_eq!(config.server.l4_read_buffer_bytes, 0);
    assert_eq!(config.server.keepalive_timeout, Duration::from_secs(60));
    assert_eq!(config.strip_headers, ["x-custom-identity"]);
}

#[test]
fn bad_proxy_settings_name_their_keys() {
    let text = r#"
strip_headers = ["bad header"]
[server]
listen = "not an address"
cert_file = "server.crt"
l4_read_buffer_bytes = 2097152
keepalive_timeout = "0s"
threads = 0
[upstream]
address = "nowhere"
read_timeout = "0s"
[assertion]
private_key_file = "k.pem"
ttl = "1h"
cache_entries = 1000001
kid = ""
[admin]
listen = "127.0.0.1"
"#;
    assert_eq!(
        sorted_keys(text),
        [
            "admin.listen",
            "assertion.cache_entries",
            "assertion.kid",
            "assertion.ttl",
            "server",
            "server.keepalive_timeout",
            "server.l4_read_buffer_bytes",
            "server.listen",
            "server.threads",
            "strip_headers[0]",
            "upstream.address",
            "upstream.read_timeout",
        ]
    );
}

#[test]
fn run_requires_a_certificate_and_an_assertion_key() {
    let config = Config::from_toml_str(TENANT).unwrap();
    let keys: Vec<String> = config
        .require_proxy()
        .unwrap_err()
        .issues()
        .into_iter()
        .map(|i| i.key)
        .collect();
    assert_eq!(keys, ["server.cert_file", "assertion.private_key_file"]);
}

#[test]
fn a_tenant_certificate_needs_hostnames_and_both_files() {
    let only_cert = TENANT.replace("jwks_uri", "cert_file = \"a.crt\"\njwks_uri");
    assert_eq!(keys(&only_cert), ["tenant[0]"]);
    let no_hosts = TENANT.replace(
        "jwks_uri",
        "cert_file = \"a.crt\"\nkey_file = \"a.key\"\njwks_uri",
    );
    assert_eq!(keys(&no_hosts), ["tenant[0].cert_file"]);
}

#[test]
fn tracing_is_off_unless_an_endpoint_is_configured_and_bad_settings_name_their_keys() {
    let config = Config::from_toml_str(TENANT).unwrap();
    assert_eq!(config.telemetry.otlp_endpoint, None);
    assert_eq!(config.telemetry.sampling_ratio, 1.0);
    let text = "[telemetry]\notlp_endpoint = \"collector:4318\"\nsampling_ratio = 2.0\nsample = 1\n[log]\nformat = \"xml\"";
    assert_eq!(
        sorted_keys(text),
        [
            "log.format",
            "telemetry.otlp_endpoint",
            "telemetry.sample",
            "telemetry.sampling_ratio"
        ]
    );
}
