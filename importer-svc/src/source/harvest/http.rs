//! Requests to Harvest: the documented headers, pagination by `links.next`, and retries by the
//! API client's policy (`timesheet_client::retry`: 429 after its `Retry-After`, connection
//! failures, timeouts, 500 and 502 to 504 with exponential backoff and full jitter), as every
//! request of ours to a third party.

use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, USER_AGENT};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde_json::Value;
use timesheet_client::retry::{self, RetryPolicy, Safety, Step};
use url::Url;

use super::wire::Page;
use super::HarvestConfig;
use crate::source::SourceError;

/// The longest `Retry-After` honoured; Harvest's throttle window is 15 seconds.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);
/// The ceiling of the backoff. Longer than the API client's (10 s by default, for our own
/// gateway): Harvest throttles per 15-second window and its outages outlast a few seconds, so
/// the later retries should reach past a window rather than spend the attempts inside one.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A listing longer than this is taken for a pagination loop.
const MAX_PAGES: usize = 100_000;

/// The pages of one listing, fetched one at a time.
pub(super) struct Pages<'a> {
    http: &'a reqwest::Client,
    config: &'a HarvestConfig,
    next: Option<Url>,
    fetched: usize,
}

impl<'a> Pages<'a> {
    pub(super) fn new(http: &'a reqwest::Client, config: &'a HarvestConfig, first: Url) -> Self {
        Self {
            http,
            config,
            next: Some(first),
            fetched: 0,
        }
    }

    /// The next page's entries, or `None` after the last page.
    pub(super) async fn next(&mut self) -> Result<Option<Vec<Value>>, SourceError> {
        let Some(url) = self.next.take() else {
            return Ok(None);
        };
        self.fetched += 1;
        if self.fetched > MAX_PAGES {
            return Err(SourceError::Protocol(format!(
                "more than {MAX_PAGES} pages: the pagination links loop"
            )));
        }
        let page: Page = self.get(&url).await?;
        self.next = match page.links.next {
            None => None,
            Some(next) => Some(self.next_url(&url, &next)?),
        };
        Ok(Some(page.time_entries))
    }

    /// Resolves `links.next`, which must stay on the configured host: the token goes with it.
    fn next_url(&self, current: &Url, next: &str) -> Result<Url, SourceError> {
        let url = current
            .join(next)
            .map_err(|err| SourceError::Protocol(format!("links.next {next:?}: {err}")))?;
        if url.origin() != self.config.base_url.origin() {
            return Err(SourceError::Protocol(format!(
                "links.next points to another host: {}",
                url.origin().ascii_serialization()
            )));
        }
        if &url == current {
            return Err(SourceError::Protocol(
                "links.next points to the page itself".into(),
            ));
        }
        Ok(url)
    }

    /// `GET url` with Harvest's headers, retried by [`retry_policy`] within `max_attempts`.
    async fn get<T: DeserializeOwned>(&self, url: &Url) -> Result<T, SourceError> {
        let headers = self.headers()?;
        let policy = retry_policy(self.config);
        // Retries are logged by `retry::run`; no metric of the importer counts them.
        let retries = AtomicU64::new(0);
        retry::run(&policy, &retries, "harvest GET", |number| {
            self.attempt(url, &headers, number + 1, policy.max_attempts)
        })
        .await
    }

    /// One `GET url`. A GET is safe to repeat, so it is [`Safety::Idempotent`] to the shared
    /// policy; what it does not repeat is final: 4xx are [`SourceError::Refused`] with
    /// Harvest's message, other failures [`SourceError::Unavailable`].
    async fn attempt<T: DeserializeOwned>(
        &self,
        url: &Url,
        headers: &HeaderMap,
        attempt: u32,
        max_attempts: u32,
    ) -> Step<T, SourceError> {
        let unavailable = |reason: String| {
            SourceError::Unavailable(format!(
                "GET {}: {reason} (attempt {attempt} of {max_attempts})",
                url.path()
            ))
        };
        let transport = |err: reqwest::Error, what: &str| {
            let retryable = retry::is_retryable_transport(&err, Safety::Idempotent);
            Step::failed(
                unavailable(format!("{what}: {}", err.without_url())),
                retryable,
            )
        };
        let response = match self
            .http
            .get(url.clone())
            .headers(headers.clone())
            .send()
            .await
        {
            Ok(response) => response,
            Err(err) => return transport(err, "request failed"),
        };
        let status = response.status();
        if status.is_success() {
            return match response.bytes().await {
                Ok(body) => Step::Done(decode(url, &body)),
                Err(err) => transport(err, "reading the body failed"),
            };
        }
        if retry::is_retryable_status(status.as_u16(), Safety::Idempotent) {
            return Step::Retry {
                error: unavailable(format!("status {status}")),
                retry_after: retry::parse_retry_after(response.headers(), SystemTime::now()),
            };
        }
        if status.is_client_error() {
            let message = error_message(response).await;
            return Step::Done(Err(SourceError::Refused(format!("{status}: {message}"))));
        }
        if status.is_server_error() {
            // 501, 505 and the like: not a passing fault, so not repeated.
            return Step::Done(Err(unavailable(format!("status {status}"))));
        }
        Step::Done(Err(SourceError::Protocol(format!(
            "GET {}: unexpected status {status}",
            url.path()
        ))))
    }

    fn headers(&self) -> Result<HeaderMap, SourceError> {
        let bad = |what: &str| SourceError::Refused(format!("the {what} is not a valid header"));
        let mut headers = HeaderMap::new();
        let mut bearer = HeaderValue::from_str(&format!(
            "Bearer {}",
            self.config.access_token.expose_secret()
        ))
        .map_err(|_| bad("access token"))?;
        // Kept out of any debug output of the request.
        bearer.set_sensitive(true);
        headers.insert(AUTHORIZATION, bearer);
        headers.insert(
            "Harvest-Account-Id",
            HeaderValue::from_str(&self.config.account_id).map_err(|_| bad("account id"))?,
        );
        headers.insert(
            USER_AGENT,
            HeaderValue::from_str(&self.config.user_agent).map_err(|_| bad("user agent"))?,
        );
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        Ok(headers)
    }
}

fn decode<T: DeserializeOwned>(url: &Url, body: &[u8]) -> Result<T, SourceError> {
    serde_json::from_slice(body).map_err(|err| {
        SourceError::Protocol(format!(
            "GET {}: not a time entries page as documented: {err}",
            url.path()
        ))
    })
}

/// The shared retry policy with Harvest's keys: `max_attempts` attempts per request, the first
/// included, and a backoff ceiling that starts at `initial_backoff` and doubles up to
/// [`MAX_BACKOFF`]; `Retry-After` is honoured up to [`MAX_RETRY_AFTER`].
fn retry_policy(config: &HarvestConfig) -> RetryPolicy {
    RetryPolicy {
        // Zero attempts would send nothing at all; read it as "no retries".
        max_attempts: config.max_attempts.max(1),
        base_delay: config.initial_backoff,
        max_delay: MAX_BACKOFF,
        retry_after_cap: MAX_RETRY_AFTER,
    }
}

/// Harvest's own words from an error body (`{"error", "error_description"}` or
/// `{"message"}`), kept short and printable.
async fn error_message(response: reqwest::Response) -> String {
    let text = response.text().await.unwrap_or_default();
    let message = match serde_json::from_str::<Value>(&text) {
        Ok(body) => {
            let field = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
            match (field("error"), field("error_description"), field("message")) {
                (Some(error), Some(description), _) => format!("{error}: {description}"),
                (_, Some(text), _) | (_, _, Some(text)) | (Some(text), _, _) => text,
                _ => String::new(),
            }
        }
        Err(_) => String::new(),
    };
    let message: String = message
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect();
    if message.is_empty() {
        "no message".to_owned()
    } else {
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_next_must_stay_on_the_configured_host() {
        let mut config =
            HarvestConfig::new("1".into(), secrecy::SecretString::from("t"), "ua".into());
        config.base_url = Url::parse("http://127.0.0.1:9").unwrap();
        let http = reqwest::Client::builder().build().unwrap();
        let current = Url::parse("http://127.0.0.1:9/v2/time_entries").unwrap();
        let pages = Pages::new(&http, &config, current.clone());

        let relative = pages.next_url(&current, "/v2/time_entries?page=2");
        assert_eq!(
            relative.map(|u| u.to_string()).ok().as_deref(),
            Some("http://127.0.0.1:9/v2/time_entries?page=2")
        );
        let elsewhere = pages.next_url(&current, "https://evil.example/v2/time_entries?page=2");
        assert!(matches!(elsewhere, Err(SourceError::Protocol(_))));
        let itself = pages.next_url(&current, current.as_str());
        assert!(matches!(itself, Err(SourceError::Protocol(_))));
    }

    #[test]
    fn the_retry_policy_keeps_harvests_keys_and_ceilings() {
        let mut config =
            HarvestConfig::new("1".into(), secrecy::SecretString::from("t"), "ua".into());
        config.max_attempts = 0;
        config.initial_backoff = Duration::from_millis(500);
        let policy = retry_policy(&config);

        assert_eq!(policy.max_attempts, 1);
        assert_eq!(policy.ceiling(0), Duration::from_millis(500));
        assert_eq!(policy.ceiling(2), Duration::from_secs(2));
        assert_eq!(policy.ceiling(40), MAX_BACKOFF);
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(15))),
            Duration::from_secs(15)
        );
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(86_400))),
            MAX_RETRY_AFTER
        );
    }
}
