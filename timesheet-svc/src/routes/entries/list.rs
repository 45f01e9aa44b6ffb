use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use timesheet_domain::api::{EntryPage, EntryResponse};
use timesheet_domain::{
    EntryId, ExternalId, Principal, Problem, ProjectCode, SourceName, ValidationError, WeekStatus,
    WorkDate,
};
use timesheet_store::{Cursor, EntryFilter, Page, PageRequest};

use crate::error::ApiResult;
use crate::extract::{Caller, QueryPairs};
use crate::ledger::own_worker;
use crate::state::AppState;

const PARAMS: &[&str] = &[
    "worker",
    "project",
    "status",
    "from",
    "to",
    "source",
    "external_id",
    "updated_since",
    "limit",
    "cursor",
];
const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;

/// Lists entries with filters, a page at a time. Pages are cut by a keyset cursor, so a client
/// walking the pages sees every row once even while others write. With `updated_since`, the
/// list also holds tombstones of deleted entries, ordered by change time: what a sync needs.
#[utoipa::path(
    get, path = "/v1/timesheets/entries", tag = "entries",
    params(
        ("worker" = Option<String>, Query, description = "Worker external id"),
        ("project" = Option<String>, Query),
        ("status" = Option<WeekStatus>, Query),
        ("from" = Option<String>, Query, description = "First date, inclusive (YYYY-MM-DD)"),
        ("to" = Option<String>, Query, description = "Last date, inclusive (YYYY-MM-DD)"),
        ("source" = Option<String>, Query),
        ("external_id" = Option<String>, Query),
        ("updated_since" = Option<String>, Query, description = "RFC 3339 instant; includes tombstones"),
        ("limit" = Option<u32>, Query, description = "1 to 1000, default 100"),
        ("cursor" = Option<String>, Query, description = "From the previous page's next link"),
    ),
    responses(
        (status = 200, description = "A page", body = EntryPage, headers(("Link" = String, description = "rel=\"next\""))),
        (status = 422, description = "Bad parameter", body = Problem, content_type = "application/problem+json"),
    ),
    security(("gateway" = ["read:timesheets"]))
)]
pub async fn list_entries(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryPairs,
) -> ApiResult<Response> {
    let principal = caller.require(timesheet_domain::Scope::ReadTimesheets)?;
    let parsed = ListQuery::parse(&query)?;
    let page = list_page(&state, principal, &parsed).await?;
    let next = page.next.map(|cursor| parsed.next_link(cursor));
    let body = EntryPage {
        data: page.entries.iter().map(EntryResponse::from).collect(),
        next: next.clone(),
    };
    let mut response = Json(body).into_response();
    if let Some(next) = next {
        if let Ok(link) = HeaderValue::from_str(&format!("<{next}>; rel=\"next\"")) {
            response.headers_mut().insert(header::LINK, link);
        }
    }
    Ok(response)
}

/// A parsed list request.
pub(crate) struct ListQuery {
    pub filter: EntryFilter,
    pub page: PageRequest,
    /// The parameters to repeat in the next link (all but `cursor`).
    pub keep: Vec<(String, String)>,
}

impl ListQuery {
    pub fn parse(query: &QueryPairs) -> ApiResult<Self> {
        query.only(PARAMS)?;
        let filter = EntryFilter {
            worker: query.parse("worker", ExternalId::parse)?,
            worker_id: None,
            project: query.parse("project", ProjectCode::parse)?,
            status: query.parse("status", WeekStatus::parse)?,
            from: query.parse("from", WorkDate::parse)?,
            to: query.parse("to", WorkDate::parse)?,
            source: query.parse("source", SourceName::parse)?,
            external_id: query.parse("external_id", ExternalId::parse)?,
            updated_since: query.parse("updated_since", parse_instant)?,
        };
        let limit = query.parse("limit", parse_limit)?.unwrap_or(DEFAULT_LIMIT);
        let cursor = query.parse("cursor", decode_cursor)?;
        let by_update = filter.updated_since.is_some();
        if let Some(c) = cursor {
            if matches!(c, Cursor::Updated(..)) != by_update {
                return Err(ValidationError::new(
                    "cursor",
                    "does not belong to this list; start again without it",
                )
                .into());
            }
        }
        Ok(Self {
            filter,
            page: PageRequest { cursor, limit },
            keep: query
                .0
                .iter()
                .filter(|(n, _)| n != "cursor")
                .cloned()
                .collect(),
        })
    }

    fn next_link(&self, cursor: Cursor) -> String {
        let mut pairs = self.keep.clone();
        pairs.push(("cursor".to_owned(), encode_cursor(cursor)));
        let query: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect();
        format!("/v1/timesheets/entries?{}", query.join("&"))
    }
}

/// Runs a list for `principal`: people without approve:timesheets see only their own entries.
pub(crate) async fn list_page(
    state: &AppState,
    principal: &Principal,
    query: &ListQuery,
) -> ApiResult<Page> {
    let mut filter = query.filter.clone();
    if !principal.sees_whole_tenant() {
        let own = own_worker(principal)?;
        match state
            .store
            .worker_id(&principal.tenant, &own.external_id)
            .await?
        {
            Some(id) => filter.worker_id = Some(id),
            None => {
                return Ok(Page {
                    entries: Vec::new(),
                    next: None,
                })
            }
        }
    }
    Ok(state
        .store
        .list_entries(&principal.tenant, &filter, &query.page)
        .await?)
}

fn parse_limit(raw: &str) -> Result<u32, ValidationError> {
    match raw.parse::<u32>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(ValidationError::new(
            "",
            format!("must be a whole number from 1 to {MAX_LIMIT}"),
        )),
    }
}

fn parse_instant(raw: &str) -> Result<OffsetDateTime, ValidationError> {
    OffsetDateTime::parse(raw, &Rfc3339).map_err(|_| {
        ValidationError::new("", "must be an RFC 3339 instant, e.g. 2026-11-23T08:00:00Z")
    })
}

/// Cursors are opaque to clients: `i.<uuid>` or `u.<unix micros>.<uuid>`, base64url.
fn encode_cursor(cursor: Cursor) -> String {
    let raw = match cursor {
        Cursor::Id(id) => format!("i.{id}"),
        Cursor::Updated(at, id) => format!("u.{}.{id}", at.unix_timestamp_nanos() / 1000),
    };
    URL_SAFE_NO_PAD.encode(raw)
}

fn decode_cursor(raw: &str) -> Result<Cursor, ValidationError> {
    let bad = || ValidationError::new("", "is not a cursor this service issued");
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let mut parts = text.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("i"), Some(id), None, None) => Ok(Cursor::Id(EntryId::parse(id).map_err(|_| bad())?)),
        (Some("u"), Some(micros), Some(id), None) => {
            let micros: i128 = micros.parse().map_err(|_| bad())?;
            let at = OffsetDateTime::from_unix_timestamp_nanos(micros * 1000).map_err(|_| bad())?;
            Ok(Cursor::Updated(at, EntryId::parse(id).map_err(|_| bad())?))
        }
        _ => Err(bad()),
    }
}

fn urlencode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let id = EntryId::generate();
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_800_000_000_123_456_000).unwrap();
        for c in [Cursor::Id(id), Cursor::Updated(at, id)] {
            assert_eq!(decode_cursor(&encode_cursor(c)), Ok(c));
        }
        for bad in ["", "!!", "aS5ub3QtYS11dWlk", &URL_SAFE_NO_PAD.encode("x.y")] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn next_links_keep_filters_and_escape_values() {
        let q = ListQuery {
            filter: EntryFilter::default(),
            page: PageRequest {
                cursor: None,
                limit: 5,
            },
            keep: vec![
                ("source".into(), "a b&c".into()),
                ("limit".into(), "5".into()),
            ],
        };
        let link = q.next_link(Cursor::Id(EntryId::generate()));
        assert!(link.starts_with("/v1/timesheets/entries?source=a%20b%26c&limit=5&cursor="));
    }
}
