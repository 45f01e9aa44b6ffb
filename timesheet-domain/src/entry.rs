//! Time entries: what is logged, and the rules for changing it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::text::string_newtype;
use crate::{
    EntryId, ExternalId, Minutes, ProjectCode, SourceName, TenantId, ValidationError, WeekStatus,
    WorkDate, WorkerId, WorkerKind, WorkerRef,
};

/// An entry's status follows its week's: open, submitted, approved or rejected.
pub type EntryStatus = WeekStatus;

/// Free-text notes: at most 2,000 characters, no control characters but newline and tab.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Notes(String);

impl Notes {
    pub const MAX_LEN: usize = 2000;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let len = raw.chars().count();
        if len > Self::MAX_LEN {
            return Err(ValidationError::new(
                "",
                format!("must be at most {} characters, got {len}", Self::MAX_LEN),
            ));
        }
        if let Some(bad) = raw
            .chars()
            .find(|c| c.is_control() && *c != '\n' && *c != '\t')
        {
            return Err(ValidationError::new(
                "",
                format!("contains the control character {bad:?}"),
            ));
        }
        Ok(Self(raw.to_owned()))
    }
}
string_newtype!(Notes);

/// A validated entry as a client submits it, before it has an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// `None` when a person creates their own entry: the service fills in their worker.
    pub worker: Option<WorkerRef>,
    pub date: WorkDate,
    pub project: ProjectCode,
    pub minutes: Minutes,
    pub notes: Notes,
    pub billable: bool,
    pub external_id: Option<ExternalId>,
}

/// A change to an entry: only the fields that are `Some` change. Never empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryPatch {
    pub date: Option<WorkDate>,
    pub project: Option<ProjectCode>,
    pub minutes: Option<Minutes>,
    pub notes: Option<Notes>,
    pub billable: Option<bool>,
}

/// The worker as an entry shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryWorker {
    pub id: WorkerId,
    pub external_id: ExternalId,
    pub kind: WorkerKind,
    pub name: Option<String>,
}

/// A stored entry (or its tombstone, when `deleted_at` is set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: EntryId,
    pub tenant: TenantId,
    pub worker: EntryWorker,
    pub date: WorkDate,
    pub project: ProjectCode,
    pub minutes: Minutes,
    pub notes: Notes,
    pub billable: bool,
    pub source: SourceName,
    pub external_id: Option<ExternalId>,
    pub status: EntryStatus,
    /// Starts at 1 and grows by one with every change; the ETag is derived from it.
    pub version: i64,
    pub created_at: OffsetDateTime,
    pub created_by: String,
    pub updated_at: OffsetDateTime,
    pub updated_by: String,
    pub deleted_at: Option<OffsetDateTime>,
}

impl Entry {
    /// Applies a patch, returning the entry as it would be stored (version not yet bumped).
    pub fn patched(&self, patch: &EntryPatch) -> Entry {
        let mut next = self.clone();
        if let Some(date) = patch.date {
            next.date = date;
        }
        if let Some(project) = &patch.project {
            next.project = project.clone();
        }
        if let Some(minutes) = patch.minutes {
            next.minutes = minutes;
        }
        if let Some(notes) = &patch.notes {
            next.notes = notes.clone();
        }
        if let Some(billable) = patch.billable {
            next.billable = billable;
        }
        next
    }

    /// The strong ETag of this version: `"<id>.<version>"` quoted, as RFC 9110 wants.
    pub fn etag(&self) -> String {
        format!("\"{}.{}\"", self.id, self.version)
    }

    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
}

impl EntryPatch {
    pub fn is_empty(&self) -> bool {
        self.date.is_none()
            && self.project.is_none()
            && self.minutes.is_none()
            && self.notes.is_none()
            && self.billable.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_allow_newlines_and_refuse_other_control_characters() {
        assert!(Notes::parse("line one\nline two\tend").is_ok());
        assert!(Notes::parse("bell\u{7}").is_err());
        assert!(Notes::parse(&"n".repeat(2000)).is_ok());
        assert!(Notes::parse(&"n".repeat(2001)).is_err());
        assert!(Notes::parse("").is_ok());
    }
}
