//! Plain data the store takes and returns, beyond the domain's own types.

use time::OffsetDateTime;
use timesheet_domain::{
    EntryId, EntryStatus, ExternalId, IsoWeek, NewEntry, ProjectCode, SourceName, WeekStatus,
    WorkDate, WorkerId,
};

/// A worker's week: the unit of submission and approval.
pub type WeekKey = (WorkerId, IsoWeek);

/// One row for [`crate::StoreTx::write_entries`], as the planner decided it.
#[derive(Debug, Clone)]
pub struct EntryWrite {
    pub id: EntryId,
    pub worker: WorkerId,
    pub entry: NewEntry,
    /// The version the row has after this write (1 for an insert).
    pub version: i64,
    pub kind: WriteKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    /// A new row with status `open`.
    Insert,
    /// A change to a live row; its status is kept.
    Update,
    /// A tombstone coming back: `deleted_at` cleared, status `open`.
    Revive,
}

/// Filters of `GET /v1/timesheets/entries`; all optional, all combined with AND.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    /// Only this worker's entries (the worker's external id).
    pub worker: Option<ExternalId>,
    /// Only this worker's entries (by id): how people are limited to their own.
    pub worker_id: Option<WorkerId>,
    pub project: Option<ProjectCode>,
    pub status: Option<EntryStatus>,
    /// Dates inclusive.
    pub from: Option<WorkDate>,
    pub to: Option<WorkDate>,
    pub source: Option<SourceName>,
    pub external_id: Option<ExternalId>,
    /// Changes at or after this instant, tombstones included.
    pub updated_since: Option<OffsetDateTime>,
}

/// Where a page starts: after the row with this sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// After this id (lists without `updated_since`).
    Id(EntryId),
    /// After this (updated_at, id) (lists with `updated_since`).
    Updated(OffsetDateTime, EntryId),
}

#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub cursor: Option<Cursor>,
    /// 1 to 1000; the service clamps it.
    pub limit: u32,
}

#[derive(Debug, Clone)]
pub struct Page {
    pub entries: Vec<timesheet_domain::Entry>,
    /// The cursor of the next page, or `None` on the last.
    pub next: Option<Cursor>,
}

/// A worker's week as stored. A week with no row is open with no audit fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Week {
    pub worker: WorkerId,
    pub worker_external_id: ExternalId,
    pub week: IsoWeek,
    pub status: WeekStatus,
    pub entries: u32,
    pub minutes: u32,
    pub submitted_at: Option<OffsetDateTime>,
    pub submitted_by: Option<String>,
    pub decided_at: Option<OffsetDateTime>,
    pub decided_by: Option<String>,
    pub reason: Option<String>,
}

/// A response kept for an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    /// Headers worth replaying (`location`, `etag`), as name/value pairs.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The outcome of claiming an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyStart {
    /// This request owns the key: do the work and save the response.
    Started,
    /// The same request already completed: replay this.
    Completed(StoredResponse),
    /// The same key is being processed by another request right now.
    InFlight,
    /// The key was used with a different request.
    Mismatch,
}
