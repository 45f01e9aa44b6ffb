//! Principals and request bodies the scenarios start from.

use serde_json::{json, Value};
use time::{Date, OffsetDateTime};
use timesheet_domain::api::EntryResponse;
use timesheet_domain::{Principal, PrincipalKind, Scope, ScopeSet, TenantId};

use super::TENANT;

fn principal(tenant: &str, subject: &str, kind: PrincipalKind, scopes: &[Scope]) -> Principal {
    Principal {
        tenant: TenantId::parse(tenant).expect("a valid tenant id"),
        subject: subject.to_owned(),
        client_id: Some(match kind {
            PrincipalKind::Machine => subject.trim_end_matches("@clients").to_owned(),
            PrincipalKind::User => "spa-client".to_owned(),
        }),
        kind,
        scopes: scopes.iter().copied().collect::<ScopeSet>(),
        token_id: Some(uuid::Uuid::new_v4().to_string()),
        token_expires_at: OffsetDateTime::now_utc().unix_timestamp() + 3600,
    }
}

/// An application (client-credentials token) of `tenant` with `scopes`.
pub fn machine(tenant: &str, scopes: &[Scope]) -> Principal {
    principal(tenant, "importer@clients", PrincipalKind::Machine, scopes)
}

/// A person of `tenant`, known as `subject`, with `scopes`.
pub fn user(tenant: &str, subject: &str, scopes: &[Scope]) -> Principal {
    principal(tenant, subject, PrincipalKind::User, scopes)
}

/// A machine of [`TENANT`] holding every scope.
pub fn admin() -> Principal {
    machine(TENANT, &Scope::ALL)
}

/// Today (UTC), the service's reference for the date window.
pub fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

/// The date `days` before today, as `YYYY-MM-DD`.
pub fn days_ago(days: i64) -> String {
    fmt_date(today() - time::Duration::days(days))
}

pub fn fmt_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

fn parse_date(raw: &str) -> Date {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(raw, format).expect("a YYYY-MM-DD date")
}

/// The ISO week (`2026-W48`) of a `YYYY-MM-DD` date.
pub fn iso_week(date: &str) -> String {
    let (year, week, _) = parse_date(date).to_iso_week_date();
    format!("{year:04}-W{week:02}")
}

/// Monday of the ISO week `weeks` weeks before the current one, as `YYYY-MM-DD`: a date whose
/// whole week lies in the past and inside the date window.
pub fn monday_weeks_ago(weeks: i64) -> String {
    let today = today();
    let monday = today - time::Duration::days(i64::from(today.weekday().number_days_from_monday()));
    fmt_date(monday - time::Duration::weeks(weeks))
}

/// A valid upload item.
pub fn item(external_id: &str, worker: &str, date: &str, minutes: u32) -> Value {
    json!({
        "external_id": external_id,
        "worker": {"external_id": worker, "kind": "contractor", "name": "Ana Silva", "email": "ana@example.org"},
        "date": date,
        "project": "STOREZERO",
        "minutes": minutes,
        "notes": "integration work",
        "billable": true
    })
}

/// A valid body for `POST /v1/timesheets/entries` by a machine.
pub fn entry_body(worker: &str, date: &str, minutes: u32) -> Value {
    json!({
        "worker": {"external_id": worker, "kind": "employee", "name": "Bo Berg"},
        "date": date,
        "project": "STOREZERO",
        "minutes": minutes,
        "notes": "",
        "billable": false
    })
}

/// `"<id>.<version>"`, the ETag the contract promises.
pub fn etag_of(entry: &EntryResponse) -> String {
    format!("\"{}.{}\"", entry.id, entry.version)
}

/// Percent-encodes a query value (RFC 3986 unreserved characters pass through).
pub fn encode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
