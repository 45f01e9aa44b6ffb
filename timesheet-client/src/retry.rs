//! When and how long to wait before repeating a request.
//!
//! Backoff is exponential with full jitter: before retry `n` (0-based) the client sleeps a random
//! time in `[0, min(max_delay, base_delay * 2^n)]`, so that many clients failing together do not
//! come back together. A `Retry-After` header (delta-seconds or HTTP-date) replaces the backoff,
//! capped at `retry_after_cap`.
//!
//! What is repeated depends on whether repeating is safe ([`Safety`]):
//! - a request that never reached the server (the connection could not be made) or that the
//!   server refused unprocessed with 429 is repeated whatever it is;
//! - timeouts, broken connections, 502, 503 and 504 are repeated for requests that are safe to
//!   send twice: GET, DELETE, PUT, PATCH with `If-Match`, the upload (an upsert by source and
//!   external id) and POST with an `Idempotency-Key`;
//! - 500 only for the idempotent ones (not a keyed POST, where the server released the key and
//!   a repeat would run the failing create again);
//! - any other status, 4xx in particular, never.
//!
//! This is the one retry policy for our HTTP calls to others: the [`ApiClient`](crate::ApiClient)
//! runs every request through [`run`], and so does the importer's Harvest source, with a
//! [`RetryPolicy`] of its own (its config keys, a longer backoff ceiling).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::config::RetryConfig;

/// The validated [`RetryConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    pub retry_after_cap: Duration,
}

impl From<&RetryConfig> for RetryPolicy {
    fn from(config: &RetryConfig) -> Self {
        Self {
            // Zero attempts would send nothing at all; read it as "no retries".
            max_attempts: config.max_attempts.max(1),
            base_delay: config.base_delay,
            max_delay: config.max_delay,
            retry_after_cap: config.retry_after_cap,
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::from(&RetryConfig::default())
    }
}

impl RetryPolicy {
    /// The backoff ceiling before retry `retry` (0-based): `min(max_delay, base * 2^retry)`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// How long to sleep before retry `retry`: the server's `Retry-After` (capped) when it sent
    /// one, else a random time up to [`ceiling`](Self::ceiling).
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.retry_after_cap);
        }
        self.ceiling(retry).mul_f64(rand::random::<f64>())
    }
}

/// Whether a request may be sent twice; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Safety {
    /// Sending it twice may do the work twice (a POST without a key, a week transition).
    Once,
    /// A POST carrying an `Idempotency-Key`: the server replays the first answer.
    Keyed,
    /// GET, DELETE, PUT, PATCH with `If-Match`, and the upload.
    Idempotent,
}

/// Whether a request answered with `status` is worth repeating.
pub fn is_retryable_status(status: u16, safety: Safety) -> bool {
    match status {
        429 => true,
        502..=504 => safety != Safety::Once,
        500 => safety == Safety::Idempotent,
        _ => false,
    }
}

/// Whether a request that failed in transport is worth repeating. A failed connect never
/// reached the server; anything later (timeout, reset) may have been processed.
pub fn is_retryable_transport(error: &reqwest::Error, safety: Safety) -> bool {
    if error.is_connect() {
        return true;
    }
    (error.is_timeout() || error.is_request() || error.is_body()) && safety != Safety::Once
}

/// The `Retry-After` of a response, as a wait from `now`. Both forms of RFC 9110 §10.2.3 are
/// read; a date in the past means "now"; anything unreadable is ignored.
pub fn parse_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let raw = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
        // An absurd number of seconds is still "wait long"; the cap applies later.
        return Some(Duration::from_secs(raw.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(raw).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// What one attempt came to, as the attempt passed to [`run`] decides it (with
/// [`is_retryable_status`], [`is_retryable_transport`] and [`parse_retry_after`]).
pub enum Step<T, E> {
    /// Final: success, or a failure not worth repeating.
    Done(Result<T, E>),
    /// A failure worth repeating, with the server's `Retry-After` when it sent one.
    Retry {
        error: E,
        retry_after: Option<Duration>,
    },
}

impl<T, E> Step<T, E> {
    /// A failed attempt: repeated when `retryable` (the server gave no wait), final otherwise.
    pub fn failed(error: E, retryable: bool) -> Self {
        if retryable {
            Step::Retry {
                error,
                retry_after: None,
            }
        } else {
            Step::Done(Err(error))
        }
    }
}

/// Runs `attempt` (given the 0-based attempt number) until it is done or `policy` runs out of
/// attempts, sleeping [`RetryPolicy::delay`] between attempts, logging each retry at warn with
/// `what` and the error, and counting it in `retries`. Returns the first final result, or the
/// last error when attempts run out.
pub async fn run<T, E, F, Fut>(
    policy: &RetryPolicy,
    retries: &AtomicU64,
    what: &'static str,
    mut attempt: F,
) -> Result<T, E>
where
    E: std::fmt::Display,
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Step<T, E>>,
{
    let mut number = 0;
    loop {
        match attempt(number).await {
            Step::Done(result) => return result,
            Step::Retry { error, retry_after } => {
                if number + 1 >= policy.max_attempts {
                    return Err(error);
                }
                let delay = policy.delay(number, retry_after);
                tracing::warn!(
                    what,
                    attempt = number + 1,
                    delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    error = %error,
                    "request failed; retrying"
                );
                retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(delay).await;
                number += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1_000),
            retry_after_cap: Duration::from_secs(120),
        }
    }

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn the_backoff_ceiling_doubles_up_to_the_maximum() {
        let p = policy();
        let ceilings: Vec<u128> = (0..6).map(|n| p.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(p.ceiling(200), Duration::from_millis(1_000));
    }

    #[test]
    fn jittered_delays_stay_within_zero_and_the_ceiling() {
        let p = policy();
        for retry in 0..8 {
            for _ in 0..50 {
                assert!(p.delay(retry, None) <= p.ceiling(retry));
            }
        }
    }

    #[test]
    fn retry_after_replaces_the_backoff_and_is_capped() {
        let p = policy();
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(3_600))),
            Duration::from_secs(120)
        );
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_as_an_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_784_000_000);
        assert_eq!(
            parse_retry_after(&headers("7"), now),
            Some(Duration::from_secs(7))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&headers(&later), now),
            Some(Duration::from_secs(30))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&headers(&earlier), now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after(&headers("soon"), now), None);
        assert_eq!(parse_retry_after(&headers("-5"), now), None);
        assert_eq!(parse_retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn only_safe_requests_are_repeated_after_ambiguous_failures() {
        use Safety::*;
        for safety in [Once, Keyed, Idempotent] {
            assert!(is_retryable_status(429, safety));
            for status in [400, 401, 403, 404, 409, 412, 422, 501] {
                assert!(!is_retryable_status(status, safety), "{status}");
            }
        }
        for status in [502, 503, 504] {
            assert!(!is_retryable_status(status, Once));
            assert!(is_retryable_status(status, Keyed));
            assert!(is_retryable_status(status, Idempotent));
        }
        assert!(!is_retryable_status(500, Keyed));
        assert!(is_retryable_status(500, Idempotent));
    }

    #[tokio::test]
    async fn run_stops_after_max_attempts_and_counts_the_retries() {
        let p = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            retry_after_cap: Duration::from_secs(1),
        };
        let retries = AtomicU64::new(0);
        let mut seen = Vec::new();
        let result: Result<(), String> = run(&p, &retries, "test", |n| {
            seen.push(n);
            async move {
                Step::Retry {
                    error: format!("failure {n}"),
                    retry_after: None,
                }
            }
        })
        .await;
        assert_eq!(result, Err("failure 2".to_owned()));
        assert_eq!(seen, [0, 1, 2]);
        assert_eq!(retries.load(Ordering::Relaxed), 2);
    }
}
