//! Stored rows back into domain types, shared by both backends.
//!
//! Each backend reads its columns into these plain structs (its own encoding of ids, dates and
//! instants undone); turning them into domain values is done once, here. A value that no longer
//! parses is reported as [`StoreError::Corrupt`], never a panic.

use time::{Date, OffsetDateTime};
use timesheet_domain::{
    Entry, EntryId, EntryStatus, EntryWorker, ExistingEntry, ExternalId, IsoWeek, Minutes, Notes,
    ProjectCode, SourceName, TenantId, ValidationError, WorkDate, WorkerId, WorkerKind,
};
use uuid::Uuid;

use crate::{StoreError, Week};

/// The columns [`EntryRow`] is read from, over [`ENTRY_FROM`].
pub(crate) const ENTRY_COLUMNS: &str = "t.entry_id, t.worker_id, k.external_id as worker_external_id, \
     k.kind as worker_kind, k.name as worker_name, t.work_date, t.project_code, t.minutes, t.notes, \
     t.billable, t.source, t.external_id, t.status, t.version, t.created_at, t.created_by, \
     t.updated_at, t.updated_by, t.deleted_at";

/// Entries with their worker; the join repeats the tenant so it can never cross tenants.
pub(crate) const ENTRY_FROM: &str =
    "from time_entry t join worker k on k.tenant_id = t.tenant_id and k.worker_id = t.worker_id";

/// The columns [`WeekRow`] is read from, over [`WEEK_FROM`].
pub(crate) const WEEK_COLUMNS: &str =
    "w.worker_id, k.external_id, w.iso_week, w.status, w.entries, \
     w.minutes, w.submitted_at, w.submitted_by, w.decided_at, w.decided_by, w.reason";

pub(crate) const WEEK_FROM: &str =
    "from week w join worker k on k.tenant_id = w.tenant_id and k.worker_id = w.worker_id";

pub(crate) fn corrupt(
    what: &'static str,
    err: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> StoreError {
    StoreError::Corrupt {
        what,
        source: err.into(),
    }
}

fn parsed<T>(what: &'static str, result: Result<T, ValidationError>) -> Result<T, StoreError> {
    result.map_err(|err| corrupt(what, err))
}

pub(crate) fn status(raw: &str) -> Result<EntryStatus, StoreError> {
    parsed("status", EntryStatus::parse(raw))
}

pub(crate) fn count(what: &'static str, raw: i64) -> Result<u32, StoreError> {
    u32::try_from(raw).map_err(|err| corrupt(what, err))
}

pub(crate) struct EntryRow {
    pub entry_id: Uuid,
    pub worker_id: Uuid,
    pub worker_external_id: String,
    pub worker_kind: String,
    pub worker_name: Option<String>,
    pub work_date: Date,
    pub project_code: String,
    pub minutes: i64,
    pub notes: String,
    pub billable: bool,
    pub source: String,
    pub external_id: Option<String>,
    pub status: String,
    pub version: i64,
    pub created_at: OffsetDateTime,
    pub created_by: String,
    pub updated_at: OffsetDateTime,
    pub updated_by: String,
    pub deleted_at: Option<OffsetDateTime>,
}

impl EntryRow {
    pub(crate) fn into_entry(self, tenant: &TenantId) -> Result<Entry, StoreError> {
        Ok(Entry {
            id: EntryId::from_uuid(self.entry_id),
            tenant: tenant.clone(),
            worker: EntryWorker {
                id: WorkerId::from_uuid(self.worker_id),
                external_id: parsed(
                    "worker.external_id",
                    ExternalId::parse(&self.worker_external_id),
                )?,
                kind: parsed("worker.kind", WorkerKind::parse(&self.worker_kind))?,
                name: self.worker_name,
            },
            date: WorkDate::from_date(self.work_date),
            project: parsed("project_code", ProjectCode::parse(&self.project_code))?,
            minutes: parsed("minutes", Minutes::new(self.minutes))?,
            notes: parsed("notes", Notes::parse(&self.notes))?,
            billable: self.billable,
            source: parsed("source", SourceName::parse(&self.source))?,
            external_id: self
                .external_id
                .map(|raw| parsed("external_id", ExternalId::parse(&raw)))
                .transpose()?,
            status: status(&self.status)?,
            version: self.version,
            created_at: self.created_at,
            created_by: self.created_by,
            updated_at: self.updated_at,
            updated_by: self.updated_by,
            deleted_at: self.deleted_at,
        })
    }
}

/// What the planner needs of a stored entry, keyed by its external id.
pub(crate) struct ExistingRow {
    pub entry_id: Uuid,
    pub worker_id: Uuid,
    pub work_date: Date,
    pub project_code: String,
    pub minutes: i64,
    pub notes: String,
    pub billable: bool,
    pub status: String,
    pub version: i64,
    pub deleted: bool,
    pub external_id: String,
}

impl ExistingRow {
    pub(crate) fn into_existing(self) -> Result<(ExternalId, ExistingEntry), StoreError> {
        let key = parsed("external_id", ExternalId::parse(&self.external_id))?;
        Ok((
            key,
            ExistingEntry {
                id: EntryId::from_uuid(self.entry_id),
                worker: WorkerId::from_uuid(self.worker_id),
                date: WorkDate::from_date(self.work_date),
                project: parsed("project_code", ProjectCode::parse(&self.project_code))?,
                minutes: parsed("minutes", Minutes::new(self.minutes))?,
                notes: parsed("notes", Notes::parse(&self.notes))?,
                billable: self.billable,
                status: status(&self.status)?,
                version: self.version,
                deleted: self.deleted,
            },
        ))
    }
}

pub(crate) struct WeekRow {
    pub worker_id: Uuid,
    pub worker_external_id: String,
    pub iso_week: String,
    pub status: String,
    pub entries: i64,
    pub minutes: i64,
    pub submitted_at: Option<OffsetDateTime>,
    pub submitted_by: Option<String>,
    pub decided_at: Option<OffsetDateTime>,
    pub decided_by: Option<String>,
    pub reason: Option<String>,
}

impl WeekRow {
    pub(crate) fn into_week(self) -> Result<Week, StoreError> {
        Ok(Week {
            worker: WorkerId::from_uuid(self.worker_id),
            worker_external_id: parsed(
                "worker.external_id",
                ExternalId::parse(&self.worker_external_id),
            )?,
            week: iso_week(&self.iso_week)?,
            status: status(&self.status)?,
            entries: count("week.entries", self.entries)?,
            minutes: count("week.minutes", self.minutes)?,
            submitted_at: self.submitted_at,
            submitted_by: self.submitted_by,
            decided_at: self.decided_at,
            decided_by: self.decided_by,
            reason: self.reason,
        })
    }
}

pub(crate) fn iso_week(raw: &str) -> Result<IsoWeek, StoreError> {
    parsed("iso_week", IsoWeek::parse(raw))
}

/// Response headers as stored: a JSON array of `[name, value]` pairs.
pub(crate) fn headers_to_json(headers: &[(String, String)]) -> Result<String, StoreError> {
    serde_json::to_string(headers).map_err(|err| corrupt("response_headers", err))
}

pub(crate) fn headers_from_json(raw: Option<&str>) -> Result<Vec<(String, String)>, StoreError> {
    match raw {
        None => Ok(Vec::new()),
        Some(raw) => serde_json::from_str(raw).map_err(|err| corrupt("response_headers", err)),
    }
}

/// The actor recorded on entries whose status a week change moved.
pub(crate) fn week_actor(week: &Week) -> &str {
    week.decided_by
        .as_deref()
        .or(week.submitted_by.as_deref())
        .unwrap_or("system")
}

/// An idempotency key as stored, read when claiming it found it taken.
pub(crate) struct IdempotencyRow {
    pub request_hash: Vec<u8>,
    pub state: String,
    pub response_status: Option<i64>,
    pub response_headers: Option<String>,
    pub response_body: Option<Vec<u8>>,
    pub created_at: OffsetDateTime,
}

/// What to do with a key someone else holds.
pub(crate) enum Claim {
    Answer(crate::IdempotencyStart),
    /// The marker is stale: take it over if it is still the one we read.
    TakeOver,
}

impl IdempotencyRow {
    pub(crate) fn decide(
        self,
        request_hash: &[u8],
        now: OffsetDateTime,
        stale_after: std::time::Duration,
    ) -> Result<Claim, StoreError> {
        use crate::IdempotencyStart;
        // A reused key is refused whatever its state: replaying or waiting would hide the bug.
        if self.request_hash != request_hash {
            return Ok(Claim::Answer(IdempotencyStart::Mismatch));
        }
        match self.state.as_str() {
            "completed" => {
                let status = self
                    .response_status
                    .ok_or_else(|| corrupt("response_status", "missing"))?;
                Ok(Claim::Answer(IdempotencyStart::Completed(
                    crate::StoredResponse {
                        status: u16::try_from(status)
                            .map_err(|err| corrupt("response_status", err))?,
                        headers: headers_from_json(self.response_headers.as_deref())?,
                        body: self.response_body.unwrap_or_default(),
                    },
                )))
            }
            "in_flight" => {
                let age = now - self.created_at;
                let stale = time::Duration::try_from(stale_after)
                    .map(|limit| age > limit)
                    .unwrap_or(false);
                Ok(if stale {
                    Claim::TakeOver
                } else {
                    Claim::Answer(IdempotencyStart::InFlight)
                })
            }
            other => Err(corrupt(
                "idempotency_key.state",
                format!("unknown state {other:?}"),
            )),
        }
    }
}

/// The planner decides updates from rows it read in this transaction and names workers it
/// resolved in this tenant, so a row not written (missing, or naming a worker the tenant does not
/// have) is a bug: fail (and roll back) rather than report a write that did not happen.
pub(crate) fn check_all_written(affected: u64, expected: usize) -> Result<(), StoreError> {
    if usize::try_from(affected).ok() == Some(expected) {
        return Ok(());
    }
    tracing::error!(
        expected,
        affected,
        "entries to write, or their workers, are missing from this tenant"
    );
    Err(StoreError::Internal(sqlx::Error::RowNotFound))
}

/// Cuts a page from rows fetched with `limit + 1`: the extra row only says that there is a next
/// page, whose cursor is the sort key of the last row kept.
pub(crate) fn cut_page(
    mut entries: Vec<timesheet_domain::Entry>,
    limit: u32,
    by_update: bool,
) -> crate::Page {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = entries.len() > limit;
    entries.truncate(limit);
    let next = match entries.last() {
        Some(last) if more => Some(if by_update {
            crate::Cursor::Updated(last.updated_at, last.id)
        } else {
            crate::Cursor::Id(last.id)
        }),
        _ => None,
    };
    crate::Page { entries, next }
}
