//! A stand-in for Harvest API v2's time entries, built from Harvest's documented format
//! (<https://help.getharvest.com/api-v2/timesheets-api/timesheets/time-entries/>, pagination
//! and rate limits from the API overview), for tests that cannot reach Harvest.
//!
//! It serves `GET /v2/time_entries` on 127.0.0.1 (port 0) from an in-memory list: the
//! documented time entry object, `page`/`per_page` pagination (default and maximum 2000) with
//! `links.first/next/previous/last`, the `updated_since`, `from`, `to`, `is_running`, `user_id`
//! and `project_id` filters, entries sorted by `spent_date` (newest first). It answers 401
//! without `Authorization: Bearer <TOKEN>` and `Harvest-Account-Id: <ACCOUNT_ID>`, 400 without a
//! `User-Agent`, and on request 429 with `Retry-After`, 503, or a body that is not JSON.
//!
//! Include it with `#[path = "support/harvest_standin.rs"] mod harvest_standin;`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};
use tokio::task::JoinHandle;

/// The account the stand-in serves (`Harvest-Account-Id`).
pub const ACCOUNT_ID: &str = "1234567";
/// The only access token it accepts.
pub const TOKEN: &str = "standin-personal-access-token";
/// Harvest's default and maximum page size.
pub const MAX_PER_PAGE: usize = 2000;

/// One time entry as the stand-in keeps it; served as Harvest's time entry object.
#[derive(Debug, Clone)]
pub struct StandinEntry {
    pub id: u64,
    pub spent_date: Date,
    pub user_id: u64,
    pub user_name: String,
    pub project_id: u64,
    pub project_name: String,
    /// Harvest projects may have no code (`null`) or an empty one.
    pub project_code: Option<String>,
    pub task_id: u64,
    pub task_name: String,
    pub hours: f64,
    pub notes: Option<String>,
    pub is_running: bool,
    pub billable: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl StandinEntry {
    /// An entry by Kim Allen on project MW (id 14307913); change the fields as needed.
    pub fn new(spent_date: Date, hours: f64) -> Self {
        Self {
            id: 0,
            spent_date,
            user_id: 1_782_959,
            user_name: "Kim Allen".to_owned(),
            project_id: 14_307_913,
            project_name: "Marketing Website".to_owned(),
            project_code: Some("MW".to_owned()),
            task_id: 8_083_365,
            task_name: "Graphic Design".to_owned(),
            hours,
            notes: None,
            is_running: false,
            billable: true,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    pub fn user(mut self, id: u64, name: &str) -> Self {
        self.user_id = id;
        self.user_name = name.to_owned();
        self
    }

    pub fn project(mut self, id: u64, code: Option<&str>) -> Self {
        self.project_id = id;
        self.project_code = code.map(str::to_owned);
        self
    }

    pub fn notes(mut self, notes: &str) -> Self {
        self.notes = Some(notes.to_owned());
        self
    }

    pub fn billable(mut self, billable: bool) -> Self {
        self.billable = billable;
        self
    }

    pub fn running(mut self) -> Self {
        self.is_running = true;
        self
    }

    /// The documented time entry object, as the list endpoint returns it.
    pub fn to_json(&self) -> Value {
        let stamp = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
        json!({
            "id": self.id,
            "spent_date": self.spent_date.to_string(),
            "user": {"id": self.user_id, "name": self.user_name},
            "client": {"id": 5_735_776, "name": "123 Industries", "currency": "EUR"},
            "project": {"id": self.project_id, "name": self.project_name, "code": self.project_code},
            "task": {"id": self.task_id, "name": self.task_name},
            "user_assignment": {
                "id": 125_068_553, "is_project_manager": true, "is_active": true,
                "budget": null, "created_at": "2017-06-26T22:32:52Z",
                "updated_at": "2017-06-26T22:32:52Z", "hourly_rate": 100.0
            },
            "task_assignment": {
                "id": 155_502_709, "billable": true, "is_active": true,
                "created_at": "2017-06-26T21:36:23Z", "updated_at": "2017-06-26T21:36:23Z",
                "hourly_rate": 100.0, "budget": null
            },
            "external_reference": null,
            "invoice": null,
            "hours": self.hours,
            "hours_without_timer": self.hours,
            "rounded_hours": (self.hours * 4.0).ceil() / 4.0,
            "notes": self.notes,
            "created_at": stamp(self.created_at),
            "updated_at": stamp(self.updated_at),
            "is_locked": false,
            "locked_reason": null,
            "is_closed": false,
            "is_billed": false,
            "timer_started_at": if self.is_running { json!(stamp(self.updated_at)) } else { Value::Null },
            "started_time": null,
            "ended_time": null,
            "is_running": self.is_running,
            "billable": self.billable,
            "budgeted": true,
            "billable_rate": 100.0,
            "cost_rate": 50.0
        })
    }
}

/// A request the stand-in received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    /// Header names in lowercase.
    pub headers: Vec<(String, String)>,
}

impl RecordedRequest {
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Inner {
    entries: BTreeMap<u64, StandinEntry>,
    next_id: u64,
    last_stamp: Option<OffsetDateTime>,
    requests: Vec<RecordedRequest>,
    throttle_once: Option<u64>,
    unavailable: u32,
    garbage: u32,
}

impl Inner {
    /// Harvest's timestamps are whole seconds; each change gets a later one than the last.
    fn stamp(&mut self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let stamp = match self.last_stamp {
            Some(last) if now <= last => last + time::Duration::seconds(1),
            _ => now,
        };
        self.last_stamp = Some(stamp);
        stamp
    }
}

#[derive(Clone)]
struct Shared {
    inner: Arc<Mutex<Inner>>,
    base_url: String,
}

/// A running stand-in; stops when dropped.
pub struct HarvestStandin {
    addr: SocketAddr,
    shared: Shared,
    task: JoinHandle<()>,
}

impl Drop for HarvestStandin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HarvestStandin {
    pub async fn spawn() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Shared {
            inner: Arc::new(Mutex::new(Inner {
                next_id: 636_709_355,
                ..Inner::default()
            })),
            base_url: format!("http://{addr}"),
        };
        let app = Router::new()
            .route("/v2/time_entries", get(list_time_entries))
            .fallback(not_found)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, shared, task }
    }

    /// `http://127.0.0.1:<port>`, to use as the Harvest base URL.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.shared.inner.lock().unwrap()
    }

    /// Adds an entry (its `id` is assigned, `created_at`/`updated_at` set to now); returns the id.
    pub fn add(&self, mut entry: StandinEntry) -> u64 {
        let mut inner = self.inner();
        let id = inner.next_id;
        inner.next_id += 1;
        let stamp = inner.stamp();
        entry.id = id;
        entry.created_at = stamp;
        entry.updated_at = stamp;
        inner.entries.insert(id, entry);
        id
    }

    /// Changes an entry as Harvest does on an edit: `updated_at` moves to now.
    pub fn edit(&self, id: u64, change: impl FnOnce(&mut StandinEntry)) {
        let mut inner = self.inner();
        let stamp = inner.stamp();
        let entry = inner.entries.get_mut(&id).expect("no such entry");
        change(entry);
        entry.updated_at = stamp;
    }

    /// Moves an entry to another day (an edit, so `updated_at` moves too).
    pub fn backdate(&self, id: u64, spent_date: Date) {
        self.edit(id, |e| e.spent_date = spent_date);
    }

    /// Sets `updated_at` without any other change, to stage late commits and clock skew.
    pub fn set_updated_at(&self, id: u64, updated_at: OffsetDateTime) {
        let mut inner = self.inner();
        inner
            .entries
            .get_mut(&id)
            .expect("no such entry")
            .updated_at = updated_at;
    }

    /// Deletes an entry; like Harvest, no tombstone is kept.
    pub fn delete(&self, id: u64) {
        self.inner().entries.remove(&id).expect("no such entry");
    }

    pub fn entry(&self, id: u64) -> Option<StandinEntry> {
        self.inner().entries.get(&id).cloned()
    }

    /// Answers the next request with 429 and `Retry-After: <secs>`.
    pub fn throttle_next(&self, retry_after_secs: u64) {
        self.inner().throttle_once = Some(retry_after_secs);
    }

    /// Answers the next `times` requests with 503.
    pub fn fail_next(&self, times: u32) {
        self.inner().unavailable = times;
    }

    /// Answers the next `times` requests with 200 and a body that is not JSON.
    pub fn garble_next(&self, times: u32) {
        self.inner().garbage = times;
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.inner().requests.clear();
    }
}

fn problem(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

async fn not_found() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        json!({"status": 404, "error": "Not Found"}),
    )
}

async fn list_time_entries(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let mut inner = shared.inner.lock().unwrap();
    inner.requests.push(RecordedRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: query.clone(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect(),
    });

    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header("user-agent").is_none_or(str::is_empty) {
        return problem(
            StatusCode::BAD_REQUEST,
            json!({"error": "bad_request", "error_description": "A User-Agent header is required"}),
        );
    }
    if header("authorization") != Some(&format!("Bearer {TOKEN}"))
        || header("harvest-account-id") != Some(ACCOUNT_ID)
    {
        return problem(
            StatusCode::UNAUTHORIZED,
            json!({
                "error": "invalid_token",
                "error_description": "The access token provided is expired, revoked, malformed or invalid for other reasons."
            }),
        );
    }
    if let Some(secs) = inner.throttle_once.take() {
        let mut response = problem(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"message": "API rate limit exceeded"}),
        );
        response
            .headers_mut()
            .insert("retry-after", secs.to_string().parse().unwrap());
        return response;
    }
    if inner.unavailable > 0 {
        inner.unavailable -= 1;
        return (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response();
    }
    if inner.garbage > 0 {
        inner.garbage -= 1;
        return (
            StatusCode::OK,
            [("content-type", "text/html")],
            "<html><body>Down for maintenance</body></html>",
        )
            .into_response();
    }

    match list(&inner, &shared.base_url, &query) {
        Ok(body) => Json(body).into_response(),
        Err(message) => problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"message": message}),
        ),
    }
}

/// The documented list response for `query`, or the message of a 422.
fn list(inner: &Inner, base_url: &str, query: &[(String, String)]) -> Result<Value, String> {
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let date = |name: &str| -> Result<Option<Date>, String> {
        param(name)
            .map(|raw| {
                let format = time::macros::format_description!("[year]-[month]-[day]");
                Date::parse(raw, format).map_err(|_| format!("{name} must be a date: {raw}"))
            })
            .transpose()
    };
    let number = |name: &str| -> Result<Option<u64>, String> {
        param(name)
            .map(|raw| {
                raw.parse()
                    .map_err(|_| format!("{name} must be a number: {raw}"))
            })
            .transpose()
    };
    let updated_since = param("updated_since")
        .map(|raw| {
            OffsetDateTime::parse(raw, &Rfc3339)
                .map_err(|_| format!("updated_since must be an ISO 8601 date-time: {raw}"))
        })
        .transpose()?;
    let (from, to) = (date("from")?, date("to")?);
    let (user_id, project_id) = (number("user_id")?, number("project_id")?);
    let is_running = param("is_running").map(|raw| raw == "true");
    let page = usize::try_from(number("page")?.unwrap_or(1)).unwrap();
    let per_page = usize::try_from(number("per_page")?.unwrap_or(MAX_PER_PAGE as u64)).unwrap();
    if !(1..=MAX_PER_PAGE).contains(&per_page) {
        return Err(format!("per_page must be between 1 and {MAX_PER_PAGE}"));
    }
    if page == 0 {
        return Err("page must be 1 or more".to_owned());
    }

    let mut matching: Vec<&StandinEntry> = inner
        .entries
        .values()
        .filter(|e| updated_since.is_none_or(|t| e.updated_at >= t))
        .filter(|e| from.is_none_or(|d| e.spent_date >= d))
        .filter(|e| to.is_none_or(|d| e.spent_date <= d))
        .filter(|e| user_id.is_none_or(|id| e.user_id == id))
        .filter(|e| project_id.is_none_or(|id| e.project_id == id))
        .filter(|e| is_running.is_none_or(|r| e.is_running == r))
        .collect();
    matching.sort_by(|a, b| b.spent_date.cmp(&a.spent_date).then(b.id.cmp(&a.id)));

    let total_entries = matching.len();
    let total_pages = total_entries.div_ceil(per_page).max(1);
    let entries: Vec<Value> = matching
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|e| e.to_json())
        .collect();
    let filters: Vec<(String, String)> = query
        .iter()
        .filter(|(k, _)| k != "page" && k != "per_page")
        .cloned()
        .collect();
    let link = |n: usize| {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        serializer.extend_pairs(filters.iter());
        serializer.append_pair("page", &n.to_string());
        serializer.append_pair("per_page", &per_page.to_string());
        format!("{base_url}/v2/time_entries?{}", serializer.finish())
    };
    let next_page = (page < total_pages).then_some(page + 1);
    let previous_page = (page > 1).then(|| page - 1);
    Ok(json!({
        "time_entries": entries,
        "per_page": per_page,
        "total_pages": total_pages,
        "total_entries": total_entries,
        "next_page": next_page,
        "previous_page": previous_page,
        "page": page,
        "links": {
            "first": link(1),
            "next": next_page.map(link),
            "previous": previous_page.map(link),
            "last": link(total_pages),
        }
    }))
}
