//! The `harvest` source: time entries from Harvest API v2
//! (<https://help.getharvest.com/api-v2/timesheets-api/timesheets/time-entries/>).
//!
//! A read lists `GET /v2/time_entries?updated_since=<since - overlap>` page by page (following
//! `links.next`) and maps each entry to ours: external id `harvest:<id>`, worker
//! `harvest-user:<user.id>`, project the Harvest project's `code` when it is a valid project
//! code and `H<project.id>` otherwise, minutes the entry's decimal hours rounded to the nearest
//! minute. Running timers are skipped (they change until stopped, and stopping one bumps its
//! `updated_at`, so a later read takes it); entries that round to 0 minutes are rejected.
//!
//! Harvest keeps no tombstones, so deletions are found by reconciling: when `reconcile_days` is
//! above 0, a read also lists every entry dated in the last `reconcile_days` days (today
//! included, UTC) and reports them as [`Coverage::Window`]; an imported entry dated in that
//! window and absent from the listing was deleted in Harvest.
//!
//! Failures: 401/403/404 (and any other 4xx but 429) are [`SourceError::Refused`] with
//! Harvest's message; 429 waits for `Retry-After` and retries; 500, 502 to 504, connection
//! failures and timeouts are retried with exponential backoff (full jitter), then
//! [`SourceError::Unavailable`], as is at once any other 5xx; a body that is not the documented
//! JSON is [`SourceError::Protocol`]. All within `max_attempts` per request, by the API client's
//! retry policy (`timesheet_client::retry`).

mod http;
mod wire;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use serde::Deserialize;
use service_config::rule;
use time::OffsetDateTime;
use timesheet_domain::{ExternalId, SourceName, WorkDate, WorkerKind};
use url::Url;

use self::http::Pages;
use self::wire::Mapped;
use super::{Coverage, Source, SourceError, SourceRead};

/// Harvest's documented maximum (and default) page size for time entries.
pub const MAX_PER_PAGE: u32 = 2000;

/// `[source.harvest]`: how the importer reaches one Harvest account. `Debug` never shows the
/// token.
#[derive(Debug, Clone, Deserialize, garde::Validate)]
#[serde(deny_unknown_fields)]
pub struct HarvestConfig {
    /// `https://api.harvestapp.com` unless testing against a stand-in.
    #[serde(default = "default_base_url")]
    #[garde(custom(rule::http_url))]
    pub base_url: Url,
    /// Sent as `Harvest-Account-Id`. Digits, but an id, not a number:
    /// `IMPORTER__SOURCE__HARVEST__ACCOUNT_ID=123456` reaches us as an integer and is taken as
    /// its text.
    #[serde(deserialize_with = "text_or_integer")]
    #[garde(length(min = 1))]
    pub account_id: String,
    /// A personal access token or an OAuth2 access token, sent as `Authorization: Bearer`.
    #[garde(skip)]
    pub access_token: SecretString,
    /// Harvest requires the application's name and a contact: `ExampleCo importer (ops@…)`.
    #[serde(default = "default_user_agent")]
    #[garde(length(min = 1))]
    pub user_agent: String,
    /// Page size, 1 to 2000.
    #[serde(default = "default_per_page")]
    #[garde(range(min = 1, max = MAX_PER_PAGE))]
    pub per_page: u32,
    /// How far below the checkpoint each read starts, so that entries committed late or
    /// with a lagging clock are not missed.
    #[serde(default = "default_overlap", with = "humantime_serde")]
    #[garde(custom(rule::within(Duration::ZERO, MAX_OVERLAP)))]
    pub overlap: Duration,
    /// How many days back (plus today) the reconcile listing covers; 0 turns deletion
    /// detection off.
    #[serde(default = "default_reconcile_days")]
    #[garde(range(max = MAX_RECONCILE_DAYS))]
    pub reconcile_days: u32,
    /// The kind given to Harvest users, who all become workers of this kind.
    #[serde(default = "default_worker_kind")]
    #[garde(skip)]
    pub worker_kind: WorkerKind,
    /// Attempts per request, the first included, before a 429, 5xx or connection failure ends
    /// the read.
    #[serde(default = "default_max_attempts")]
    #[garde(range(min = 1, max = 100))]
    pub max_attempts: u32,
    /// The longest wait before the first retry of a 5xx or connection failure (the wait is
    /// random below it); it doubles with each retry, up to a minute.
    #[serde(default = "default_initial_backoff", with = "humantime_serde")]
    #[garde(custom(rule::within(Duration::from_millis(1), Duration::from_secs(60))))]
    pub initial_backoff: Duration,
}

/// Harvest's API host.
pub const DEFAULT_BASE_URL: &str = "https://api.harvestapp.com";

/// A wider overlap re-reads more than it could ever catch.
const MAX_OVERLAP: Duration = Duration::from_secs(7 * 24 * 3600);

/// Harvest's own reports look back a year at most; a wider window only slows every read.
const MAX_RECONCILE_DAYS: u32 = 366;

#[allow(clippy::expect_used)] // A constant, not input; `default_base_url_parses` checks it.
fn default_base_url() -> Url {
    Url::parse(DEFAULT_BASE_URL).expect("DEFAULT_BASE_URL is a valid URL")
}

fn default_user_agent() -> String {
    format!("ExampleCo importer-svc/{}", env!("CARGO_PKG_VERSION"))
}

fn default_per_page() -> u32 {
    MAX_PER_PAGE
}

fn default_overlap() -> Duration {
    Duration::from_secs(10 * 60)
}

fn default_reconcile_days() -> u32 {
    30
}

fn default_worker_kind() -> WorkerKind {
    WorkerKind::Contractor
}

fn default_max_attempts() -> u32 {
    5
}

fn default_initial_backoff() -> Duration {
    Duration::from_secs(1)
}

/// A text that the environment may have turned into an integer.
fn text_or_integer<'de, D>(deserializer: D) -> Result<String, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Integer(u64),
    }
    Ok(match Raw::deserialize(deserializer)? {
        Raw::Text(text) => text,
        Raw::Integer(n) => n.to_string(),
    })
}

impl HarvestConfig {
    /// The documented defaults for everything but the account, the token and the user agent.
    pub fn new(account_id: String, access_token: SecretString, user_agent: String) -> Self {
        Self {
            base_url: default_base_url(),
            account_id,
            access_token,
            user_agent,
            per_page: default_per_page(),
            overlap: default_overlap(),
            reconcile_days: default_reconcile_days(),
            worker_kind: default_worker_kind(),
            max_attempts: default_max_attempts(),
            initial_backoff: default_initial_backoff(),
        }
    }
}

/// Reads one Harvest account's time entries.
#[derive(Debug, Clone)]
pub struct HarvestSource {
    config: HarvestConfig,
    name: SourceName,
    http: reqwest::Client,
}

impl HarvestSource {
    /// A source over the account in `config`. `http` should carry timeouts; it is shared, so
    /// one connection pool serves every read.
    pub fn new(config: HarvestConfig, source_name: SourceName, http: reqwest::Client) -> Self {
        Self {
            config,
            name: source_name,
            http,
        }
    }

    fn endpoint(&self) -> Result<Url, SourceError> {
        let mut base = self.config.base_url.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        base.join("v2/time_entries")
            .map_err(|err| SourceError::Protocol(format!("bad base url: {err}")))
    }

    fn pages(&self, url: Url) -> Pages<'_> {
        Pages::new(&self.http, &self.config, url)
    }

    /// Lists every entry dated `from..=to` and returns their external ids.
    async fn list_window(
        &self,
        from: WorkDate,
        to: WorkDate,
    ) -> Result<HashSet<ExternalId>, SourceError> {
        let mut url = self.endpoint()?;
        url.query_pairs_mut()
            .append_pair("from", &from.to_string())
            .append_pair("to", &to.to_string())
            .append_pair("per_page", &self.per_page().to_string());
        let mut listed = HashSet::new();
        let mut pages = self.pages(url);
        while let Some(page) = pages.next().await? {
            for value in &page {
                listed.insert(wire::external_id_of(value)?);
            }
        }
        Ok(listed)
    }

    fn per_page(&self) -> u32 {
        self.config.per_page.clamp(1, MAX_PER_PAGE)
    }
}

#[async_trait]
impl Source for HarvestSource {
    fn name(&self) -> &SourceName {
        &self.name
    }

    /// Lists what changed since `since - overlap` (everything when `since` is `None`), then
    /// the reconcile window. The watermark is the latest `updated_at` seen when it is later
    /// than `since`, else `None` (nothing new).
    async fn read(&self, since: Option<OffsetDateTime>) -> Result<SourceRead, SourceError> {
        let mut url = self.endpoint()?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(start) = since.and_then(|s| updated_since(s, self.config.overlap)) {
                query.append_pair("updated_since", &start);
            }
            query.append_pair("per_page", &self.per_page().to_string());
        }
        let mut read = SourceRead {
            records: Vec::new(),
            rejections: Vec::new(),
            coverage: Coverage::Unknown,
            watermark: None,
        };
        let mut skipped = 0_usize;
        // An entry moved between pages while we list can be served twice: keep the last copy.
        let mut at: HashMap<ExternalId, usize> = HashMap::new();
        let mut pages = self.pages(url);
        while let Some(page) = pages.next().await? {
            for value in page {
                let (mapped, updated_at) = wire::map_entry(value, self.config.worker_kind);
                read.watermark = read.watermark.max(updated_at);
                match mapped {
                    Mapped::Record(record) => match at.get(&record.external_id) {
                        Some(&index) => read.records[index] = *record,
                        None => {
                            at.insert(record.external_id.clone(), read.records.len());
                            read.records.push(*record);
                        }
                    },
                    Mapped::Rejected(rejection) => read.rejections.push(rejection),
                    Mapped::Skipped { location, reason } => {
                        skipped += 1;
                        tracing::debug!(%location, reason, "skipped a harvest time entry");
                    }
                }
            }
        }

        // The overlap re-reads entries at or below the checkpoint; they do not move it.
        read.watermark = read.watermark.filter(|w| since.is_none_or(|s| *w > s));

        // Listed after the changes, so an entry that is in `records` and was not deleted in
        // between is also in `listed`.
        if self.config.reconcile_days > 0 {
            let today = OffsetDateTime::now_utc().date();
            let back = time::Duration::days(i64::from(self.config.reconcile_days));
            let from = WorkDate::from_date(today.checked_sub(back).unwrap_or(time::Date::MIN));
            let to = WorkDate::from_date(today);
            let listed = self.list_window(from, to).await?;
            read.coverage = Coverage::Window { from, to, listed };
        }
        tracing::info!(
            source = %self.name,
            records = read.records.len(),
            rejections = read.rejections.len(),
            skipped,
            "read harvest time entries"
        );
        Ok(read)
    }
}

/// `since - overlap` as RFC 3339 in UTC, whole seconds (rounded down, which only widens the
/// overlap). `None` if the subtraction leaves the representable range (then read everything).
fn updated_since(since: OffsetDateTime, overlap: Duration) -> Option<String> {
    let overlap = time::Duration::try_from(overlap).ok()?;
    let start = since
        .to_offset(time::UtcOffset::UTC)
        .checked_sub(overlap)?
        .replace_nanosecond(0)
        .ok()?;
    start
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn default_base_url_parses() {
        assert_eq!(default_base_url().as_str(), "https://api.harvestapp.com/");
    }

    #[test]
    fn an_account_id_given_as_digits_is_kept_as_text() {
        // IMPORTER__SOURCE__HARVEST__ACCOUNT_ID=123456 reaches the configuration as an integer.
        let config: HarvestConfig =
            serde_json::from_str(r#"{"account_id": 123456, "access_token": "t"}"#).unwrap();
        assert_eq!(config.account_id, "123456");
        let config: HarvestConfig =
            serde_json::from_str(r#"{"account_id": "007", "access_token": "t"}"#).unwrap();
        assert_eq!(config.account_id, "007");
        assert!(config.user_agent.starts_with("ExampleCo importer-svc/"));
    }

    #[test]
    fn updated_since_subtracts_the_overlap_in_utc_whole_seconds() {
        let since = datetime!(2026-11-23 12:00:30.75 +01:00);
        let got = updated_since(since, Duration::from_secs(600));
        assert_eq!(got.as_deref(), Some("2026-11-23T10:50:30Z"));
    }

    #[test]
    fn the_endpoint_keeps_a_base_path() {
        let mut config = HarvestConfig::new("1".into(), SecretString::from("t"), "ua".into());
        config.base_url = Url::parse("http://127.0.0.1:9/prefix").unwrap();
        let source = HarvestSource::new(
            config,
            SourceName::parse("harvest").unwrap(),
            reqwest::Client::builder().build().unwrap(),
        );
        assert_eq!(
            source.endpoint().unwrap().as_str(),
            "http://127.0.0.1:9/prefix/v2/time_entries"
        );
    }
}
