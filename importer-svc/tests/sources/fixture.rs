//! Shared arrangements: directories of files, sources over them, and Harvest sources over a
//! stand-in.

use std::path::Path;
use std::time::Duration;

use importer_svc::source::files::FilesSource;
use importer_svc::source::harvest::{HarvestConfig, HarvestSource};
use importer_svc::source::{RowRejection, Source, SourceRead};
use secrecy::SecretString;
use serde_json::Value;
use timesheet_domain::api::EntryInput;
use timesheet_domain::SourceName;
use url::Url;

use crate::harvest_standin::{HarvestStandin, ACCOUNT_ID, TOKEN};

pub const CSV_HEADER: &str = "external_id,worker_external_id,worker_kind,worker_name,worker_email,date,project,minutes,hours,notes,billable\n";

/// A temporary directory holding `files` (name, bytes).
pub fn dir_with(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    dir
}

pub fn files_source(dir: &Path) -> FilesSource {
    FilesSource::new(
        dir.to_path_buf(),
        SourceName::parse("contractor-tracker").unwrap(),
    )
}

pub async fn read_dir(dir: &Path) -> SourceRead {
    files_source(dir).read(None).await.unwrap()
}

/// The rejection reported at `location`; fails the test if there is none.
pub fn rejection_at<'a>(read: &'a SourceRead, location: &str) -> &'a RowRejection {
    read.rejections
        .iter()
        .find(|r| r.location == location)
        .unwrap_or_else(|| panic!("no rejection at {location}: {:#?}", read.rejections))
}

/// The record locations of a read, in order.
pub fn locations(read: &SourceRead) -> Vec<&str> {
    read.records.iter().map(|r| r.location.as_str()).collect()
}

/// An `EntryInput` as JSON, for comparing (the type has no `PartialEq`).
pub fn json_of(entry: &EntryInput) -> Value {
    serde_json::to_value(entry).unwrap()
}

/// The JSON of the `EntryInput` that `value` parses to, so expectations go through the same
/// serializer as the records.
pub fn expected(value: Value) -> Value {
    let input: EntryInput = serde_json::from_value(value).unwrap();
    json_of(&input)
}

/// A configuration for the stand-in, with short backoffs so retry tests stay fast.
pub fn harvest_config(standin: &HarvestStandin) -> HarvestConfig {
    let mut config = HarvestConfig::new(
        ACCOUNT_ID.to_owned(),
        SecretString::from(TOKEN),
        "ExampleCo importer tests (ops@example.org)".to_owned(),
    );
    config.base_url = Url::parse(&standin.base_url()).unwrap();
    config.initial_backoff = Duration::from_millis(10);
    config
}

pub fn harvest_source(config: HarvestConfig) -> HarvestSource {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    HarvestSource::new(config, SourceName::parse("harvest").unwrap(), http)
}
