//! [`ApiClient`]: one typed method per endpoint of the Timesheets API (`/v1`), through the
//! gateway.
//!
//! Every method gets a bearer token from the [`TokenManager`], renews it once if the API answers
//! 401, and repeats the request when that is safe (see [`crate::retry`]). A method returns the
//! decoded answer, or a [`ClientError`] that keeps the server's problem details.

use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::header::{HeaderName, ETAG, IF_MATCH};
use reqwest::Method;
use serde::de::DeserializeOwned;
use timesheet_domain::api::{
    ApprovalsResponse, EntryInput, EntryPage, EntryResponse, PatchEntryRequest, UploadBatch,
    UploadResponse, WeekResponse, MAX_BATCH_ITEMS,
};
use timesheet_domain::{ExternalId, IsoWeek};
use url::Url;
use uuid::Uuid;

use crate::config::{http_client, Config, ConfigError};
use crate::dispatch::{Answer, Call, Dispatcher};
use crate::error::ClientError;
use crate::header::{ETag, IdempotencyKey};
use crate::query::ListQuery;
use crate::retry::{RetryPolicy, Safety};
use crate::token::TokenManager;

const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// The route template of one entry.
const ENTRY: &str = "/v1/timesheets/entries/{id}";

/// What a delete came to. Both mean the entry is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// This call deleted it (204).
    Now,
    /// It was already deleted, or never existed for this caller (404).
    AlreadyGone,
}

/// Counters since the client was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// HTTP requests sent to the API, retries and 401 re-sends included.
    pub requests: u64,
    /// API requests repeated after a failure.
    pub retries: u64,
    /// HTTP requests sent to the token endpoint, retries included.
    pub token_requests: u64,
    /// Token requests repeated after a failure.
    pub token_retries: u64,
}

/// The typed client. Cheap to share behind an `Arc`; all methods take `&self`.
#[derive(Debug)]
pub struct ApiClient {
    base_url: Url,
    dispatcher: Dispatcher,
}

impl ApiClient {
    /// Builds the client and its token manager from `config`. Fails on settings that cannot
    /// work (no secret for the method, unreadable key or CA file); sends nothing.
    pub fn new(config: &Config) -> Result<Self, ConfigError> {
        let retry = RetryPolicy::from(&config.retry);
        let tokens = TokenManager::new(&config.auth, retry)?;
        Self::with_token_manager(config, tokens)
    }

    /// Like [`new`](Self::new), with a token manager the application already has (and may
    /// share between clients).
    pub fn with_token_manager(config: &Config, tokens: TokenManager) -> Result<Self, ConfigError> {
        let base_url = &config.base_url;
        if !matches!(base_url.scheme(), "https" | "http") || base_url.cannot_be_a_base() {
            return Err(ConfigError::invalid("base_url", "must be an http(s) URL"));
        }
        let (timeout, connect_timeout) = config.timeouts()?;
        let http = http_client(timeout, connect_timeout, config.ca_cert.as_ref(), "ca_cert")?;
        Ok(Self {
            base_url: base_url.clone(),
            dispatcher: Dispatcher {
                http,
                tokens,
                retry: RetryPolicy::from(&config.retry),
                requests: AtomicU64::new(0),
                retries: AtomicU64::new(0),
            },
        })
    }

    /// `POST /v1/timesheets/upload`: upserts up to 1,000 entries by (source, external id) and
    /// returns one result per entry, in input order (a rejected entry carries its problem).
    /// More than 1,000 entries fail here with [`ClientError::TooLarge`], before any request.
    /// Retried like any idempotent request: re-sending the same batch changes nothing more.
    pub async fn upload(&self, batch: &UploadBatch) -> Result<UploadResponse, ClientError> {
        if batch.entries.len() > MAX_BATCH_ITEMS {
            return Err(ClientError::TooLarge {
                count: batch.entries.len(),
                max: MAX_BATCH_ITEMS,
            });
        }
        let url = self.url(&["v1", "timesheets", "upload"])?;
        let call = Call::new(
            Method::POST,
            url,
            "/v1/timesheets/upload",
            Safety::Idempotent,
            "upload",
        )
        .json(batch)?;
        decode(&self.dispatcher.send(&call).await?, call.what)
    }

    /// `POST /v1/timesheets/entries`: creates one entry (201). The key makes a repeat of the same
    /// request replay the first answer; keep it with the request and reuse it when retrying later.
    pub async fn create_entry(
        &self,
        entry: &EntryInput,
        idempotency_key: &IdempotencyKey,
    ) -> Result<EntryResponse, ClientError> {
        let url = self.url(&["v1", "timesheets", "entries"])?;
        let call = Call::new(
            Method::POST,
            url,
            "/v1/timesheets/entries",
            Safety::Keyed,
            "create entry",
        )
        .json(entry)?
        .header(IDEMPOTENCY_KEY, idempotency_key.as_str())?;
        decode(&self.dispatcher.send(&call).await?, call.what)
    }

    /// `GET /v1/timesheets/entries`: the first page of entries matching `query`.
    pub async fn list_entries(&self, query: &ListQuery) -> Result<EntryPage, ClientError> {
        let mut url = self.url(&["v1", "timesheets", "entries"])?;
        let pairs = query.pairs();
        if !pairs.is_empty() {
            url.query_pairs_mut().extend_pairs(pairs);
        }
        self.get_page(url).await
    }

    /// The page after `page`, following its `next` link; `None` after the last page. The link
    /// must point at the same origin as the base URL: the bearer token goes nowhere else.
    pub async fn next_page(&self, page: &EntryPage) -> Result<Option<EntryPage>, ClientError> {
        let Some(next) = &page.next else {
            return Ok(None);
        };
        let bad = |reason: String| ClientError::Decode {
            context: "following the next link".to_owned(),
            reason,
        };
        let url = self.base_url.join(next).map_err(|e| bad(e.to_string()))?;
        if url.origin() != self.base_url.origin() {
            return Err(bad(format!(
                "it points at {}, not at the API",
                url.origin().ascii_serialization()
            )));
        }
        self.get_page(url).await.map(Some)
    }

    /// Every entry matching `query`, page after page. For large lists prefer
    /// [`list_entries`](Self::list_entries) and [`next_page`](Self::next_page).
    pub async fn list_all(&self, query: &ListQuery) -> Result<Vec<EntryResponse>, ClientError> {
        let mut page = self.list_entries(query).await?;
        let mut entries = std::mem::take(&mut page.data);
        while let Some(mut next) = self.next_page(&page).await? {
            entries.append(&mut next.data);
            page = next;
        }
        Ok(entries)
    }

    /// `GET /v1/timesheets/entries/{id}`: the entry and its ETag, to send back with a patch.
    pub async fn get_entry(&self, id: Uuid) -> Result<(EntryResponse, ETag), ClientError> {
        let url = self.entry_url(id)?;
        let call = Call::new(Method::GET, url, ENTRY, Safety::Idempotent, "get entry");
        let answer = self.dispatcher.send(&call).await?;
        Ok((decode(&answer, call.what)?, etag(&answer, call.what)?))
    }

    /// `PATCH /v1/timesheets/entries/{id}` with `If-Match: etag`: changes the fields set in
    /// `patch`. A 412 means the entry changed since `etag` was read: get it again and redo.
    pub async fn patch_entry(
        &self,
        id: Uuid,
        etag: &ETag,
        patch: &PatchEntryRequest,
    ) -> Result<(EntryResponse, ETag), ClientError> {
        let url = self.entry_url(id)?;
        let call = Call::new(Method::PATCH, url, ENTRY, Safety::Idempotent, "patch entry")
            .json(patch)?
            .header(IF_MATCH, etag.as_str())?;
        let answer = self.dispatcher.send(&call).await?;
        Ok((decode(&answer, call.what)?, self::etag(&answer, call.what)?))
    }

    /// `DELETE /v1/timesheets/entries/{id}`. A 404 is not an error: the entry is gone either way
    /// (and a retried delete whose first attempt went through sees exactly that).
    pub async fn delete_entry(&self, id: Uuid) -> Result<Deleted, ClientError> {
        let url = self.entry_url(id)?;
        let call = Call::new(
            Method::DELETE,
            url,
            ENTRY,
            Safety::Idempotent,
            "delete entry",
        );
        match self.dispatcher.send(&call).await {
            Ok(_) => Ok(Deleted::Now),
            Err(ClientError::Status { status: 404, .. }) => Ok(Deleted::AlreadyGone),
            Err(err) => Err(err),
        }
    }

    /// `POST /v1/timesheets/weeks/{worker}/{week}/submit`. Not repeated after an ambiguous
    /// failure: a second submit would be refused (409) even if the first went through.
    pub async fn submit_week(
        &self,
        worker: &ExternalId,
        week: IsoWeek,
    ) -> Result<WeekResponse, ClientError> {
        self.week_action(worker, week, "submit", None).await
    }

    /// `POST /v1/timesheets/weeks/{worker}/{week}/approve`; the week's entries are then locked.
    pub async fn approve_week(
        &self,
        worker: &ExternalId,
        week: IsoWeek,
    ) -> Result<WeekResponse, ClientError> {
        self.week_action(worker, week, "approve", None).await
    }

    /// `POST /v1/timesheets/weeks/{worker}/{week}/reject`, with an optional reason for the worker.
    pub async fn reject_week(
        &self,
        worker: &ExternalId,
        week: IsoWeek,
        reason: Option<&str>,
    ) -> Result<WeekResponse, ClientError> {
        self.week_action(worker, week, "reject", reason).await
    }

    /// `GET /v1/approvals`: the weeks waiting for a decision, oldest first.
    pub async fn approvals(&self) -> Result<ApprovalsResponse, ClientError> {
        let url = self.url(&["v1", "approvals"])?;
        let call = Call::new(
            Method::GET,
            url,
            "/v1/approvals",
            Safety::Idempotent,
            "list approvals",
        );
        decode(&self.dispatcher.send(&call).await?, call.what)
    }

    /// The token manager, to share with other clients or to read its counters.
    pub fn token_manager(&self) -> &TokenManager {
        &self.dispatcher.tokens
    }

    pub fn stats(&self) -> ClientStats {
        let tokens = self.dispatcher.tokens.stats();
        ClientStats {
            requests: self.dispatcher.requests.load(Ordering::Relaxed),
            retries: self.dispatcher.retries.load(Ordering::Relaxed),
            token_requests: tokens.requests,
            token_retries: tokens.retries,
        }
    }

    async fn week_action(
        &self,
        worker: &ExternalId,
        week: IsoWeek,
        action: &'static str,
        reason: Option<&str>,
    ) -> Result<WeekResponse, ClientError> {
        let week = week.to_string();
        let url = self.url(&["v1", "timesheets", "weeks", worker.as_ref(), &week, action])?;
        let (what, route) = match action {
            "submit" => ("submit week", "/v1/timesheets/weeks/{worker}/{week}/submit"),
            "approve" => (
                "approve week",
                "/v1/timesheets/weeks/{worker}/{week}/approve",
            ),
            _ => ("reject week", "/v1/timesheets/weeks/{worker}/{week}/reject"),
        };
        let mut call = Call::new(Method::POST, url, route, Safety::Once, what);
        if let Some(reason) = reason {
            call = call.json(&serde_json::json!({ "reason": reason }))?;
        }
        decode(&self.dispatcher.send(&call).await?, call.what)
    }

    async fn get_page(&self, url: Url) -> Result<EntryPage, ClientError> {
        let call = Call::new(
            Method::GET,
            url,
            "/v1/timesheets/entries",
            Safety::Idempotent,
            "list entries",
        );
        decode(&self.dispatcher.send(&call).await?, call.what)
    }

    fn entry_url(&self, id: Uuid) -> Result<Url, ClientError> {
        self.url(&["v1", "timesheets", "entries", &id.to_string()])
    }

    /// The base URL with `segments` appended, each percent-encoded (a worker id with a `/`
    /// stays one segment).
    fn url(&self, segments: &[&str]) -> Result<Url, ClientError> {
        let mut url = self.base_url.clone();
        url.set_query(None);
        url.set_fragment(None);
        url.path_segments_mut()
            .map_err(|()| ClientError::InvalidArgument("the base URL cannot hold a path".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }
}

fn decode<T: DeserializeOwned>(answer: &Answer, what: &str) -> Result<T, ClientError> {
    serde_json::from_slice(&answer.body).map_err(|e| ClientError::Decode {
        context: format!("{what}, status {}", answer.status.as_u16()),
        reason: e.to_string(),
    })
}

fn etag(answer: &Answer, what: &str) -> Result<ETag, ClientError> {
    answer
        .headers
        .get(ETAG)
        .and_then(|v| v.to_str().ok())
        .map(ETag::new)
        .ok_or_else(|| ClientError::Decode {
            context: what.to_owned(),
            reason: "no ETag header".to_owned(),
        })
}
