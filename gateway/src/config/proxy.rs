//! The proxy's own settings: `[server]` (TLS listener), `[upstream]` (timesheet-svc),
//! `[assertion]` (the identity-assertion signing key), `[admin]` (health and metrics listener)
//! and `strip_headers`, as written in the file and validated into typed values.
//!
//! They are optional at the TOML level so an auth-only configuration (tests, `check-config` of a
//! tenant file) stays valid; [`super::GatewayConfig::require_proxy`] insists on what `gateway run`
//! needs, naming each missing key.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::ConfigIssue;

/// Identity headers a client must never be able to set; always stripped, whatever the file says.
pub const DEFAULT_STRIP_HEADERS: [&str; 4] =
    ["x-user-id", "x-tenant-id", "x-principal", "x-scopes"];

/// `[server]`: the public TLS listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Default certificate chain (PEM), served when SNI names no tenant with its own.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// How long in-flight requests may finish after SIGTERM before the process exits.
    pub grace_period: Duration,
    /// Proxy worker threads.
    pub threads: usize,
    /// `false` (ours): each thread is a worker of its own, with its own listening socket on the
    /// address (`SO_REUSEPORT`) and its own upstream pool, so no request is handed between
    /// threads (see `workers`). `true`: Pingora's default, one work-stealing runtime over all
    /// threads behind one socket. A request here is a few tens of microseconds of work with
    /// nothing to balance; bench/gateway measured less CPU per request without stealing.
    pub work_stealing: bool,
    /// Bytes of the read buffer Pingora puts under each client connection's TLS (0: none).
    pub l4_read_buffer: usize,
    /// How long an HTTP/1 connection may wait for its next request, or stall within one
    /// request's header, before the gateway closes it (see `keepalive`).
    pub keepalive_timeout: Duration,
}

/// Default `[server] keepalive_timeout_secs`: the wait Pingora gives a connection's first
/// request, of the order of nginx's 75 s.
pub const DEFAULT_KEEPALIVE_TIMEOUT_SECS: u64 = 60;

/// Upper bound of `[server] keepalive_timeout_secs`: an idle connection holds memory and a
/// descriptor; an hour is already generous.
pub const MAX_KEEPALIVE_TIMEOUT_SECS: u64 = 3600;

/// Default `[server] l4_read_buffer_bytes`: none. Pingora's own default is 64 KiB, allocated
/// for every connection, busy or idle: 64 MiB of the RSS at 1,000 idle connections. rustls
/// already reads up to 4 KiB per `read(2)` into its own buffer, so a buffer under it would only
/// add a copy and 4 KiB per connection (bench/gateway: 4 MiB at 1,000 idle connections).
pub const DEFAULT_L4_READ_BUFFER_BYTES: usize = 0;

/// Upper bound of `[server] l4_read_buffer_bytes`: past one TLS record's worth, a bigger buffer
/// only costs memory.
pub const MAX_L4_READ_BUFFER_BYTES: usize = 1024 * 1024;

/// `[upstream]`: where accepted requests go (plain HTTP on the internal network).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamConfig {
    pub address: SocketAddr,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub write_timeout: Duration,
    pub health_check_interval: Duration,
}

/// `[assertion]`: the key the gateway signs identity assertions with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionConfig {
    /// PKCS#8 Ed25519 private key (PEM).
    pub private_key_file: PathBuf,
    pub kid: Option<String>,
    pub ttl_secs: i64,
    /// Reusable assertions kept (see `assertion_cache`); 0 signs every request on its own.
    pub cache_entries: u64,
}

/// `[admin]`: `/healthz`, `/readyz`, `/metrics` (plain HTTP; bind it to loopback or a
/// private interface).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfig {
    pub listen: SocketAddr,
}

/// A certificate chain and its key (PEM files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertPaths {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// Everything the proxy needs beyond tenants and routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxySettings {
    pub server: ServerConfig,
    pub upstream: UpstreamConfig,
    pub assertion: Option<AssertionConfig>,
    pub admin: AdminConfig,
    /// Lowercase header names removed from every forwarded request.
    pub strip_headers: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawServer {
    listen: String,
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    grace_period_secs: u64,
    threads: usize,
    work_stealing: bool,
    l4_read_buffer_bytes: usize,
    keepalive_timeout_secs: u64,
}

impl Default for RawServer {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8443".to_owned(),
            cert_file: None,
            key_file: None,
            grace_period_secs: 5,
            threads: 2,
            work_stealing: false,
            l4_read_buffer_bytes: DEFAULT_L4_READ_BUFFER_BYTES,
            keepalive_timeout_secs: DEFAULT_KEEPALIVE_TIMEOUT_SECS,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawUpstream {
    address: String,
    connect_timeout_ms: u64,
    read_timeout_ms: u64,
    write_timeout_ms: u64,
    health_check_interval_ms: u64,
}

impl Default for RawUpstream {
    fn default() -> Self {
        Self {
            address: "127.0.0.1:8080".to_owned(),
            connect_timeout_ms: 1_000,
            read_timeout_ms: 30_000,
            write_timeout_ms: 30_000,
            health_check_interval_ms: 2_000,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAssertion {
    private_key_file: PathBuf,
    kid: Option<String>,
    #[serde(default = "default_assertion_ttl")]
    ttl_secs: i64,
    #[serde(default = "default_assertion_cache_entries")]
    cache_entries: u64,
}

fn default_assertion_ttl() -> i64 {
    60
}

/// At most ~8 MB (an assertion is ~0.8 KB); a principal calling the same request line within
/// half an assertion's lifetime takes one entry, however many requests it sends.
fn default_assertion_cache_entries() -> u64 {
    10_000
}

/// Upper bound of `[assertion] cache_entries` (about 800 MB of assertions).
const MAX_ASSERTION_CACHE_ENTRIES: u64 = 1_000_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawAdmin {
    listen: String,
}

impl Default for RawAdmin {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:9464".to_owned(),
        }
    }
}

pub(super) fn default_strip_headers() -> Vec<String> {
    DEFAULT_STRIP_HEADERS
        .iter()
        .map(|h| (*h).to_owned())
        .collect()
}

/// The raw proxy sections, validated together.
pub(super) struct RawProxy {
    pub server: RawServer,
    pub upstream: RawUpstream,
    pub assertion: Option<RawAssertion>,
    pub admin: RawAdmin,
    pub strip_headers: Vec<String>,
}

impl RawProxy {
    pub(super) fn validate(self, issues: &mut Vec<ConfigIssue>) -> Option<ProxySettings> {
        let before = issues.len();
        let listen = socket_addr(&self.server.listen, "server.listen", issues);
        if self.server.cert_file.is_some() != self.server.key_file.is_some() {
            issues.push(ConfigIssue::new(
                "server",
                "set both cert_file and key_file, or neither",
            ));
        }
        if self.server.threads == 0 || self.server.threads > 256 {
            issues.push(ConfigIssue::new("server.threads", "must be 1..=256"));
        }
        if self.server.l4_read_buffer_bytes > MAX_L4_READ_BUFFER_BYTES {
            issues.push(ConfigIssue::new(
                "server.l4_read_buffer_bytes",
                format!("must be 0..={MAX_L4_READ_BUFFER_BYTES}"),
            ));
        }
        if !(1..=MAX_KEEPALIVE_TIMEOUT_SECS).contains(&self.server.keepalive_timeout_secs) {
            issues.push(ConfigIssue::new(
                "server.keepalive_timeout_secs",
                format!("must be 1..={MAX_KEEPALIVE_TIMEOUT_SECS}"),
            ));
        }
        let up = &self.upstream;
        let address = socket_addr(&up.address, "upstream.address", issues);
        for (key, ms) in [
            ("upstream.connect_timeout_ms", up.connect_timeout_ms),
            ("upstream.read_timeout_ms", up.read_timeout_ms),
            ("upstream.write_timeout_ms", up.write_timeout_ms),
            (
                "upstream.health_check_interval_ms",
                up.health_check_interval_ms,
            ),
        ] {
            if ms == 0 || ms > 600_000 {
                issues.push(ConfigIssue::new(key, "must be 1..=600000"));
            }
        }
        if let Some(a) = &self.assertion {
            // Longer-lived assertions widen the replay window inside the network.
            if !(1..=300).contains(&a.ttl_secs) {
                issues.push(ConfigIssue::new("assertion.ttl_secs", "must be 1..=300"));
            }
            if a.cache_entries > MAX_ASSERTION_CACHE_ENTRIES {
                issues.push(ConfigIssue::new(
                    "assertion.cache_entries",
                    format!("must be 0..={MAX_ASSERTION_CACHE_ENTRIES}"),
                ));
            }
            if a.kid.as_deref().is_some_and(|k| k.trim().is_empty()) {
                issues.push(ConfigIssue::new("assertion.kid", "must not be empty"));
            }
        }
        let admin = socket_addr(&self.admin.listen, "admin.listen", issues);
        let mut strip_headers = default_strip_headers();
        for (i, name) in self.strip_headers.iter().enumerate() {
            let lower = name.trim().to_ascii_lowercase();
            if http::HeaderName::from_bytes(lower.as_bytes()).is_err() {
                issues.push(ConfigIssue::new(
                    format!("strip_headers[{i}]"),
                    "is not a valid header name",
                ));
            } else if !strip_headers.contains(&lower) {
                strip_headers.push(lower);
            }
        }
        if issues.len() != before {
            return None;
        }
        Some(ProxySettings {
            server: ServerConfig {
                listen: listen?,
                cert_file: self.server.cert_file,
                key_file: self.server.key_file,
                grace_period: Duration::from_secs(self.server.grace_period_secs),
                threads: self.server.threads,
                work_stealing: self.server.work_stealing,
                l4_read_buffer: self.server.l4_read_buffer_bytes,
                keepalive_timeout: Duration::from_secs(self.server.keepalive_timeout_secs),
            },
            upstream: UpstreamConfig {
                address: address?,
                connect_timeout: Duration::from_millis(up.connect_timeout_ms),
                read_timeout: Duration::from_millis(up.read_timeout_ms),
                write_timeout: Duration::from_millis(up.write_timeout_ms),
                health_check_interval: Duration::from_millis(up.health_check_interval_ms),
            },
            assertion: self.assertion.map(|a| AssertionConfig {
                private_key_file: a.private_key_file,
                kid: a.kid,
                ttl_secs: a.ttl_secs,
                cache_entries: a.cache_entries,
            }),
            admin: AdminConfig { listen: admin? },
            strip_headers,
        })
    }
}

/// `host:port`; a name is resolved once here (at start and on reload), never per request.
fn socket_addr(raw: &str, key: &str, issues: &mut Vec<ConfigIssue>) -> Option<SocketAddr> {
    if let Ok(addr) = raw.parse() {
        return Some(addr);
    }
    match raw.to_socket_addrs().map(|mut it| it.next()) {
        Ok(Some(addr)) => Some(addr),
        Ok(None) => {
            issues.push(ConfigIssue::new(
                key,
                format!("{raw:?} resolves to nothing"),
            ));
            None
        }
        Err(e) => {
            issues.push(ConfigIssue::new(
                key,
                format!("{raw:?} is not host:port ({e})"),
            ));
            None
        }
    }
}

/// A tenant's optional `cert_file`/`key_file`, both or neither.
pub(super) fn tenant_cert(
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    at: &str,
    hostnames: &[String],
    issues: &mut Vec<ConfigIssue>,
) -> Option<CertPaths> {
    match (cert, key) {
        (Some(cert_file), Some(key_file)) => {
            if hostnames.is_empty() {
                issues.push(ConfigIssue::new(
                    format!("{at}.cert_file"),
                    "needs hostnames: the certificate is chosen by SNI",
                ));
            }
            Some(CertPaths {
                cert_file,
                key_file,
            })
        }
        (None, None) => None,
        _ => {
            issues.push(ConfigIssue::new(
                at,
                "set both cert_file and key_file, or neither",
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{ConfigError, GatewayConfig};

    const TENANT: &str = r#"
[[tenant]]
id = "exampleco"
issuer = "https://exampleco.eu.auth0.com/"
audiences = ["aud"]
jwks_uri = "https://exampleco.eu.auth0.com/.well-known/jwks.json"
"#;

    fn issues(text: &str) -> Vec<String> {
        issues_of(&format!("{text}\n{TENANT}"))
    }

    fn issues_of(text: &str) -> Vec<String> {
        match GatewayConfig::from_toml_str(text) {
            Err(ConfigError::Invalid(issues)) => issues.iter().map(|i| i.key.clone()).collect(),
            other => panic!("expected issues, got {other:?}"),
        }
    }

    #[test]
    fn proxy_settings_default_and_always_strip_identity_headers() {
        let config = GatewayConfig::from_toml_str(&format!(
            "strip_headers = [\"X-Custom-Identity\"]\n{TENANT}"
        ))
        .unwrap();
        let proxy = &config.proxy;
        assert_eq!(proxy.server.listen.to_string(), "127.0.0.1:8443");
        assert_eq!(proxy.admin.listen.to_string(), "127.0.0.1:9464");
        assert_eq!(proxy.upstream.read_timeout.as_millis(), 30_000);
        assert_eq!(proxy.server.l4_read_buffer, 0);
        assert_eq!(proxy.server.keepalive_timeout.as_secs(), 60);
        for name in [
            "x-user-id",
            "x-tenant-id",
            "x-principal",
            "x-scopes",
            "x-custom-identity",
        ] {
            assert!(proxy.strip_headers.iter().any(|h| h == name), "{name}");
        }
    }

    #[test]
    fn bad_proxy_settings_name_their_keys() {
        let keys = issues(
            r#"
strip_headers = ["bad header"]
[server]
listen = "not an address"
cert_file = "server.crt"
l4_read_buffer_bytes = 2097152
keepalive_timeout_secs = 0
[upstream]
read_timeout_ms = 0
[assertion]
private_key_file = "k.pem"
ttl_secs = 3600
cache_entries = 1000001
[admin]
listen = "127.0.0.1"
"#,
        );
        for key in [
            "server.listen",
            "server",
            "server.l4_read_buffer_bytes",
            "server.keepalive_timeout_secs",
            "upstream.read_timeout_ms",
            "assertion.ttl_secs",
            "assertion.cache_entries",
            "admin.listen",
            "strip_headers[0]",
        ] {
            assert!(keys.iter().any(|k| k == key), "{key} not in {keys:?}");
        }
    }

    #[test]
    fn run_requires_a_certificate_and_an_assertion_key() {
        let config = GatewayConfig::from_toml_str(TENANT).unwrap();
        let Err(ConfigError::Invalid(issues)) = config.require_proxy() else {
            panic!("expected issues");
        };
        let keys: Vec<&str> = issues.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["server.cert_file", "assertion.private_key_file"]);
    }

    #[test]
    fn a_tenant_certificate_needs_hostnames_and_both_files() {
        let only_cert = TENANT.replace("jwks_uri", "cert_file = \"a.crt\"\njwks_uri");
        assert_eq!(issues_of(&only_cert), ["tenant[0]"]);
        let no_hosts = TENANT.replace(
            "jwks_uri",
            "cert_file = \"a.crt\"\nkey_file = \"a.key\"\njwks_uri",
        );
        assert_eq!(issues_of(&no_hosts), ["tenant[0].cert_file"]);
    }
}
