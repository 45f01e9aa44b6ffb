//! Where entries come from. Every source yields the same validated records, so the sync engine
//! does not know whether it reads files or a vendor's API.

use std::collections::HashSet;

use async_trait::async_trait;
use serde::Deserialize;
use time::OffsetDateTime;
use timesheet_domain::api::EntryInput;
use timesheet_domain::{ExternalId, SourceName, WorkDate};

pub mod files;
pub mod harvest;

use files::FilesConfig;
use harvest::HarvestConfig;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// CSV and JSON Lines files in a directory.
    #[default]
    Files,
    /// Harvest API v2 time entries.
    Harvest,
}

/// `[source]`: which source a run reads, and the settings of each kind.
#[derive(Debug, Clone, Default, Deserialize, garde::Validate)]
#[serde(default, deny_unknown_fields)]
pub struct SourceConfig {
    #[garde(skip)]
    pub kind: SourceKind,
    /// The `source` the API keys entries by; see [`SourceConfig::source_name`].
    #[garde(skip)]
    pub source_name: Option<SourceName>,
    #[garde(dive)]
    pub files: FilesConfig,
    /// Required when `kind` is `harvest`; its account and token have no default.
    #[garde(dive)]
    pub harvest: Option<HarvestConfig>,
}

impl SourceConfig {
    /// The configured name, or the kind's default: `contractor-tracker` for files, `harvest`.
    pub fn source_name(&self) -> SourceName {
        if let Some(name) = &self.source_name {
            return name.clone();
        }
        let default = match self.kind {
            SourceKind::Files => "contractor-tracker",
            SourceKind::Harvest => "harvest",
        };
        SourceName::parse(default).unwrap_or_else(|_| SourceName::api())
    }
}

/// One entry read from a source and validated: `entry.external_id` is always `Some`, and
/// `NewEntry::try_from(entry.clone())` succeeds.
#[derive(Debug, Clone)]
pub struct SourceRecord {
    /// Where the record came from, for messages: `sample.csv:17`, `harvest time entry 636709355`.
    pub location: String,
    pub external_id: ExternalId,
    pub entry: EntryInput,
    /// The source's own modification time, when it keeps one (drives the watermark).
    pub updated_at: Option<OffsetDateTime>,
}

/// A row the source holds but that cannot become an entry. Reported, never uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowRejection {
    /// `file.csv:17` (1-based line of the row, the header being line 1) or the vendor's id.
    pub location: String,
    /// The row's external id when it could be read: such an id is still present in the source,
    /// so it is never treated as deleted.
    pub external_id: Option<ExternalId>,
    /// The failing field (`date`, `minutes`, `worker.email`), when one is to blame.
    pub field: Option<String>,
    pub message: String,
}

/// What a read can say about deletions in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coverage {
    /// The read saw everything the source holds (files: the whole directory was read): a
    /// previously imported id that is neither in `records` nor in `rejections` was deleted.
    Complete,
    /// Every entry whose work date lies in `from..=to` is listed in `listed` (a reconcile
    /// listing, for sources without tombstones such as Harvest): a previously imported id with a
    /// date in that window and absent from `listed` was deleted.
    Window {
        from: WorkDate,
        to: WorkDate,
        listed: HashSet<ExternalId>,
    },
    /// Nothing can be concluded about deletions this time (for example a file was unreadable).
    Unknown,
}

/// The result of one read.
#[derive(Debug, Clone)]
pub struct SourceRead {
    pub records: Vec<SourceRecord>,
    pub rejections: Vec<RowRejection>,
    pub coverage: Coverage,
    /// The checkpoint to save once every record of this read has been acknowledged by the API;
    /// `None` keeps the previous one.
    pub watermark: Option<OffsetDateTime>,
}

/// Why a read failed as a whole (a single bad row is a [`RowRejection`], not an error).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read {path}: {message}")]
    Io { path: String, message: String },
    #[error("the source system is unavailable: {0}")]
    Unavailable(String),
    #[error("the source system refused the request: {0}")]
    Refused(String),
    #[error("the source system answered something unexpected: {0}")]
    Protocol(String),
}

#[async_trait]
pub trait Source: Send + Sync {
    /// The `source` sent to the API; with the external id it keys every entry.
    fn name(&self) -> &SourceName;

    /// Reads what changed since `since` (`None`: everything). A source applies its own overlap
    /// window below `since`, so late-committed and back-dated changes are not missed.
    async fn read(&self, since: Option<OffsetDateTime>) -> Result<SourceRead, SourceError>;
}
