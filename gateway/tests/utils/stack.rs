//! A whole stack on free ports for the proxy tests: the built `gateway` binary (killed on drop)
//! with a temporary config, development certificates made with rcgen (a CA, a default
//! certificate and one per tenant hostname), JWKS servers, and an axum upstream that verifies the
//! identity assertion and echoes what it received.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gateway::devcert::DevCa;
use serde_json::{json, Value};

use super::testkit::{self, TestKey};
use super::{JwksServer, ISSUER_B, ISSUER_ORG};

pub use super::upstream::Upstream;

pub const HOST_A: &str = "a.example.com";
pub const HOST_B: &str = "b.example.com";
/// The rate-limited tenant's hostname.
pub const HOST_C: &str = "c.example.com";
pub const READ_TIMEOUT_MS: u64 = 800;
/// `[jwks] fetch_timeout` of every stack, in milliseconds.
pub const JWKS_FETCH_TIMEOUT_MS: u64 = 1000;
/// The Auth0 Organization of the optional `orgco` tenant ([`StackOptions::org_tenant`]).
pub const ORG_ID: &str = "org_a";

/// A free TCP port on 127.0.0.1 (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// === Gateway process ===

/// The gateway child process; killed when dropped so no test leaks one.
pub struct GatewayProcess {
    pub child: Child,
    pub log: PathBuf,
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl GatewayProcess {
    pub fn spawn(config: &Path, log: PathBuf) -> Self {
        Self::spawn_with_env(config, log, &[])
    }

    /// [`GatewayProcess::spawn`] with extra environment variables.
    pub fn spawn_with_env(config: &Path, log: PathBuf, env: &[(&str, String)]) -> Self {
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_gateway"))
            .args(["run", "--config"])
            .arg(config)
            .env("GATEWAY_LOG", "info")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .unwrap();
        Self { child, log }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The first log line containing `needle`, waiting up to 5 s for it: service-telemetry
    /// writes lines from its own thread, so the access line of a request can land a moment
    /// after the client has its response.
    pub async fn log_line(&self, needle: &str) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let text = self.log_text();
            if let Some(line) = text.lines().find(|l| l.contains(needle)) {
                return Some(line.to_owned());
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Its exit status, waiting up to `within`; fails the test (with the log) if it still runs.
    pub async fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the gateway still runs after {within:?}:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([&format!("-{sig}"), &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{sig} failed");
    }
}

// === The stack ===

pub struct Stack {
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    pub ca_pem: String,
    pub https: SocketAddr,
    pub admin: SocketAddr,
    pub upstream: Option<Upstream>,
    pub upstream_addr: SocketAddr,
    pub key_a: TestKey,
    pub key_b: TestKey,
    pub key_c: TestKey,
    pub gateway: GatewayProcess,
    pub tenant_certs: Vec<(String, String)>,
    /// The JWKS servers of tenant A (`exampleco`), B (`other`) and C (`limited`, and `orgco`
    /// when configured), in that order.
    pub jwks: Vec<JwksServer>,
}

/// Options of a stack.
#[derive(Default)]
pub struct StackOptions {
    /// Start without an upstream (it is down).
    pub no_upstream: bool,
    /// Lines added to `[jwks]`, e.g. `min_refetch_interval = "10m"` (not `fetch_timeout`,
    /// which is [`JWKS_FETCH_TIMEOUT_MS`]).
    pub jwks_settings: &'static str,
    /// JWKs tenant A's JWKS server publishes besides `key_a`'s.
    pub extra_keys_a: Vec<Value>,
    /// Adds tenant `orgco`: issuer `ISSUER_ORG`, Auth0 Organization [`ORG_ID`], no hostnames (so
    /// it is served at hosts of no tenant, such as 127.0.0.1), keys from the third JWKS server
    /// (`key_c`).
    pub org_tenant: bool,
    /// `[telemetry] otlp_endpoint`: tracing on, spans to this collector.
    pub otlp_endpoint: Option<String>,
    /// Extra environment variables of the gateway process.
    pub env: Vec<(&'static str, String)>,
    /// `[server] threads` (0: 1). With more than one, each is a worker with its own listening
    /// socket on the address (`work_stealing = false`, the default).
    pub threads: usize,
}

impl StackOptions {
    /// The default stack with two proxy workers, each on its own socket: what a test of
    /// something every worker must see (a reload, a shutdown, the listening sockets) runs on.
    pub fn two_workers() -> Self {
        Self {
            threads: 2,
            ..Self::default()
        }
    }
}

impl Stack {
    pub async fn start(options: StackOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca = DevCa::generate().unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p.display().to_string()
        };
        let default = ca.issue(&["localhost", "127.0.0.1", HOST_C]).unwrap();
        let a = ca.issue(&[HOST_A]).unwrap();
        let b = ca.issue(&[HOST_B]).unwrap();
        let files = [
            (
                write("server.crt", &default.cert_pem),
                write("server.key", &default.key_pem),
            ),
            (write("a.crt", &a.cert_pem), write("a.key", &a.key_pem)),
            (write("b.crt", &b.cert_pem), write("b.key", &b.key_pem)),
        ];
        let assertion = identity_assertion::generate_keypair().unwrap();
        let assertion_key = write("assertion.pem", &assertion.private_pem);

        let key_a = TestKey::rsa(0, "a-1");
        let key_b = TestKey::rsa(1, "b-1");
        let key_c = TestKey::rsa(2, "c-1");
        let mut keys_a = vec![key_a.jwk.clone()];
        keys_a.extend(options.extra_keys_a.iter().cloned());
        let ja = JwksServer::spawn(testkit::ISSUER, keys_a).await;
        let jb = JwksServer::spawn(ISSUER_B, vec![key_b.jwk.clone()]).await;
        let jc = JwksServer::spawn(ISSUER_ORG, vec![key_c.jwk.clone()]).await;

        let upstream_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let upstream = if options.no_upstream {
            None
        } else {
            Some(Upstream::spawn(upstream_addr, &assertion.public_pem).await)
        };
        let https: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let admin: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let text = config_text(&ConfigParts {
            https,
            admin,
            upstream: upstream_addr,
            files: &files,
            assertion_key: &assertion_key,
            jwks: [ja.jwks_uri(), jb.jwks_uri(), jc.jwks_uri()],
            jwks_settings: options.jwks_settings,
            org_tenant: options.org_tenant,
            extra_routes: "",
            otlp_endpoint: options.otlp_endpoint.as_deref(),
            threads: options.threads.max(1),
        });
        let config_path = dir.path().join("gateway.toml");
        std::fs::write(&config_path, text).unwrap();
        let gateway = GatewayProcess::spawn_with_env(
            &config_path,
            dir.path().join("gateway.log"),
            &options.env,
        );
        let stack = Self {
            config_path,
            ca_pem: ca.cert_pem.clone(),
            https,
            admin,
            upstream,
            upstream_addr,
            key_a,
            key_b,
            key_c,
            gateway,
            tenant_certs: vec![(a.cert_pem, HOST_A.into()), (b.cert_pem, HOST_B.into())],
            jwks: vec![ja, jb, jc],
            dir,
        };
        stack.wait_listening().await;
        stack
    }

    async fn wait_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let up = tokio::net::TcpStream::connect(self.https).await.is_ok()
                && tokio::net::TcpStream::connect(self.admin).await.is_ok();
            if up {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "gateway did not start:\n{}",
                self.gateway.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Tenant A's JWKS server (until a test removes it from [`Stack::jwks`] to stop it).
    pub fn jwks_a(&self) -> &JwksServer {
        &self.jwks[0]
    }

    /// A client that trusts only the test CA and resolves the tenant hostnames to the gateway.
    pub fn client(&self) -> reqwest::Client {
        self.client_builder().build().unwrap()
    }

    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).unwrap())
            .resolve(HOST_A, self.https)
            .resolve(HOST_B, self.https)
            .resolve(HOST_C, self.https)
            .timeout(Duration::from_secs(10))
    }

    pub fn url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.https.port())
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.admin)
    }

    /// A valid token of tenant A (exampleco) with `scope`.
    pub fn token_a(&self, scope: &str) -> String {
        let claims = testkit::with(
            testkit::machine_claims(testkit::now()),
            "scope",
            json!(scope),
        );
        self.key_a.sign(&claims)
    }

    pub fn token_b(&self) -> String {
        let claims = testkit::with(
            testkit::machine_claims(testkit::now()),
            "iss",
            json!(ISSUER_B),
        );
        self.key_b.sign(&claims)
    }

    pub fn token_c(&self, client: &str) -> String {
        let claims = testkit::with(
            testkit::machine_claims(testkit::now()),
            "iss",
            json!(ISSUER_ORG),
        );
        let claims = testkit::with(claims, "azp", json!(client));
        self.key_c.sign(&claims)
    }

    /// Rewrites the config file (for SIGHUP tests), keeping everything but the routes.
    pub fn rewrite_config(&self, f: impl FnOnce(String) -> String) {
        let text = std::fs::read_to_string(&self.config_path).unwrap();
        std::fs::write(&self.config_path, f(text)).unwrap();
    }
}

struct ConfigParts<'a> {
    https: SocketAddr,
    admin: SocketAddr,
    upstream: SocketAddr,
    files: &'a [(String, String); 3],
    assertion_key: &'a str,
    jwks: [String; 3],
    jwks_settings: &'a str,
    org_tenant: bool,
    extra_routes: &'a str,
    otlp_endpoint: Option<&'a str>,
    threads: usize,
}

fn config_text(p: &ConfigParts<'_>) -> String {
    let [(server_crt, server_key), (a_crt, a_key), (b_crt, b_key)] = p.files;
    let [ja, jb, jc] = &p.jwks;
    let org_tenant = if p.org_tenant {
        format!(
            r#"
[[tenant]]
id = "orgco"
issuer = "{ISSUER_ORG}"
audiences = ["{aud}"]
jwks_uri = "{jc}"
org_id = "{ORG_ID}"
"#,
            aud = testkit::AUDIENCE,
        )
    } else {
        String::new()
    };
    let telemetry = p
        .otlp_endpoint
        .map(|endpoint| format!("[telemetry]\notlp_endpoint = \"{endpoint}\"\n"))
        .unwrap_or_default();
    format!(
        r#"
[server]
listen = "{https}"
cert_file = "{server_crt}"
key_file = "{server_key}"
grace_period = "1s"
threads = {threads}

[upstream]
address = "{upstream}"
connect_timeout = "500ms"
read_timeout = "{READ_TIMEOUT_MS}ms"
write_timeout = "2s"
health_check_interval = "200ms"

[assertion]
private_key_file = "{assertion_key}"
kid = "gw-1"
ttl = "30s"

[admin]
listen = "{admin}"
{telemetry}
[jwks]
fetch_timeout = "{JWKS_FETCH_TIMEOUT_MS}ms"
{jwks_settings}

[[tenant]]
id = "exampleco"
issuer = "{issuer_a}"
audiences = ["{aud}"]
jwks_uri = "{ja}"
hostnames = ["{HOST_A}"]
cert_file = "{a_crt}"
key_file = "{a_key}"

[[tenant]]
id = "other"
issuer = "{ISSUER_B}"
audiences = ["{aud}"]
jwks_uri = "{jb}"
hostnames = ["{HOST_B}"]
cert_file = "{b_crt}"
key_file = "{b_key}"

[[tenant]]
id = "limited"
issuer = "{ISSUER_ORG}"
audiences = ["{aud}"]
jwks_uri = "{jc}"
hostnames = ["{HOST_C}"]
rate_limit.client = {{ requests_per_second = 1, burst = 2 }}
{org_tenant}
[[route]]
method = "GET"
path = "/v1/openapi.json"
public = true

[[route]]
method = "GET"
path = "/v1/timesheets/entries"
scopes = ["read:timesheets"]

[[route]]
method = "POST"
path = "/v1/timesheets/entries"
scopes = ["create:timesheets"]

[[route]]
method = "GET"
path = "/slow"
scopes = ["read:timesheets"]
{extra}
"#,
        https = p.https,
        admin = p.admin,
        upstream = p.upstream,
        assertion_key = p.assertion_key,
        issuer_a = testkit::ISSUER,
        aud = testkit::AUDIENCE,
        jwks_settings = p.jwks_settings,
        extra = p.extra_routes,
        threads = p.threads,
    )
}
