//! A source whose rows the test controls. In `incremental` mode it behaves like a change feed
//! (Harvest): a read returns rows modified after `since` and the latest modification time as
//! the watermark; otherwise like a directory of files: every row, no watermark.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;
use importer_svc::source::{Coverage, RowRejection, Source, SourceError, SourceRead, SourceRecord};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use timesheet_domain::api::EntryInput;
use timesheet_domain::{ExternalId, SourceName, WorkDate};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoverageMode {
    Complete,
    /// Every row dated in the window is listed.
    Window(&'static str, &'static str),
    Unknown,
}

#[derive(Debug, Clone)]
struct Row {
    date: String,
    minutes: u32,
    notes: String,
    updated_at: OffsetDateTime,
}

struct Data {
    rows: BTreeMap<String, Row>,
    bad_rows: Vec<RowRejection>,
    coverage: CoverageMode,
    incremental: bool,
    failure: Option<String>,
    clock: OffsetDateTime,
}

pub struct FakeSource {
    name: SourceName,
    data: Mutex<Data>,
    /// The `since` of every read, in order.
    pub reads: Mutex<Vec<Option<OffsetDateTime>>>,
}

pub fn ext(raw: &str) -> ExternalId {
    ExternalId::parse(raw).unwrap()
}

impl FakeSource {
    pub fn new(name: &str) -> Self {
        Self {
            name: SourceName::parse(name).unwrap(),
            data: Mutex::new(Data {
                rows: BTreeMap::new(),
                bad_rows: Vec::new(),
                coverage: CoverageMode::Complete,
                incremental: false,
                failure: None,
                clock: datetime!(2026-11-01 0:00 UTC),
            }),
            reads: Mutex::new(Vec::new()),
        }
    }

    pub fn name_ref(&self) -> &SourceName {
        &self.name
    }

    /// Adds or changes a row; its modification time moves forward.
    pub fn put(&self, id: &str, date: &str, minutes: u32) {
        self.put_with_notes(id, date, minutes, "work");
    }

    pub fn put_with_notes(&self, id: &str, date: &str, minutes: u32, notes: &str) {
        let mut data = self.data.lock().unwrap();
        data.clock += Duration::seconds(1);
        let updated_at = data.clock;
        data.rows.insert(
            id.to_owned(),
            Row {
                date: date.to_owned(),
                minutes,
                notes: notes.to_owned(),
                updated_at,
            },
        );
    }

    /// `n` rows `e1..=en`, on weekdays of November 2026, one hour each.
    pub fn put_many(&self, n: usize) {
        for i in 1..=n {
            self.put(&format!("e{i}"), &format!("2026-11-{:02}", 2 + i % 20), 60);
        }
    }

    pub fn remove(&self, id: &str) {
        self.data.lock().unwrap().rows.remove(id);
    }

    pub fn remove_all(&self) {
        self.data.lock().unwrap().rows.clear();
    }

    pub fn add_bad_row(&self, location: &str, id: Option<&str>, field: &str) {
        self.data.lock().unwrap().bad_rows.push(RowRejection {
            location: location.to_owned(),
            external_id: id.map(ext),
            field: Some(field.to_owned()),
            message: format!("{field}: is not valid"),
        });
    }

    pub fn set_coverage(&self, coverage: CoverageMode) {
        self.data.lock().unwrap().coverage = coverage;
    }

    /// A change feed proves nothing about deletions unless it also lists a window: coverage
    /// becomes `Unknown` (set a window after this to have one).
    pub fn set_incremental(&self, incremental: bool) {
        let mut data = self.data.lock().unwrap();
        data.incremental = incremental;
        if incremental {
            data.coverage = CoverageMode::Unknown;
        }
    }

    pub fn fail_reads(&self, message: Option<&str>) {
        self.data.lock().unwrap().failure = message.map(ToOwned::to_owned);
    }

    /// The modification time of the latest change.
    pub fn clock(&self) -> OffsetDateTime {
        self.data.lock().unwrap().clock
    }

    pub fn read_count(&self) -> usize {
        self.reads.lock().unwrap().len()
    }
}

fn entry(id: &str, row: &Row) -> EntryInput {
    let json = serde_json::json!({
        "external_id": id,
        "worker": {"external_id": "c-77", "kind": "contractor", "name": "Ana Silva"},
        "date": row.date,
        "project": "STOREZERO",
        "minutes": row.minutes,
        "notes": row.notes,
        "billable": true,
    });
    serde_json::from_value(json).unwrap()
}

#[async_trait]
impl Source for FakeSource {
    fn name(&self) -> &SourceName {
        &self.name
    }

    async fn read(&self, since: Option<OffsetDateTime>) -> Result<SourceRead, SourceError> {
        self.reads.lock().unwrap().push(since);
        let data = self.data.lock().unwrap();
        if let Some(message) = &data.failure {
            return Err(SourceError::Unavailable(message.clone()));
        }
        let changed = |row: &Row| !data.incremental || since.is_none_or(|s| row.updated_at > s);
        let records: Vec<SourceRecord> = data
            .rows
            .iter()
            .filter(|(_, row)| changed(row))
            .enumerate()
            .map(|(line, (id, row))| SourceRecord {
                location: format!("fake.csv:{}", line + 2),
                external_id: ext(id),
                entry: entry(id, row),
                updated_at: Some(row.updated_at),
            })
            .collect();
        let coverage = match data.coverage {
            CoverageMode::Complete => Coverage::Complete,
            CoverageMode::Unknown => Coverage::Unknown,
            CoverageMode::Window(from, to) => {
                let (from, to) = (WorkDate::parse(from).unwrap(), WorkDate::parse(to).unwrap());
                let listed: HashSet<ExternalId> = data
                    .rows
                    .iter()
                    .filter(|(_, row)| {
                        let date = WorkDate::parse(&row.date).unwrap();
                        date >= from && date <= to
                    })
                    .map(|(id, _)| ext(id))
                    .collect();
                Coverage::Window { from, to, listed }
            }
        };
        let watermark = if data.incremental {
            records.iter().filter_map(|r| r.updated_at).max()
        } else {
            None
        };
        Ok(SourceRead {
            records,
            rejections: data.bad_rows.clone(),
            coverage,
            watermark,
        })
    }
}
