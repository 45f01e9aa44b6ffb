//! Names of the database constraints a write can violate, as both migrations spell them.
//!
//! [`crate::StoreError::Conflict`] carries one of these, so callers match on a name rather than
//! on a driver's message. PostgreSQL reports the name itself; SQLite reports only the columns
//! of a unique constraint, so each name also lists them in SQLite's wording.

pub const WORKER_PKEY: &str = "worker_pkey";
/// One worker per (tenant, external id).
pub const WORKER_TENANT_EXTERNAL_ID_KEY: &str = "worker_tenant_external_id_key";
pub const WORKER_TENANT_WORKER_KEY: &str = "worker_tenant_worker_key";
pub const PROJECT_PKEY: &str = "project_pkey";
pub const TIME_ENTRY_PKEY: &str = "time_entry_pkey";
/// One entry per (tenant, source, external id); entries without an external id may repeat.
pub const TIME_ENTRY_SOURCE_EXTERNAL_ID_KEY: &str = "time_entry_source_external_id_key";
pub const WEEK_PKEY: &str = "week_pkey";
pub const IDEMPOTENCY_KEY_PKEY: &str = "idempotency_key_pkey";

/// Each unique constraint with the columns SQLite names when it fails.
const UNIQUE: &[(&str, &str)] = &[
    (WORKER_PKEY, "worker.worker_id"),
    (
        WORKER_TENANT_EXTERNAL_ID_KEY,
        "worker.tenant_id, worker.external_id",
    ),
    (
        WORKER_TENANT_WORKER_KEY,
        "worker.tenant_id, worker.worker_id",
    ),
    (PROJECT_PKEY, "project.tenant_id, project.code"),
    (TIME_ENTRY_PKEY, "time_entry.entry_id"),
    (
        TIME_ENTRY_SOURCE_EXTERNAL_ID_KEY,
        "time_entry.tenant_id, time_entry.source, time_entry.external_id",
    ),
    (WEEK_PKEY, "week.tenant_id, week.worker_id, week.iso_week"),
    (
        IDEMPOTENCY_KEY_PKEY,
        "idempotency_key.tenant_id, idempotency_key.subject, idempotency_key.idem_key",
    ),
];

/// The constant for a constraint name PostgreSQL reported.
pub(crate) fn by_name(name: &str) -> Option<&'static str> {
    UNIQUE.iter().find(|(n, _)| *n == name).map(|(n, _)| *n)
}

/// The constant for SQLite's "UNIQUE constraint failed: t.a, t.b" message.
pub(crate) fn by_sqlite_message(message: &str) -> Option<&'static str> {
    let columns = message.rsplit_once(": ")?.1.trim();
    UNIQUE.iter().find(|(_, c)| *c == columns).map(|(n, _)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_messages_map_to_constraint_names() {
        assert_eq!(
            by_sqlite_message(
                "UNIQUE constraint failed: time_entry.tenant_id, time_entry.source, time_entry.external_id"
            ),
            Some(TIME_ENTRY_SOURCE_EXTERNAL_ID_KEY)
        );
        assert_eq!(
            by_sqlite_message("UNIQUE constraint failed: time_entry.entry_id"),
            Some(TIME_ENTRY_PKEY)
        );
        assert_eq!(by_sqlite_message("UNIQUE constraint failed: other.x"), None);
        assert_eq!(by_name("week_pkey"), Some(WEEK_PKEY));
        assert_eq!(by_name("nope"), None);
    }
}
