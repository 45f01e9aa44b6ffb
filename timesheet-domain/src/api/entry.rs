use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::entry::EntryWorker;
use crate::{
    Entry, EntryPatch, ExternalId, Minutes, NewEntry, Notes, ProjectCode, ValidationError,
    WorkDate, WorkerRef,
};

/// Decimal hours as a client may send them: `"7.5"` or `7.5`. Parsed on the decimal text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Hours {
    Text(String),
    Number(serde_json::Number),
}

impl Hours {
    fn to_minutes(&self) -> Result<Minutes, ValidationError> {
        match self {
            Hours::Text(text) => Minutes::from_hours(text),
            Hours::Number(number) => Minutes::from_hours(&number.to_string()),
        }
    }
}

/// One entry as a client sends it, for `POST /v1/timesheets/entries` and for each item of an
/// upload. Exactly one of `minutes` and `hours`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EntryInput {
    /// The entry's id in the source system; required in uploads, optional otherwise.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "ct-1842"))]
    pub external_id: Option<ExternalId>,
    /// Who worked. Required for machine clients; people log their own time and may omit it.
    #[serde(default)]
    pub worker: Option<WorkerRef>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date, example = "2026-11-23"))]
    pub date: WorkDate,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "STOREZERO"))]
    pub project: ProjectCode,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u32>, minimum = 1, maximum = 1440, example = 450))]
    pub minutes: Option<Minutes>,
    /// Decimal hours, e.g. "7.5"; must be a whole number of minutes.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "7.5"))]
    pub hours: Option<Hours>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 2000))]
    pub notes: Option<Notes>,
    #[serde(default)]
    pub billable: Option<bool>,
}

impl TryFrom<EntryInput> for NewEntry {
    type Error = ValidationError;

    fn try_from(input: EntryInput) -> Result<Self, Self::Error> {
        let minutes = match (input.minutes, &input.hours) {
            (Some(m), None) => m,
            (None, Some(h)) => h.to_minutes().map_err(|e| e.within("hours"))?,
            (Some(_), Some(_)) => {
                return Err(ValidationError::new(
                    "hours",
                    "give either minutes or hours, not both",
                ))
            }
            (None, None) => {
                return Err(ValidationError::new(
                    "minutes",
                    "one of minutes or hours is required",
                ))
            }
        };
        Ok(NewEntry {
            worker: input.worker,
            date: input.date,
            project: input.project,
            minutes,
            notes: input.notes.unwrap_or_default(),
            billable: input.billable.unwrap_or(false),
            external_id: input.external_id,
        })
    }
}

impl NewEntry {
    /// Parses one entry from JSON text, naming the failing field.
    pub fn from_json(json: &str) -> Result<Self, ValidationError> {
        let input: EntryInput = super::parse_json(json)?;
        NewEntry::try_from(input)
    }
}

/// `PATCH /v1/timesheets/entries/{id}`: the fields to change (at least one).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PatchEntryRequest {
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub date: Option<WorkDate>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub project: Option<ProjectCode>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u32>, minimum = 1, maximum = 1440))]
    pub minutes: Option<Minutes>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub hours: Option<Hours>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 2000))]
    pub notes: Option<Notes>,
    #[serde(default)]
    pub billable: Option<bool>,
}

impl TryFrom<PatchEntryRequest> for EntryPatch {
    type Error = ValidationError;

    fn try_from(req: PatchEntryRequest) -> Result<Self, Self::Error> {
        let minutes = match (req.minutes, &req.hours) {
            (Some(_), Some(_)) => {
                return Err(ValidationError::new(
                    "hours",
                    "give either minutes or hours, not both",
                ))
            }
            (m, None) => m,
            (None, Some(h)) => Some(h.to_minutes().map_err(|e| e.within("hours"))?),
        };
        let patch = EntryPatch {
            date: req.date,
            project: req.project,
            minutes,
            notes: req.notes,
            billable: req.billable,
        };
        if patch.is_empty() {
            return Err(ValidationError::new("", "the patch changes nothing"));
        }
        Ok(patch)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntryWorkerResponse {
    pub id: uuid::Uuid,
    pub external_id: String,
    pub kind: crate::WorkerKind,
    #[serde(default)]
    pub name: Option<String>,
}

/// An entry as the API returns it. Tombstones of deleted entries carry `deleted_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntryResponse {
    pub id: uuid::Uuid,
    pub worker: EntryWorkerResponse,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub date: WorkDate,
    pub project: String,
    pub minutes: u32,
    pub notes: String,
    pub billable: bool,
    pub source: String,
    #[serde(default)]
    pub external_id: Option<String>,
    pub status: crate::EntryStatus,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: OffsetDateTime,
    pub updated_by: String,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub deleted_at: Option<OffsetDateTime>,
}

impl From<&EntryWorker> for EntryWorkerResponse {
    fn from(w: &EntryWorker) -> Self {
        Self {
            id: w.id.as_uuid(),
            external_id: w.external_id.to_string(),
            kind: w.kind,
            name: w.name.clone(),
        }
    }
}

impl From<&Entry> for EntryResponse {
    fn from(e: &Entry) -> Self {
        Self {
            id: e.id.as_uuid(),
            worker: EntryWorkerResponse::from(&e.worker),
            date: e.date,
            project: e.project.to_string(),
            minutes: e.minutes.get(),
            notes: e.notes.to_string(),
            billable: e.billable,
            source: e.source.to_string(),
            external_id: e.external_id.as_ref().map(ToString::to_string),
            status: e.status,
            version: e.version,
            created_at: e.created_at,
            created_by: e.created_by.clone(),
            updated_at: e.updated_at,
            updated_by: e.updated_by.clone(),
            deleted_at: e.deleted_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<NewEntry, ValidationError> {
        NewEntry::from_json(json)
    }

    #[test]
    fn hours_as_text_or_number_become_minutes() {
        let a = parse(r#"{"date":"2026-11-23","project":"P","hours":"7.5"}"#);
        let b = parse(r#"{"date":"2026-11-23","project":"P","hours":7.5}"#);
        assert_eq!(a.map(|e| e.minutes.get()), Ok(450));
        assert_eq!(b.map(|e| e.minutes.get()), Ok(450));
    }

    #[test]
    fn minutes_and_hours_are_exclusive_and_one_is_required() {
        let both = parse(r#"{"date":"2026-11-23","project":"P","hours":"1","minutes":60}"#);
        assert_eq!(both.err().map(|e| e.field), Some("hours".into()));
        let none = parse(r#"{"date":"2026-11-23","project":"P"}"#);
        assert_eq!(none.err().map(|e| e.field), Some("minutes".into()));
    }

    #[test]
    fn out_of_range_minutes_name_the_field() {
        for m in ["0", "-1", "1441"] {
            let json = format!(r#"{{"date":"2026-11-23","project":"P","minutes":{m}}}"#);
            assert_eq!(parse(&json).err().map(|e| e.field), Some("minutes".into()));
        }
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = parse(r#"{"date":"2026-11-23","project":"P","minutes":5,"colour":"red"}"#);
        assert!(err.is_err());
    }

    #[test]
    fn an_empty_patch_is_refused() {
        assert!(EntryPatch::try_from(PatchEntryRequest::default()).is_err());
    }
}
