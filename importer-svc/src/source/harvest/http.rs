//! Requests to Harvest: the documented headers, one small retry loop (429 with `Retry-After`,
//! 5xx and connection failures with backoff) and pagination by `links.next`.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, RETRY_AFTER, USER_AGENT};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use super::wire::Page;
use super::HarvestConfig;
use crate::source::SourceError;

/// The longest `Retry-After` honoured; Harvest's throttle window is 15 seconds.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);
/// The longest wait between two attempts after a 5xx or a connection failure.
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

    /// `GET url` with Harvest's headers, retried within `max_attempts`.
    async fn get<T: DeserializeOwned>(&self, url: &Url) -> Result<T, SourceError> {
        let headers = self.headers()?;
        let max_attempts = self.config.max_attempts.max(1);
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let backoff = backoff(self.config.initial_backoff, attempt);
            let (wait, reason) = match self
                .http
                .get(url.clone())
                .headers(headers.clone())
                .send()
                .await
            {
                Err(err) => (backoff, format!("request failed: {}", err.without_url())),
                Ok(response) => {
                    let status = response.status();
                    if status.is_success() {
                        match response.bytes().await {
                            Ok(body) => return decode(url, &body),
                            Err(err) => (backoff, format!("reading the body failed: {err}")),
                        }
                    } else if status == StatusCode::TOO_MANY_REQUESTS {
                        let wait = retry_after(response.headers()).unwrap_or(backoff);
                        (wait, "rate limited (429)".to_owned())
                    } else if status.is_server_error() {
                        (backoff, format!("status {status}"))
                    } else if status.is_client_error() {
                        let message = error_message(response).await;
                        return Err(SourceError::Refused(format!("{status}: {message}")));
                    } else {
                        return Err(SourceError::Protocol(format!(
                            "GET {}: unexpected status {status}",
                            url.path()
                        )));
                    }
                }
            };
            if attempt >= max_attempts {
                return Err(SourceError::Unavailable(format!(
                    "GET {}: {reason} ({attempt} attempts)",
                    url.path()
                )));
            }
            tracing::warn!(
                path = url.path(),
                attempt,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                reason,
                "harvest request failed; retrying"
            );
            tokio::time::sleep(wait).await;
        }
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

/// `initial * 2^(attempt - 1)`, at most [`MAX_BACKOFF`].
fn backoff(initial: Duration, attempt: u32) -> Duration {
    let factor = 2_u32.saturating_pow(attempt.saturating_sub(1));
    initial.saturating_mul(factor).min(MAX_BACKOFF)
}

/// `Retry-After` in seconds (the form Harvest sends), at most [`MAX_RETRY_AFTER`].
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
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
    fn backoff_doubles_up_to_the_cap() {
        let base = Duration::from_millis(500);
        assert_eq!(backoff(base, 1), Duration::from_millis(500));
        assert_eq!(backoff(base, 3), Duration::from_secs(2));
        assert_eq!(backoff(base, 40), MAX_BACKOFF);
    }

    #[test]
    fn retry_after_reads_seconds_and_is_capped() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("15"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(15)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("86400"));
        assert_eq!(retry_after(&headers), Some(MAX_RETRY_AFTER));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }
}
