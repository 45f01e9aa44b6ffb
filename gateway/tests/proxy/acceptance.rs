//! The first three acceptance points of the gateway issue, shown through the running gateway over
//! real TLS (a client that trusts only the generated CA), never against the `Authenticator`
//! directly (that is `tests/auth/`):
//!
//! 1. forged and broken tokens, one table row each, are refused with 401 (503 only where the
//!    gateway says the keys are unavailable), an RFC 6750 challenge and a problem body, over
//!    HTTP/1.1 and HTTP/2, and the upstream receives nothing;
//! 2. a missing scope is a 403 naming the scope, unlisted routes are 404 problems, and
//!    client-sent identity headers never reach the upstream (asserted at the upstream);
//! 3. key rotation, a flood of forged `kid`s, and a JWKS server that stops or hangs, counted at
//!    the JWKS server.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gateway::auth::AuthError;
use reqwest::header::{HeaderValue, AUTHORIZATION};
use serde_json::{json, Value};
use timesheet_domain::ProblemType;

use crate::utils::stack::{Stack, StackOptions, HOST_A, HOST_B, JWKS_FETCH_TIMEOUT_MS, ORG_ID};
use crate::utils::testkit::{
    encode_json, machine_claims, now, sign_hs256, tamper, with, TestKey, ISSUER,
};
use crate::utils::{JwksServer, Mode, ISSUER_B, ISSUER_ORG};

const ENTRIES: &str = "/v1/timesheets/entries";
const PUBLIC: &str = "/v1/openapi.json";
/// The challenge when the client sent no bearer credentials (RFC 6750 §3.1: no error code).
const BARE_CHALLENGE: &str = "Bearer realm=\"timesheets\"";
/// A host of no tenant: where the `orgco` tenant (no hostnames) is served.
const SHARED_HOST: &str = "127.0.0.1";

// === What a response looked like on the wire ===

struct Seen {
    status: u16,
    version: reqwest::Version,
    challenges: Vec<String>,
    content_type: Option<String>,
    cache_control: Option<String>,
    retry_after: Option<String>,
    body: String,
}

impl Seen {
    async fn read(res: reqwest::Response) -> Self {
        let header = |name: &str| {
            res.headers()
                .get(name)
                .map(|v| v.to_str().unwrap_or("<binary>").to_owned())
        };
        let challenges = res
            .headers()
            .get_all("www-authenticate")
            .iter()
            .map(|v| v.to_str().unwrap_or("<binary>").to_owned())
            .collect();
        let (status, version) = (res.status().as_u16(), res.version());
        let (content_type, cache_control, retry_after) = (
            header("content-type"),
            header("cache-control"),
            header("retry-after"),
        );
        let body = res.text().await.unwrap_or_default();
        Self {
            status,
            version,
            challenges,
            content_type,
            cache_control,
            retry_after,
            body,
        }
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// Everything wrong with this response as an RFC 9457 problem of `kind` with `detail`
    /// (checked when given); empty when it is right.
    fn problem_errors(&self, kind: ProblemType, detail: Option<&str>) -> Vec<String> {
        let mut errors = Vec::new();
        if self.status != kind.status() {
            errors.push(format!(
                "status {} (expected {})",
                self.status,
                kind.status()
            ));
        }
        if self.content_type.as_deref() != Some("application/problem+json") {
            errors.push(format!("content-type {:?}", self.content_type));
        }
        let body = self.json();
        if body["type"] != kind.uri().as_str() || body["status"] != kind.status() {
            errors.push(format!("body {}", self.body));
        } else if let Some(detail) = detail {
            if body["detail"] != detail {
                errors.push(format!("detail {} (expected {detail:?})", body["detail"]));
            }
        }
        errors
    }
}

// === 1. Forged and broken tokens ===

/// What a refused row must look like.
#[derive(Debug, Clone)]
enum Expect {
    /// 401 with `error="invalid_token"` and this error's `error_description`.
    Invalid(AuthError),
    /// 401 with a bare challenge: the client sent no bearer credentials (RFC 6750 §3.1).
    NoCredentials(AuthError),
}

impl Expect {
    fn error(&self) -> &AuthError {
        match self {
            Self::Invalid(e) | Self::NoCredentials(e) => e,
        }
    }

    fn challenge(&self) -> String {
        match self {
            Self::Invalid(e) => format!(
                "{BARE_CHALLENGE}, error=\"invalid_token\", error_description=\"{}\"",
                e.description()
            ),
            Self::NoCredentials(_) => BARE_CHALLENGE.to_owned(),
        }
    }
}

/// One row: a request to `GET /v1/timesheets/entries` at `host` with these `Authorization`
/// values (none, one, or several headers).
struct Case {
    name: &'static str,
    host: &'static str,
    authorization: Vec<HeaderValue>,
    expect: Expect,
}

fn case(name: &'static str, authorization: Vec<HeaderValue>, expect: Expect) -> Case {
    Case {
        name,
        host: HOST_A,
        authorization,
        expect,
    }
}

fn at(host: &'static str, mut c: Case) -> Case {
    c.host = host;
    c
}

fn value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap()
}

fn bearer(token: &str) -> Vec<HeaderValue> {
    vec![value(&format!("Bearer {token}"))]
}

/// Valid claims of tenant A with a distinct `jti`, so no two tokens are the same string.
fn claims(jti: &str) -> Value {
    with(machine_claims(now()), "jti", json!(jti))
}

/// Keys the table needs besides the stack's own.
struct Forgery {
    /// Published by tenant A with `use: enc`.
    enc: TestKey,
    /// An EC P-256 key tenant A publishes, though its allow-list is RS256 only.
    ec: TestKey,
    /// Never published anywhere; served by the attacker's own JWKS server.
    attacker: TestKey,
    attacker_jwks: JwksServer,
}

impl Forgery {
    async fn new() -> Self {
        let attacker = TestKey::rsa(2, "attacker-1");
        let attacker_jwks = JwksServer::spawn(ISSUER, vec![attacker.jwk.clone()]).await;
        Self {
            enc: TestKey::rsa(1, "a-enc"),
            ec: TestKey::ec_p256("a-ec"),
            attacker,
            attacker_jwks,
        }
    }

    fn published_by_a(&self) -> Vec<Value> {
        vec![
            self.enc.jwk_with(json!({"use": "enc"})),
            self.ec.jwk.clone(),
        ]
    }
}

fn forged_cases(stack: &Stack, f: &Forgery) -> Vec<Case> {
    use AuthError as E;
    use Expect::{Invalid, NoCredentials};
    let key = &stack.key_a;
    let n = now();
    let base = claims("table");
    let good = key.sign(&base);
    let parts: Vec<&str> = good.split('.').collect();
    let (h, p, s) = (parts[0], parts[1], parts[2]);
    let header = |extra: Value| {
        let mut header = key.header();
        header
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        header
    };
    let claim = |name: &str, v: Value| key.sign(&with(base.clone(), name, v));
    let escalated = with(
        base.clone(),
        "scope",
        json!("read:timesheets approve:timesheets delete:timesheets"),
    );
    let attacker_jku = f.attacker_jwks.jwks_uri();
    let org_claims = with(
        with(claims("org"), "iss", json!(ISSUER_ORG)),
        "org_id",
        json!("org_b"),
    );
    let not_a_jwt = E::Malformed("the token is not a signed JWT");
    let jwe = E::Malformed("encrypted tokens (JWE) are not accepted");
    vec![
        // --- The Authorization header itself ---
        case("no Authorization header", vec![], NoCredentials(E::Missing)),
        case(
            "Basic scheme",
            vec![value("Basic dXNlcjpwYXNz")],
            NoCredentials(E::UnsupportedScheme),
        ),
        case(
            "a token without the Bearer scheme",
            vec![value(&good)],
            NoCredentials(E::UnsupportedScheme),
        ),
        case(
            "Bearer with nothing after it",
            vec![value("Bearer")],
            Invalid(E::Malformed("the access token is empty")),
        ),
        case(
            "empty token (Bearer and blanks)",
            vec![value("Bearer   ")],
            Invalid(E::Malformed("the access token is empty")),
        ),
        case(
            "two Authorization headers",
            vec![value(&format!("Bearer {good}")), value("Bearer other")],
            Invalid(E::Malformed("several Authorization headers")),
        ),
        case(
            "two tokens in one header",
            vec![value(&format!("Bearer {good} {good}"))],
            Invalid(E::Malformed("more than one access token")),
        ),
        case(
            "an Authorization header that is not text",
            vec![HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap()],
            Invalid(E::Malformed("the Authorization header is not text")),
        ),
        // --- Algorithms ---
        case(
            "alg none, unsigned",
            bearer(&format!(
                "{}.{p}.",
                encode_json(&json!({"alg": "none", "typ": "JWT", "kid": key.kid}))
            )),
            Invalid(E::AlgNotAllowed),
        ),
        case(
            "alg none with the original signature",
            bearer(&format!(
                "{}.{p}.{s}",
                encode_json(&json!({"alg": "none", "kid": key.kid}))
            )),
            Invalid(E::AlgNotAllowed),
        ),
        case(
            "HS256 signed with the RSA public key as the secret",
            bearer(&sign_hs256(
                key.public_pem.as_bytes(),
                &json!({"alg": "HS256", "typ": "JWT", "kid": key.kid}),
                &base,
            )),
            Invalid(E::AlgNotAllowed),
        ),
        case(
            "RS384 by the published key, outside the tenant's allow-list",
            bearer(
                &TestKey::rsa(0, &key.kid)
                    .with_alg(jsonwebtoken::Algorithm::RS384)
                    .sign(&base),
            ),
            Invalid(E::AlgNotAllowed),
        ),
        case(
            "PS256 by the published key, outside the tenant's allow-list",
            bearer(
                &TestKey::rsa(0, &key.kid)
                    .with_alg(jsonwebtoken::Algorithm::PS256)
                    .sign(&base),
            ),
            Invalid(E::AlgNotAllowed),
        ),
        case(
            "ES256 by a published EC key, outside the tenant's allow-list",
            bearer(&f.ec.sign(&base)),
            Invalid(E::AlgNotAllowed),
        ),
        // --- Key ids ---
        case(
            "unknown kid",
            bearer(&key.sign_with_header(&header(json!({"kid": "nope"})), &base)),
            Invalid(E::UnknownKid),
        ),
        case(
            "a kid whose JWK is use: enc",
            bearer(&f.enc.sign(&base)),
            Invalid(E::UnknownKid),
        ),
        case(
            "no kid",
            bearer(&key.sign_with_header(&json!({"alg": "RS256", "typ": "JWT"}), &base)),
            Invalid(E::Malformed("the token header has no kid")),
        ),
        case(
            "a kid that is not a string",
            bearer(&key.sign_with_header(&header(json!({"kid": 1})), &base)),
            Invalid(E::Malformed("the token kid is not a string")),
        ),
        // --- Signatures ---
        case(
            "tampered payload (escalated scopes)",
            bearer(&format!("{h}.{}.{s}", encode_json(&escalated))),
            Invalid(E::BadSignature),
        ),
        case(
            "tampered signature",
            bearer(&format!("{h}.{p}.{}", tamper(s))),
            Invalid(E::BadSignature),
        ),
        case(
            "the signature of another token",
            bearer(&format!(
                "{h}.{p}.{}",
                key.sign(&escalated).rsplit('.').next().unwrap()
            )),
            Invalid(E::BadSignature),
        ),
        case(
            "a never-published key reusing the published kid",
            bearer(&TestKey::rsa(2, &key.kid).sign(&base)),
            Invalid(E::BadSignature),
        ),
        // --- Claims ---
        case(
            "expired",
            bearer(&claim("exp", json!(n - 120))),
            Invalid(E::Expired),
        ),
        case(
            "nbf in the future",
            bearer(&claim("nbf", json!(n + 600))),
            Invalid(E::NotYetValid),
        ),
        case(
            "iat in the future",
            bearer(&claim("iat", json!(n + 600))),
            Invalid(E::IssuedInFuture),
        ),
        case(
            "wrong iss",
            bearer(&claim("iss", json!("https://evil.example/"))),
            Invalid(E::WrongIssuer),
        ),
        case(
            "iss without its trailing slash",
            bearer(&claim("iss", json!(ISSUER.trim_end_matches('/')))),
            Invalid(E::WrongIssuer),
        ),
        case(
            "wrong aud",
            bearer(&claim("aud", json!("https://other.api/"))),
            Invalid(E::WrongAudience),
        ),
        case(
            "aud array without a match",
            bearer(&claim("aud", json!(["https://a.api/", "https://b.api/"]))),
            Invalid(E::WrongAudience),
        ),
        case(
            "missing exp",
            bearer(&claim("exp", Value::Null)),
            Invalid(E::MissingClaim("exp")),
        ),
        case(
            "missing sub",
            bearer(&claim("sub", Value::Null)),
            Invalid(E::MissingClaim("sub")),
        ),
        case(
            "missing iss",
            bearer(&claim("iss", Value::Null)),
            Invalid(E::MissingClaim("iss")),
        ),
        // --- Structure ---
        case(
            "non-base64",
            bearer("eyJ!!!.eyJ***.sig"),
            Invalid(E::Malformed("the token is not base64url")),
        ),
        case(
            "two dots missing",
            bearer(&format!("{h}{p}{s}")),
            Invalid(not_a_jwt.clone()),
        ),
        case(
            "one dot missing",
            bearer(&format!("{h}.{p}")),
            Invalid(not_a_jwt.clone()),
        ),
        case(
            "a trailing garbage segment",
            bearer(&format!("{good}.AAAA")),
            Invalid(not_a_jwt),
        ),
        case(
            "a JWE (five parts) instead of a JWS",
            bearer(&format!(
                "{}.a.b.c.d",
                encode_json(&json!({"alg": "RSA-OAEP", "enc": "A256GCM"}))
            )),
            Invalid(jwe.clone()),
        ),
        case(
            "a JWE header in three parts",
            bearer(&format!(
                "{}.{p}.{s}",
                encode_json(&json!({"alg": "RSA-OAEP", "enc": "A256GCM", "kid": key.kid}))
            )),
            Invalid(jwe),
        ),
        case(
            "a 20 KB token",
            bearer(&format!("{h}.{}.{s}", "A".repeat(20 * 1024))),
            Invalid(E::TooLarge),
        ),
        case(
            "a header that is not a JSON object",
            bearer(&format!("{}.{p}.{s}", encode_json(&json!("RS256")))),
            Invalid(E::Malformed("the token header is not a JSON object")),
        ),
        case(
            "a payload that is not a JSON object",
            bearer(&format!("{h}.{}.{s}", encode_json(&json!(["a", "b"])))),
            Invalid(E::Malformed("the token payload is not a JSON object")),
        ),
        // --- Header parameters ---
        case(
            "crit header",
            bearer(&key.sign_with_header(&header(json!({"crit": ["exp"], "exp": 1})), &base)),
            Invalid(E::CriticalHeader),
        ),
        case(
            "typ JWE",
            bearer(&key.sign_with_header(&header(json!({"typ": "JWE"})), &base)),
            Invalid(E::UnsupportedType),
        ),
        case(
            "jku pointing at the attacker's JWKS, with the attacker's kid",
            bearer(&f.attacker.sign_with_header(
                &json!({"alg": "RS256", "kid": f.attacker.kid, "jku": attacker_jku}),
                &base,
            )),
            Invalid(E::UnknownKid),
        ),
        case(
            "jku pointing at the attacker's JWKS, with the published kid",
            bearer(&f.attacker.sign_with_header(
                &json!({"alg": "RS256", "kid": key.kid, "jku": attacker_jku}),
                &base,
            )),
            Invalid(E::BadSignature),
        ),
        case(
            "x5u pointing at the attacker's server",
            bearer(&f.attacker.sign_with_header(
                &json!({"alg": "RS256", "kid": key.kid, "x5u": attacker_jku}),
                &base,
            )),
            Invalid(E::BadSignature),
        ),
        case(
            "embedded jwk of the attacker, with the published kid",
            bearer(&f.attacker.sign_with_header(
                &json!({"alg": "RS256", "kid": key.kid, "jwk": f.attacker.jwk}),
                &base,
            )),
            Invalid(E::BadSignature),
        ),
        case(
            "embedded jwk of the attacker, with its own kid",
            bearer(&f.attacker.sign_with_header(
                &json!({"alg": "RS256", "kid": f.attacker.kid, "jwk": f.attacker.jwk}),
                &base,
            )),
            Invalid(E::UnknownKid),
        ),
        // --- Tenants and organizations ---
        case(
            "a valid token of tenant B at tenant A's hostname",
            bearer(&stack.key_b.sign(&with(claims("b"), "iss", json!(ISSUER_B)))),
            Invalid(E::WrongTenant),
        ),
        at(
            HOST_B,
            case(
                "a valid token of tenant A at tenant B's hostname",
                bearer(&good),
                Invalid(E::WrongTenant),
            ),
        ),
        at(
            SHARED_HOST,
            case(
                "a valid token of tenant A at a host of no tenant",
                bearer(&good),
                Invalid(E::WrongTenant),
            ),
        ),
        at(
            SHARED_HOST,
            case(
                "org_id of another organization",
                bearer(&stack.key_c.sign(&org_claims)),
                Invalid(E::WrongOrganization),
            ),
        ),
        at(
            SHARED_HOST,
            case(
                "no org_id at an organization's tenant",
                bearer(
                    &stack
                        .key_c
                        .sign(&with(org_claims.clone(), "org_id", Value::Null)),
                ),
                Invalid(E::WrongOrganization),
            ),
        ),
    ]
}

/// Everything wrong with a refusal of `case`; empty when it is right.
fn refusal_errors(seen: &Seen, case: &Case) -> Vec<String> {
    let expect = &case.expect;
    let mut errors = seen.problem_errors(
        ProblemType::Unauthenticated,
        Some(expect.error().description()),
    );
    if seen.challenges != [expect.challenge()] {
        errors.push(format!(
            "WWW-Authenticate {:?} (expected {:?})",
            seen.challenges,
            expect.challenge()
        ));
    }
    if seen.cache_control.as_deref() != Some("no-store") {
        errors.push(format!("cache-control {:?}", seen.cache_control));
    }
    // Nothing of the token comes back.
    for v in &case.authorization {
        let sent = String::from_utf8_lossy(v.as_bytes());
        if sent.len() > 40 && seen.body.contains(&sent[sent.len() - 20..]) {
            errors.push("the body echoes the token".to_owned());
        }
    }
    errors
}

#[tokio::test]
async fn forged_and_broken_tokens_are_refused_at_the_gateway_and_never_reach_the_upstream() {
    let forgery = Forgery::new().await;
    let stack = Stack::start(StackOptions {
        org_tenant: true,
        extra_keys_a: forgery.published_by_a(),
        ..StackOptions::default()
    })
    .await;
    let upstream = stack.upstream.as_ref().unwrap();
    let clients = [
        ("HTTP/2", reqwest::Version::HTTP_2, stack.client()),
        (
            "HTTP/1.1",
            reqwest::Version::HTTP_11,
            stack.client_builder().http1_only().build().unwrap(),
        ),
    ];

    // Controls: the route, the tenant and the organization tenant do take valid tokens.
    for (host, token, tenant) in [
        (HOST_A, stack.key_a.sign(&claims("control")), "exampleco"),
        (
            SHARED_HOST,
            stack.key_c.sign(&with(
                with(claims("control"), "iss", json!(ISSUER_ORG)),
                "org_id",
                json!(ORG_ID),
            )),
            "orgco",
        ),
    ] {
        for (proto, version, client) in &clients {
            let res = client
                .get(stack.url(host, ENTRIES))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(res.version(), *version, "{proto}");
            assert_eq!(res.status(), 200, "{proto} control at {host}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["principal"]["tenant"], tenant, "{proto}: {body}");
        }
    }

    let cases = forged_cases(&stack, &forgery);
    assert!(cases.len() >= 30, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        for (proto, version, client) in &clients {
            let hits = upstream.hits();
            let mut req = client.get(stack.url(case.host, ENTRIES));
            for v in &case.authorization {
                req = req.header(AUTHORIZATION, v.clone());
            }
            let seen = match req.send().await {
                Ok(res) => Seen::read(res).await,
                Err(err) => {
                    failures.push(format!("[{proto}] {}: request failed: {err}", case.name));
                    continue;
                }
            };
            let mut errors = refusal_errors(&seen, case);
            if seen.version != *version {
                errors.push(format!("spoke {:?}", seen.version));
            }
            if upstream.hits() != hits {
                errors.push("the upstream received the request".to_owned());
            }
            if !errors.is_empty() {
                failures.push(format!(
                    "[{proto}] {}: {} (body {})",
                    case.name,
                    errors.join("; "),
                    seen.body
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        cases.len() * clients.len(),
        failures.join("\n")
    );
    // The jku/x5u/jwk headers made the gateway fetch nothing from the attacker.
    assert_eq!(
        forgery.attacker_jwks.jwks_hits(),
        0,
        "the attacker's server was asked"
    );
}

// === 2. Scopes, unlisted routes, identity headers ===

#[tokio::test]
async fn a_missing_scope_is_a_403_naming_the_scope_and_the_upstream_gets_nothing() {
    let stack = Stack::start(StackOptions::default()).await;
    let upstream = stack.upstream.as_ref().unwrap();
    let clients = [
        stack.client(),
        stack.client_builder().http1_only().build().unwrap(),
    ];
    let no_scope = with(claims("none"), "scope", Value::Null);
    let tokens = [
        (
            "other scopes only",
            stack.token_a("create:timesheets batch:upload"),
        ),
        ("no scope claim", stack.key_a.sign(&no_scope)),
        (
            "look-alike scopes",
            stack.token_a("read:timesheets:all READ:TIMESHEETS read:timesheet"),
        ),
        (
            "scp array with other scopes",
            stack
                .key_a
                .sign(&with(no_scope.clone(), "scp", json!(["create:timesheets"]))),
        ),
        (
            "read:timesheets in a claim the gateway does not read",
            stack
                .key_a
                .sign(&with(no_scope.clone(), "scopes", json!("read:timesheets"))),
        ),
    ];
    let challenge =
        "Bearer realm=\"timesheets\", error=\"insufficient_scope\", scope=\"read:timesheets\"";
    let mut failures = Vec::new();
    for (name, token) in &tokens {
        for client in &clients {
            let hits = upstream.hits();
            let res = client
                .get(stack.url(HOST_A, ENTRIES))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let seen = Seen::read(res).await;
            let mut errors = seen.problem_errors(
                ProblemType::Forbidden,
                Some("the access token lacks the scope: read:timesheets"),
            );
            if seen.challenges != [challenge] {
                errors.push(format!("WWW-Authenticate {:?}", seen.challenges));
            }
            if upstream.hits() != hits {
                errors.push("the upstream received the request".to_owned());
            }
            if !errors.is_empty() {
                failures.push(format!(
                    "[{:?}] {name}: {}",
                    seen.version,
                    errors.join("; ")
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Control: with the scope, the same route reaches the upstream.
    let res = clients[0]
        .get(stack.url(HOST_A, ENTRIES))
        .bearer_auth(stack.token_a("read:timesheets"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn unlisted_routes_and_path_variants_are_404_problems_before_any_token_work() {
    let stack = Stack::start(StackOptions::default()).await;
    let upstream = stack.upstream.as_ref().unwrap();
    let client = stack.client();
    let all_scopes = stack.token_a(
        "read:timesheets create:timesheets approve:timesheets delete:timesheets batch:upload",
    );
    let get = reqwest::Method::GET;
    let requests: [(&str, reqwest::Method, &str, bool); 12] = [
        (
            "unlisted path, no token",
            get.clone(),
            "/v1/admin/secrets",
            false,
        ),
        (
            "unlisted path, a forged token",
            get.clone(),
            "/v1/admin/secrets",
            true,
        ),
        (
            "unlisted method on a listed path",
            reqwest::Method::DELETE,
            ENTRIES,
            true,
        ),
        ("PUT on a listed path", reqwest::Method::PUT, ENTRIES, true),
        (
            "OPTIONS on a listed path",
            reqwest::Method::OPTIONS,
            ENTRIES,
            true,
        ),
        (
            "trailing slash",
            get.clone(),
            "/v1/timesheets/entries/",
            true,
        ),
        (
            "empty segment",
            get.clone(),
            "//v1/timesheets/entries",
            true,
        ),
        (
            "upper-case segment",
            get.clone(),
            "/V1/timesheets/entries",
            true,
        ),
        (
            "percent-encoded letter",
            get.clone(),
            "/v1/timesheets/%65ntries",
            true,
        ),
        (
            "encoded slash",
            get.clone(),
            "/v1/timesheets%2Fentries",
            true,
        ),
        (
            "path parameter",
            get.clone(),
            "/v1/timesheets/entries;x=1",
            true,
        ),
        ("the parent of a listed path", get, "/v1/timesheets", true),
    ];
    let mut failures = Vec::new();
    for (name, method, path, with_token) in requests {
        let hits = upstream.hits();
        let mut req = client.request(method, stack.url(HOST_A, path));
        if with_token {
            req = req.bearer_auth(if name.contains("forged") {
                "forged.token.value"
            } else {
                all_scopes.as_str()
            });
        }
        let seen = Seen::read(req.send().await.unwrap()).await;
        let mut errors = seen.problem_errors(ProblemType::NotFound, None);
        if !seen.challenges.is_empty() {
            errors.push(format!("WWW-Authenticate {:?}", seen.challenges));
        }
        if upstream.hits() != hits {
            errors.push("the upstream received the request".to_owned());
        }
        if !errors.is_empty() {
            failures.push(format!("{name} ({path}): {}", errors.join("; ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn client_sent_identity_headers_are_stripped_over_both_protocols_and_on_public_routes() {
    let stack = Stack::start(StackOptions::default()).await;
    let clients = [
        ("HTTP/2", stack.client()),
        (
            "HTTP/1.1",
            stack.client_builder().http1_only().build().unwrap(),
        ),
    ];
    // Sent twice each where a repeated header could hide a second value.
    let forged: [(&str, &str); 10] = [
        (identity_assertion::HEADER, "forged.assertion.one"),
        (identity_assertion::HEADER, "forged.assertion.two"),
        ("x-user-id", "admin"),
        ("x-user-id", "root"),
        ("x-tenant-id", "other"),
        ("x-scopes", "approve:timesheets delete:timesheets"),
        ("x-principal", "{\"sub\":\"admin\"}"),
        ("x-request-id", "client-chosen-1"),
        ("x-request-id", "client-chosen-2"),
        ("forwarded", "for=10.9.8.7;proto=http"),
    ];
    let token = stack.token_a("read:timesheets");
    let mut failures = Vec::new();
    for (proto, client) in &clients {
        for (path, authenticated) in [(ENTRIES, true), (PUBLIC, false)] {
            let mut req = client.get(stack.url(HOST_A, path));
            if authenticated {
                req = req.bearer_auth(&token);
            }
            for (name, value) in forged {
                req = req.header(name, value);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 200, "{proto} {path}");
            let body: Value = res.json().await.unwrap();
            let all = body["all_headers"].as_object().unwrap();
            let mut errors = Vec::new();
            for name in [
                "x-user-id",
                "x-tenant-id",
                "x-scopes",
                "x-principal",
                "forwarded",
                // The access token itself stays at the edge.
                "authorization",
            ] {
                if let Some(values) = all.get(name) {
                    errors.push(format!("{name} reached the upstream: {values}"));
                }
            }
            let request_ids = &all["x-request-id"];
            let rid = request_ids[0].as_str().unwrap_or_default();
            if request_ids.as_array().map(Vec::len) != Some(1)
                || uuid::Uuid::parse_str(rid).map(|u| u.get_version_num()) != Ok(7)
            {
                errors.push(format!("x-request-id at the upstream: {request_ids}"));
            }
            let assertions = all.get(identity_assertion::HEADER);
            if authenticated {
                // Exactly one assertion, the gateway's, with the token's scopes only.
                let one = assertions.and_then(Value::as_array).map(Vec::len) == Some(1);
                let principal = &body["principal"];
                if !one || principal["tenant"] != "exampleco" {
                    errors.push(format!(
                        "assertions {assertions:?}, principal {principal}, error {}",
                        body["assertion_error"]
                    ));
                }
                if principal["scopes"] != json!(["read:timesheets"]) {
                    errors.push(format!("scopes {}", principal["scopes"]));
                }
            } else if let Some(values) = assertions {
                // A public route has no principal: a client's assertion must not pass through.
                errors.push(format!(
                    "a client's assertion reached the upstream: {values}"
                ));
            }
            if !errors.is_empty() {
                failures.push(format!("[{proto}] {path}: {}", errors.join("; ")));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// === 3. Keys: rotation, forged-kid floods, a provider that stops or hangs ===

/// A fresh token of `key` for tenant A (distinct `jti`, so the verified-token cache cannot answer).
fn fresh(key: &TestKey, jti: &str) -> String {
    key.sign(&claims(jti))
}

/// Waits for a state change the test caused elsewhere (polled, bounded).
async fn eventually(what: &str, within: Duration, done: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_rotated_key_passes_through_the_gateway_after_exactly_one_refetch() {
    let stack = Stack::start(StackOptions::default()).await;
    let jwks = stack.jwks_a();
    let client = stack.client();
    let new_key = TestKey::rsa(2, "a-2");
    // Tokens of the new key exist before the provider publishes it.
    let tokens: Vec<String> = (0..16)
        .map(|i| fresh(&new_key, &format!("new-{i}")))
        .collect();
    jwks.set_keys(vec![stack.key_a.jwk.clone(), new_key.jwk.clone()]);
    let hits = jwks.jwks_hits();

    // Sixteen at once: one refetch serves them all.
    let mut tasks = tokio::task::JoinSet::new();
    for token in tokens {
        let req = client.get(stack.url(HOST_A, ENTRIES)).bearer_auth(token);
        tasks.spawn(async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        });
    }
    while let Some(done) = tasks.join_next().await {
        let (status, body) = done.unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["principal"]["tenant"], "exampleco", "{body}");
    }
    assert_eq!(jwks.jwks_hits(), hits + 1, "exactly one refetch");

    // Later tokens of the new key, and of the old one, need no fetch.
    for token in [fresh(&new_key, "new-late"), fresh(&stack.key_a, "old-late")] {
        let res = client
            .get(stack.url(HOST_A, ENTRIES))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    assert_eq!(jwks.jwks_hits(), hits + 1);
}

#[tokio::test]
async fn ten_thousand_forged_kids_cost_at_most_one_jwks_fetch_per_cooldown() {
    const REQUESTS: usize = 10_000;
    const IN_FLIGHT: usize = 32;
    const CONNECTIONS: usize = 4;
    let stack = Stack::start(StackOptions {
        // Longer than the test: every fetch after the first would break the cooldown.
        jwks_settings: "min_refetch_interval = \"10m\"",
        ..StackOptions::default()
    })
    .await;
    let upstream_hits = stack.upstream.as_ref().unwrap().hits();
    let jwks_hits = stack.jwks_a().jwks_hits();
    // The kid is refused before any signature check, so one signature serves every token.
    let signed = TestKey::rsa(2, "x").sign(&claims("flood"));
    let (_, rest) = signed.split_once('.').unwrap();
    let rest: Arc<str> = Arc::from(rest);
    let url: Arc<str> = Arc::from(stack.url(HOST_A, ENTRIES));
    let expected = Expect::Invalid(AuthError::UnknownKid).challenge();
    // HTTP/2: each client keeps one connection, multiplexing its share of the requests.
    let clients: Vec<reqwest::Client> = (0..CONNECTIONS).map(|_| stack.client()).collect();
    let next = Arc::new(AtomicUsize::new(0));
    let wrong = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..IN_FLIGHT {
        let client = clients[worker % CONNECTIONS].clone();
        let (rest, url, expected) = (Arc::clone(&rest), Arc::clone(&url), expected.clone());
        let (next, wrong) = (Arc::clone(&next), Arc::clone(&wrong));
        tasks.spawn(async move {
            let mut refused = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= REQUESTS {
                    return refused;
                }
                let kid = uuid::Uuid::now_v7().simple().to_string();
                let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid});
                let token = format!("{}.{rest}", encode_json(&header));
                let res = client.get(&*url).bearer_auth(token).send().await.unwrap();
                let (status, version) = (res.status().as_u16(), res.version());
                let challenge = res
                    .headers()
                    .get("www-authenticate")
                    .map(|v| v.to_str().unwrap().to_owned());
                let _ = res.bytes().await.unwrap();
                if status == 401
                    && version == reqwest::Version::HTTP_2
                    && challenge.as_deref() == Some(expected.as_str())
                {
                    refused += 1;
                } else {
                    let mut wrong = wrong.lock().unwrap();
                    if wrong.len() < 5 {
                        wrong.push(format!("#{i}: {status} {version:?} {challenge:?}"));
                    }
                }
            }
        });
    }
    let mut refused = 0;
    while let Some(done) = tasks.join_next().await {
        refused += done.unwrap();
    }
    let elapsed = started.elapsed();
    assert_eq!(
        refused,
        REQUESTS,
        "not every forged kid was a 401 unknown-kid refusal, e.g. {:?}",
        wrong.lock().unwrap()
    );
    assert_eq!(
        stack.jwks_a().jwks_hits() - jwks_hits,
        1,
        "JWKS fetches for {REQUESTS} forged kids in {elapsed:?} (cooldown 600 s)"
    );
    assert_eq!(stack.upstream.as_ref().unwrap().hits(), upstream_hits);
    eprintln!("{REQUESTS} forged kids through the gateway in {elapsed:?}");

    // Valid tokens were never blocked by the flood, and cost no fetch either.
    let res = clients[0]
        .get(&*url)
        .bearer_auth(fresh(&stack.key_a, "after-flood"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(stack.jwks_a().jwks_hits() - jwks_hits, 1);
}

/// The 503 the gateway answers when it could not ask the provider about a `kid`.
fn keys_unavailable_errors(seen: &Seen) -> Vec<String> {
    let mut errors = seen.problem_errors(
        ProblemType::ServiceUnavailable,
        Some(AuthError::JwksUnavailable.description()),
    );
    if seen.retry_after.is_none() {
        errors.push("no Retry-After".to_owned());
    }
    errors
}

#[tokio::test]
async fn cached_keys_keep_serving_when_the_jwks_server_is_stopped() {
    let mut stack = Stack::start(StackOptions::default()).await;
    let client = stack.client();
    let url = stack.url(HOST_A, ENTRIES);
    let send = |token: String| client.get(&url).bearer_auth(token).send();
    let used = fresh(&stack.key_a, "before-stop");
    assert_eq!(send(used.clone()).await.unwrap().status(), 200);

    stack.jwks.remove(0).stop().await;
    // A fresh token (not in the verified-token cache) of the cached key.
    let res = send(fresh(&stack.key_a, "after-stop-1")).await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["principal"]["tenant"], "exampleco", "{body}");

    // A kid the gateway never saw makes it try the provider, which is gone: the gateway answers
    // 503 by design (the token may be valid; it cannot tell), and the upstream gets nothing.
    let hits = stack.upstream.as_ref().unwrap().hits();
    let stranger = fresh(&TestKey::rsa(1, "a-unpublished"), "stranger");
    let seen = Seen::read(send(stranger).await.unwrap()).await;
    let errors = keys_unavailable_errors(&seen);
    assert!(errors.is_empty(), "{errors:?}: {}", seen.body);
    assert_eq!(stack.upstream.as_ref().unwrap().hits(), hits);

    // The failed fetch evicted nothing: cached keys and cached tokens keep serving.
    for token in [fresh(&stack.key_a, "after-stop-2"), used] {
        assert_eq!(send(token).await.unwrap().status(), 200);
    }
}

#[tokio::test]
async fn a_hanging_jwks_server_does_not_hold_requests_past_the_fetch_timeout() {
    let stack = Stack::start(StackOptions::default()).await;
    let jwks = stack.jwks_a();
    let client = stack.client();
    let url = stack.url(HOST_A, ENTRIES);
    let upstream = stack.upstream.as_ref().unwrap();
    let hits = jwks.jwks_hits();
    jwks.set_mode(Mode::Hang);
    let limit = Duration::from_millis(JWKS_FETCH_TIMEOUT_MS) + Duration::from_millis(1500);

    let stranger = fresh(&TestKey::rsa(1, "a-unpublished"), "stranger-1");
    let started = Instant::now();
    let pending = tokio::spawn(client.get(&url).bearer_auth(stranger).send());
    eventually(
        "the gateway's refetch reaches the JWKS server",
        limit,
        || jwks.jwks_hits() > hits,
    )
    .await;

    // Meanwhile a token of a cached key is answered without waiting for the hanging fetch.
    let upstream_hits = upstream.hits();
    let res = client
        .get(&url)
        .bearer_auth(fresh(&stack.key_a, "during-hang"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        !pending.is_finished(),
        "the valid request should not have waited for the hanging fetch"
    );

    let res = pending.await.unwrap().unwrap();
    let elapsed = started.elapsed();
    let seen = Seen::read(res).await;
    let errors = keys_unavailable_errors(&seen);
    assert!(errors.is_empty(), "{errors:?}: {}", seen.body);
    assert!(
        elapsed < limit,
        "an unknown kid with a hanging provider took {elapsed:?} (fetch timeout {JWKS_FETCH_TIMEOUT_MS} ms)"
    );

    // Within the cooldown another unknown kid does not wait on the provider again.
    let started = Instant::now();
    let stranger = fresh(&TestKey::rsa(1, "a-unpublished-2"), "stranger-2");
    let seen = Seen::read(client.get(&url).bearer_auth(stranger).send().await.unwrap()).await;
    let elapsed = started.elapsed();
    let errors = keys_unavailable_errors(&seen);
    assert!(errors.is_empty(), "{errors:?}: {}", seen.body);
    assert!(
        elapsed < Duration::from_millis(JWKS_FETCH_TIMEOUT_MS),
        "{elapsed:?}"
    );
    assert_eq!(
        jwks.jwks_hits(),
        hits + 1,
        "one fetch for both unknown kids"
    );
    assert_eq!(
        upstream.hits(),
        upstream_hits + 1,
        "only the valid request went upstream"
    );
}
