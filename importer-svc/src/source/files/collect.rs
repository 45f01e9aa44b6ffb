//! What one read of the directory gathers: records, rejections, the ids already seen (so a
//! repeated external id is caught across files) and whether every file could be read.

use std::collections::HashMap;

use timesheet_domain::api::EntryInput;
use timesheet_domain::{ExternalId, NewEntry, ValidationError};

use crate::source::{Coverage, RowRejection, SourceRead, SourceRecord};

#[derive(Debug, Default)]
pub(super) struct Collector {
    records: Vec<SourceRecord>,
    rejections: Vec<RowRejection>,
    /// Every external id read so far, with the location that claimed it first.
    seen: HashMap<ExternalId, String>,
    /// Set when a file could not be read as a whole: deletions cannot be judged this time.
    incomplete: bool,
}

impl Collector {
    /// Validates one parsed row exactly as the API would and keeps it as a record, or rejects
    /// it. `field_of` turns the domain's field path into the name the file uses.
    pub(super) fn accept(
        &mut self,
        location: String,
        input: EntryInput,
        field_of: fn(&str) -> String,
    ) {
        let Some(external_id) = input.external_id.clone() else {
            self.reject(
                location,
                None,
                Some("external_id"),
                "is required".to_owned(),
            );
            return;
        };
        if !self.claim(&location, &external_id) {
            return;
        }
        match NewEntry::try_from(input) {
            Ok(entry) => self.records.push(SourceRecord {
                location,
                external_id,
                entry: canonical(entry),
                updated_at: None,
            }),
            Err(err) => {
                let field = (!err.field.is_empty()).then(|| field_of(&err.field));
                self.rejections.push(RowRejection {
                    location,
                    external_id: Some(external_id),
                    field,
                    message: err.reason,
                });
            }
        }
    }

    /// Rejects a row that could not even be parsed; its external id, when it could be read, is
    /// still claimed so that a second row with the same id is reported as a duplicate.
    pub(super) fn reject_invalid(
        &mut self,
        location: String,
        external_id: Option<ExternalId>,
        err: ValidationError,
    ) {
        if let Some(id) = &external_id {
            if !self.claim(&location, id) {
                return;
            }
        }
        let field = (!err.field.is_empty()).then_some(err.field);
        self.rejections.push(RowRejection {
            location,
            external_id,
            field,
            message: err.reason,
        });
    }

    fn reject(
        &mut self,
        location: String,
        external_id: Option<ExternalId>,
        field: Option<&str>,
        message: String,
    ) {
        self.rejections.push(RowRejection {
            location,
            external_id,
            field: field.map(str::to_owned),
            message,
        });
    }

    /// A file that could not be opened, decoded or read to its end: reported, and the read no
    /// longer covers the whole source, so nothing will be deleted on its account.
    pub(super) fn file_failed(&mut self, location: String, field: Option<&str>, message: String) {
        self.incomplete = true;
        self.reject(location, None, field, message);
    }

    pub(super) fn finish(self) -> SourceRead {
        SourceRead {
            records: self.records,
            rejections: self.rejections,
            coverage: if self.incomplete {
                Coverage::Unknown
            } else {
                Coverage::Complete
            },
            watermark: None,
        }
    }

    /// Records that `location` holds `id`; false (and a rejection) if another row had it first.
    fn claim(&mut self, location: &str, id: &ExternalId) -> bool {
        if let Some(first) = self.seen.get(id) {
            let message = format!("duplicate of {first}");
            self.reject(
                location.to_owned(),
                Some(id.clone()),
                Some("external_id"),
                message,
            );
            return false;
        }
        self.seen.insert(id.clone(), location.to_owned());
        true
    }
}

/// The entry in one normal form (minutes, never hours; notes only when non-empty; billable
/// always set), so that the same entry written two ways looks the same to the engine's digests.
fn canonical(entry: NewEntry) -> EntryInput {
    EntryInput {
        external_id: entry.external_id,
        worker: entry.worker,
        date: entry.date,
        project: entry.project,
        minutes: Some(entry.minutes),
        hours: None,
        notes: (!entry.notes.as_ref().is_empty()).then_some(entry.notes),
        billable: Some(entry.billable),
    }
}
