//! One stack per test: free ports, a temporary directory, the sample data copied into an inbox
//! the test may edit, and (for the PostgreSQL variant) a database of its own.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use devstack::{bin_dir_of_current_exe, ComponentName, Database, Ports, Stack, StackSpec};
use serde_json::Value;
use test_postgres::TestDatabase;

/// End-to-end test databases are named `e2e_<uuid v7>`.
const DATABASE_PREFIX: &str = "e2e_";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Which development client calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Importer,
    Reader,
    Admin,
    OtherTenant,
}

/// Runs `$scenario(Db)` as `$name::sqlite` and `$name::postgres`.
macro_rules! e2e_test {
    ($scenario:ident) => {
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$scenario($crate::harness::Db::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$scenario($crate::harness::Db::Postgres).await;
            }
        }
    };
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the e2e crate sits in the workspace root")
        .to_path_buf()
}

pub struct TestStack {
    pub stack: Stack,
    pub inbox: PathBuf,
    pub http: reqwest::Client,
    postgres_database: Option<TestDatabase>,
    _dir: Option<tempfile::TempDir>,
}

impl TestStack {
    pub async fn start(db: Db) -> Self {
        Self::start_with(db, |_| {}).await
    }

    /// Starts a stack after `adjust` has changed its spec (token lifetime, rate limits...).
    pub async fn start_with(db: Db, adjust: impl FnOnce(&mut StackSpec)) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = dir.path().to_path_buf();
        // E2E_KEEP_DIRS=1 keeps each stack's directory (logs, configs) for a post-mortem.
        let dir = if std::env::var_os("E2E_KEEP_DIRS").is_some() {
            eprintln!("e2e: keeping {}", dir.keep().display());
            None
        } else {
            Some(dir)
        };
        let bin_dir =
            bin_dir_of_current_exe().expect("the test binary sits in target/<profile>/deps");
        let mut spec = StackSpec::new(root.join("stack"), repo_root(), bin_dir);
        spec.ports = Ports::free().expect("free ports");
        spec.log_format = "json".to_owned();
        let inbox = root.join("inbox");
        copy_dir(
            &repo_root().join("importer-svc/samples/contractor-tracker"),
            &inbox,
        );
        spec.importer_inbox = inbox.clone();
        let postgres_database = match db {
            Db::Sqlite => None,
            Db::Postgres => {
                // Never skipped: an unreachable server fails the test with the reason.
                let database = TestDatabase::create(DATABASE_PREFIX)
                    .await
                    .unwrap_or_else(|err| panic!("{err}"));
                spec.database = Database::Postgres(database.url().to_owned());
                Some(database)
            }
        };
        adjust(&mut spec);
        let stack = match Stack::start(spec).await {
            Ok(stack) => stack,
            Err(err) => panic!("the stack did not start: {err}"),
        };
        let ca = std::fs::read(stack.layout.ca_cert()).expect("the stack's CA");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("a PEM CA"))
            .build()
            .expect("an HTTP client");
        Self {
            stack,
            inbox,
            http,
            postgres_database,
            _dir: dir,
        }
    }

    pub fn env(&self, key: &str) -> String {
        self.stack
            .env
            .get(key)
            .unwrap_or_else(|| panic!("stack.env has no {key}"))
            .to_owned()
    }

    pub fn gateway_url(&self, path: &str) -> String {
        format!("{}{path}", self.env("GATEWAY_URL"))
    }

    pub fn credentials(&self, who: Who) -> (String, String) {
        let c = &self.stack.credentials;
        let client = match who {
            Who::Importer => &c.importer,
            Who::Reader => &c.reader,
            Who::Admin => &c.admin,
            Who::OtherTenant => &c.other_tenant,
        };
        (client.client_id.clone(), client.client_secret.clone())
    }

    /// A fresh access token from dev-idp, by the client-credentials grant.
    pub async fn token(&self, who: Who) -> String {
        let (id, secret) = self.credentials(who);
        let response = self
            .http
            .post(self.env("TOKEN_URL"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", id.as_str()),
                ("client_secret", secret.as_str()),
                ("audience", devstack::AUDIENCE),
            ])
            .send()
            .await
            .expect("dev-idp answers");
        assert_eq!(response.status(), 200, "token request for {who:?}");
        let body: Value = response.json().await.expect("a JSON token response");
        body["access_token"]
            .as_str()
            .expect("an access_token")
            .to_owned()
    }

    /// A request through the gateway; `token` None sends no Authorization header.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let mut request = self.http.request(method.clone(), self.gateway_url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|err| panic!("{method} {path}: {err}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        Reply {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    /// A GET that waits out rate limiting (tests throttle some clients on purpose).
    pub async fn get(&self, path: &str, token: &str) -> Reply {
        for _ in 0..20 {
            let reply = self
                .call(reqwest::Method::GET, path, Some(token), None)
                .await;
            if reply.status != 429 {
                return reply;
            }
            let wait = reply
                .header("retry-after")
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(1);
            tokio::time::sleep(Duration::from_secs(wait.min(5))).await;
        }
        panic!("GET {path}: still rate limited after 20 attempts");
    }

    /// Every live entry of `source` visible to `token`, following `next` links.
    pub async fn entries(&self, token: &str, source: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut path = format!("/v1/timesheets/entries?source={source}&limit=500");
        loop {
            let reply = self.get(&path, token).await;
            assert_eq!(reply.status, 200, "{}", reply.text);
            out.extend(reply.body["data"].as_array().cloned().unwrap_or_default());
            match reply.body["next"].as_str() {
                Some(next) => path = next.to_owned(),
                None => return out,
            }
        }
    }

    /// `importer-svc --config <stack's importer.toml> <args>`, to completion.
    pub async fn importer(&self, args: &[&str]) -> Output {
        self.importer_command(args)
            .output()
            .await
            .expect("importer-svc runs")
    }

    pub fn importer_command(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(self.stack.spec.binary("importer-svc"));
        command
            .arg("--config")
            .arg(self.stack.config_file(ComponentName::Importer))
            .args(["--log-format", "json"])
            .args(args)
            .kill_on_drop(true);
        command
    }

    /// dev-idp's count of tokens issued to `who`.
    pub async fn tokens_issued(&self, who: Who) -> u64 {
        let (id, _) = self.credentials(who);
        let stats: Value = self
            .http
            .get(format!("{}admin/stats", self.env("ISSUER")))
            .bearer_auth(self.env("IDP_ADMIN_TOKEN"))
            .send()
            .await
            .expect("dev-idp answers")
            .json()
            .await
            .expect("JSON stats");
        tokens_for(&stats, &id)
    }

    pub async fn finish(self) {
        self.stack.stop().await;
        if let Some(database) = self.postgres_database {
            database
                .remove()
                .await
                .unwrap_or_else(|err| panic!("{err}"));
        }
    }
}

/// A client's count in dev-idp's `GET /admin/stats` (`{"total", "per_client": {id: n}, ...}`).
fn tokens_for(stats: &Value, client_id: &str) -> u64 {
    stats["per_client"][client_id].as_u64().unwrap_or(0)
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("creating the inbox");
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.expect("a directory entry");
        if entry.file_type().expect("a file type").is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copying a sample");
        }
    }
}

/// The exit code, stdout and stderr of a finished command, for assertion messages.
pub fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
