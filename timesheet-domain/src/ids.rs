//! Identifiers. Each is a newtype so that a worker id can never be passed where an entry id is
//! expected, and each string id has a bounded length and character set.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::text::{bounded, is_printable, string_newtype};
use crate::ValidationError;

/// A tenant: one organisation (an Auth0 tenant or Organization) whose data is isolated from all
/// others. Lowercase ASCII letters, digits, `-` and `_`, at most 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(String);

impl TenantId {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        bounded(
            "",
            raw,
            64,
            |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_',
            "a-z, 0-9, '-' and '_'",
        )
        .map(Self)
    }
}
string_newtype!(TenantId);

/// The system an entry came from (`contractor-tracker`, `harvest`, `api`). With [`ExternalId`]
/// it is the key an upload upserts by. ASCII letters, digits, `-`, `_`, `.` and `:`, at most 64.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SourceName(String);

impl SourceName {
    /// The source recorded for entries created one at a time through the API.
    pub const API: &'static str = "api";

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        bounded(
            "",
            raw,
            64,
            |c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'),
            "ASCII letters, digits, '-', '_', '.' and ':'",
        )
        .map(Self)
    }

    pub fn api() -> Self {
        Self(Self::API.to_owned())
    }
}
string_newtype!(SourceName);

/// The id a source system gives a record (an entry, or a worker). Printable, at most 128.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ExternalId(String);

impl ExternalId {
    pub const MAX_LEN: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        bounded("", raw, Self::MAX_LEN, is_printable, "printable characters").map(Self)
    }
}
string_newtype!(ExternalId);

/// A project, known by its code (`STOREZERO`). ASCII letters, digits, `-`, `_` and `.`, at most
/// 32; compared exactly as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProjectCode(String);

impl ProjectCode {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        bounded(
            "",
            raw,
            32,
            |c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'),
            "ASCII letters, digits, '-', '_' and '.'",
        )
        .map(Self)
    }
}
string_newtype!(ProjectCode);

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered (UUID v7) id: ids sort by creation, which keeps the primary
            /// key index append-mostly and makes the id usable as a pagination key.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }

            pub fn parse(raw: &str) -> Result<Self, ValidationError> {
                Uuid::parse_str(raw)
                    .map(Self)
                    .map_err(|_| ValidationError::new("", "must be a UUID"))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// A time entry's id (UUID v7).
    EntryId
);
uuid_id!(
    /// A worker's id (UUID v7), stable across the external ids that name the worker.
    WorkerId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_are_lowercase_slugs() {
        assert!(TenantId::parse("exampleco").is_ok());
        assert!(TenantId::parse("other-tenant_2").is_ok());
        assert!(TenantId::parse("ExampleCo").is_err());
        assert!(TenantId::parse("").is_err());
        assert!(TenantId::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn external_ids_reject_control_characters_and_overlong_values() {
        assert!(ExternalId::parse("ct-1842").is_ok());
        assert!(ExternalId::parse("harvest:123 456").is_ok());
        assert!(ExternalId::parse("a\u{0}b").is_err());
        assert!(ExternalId::parse(" padded").is_err());
        assert!(ExternalId::parse(&"x".repeat(129)).is_err());
        assert!(ExternalId::parse(&"é".repeat(128)).is_ok());
    }

    #[test]
    fn project_codes_are_ascii_codes() {
        assert!(ProjectCode::parse("STOREZERO").is_ok());
        assert!(ProjectCode::parse("store zero").is_err());
        assert!(ProjectCode::parse(&"P".repeat(33)).is_err());
    }

    #[test]
    fn generated_entry_ids_are_time_ordered() {
        let a = EntryId::generate();
        let b = EntryId::generate();
        assert!(a < b);
        assert_eq!(a.as_uuid().get_version_num(), 7);
    }

    #[test]
    fn serde_parses_while_deserializing() {
        let ok: Result<SourceName, _> = serde_json::from_str("\"harvest\"");
        assert!(ok.is_ok());
        let bad: Result<SourceName, _> = serde_json::from_str("\"has space\"");
        assert!(bad.is_err());
    }
}
