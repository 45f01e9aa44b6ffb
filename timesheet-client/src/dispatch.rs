//! Sends one API call: the bearer token, one token refresh after a 401, retries by the call's
//! [`Safety`], and the mapping of answers to [`ClientError`]. The typed methods in
//! [`crate::client`] only say what to send and how to read the answer.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::SystemTime;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use timesheet_domain::Problem;
use tracing::Instrument as _;
use url::Url;

use crate::error::ClientError;
use crate::retry::{self, is_retryable_status, is_retryable_transport, RetryPolicy, Safety, Step};
use crate::token::{AccessToken, TokenManager};
use crate::trace;

const ACCEPT_VALUE: &str = "application/json, application/problem+json";

/// One call as the typed methods describe it.
pub(crate) struct Call {
    pub method: Method,
    pub url: Url,
    /// The path template (`/v1/timesheets/entries/{id}`): the request span's name and route.
    pub route: &'static str,
    /// JSON, already serialised once: every attempt sends the same bytes.
    pub body: Option<Vec<u8>>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub safety: Safety,
    /// What the call does, for logs and error context ("upload", "get entry").
    pub what: &'static str,
}

impl Call {
    pub fn new(
        method: Method,
        url: Url,
        route: &'static str,
        safety: Safety,
        what: &'static str,
    ) -> Self {
        Self {
            method,
            url,
            route,
            body: None,
            headers: Vec::new(),
            safety,
            what,
        }
    }

    pub fn json(mut self, body: &impl serde::Serialize) -> Result<Self, ClientError> {
        let bytes =
            serde_json::to_vec(body).map_err(|e| ClientError::InvalidArgument(e.to_string()))?;
        self.body = Some(bytes);
        Ok(self)
    }

    pub fn header(mut self, name: HeaderName, value: &str) -> Result<Self, ClientError> {
        let value = HeaderValue::from_str(value)
            .map_err(|_| ClientError::InvalidArgument(format!("{name}: not a header value")))?;
        self.headers.push((name, value));
        Ok(self)
    }
}

/// A 2xx answer.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// The HTTP client, the token source and the counters of the API side.
#[derive(Debug)]
pub(crate) struct Dispatcher {
    pub http: reqwest::Client,
    pub tokens: TokenManager,
    pub retry: RetryPolicy,
    pub requests: AtomicU64,
    pub retries: AtomicU64,
}

impl Dispatcher {
    /// Sends `call` until it is answered 2xx, fails for good, or runs out of attempts.
    pub async fn send(&self, call: &Call) -> Result<Answer, ClientError> {
        let refreshed = AtomicBool::new(false);
        retry::run(&self.retry, &self.retries, call.what, |_| {
            self.attempt(call, &refreshed)
        })
        .await
    }

    async fn attempt(&self, call: &Call, refreshed: &AtomicBool) -> Step<Answer, ClientError> {
        let token = match self.tokens.token().await {
            Ok(token) => token,
            // The token manager has already retried what was worth retrying.
            Err(err) => return Step::Done(Err(err.into())),
        };
        let mut response = match self.send_once(call, &token).await {
            Ok(response) => response,
            Err(err) => return transport_step(call, err),
        };
        // A 401 means the token was refused (revoked, or signed with a key since rotated):
        // one new token, once per call. A second 401 is the answer.
        if response.status() == StatusCode::UNAUTHORIZED && !refreshed.swap(true, Ordering::Relaxed)
        {
            tracing::info!(
                what = call.what,
                "the API refused the access token; renewing it once"
            );
            self.tokens.invalidate(&token).await;
            let token = match self.tokens.token().await {
                Ok(token) => token,
                Err(err) => return Step::Done(Err(err.into())),
            };
            response = match self.send_once(call, &token).await {
                Ok(response) => response,
                Err(err) => return transport_step(call, err),
            };
        }
        let status = response.status();
        let headers = response.headers().clone();
        let body = match response.bytes().await {
            Ok(body) => body.to_vec(),
            Err(err) => return transport_step(call, err),
        };
        tracing::debug!(
            what = call.what,
            method = %call.method,
            path = call.url.path(),
            status = status.as_u16(),
            "api answer"
        );
        if status.is_success() {
            return Step::Done(Ok(Answer {
                status,
                headers,
                body,
            }));
        }
        let error = ClientError::Status {
            status: status.as_u16(),
            // Every error of the API is problem+json; anything else (a proxy's HTML page) is
            // kept as no problem at all rather than failing to decode.
            problem: serde_json::from_slice::<Problem>(&body).ok().map(Box::new),
        };
        if is_retryable_status(status.as_u16(), call.safety) {
            Step::Retry {
                error,
                retry_after: retry::parse_retry_after(&headers, SystemTime::now()),
            }
        } else {
            Step::Done(Err(error))
        }
    }

    /// One HTTP request, in its own `http.request` span whose context it carries as
    /// `traceparent` (each retry and each re-send after a 401 is a request, and a span, of its
    /// own). The span ends with the response's head; reading the body is the caller's.
    async fn send_once(
        &self,
        call: &Call,
        token: &AccessToken,
    ) -> Result<reqwest::Response, reqwest::Error> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let span = trace::http_request_span(&call.method, call.route, &call.url);
        let mut trace_headers = HeaderMap::new();
        trace::inject(&span, &mut trace_headers);
        // bearer_auth marks the header sensitive, so reqwest and hyper never print it.
        let mut request = self
            .http
            .request(call.method.clone(), call.url.clone())
            .bearer_auth(token.expose_secret())
            .header(ACCEPT, ACCEPT_VALUE)
            .headers(trace_headers);
        for (name, value) in &call.headers {
            request = request.header(name, value);
        }
        if let Some(body) = &call.body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let result = request.send().instrument(span.clone()).await;
        match &result {
            Ok(response) => trace::record_status(&span, response.status().as_u16()),
            Err(err) if err.is_timeout() => trace::record_failure(&span, "timeout"),
            Err(err) if err.is_connect() => trace::record_failure(&span, "connect"),
            Err(_) => trace::record_failure(&span, "transport"),
        }
        result
    }
}

fn transport_step(call: &Call, source: reqwest::Error) -> Step<Answer, ClientError> {
    let retryable = is_retryable_transport(&source, call.safety);
    let error = ClientError::Transport {
        context: format!("{} {}", call.method, call.url.path()),
        source,
    };
    Step::failed(error, retryable)
}
