use std::time::Duration;

use serde::Deserialize;

use crate::rule::within;
use crate::{Issues, Loader, Settings};

#[derive(Debug, Deserialize, garde::Validate)]
#[serde(default, deny_unknown_fields)]
struct Config {
    #[garde(range(min = 1, max = 256))]
    threads: u32,
    #[serde(with = "humantime_serde")]
    #[garde(custom(within(Duration::from_millis(1), Duration::from_secs(60))))]
    fetch_timeout: Duration,
    #[garde(dive)]
    server: Server,
    #[garde(dive)]
    tenant: Vec<Tenant>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            threads: 2,
            fetch_timeout: Duration::from_secs(2),
            server: Server::default(),
            tenant: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize, garde::Validate)]
#[serde(default, deny_unknown_fields)]
struct Server {
    #[garde(skip)]
    listen: std::net::SocketAddr,
    #[serde(with = "humantime_serde")]
    #[garde(skip)]
    grace_period: Duration,
}

impl Default for Server {
    fn default() -> Self {
        Self {
            listen: ([127, 0, 0, 1], 8443).into(),
            grace_period: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Deserialize, garde::Validate)]
#[serde(deny_unknown_fields)]
struct Tenant {
    #[garde(length(min = 1))]
    id: String,
    #[serde(default)]
    #[garde(range(max = 300))]
    leeway_secs: u64,
}

impl Settings for Config {
    fn check(&self, issues: &mut Issues) {
        for (i, tenant) in self.tenant.iter().enumerate() {
            if self.tenant[..i].iter().any(|t| t.id == tenant.id) {
                issues.push(format!("tenant[{i}].id"), "is used by an earlier tenant");
            }
        }
    }
}

fn keys(text: &str) -> Vec<String> {
    match Loader::new().toml(text).load::<Config>() {
        Ok(config) => panic!("expected issues, got {config:?}"),
        Err(err) => err.issues().into_iter().map(|i| i.key).collect(),
    }
}

#[test]
fn defaults_fill_what_the_file_leaves_out() {
    let config: Config = Loader::new().toml("threads = 4").load().unwrap();
    assert_eq!(config.threads, 4);
    assert_eq!(config.fetch_timeout, Duration::from_secs(2));
    assert_eq!(config.server.grace_period, Duration::from_secs(5));
}

#[test]
fn an_unknown_key_and_two_bad_values_are_reported_together() {
    let text = r#"
threads = 0
fetch_timeout = "soon"
[server]
listen = "not an address"
lisen = "127.0.0.1:1"
"#;
    let mut found = keys(text);
    found.sort();
    assert_eq!(
        found,
        ["fetch_timeout", "server.lisen", "server.listen", "threads"]
    );
}

#[test]
fn type_errors_and_rule_violations_in_lists_name_their_index() {
    let text = r#"
fetch_timeout = "2m"
[[tenant]]
id = "a"
[[tenant]]
id = "a"
leeway_secs = 301
"#;
    let found = keys(text);
    assert!(found.contains(&"fetch_timeout".to_owned()), "{found:?}");
    assert!(
        found.contains(&"tenant[1].leeway_secs".to_owned()),
        "{found:?}"
    );
    assert!(found.contains(&"tenant[1].id".to_owned()), "{found:?}");
}

#[test]
fn a_missing_required_key_is_named() {
    assert_eq!(keys("[[tenant]]\nleeway_secs = 1\n"), ["tenant[0].id"]);
}

#[test]
fn the_search_goes_on_past_a_section_missing_a_required_key() {
    let text = r#"
threads = 0
[[tenant]]
leeway_secs = 1
[server]
listen = "nowhere"
"#;
    let mut found = keys(text);
    found.sort();
    assert_eq!(found, ["server.listen", "tenant[0].id", "threads"]);
}

#[test]
fn a_file_that_cannot_be_read_is_an_error_not_an_empty_configuration() {
    let err = Loader::new()
        .file(std::path::Path::new("/nonexistent/gateway.toml"))
        .load::<Config>()
        .unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/gateway.toml"),
        "{err}"
    );
}

#[test]
fn toml_syntax_errors_are_reported() {
    let err = Loader::new()
        .toml("threads = = 1")
        .load::<Config>()
        .unwrap_err();
    assert!(!err.issues().is_empty());
}

#[test]
#[allow(clippy::result_large_err)]
fn the_environment_overrides_the_file_and_names_itself_when_wrong() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("svc.toml", "threads = 4\n[server]\ngrace_period = \"1s\"\n")?;
        jail.set_env("TEST__THREADS", "8");
        jail.set_env("TEST__SERVER__GRACE_PERIOD", "3s");
        jail.set_env("SOME_URL", "127.0.0.1:9");
        let config: Config = Loader::new()
            .file(std::path::Path::new("svc.toml"))
            .env("TEST__")
            .env_alias("SOME_URL", "server.listen")
            .load()
            .map_err(|e| e.to_string())?;
        assert_eq!(config.threads, 8);
        assert_eq!(config.server.grace_period, Duration::from_secs(3));
        assert_eq!(config.server.listen.port(), 9);

        jail.set_env("TEST__FETCH_TIMEOUT", "never");
        let err = Loader::new()
            .file(std::path::Path::new("svc.toml"))
            .env("TEST__")
            .load::<Config>()
            .unwrap_err()
            .to_string();
        assert!(err.contains("fetch_timeout"), "{err}");
        assert!(err.contains("TEST__FETCH_TIMEOUT"), "{err}");
        Ok(())
    });
}

#[derive(Debug, Deserialize, garde::Validate)]
#[serde(deny_unknown_fields)]
struct WithTenants {
    #[serde(default)]
    #[garde(range(min = 1))]
    threads: u32,
    #[serde(default)]
    #[garde(dive)]
    tenant: Vec<Tenant>,
}

impl Settings for WithTenants {
    fn check(&self, issues: &mut Issues) {
        if self.tenant.is_empty() {
            issues.push("tenant", "at least one [[tenant]] is required");
        }
    }
}

#[test]
fn rules_about_a_key_taken_out_are_not_reported_as_issues_of_the_file() {
    let text = "threads = 0\n[[tenant]]\nid = 7\n";
    let err = Loader::new().toml(text).load::<WithTenants>().unwrap_err();
    let mut found: Vec<String> = err.issues().into_iter().map(|i| i.key).collect();
    found.sort();
    assert_eq!(found, ["tenant[0].id", "threads"]);
    let err = Loader::new()
        .toml("threads = 1")
        .load::<WithTenants>()
        .unwrap_err();
    assert!(err.names("tenant"), "{err}");
}
