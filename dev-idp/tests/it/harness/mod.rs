//! The test harness: `spawn_idp()` starts an issuer on port 0 with a tenant of test clients
//! (one per authentication method, plus the odd ones error cases need) and returns a `TestIdp`
//! with one method per endpoint.
//!
//! RSA key generation is the slow part in debug builds, so keys are made once per test binary:
//! one issuer key directory (copied into each test's own directory) and one client key pair for
//! `private_key_jwt`.

#![allow(dead_code)]

mod fixtures;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dev_idp::{AccessClaims, Application, Config};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use fixtures::{client_key, copy_dir, template_keys};
pub use fixtures::{config_toml, foreign_private_pem, sign_assertion, sign_with};
/// Unix seconds, as the issuer reads them.
pub use timesheet_domain::unix_now as now;

pub const AUDIENCE: &str = "https://api.test/timesheets";
pub const OTHER_AUDIENCE: &str = "https://api.test/other";
pub const ADMIN_TOKEN: &str = "test-admin-token";
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// What varies between test issuers.
#[derive(Debug, Clone, Copy)]
pub struct IdpOptions {
    pub admin_token: bool,
    pub allow_user_tokens: bool,
}

impl Default for IdpOptions {
    fn default() -> Self {
        Self {
            admin_token: true,
            allow_user_tokens: false,
        }
    }
}

/// A running issuer. Dropping it leaves the server task to die with the test runtime; call
/// [`TestIdp::stop`] to stop it gracefully (and keep its directory).
pub struct TestIdp {
    pub base: String,
    pub issuer: String,
    pub http: reqwest::Client,
    pub dir: TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

/// An issuer with the default options and fresh copies of the shared keys.
pub async fn spawn_idp() -> TestIdp {
    spawn_idp_with(IdpOptions::default()).await
}

pub async fn spawn_idp_with(options: IdpOptions) -> TestIdp {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(template_keys(), &dir.path().join("keys"));
    spawn_in(dir, options).await
}

/// An issuer on `dir` as it is (keys included): for restarts.
pub async fn spawn_in(dir: TempDir, options: IdpOptions) -> TestIdp {
    std::fs::write(
        dir.path().join("jwt-client.pub.pem"),
        &client_key().public_pem,
    )
    .unwrap();
    let config = Config::from_toml(&config_toml(dir.path(), options)).unwrap();
    let app = Application::build(config).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    let issuer = app.issuer().to_owned();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    TestIdp {
        base,
        issuer,
        http: http_client(),
        dir,
        stop: Some(stop),
        task: Some(task),
    }
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// A jti no other assertion of this test binary uses.
pub fn unique_jti() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("jti-{}-{}", now(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A JSON error body, decoded.
pub async fn error_of(response: Response) -> (StatusCode, String, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap().to_owned(),
        body["error_description"].as_str().unwrap().to_owned(),
    )
}

impl TestIdp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn keys_dir(&self) -> PathBuf {
        self.dir.path().join("keys")
    }

    /// Stops the server gracefully and hands back its directory.
    pub async fn stop(mut self) -> TempDir {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
        self.dir
    }

    /// `POST /oauth/token` with a form body.
    pub async fn token_form(&self, params: &[(&str, &str)]) -> Response {
        self.http
            .post(self.url("/oauth/token"))
            .form(params)
            .send()
            .await
            .unwrap()
    }

    /// `POST /oauth/token` with a JSON body.
    pub async fn token_json(&self, body: &Value) -> Response {
        self.http
            .post(self.url("/oauth/token"))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// A token for `post-client` (client_secret_post) for the main API; panics unless 200.
    pub async fn post_client_token(&self, extra: &[(&str, &str)]) -> Value {
        let mut params = vec![
            ("grant_type", "client_credentials"),
            ("client_id", "post-client"),
            ("client_secret", "post-secret"),
            ("audience", AUDIENCE),
        ];
        params.extend_from_slice(extra);
        let response = self.token_form(&params).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    pub async fn jwks(&self) -> Value {
        let response = self
            .http
            .get(self.url("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// Verifies `token` as a relying party would: the key by `kid` from the published JWKS,
    /// RS256, this issuer, `audience`.
    pub async fn verify(
        &self,
        token: &str,
        audience: &str,
    ) -> Result<AccessClaims, jsonwebtoken::errors::Error> {
        self.verify_issued_by(token, audience, &self.issuer).await
    }

    /// [`verify`](Self::verify) for a token of `issuer` (a restarted issuer on port 0 has a new
    /// port, so a new issuer URL, but the same keys).
    pub async fn verify_issued_by(
        &self,
        token: &str,
        audience: &str,
        issuer: &str,
    ) -> Result<AccessClaims, jsonwebtoken::errors::Error> {
        let header = jsonwebtoken::decode_header(token)?;
        let jwks = self.jwks().await;
        let kid = header.kid.unwrap_or_default();
        let Some(jwk) = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid.as_str())
        else {
            return Err(jsonwebtoken::errors::ErrorKind::InvalidKeyFormat.into());
        };
        let key = DecodingKey::from_rsa_components(
            jwk["n"].as_str().unwrap(),
            jwk["e"].as_str().unwrap(),
        )?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[audience]);
        validation.set_issuer(&[issuer]);
        Ok(jsonwebtoken::decode::<AccessClaims>(token, &key, &validation)?.claims)
    }

    /// Admin call with `token` (None: no Authorization header).
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    /// Admin POST with the right token; panics unless 200.
    pub async fn admin_post(&self, path: &str, body: Option<Value>) -> Value {
        let response = self
            .admin(reqwest::Method::POST, path, Some(ADMIN_TOKEN), body)
            .await;
        assert_eq!(response.status(), StatusCode::OK, "POST {path}");
        response.json().await.unwrap()
    }

    pub async fn admin_get(&self, path: &str) -> Value {
        let response = self
            .admin(reqwest::Method::GET, path, Some(ADMIN_TOKEN), None)
            .await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    /// Claims of a valid assertion of `jwt-client` for this issuer.
    pub fn assertion_claims(&self) -> Value {
        let now = now();
        json!({
            "iss": "jwt-client",
            "sub": "jwt-client",
            "aud": self.issuer,
            "iat": now,
            "exp": now + 60,
            "jti": unique_jti(),
        })
    }

    /// `POST /oauth/token` authenticating with `assertion` (and no client_id).
    pub async fn token_with_assertion(&self, assertion: &str) -> Response {
        self.token_form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
            ("audience", AUDIENCE),
        ])
        .await
    }
}
