//! The `files` source: CSV and JSON Lines files dropped in one directory (the importer's
//! embedded default; see `importer-svc/samples/README.md` for the formats).
//!
//! Every read lists the directory's `*.csv` and `*.jsonl` files (by name, not recursive; other
//! files are ignored) and parses them whole: files have no change feed, so the engine compares
//! per-entry digests and the read reports [`Coverage::Complete`], which lets the engine delete
//! what vanished. When any file cannot be opened or decoded as a whole, the read still returns
//! the rows of the other files but reports [`Coverage::Unknown`], so nothing is deleted on a day
//! a file is half-written or unreadable.
//!
//! Rows are checked by the API's own rules (`NewEntry::try_from` on an `EntryInput`), so a row
//! the importer accepts is a row the API accepts, short of the date window and day totals that
//! only the service can judge. Accepted rows come out in one normal form: `minutes` (never
//! `hours`), `notes` only when non-empty, `billable` always set.
//!
//! What it is not: a watcher. Files should be written elsewhere and moved into the directory,
//! so that a read never sees half a file.

mod collect;
mod csv_file;
mod jsonl_file;

use std::fs::File;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::Deserialize;
use time::OffsetDateTime;
use timesheet_domain::SourceName;

use self::collect::Collector;
use super::{Coverage, Source, SourceError, SourceRead};

/// `[source.files]`.
#[derive(Debug, Clone, Default, Deserialize, garde::Validate)]
#[serde(default, deny_unknown_fields)]
pub struct FilesConfig {
    /// The directory whose `*.csv` and `*.jsonl` files are read; required when the source
    /// kind is `files`.
    #[garde(skip)]
    pub dir: Option<PathBuf>,
}

/// Reads every `*.csv` and `*.jsonl` file of one directory.
#[derive(Debug, Clone)]
pub struct FilesSource {
    dir: PathBuf,
    name: SourceName,
}

impl FilesSource {
    /// A source over `dir`; nothing is read until [`Source::read`].
    pub fn new(dir: PathBuf, source_name: SourceName) -> Self {
        Self {
            dir,
            name: source_name,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[async_trait]
impl Source for FilesSource {
    fn name(&self) -> &SourceName {
        &self.name
    }

    /// Reads the whole directory; `since` is ignored (files keep no modification times per
    /// entry). Fails only when the directory itself cannot be listed; a bad file or row is a
    /// rejection in the result.
    async fn read(&self, _since: Option<OffsetDateTime>) -> Result<SourceRead, SourceError> {
        let dir = self.dir.clone();
        // Parsing 100,000 rows is blocking work; keep it off the async workers.
        tokio::task::spawn_blocking(move || read_dir(&dir))
            .await
            .map_err(|err| SourceError::Io {
                path: self.dir.display().to_string(),
                message: format!("the reading task failed: {err}"),
            })?
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    JsonLines,
}

/// Reads every data file of `dir`, in name order.
fn read_dir(dir: &Path) -> Result<SourceRead, SourceError> {
    let io_error = |err: std::io::Error| SourceError::Io {
        path: dir.display().to_string(),
        message: err.to_string(),
    };
    let mut files: Vec<(String, PathBuf, Format)> = Vec::new();
    for item in std::fs::read_dir(dir).map_err(io_error)? {
        let item = item.map_err(io_error)?;
        let name = item.file_name().to_string_lossy().into_owned();
        let Some(format) = format_of(&name) else {
            continue;
        };
        // A directory named like a data file is not one; anything else that fails to open
        // later (a dangling link, no permission) is reported as an unreadable file.
        if item.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        files.push((name, item.path(), format));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));

    let mut out = Collector::default();
    for (name, path, format) in &files {
        match File::open(path) {
            Ok(file) => match format {
                Format::Csv => csv_file::read(name, file, &mut out),
                Format::JsonLines => jsonl_file::read(name, file, &mut out),
            },
            Err(err) => out.file_failed(name.clone(), None, format!("cannot open: {err}")),
        }
    }
    let read = out.finish();
    tracing::debug!(
        dir = %dir.display(),
        files = files.len(),
        records = read.records.len(),
        rejections = read.rejections.len(),
        complete = read.coverage == Coverage::Complete,
        "read the files source"
    );
    Ok(read)
}

fn format_of(name: &str) -> Option<Format> {
    let (_, ext) = name.rsplit_once('.')?;
    if ext.eq_ignore_ascii_case("csv") {
        Some(Format::Csv)
    } else if ext.eq_ignore_ascii_case("jsonl") {
        Some(Format::JsonLines)
    } else {
        None
    }
}
