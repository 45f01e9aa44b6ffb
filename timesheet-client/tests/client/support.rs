//! Fixtures: a stand-in identity provider, settings with short timeouts and backoff, and keys.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::Engine as _;
use jsonwebtoken::DecodingKey;
use serde_json::json;
use timesheet_client::{AuthConfig, Config, RetryConfig};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const TOKEN_PATH: &str = "/oauth/token";
pub const AUDIENCE: &str = "https://api.exampleco.com/timesheets";
pub const CLIENT_ID: &str = "importer";
pub const CLIENT_SECRET: &str = "s3cret-value";
/// Auth0's lifetime of machine tokens by default.
pub const DAY: u64 = 86_400;

/// Answers each token request with a new token, `token-1`, `token-2`, ..., in the body Auth0
/// documents for the client-credentials grant.
pub struct SequentialTokens {
    next: AtomicUsize,
    expires_in: u64,
}

impl SequentialTokens {
    pub fn new(expires_in: u64) -> Self {
        Self {
            next: AtomicUsize::new(0),
            expires_in,
        }
    }
}

impl Respond for SequentialTokens {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        let n = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(200)
            .insert_header("cache-control", "no-store")
            .set_body_json(json!({
                "access_token": format!("token-{n}"),
                "token_type": "Bearer",
                "expires_in": self.expires_in,
            }))
    }
}

/// A stand-in identity provider whose token endpoint issues sequential tokens.
pub async fn spawn_idp(expires_in: u64) -> MockServer {
    let idp = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(SequentialTokens::new(expires_in))
        .mount(&idp)
        .await;
    idp
}

pub fn token_url(idp: &MockServer) -> url::Url {
    format!("{}{TOKEN_PATH}", idp.uri()).parse().unwrap()
}

/// `client_secret_post` with Auth0's `audience`.
pub fn auth_config(idp: &MockServer) -> AuthConfig {
    let mut auth = AuthConfig::new(token_url(idp), CLIENT_ID);
    auth.client_secret = Some(CLIENT_SECRET.into());
    auth.audience = Some(AUDIENCE.into());
    auth.timeout = Duration::from_secs(2);
    auth
}

/// Retries that stay fast in tests.
pub fn fast_retry() -> RetryConfig {
    RetryConfig {
        max_attempts: 4,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        retry_after_cap: Duration::from_secs(5),
    }
}

pub fn config(api_base: &str, idp: &MockServer) -> Config {
    let mut config = Config::new(api_base.parse().unwrap(), auth_config(idp));
    config.retry = fast_retry();
    config.timeout = Duration::from_secs(2);
    config.connect_timeout = Duration::from_secs(1);
    config
}

/// The requests a mock server received on `path`.
pub async fn received(server: &MockServer, on: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path() == on)
        .collect()
}

/// A form-urlencoded body as a map (each field must appear once).
pub fn form(request: &Request) -> HashMap<String, String> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect();
    let map: HashMap<String, String> = pairs.iter().cloned().collect();
    assert_eq!(
        map.len(),
        pairs.len(),
        "a form field is repeated: {pairs:?}"
    );
    map
}

pub fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}

/// A private key as PEM and the public key to verify its signatures.
pub struct TestKey {
    pub private_pem: String,
    pub public: DecodingKey,
}

/// RSA-2048, PKCS#8 PEM.
pub fn rsa_key() -> TestKey {
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let pkcs8: Pkcs8V1Der<'static> = pair.as_der().unwrap();
    let public = pair.public_key();
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    TestKey {
        private_pem: pem("PRIVATE KEY", pkcs8.as_ref()),
        public: DecodingKey::from_rsa_components(
            &b64(public.modulus().big_endian_without_leading_zero()),
            &b64(public.exponent().big_endian_without_leading_zero()),
        )
        .unwrap(),
    }
}

/// EC P-256, PKCS#8 PEM.
pub fn ec_key() -> TestKey {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let pkcs8 = pair.to_pkcs8v1().unwrap();
    let point = pair.public_key().as_ref().to_vec();
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    TestKey {
        private_pem: pem("PRIVATE KEY", pkcs8.as_ref()),
        public: DecodingKey::from_ec_components(&b64(&point[1..33]), &b64(&point[33..])).unwrap(),
    }
}

pub fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// A loopback port nothing listens on: bound, then released.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
