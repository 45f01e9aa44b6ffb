//! One CSV file: a header naming the columns (any order), then one entry per row.

use std::fs::File;
use std::io::{BufRead, BufReader};

use csv::{ByteRecord, StringRecord};
use timesheet_domain::api::{EntryInput, Hours};
use timesheet_domain::{
    Email, ExternalId, Minutes, Notes, ProjectCode, ValidationError, WorkDate, WorkerKind,
    WorkerName, WorkerRef,
};

use super::collect::Collector;

/// The columns a CSV file may have, in the order the sample files use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    ExternalId,
    WorkerExternalId,
    WorkerKind,
    WorkerName,
    WorkerEmail,
    Date,
    Project,
    Minutes,
    Hours,
    Notes,
    Billable,
}

impl Column {
    const ALL: [Column; 11] = [
        Column::ExternalId,
        Column::WorkerExternalId,
        Column::WorkerKind,
        Column::WorkerName,
        Column::WorkerEmail,
        Column::Date,
        Column::Project,
        Column::Minutes,
        Column::Hours,
        Column::Notes,
        Column::Billable,
    ];

    /// Columns every file must have (plus one of `minutes` and `hours`).
    const REQUIRED: [Column; 5] = [
        Column::ExternalId,
        Column::WorkerExternalId,
        Column::WorkerKind,
        Column::Date,
        Column::Project,
    ];

    fn name(self) -> &'static str {
        match self {
            Column::ExternalId => "external_id",
            Column::WorkerExternalId => "worker_external_id",
            Column::WorkerKind => "worker_kind",
            Column::WorkerName => "worker_name",
            Column::WorkerEmail => "worker_email",
            Column::Date => "date",
            Column::Project => "project",
            Column::Minutes => "minutes",
            Column::Hours => "hours",
            Column::Notes => "notes",
            Column::Billable => "billable",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Where each column sits in the file's rows.
struct Header {
    positions: [Option<usize>; Column::ALL.len()],
    len: usize,
}

impl Header {
    /// Reads the header line; an error names the offending column.
    fn parse(raw: &ByteRecord) -> Result<Self, ValidationError> {
        let mut positions = [None; Column::ALL.len()];
        for (at, name) in raw.iter().enumerate() {
            let name = std::str::from_utf8(name)
                .map_err(|_| ValidationError::new("", "the header is not valid UTF-8"))?
                .trim();
            let column = Column::ALL
                .into_iter()
                .find(|c| c.name() == name)
                .ok_or_else(|| ValidationError::new(name, format!("unknown column {name:?}")))?;
            if positions[column.index()].replace(at).is_some() {
                return Err(ValidationError::new(name, "the column appears twice"));
            }
        }
        if let Some(missing) = Column::REQUIRED
            .into_iter()
            .find(|c| positions[c.index()].is_none())
        {
            return Err(ValidationError::new(
                missing.name(),
                "the header lacks this required column",
            ));
        }
        if positions[Column::Minutes.index()].is_none()
            && positions[Column::Hours.index()].is_none()
        {
            return Err(ValidationError::new(
                "minutes",
                "the header needs a minutes or an hours column",
            ));
        }
        Ok(Self {
            positions,
            len: raw.len(),
        })
    }

    /// The cell of `column` in `row`, or `""` when the file has no such column.
    fn cell<'r>(&self, row: &'r StringRecord, column: Column) -> &'r str {
        self.positions[column.index()]
            .and_then(|at| row.get(at))
            .unwrap_or("")
    }

    /// The column at position `at`, for messages.
    fn column_at(&self, at: usize) -> Option<Column> {
        Column::ALL
            .into_iter()
            .find(|c| self.positions[c.index()] == Some(at))
    }
}

/// Reads `file` (named `name` in locations) into `out`.
pub(super) fn read(name: &str, file: File, out: &mut Collector) {
    let mut input = BufReader::new(file);
    if let Err(err) = skip_bom(&mut input) {
        out.file_failed(name.to_owned(), None, format!("cannot read: {err}"));
        return;
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(input);
    let header = match reader.byte_headers() {
        Ok(raw) if raw.is_empty() => {
            let message = "the file is empty; a header line is required".to_owned();
            out.file_failed(format!("{name}:1"), None, message);
            return;
        }
        Ok(raw) => match Header::parse(raw) {
            Ok(header) => header,
            Err(err) => {
                let field = (!err.field.is_empty()).then_some(err.field.as_str());
                out.file_failed(format!("{name}:1"), field, err.reason.clone());
                return;
            }
        },
        Err(err) => {
            out.file_failed(
                name.to_owned(),
                None,
                format!("cannot read the header: {err}"),
            );
            return;
        }
    };

    let mut raw = ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut raw) {
            Ok(true) => {}
            Ok(false) => break,
            Err(err) => {
                let line = err.position().map_or(0, |p| p.line());
                let message = format!("cannot read past line {line}: {err}");
                out.file_failed(name.to_owned(), None, message);
                return;
            }
        }
        let line = raw.position().map_or(0, |p| p.line());
        row(name, line, &header, std::mem::take(&mut raw), out);
    }
}

fn row(name: &str, line: u64, header: &Header, raw: ByteRecord, out: &mut Collector) {
    let location = format!("{name}:{line}");
    let row = match StringRecord::from_byte_record(raw) {
        Ok(row) => row,
        Err(err) => {
            let field = header
                .column_at(err.utf8_error().field())
                .map_or("", Column::name);
            let raw = err.into_byte_record();
            let external_id = header.positions[Column::ExternalId.index()]
                .and_then(|at| raw.get(at))
                .and_then(|id| std::str::from_utf8(id).ok())
                .and_then(|id| ExternalId::parse(id).ok());
            let err = ValidationError::new(field, "is not valid UTF-8");
            out.reject_invalid(location, external_id, err);
            return;
        }
    };
    let cells = Cells { header, row: &row };
    let external_id = ExternalId::parse(cells.get(Column::ExternalId)).ok();
    if row.len() != header.len {
        // Too few cells: the first missing column is to blame; too many: no column is.
        let field = (row.len() < header.len)
            .then(|| header.column_at(row.len()).map(Column::name))
            .flatten();
        let message = format!(
            "the row has {} fields, the header {}",
            row.len(),
            header.len
        );
        let err = ValidationError::new(field.unwrap_or(""), message);
        out.reject_invalid(location, external_id, err);
        return;
    }
    match cells.entry() {
        Ok(input) => out.accept(location, input, str::to_owned),
        Err(err) => out.reject_invalid(location, external_id, err),
    }
}

/// One row seen through the header.
struct Cells<'a> {
    header: &'a Header,
    row: &'a StringRecord,
}

impl Cells<'_> {
    fn get(&self, column: Column) -> &str {
        self.header.cell(self.row, column)
    }

    /// Parses a cell that must hold a value; the error names the column.
    fn required<T>(
        &self,
        column: Column,
        parse: impl Fn(&str) -> Result<T, ValidationError>,
    ) -> Result<T, ValidationError> {
        parse(self.get(column)).map_err(|e| e.within(column.name()))
    }

    /// Parses a cell that may be empty (or absent from the file).
    fn optional<T>(
        &self,
        column: Column,
        parse: impl Fn(&str) -> Result<T, ValidationError>,
    ) -> Result<Option<T>, ValidationError> {
        match self.get(column) {
            "" => Ok(None),
            raw => parse(raw).map(Some).map_err(|e| e.within(column.name())),
        }
    }

    /// Parses every cell with the domain's own types.
    fn entry(&self) -> Result<EntryInput, ValidationError> {
        let external_id = self.required(Column::ExternalId, ExternalId::parse)?;
        let worker = WorkerRef {
            external_id: self.required(Column::WorkerExternalId, ExternalId::parse)?,
            kind: self.required(Column::WorkerKind, WorkerKind::parse)?,
            name: self.optional(Column::WorkerName, WorkerName::parse)?,
            email: self.optional(Column::WorkerEmail, Email::parse)?,
        };
        Ok(EntryInput {
            external_id: Some(external_id),
            worker: Some(worker),
            date: self.required(Column::Date, WorkDate::parse)?,
            project: self.required(Column::Project, ProjectCode::parse)?,
            minutes: self.optional(Column::Minutes, parse_minutes)?,
            // Left as text: `NewEntry::try_from` turns it into minutes by the API's own rules.
            hours: self.optional(Column::Hours, |h| Ok(Hours::Text(h.to_owned())))?,
            notes: self.optional(Column::Notes, Notes::parse)?,
            billable: Some(self.required(Column::Billable, parse_billable)?),
        })
    }
}

fn parse_minutes(raw: &str) -> Result<Minutes, ValidationError> {
    let whole: i64 = raw
        .parse()
        .map_err(|_| ValidationError::new("", format!("{raw:?} is not a whole number")))?;
    Minutes::new(whole)
}

fn parse_billable(raw: &str) -> Result<bool, ValidationError> {
    match raw.to_ascii_lowercase().as_str() {
        "" | "false" | "no" | "0" => Ok(false),
        "true" | "yes" | "1" => Ok(true),
        _ => Err(ValidationError::new(
            "",
            format!("{raw:?} is not one of true, false, yes, no, 1, 0"),
        )),
    }
}

/// Spreadsheet exports often start with a UTF-8 byte order mark; it is not part of the header.
fn skip_bom(input: &mut BufReader<File>) -> std::io::Result<()> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    if input.fill_buf()?.starts_with(BOM) {
        input.consume(BOM.len());
    }
    Ok(())
}
