//! Workers: the employees and contractors whose time is logged.

use serde::{Deserialize, Serialize};

use crate::text::{bounded, is_printable, string_newtype};
use crate::{ExternalId, ValidationError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WorkerKind {
    Employee,
    Contractor,
}

impl WorkerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Employee => "employee",
            Self::Contractor => "contractor",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw {
            "employee" => Ok(Self::Employee),
            "contractor" => Ok(Self::Contractor),
            other => Err(ValidationError::new(
                "",
                format!("{other:?} is not one of employee, contractor"),
            )),
        }
    }
}

/// A person's display name: printable, at most 200 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WorkerName(String);

impl WorkerName {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        bounded("", raw, 200, is_printable, "printable characters").map(Self)
    }
}
string_newtype!(WorkerName);

/// An e-mail address, checked only for shape (one `@`, no spaces, at most 254 characters):
/// deliverability is not this service's concern.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let value = bounded(
            "",
            raw,
            254,
            |c| c.is_ascii_graphic() || (!c.is_ascii() && !c.is_whitespace() && !c.is_control()),
            "no spaces",
        )?;
        match value.split_once('@') {
            Some((local, domain))
                if !local.is_empty()
                    && domain.contains('.')
                    && !domain.contains('@')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.') =>
            {
                Ok(Self(value))
            }
            _ => Err(ValidationError::new(
                "",
                format!("{raw:?} is not an e-mail address"),
            )),
        }
    }
}
string_newtype!(Email);

/// A worker as a source system names it: the external id is the key, the rest is kept up to
/// date from the latest upload that mentions the worker.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WorkerRef {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "c-77"))]
    pub external_id: ExternalId,
    pub kind: WorkerKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "Ana Silva"))]
    pub name: Option<WorkerName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "ana@example.org"))]
    pub email: Option<Email>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert!(Email::parse("ana@example.org").is_ok());
        for raw in [
            "ana",
            "@example.org",
            "ana@example",
            "ana@@example.org",
            "a na@example.org",
            "ana@.org",
            "",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw} was accepted");
        }
    }

    #[test]
    fn worker_refs_refuse_unknown_fields_and_kinds() {
        let ok: Result<WorkerRef, _> = serde_json::from_str(
            r#"{"external_id":"c-77","kind":"contractor","name":"Ana Silva"}"#,
        );
        assert!(ok.is_ok());
        let unknown: Result<WorkerRef, _> =
            serde_json::from_str(r#"{"external_id":"c-77","kind":"contractor","age":3}"#);
        assert!(unknown.is_err());
        let kind: Result<WorkerRef, _> =
            serde_json::from_str(r#"{"external_id":"c-77","kind":"intern"}"#);
        assert!(kind.is_err());
    }
}
