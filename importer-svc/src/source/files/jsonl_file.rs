//! One JSON Lines file: each non-blank line is one entry in the API's own `EntryInput` shape.

use std::fs::File;
use std::io::{BufRead, BufReader};

use timesheet_domain::api::{parse_json, EntryInput};
use timesheet_domain::{ExternalId, ValidationError};

use super::collect::Collector;

/// Reads `file` (named `name` in locations) into `out`.
pub(super) fn read(name: &str, file: File, out: &mut Collector) {
    let mut input = BufReader::new(file);
    let mut buf = Vec::new();
    let mut line: u64 = 0;
    loop {
        buf.clear();
        match input.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => line += 1,
            Err(err) => {
                let message = format!("cannot read past line {line}: {err}");
                out.file_failed(name.to_owned(), None, message);
                return;
            }
        }
        let mut bytes = buf.as_slice();
        if line == 1 {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        let location = format!("{name}:{line}");
        let Ok(text) = std::str::from_utf8(bytes) else {
            let external_id = external_id_of(&String::from_utf8_lossy(bytes));
            let err = ValidationError::new("", "is not valid UTF-8");
            out.reject_invalid(location, external_id, err);
            continue;
        };
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        match parse_json::<EntryInput>(text) {
            Ok(input) => out.accept(location, input, dotted),
            Err(err) => {
                let err = ValidationError::new(dotted(&err.field), err.reason);
                out.reject_invalid(location, external_id_of(text), err);
            }
        }
    }
}

/// The API names nested fields `worker/email`; rejections name them `worker.email`.
fn dotted(field: &str) -> String {
    field.replace('/', ".")
}

/// The external id of a line that did not parse as an entry, when it can still be read: such
/// an id is still present in the source and must not be taken for deleted.
fn external_id_of(text: &str) -> Option<ExternalId> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    ExternalId::parse(value.get("external_id")?.as_str()?).ok()
}
