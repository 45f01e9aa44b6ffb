//! Harvest's JSON (the documented list response and time entry object) and how one entry
//! becomes ours.

use serde::Deserialize;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use timesheet_domain::api::EntryInput;
use timesheet_domain::{
    ExternalId, Minutes, NewEntry, Notes, ProjectCode, ValidationError, WorkDate, WorkerKind,
    WorkerName, WorkerRef,
};

use crate::source::{RowRejection, SourceError, SourceRecord};

/// One page of `GET /v2/time_entries`. Entries stay raw here so that one odd entry is
/// rejected alone instead of failing the page.
#[derive(Debug, Deserialize)]
pub(super) struct Page {
    pub time_entries: Vec<Value>,
    pub links: Links,
}

#[derive(Debug, Deserialize)]
pub(super) struct Links {
    /// The next page's URL; `null` on the last page.
    pub next: Option<String>,
}

/// The fields of Harvest's time entry object that the mapping uses; the rest is ignored.
#[derive(Debug, Deserialize)]
struct TimeEntry {
    id: u64,
    spent_date: String,
    user: User,
    project: Project,
    hours: Option<f64>,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    is_running: bool,
    #[serde(default)]
    billable: bool,
}

#[derive(Debug, Deserialize)]
struct User {
    id: u64,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Project {
    id: u64,
    #[serde(default)]
    code: Option<String>,
}

/// What became of one Harvest entry.
#[derive(Debug)]
pub(super) enum Mapped {
    Record(Box<SourceRecord>),
    Rejected(RowRejection),
    /// Not an entry yet (a running timer); neither imported nor reported.
    Skipped {
        location: String,
        reason: &'static str,
    },
}

/// The external id of a listed entry (for the reconcile window).
pub(super) fn external_id_of(value: &Value) -> Result<ExternalId, SourceError> {
    let id = value
        .get("id")
        .and_then(Value::as_u64)
        .ok_or_else(|| SourceError::Protocol("a listed time entry has no numeric id".into()))?;
    ExternalId::parse(&format!("harvest:{id}"))
        .map_err(|err| SourceError::Protocol(format!("time entry id {id}: {err}")))
}

/// Maps one entry, and returns its `updated_at` (for the watermark) whatever became of it.
pub(super) fn map_entry(value: Value, kind: WorkerKind) -> (Mapped, Option<OffsetDateTime>) {
    let id = value.get("id").and_then(Value::as_u64);
    let location = match id {
        Some(id) => format!("harvest time entry {id}"),
        None => "harvest time entry without an id".to_owned(),
    };
    let external_id = id.and_then(|id| ExternalId::parse(&format!("harvest:{id}")).ok());
    let updated_at = value
        .get("updated_at")
        .and_then(Value::as_str)
        .and_then(|raw| OffsetDateTime::parse(raw, &Rfc3339).ok());
    let reject = |field: Option<&str>, message: String| {
        Mapped::Rejected(RowRejection {
            location: location.clone(),
            external_id: external_id.clone(),
            field: field.map(str::to_owned),
            message,
        })
    };
    let Some(updated_at) = updated_at else {
        let message = "updated_at is missing or not an RFC 3339 date-time".to_owned();
        return (reject(Some("updated_at"), message), None);
    };
    let entry: TimeEntry = match serde_json::from_value(value) {
        Ok(entry) => entry,
        Err(err) => {
            let message = format!("not a time entry as documented: {err}");
            return (reject(None, message), Some(updated_at));
        }
    };
    if entry.is_running {
        let skipped = Mapped::Skipped {
            location,
            reason: "the timer is running",
        };
        return (skipped, Some(updated_at));
    }
    let mapped = match to_input(&entry, kind) {
        Ok((external_id, input)) => match NewEntry::try_from(input.clone()) {
            Ok(_) => Mapped::Record(Box::new(SourceRecord {
                location,
                external_id,
                entry: input,
                updated_at: Some(updated_at),
            })),
            Err(err) => reject(
                Some(err.field.as_str()).filter(|f| !f.is_empty()),
                err.reason,
            ),
        },
        Err(err) => reject(
            Some(err.field.as_str()).filter(|f| !f.is_empty()),
            err.reason,
        ),
    };
    (mapped, Some(updated_at))
}

/// Builds our entry; errors name Harvest's field.
fn to_input(
    entry: &TimeEntry,
    kind: WorkerKind,
) -> Result<(ExternalId, EntryInput), ValidationError> {
    let external_id =
        ExternalId::parse(&format!("harvest:{}", entry.id)).map_err(|e| e.within("id"))?;
    let worker = WorkerRef {
        external_id: ExternalId::parse(&format!("harvest-user:{}", entry.user.id))
            .map_err(|e| e.within("user.id"))?,
        kind,
        // A display name only: one that does not fit ours is left out rather than
        // costing the entry.
        name: entry
            .user
            .name
            .as_deref()
            .and_then(|n| WorkerName::parse(n.trim()).ok()),
        email: None,
    };
    let notes = match entry.notes.as_deref().map(normalize_newlines) {
        Some(text) if !text.is_empty() => Some(Notes::parse(&text).map_err(|e| e.within("notes"))?),
        _ => None,
    };
    let input = EntryInput {
        external_id: Some(external_id.clone()),
        worker: Some(worker),
        date: WorkDate::parse(&entry.spent_date).map_err(|e| e.within("spent_date"))?,
        project: project_code(&entry.project)?,
        minutes: Some(minutes(entry.hours).map_err(|e| e.within("hours"))?),
        hours: None,
        notes,
        billable: Some(entry.billable),
    };
    Ok((external_id, input))
}

/// The project's own code when it is one of ours, else `H<project id>`: stable, and unique
/// per Harvest project.
fn project_code(project: &Project) -> Result<ProjectCode, ValidationError> {
    project
        .code
        .as_deref()
        .and_then(|code| ProjectCode::parse(code).ok())
        .map_or_else(
            || ProjectCode::parse(&format!("H{}", project.id)).map_err(|e| e.within("project.id")),
            Ok,
        )
}

/// Harvest's decimal hours, rounded to the nearest whole minute.
fn minutes(hours: Option<f64>) -> Result<Minutes, ValidationError> {
    let hours = hours.ok_or_else(|| ValidationError::new("", "is missing"))?;
    let minutes = (hours * 60.0).round();
    if !minutes.is_finite() || minutes.abs() > 1e9 {
        return Err(ValidationError::new(
            "",
            format!("{hours} is not a duration"),
        ));
    }
    if minutes == 0.0 {
        return Err(ValidationError::new(
            "",
            format!("{hours} h rounds to 0 minutes; an entry holds at least 1"),
        ));
    }
    // In range after the check above, so the cast neither truncates nor saturates.
    #[allow(clippy::cast_possible_truncation)]
    Minutes::new(minutes as i64)
}

/// Harvest keeps notes as typed, `\r\n` included; ours allow `\n` as the only line break.
fn normalize_newlines(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_round_to_the_nearest_minute() {
        assert_eq!(minutes(Some(7.5)).map(Minutes::get), Ok(450));
        assert_eq!(minutes(Some(1.33)).map(Minutes::get), Ok(80));
        assert_eq!(minutes(Some(0.01)).map(Minutes::get), Ok(1));
        assert!(minutes(Some(0.005)).is_err());
        assert!(minutes(Some(-1.0)).is_err());
        assert!(minutes(Some(24.5)).is_err());
        assert!(minutes(Some(f64::NAN)).is_err());
        assert!(minutes(None).is_err());
    }

    #[test]
    fn projects_without_a_usable_code_are_named_by_id() {
        let code = |code: Option<&str>| {
            project_code(&Project {
                id: 14_307_913,
                code: code.map(str::to_owned),
            })
            .map(|c| c.to_string())
        };
        assert_eq!(code(Some("STOREZERO")), Ok("STOREZERO".to_owned()));
        assert_eq!(code(Some("")), Ok("H14307913".to_owned()));
        assert_eq!(code(Some("has space")), Ok("H14307913".to_owned()));
        assert_eq!(code(None), Ok("H14307913".to_owned()));
    }

    #[test]
    fn an_entry_that_does_not_fit_the_documented_shape_is_rejected_alone() {
        let value = serde_json::json!({
            "id": 42, "spent_date": "2026-11-23", "hours": 1.0,
            "updated_at": "2026-11-23T10:00:00Z"
        });
        let (mapped, updated_at) = map_entry(value, WorkerKind::Contractor);
        let Mapped::Rejected(rejection) = mapped else {
            panic!("expected a rejection, got {mapped:?}");
        };
        assert_eq!(rejection.location, "harvest time entry 42");
        assert_eq!(
            rejection.external_id.map(|id| id.to_string()),
            Some("harvest:42".into())
        );
        assert!(rejection.message.contains("user"), "{}", rejection.message);
        assert!(updated_at.is_some(), "it still counts for the watermark");

        let value = serde_json::json!({"id": 43});
        let (mapped, updated_at) = map_entry(value, WorkerKind::Contractor);
        assert!(
            matches!(mapped, Mapped::Rejected(RowRejection { field: Some(f), .. }) if f == "updated_at")
        );
        assert_eq!(updated_at, None);
    }

    #[test]
    fn carriage_returns_become_newlines() {
        assert_eq!(normalize_newlines("a\r\nb\rc\n"), "a\nb\nc\n");
    }
}
