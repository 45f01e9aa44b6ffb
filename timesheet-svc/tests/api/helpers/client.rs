//! The client side: [`TestApp`] mints a fresh gateway assertion for every request, as the
//! gateway does, and has one method per endpoint.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use identity_assertion::{AssertionSigner, RequestBinding, AUDIENCE_TIMESHEET_SVC, HEADER};
use reqwest::Method;
use serde_json::{json, Value};
use time::OffsetDateTime;
use timesheet_domain::api::{EntryResponse, UploadResponse};
use timesheet_domain::Principal;

use super::{admin, encode, entry_body, TestResponse};

/// How long one HTTP call of a test may take before the test fails.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

struct Inner {
    addr: SocketAddr,
    client: reqwest::Client,
    signer: AssertionSigner,
    /// The trusted private key, to mint assertions the default signer would not (another
    /// audience).
    private_pem: String,
}

/// A running service and a client for it. Cheap to clone into concurrent tasks.
#[derive(Clone)]
pub struct TestApp {
    inner: Arc<Inner>,
}

/// How a request proves who sent it.
#[derive(Debug, Clone)]
enum Identity {
    /// A fresh assertion for this principal and this very request.
    Signed(Principal),
    /// This header value exactly (possibly forged or stale), or no header at all.
    Raw(Option<String>),
}

/// One request being put together; `send` mints the assertion and sends it.
#[must_use]
pub struct Call {
    app: TestApp,
    method: Method,
    path: String,
    identity: Identity,
    /// `None`: the header carries the binding's request id; `Some(x)`: the header is `x` (or
    /// absent) whatever the assertion says.
    request_id_header: Option<Option<String>>,
    headers: Vec<(String, String)>,
    body: Option<(String, Vec<u8>)>,
}

impl Call {
    pub fn json(mut self, body: &Value) -> Self {
        let bytes = serde_json::to_vec(body).expect("serializing a JSON body");
        self.body = Some(("application/json".to_owned(), bytes));
        self
    }

    /// A body sent as is, with this content type (empty: no content-type header).
    pub fn raw(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some((content_type.to_owned(), body.into()));
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn if_match(self, etag: &str) -> Self {
        self.header("if-match", etag)
    }

    pub fn idempotency_key(self, key: &str) -> Self {
        self.header("idempotency-key", key)
    }

    /// Sends this exact assertion header instead of a fresh one.
    pub fn assertion(mut self, raw: &str) -> Self {
        self.identity = Identity::Raw(Some(raw.to_owned()));
        self
    }

    /// Sends no assertion at all.
    pub fn anonymous(mut self) -> Self {
        self.identity = Identity::Raw(None);
        self
    }

    /// Sends this `x-request-id` header (or none) instead of the one the assertion is bound to.
    pub fn request_id_header(mut self, id: Option<&str>) -> Self {
        self.request_id_header = Some(id.map(str::to_owned));
        self
    }

    pub async fn send(self) -> TestResponse {
        let url = format!("http://{}{}", self.app.inner.addr, self.path);
        let mut builder = self.app.inner.client.request(self.method.clone(), &url);
        let bound_request_id = uuid::Uuid::now_v7().to_string();
        if let Identity::Signed(principal) = &self.identity {
            let assertion = self.app.sign(
                principal,
                self.method.as_str(),
                &self.path,
                &bound_request_id,
                OffsetDateTime::now_utc().unix_timestamp(),
            );
            builder = builder.header(HEADER, assertion);
        }
        if let Identity::Raw(Some(raw)) = &self.identity {
            builder = builder.header(HEADER, raw.as_str());
        }
        match &self.request_id_header {
            None => builder = builder.header("x-request-id", bound_request_id.as_str()),
            Some(Some(id)) => builder = builder.header("x-request-id", id.as_str()),
            Some(None) => {}
        }
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some((content_type, bytes)) = self.body {
            if !content_type.is_empty() {
                builder = builder.header("content-type", content_type);
            }
            builder = builder.body(bytes);
        }
        let response = builder
            .send()
            .await
            .unwrap_or_else(|err| panic!("{} {} failed: {err}", self.method, self.path));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("reading the response body");
        TestResponse {
            method: self.method.to_string(),
            path: self.path,
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }
}

impl TestApp {
    /// A client for the service at `addr` that trusts the gateway key `private_pem`.
    pub(super) fn new(addr: SocketAddr, private_pem: &str) -> TestApp {
        let signer = AssertionSigner::from_pem(private_pem, None, AUDIENCE_TIMESHEET_SVC, 60)
            .expect("the generated key signs");
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("building the HTTP client");
        TestApp {
            inner: Arc::new(Inner {
                addr,
                client,
                signer,
                private_pem: private_pem.to_owned(),
            }),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// An assertion for `principal` bound to this request, issued at `now`.
    pub fn sign(
        &self,
        principal: &Principal,
        method: &str,
        path_and_query: &str,
        request_id: &str,
        now: i64,
    ) -> String {
        let binding = RequestBinding {
            method: method.to_owned(),
            path_and_query: path_and_query.to_owned(),
            request_id: request_id.to_owned(),
        };
        self.inner
            .signer
            .sign(principal, &binding, now)
            .expect("signing an assertion")
    }

    /// An assertion signed with the trusted key but addressed to `audience`.
    pub fn sign_for_audience(
        &self,
        audience: &str,
        principal: &Principal,
        binding: &RequestBinding,
    ) -> String {
        AssertionSigner::from_pem(&self.inner.private_pem, None, audience, 60)
            .expect("a signer")
            .sign(
                principal,
                binding,
                OffsetDateTime::now_utc().unix_timestamp(),
            )
            .expect("signing an assertion")
    }

    /// Starts a request to `path` (path and query) as `principal`.
    pub fn call(&self, method: Method, path: &str, principal: &Principal) -> Call {
        Call {
            app: self.clone(),
            method,
            path: path.to_owned(),
            identity: Identity::Signed(principal.clone()),
            request_id_header: None,
            headers: Vec::new(),
            body: None,
        }
    }

    /// Sends `method path` as `principal`, with `body` as JSON if given.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        principal: &Principal,
        body: Option<Value>,
    ) -> TestResponse {
        let call = self.call(method, path, principal);
        match body {
            Some(body) => call.json(&body).send().await,
            None => call.send().await,
        }
    }

    /// `GET path` with no assertion.
    pub async fn get_public(&self, path: &str) -> TestResponse {
        self.call(Method::GET, path, &admin())
            .anonymous()
            .send()
            .await
    }

    // --- one method per endpoint ---

    pub async fn upload(
        &self,
        principal: &Principal,
        source: &str,
        entries: Vec<Value>,
    ) -> TestResponse {
        let body = json!({"source": source, "entries": entries});
        self.request(Method::POST, "/v1/timesheets/upload", principal, Some(body))
            .await
    }

    pub async fn create_entry(&self, principal: &Principal, body: Value) -> TestResponse {
        self.request(
            Method::POST,
            "/v1/timesheets/entries",
            principal,
            Some(body),
        )
        .await
    }

    /// `GET /v1/timesheets/entries?<query>` (`query` without the `?`, may be empty).
    pub async fn list_entries(&self, principal: &Principal, query: &str) -> TestResponse {
        let path = if query.is_empty() {
            "/v1/timesheets/entries".to_owned()
        } else {
            format!("/v1/timesheets/entries?{query}")
        };
        self.request(Method::GET, &path, principal, None).await
    }

    pub async fn get_entry(&self, principal: &Principal, id: &str) -> TestResponse {
        self.request(
            Method::GET,
            &format!("/v1/timesheets/entries/{id}"),
            principal,
            None,
        )
        .await
    }

    pub async fn patch_entry(
        &self,
        principal: &Principal,
        id: &str,
        if_match: Option<&str>,
        body: Value,
    ) -> TestResponse {
        let mut call = self
            .call(
                Method::PATCH,
                &format!("/v1/timesheets/entries/{id}"),
                principal,
            )
            .json(&body);
        if let Some(etag) = if_match {
            call = call.if_match(etag);
        }
        call.send().await
    }

    pub async fn delete_entry(
        &self,
        principal: &Principal,
        id: &str,
        if_match: Option<&str>,
    ) -> TestResponse {
        let mut call = self.call(
            Method::DELETE,
            &format!("/v1/timesheets/entries/{id}"),
            principal,
        );
        if let Some(etag) = if_match {
            call = call.if_match(etag);
        }
        call.send().await
    }

    pub async fn week_action(
        &self,
        principal: &Principal,
        worker: &str,
        week: &str,
        action: &str,
        body: Option<Value>,
    ) -> TestResponse {
        let path = format!("/v1/timesheets/weeks/{}/{week}/{action}", encode(worker));
        self.request(Method::POST, &path, principal, body).await
    }

    pub async fn approvals(&self, principal: &Principal) -> TestResponse {
        self.request(Method::GET, "/v1/approvals", principal, None)
            .await
    }

    // --- compound steps used by many tests ---

    /// Creates an entry as [`admin`] and returns it; fails the test unless it is a 201.
    pub async fn given_entry(&self, worker: &str, date: &str, minutes: u32) -> EntryResponse {
        let response = self
            .create_entry(&admin(), entry_body(worker, date, minutes))
            .await;
        response.assert_status(201);
        response.entry()
    }

    /// Uploads `entries` as [`admin`] under `source`; fails the test unless it is a 200.
    pub async fn given_upload(&self, source: &str, entries: Vec<Value>) -> UploadResponse {
        let response = self.upload(&admin(), source, entries).await;
        response.assert_status(200);
        response.upload()
    }

    /// Every live entry of `source` (following `next` links), as [`admin`].
    pub async fn all_entries_of_source(&self, source: &str) -> Vec<EntryResponse> {
        self.all_entries(&format!("source={}&limit=1000", encode(source)))
            .await
    }

    /// Every entry matching `query` (following `next` links), as [`admin`].
    pub async fn all_entries(&self, query: &str) -> Vec<EntryResponse> {
        let mut out = Vec::new();
        let mut response = self.list_entries(&admin(), query).await;
        for _ in 0..100 {
            response.assert_status(200);
            let page = response.page();
            out.extend(page.data);
            match page.next {
                Some(next) => response = self.request(Method::GET, &next, &admin(), None).await,
                None => return out,
            }
        }
        panic!("more than 100 pages for {query}");
    }
}
